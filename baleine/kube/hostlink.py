"""The host interfaces the cluster's components make: their names and the sink kind.

The proxy routes the service range to an interface of its own and the cluster
DNS holds its address on another; both are named after the daemon's tag (the
eight hex digits the engine names its bridges and chains with) and carry the
engine's alias ``baleine:<tag>:<role>``, so that the engine's ``reap`` and its
start-up sweep remove what a killed daemon left. Both are *sinks*: a ``dummy``
interface, or where the kernel has no dummy driver (some VMs' kernels) a bridge
without ports — what is routed to it is dropped, its addresses are local.
"""

from __future__ import annotations

import errno

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ..engine.networks import daemon_tag
from ..engine.networks.bridge import ALIAS_PREFIX

__all__ = ["add_sink", "alias", "daemon_tag"]

SINK_KINDS = ("dummy", "bridge")


def alias(tag: str, role: str) -> str:
    """The alias the engine's reap recognises for the daemon ``tag``."""
    return f"{ALIAS_PREFIX}{tag}:{role}"


def add_sink(ipr: IPRoute, name: str) -> None:
    """Create the sink interface ``name`` (nothing if it exists); NetlinkError when
    the kernel refuses every kind."""
    for kind in SINK_KINDS:
        try:
            ipr.link("add", ifname=name, kind=kind)
            return
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                return
            if exc.code not in (errno.EOPNOTSUPP, errno.ENOTSUP) or kind == SINK_KINDS[-1]:
                raise
