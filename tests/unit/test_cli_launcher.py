"""The ``baleine`` command install.sh writes: the interpreter isolated and without
site (``-IS``), not pip's console-script wrapper. Checked on the installed layout (CI
runs the suite after ``install.sh --test``); skipped when the tests run from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LAUNCHER = Path(sys.executable).with_name("baleine")
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("BALEINE_FROM_SOURCE")) or not LAUNCHER.exists(),
    reason="the tests run from a checkout, not from install.sh's layout")


def test_the_installed_command_is_the_lean_launcher(tmp_path: Path) -> None:
    first = LAUNCHER.read_text().splitlines()[0]
    assert first == f"#!{Path(sys.executable).with_name('python3')} -IS", first
    env = {"PATH": "/usr/bin:/bin", "BALEINE_HOST": f"unix://{tmp_path}/none.sock",
           "PYTHONPATH": "/nonexistent"}  # -I: the interpreter's own variables are ignored
    out = subprocess.run([str(LAUNCHER), "version", "--format", "{{.Client.Version}}"], env=env,
                         capture_output=True, text=True)
    # The client's half is printed, then the daemon's absence is an error (exit 1), as docker does.
    assert out.returncode == 1 and "Cannot connect to the Baleine daemon" in out.stderr, out
    assert subprocess.run([str(LAUNCHER), "nosuch"], env=env, capture_output=True).returncode == 1
    assert subprocess.run([str(LAUNCHER), "--help"], env=env, capture_output=True).returncode == 0
