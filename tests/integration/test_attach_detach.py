"""Attach, detach and the streams, through the `baleine` CLI and the docker CLI.

What dockerd does and these tests hold us to: detaching (the detach keys, or a
client that leaves) keeps a container with a terminal running with its stdin open;
detach keys are looked for only on a terminal (without one, stdin is data); the
output of a process that starts at once reaches a client attached before the start;
the detach keys come from the client's config.json when not given.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..conftest import DOCKER, Daemon, baleine_cmd
from .test_walkthrough import run_in_pty


@pytest.fixture(params=["baleine", "docker"])
def cli(request) -> list[str]:
    """The command line under test: ours or the real docker CLI."""
    if request.param == "docker" and not os.path.exists(DOCKER):
        pytest.skip("docker CLI not installed")
    return baleine_cmd() if request.param == "baleine" else [DOCKER]


def _state(daemon: Daemon, name: str) -> dict:
    return daemon.inspect(name)["State"]


def _wait_exited(daemon: Daemon, name: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    state = _state(daemon, name)
    while state["Running"] and time.monotonic() < deadline:
        time.sleep(0.1)
        state = _state(daemon, name)
    return state


def _run(cli: list[str], daemon: Daemon, *args: str, input: bytes | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(cli + list(args), env=daemon.env(), input=input, capture_output=True, timeout=timeout)


def _find_shell_again(cli: list[str], daemon: Daemon, name: str) -> None:
    """Attach: the shell is where it was left (in /tmp), and `exit 7` ends the container with 7."""
    code, out = run_in_pty(cli + ["attach", name], daemon.env(), send=[b"pwd\r", b"exit 7\r"])
    assert b"/tmp" in out, out
    assert code == 7, out
    state = _wait_exited(daemon, name)
    assert not state["Running"] and state["ExitCode"] == 7


def _start_like_run_it(daemon: Daemon, name: str) -> None:
    """A shell on a terminal whose config is that of `run -it` (StdinOnce set), started detached."""
    daemon.ok("create", "-it", "--name", name, "busybox", "sh")
    assert daemon.inspect(name)["Config"]["StdinOnce"]
    daemon.ok("start", name)


def test_detach_keys_keep_the_container_running(cli: list[str], daemon: Daemon, name: str) -> None:
    try:
        code, out = run_in_pty(cli + ["run", "-it", "--name", name, "busybox", "sh"], daemon.env(),
                               send=[b"cd /tmp\r", b"\x10\x11"])
        assert code == 0, out
        time.sleep(1.5)  # the shell used to see EOF on its terminal a moment after the detach
        assert _state(daemon, name)["Running"]
        _find_shell_again(cli, daemon, name)
    finally:
        daemon.cli("rm", "-f", name)


def test_detach_from_attach_then_attach_again(cli: list[str], daemon: Daemon, name: str) -> None:
    _start_like_run_it(daemon, name)
    try:
        run_in_pty(cli + ["attach", name], daemon.env(), send=[b"cd /tmp\r", b"\x10\x11"])
        time.sleep(1.5)
        assert _state(daemon, name)["Running"]
        _find_shell_again(cli, daemon, name)
    finally:
        daemon.cli("rm", "-f", name)


def test_client_that_goes_away_leaves_the_terminal_open(cli: list[str], daemon: Daemon, name: str) -> None:
    _start_like_run_it(daemon, name)
    try:
        # The attached client is killed: its connection drops without any detach keys.
        master, slave = pty.openpty()
        proc = subprocess.Popen(cli + ["attach", name], env=daemon.env(), stdin=slave, stdout=slave,
                                stderr=slave, start_new_session=True)
        os.close(slave)
        time.sleep(1.5)
        os.write(master, b"cd /tmp\r")
        time.sleep(1)
        proc.kill()
        proc.wait()
        os.close(master)
        time.sleep(1.5)
        assert _state(daemon, name)["Running"]
        _find_shell_again(cli, daemon, name)
    finally:
        daemon.cli("rm", "-f", name)


def test_exec_detach_keeps_the_exec_process(cli: list[str], daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "600")
    try:
        code, out = run_in_pty(cli + ["exec", "-it", name, "sh", "-c", "cd /tmp; exec sh"], daemon.env(),
                               send=[b"\x10\x11"], timeout=10)
        assert code == 1 and b"read escape sequence" in out, out
        time.sleep(1)
        ps = daemon.ok("exec", name, "ps", "-o", "comm")
        assert ps.split().count("sh") == 1, ps  # the exec'd shell lives on
    finally:
        daemon.cli("rm", "-f", name)


def test_without_a_tty_detach_keys_are_data(cli: list[str], daemon: Daemon) -> None:
    r = _run(cli, daemon, "run", "--rm", "-i", "busybox", "od", "-c", input=b"abc\x10\x11def\n")
    assert r.returncode == 0, r.stderr
    assert b"a   b   c 020 021   d   e   f  \\n" in r.stdout, r.stdout
    assert b"0000011" in r.stdout  # nine bytes


def test_binary_stdin_arrives_whole(cli: list[str], daemon: Daemon, name: str) -> None:
    # Every byte value, ctrl-p ctrl-q among them, many times over.
    data = bytes(range(256)) * 64 + b"\x10\x11" * 1000 + os.urandom(100_000)
    want = hashlib.md5(data).hexdigest()
    r = _run(cli, daemon, "run", "--rm", "-i", "busybox", "md5sum", input=data)
    assert r.returncode == 0 and r.stdout.decode().split()[0] == want, r
    daemon.ok("create", "-i", "--name", name, "busybox", "md5sum")
    try:
        r = _run(cli, daemon, "start", "-ai", name, input=data)
        assert r.returncode == 0 and r.stdout.decode().split()[0] == want, r
    finally:
        daemon.cli("rm", "-f", name)


def test_parallel_runs_keep_their_output(cli: list[str], daemon: Daemon) -> None:
    def one(i: int) -> tuple[int, bytes]:
        r = _run(cli, daemon, "run", "--rm", "busybox", "sh", "-c", f"echo c{i}")
        return r.returncode, r.stdout

    lost = []
    with ThreadPoolExecutor(6) as pool:
        for round_ in range(30):
            for i, (code, out) in enumerate(pool.map(one, range(6))):
                if code != 0 or out != f"c{i}\n".encode():
                    lost.append((round_, i, code, out))
    assert not lost


def test_detach_keys_from_the_client_config(cli: list[str], daemon: Daemon, name: str, tmp_path) -> None:
    env = daemon.env()
    config = tmp_path / "config"
    config.mkdir()
    src = os.path.join(env["DOCKER_CONFIG"], "config.json")
    doc = json.load(open(src)) if os.path.exists(src) else {}
    doc["detachKeys"] = "ctrl-x,x"
    (config / "config.json").write_text(json.dumps(doc))
    env["DOCKER_CONFIG"] = str(config)
    try:
        code, out = run_in_pty(cli + ["run", "-it", "--name", name, "busybox", "sh"], env,
                               send=[b"cd /tmp\r", b"\x18x"], timeout=15)
        assert code == 0, out
        time.sleep(1)
        assert _state(daemon, name)["Running"]
        code, out = run_in_pty(cli + ["exec", "-it", name, "sh"], env, send=[b"\x18x"], timeout=10)
        assert code == 1 and b"read escape sequence" in out, out
        _find_shell_again(cli, daemon, name)
    finally:
        daemon.cli("rm", "-f", name)


def test_exec_tty_answered_in_the_response_body(daemon: Daemon, name: str) -> None:
    """`POST /exec/{id}/start` with a TTY and no upgrade: the body is the terminal's output."""
    import http.client
    import socket

    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "600")

    class UnixHTTP(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(daemon.socket)

    def post(path: str, body: dict) -> tuple[int, bytes]:
        conn = UnixHTTP("localhost", timeout=30)
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data

    try:
        for create_tty, start in ((True, {}), (True, {"Tty": True}), (False, {"Tty": True})):
            status, data = post(f"/v1.47/containers/{name}/exec",
                                {"Cmd": ["sh", "-c", "echo a; echo b; tty"], "Tty": create_tty,
                                 "AttachStdout": True, "AttachStderr": True})
            assert status == 201, data
            status, out = post(f"/v1.47/exec/{json.loads(data)['Id']}/start", start)
            assert status == 200
            assert out.startswith(b"a\r\nb\r\n/dev/pts/"), out
    finally:
        daemon.cli("rm", "-f", name)


def test_cli_streams_detach_watch() -> None:
    """The CLI's watch for the detach sequence: across reads, last key kept back."""
    from baleine.cli.streams import DetachWatch, parse_detach_keys

    assert parse_detach_keys(None) == b"\x10\x11"
    assert parse_detach_keys("ctrl-x,x") == b"\x18x"
    assert parse_detach_keys("nonsense-key") == b"\x10\x11"
    w = DetachWatch(b"\x10\x11")
    assert w.feed(b"ab\x10") == b"ab\x10" and not w.detached
    assert w.feed(b"c\x10\x10") == b"c\x10\x10" and not w.detached
    assert w.feed(b"\x11rest") == b"" and w.detached

