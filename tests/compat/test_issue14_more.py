"""Issue 14, the last items: legacy links on the default bridge, through the docker
CLI and docker-py, against a real daemon."""

from __future__ import annotations

import socket
import time

import docker
import pytest

from ..conftest import DOCKER, Daemon

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(DOCKER), reason="docker CLI not installed")


def test_link_gives_hosts_line_and_dockerd_variables(daemon: Daemon, name: str) -> None:
    target = f"{name}-db"
    daemon.docker_ok("run", "-d", "--name", target, "--expose", "5432", "-e", "SECRET=s3", "busybox", "sleep", "60")
    try:
        ip = daemon.docker_ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", target).strip()
        out = daemon.docker_ok("run", "--rm", "--name", name, "--link", f"{target}:db", "busybox",
                        "sh", "-c", "env; cat /etc/hosts")
        assert f"DB_NAME=/{name}/db" in out
        assert f"DB_PORT=tcp://{ip}:5432" in out
        assert f"DB_PORT_5432_TCP=tcp://{ip}:5432" in out
        assert f"DB_PORT_5432_TCP_ADDR={ip}" in out
        assert "DB_PORT_5432_TCP_PORT=5432" in out
        assert "DB_PORT_5432_TCP_PROTO=tcp" in out
        assert "DB_ENV_SECRET=s3" in out
        line = next(ln for ln in out.splitlines() if ln.startswith(ip + "\t"))
        assert line.split("\t")[1].split() == ["db", daemon.docker_ok("inspect", "-f", "{{.Config.Hostname}}",
                                                                target).strip(), target]
    finally:
        daemon.docker("rm", "-f", target)


def test_link_resolves_by_alias_with_docker_py(daemon: Daemon, api: docker.APIClient, name: str) -> None:
    target = f"{name}-web"
    api.start(api.create_container("busybox", ["sleep", "60"], name=target))
    try:
        cid = api.create_container("busybox", ["ping", "-c1", "-W2", "web"], name=name,
                                   host_config=api.create_host_config(links={target: "web"}))["Id"]
        api.start(cid)
        assert api.wait(cid, timeout=30)["StatusCode"] == 0
        api.remove_container(cid)
    finally:
        api.remove_container(target, force=True)


def test_link_to_a_missing_container_fails_the_run(daemon: Daemon, name: str) -> None:
    r = daemon.docker("run", "--rm", "--link", f"{name}-nosuch:x", "busybox", "true")
    assert r.returncode != 0
    assert f"{name}-nosuch" in r.stderr


def test_inspect_shows_links_and_rm_link_removes_one(daemon: Daemon, api: docker.APIClient, name: str) -> None:
    target = f"{name}-cache"
    daemon.docker_ok("run", "-d", "--name", target, "busybox", "sleep", "60")
    try:
        daemon.docker_ok("create", "--name", name, "--link", f"{target}:cache", "busybox", "cat", "/etc/hosts")
        assert api.inspect_container(name)["HostConfig"]["Links"] == [f"/{target}:/{name}/cache"]
        daemon.docker_ok("rm", "--link", f"{name}/cache")
        assert not api.inspect_container(name)["HostConfig"]["Links"]
        api.start(name)
        api.wait(name, timeout=30)
        assert "cache" not in api.logs(name).decode()
        r = daemon.docker("rm", "--link", f"{name}/cache")
        assert r.returncode != 0
    finally:
        daemon.docker("rm", "-f", name, target)


def test_link_to_a_missing_container_is_refused_at_create(api: docker.APIClient, name: str) -> None:
    with pytest.raises(docker.errors.APIError) as info:
        api.create_container("busybox", ["true"], host_config=api.create_host_config(links={f"{name}-no": "x"}))
    assert info.value.status_code == 400
    assert f"could not get container for {name}-no" in str(info.value)


def test_link_on_a_user_network_is_a_dns_alias(daemon: Daemon, name: str) -> None:
    target = f"{name}-srv"
    daemon.docker_ok("network", "create", name)
    try:
        daemon.docker_ok("run", "-d", "--name", target, "--network", name, "busybox", "sleep", "60")
        out = daemon.docker_ok("run", "--rm", "--network", name, "--link", f"{target}:backend", "busybox",
                      "nslookup", "backend")
        ip = daemon.docker_ok("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{name}\").IPAddress}}}}",
                     target).strip()
        assert ip and ip in out
    finally:
        daemon.docker("rm", "-f", target)
        daemon.docker("network", "rm", name)


# -- UDP on [::] --------------------------------------------------------------------------

UDP_ECHO = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('', 53))\n"
            "while True:\n    d, a = s.recvfrom(100)\n    s.sendto(b'pong:' + d, a)\n")


def _udp_ask(port: int, payload: bytes, deadline: float = 30) -> bytes:
    """Ask ``[::1]:port`` until an answer comes (the server may still be starting)."""
    end = time.monotonic() + deadline
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        while time.monotonic() < end:
            s.sendto(payload, ("::1", port))
            try:
                return s.recv(100)
            except (TimeoutError, ConnectionRefusedError):
                continue
    return b""


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this host")
def test_udp_port_answers_on_ipv6_too_and_docker_port_lists_both(bookworm_daemon: Daemon, name: str) -> None:
    daemon = bookworm_daemon
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon.docker_ok("run", "-d", "--name", name, "-p", f"{port}:53/udp", "python:3.11-slim",
            "python", "-c", UDP_ECHO)
    try:
        lines = set(daemon.docker_ok("port", name).splitlines())
        assert lines == {f"53/udp -> 0.0.0.0:{port}", f"53/udp -> [::]:{port}"}
        assert _udp_ask(port, b"one") == b"pong:one"
        assert _udp_ask(port, b"two", 5) == b"pong:two"  # the client's flow is kept
    finally:
        daemon.docker("rm", "-f", name)
