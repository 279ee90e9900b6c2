"""Remove everything one daemon made in the kernel for its networks.

For tests (a test daemon's leftovers, even after a crash) and for an operator
retiring a data root: the daemon's iptables jumps and chains, every host
interface tagged with its tag (bridges, veths), and the namespace files under
its exec root. Needs no daemon and no database: the tag is derived from the
data root (see ``daemon_tag``). Blocking.
"""

from __future__ import annotations

import os

from . import balancekernel, bridge, daemon_tag, netns
from .iptables import Firewall


def reap(data_root: str, exec_root: str | None = None) -> list[str]:
    """Remove the daemon's rules, tagged interfaces and namespace files; return
    what was removed (for logs)."""
    tag = daemon_tag(data_root)
    removed: list[str] = []
    if exec_root:
        ns_dir = os.path.join(exec_root, "netns")
        if os.path.isdir(ns_dir):
            for name in os.listdir(ns_dir):
                netns.remove(os.path.join(ns_dir, name))
                removed.append(f"netns {name}")
    for name, _, kind in bridge.tagged_links(f"{bridge.ALIAS_PREFIX}{tag}:"):
        if bridge.delete_link(name):
            removed.append(f"{kind} {name}")
    Firewall(tag).remove()
    balancekernel.remove_rules(tag)
    return removed
