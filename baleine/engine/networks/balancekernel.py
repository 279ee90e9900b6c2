"""The balanced groups' kernel state (every function blocks: call from a thread).

Their chains and jumps (rendered by ``balancerules``, applied with one
``iptables-restore --noflush``), removed with the last group and by the engine's
``reap``; and the VIPs, ``/32`` addresses of the networks' bridges, so that packets
to a VIP reach the host (which answers ARP for its own addresses) to be DNATed.
"""

from __future__ import annotations

import contextlib

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ... import netfilter
from ...rules.errors import EngineError
from . import balancerules as br

def restore(text: str) -> None:
    """Apply ``iptables-restore --noflush`` input (the balancer's chains, atomically)."""
    netfilter.run(["--noflush"], input_=text, tool="iptables-restore", error=EngineError)


def existing_chains(tag: str, table: str = "nat") -> frozenset[str]:
    """The balancer chains of the tag in ``table``."""
    return netfilter.chains_with_prefix(br.prefix(tag), table)


def install_jumps(tag: str) -> None:
    """The jumps into the balancer's chains (made by :func:`restore` first), once each."""
    netfilter.install_jumps(br.jumps(tag), error=EngineError)


def remove_rules(tag: str) -> None:
    """The jumps and every balancer chain of the tag (nothing if already gone); for reap."""
    netfilter.remove(br.jumps(tag), br.prefix(tag))


def set_addresses(have: set[tuple[str, str]], want: set[tuple[str, str]]) -> None:
    """Add the wanted ``(bridge, VIP)`` addresses (``/32``), remove the others we added."""
    with IPRoute() as ipr:
        for bridge, vip in sorted(want):
            idx = ipr.link_lookup(ifname=bridge)
            if not idx:
                continue
            try:
                ipr.addr("add", index=idx[0], address=vip, prefixlen=32)
            except NetlinkError as exc:
                if exc.code != 17:  # EEXIST
                    raise
        for bridge, vip in sorted(have - want):
            idx = ipr.link_lookup(ifname=bridge)
            if idx:
                with contextlib.suppress(NetlinkError):
                    ipr.addr("del", index=idx[0], address=vip, prefixlen=32)
