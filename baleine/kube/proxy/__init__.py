"""The service proxy: Services made real on this machine, as kube-proxy's iptables mode.

- ``model``: Services and EndpointSlices reduced to Service ports and endpoints (pure);
- ``rules``: the daemon's chains rendered from them (pure);
- ``kernel``: the chains applied (``iptables-restore``), the service range routed
  to a dummy interface, and :func:`kernel.reap` for what a daemon left behind.

Contracts of the component (:func:`start`, only with an engine):

- at start, in a thread: the service range (``ctx.registry.service_cidr``) is
  routed to ``bkube-<tag>``, the chains are written from the stored state, then
  the jumps into them are installed;
- every change of a Service or an EndpointSlice marks the state dirty; one
  task rebuilds all the rules from the current objects (changes arriving during
  a rebuild coalesce into the next one), the ``iptables-restore`` running in a
  thread;
- after a rebuild, the UDP conntrack entries it made wrong are deleted
  (``model.stale_udp_flows``: DNS clients would otherwise stay rejected);
- a LoadBalancer Service gets ``status.loadBalancer.ingress`` = the host's address
  (where its ports are also answered), as a cloud's controller would report it;
- at stop nothing is removed (as the engine's firewall: Services keep working for
  containers that outlive the daemon); ``kernel.reap`` removes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ..client import Client
from ..manager import NOTHING, Component, Context
from ..status import APIError
from . import kernel
from .model import ServicePort, service_ports, stale_udp_flows

log = logging.getLogger("baleine.kube.proxy")
SLICES = "endpointslices.discovery.k8s.io"
Obj = dict[str, Any]


class Proxy:
    """The running proxy of one daemon (see the package's contracts)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = Client(ctx.registry, "kube-proxy")
        self.tag = kernel.daemon_tag(ctx.options.data_root)
        self.host_ip = ""
        self.syncs = 0  # rebuilds applied (for tests and logs)
        self._applied: list[ServicePort] = []
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        cidr = self.ctx.registry.service_cidr
        routed = await asyncio.to_thread(kernel.route_range, self.tag, cidr)
        if not routed:
            log.warning("proxy: %s is already routed elsewhere; ClusterIPs without rules may leave the host", cidr)
        if not await asyncio.to_thread(kernel.bridge_netfilter):
            log.warning("proxy: bridge-nf-call-iptables is off (modprobe br_netfilter): a pod reaching a Service "
                        "whose endpoint shares its bridge gets no answer")
        self.host_ip = await asyncio.to_thread(kernel.host_address)
        # The whole state first, then the jumps: a restarted daemon's Services
        # never pass through an empty rule set.
        await self.sync()
        await asyncio.to_thread(kernel.install_jumps, self.tag)
        for resource in ("services", SLICES):
            self._tasks.append(asyncio.create_task(self._watch(resource), name=f"proxy watch {resource}"))
        self._tasks.append(asyncio.create_task(self._sync_loop(), name="proxy sync"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def _watch(self, resource: str) -> None:
        events = self.client.watch(resource)
        try:
            async for _ in events:
                self._dirty.set()
        finally:
            await events.aclose()

    async def _sync_loop(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(0.02)  # a burst of changes (a rollout) makes one rebuild
            self._dirty.clear()
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next change retries; a second later anyway
                log.exception("proxy: rebuilding the rules failed")
                await asyncio.sleep(1.0)
                self._dirty.set()

    async def sync(self) -> None:
        """Rebuild the rules from the current Services and slices, then the LoadBalancers' status."""
        services = self.client.list("services")
        ports = service_ports(services, self.client.list(SLICES))
        await asyncio.to_thread(kernel.apply, self.tag, ports, self.host_ip)
        flows = stale_udp_flows(self._applied, ports)
        self._applied = ports
        if flows:
            await asyncio.to_thread(kernel.forget_udp, flows)
        self.syncs += 1
        for svc in services:
            if (svc.get("spec") or {}).get("type") == "LoadBalancer":
                await self._report_ingress(svc)

    async def _report_ingress(self, svc: Obj) -> None:
        want = [{"ip": self.host_ip, "ipMode": "VIP"}] if self.host_ip else []
        if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress", []) == want:
            return
        meta = svc["metadata"]
        try:
            await self.client.patch("services", meta.get("namespace", ""), meta["name"],
                                    {"status": {"loadBalancer": {"ingress": want}}}, "status")
        except APIError as exc:
            if exc.code != 404:
                raise


async def start(ctx: Context) -> Component:
    """The proxy when the daemon has an engine (it needs the host's kernel) and may
    write iptables rules, else nothing."""
    if ctx.backends is None:
        return NOTHING
    if ctx.options.extra.get("iptables") is False:  # --iptables=false: the daemon writes no rules at all
        log.info("proxy: not started (--iptables=false): Services get no ClusterIP traffic")
        return NOTHING
    proxy = Proxy(ctx)
    try:
        await proxy.start()
    except Exception:  # noqa: BLE001 - no iptables, no privileges: the API and the rest still serve
        log.exception("proxy: cannot start; Services will have no ClusterIP traffic")
        await proxy.stop()
        return NOTHING
    return proxy
