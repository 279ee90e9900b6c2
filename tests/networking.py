"""Helpers for networking tests: what a daemon holds in the kernel, free ports and
subnets, HTTP from the host. Traffic only ever goes to loopback or to addresses of
containers the tests made."""

from __future__ import annotations

import os
import socket
import subprocess
import time

from baleine.engine.networks import bridge, daemon_tag

from .conftest import Daemon


def kernel_state(d: Daemon) -> dict[str, list[str]]:
    """What a daemon holds in the kernel right now, per kind (for leak checks).

    The pre-plumbed sandboxes of its pool (``engine/networks/pool.py``) are left out:
    they are standing state, like the bridges, and are replaced as they are taken."""
    tag = daemon_tag(str(d.data_root))
    links = [link for link in bridge.tagged_links(f"baleine:{tag}:") if not link[1].startswith(f"baleine:{tag}:pool:")]
    ns_dir = d.exec_root / "netns"
    nat = subprocess.run(["iptables", "-w", "-t", "nat", "-S", f"BALEINE-{tag}-DNAT"], capture_output=True,
                         text=True).stdout.splitlines()
    return {"veths": sorted(n for n, _, k in links if k == "veth"),
            "bridges": sorted(n for n, _, k in links if k == "bridge"),
            "netns": sorted(n for n in os.listdir(ns_dir) if not n.startswith("pool-")) if ns_dir.exists() else [],
            "dnat": [r for r in nat if r.startswith("-A")]}


def settled_state(d: Daemon, expected: dict[str, list[str]] | None = None,
                  timeout: float = 5) -> dict[str, list[str]]:
    """``kernel_state`` once it equals ``expected`` (or stops changing): the host
    ends of veths go in the background after a container exits."""
    deadline = time.monotonic() + timeout
    previous = kernel_state(d)
    while time.monotonic() < deadline:
        time.sleep(0.1)
        current = kernel_state(d)
        if (expected is not None and current == expected) or (expected is None and current == previous):
            return current
        previous = current
    return previous


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_from_host(port: int, host: str = "127.0.0.1", timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=3) as s:
                s.sendall(b"GET /hostname HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data.decode().strip().splitlines()[-1]
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def free_subnet() -> str:
    """A /24 no route of this host covers (explicit subnets in tests must not collide
    with other daemons' networks on the same machine)."""
    import ipaddress
    import random

    from baleine.engine.networks.ipam import host_routes

    taken = host_routes()
    for _ in range(200):
        candidate = ipaddress.IPv4Network(f"10.{random.randint(220, 250)}.{random.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    raise RuntimeError("no free /24")
