"""The daemon's firewall kept in step with its state.

:class:`RuleSync` renders the daemon's chains (see ``iptables``) from the
bridge networks and the host ports held for running containers, and applies
them in a thread, one rewrite at a time. Whoever changes either (a network
created or removed, ports taken or let go) awaits :meth:`RuleSync.apply`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..containers.records import Containers
from .iptables import Firewall, PortRule
from .ports import PortTable
from .records import Network, NetSettings


class RuleSync:
    """Rewrites the daemon's chains from the current state (serialised)."""

    def __init__(self, settings: NetSettings, firewall: Firewall, ports: PortTable, containers: Containers,
                 networks: Callable[[], list[Network]]) -> None:
        self.settings = settings
        self.firewall = firewall
        self.ports = ports
        self.containers = containers
        self.networks = networks     # the records' list (they are made after this)
        self._lock = asyncio.Lock()

    def install(self) -> None:
        """Blocking: create the daemon's chains and jumps (at daemon start)."""
        if self.settings.iptables:
            self.firewall.install()

    async def apply(self) -> None:
        """Rewrite the chains; a no-op with ``--iptables=false``."""
        if not self.settings.iptables:
            return
        async with self._lock:
            nets = [n.rules(self.settings) for n in self.networks() if n.is_bridge and n.subnet is not None]
            port_rules = []
            for cid, maps in self.ports.held.items():
                c = self.containers.by_id.get(cid)
                target = (c.private.get("net") or {}).get("publish_ip") if c is not None else None
                if not target:
                    continue
                # The IPv6 side is proxied (portproxy): no DNAT rule for it.
                port_rules.extend(PortRule(m.proto, m.host_ip, m.host_port, target, m.port)
                                  for m in maps if not m.ipv6)
            await asyncio.to_thread(self.firewall.apply, nets, port_rules)
