"""``engine/networks/pool.SandboxPool.take``: which links a pooled sandbox serves
(the kernel side is tests/integration/test_sandbox_pool.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from ipaddress import IPv4Address, IPv4Interface

from baleine.engine.networks import bridge, pool


def link(**changes: object) -> bridge.Link:
    base = bridge.Link("eth0", "vethaaaaaaa", "br0", IPv4Interface("10.0.0.2/24"), "02:42:0a:00:00:02", 1500,
                       IPv4Address("10.0.0.1"), "baleine:t:ctr:x")
    return dataclasses.replace(base, **changes)


def take(wanted: bridge.Link) -> pool.Sandbox | None:
    async def run() -> pool.Sandbox | None:
        p = pool.SandboxPool("/nonexistent", "t", size=0)  # size 0: no refill ever plumbs
        p.start("br0", 1500)
        member = pool.Sandbox("/nonexistent/pool-x", "vethbbbbbbb", 5, 2, "br0", 1500)
        p._ready.append(member)
        got = p.take(wanted)
        assert (got is None) == (p._ready == [member])  # a member is taken at most once
        return got

    return asyncio.run(run())


def test_takes_a_member_for_its_bridge_and_mtu() -> None:
    assert take(link()) is not None
    assert take(link(gateway=None)) is not None


def test_refuses_other_bridges_mtus_and_interfaces() -> None:
    assert take(link(bridge="br1")) is None
    assert take(link(mtu=1400)) is None
    assert take(link(ifname="eth1")) is None


def test_empty_pool_gives_none() -> None:
    async def run() -> None:
        p = pool.SandboxPool("/nonexistent", "t", size=0)
        p.start("br0", 1500)
        assert p.take(link()) is None

    asyncio.run(run())
