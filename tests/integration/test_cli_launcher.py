"""The ``-IS`` launcher install.sh writes (``baleine/cli/launcher.py``) against a real
daemon: the daemon's half of ``version`` comes back, containers' and commands' exit
codes pass through, and the daemon is the one ``BALEINE_HOST`` names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from baleine.cli import launcher
from tests.conftest import Daemon


@pytest.fixture
def command(tmp_path: Path) -> Path:
    target = tmp_path / "baleine"
    launcher.write(str(target), sys.executable, launcher.package_parent())
    return target


def _run(command: Path, d: Daemon, *argv: str) -> subprocess.CompletedProcess[str]:
    # Only what a user's shell would have: -I ignores PYTHON*, BALEINE_HOST is the CLI's.
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "BALEINE_HOST": d.host}
    return subprocess.run([str(command), *argv], env=env, capture_output=True, text=True, timeout=60)


def test_version_prints_both_halves(command: Path, daemon: Daemon) -> None:
    out = _run(command, daemon, "version", "--format", "{{.Client.Version}} {{.Server.Version}}")
    from baleine import __version__

    assert out.returncode == 0 and out.stdout == f"{__version__} {__version__}\n", out
    plain = _run(command, daemon, "version")
    assert plain.returncode == 0 and "Server: Baleine Engine" in plain.stdout, plain


def test_exit_codes_pass_through(command: Path, daemon: Daemon, name: str) -> None:
    assert _run(command, daemon, "run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3
    assert _run(command, daemon, "run", "-d", "--name", name, "busybox", "sleep", "60").returncode == 0
    try:
        assert _run(command, daemon, "exec", name, "sh", "-c", "exit 7").returncode == 7
        listed = _run(command, daemon, "ps", "-q", "--no-trunc")
        inspected = _run(command, daemon, "inspect", "-f", "{{.Id}}", name)
        assert inspected.returncode == 0 and inspected.stdout.strip() in listed.stdout.split(), (listed, inspected)
        missing = _run(command, daemon, "inspect", f"{name}-nosuch")
        assert missing.returncode == 1 and missing.stdout == "[]\n", missing
        assert f"No such object: {name}-nosuch" in missing.stderr
    finally:
        _run(command, daemon, "rm", "-f", name)
