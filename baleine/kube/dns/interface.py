"""The host interface that holds the cluster DNS address (pyroute2; blocking).

The DNS address (10th of the service range) is made a local address of the
host as a /32 on a dummy interface of this daemon, ``bkdns-<tag>`` (an empty
bridge where the kernel has no dummy driver): the server
binds its sockets to it, and pods, whose default route leads to the host,
reach it there. A /32 local address wins over the route the service proxy
gives the whole range. The interface carries the daemon's alias
``baleine:<tag>:kube-dns``, so the engine's ``reap`` (tests' leftovers after a
killed daemon) and its start-up sweep remove what a crashed daemon left.
"""

from __future__ import annotations

import errno
import socket

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ..hostlink import add_sink, alias, daemon_tag

PREFIX = "bkdns-"


def names(data_root: str) -> tuple[str, str]:
    """(interface name, alias) of the daemon with ``data_root``."""
    tag = daemon_tag(data_root)
    return f"{PREFIX}{tag}", alias(tag, "kube-dns")


def ensure(name: str, alias: str, address: str) -> None:
    """Make the dummy interface ``name`` exist, up, with exactly ``address``/32
    (OSError when the kernel refuses)."""
    try:
        _ensure(name, alias, address)
    except NetlinkError as exc:
        raise OSError(exc.code, f"{name}: {exc}") from None


def _ensure(name: str, alias: str, address: str) -> None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            add_sink(ipr, name)
            found = ipr.link_lookup(ifname=name)
        idx = found[0]
        ipr.link("set", index=idx, ifalias=alias)
        have = [(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=idx, family=socket.AF_INET)]
        for addr, plen in have:
            if (addr, plen) != (address, 32):
                ipr.addr("del", index=idx, address=addr, prefixlen=plen)
        if (address, 32) not in have:
            ipr.addr("add", index=idx, address=address, prefixlen=32)
        ipr.link("set", index=idx, state="up")


def remove(name: str) -> bool:
    """Delete the interface; False when it was not there."""
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return False
        try:
            ipr.link("del", index=found[0])
        except NetlinkError as exc:
            if exc.code not in (errno.ENODEV, errno.ENOENT):
                raise
            return False
    return True
