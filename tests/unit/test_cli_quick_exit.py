"""The everyday commands end without the interpreter's teardown (``cli/main.run_and_exit``):
their output is whole and their status kept; every other command exits as usual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _launch(*args: str) -> subprocess.CompletedProcess[str]:
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('teardown ran'))\n"
            f"sys.path.append({str(ROOT)!r})\n"
            "from baleine.cli.main import run_and_exit\n"
            f"sys.argv = ['baleine', *{list(args)!r}]\n"
            "run_and_exit()\n")
    return subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True,
                          env={"BALEINE_HOST": "unix:///nonexistent/baleine.sock", "PATH": "/usr/bin:/bin"})


def test_an_everyday_command_skips_the_teardown_and_keeps_its_output_and_status() -> None:
    r = _launch("ps", "--help")
    assert r.returncode == 0
    assert "Usage:  baleine ps [OPTIONS]" in r.stdout and "--no-trunc" in r.stdout  # its last line too
    assert "teardown ran" not in r.stdout
    r = _launch("inspect", "nothing-here")  # no daemon: the error is printed, the status kept
    assert r.returncode == 1 and "Cannot connect to the Baleine daemon" in r.stderr
    assert "teardown ran" not in r.stdout


def test_other_commands_exit_as_usual() -> None:
    r = _launch("images", "--help")
    assert r.returncode == 0 and "Usage:  baleine images" in r.stdout
    assert r.stdout.rstrip().endswith("teardown ran")
