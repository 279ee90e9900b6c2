"""The pool of pre-plumbed network sandboxes of the default bridge
(``engine/networks/pool.py``): a container takes one and looks as it would
have without it; nothing is left behind by a clean stop, a crash, or ``reap``."""

from __future__ import annotations

import os
import signal
import time

from baleine.engine.networks import bridge, daemon_tag, ipam, reap

from ..conftest import BUSYBOX_TAR, Daemon
from ..networking import http_from_host


def pool_state(d: Daemon) -> tuple[set[str], set[str]]:
    """(host veths, namespace files) of the daemon's pool members."""
    tag = daemon_tag(str(d.data_root))
    veths = {n for n, alias, _ in bridge.tagged_links(f"baleine:{tag}:pool:")}
    ns_dir = d.exec_root / "netns"
    files = {n for n in os.listdir(ns_dir) if n.startswith("pool-")} if ns_dir.exists() else set()
    return veths, files


def full_pool(d: Daemon, size: int = 2, timeout: float = 15) -> tuple[set[str], set[str]]:
    deadline = time.monotonic() + timeout
    while True:
        veths, files = pool_state(d)
        if len(veths) == size and len(files) == size:
            return veths, files
        assert time.monotonic() < deadline, f"pool never filled: {veths} {files}"
        time.sleep(0.05)


def container_veth(d: Daemon, cid: str) -> str:
    tag = daemon_tag(str(d.data_root))
    found = [n for n, _, _ in bridge.tagged_links(f"baleine:{tag}:ctr:{cid[:12]}")]
    assert len(found) == 1, found
    return found[0]


def test_pool_taken_refilled_and_never_leaked(fresh_daemon: Daemon, name: str) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    veths, files = full_pool(d)
    cid = d.ok("run", "-d", "--name", name, "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").strip()
    info = d.inspect(cid)
    ns = info["NetworkSettings"]
    # It took a pooled sandbox: its host end is a former member, its namespace moved to the usual path.
    assert container_veth(d, cid) in veths
    assert os.path.dirname(ns["SandboxKey"]) == str(d.exec_root / "netns")
    assert not os.path.basename(ns["SandboxKey"]).startswith("pool-")
    # Inside, what bridge.plumb makes: eth0 with the MAC derived from its address, the address, the way out.
    assert ns["MacAddress"] == ipam.mac_for(ipam.parse_address(ns["IPAddress"]))
    inside = d.ok("exec", cid, "sh", "-c", "cat /sys/class/net/eth0/address; ip -4 addr show eth0; ip route")
    assert ns["MacAddress"] in inside and f"{ns['IPAddress']}/{ns['IPPrefixLen']}" in inside
    assert f"default via {ns['Gateway']} dev eth0" in inside
    assert http_from_host(80, ns["IPAddress"]) == cid[:12]
    # Refilled with new members.
    later, _ = full_pool(d)
    assert len(later - veths) == 1
    # A crash: the members of the killed daemon are swept at start, the container keeps its network.
    d.stop(signal.SIGKILL)
    d.start()
    after, after_files = full_pool(d)
    assert not after & later and not after_files & files
    assert http_from_host(80, ns["IPAddress"]) == cid[:12]
    # A clean stop destroys the members (running containers keep theirs).
    d.stop()
    assert pool_state(d) == (set(), set())
    assert bridge.link_exists(container_veth(d, cid))
    # reap, after a crash, removes members with everything else of the daemon.
    d.start()
    full_pool(d)
    d.stop(signal.SIGKILL)
    reap.reap(str(d.data_root), str(d.exec_root))
    assert pool_state(d) == (set(), set())
    assert not bridge.tagged_links(f"baleine:{daemon_tag(str(d.data_root))}:")


def test_second_network_or_user_network_plumbs_as_before(fresh_daemon: Daemon, name: str) -> None:
    """Containers the pool does not serve (a user network) still start, and leave the pool alone."""
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    veths, _ = full_pool(d)
    d.ok("network", "create", "u")
    out = d.ok("run", "--rm", "--network", "u", "busybox", "ip", "-4", "addr", "show", "eth0")
    assert "inet " in out
    assert pool_state(d)[0] == veths
