"""The engine-core walkthrough of issue 2, verbatim, with `baleine` and with the
real docker CLI."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

import pytest

from ..conftest import BUSYBOX_TAR, DOCKER, Daemon, baleine_cmd


def run_in_pty(argv: list[str], env: dict[str, str], send: bytes | list[bytes] = b"",
               timeout: float = 30) -> tuple[int, bytes]:
    """Run a command on a pseudo-terminal, typing ``send`` (once a prompt shows, or
    after 1.5 s; a list is typed piece by piece, 0.7 s apart); return (exit code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    pieces = [send] if isinstance(send, bytes) else list(send)
    pieces = [p for p in pieces if p]
    start = time.monotonic()
    next_at = start + 1.5
    typed = False
    deadline = start + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            out += data
        now = time.monotonic()
        if pieces and (now > next_at or (b"#" in out and not typed)):
            os.write(master, pieces.pop(0))
            typed = True
            next_at = now + 0.7
        if proc.poll() is not None and not r:
            break
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, out


@pytest.fixture(params=["baleine", "docker"])
def client(request, daemon: Daemon):
    """The command line used for the walkthrough."""
    if request.param == "docker" and not os.path.exists(DOCKER):
        pytest.skip("docker CLI not installed")
    return request.param


def _cmd(client: str) -> list[str]:
    return baleine_cmd() if client == "baleine" else [DOCKER]


def _run(daemon: Daemon, client: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(client) + list(args), env=daemon.env(), capture_output=True, text=True,
                          timeout=timeout)


def test_walkthrough(daemon: Daemon, client: str, name: str) -> None:
    def ok(*args: str) -> str:
        r = _run(daemon, client, *args)
        assert r.returncode == 0, f"{client} {' '.join(args)}: {r.stderr}"
        return r.stdout

    image_test = f"image-test-{name.lower()}"
    ctest, web = f"ct-{name}", f"web-{name}"
    out = ok("load", "-i", str(BUSYBOX_TAR))
    assert "Loaded image: busybox:1.35" in out
    ok("tag", "busybox:1.35", "alpine")
    code, _ = run_in_pty(_cmd(client) + ["run", "--name", ctest, "-it", "alpine", "touch", "hello.txt"],
                         daemon.env())
    assert code == 0
    assert ok("diff", ctest).splitlines() == ["A /hello.txt"]
    image_id = ok("commit", ctest, image_test).strip()
    assert image_id.startswith("sha256:")
    hist_new = ok("history", image_test).splitlines()
    hist_base = ok("history", "alpine").splitlines()
    assert len(hist_new) == len(hist_base) + 1
    assert "touch hello.txt" in hist_new[1]
    ok("rm", "-f", ctest)
    removed = ok("rmi", "-f", image_test)
    assert f"Untagged: {image_test}:latest" in removed and f"Deleted: {image_id}" in removed
    ok("run", "-d", "--name", web, "busybox", "sh", "-c",
       "i=0; while true; do i=$((i+1)); echo line $i; sleep 1; done")
    try:
        time.sleep(2.5)
        lines = ok("logs", web).splitlines()
        assert lines[:2] == ["line 1", "line 2"]
        follow = subprocess.Popen(_cmd(client) + ["logs", "-f", "--tail", "2", web], env=daemon.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)
        follow.terminate()
        followed = follow.communicate(timeout=10)[0].splitlines()
        n = int(followed[0].split()[1])
        assert n >= len(lines) - 1
        assert len(followed) >= 3 and followed[2] == f"line {n + 2}"
        code, out = run_in_pty(_cmd(client) + ["exec", "-it", web, "sh"], daemon.env(),
                               send=b"tty; echo in-exec; exit 3\r")
        assert code == 3, out
        assert b"/dev/pts/" in out and b"in-exec" in out
    finally:
        _run(daemon, client, "rm", "-f", web)


def test_logs_follow_ends_with_container(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.3; done")
    r = daemon.cli("logs", "-f", name, timeout=20)
    assert r.returncode == 0
    assert r.out.splitlines() == ["1", "2", "3"]
    daemon.ok("rm", name)


def test_inspect_shape(daemon: Daemon, name: str) -> None:
    assert daemon.cli("run", "--name", name, "busybox", "sh", "-c", "exit 7").returncode == 7
    info = daemon.inspect(name)
    state = info["State"]
    for key in ("Status", "Running", "ExitCode", "OOMKilled", "StartedAt", "FinishedAt", "Pid"):
        assert key in state
    assert state["Status"] == "exited" and state["ExitCode"] == 7 and state["Running"] is False
    assert info["Config"]["Cmd"] == ["sh", "-c", "exit 7"]
    assert info["HostConfig"]["NetworkMode"]
    assert info["Name"] == "/" + name
    fmt = daemon.ok("inspect", "--format", "{{.State.ExitCode}} {{json .Config.Cmd}}", name)
    assert fmt == '7 ["sh","-c","exit 7"]'
    daemon.ok("rm", name)


def test_exit_codes(daemon: Daemon, name: str) -> None:
    r = daemon.cli("run", "--rm", "busybox", "sh", "-c", "exit 42")
    assert r.returncode == 42
    r = daemon.cli("run", "--rm", "busybox", "no-such-command")
    assert r.returncode == 127 and "executable file not found" in r.stderr
    r = daemon.cli("run", "--rm", "no-such-image-here")
    assert r.returncode == 125
    r = daemon.cli("run", "--bad-flag", "busybox")
    assert r.returncode == 125 and "unknown flag: --bad-flag" in r.stderr
    r = daemon.cli("rm", "no-such-container")
    assert r.returncode == 1 and "No such container: no-such-container" in r.stderr
