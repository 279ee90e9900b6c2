"""Balanced groups: replicas behind one virtual address per network and one
published port, balanced in the kernel (see ``balancerules`` for the labels and
the chains).

Contract (what compose, rollouts and the dashboard rely on):

- A group is the set of containers labelled ``io.baleine.balance=<group>``; it
  exists while one of them exists (in any state), so it is engine data and
  survives daemon restarts. Its ports and restart policy are read from the
  labels of its newest container.
- **Members** are its running containers; **ready** ones are running, not
  paused, not being stopped, and healthy (or without a healthcheck). A member
  leaves the ready set *before* a stop, a terminating kill or a pause is
  signalled: the lifecycle awaits :meth:`Balancer.drain` first, which rewrites
  the rules, so a connection opened after that never reaches it.
- The group gets one virtual address (VIP) on each bridge network its
  containers are on, taken from that network's allocator, added (``/32``) to the
  network's bridge, and recorded in ``<data_root>/balancers.json`` so that it is
  the same after a restart. The published host ports are held by the daemon
  (``PortTable``, owner ``balancer:<group>``) as for ordinary published ports.
- The embedded DNS answers the group's service name (the aliases all its
  members share on a network) with the VIP on that network, and ``tasks.<name>``
  with the members' own addresses (:meth:`Balancer.resolve`).
- A member turning unhealthy is restarted per ``io.baleine.balance.restart``
  (swarm's ``restart_policy``: condition any/on-failure, at most
  ``max_attempts`` restarts within ``window`` seconds, or ever when 0, each
  after ``delay`` seconds).

Every kernel operation (iptables, netlink, the small JSON file) runs in a
worker thread; rewrites are serialised.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from ...rules.errors import EngineError
from ...rules.signals import parse_signal
from ..containers.records import Container, Containers
from ..events import Events
from . import balancerules as br
from .balancekernel import existing_chains, install_jumps, remove_rules, restore, set_addresses
from .ports import PortTable, Wanted
from .records import Network, NetworkRecords

log = logging.getLogger("baleine.balancer")

STATE_FILE = "balancers.json"
#: signals after which a member is taken out of the ready set before delivery
TERMINATING = (signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGQUIT)


@dataclass
class Group:
    """One group as the containers declare it now (rebuilt on every reconcile)."""

    name: str
    containers: list[Container] = field(default_factory=list)
    ports: list[br.PortSpec] = field(default_factory=list)
    restart: br.RestartSpec | None = None
    networks: list[Network] = field(default_factory=list)
    error: str = ""


def group_of(c: Container) -> str:
    return (c.config.get("Labels") or {}).get(br.LABEL, "")


def _endpoints(c: Container) -> dict[str, dict[str, Any]]:
    return (c.doc.get("NetworkSettings") or {}).get("Networks") or {}


class Balancer:
    """The balanced groups of one daemon (see module docstring)."""

    def __init__(self, records: NetworkRecords, containers: Containers, ports: PortTable, events: Events,
                 data_root: str, enabled: bool = True) -> None:
        self.records = records
        self.containers = containers
        self.ports = ports
        self.events = events
        self.enabled = enabled
        self.tag = records.tag
        self.path = os.path.join(data_root, STATE_FILE)
        #: group → network id → VIP (persisted)
        self.vips: dict[str, dict[str, str]] = {}
        #: group → the port specs its held host ports were taken for
        self.held: dict[str, list[br.PortSpec]] = {}
        #: VIPs added to bridges: (bridge, address)
        self.addresses: set[tuple[str, str]] = set()
        self.draining: set[str] = set()
        self.groups: dict[str, Group] = {}
        self.restart_hook: Any = None     # async (Container) -> None, set by the wiring
        self.annotate: Any = None         # (group) -> dict | None: the autoscaler's status, set by it
        self.restarts: dict[str, list[float]] = {}
        self._lock = asyncio.Lock()
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._installed = False
        self._looked = False
        self._saved: str | None = None
        self.closed = False

    # -- start and stop -------------------------------------------------------------------

    def load(self) -> None:
        """Blocking: read the recorded VIPs and take them from their networks'
        allocators (call after the networks re-adopted their containers' addresses)."""
        try:
            with open(self.path) as f:
                recorded = json.load(f)
        except (OSError, ValueError):
            recorded = {}
        for group, nets in (recorded or {}).items():
            for net_id, vip in (nets or {}).items():
                net = self.records.by_id.get(net_id)
                if net is None or net.allocator is None:
                    continue
                with contextlib.suppress(EngineError):
                    net.allocator.reserve(IPv4Address(vip))
                    self.vips.setdefault(group, {})[net_id] = vip

    async def open(self) -> None:
        """Take the recorded VIPs back, follow the containers' events, converge."""
        await asyncio.to_thread(self.load)
        self._queue = self.events.subscribe()
        self._watcher = asyncio.create_task(self._watch())
        try:
            await self.reconcile()
        except Exception:  # noqa: BLE001 - the daemon starts; the next event retries
            log.exception("balancer: first rewrite failed")

    async def close(self) -> None:
        """Stop following events; the kernel state stays (the members keep running)."""
        self.closed = True
        if self._queue is not None:
            self.events.unsubscribe(self._queue)
        for task in [self._watcher, *self._tasks]:
            if task is not None:
                task.cancel()
        for g in list(self.held):
            self.ports.release(self._owner(g))
        self.held.clear()

    async def _watch(self) -> None:
        """Follow the events; a burst of them makes one rewrite."""
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if any([self._on_event(msg) for msg in batch]):
                try:
                    await self.reconcile()
                except Exception:  # noqa: BLE001 - the daemon goes on; the next event retries
                    log.exception("balancer: rewrite failed")

    def _on_event(self, msg: dict[str, Any]) -> bool:
        """Note what ``msg`` changes (draining, restarts); whether the groups may have changed."""
        action = msg.get("Action") or ""
        cid = (msg.get("Actor") or {}).get("ID", "")
        if msg.get("Type") == "network":
            return action in ("connect", "disconnect", "destroy")
        if msg.get("Type") != "container":
            return False
        if action in ("start", "unpause", "die", "destroy"):
            self.draining.discard(cid)
        if action == "destroy":
            self.restarts.pop(cid, None)
        if action == "health_status: unhealthy":
            self._maybe_restart(cid)
        return action in ("create", "start", "die", "destroy", "pause", "unpause", "rename") \
            or action.startswith("health_status")

    # -- the stop path ----------------------------------------------------------------------

    async def drain(self, c: Container, sig: int | None = None) -> None:
        """Take ``c`` out of its group's ready set before it is signalled (``sig``; None
        for a pause); returns once the rules no longer send it new connections."""
        if not group_of(c) or (sig is not None and sig not in TERMINATING
                               and sig != _stop_signal(c)):
            return
        if c.id in self.draining:
            return
        self.draining.add(c.id)
        try:
            await self.reconcile()
        except Exception:  # noqa: BLE001 - a stop never fails for the balancer's sake
            log.exception("balancer: rewrite before stopping %s failed", c.name)

    # -- readiness and restarts -------------------------------------------------------------

    def ready(self, c: Container) -> bool:
        """Running, not paused, not being stopped, healthy or without a healthcheck."""
        if not c.running or c.paused or c.id in self.draining or c.state.get("Restarting"):
            return False
        health = c.state.get("Health")
        return health is None or health.get("Status") == "healthy"

    def _maybe_restart(self, cid: str) -> None:
        c = self.containers.by_id.get(cid)
        if c is None or not group_of(c) or self.restart_hook is None:
            return
        try:
            spec = br.parse_restart((c.config.get("Labels") or {}).get(br.LABEL_RESTART, ""))
        except EngineError:
            return
        if spec is None:
            return
        now = time.monotonic()
        history = [t for t in self.restarts.get(cid, []) if not spec.window or now - t < spec.window]
        if spec.max_attempts and len(history) >= spec.max_attempts:
            log.info("balancer: %s unhealthy, max_attempts (%d) reached", c.name, spec.max_attempts)
            return
        history.append(now)
        self.restarts[cid] = history
        task = asyncio.create_task(self._restart_later(c, spec.delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restart_later(self, c: Container, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.containers.by_id.get(c.id) is not c or not c.running:
            return
        if (c.state.get("Health") or {}).get("Status") != "unhealthy":
            return
        log.info("balancer: restarting unhealthy %s", c.name)
        self.events.publish("container", "balancer_restart", c.id, {"name": c.name.lstrip("/")})
        try:
            await self.restart_hook(c)
        except EngineError as exc:
            log.warning("balancer: restart of %s failed: %s", c.name, exc)

    # -- the state ----------------------------------------------------------------------------

    def _collect(self) -> dict[str, Group]:
        groups: dict[str, Group] = {}
        for c in self.containers.by_id.values():
            name = group_of(c)
            if name:
                groups.setdefault(name, Group(name)).containers.append(c)
        for g in groups.values():
            g.containers.sort(key=lambda c: c.name)
            newest = max(g.containers, key=lambda c: c.doc.get("Created") or "")
            labels = newest.config.get("Labels") or {}
            try:
                g.ports = br.parse_ports(labels.get(br.LABEL_PORTS, ""))
                g.restart = br.parse_restart(labels.get(br.LABEL_RESTART, ""))
            except EngineError as exc:
                g.error = str(exc)
            seen: dict[str, Network] = {}
            for c in g.containers:
                for name, ep in _endpoints(c).items():
                    with contextlib.suppress(EngineError):
                        net = self.records.get(ep.get("NetworkID") or name)
                        if net.is_bridge and net.subnet is not None and net.allocator is not None:
                            seen.setdefault(net.id, net)
            g.networks = sorted(seen.values(), key=lambda n: n.name)
        return groups

    def _take_vips(self, groups: dict[str, Group]) -> None:
        """Allocate the missing VIPs, release those of gone groups and networks."""
        for gname in list(self.vips):
            g = groups.get(gname)
            wanted = {n.id for n in g.networks} if g else set()
            for net_id in list(self.vips[gname]):
                if net_id not in wanted:
                    net = self.records.by_id.get(net_id)
                    if net is not None and net.allocator is not None:
                        net.allocator.release(self.vips[gname][net_id])
                    del self.vips[gname][net_id]
            if not self.vips[gname]:
                del self.vips[gname]
        for g in groups.values():
            for net in g.networks:
                if net.id not in self.vips.get(g.name, {}):
                    assert net.allocator is not None
                    try:
                        vip = str(net.allocator.allocate())
                    except EngineError as exc:
                        g.error = str(exc)
                        continue
                    self.vips.setdefault(g.name, {})[net.id] = vip

    def _hold_ports(self, groups: dict[str, Group]) -> None:
        for gname in list(self.held):
            g = groups.get(gname)
            if g is None or g.ports != self.held[gname]:
                self.ports.release(self._owner(gname))
                del self.held[gname]
        for g in groups.values():
            if g.name in self.held or g.error:
                continue
            wanted = [Wanted(p.port, p.proto, p.host_ip, p.host_port, p.host_port) for p in g.ports if p.host_port]
            try:
                if wanted:
                    self.ports.reserve(self._owner(g.name), g.name, wanted)
                self.held[g.name] = g.ports
            except EngineError as exc:
                g.error = str(exc)
                log.warning("balancer: group %s: %s", g.name, exc)

    @staticmethod
    def _owner(group: str) -> str:
        return f"balancer:{group}"

    def _frontends(self, groups: dict[str, Group]) -> list[br.Frontend]:
        out = []
        for g in groups.values():
            if g.name not in self.held:
                continue
            targets: dict[str, list[br.Target]] = {}
            for net in g.networks:
                targets[net.id] = [br.Target(ep["IPAddress"], c.name) for c in g.containers if self.ready(c)
                                   for ep in [self._endpoint(c, net)] if ep and ep.get("IPAddress")]
            vips = {nid: vip for nid, vip in self.vips.get(g.name, {}).items()}
            publish = g.networks[0].id if g.networks else ""
            out += [br.Frontend(g.name, p, vips, targets, publish) for p in g.ports]
        return out

    @staticmethod
    def _endpoint(c: Container, net: Network) -> dict[str, Any] | None:
        for name, ep in _endpoints(c).items():
            if ep.get("NetworkID") == net.id or name == net.name:
                return ep
        return None

    async def reconcile(self) -> None:
        """Bring VIPs, held ports and rules in line with the containers (serialised)."""
        async with self._lock:
            if self.closed:
                return
            groups = self._collect()
            self._take_vips(groups)
            self._hold_ports(groups)
            frontends = self._frontends(groups)
            addresses = {(net.bridge_name, vip) for gname, nets in self.vips.items()
                         for net_id, vip in nets.items() for net in [self.records.by_id.get(net_id)] if net}
            self.groups = groups
            if not self.enabled:
                return
            if not groups and self._looked and not self._installed and not self.addresses \
                    and self._saved == "{}":
                return  # no group now nor before: nothing to do in the kernel
            await asyncio.to_thread(self._apply, frontends, addresses, bool(groups))

    def _apply(self, frontends: list[br.Frontend], addresses: set[tuple[str, str]], any_group: bool) -> None:
        """Blocking: the state file, the bridges' VIPs, the rules."""
        self._save()
        set_addresses(self.addresses, addresses)
        self.addresses = addresses
        if not any_group:
            # The last group ended: its chains and jumps go with it (a first group remakes
            # them); a daemon without groups looks once, for a previous run's leftovers.
            if self._installed or not self._looked:
                remove_rules(self.tag)
            self._looked = True
            self._installed = False
            return
        restore(br.render(self.tag, frontends, existing_chains(self.tag)))
        if not self._installed:
            install_jumps(self.tag)
            self._installed = True

    def _save(self) -> None:
        """Record the VIPs (when they changed)."""
        text = json.dumps(self.vips, sort_keys=True)
        if text == self._saved:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)
        self._saved = text

    # -- what the DNS and the API see ------------------------------------------------------

    def resolve(self, net: Network, name: str) -> list[str] | None:
        """The embedded DNS's answer for ``name`` asked from ``net``: a group's VIP there
        for its service name, its members' addresses for ``tasks.<name>``; None when
        ``name`` is no group's."""
        tasks = name.startswith("tasks.")
        base = name[6:] if tasks else name
        for g in self.groups.values():
            vip = self.vips.get(g.name, {}).get(net.id)
            if vip is None or base not in self._service_names(g, net):
                continue
            if not tasks:
                return [vip]
            return [ep["IPAddress"] for c in g.containers if c.running
                    for ep in [self._endpoint(c, net)] if ep and ep.get("IPAddress")] or None
        return None

    def _service_names(self, g: Group, net: Network) -> set[str]:
        """The aliases every container of ``g`` has on ``net`` (not their own names)."""
        names: set[str] | None = None
        for c in g.containers:
            ep = self._endpoint(c, net)
            if ep is None:
                continue
            own = {c.name.lstrip("/").lower(), c.id[:12]}
            aliases = {a.lower() for a in ep.get("Aliases") or []} - own
            names = aliases if names is None else names & aliases
        return names or set()

    def describe(self) -> list[dict[str, Any]]:
        """``GET /baleine/balancers``: every group, its VIPs, ports, members, readiness."""
        out = []
        for g in sorted(self.groups.values(), key=lambda g: g.name):
            vips = []
            for net in g.networks:
                vip = self.vips.get(g.name, {}).get(net.id)
                if vip:
                    vips.append({"Network": net.name, "NetworkID": net.id, "Address": vip})
            members = []
            for c in g.containers:
                ep = self._endpoint(c, g.networks[0]) if g.networks else None
                members.append({"Id": c.id, "Name": c.name.lstrip("/"), "State": c.state.get("Status", ""),
                                "Health": (c.state.get("Health") or {}).get("Status", ""),
                                "Address": (ep or {}).get("IPAddress", ""), "Ready": self.ready(c)})
            out.append({"Name": g.name, "VirtualIPs": vips, "Restart": br.format_restart(g.restart) if g.restart
                        else "", "Ports": [{"Port": p.port, "Protocol": p.proto, "HostIp": p.host_ip,
                                            "HostPort": p.host_port} for p in g.ports],
                        "Members": members, "Ready": sum(1 for m in members if m["Ready"]),
                        "Error": g.error})
            autoscale = self.annotate(g.name) if self.annotate is not None else None
            if autoscale is not None:
                out[-1]["Autoscale"] = autoscale
        return out


def _stop_signal(c: Container) -> int | None:
    """The container's own stop signal (None when it sets none or an unknown one)."""
    text = c.config.get("StopSignal")
    with contextlib.suppress(Exception):
        return parse_signal(text) if text else None
    return None
