"""The cluster DNS component: ``kube-system/kube-dns`` served from the host.

At start (with an engine; without one it does nothing):

- the Service ``kube-system/kube-dns`` is made to exist (ClusterIP the 10th
  address of the service range, ports 53/UDP ``dns`` and 53/TCP ``dns-tcp``,
  label ``k8s-app: kube-dns``), without a selector: its one endpoint, in an
  EndpointSlice of its own (``kube-dns-host``), is the DNS address itself, so a
  proxy that rejects traffic to Services without endpoints lets it through (and
  its DNAT, if any, leads to the same local address);
- the address is made local to the host (:mod:`.interface`) and the server
  listens on it, UDP and TCP port 53, on the daemon's event loop.

Questions are answered by :func:`.names.resolve` from the objects a
:class:`.cache.WatchCache` keeps current (as CoreDNS answers from its informers),
authoritatively, with a 5-second TTL. Names outside the cluster are forwarded to
the daemon's ``--dns`` servers, or the host's resolvers, each tried with a
2-second timeout, SERVFAIL when none answers (the engine's embedded DNS server
does the serving and forwarding; this class only answers differently). The
cluster's own address is never an upstream, so forwarding cannot loop back
here. A UDP reply that would exceed 512 bytes is sent truncated (TC) so the
resolver asks again over TCP.

An address that cannot be served (taken by another daemon serving the same
range on this host) is logged and retried every 5 seconds. At stop the sockets
are closed and the interface removed.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any

from ...engine.networks import dns as wire
from .. import servicecidr
from ..client import Client
from ..manager import NOTHING, Component, Context
from ..status import APIError
from . import interface, names, podconfig
from .cache import WatchCache

log = logging.getLogger("baleine.kube.dns")

NAMESPACE, SERVICE, SLICE = "kube-system", "kube-dns", "kube-dns-host"
MANAGED_BY = "baleine.kube.dns"
ASKER = "kube-dns"  # the one "container" the engine's server is armed for
UDP_LIMIT = 512
#: Seconds a resolver may keep a cluster answer: CoreDNS' default, short, because
#: a headless Service's addresses follow its pods.
TTL = 5
#: Seconds between attempts to serve an address that is taken.
RETRY = 5.0


class _Upstreams:
    """The engine server's ``Directory``: no names of its own, only where to forward."""

    def __init__(self, servers: list[str]) -> None:
        self.servers = servers

    def lookup(self, cid: str, name: str) -> list[str] | None:
        return None

    def reverse(self, cid: str, address: str) -> str | None:
        return None

    def upstreams(self, cid: str) -> list[tuple[str, int]]:
        return [(s, 53) for s in self.servers]


def encode(q: wire.Query, ans: names.Answer) -> bytes:
    """The reply message of ``ans`` to ``q`` (the engine's codec), authoritative (AA):
    the cluster's names are this server's own, as CoreDNS's are; records live :data:`TTL`."""
    rdata: list[tuple[int, bytes]] = []
    if ans.cname:
        rdata.append((names.TYPE_CNAME, wire._encode_name(ans.cname)))
    for srv in ans.srv:
        rdata.append((names.TYPE_SRV, struct.pack("!HHH", srv.priority, srv.weight, srv.port)
                      + wire._encode_name(srv.target)))
    reply = bytearray(wire.answer(q, ans.rcode, addresses=ans.a, ptr=ans.ptr, rdata=rdata, ttl=TTL))
    reply[2] |= 0x04
    return bytes(reply)


def truncated(q: wire.Query) -> bytes:
    """An empty reply with the TC bit: ask again over TCP."""
    reply = bytearray(wire.answer(q))
    reply[2] |= 0x02
    return bytes(reply)


class ClusterServer(wire.Server):
    """The engine's DNS server answering the cluster's names first."""

    def __init__(self, cluster: names.Cluster, domain: str, upstreams: list[str]) -> None:
        super().__init__(_Upstreams(upstreams))
        self.upstreams = upstreams
        self.cluster = cluster
        self.domain = domain

    async def handle(self, cid: str, data: bytes, tcp: bool) -> bytes | None:
        try:
            q = wire.parse_query(data)
        except wire.Malformed:
            return None
        ans = names.resolve(self.cluster, self.domain, q.name, q.qtype) if q.qclass == wire.CLASS_IN else None
        if ans is None:
            return await self._forward(cid, q, data, tcp)
        reply = encode(q, ans)
        return truncated(q) if not tcp and len(reply) > UDP_LIMIT else reply


def upstream_servers(configured: list[str], host: list[str], own: str) -> list[str]:
    """The daemon's ``--dns`` servers, else the host's; never the cluster DNS itself."""
    return [s for s in (configured or host) if s != own]


def service_body(address: str) -> dict[str, Any]:
    return {"metadata": {"name": SERVICE, "namespace": NAMESPACE,
                         "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNS"}},
            "spec": {"clusterIP": address, "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                                     {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}}


def slice_body(address: str) -> dict[str, Any]:
    return {"metadata": {"name": SLICE, "namespace": NAMESPACE,
                         "labels": {names.SERVICE_NAME_LABEL: SERVICE,
                                    "endpointslice.kubernetes.io/managed-by": MANAGED_BY}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address], "conditions": {"ready": True, "serving": True,
                                                                  "terminating": False}}],
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                      {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}


async def ensure_service(client: Client, address: str) -> None:
    """Create the kube-dns Service and its EndpointSlice when missing (kept if present:
    an operator's changes stand, as an addon manager's ``EnsureExists`` does)."""
    for resource, body in (("services", service_body(address)),
                           ("endpointslices.discovery.k8s.io", slice_body(address))):
        if client.get(resource, NAMESPACE, body["metadata"]["name"]) is not None:
            continue
        try:
            await client.create(resource, NAMESPACE, body)
        except APIError as exc:
            log.warning("cannot create %s %s/%s: %s", resource, NAMESPACE, body["metadata"]["name"], exc)


class Running:
    """The started component: the cache, the server, and the sockets' binding, retried
    every :data:`RETRY` seconds while the address is taken (another daemon on this host
    serving the same range: it may go away)."""

    def __init__(self, server: ClusterServer, cache: WatchCache, address: str, ifname: str, alias: str) -> None:
        self.server = server
        self.cache = cache
        self.address, self.ifname, self.alias = address, ifname, alias
        self.task: asyncio.Task[None] | None = None

    async def bind(self) -> bool:
        """Make the address local and serve it; False (logged) when the kernel refuses."""
        try:
            await asyncio.to_thread(interface.ensure, self.ifname, self.alias, self.address)
            udp, tcp = await asyncio.to_thread(wire.bind_sockets, self.address)
        except OSError as exc:
            log.error("cluster DNS not served on %s (retrying every %d s): %s", self.address, RETRY, exc)
            await asyncio.to_thread(interface.remove, self.ifname)
            return False
        await self.server.arm(ASKER, udp, tcp)
        log.info("cluster DNS on %s:53 (%s), forwarding to %s", self.address, self.ifname,
                 ", ".join(self.server.upstreams) or "nothing")
        return True

    async def retry(self) -> None:
        while True:
            await asyncio.sleep(RETRY)
            if await self.bind():
                return

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.server.close()
        await self.cache.stop()
        await asyncio.to_thread(interface.remove, self.ifname)


async def start(ctx: Context) -> Component:
    """Serve the cluster DNS (see the module); NOTHING without an engine. An address
    that cannot be served is logged and retried: the rest of the cluster runs meanwhile."""
    if ctx.backends is None:
        return NOTHING
    client = Client(ctx.registry, "kube-dns")
    address = servicecidr.dns_address(ctx.registry.service_cidr)
    host = await asyncio.to_thread(podconfig.load_host)
    await ensure_service(client, address)
    upstreams = upstream_servers(list(ctx.options.extra.get("dns") or []), host.nameservers, address)
    cache = WatchCache()
    cache.start(client)
    running = Running(ClusterServer(cache, ctx.options.cluster_domain, upstreams), cache, address,
                      *interface.names(ctx.options.data_root))
    if not await running.bind():
        running.task = asyncio.create_task(running.retry(), name="kube-dns bind")
    return running
