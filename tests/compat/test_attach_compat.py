"""docker-py against Baleine's attach streams: what a client's departure does to
the container's stdin (dockerd closes it only without a TTY and with StdinOnce),
bytes that look like detach keys on a stream without a TTY, output of a process
that starts right after the attach, and exec output through a terminal."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..conftest import Daemon


@pytest.fixture
def dc(daemon: Daemon):
    client = daemon.api()
    yield client
    client.close()


def _attach(c, stdin: bool = True):  # noqa: ANN001, ANN202 - docker-py objects
    """The raw socket of a hijacked attach (docker-py's ``attach_socket``)."""
    return c.attach_socket(params={"stdin": int(stdin), "stdout": 1, "stderr": 1, "stream": 1})._sock


def _read_all(sock: socket.socket, timeout: float = 15) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def _demux(data: bytes) -> bytes:
    """The payloads of Docker's multiplexed frames, joined."""
    out = b""
    while len(data) >= 8:
        size = int.from_bytes(data[4:8], "big")
        out += data[8:8 + size]
        data = data[8 + size:]
    return out


def _running(c) -> bool:  # noqa: ANN001
    c.reload()
    return c.attrs["State"]["Running"]


def test_dropped_connection_leaves_the_terminal_open(dc, name: str) -> None:
    # The config of `docker run -it`: StdinOnce set, which without a TTY would close stdin.
    config = dc.api.create_container_config("busybox", "sh", tty=True, stdin_open=True)
    config["StdinOnce"] = True
    c = dc.containers.get(dc.api.create_container_from_config(config, name)["Id"])
    c.start()
    try:
        sock = _attach(c)
        sock.sendall(b"cd /tmp\n")
        time.sleep(0.5)
        sock.shutdown(socket.SHUT_RDWR)  # no detach keys: the client just goes
        sock.close()
        time.sleep(1.5)
        assert _running(c)
        sock = _attach(c)
        sock.sendall(b"pwd\nexit 7\n")
        assert b"/tmp" in _read_all(sock)
        assert c.wait(timeout=15)["StatusCode"] == 7
    finally:
        c.remove(force=True)


def test_stdin_once_without_tty_closes_with_the_client(dc, name: str) -> None:
    config = dc.api.create_container_config("busybox", "cat", stdin_open=True)
    config["StdinOnce"] = True  # docker-py has no argument for it
    cid = dc.api.create_container_from_config(config, name)["Id"]
    try:
        dc.api.start(cid)
        sock = dc.api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})._sock
        sock.sendall(b"once\n")
        sock.shutdown(socket.SHUT_WR)
        assert _demux(_read_all(sock)) == b"once\n"
        assert dc.api.wait(cid, timeout=15)["StatusCode"] == 0
    finally:
        dc.api.remove_container(cid, force=True)


def test_detach_keys_are_data_without_a_tty(dc, name: str) -> None:
    c = dc.containers.create("busybox", "cat", name=name, stdin_open=True, detach=True)
    try:
        c.start()
        sock = _attach(c)
        payload = b"abc\x10\x11def\n" + bytes(range(256))
        sock.sendall(payload)
        got = b""
        sock.settimeout(10)
        while len(_demux(got)) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        assert _demux(got) == payload
        sock.close()
        time.sleep(1)
        assert _running(c)  # not StdinOnce: the client's departure leaves stdin open
    finally:
        c.remove(force=True)


def test_attach_before_start_gets_all_output(dc) -> None:
    def one(i: int) -> bytes:
        c = dc.api.create_container("busybox", ["sh", "-c", f"echo c{i}"])
        try:
            sock = dc.api.attach_socket(c["Id"], params={"stdout": 1, "stderr": 1, "stream": 1})._sock
            dc.api.start(c["Id"])
            return _demux(_read_all(sock))
        finally:
            dc.api.remove_container(c["Id"], force=True)

    with ThreadPoolExecutor(6) as pool:
        for _ in range(10):
            assert list(pool.map(one, range(6))) == [f"c{i}\n".encode() for i in range(6)]


def test_exec_with_a_tty_speaks_through_the_terminal(dc, name: str) -> None:
    c = dc.containers.run("busybox", ["sleep", "600"], name=name, detach=True)
    try:
        assert c.exec_run(["sh", "-c", "echo a; echo b"], tty=True).output == b"a\r\nb\r\n"
        assert c.exec_run(["sh", "-c", "echo a; echo b"]).output == b"a\nb\n"
        eid = dc.api.exec_create(c.id, ["sh", "-c", "echo a; tty"], tty=True)["Id"]
        out = dc.api.exec_start(eid, tty=True)
        assert out.startswith(b"a\r\n/dev/pts/")
    finally:
        c.remove(force=True)
