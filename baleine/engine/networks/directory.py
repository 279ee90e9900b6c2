"""The DNS directory: who answers which name on which network.

The embedded DNS server (``dns.Server``) asks it, for the container a query
came from: the addresses of a name (IPv4, and IPv6 on networks with it) (:meth:`DnsDirectory.lookup`: the names,
aliases and short IDs of running containers sharing one of the asker's
user-defined networks), the name of an address (:meth:`DnsDirectory.reverse`),
and where to forward everything else (:meth:`DnsDirectory.upstreams`). All of
it is read from the containers' documents and the network records; nothing is
cached, so an answer is never stale.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ...rules.errors import NotFound
from ..containers.records import Container, Containers
from . import dns
from .records import Network, NetworkRecords, NetSettings, endpoint_of


class DnsDirectory:
    """``dns.Directory`` over the records and the containers."""

    def __init__(self, records: NetworkRecords, containers: Containers, settings: NetSettings) -> None:
        self.records = records
        self.containers = containers
        self.settings = settings
        #: balanced groups' names on a network (``balancer.Balancer.resolve``), or None
        self.virtual: Any = None

    def _user_endpoints(self, c: Container) -> list[tuple[Network, dict[str, Any]]]:
        """``c``'s endpoints with an address on user-defined networks (the ones with names)."""
        out = []
        for name, ep in ((c.doc.get("NetworkSettings") or {}).get("Networks") or {}).items():
            if not ep.get("IPAddress"):
                continue
            with contextlib.suppress(NotFound):
                net = self.records.get(ep.get("NetworkID") or name)
                if net.user_defined:
                    out.append((net, ep))
        return out

    def lookup(self, cid: str, name: str) -> list[str] | None:
        asker = self.containers.by_id.get(cid)
        if asker is None:
            return None
        name = name.lower().rstrip(".")
        found: list[str] = []
        for net, own in self._user_endpoints(asker):
            linked = _linked_as(own, name)
            virtual = self.virtual(net, name) if self.virtual is not None else None
            if virtual:
                found += [a for a in virtual if a not in found]
                continue
            for other in self.containers.by_id.values():
                if not other.running:
                    continue
                ep = endpoint_of(other, net)
                if not ep or not ep.get("IPAddress"):
                    continue
                names = {other.name.lstrip("/").lower(), other.id[:12]}
                names |= {a.lower() for a in ep.get("Aliases") or []}
                if name in names or names & linked:
                    found += [a for a in (ep["IPAddress"], ep.get("GlobalIPv6Address")) if a and a not in found]
        return found or None

    def reverse(self, cid: str, address: str) -> str | None:
        asker = self.containers.by_id.get(cid)
        if asker is None:
            return None
        for net, _ in self._user_endpoints(asker):
            for other in self.containers.by_id.values():
                ep = endpoint_of(other, net)
                if other.running and ep and address in (ep.get("IPAddress"), ep.get("GlobalIPv6Address")):
                    return f"{other.name.lstrip('/')}.{net.name}"
        return None

    def upstreams(self, cid: str) -> list[tuple[str, int]]:
        c = self.containers.by_id.get(cid)
        if c is None:
            return []
        eps = self._user_endpoints(c)
        if eps and all(net.internal for net, _ in eps):
            return []
        servers = list(c.host_config.get("Dns") or self.settings.dns or dns.host_resolvers())
        return [(s, 53) for s in servers if s != dns.ADDRESS]


def _linked_as(endpoint: dict[str, Any], name: str) -> set[str]:
    """The containers the asker's ``--link target:alias`` entries (``EndpointSettings.Links``)
    make answer ``name`` on this network, as dockerd gives links on user networks."""
    out = set()
    for entry in endpoint.get("Links") or []:
        target, _, alias = entry.partition(":")
        target = target.lstrip("/").lower()
        if name == (alias.rsplit("/", 1)[-1].lower() if alias else target):
            out.add(target)
    return out
