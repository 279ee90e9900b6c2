"""``Networks``: the façade the engine, the lifecycle and the API call.

One object per daemon, the ``lifecycle.network`` hook, made of the parts that
each own one idea:

``records``    :class:`~.records.NetworkRecords`: the ``networks`` table,
               predefined networks, bridges, IPAM state (create, remove,
               prune, list, inspect);
``endpoints``  :class:`~.endpoints.Endpoints`: containers' attachments (on
               create, prepare at start, release at exit, connect, disconnect);
``directory``  :class:`~.directory.DnsDirectory`: who answers which name on
               which network, for the embedded DNS server (``dns``);
``firewall``   :class:`~.firewall.RuleSync`: the daemon's iptables chains kept
               in step with the records and the held ports.

The façade only delegates, and reconciles the kernel with the records at
daemon start (:meth:`Networks.open`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ...rules import filters as filters_mod
from ...rules.errors import EngineError
from ..containers.records import Container, Containers
from ..events import Events
from ..store import Store
from . import dns
from .directory import DnsDirectory
from .endpoints import Endpoints
from .firewall import RuleSync
from .iptables import Firewall
from .ports import PortTable
from .records import PREDEFINED, NetSettings, Network, NetworkRecords

__all__ = ["PREDEFINED", "NetSettings", "Network", "Networks"]

log = logging.getLogger("baleine.networks")


class Networks:
    """Networks and endpoints of one daemon; ``lifecycle.network`` (see module docstring)."""

    def __init__(self, store: Store, containers: Containers, events: Events, settings: NetSettings) -> None:
        self.containers = containers
        self.settings = settings
        self.ports = PortTable()
        self.records = NetworkRecords(store, containers, events, settings, self._rules_changed)
        self.rules = RuleSync(settings, Firewall(self.records.tag), self.ports, containers, self.records.list)
        self.directory = DnsDirectory(self.records, containers, settings)
        self.dns = dns.Server(self.directory)
        self.endpoints = Endpoints(self.records, containers, events, settings, self.ports, self.rules, self.dns)

    async def _rules_changed(self) -> None:
        await self.rules.apply()

    # -- records -----------------------------------------------------------------------

    @property
    def by_id(self) -> dict[str, Network]:
        return self.records.by_id

    def get(self, ref: str) -> Network:
        """By full ID, name, or unique ID prefix; NotFound("network X not found")."""
        return self.records.get(ref)

    def list(self) -> list[Network]:
        return self.records.list()

    def inspect(self, net: Network) -> dict[str, Any]:
        """``GET /networks/{id}``."""
        return self.records.inspect(net)

    def summary(self, net: Network) -> dict[str, Any]:
        """An item of ``GET /networks``."""
        return self.records.summary(net)

    def filter(self, f: filters_mod.Filters) -> list[Network]:
        """``GET /networks`` filtering."""
        return self.records.filter(f)

    def active_users(self, net: Network) -> list[Container]:
        return self.records.active_users(net)

    async def create(self, body: dict[str, Any]) -> Network:
        """``POST /networks/create``."""
        return await self.records.create(body)

    async def remove(self, ref: str) -> None:
        """``DELETE /networks/{id}``."""
        await self.records.remove(ref)

    async def prune(self, f: filters_mod.Filters) -> list[str]:
        """``POST /networks/prune``."""
        return await self.records.prune(f)

    # -- endpoints (the lifecycle's hooks and the connect API) ------------------------------

    def on_create(self, c: Container, image: Any = None) -> None:
        self.endpoints.on_create(c, image)

    async def prepare(self, c: Container) -> str | None:
        return await self.endpoints.prepare(c)

    async def release(self, c: Container) -> None:
        await self.endpoints.release(c)

    async def connect(self, ref: str, c: Container, cfg: dict[str, Any] | None) -> None:
        """``POST /networks/{id}/connect``."""
        await self.endpoints.connect(ref, c, cfg)

    async def disconnect(self, ref: str, c: Container, force: bool = False) -> None:
        """``POST /networks/{id}/disconnect``."""
        await self.endpoints.disconnect(ref, c, force)

    def host_gateway(self) -> str | None:
        """The address ``--add-host NAME:host-gateway`` maps to: the default bridge's
        gateway, as dockerd's (None when there is no default bridge)."""
        try:
            sub = self.records.get("bridge").subnet
        except EngineError:
            return None
        return str(sub.gateway) if sub is not None else None

    async def apply_rules(self) -> None:
        """Rewrite the daemon's chains from the current state."""
        await self.rules.apply()

    # -- daemon start and stop --------------------------------------------------------------

    async def open(self) -> None:
        """Reconcile kernel state with the records after a start (or a crash):
        make the predefined networks and every bridge, remove interfaces and
        namespaces nobody owns, re-take the addresses, ports and DNS sockets of
        containers still running, and rewrite the rules."""
        await asyncio.to_thread(self._open_host)
        await self.endpoints.readopt_all()
        await self.rules.apply()
        self.endpoints.start_pool()

    def _open_host(self) -> None:
        """Blocking part of :meth:`open`."""
        if self.settings.ip_forward:
            try:
                with open("/proc/sys/net/ipv4/ip_forward", "r+") as f:
                    if f.read().strip() != "1":
                        f.seek(0)
                        f.write("1")
            except OSError as exc:
                log.warning("could not enable IP forwarding: %s", exc)
        self.records.ensure_host()
        self.endpoints.sweep()
        self.rules.install()

    async def close(self) -> None:
        """Let go of sockets (the kernel state stays: containers keep running)."""
        await self.dns.close()
        self.ports.close()
        await self.endpoints.close()
