"""Containers under conmon (``--container-monitor conmon``): the lifecycle, streams,
exit codes, restart policy and re-adoption after a daemon SIGKILL."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator

import pytest

from ..conftest import BUSYBOX_TAR, Daemon, destroy_daemon, new_daemon

pytestmark = pytest.mark.skipif(shutil.which("conmon") is None, reason="conmon is not installed")


@pytest.fixture(scope="module")
def cd() -> Iterator[Daemon]:
    d = new_daemon(extra_args=["--container-monitor", "conmon"])
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        yield d
    finally:
        destroy_daemon(d)


def _conmon_pid(d: Daemon, name: str) -> int:
    cid = d.inspect(name)["Id"]
    for entry in os.listdir(d.exec_root):
        pid_file = d.exec_root / entry / "conmon.pid"
        if pid_file.exists() and cid in (d.exec_root / entry / "conmon.json").read_text():
            return int(pid_file.read_text())
    raise AssertionError(f"no conmon for {name}")


def _wait_status(d: Daemon, name: str, status: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = d.inspect(name)["State"]
        if state["Status"] == status or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_run_attached_exit_code_and_streams(cd: Daemon) -> None:
    r = cd.cli("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 3
    assert r.stdout == "out\n" and r.stderr == "err\n"


def test_stdin_and_docker_cli(cd: Daemon) -> None:
    r = cd.docker("run", "--rm", "-i", "busybox", "sh", "-c", "read x; echo got:$x", input="hello\n", timeout=60)
    assert r.returncode == 0 and r.stdout == "got:hello\n", r.stderr


def test_run_detached_is_a_conmon_container(cd: Daemon) -> None:
    cd.ok("run", "-d", "--name", "sleeper", "busybox", "sh", "-c", "trap 'exit 9' TERM; sleep 60 & wait")
    try:
        pid = _conmon_pid(cd, "sleeper")
        assert os.readlink(f"/proc/{pid}/exe").endswith("conmon")
        state = cd.inspect("sleeper")["State"]
        assert state["Running"] and state["Pid"] > 0
        assert cd.ok("exec", "sleeper", "echo", "from-exec") == "from-exec"  # execs: Python monitor
        t0 = time.monotonic()
        cd.ok("stop", "-t", "1", "sleeper")
        assert time.monotonic() - t0 < 5
        state = cd.inspect("sleeper")["State"]
        assert state["Status"] == "exited" and state["ExitCode"] == 9
        cd.ok("start", "sleeper")  # the same container runs again (runc state was deleted)
        assert cd.inspect("sleeper")["State"]["Running"]
        cd.ok("kill", "-s", "TERM", "sleeper")
        assert _wait_status(cd, "sleeper", "exited")["ExitCode"] == 9
    finally:
        cd.cli("rm", "-f", "sleeper")


def test_restart_policy(cd: Daemon) -> None:
    cd.ok("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "sleep 0.2; exit 4")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            state = cd.inspect("flaky")
            if state["RestartCount"] == 2 and state["State"]["Status"] == "exited":
                break
            time.sleep(0.2)
        assert state["RestartCount"] == 2 and state["State"]["ExitCode"] == 4
    finally:
        cd.cli("rm", "-f", "flaky")


def test_daemon_sigkill_readopts(cd: Daemon) -> None:
    cd.ok("run", "-d", "--name", "survivor", "busybox", "sleep", "60")
    cd.ok("run", "-d", "--name", "quick", "busybox", "sh", "-c", "sleep 1; exit 7")
    try:
        pid = cd.inspect("survivor")["State"]["Pid"]
        cd.stop(signal.SIGKILL)
        time.sleep(2)  # "quick" exits while no daemon runs
        os.kill(pid, 0)
        cd.start()
        state = cd.inspect("survivor")["State"]
        assert state["Running"] and state["Pid"] == pid
        quick = cd.inspect("quick")["State"]
        assert quick["Status"] == "exited" and quick["ExitCode"] == 7
        cd.ok("kill", "survivor")  # the re-adopted container's exit is seen
        assert _wait_status(cd, "survivor", "exited")["ExitCode"] == 137
    finally:
        cd.cli("rm", "-f", "survivor", "quick")


def test_logs_follow_timestamps_tail(cd: Daemon) -> None:
    cd.ok("run", "-d", "--name", "talker", "busybox", "sh", "-c",
          "for i in 1 2 3; do echo line$i; echo warn$i >&2; sleep 0.3; done; printf partial")
    try:
        followed = cd.cli("logs", "-f", "talker", timeout=30)  # returns when the container ends
        assert followed.stdout == "line1\nline2\nline3\npartial"
        assert followed.stderr == "warn1\nwarn2\nwarn3\n"
        assert cd.ok("logs", "--tail", "1", "talker") == "partial"
        stamped = cd.cli("logs", "-t", "talker").stdout.splitlines()
        assert stamped[0].endswith("Z line1") and stamped[0][:4].isdigit()
        assert cd.cli("logs", "--since", "2099-01-01T00:00:00Z", "talker").stdout == ""
    finally:
        cd.cli("rm", "-f", "talker")


def test_unsupported_log_options_refused_at_create(cd: Daemon) -> None:
    r = cd.cli("create", "--log-opt", "max-file=3", "--log-opt", "max-size=1m", "busybox", "true")
    assert r.returncode != 0 and "max-file is not supported by the conmon" in r.stderr
    r = cd.cli("create", "--log-driver", "local", "busybox", "true")
    assert r.returncode != 0 and "not supported by the conmon" in r.stderr


@pytest.mark.skipif(shutil.which("script") is None, reason="no script(1) for a pty")
def test_tty_via_docker_cli(cd: Daemon) -> None:
    import subprocess

    cmd = "docker run -it --rm busybox sh -c 'echo tty:$(tty); exit 6'"
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], env=cd.env(), capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert b"tty:/dev/pts/" in p.stdout, p.stdout + p.stderr
    assert p.returncode == 6


def test_oom_killed_flag(cd: Daemon) -> None:
    r = cd.cli("run", "--name", "hog", "-m", "8m", "--memory-swap", "8m", "busybox", "sh", "-c",
               "head -c 64m /dev/zero | tail")
    try:
        state = cd.inspect("hog")["State"]
        assert r.returncode == 137 and state["ExitCode"] == 137
        assert state["OOMKilled"] is True
    finally:
        cd.cli("rm", "-f", "hog")


def test_missing_executable_is_127(cd: Daemon) -> None:
    r = cd.cli("run", "--rm", "busybox", "no-such-command")
    assert r.returncode == 127
    assert "executable file not found" in r.stderr and "level=error" not in r.stderr
