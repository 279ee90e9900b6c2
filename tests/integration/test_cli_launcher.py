"""The ``-IS`` launcher install.sh writes (``baleine/cli/launcher.py``) against a real
daemon: the daemon's half of ``version`` comes back, containers' and commands' exit
codes pass through, the daemon is the one ``BALEINE_HOST`` names; and the daemon
itself runs under the launcher (baleine.service's ``baleine daemon``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from baleine.cli import launcher
from tests import conftest, loopcheck
from tests.conftest import Daemon


@pytest.fixture
def command(tmp_path: Path) -> Path:
    target = tmp_path / "baleine"
    launcher.write(str(target), sys.executable, launcher.path_entries())
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


class LauncherDaemon(Daemon):
    """A daemon started as baleine.service starts it: ``baleine daemon`` through the
    launcher, so in an interpreter run with ``-IS`` (no site: its packages come from the
    launcher's sys.path entry; .pth files are not read)."""

    launcher: Path

    def start(self) -> None:
        self.log_path = self.root / "daemon.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.launcher), "daemon", "-H", self.host, "--data-root", str(self.data_root),
                 "--exec-root", str(self.exec_root), "--cgroup-parent", self.cgroup_parent,
                 "--debug-slow-callback", str(loopcheck.THRESHOLD), *self.extra_args],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while self.proc.poll() is None and self.cli("version").returncode != 0:
            assert time.monotonic() < deadline, f"daemon did not answer: {self.log()}"
            time.sleep(0.1)
        assert self.proc.poll() is None, f"daemon exited: {self.log()}"


def test_the_daemon_runs_under_the_launcher(command: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LauncherDaemon, "launcher", command, raising=False)
    monkeypatch.setattr(conftest, "Daemon", LauncherDaemon)
    d = conftest.new_daemon()
    try:
        assert b"-IS" in Path(f"/proc/{d.proc.pid}/cmdline").read_bytes().split(b"\0")
        d.ok("load", "-i", str(conftest.BUSYBOX_TAR))
        assert _run(command, d, "run", "--rm", "busybox", "sh", "-c", "exit 5").returncode == 5
    finally:
        conftest.destroy_daemon(d, "the launcher's daemon")
