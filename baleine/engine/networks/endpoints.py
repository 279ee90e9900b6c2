"""Endpoints: a container's attachments to networks, from create to exit.

A container's endpoints live in its own document: ``NetworkSettings.Networks``
(one entry per network, the endpoint's configuration and, while it runs, its
address) and, in the private section, ``net`` (its namespace file and host
interfaces, so that a restarted daemon can undo what it finds). Addresses in
use are never stored apart: the networks' allocators are rebuilt from the
documents of running containers, so nothing can leak from them.

:class:`Endpoints` does the plumbing: ``on_create`` validates a container's
networking and writes its endpoint entries; ``prepare`` (at start) makes its
namespace, veths, addresses, DNS sockets and port mappings and returns the
namespace path ("host" or None for those modes); ``release`` (at exit or failed
start) undoes all of it and is idempotent; ``connect``/``disconnect`` do the same
for one network of a running container. On a network with IPv6 an endpoint
also gets an IPv6 address (``GlobalIPv6Address``, from ``IPAMConfig.IPv6Address``
or the network's IPv6 allocator) and, on the container's way out, an IPv6
default route (``IPv6Gateway``). Kernel work (netlink, namespaces,
iptables) runs in threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import secrets
import shutil
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import Any

from ...rules.errors import Conflict, EngineError, Forbidden, InvalidParameter, NotFound
from ..containers import etcfiles
from ..containers.records import Container, Containers
from ..events import Events
from . import bridge, dns, ipam, netns, pool, portproxy
from .firewall import RuleSync
from .ports import PortTable, ports_doc, ports_list, wanted_bindings
from .records import OPT_HOST_IP, OPT_MTU, Network, NetworkRecords, NetSettings

log = logging.getLogger("baleine.networks")


def endpoint_entry(net: Network, cfg: dict[str, Any] | None) -> dict[str, Any]:
    """A container's ``NetworkSettings.Networks`` entry before it runs."""
    cfg = cfg or {}
    return {"IPAMConfig": cfg.get("IPAMConfig") or None, "Links": cfg.get("Links") or None,
            "Aliases": list(cfg.get("Aliases") or []) or None, "MacAddress": cfg.get("MacAddress") or "",
            "DriverOpts": cfg.get("DriverOpts") or None, "NetworkID": net.id, "EndpointID": "", "Gateway": "",
            "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "DNSNames": None}


def embedded_dns_options(options: list[str] | None) -> list[str]:
    """A container's ``--dns-opt`` behind the embedded server, with ``ndots:0`` unless
    they set ndots themselves (as moby does: a pod's ``ndots:5`` must stand)."""
    options = list(options or [])
    return options if any(o.startswith("ndots:") for o in options) else options + ["ndots:0"]


def clear_endpoint(ep: dict[str, Any]) -> None:
    ep.update(EndpointID="", Gateway="", IPAddress="", IPPrefixLen=0, DNSNames=None, IPv6Gateway="",
              GlobalIPv6Address="", GlobalIPv6PrefixLen=0)
    if not (ep.get("IPAMConfig") or {}).get("IPv4Address"):
        ep["MacAddress"] = ""


class Endpoints:
    """The endpoints of one daemon's containers (see module docstring)."""

    def __init__(self, records: NetworkRecords, containers: Containers, events: Events, settings: NetSettings,
                 ports: PortTable, rules: RuleSync, dns_server: dns.Server) -> None:
        self.records = records
        self.containers = containers
        self.events = events
        self.settings = settings
        self.ports = ports
        self.rules = rules
        self.dns = dns_server
        self.tag = records.tag
        self.ns_dir = os.path.join(settings.exec_root, "netns")
        self._background: set[asyncio.Task[None]] = set()
        self.pool = pool.SandboxPool(self.ns_dir, self.tag)

    def get(self, ref: str) -> Network:
        return self.records.get(ref)

    # -- daemon start and stop -------------------------------------------------------------

    def sweep(self) -> None:
        """Blocking: remove the container interfaces and namespaces of this daemon
        that no running container owns (and bridges no record owns), after a crash."""
        live = {c.id[:12] for c in self.containers.by_id.values() if c.running}
        bridges = {self.records.alias(n.id) for n in self.records.by_id.values() if n.is_bridge}
        for name, alias, kind in bridge.tagged_links(f"{bridge.ALIAS_PREFIX}{self.tag}:"):
            what = alias.split(":")  # baleine:<tag>:net:<id> or baleine:<tag>:ctr:<id>
            stale = alias not in bridges if kind == "bridge" else (len(what) < 4 or what[3] not in live)
            if stale:
                log.info("removing stale interface %s (%s)", name, alias)
                bridge.delete_link(name)
        keep = {(c.private.get("net") or {}).get("ns") for c in self.containers.by_id.values() if c.running}
        if os.path.isdir(self.ns_dir):
            for name in os.listdir(self.ns_dir):
                path = os.path.join(self.ns_dir, name)
                if path not in keep:
                    log.info("removing stale network namespace %s", path)
                    netns.remove(path)

    async def readopt_all(self) -> None:
        """Re-take the addresses, ports and DNS sockets of containers still running."""
        for c in self.containers.by_id.values():
            if c.running and (c.private.get("net") or {}).get("ns"):
                try:
                    await self._readopt(c)
                except Exception as exc:  # noqa: BLE001 - adopt() will record its exit if it is gone
                    log.warning("could not re-adopt the network of %s: %s", c.id[:12], exc)

    async def _readopt(self, c: Container) -> None:
        """Take again what a running container held before the daemon restarted."""
        priv = c.private["net"]
        # mountinfo lists every mount of the host: thousands of lines with many containers.
        if not await asyncio.to_thread(netns.is_pinned, priv["ns"]):
            return
        for name, ep in ((c.doc.get("NetworkSettings") or {}).get("Networks") or {}).items():
            try:
                net = self.get(ep.get("NetworkID") or name)
            except NotFound:
                continue
            if net.allocator is not None and ep.get("IPAddress"):
                with contextlib.suppress(EngineError):
                    net.allocator.reserve(IPv4Address(ep["IPAddress"]))
            if net.allocator6 is not None and ep.get("GlobalIPv6Address"):
                with contextlib.suppress(EngineError):
                    net.allocator6.reserve(IPv6Address(ep["GlobalIPv6Address"]))
        if priv.get("dns"):
            udp, tcp = await asyncio.to_thread(netns.run_in, priv["ns"], dns.bind_sockets)
            await self.dns.arm(c.id, udp, tcp)
        held = priv.get("ports") or []
        if held:
            wanted = wanted_bindings(c.host_config, c.config.get("ExposedPorts"), self._host_ip(c))
            fixed = {(p, proto, ip if ip != "0.0.0.0" else ""): hp for p, proto, ip, hp in held}
            try:
                maps = self.ports.reserve(c.id, c.name.lstrip("/"), wanted, fixed)
            except EngineError as exc:
                log.warning("container %s: %s", c.id[:12], exc)
            else:
                await self._serve_ipv6(maps, priv.get("publish_ip") or "")

    @staticmethod
    async def _serve_ipv6(maps: list[Any], target_ip: str) -> None:
        """Start the proxies of the bindings' IPv6 sides towards ``target_ip``."""
        for m in maps:
            if m.ipv6 and m.sock is not None and m.proxy is None and target_ip:
                m.proxy = await portproxy.serve(m.sock, target_ip, m.port)

    def start_pool(self) -> None:
        """Pre-plumb sandboxes for the default bridge, if there is one (after ``sweep``)
        and it is IPv4 only (``pool.finish`` writes IPv4 links)."""
        with contextlib.suppress(NotFound):
            net = self.get("bridge")
            if net.is_bridge and net.subnet is not None and net.allocator6 is None:
                self.pool.start(net.bridge_name, self._mtu(net))

    async def close(self) -> None:
        """Destroy the pooled sandboxes; wait (5 s at most each) for the background
        work (veth removal, conntrack flushes)."""
        await self.pool.close()
        for task in list(self._background):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)

    # -- container create ---------------------------------------------------------------

    def _mode_network(self, mode: str) -> str:
        return "bridge" if mode in ("", "default") else mode

    def on_create(self, c: Container, image: Any = None) -> None:
        """Validate a new container's networking; write its endpoint entries.

        A missing network or container (``NetworkMode``) is not an error yet: the
        start raises NotFound naming it, as dockerd's does. Raises NotFound for
        unknown extra networks (EndpointsConfig), InvalidParameter for
        settings a network does not allow (aliases or static addresses on the
        default bridge, addresses outside the subnet, malformed ports).
        """
        hc = c.host_config
        mode = self._mode_network(hc.get("NetworkMode") or "")
        wanted_bindings(hc, c.config.get("ExposedPorts"))  # validates PortBindings
        endpoints_cfg = {("bridge" if k == "default" else k): v for k, v in
                         ((c.doc.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).items()}
        nets: dict[str, dict[str, Any]] = {}
        if mode.startswith("container:"):
            # The container is looked up at start, as dockerd does (see below).
            if endpoints_cfg:
                raise InvalidParameter("conflicting options: container type network can't be used with other "
                                       "networks")
        elif mode in ("host", "none"):
            net = self.get(mode)
            nets[net.name] = endpoint_entry(net, endpoints_cfg.get(mode))
            if any(k != mode for k in endpoints_cfg):
                raise InvalidParameter(f"container cannot be connected to network endpoints: {mode}, "
                                       + ", ".join(k for k in endpoints_cfg if k != mode))
        elif not self._exists(mode):
            # dockerd looks the network up at start: a create naming a missing one
            # succeeds and the start is the 404 that names it (a 404 from create
            # would make the docker CLI take it for a missing image and pull).
            pass
        else:
            order = [mode] + [k for k in endpoints_cfg if k != mode and self.get(k).name != self.get(mode).name]
            for ref in order:
                net = self.get(ref)
                cfg = endpoints_cfg.get(ref) or endpoints_cfg.get(net.name) or endpoints_cfg.get(net.id)
                if net.name in ("host", "none"):
                    raise InvalidParameter("container sharing network namespace with another container or host "
                                           "cannot be connected to any other network")
                self._check_endpoint(net, cfg)
                nets[net.name] = endpoint_entry(net, cfg)
        c.doc["NetworkSettings"] = {"SandboxID": "", "SandboxKey": "", "Ports": {}, "_PortsList": [],
                                    "IPAddress": "", "IPPrefixLen": 0, "Gateway": "", "MacAddress": "",
                                    "EndpointID": "", "Networks": nets}
        self.containers.save(c)

    def _exists(self, ref: str) -> bool:
        try:
            self.get(ref)
        except NotFound:
            return False
        return True

    def _check_endpoint(self, net: Network, cfg: dict[str, Any] | None) -> None:
        cfg = cfg or {}
        if cfg.get("Aliases") and not net.user_defined:
            raise InvalidParameter("network-scoped alias is supported only for containers in user defined networks")
        addr = (cfg.get("IPAMConfig") or {}).get("IPv4Address") or ""
        if addr:
            if net.doc.get("Baleine", {}).get("auto_subnet", True) or not net.user_defined:
                raise InvalidParameter(f"invalid config for network {net.name}: invalid endpoint settings:\n"
                                       "user specified IP address is supported only when connecting to networks "
                                       "with user configured subnets")
            ip = ipam.parse_address(addr)
            sub = net.subnet
            # Inside the subnet is enough: the ip-range only bounds dynamic addresses.
            inside = sub is not None and ip in sub.subnet
            if not inside:
                raise InvalidParameter(f"invalid config for network {net.name}: invalid endpoint settings:\n"
                                       f"no configured subnet or ip-range contain the IP address {addr}")
        addr6 = (cfg.get("IPAMConfig") or {}).get("IPv6Address") or ""
        if addr6:
            self._check_ipv6_address(net, addr6)

    @staticmethod
    def _check_ipv6_address(net: Network, addr6: str) -> None:
        """InvalidParameter (dockerd's words) unless ``addr6`` may be asked for on ``net``:
        a network with IPv6 and a user-chosen IPv6 subnet containing it."""
        prefix = f"invalid config for network {net.name}: invalid endpoint settings:\n"
        sub6 = net.subnet6
        if sub6 is None or net.doc.get("Baleine", {}).get("auto_subnet6", True) or not net.user_defined:
            raise InvalidParameter(prefix + "user specified IP address is supported only when connecting to "
                                   "networks with user configured subnets")
        ip6 = ipam.parse_address(addr6, "IPv6 address", 6)
        if ip6 not in sub6.subnet:
            raise InvalidParameter(prefix + f"no configured subnet or ip-range contain the IP address {addr6}")

    # -- start / exit ---------------------------------------------------------------------

    def _host_ip(self, c: Container) -> str:
        nets = (c.doc.get("NetworkSettings") or {}).get("Networks") or {}
        for name in nets:
            with contextlib.suppress(NotFound):
                value = self.get(name).option(OPT_HOST_IP)
                if value and value != "0.0.0.0":
                    return value
        return ""

    async def prepare(self, c: Container) -> str | None:
        """Wire a starting container; return its namespace path, "host", or None
        (a namespace of runc's own, for ``none``). Partial work is undone by
        :meth:`release`, which the lifecycle calls when a start fails."""
        hc = c.host_config
        mode = self._mode_network(hc.get("NetworkMode") or "")
        settings = c.doc.setdefault("NetworkSettings", {"Networks": {}})
        c.private["ip"] = None
        c.private["resolv"] = {"Dns": list(hc.get("Dns") or self.settings.dns or []) or None}
        if mode == "host":
            return "host"
        if mode == "none":
            return None
        if mode.startswith("container:"):
            other = self.containers.get(mode.split(":", 1)[1])
            if not other.running:
                raise Conflict(f"cannot join network of a non running container: {other.id}")
            if other.host_config.get("NetworkMode") == "host":
                return "host"
            c.private["ip"] = other.private.get("ip")
            c.private["resolv"] = copy.deepcopy(other.private.get("resolv"))
            key = (other.doc.get("NetworkSettings") or {}).get("SandboxKey")
            return key or f"/proc/{other.state.get('Pid')}/ns/net"
        entries: dict[str, dict[str, Any]] = settings.get("Networks") or {}
        if not entries:
            net = self.get(mode)
            entries = {net.name: endpoint_entry(net, None)}
            settings["Networks"] = entries
        plan: list[tuple[Network, dict[str, Any]]] = []
        for name, ep in entries.items():
            net = self.get(ep.get("NetworkID") or name)
            if net.name != name or not net.is_bridge:
                raise NotFound(f"network {name} not found")
            plan.append((net, ep))
        ns_path = os.path.join(self.ns_dir, c.key)
        priv: dict[str, Any] = {"ns": ns_path, "links": {}, "ifnames": {}, "ports": [], "dns": False,
                                "publish_ip": ""}
        c.private["net"] = priv
        links, gateway_set = [], False
        for index, (net, ep) in enumerate(plan):
            link = self._new_link(c, net, ep, f"eth{index}", set_gateway=not gateway_set and not net.internal)
            gateway_set = gateway_set or link.gateway is not None
            if link.gateway is not None:
                priv["publish_ip"] = str(link.address.ip)
            links.append(link)
        need_dns = any(net.user_defined for net, _ in plan)
        if need_dns:
            c.private["resolv"] = {"Dns": [dns.ADDRESS], "DnsOptions": embedded_dns_options(hc.get("DnsOptions"))}
        sandbox = self.pool.take(links[0]) if len(links) == 1 and not need_dns else None
        if sandbox is not None:
            links[0].host_if = sandbox.host_if
        for (net, _), link in zip(plan, links):
            priv["links"][net.name] = link.host_if
            priv["ifnames"][net.name] = link.ifname
        if sandbox is not None:
            sockets = await asyncio.to_thread(pool.finish, sandbox, ns_path, links[0])
        else:
            sockets = await asyncio.to_thread(bridge.plumb, ns_path, links, dns.bind_sockets if need_dns else None)
        if need_dns:
            priv["dns"] = True
            await self.dns.arm(c.id, *sockets)
        settings.update(SandboxID=secrets.token_hex(32), SandboxKey=ns_path)
        wanted = wanted_bindings(hc, c.config.get("ExposedPorts"), self._host_ip(c)) if priv["publish_ip"] else []
        maps = self.ports.reserve(c.id, c.name.lstrip("/"), wanted) if wanted else []
        await self._serve_ipv6(maps, priv["publish_ip"])
        priv["ports"] = [[m.port, m.proto, m.host_ip, m.host_port] for m in maps]
        settings["Ports"] = ports_doc(c.config.get("ExposedPorts"), maps)
        settings["_PortsList"] = ports_list(settings["Ports"])
        if maps:
            await self.rules.apply()
        primary = entries[plan[0][0].name]
        c.private["ip"] = primary.get("IPAddress") or None
        self._fill_top_level(c)
        for net, _ in plan:
            self.events.publish("network", "connect", net.id,
                                {"container": c.id, "name": net.name, "type": net.driver})
        return ns_path

    def _new_link(self, c: Container, net: Network, ep: dict[str, Any], ifname: str,
                  set_gateway: bool) -> bridge.Link:
        """Allocate an address on ``net`` and fill ``ep`` with it (the allocation is
        released by :meth:`release` from the entry's IPAddress)."""
        assert net.allocator is not None and net.subnet is not None
        static = (ep.get("IPAMConfig") or {}).get("IPv4Address")
        if static:
            addr = ipam.parse_address(static)
            net.allocator.reserve(addr)
        else:
            addr = net.allocator.allocate()
        sub = net.subnet
        try:
            addr6 = self._allocate6(net, ep)
        except BaseException:
            net.allocator.release(addr)
            raise
        sub6 = net.subnet6
        if addr6 is not None and sub6 is not None:
            ep.update(GlobalIPv6Address=str(addr6), GlobalIPv6PrefixLen=sub6.subnet.prefixlen,
                      IPv6Gateway=str(sub6.gateway))
        mac = ep.get("MacAddress") or (c.config.get("MacAddress") if ifname == "eth0" else "") or ipam.mac_for(addr)
        names = [c.name.lstrip("/")] + list(ep.get("Aliases") or []) + [c.id[:12]]
        ep.update(NetworkID=net.id, EndpointID=secrets.token_hex(32), Gateway=str(sub.gateway),
                  IPAddress=str(addr), IPPrefixLen=sub.subnet.prefixlen, MacAddress=mac,
                  DNSNames=list(dict.fromkeys(names)) if net.user_defined else None)
        link = bridge.Link(ifname, "veth" + secrets.token_hex(4)[:7], net.bridge_name,
                           IPv4Interface(f"{addr}/{sub.subnet.prefixlen}"), mac, self._mtu(net),
                           sub.gateway if set_gateway else None, f"{bridge.ALIAS_PREFIX}{self.tag}:ctr:{c.id[:12]}")
        if addr6 is not None and sub6 is not None:
            link.address6 = IPv6Interface(f"{addr6}/{sub6.subnet.prefixlen}")
            link.gateway6 = sub6.gateway if set_gateway else None  # type: ignore[assignment]
        return link

    @staticmethod
    def _allocate6(net: Network, ep: dict[str, Any]) -> ipam.IPAddress | None:
        """The endpoint's IPv6 address on ``net`` (its ``IPv6Address`` or the next
        free one), or None for a network without IPv6."""
        if net.allocator6 is None:
            return None
        static6 = (ep.get("IPAMConfig") or {}).get("IPv6Address")
        if static6:
            addr6 = ipam.parse_address(static6, "IPv6 address", 6)
            net.allocator6.reserve(addr6)
            return addr6
        return net.allocator6.allocate()

    @staticmethod
    def _release_addresses(net: Network, ep: dict[str, Any]) -> None:
        """Give the endpoint's addresses (both families) back to ``net``'s allocators."""
        if net.allocator is not None and ep.get("IPAddress"):
            net.allocator.release(ep["IPAddress"])
        if net.allocator6 is not None and ep.get("GlobalIPv6Address"):
            net.allocator6.release(ep["GlobalIPv6Address"])

    def _mtu(self, net: Network) -> int:
        return int(net.option(OPT_MTU, str(self.settings.mtu)) or self.settings.mtu)

    def _flush_conntrack(self, address: str) -> None:
        """Forget, in the background, the kernel's NAT state of connections to a
        container that published ports, as dockerd does when an endpoint leaves.

        Connections in TIME_WAIT keep their NAT bindings for two minutes: the next
        container given this address would find the source ports of its published
        connections taken and new connections stalled. Needs ``conntrack``
        (conntrack-tools); without it the entries simply expire.
        """
        binary = shutil.which("conntrack")
        if binary is None:
            return

        async def flush() -> None:
            proc = await asyncio.create_subprocess_exec(binary, "-D", "-r", address, stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()

        self._in_background(flush())

    def _in_background(self, work: Any) -> None:
        """Run ``work`` (a coroutine or future) without waiting for it; ``close`` does."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _fill_top_level(self, c: Container) -> None:
        """Docker's top-level NetworkSettings address fields mirror the default bridge's."""
        settings = c.doc["NetworkSettings"]
        ep = (settings.get("Networks") or {}).get("bridge") or {}
        for key in ("IPAddress", "IPPrefixLen", "Gateway", "MacAddress", "EndpointID"):
            settings[key] = ep.get(key, 0 if key == "IPPrefixLen" else "")

    async def release(self, c: Container) -> None:
        """Undo :meth:`prepare` (idempotent; also after a daemon restart)."""
        priv = c.private.pop("net", None) or {}
        await self.dns.disarm(c.id)
        if self.ports.release(c.id) or priv.get("ports"):
            await self.rules.apply()
            if priv.get("publish_ip"):
                self._flush_conntrack(priv["publish_ip"])
        if priv.get("ns"):
            # The namespace file goes now (a restart reuses its path at once); the host
            # ends of the veths in the background: unregistering a device waits for an
            # RCU grace period (20-30 ms) that the container's exit need not wait for.
            # Daemon shutdown waits for these (close), and start-up removes any left.
            await asyncio.to_thread(netns.remove, priv["ns"])
            hosts = list((priv.get("links") or {}).values())
            if hosts:
                self._in_background(asyncio.to_thread(lambda: [bridge.delete_link(name) for name in hosts]))
        settings = c.doc.get("NetworkSettings") or {}
        for name, ep in (settings.get("Networks") or {}).items():
            if ep.get("IPAddress") or ep.get("GlobalIPv6Address"):
                with contextlib.suppress(NotFound):
                    self._release_addresses(self.get(ep.get("NetworkID") or name), ep)
            if ep.get("EndpointID"):
                with contextlib.suppress(NotFound):
                    net = self.get(ep.get("NetworkID") or name)
                    self.events.publish("network", "disconnect", net.id,
                                        {"container": c.id, "name": net.name, "type": net.driver})
            clear_endpoint(ep)
        settings.update(SandboxID="", SandboxKey="", Ports={}, _PortsList=[])
        if settings:
            self._fill_top_level(c)
        c.private["ip"] = None

    # -- connect / disconnect ------------------------------------------------------------

    async def connect(self, ref: str, c: Container, cfg: dict[str, Any] | None) -> None:
        """``POST /networks/{id}/connect`` (running or not)."""
        net = self.get(ref)
        mode = self._mode_network(c.host_config.get("NetworkMode") or "")
        if net.name in ("host", "none") or mode in ("host", "none") or mode.startswith("container:"):
            if net.name in ("host", "none") and mode == net.name:
                raise Forbidden(f"container {c.id[:12]} is already attached to network {net.name}")
            raise Forbidden("container sharing network namespace with another container or host cannot be "
                            "connected to any other network")
        if not net.is_bridge:
            raise Forbidden(f"network {net.name} does not accept endpoints")
        settings = c.doc.setdefault("NetworkSettings", {"Networks": {}})
        entries = settings.setdefault("Networks", {})
        if net.name in entries:
            raise Forbidden(f"endpoint with name {c.name.lstrip('/')} already exists in network {net.name}")
        self._check_endpoint(net, cfg)
        ep = endpoint_entry(net, cfg)
        async with c.lock:
            if not c.running:
                entries[net.name] = ep
                self.containers.save(c)
                return
            priv = c.private.get("net") or {}
            if not priv.get("ns"):
                raise Forbidden("container sharing network namespace with another container or host cannot be "
                                "connected to any other network")
            used = set((priv.get("ifnames") or {}).values())
            index = 0
            while f"eth{index}" in used:
                index += 1
            set_gw = not priv.get("publish_ip") and not net.internal
            link = self._new_link(c, net, ep, f"eth{index}", set_gw)
            need_dns = net.user_defined and not priv.get("dns")
            try:
                sockets = await asyncio.to_thread(bridge.attach, priv["ns"], link,
                                                  dns.bind_sockets if need_dns else None)
            except BaseException:
                self._release_addresses(net, ep)
                raise
            if need_dns:
                priv["dns"] = True
                await self.dns.arm(c.id, *sockets)
                await asyncio.to_thread(self._use_embedded_dns, c)
            if set_gw:
                priv["publish_ip"] = str(link.address.ip)
            priv.setdefault("links", {})[net.name] = link.host_if
            priv.setdefault("ifnames", {})[net.name] = link.ifname
            entries[net.name] = ep
            self._fill_top_level(c)
            self.containers.save(c)
        self.events.publish("network", "connect", net.id, {"container": c.id, "name": net.name, "type": net.driver})

    async def disconnect(self, ref: str, c: Container, force: bool = False) -> None:
        """``POST /networks/{id}/disconnect``."""
        net = self.get(ref)
        entries = (c.doc.get("NetworkSettings") or {}).get("Networks") or {}
        if net.name not in entries:
            raise Forbidden(f"container {c.id[:12]} is not connected to network {net.name}")
        if net.name in ("host", "none"):
            raise Forbidden(f"container cannot be disconnected from {net.name} network")
        async with c.lock:
            ep = entries[net.name]
            priv = c.private.get("net") or {}
            if c.running and ep.get("EndpointID") and priv.get("ns"):
                host_if = (priv.get("links") or {}).pop(net.name, None)
                (priv.get("ifnames") or {}).pop(net.name, None)
                if host_if:
                    await asyncio.to_thread(bridge.delete_link, host_if)
                self._release_addresses(net, ep)
                was_gateway = priv.get("publish_ip") == ep.get("IPAddress")
                del entries[net.name]
                if was_gateway:
                    priv["publish_ip"] = ""
                    await self._new_gateway(c, priv)
                if priv.get("dns") and not any(self._is_user(n) for n in entries):
                    priv["dns"] = False
                    await self.dns.disarm(c.id)
            else:
                del entries[net.name]
            if c.private.get("ip") == ep.get("IPAddress"):
                c.private["ip"] = next((e.get("IPAddress") for e in entries.values() if e.get("IPAddress")), None)
            self._fill_top_level(c)
            self.containers.save(c)
        self.events.publish("network", "disconnect", net.id,
                            {"container": c.id, "name": net.name, "type": net.driver})

    def _use_embedded_dns(self, c: Container) -> None:
        """Point a running container's resolv.conf at 127.0.0.11 (its first user-defined
        network was just connected). Written in place: the container sees the file
        through a bind mount of this very inode."""
        hc = c.host_config
        c.private["resolv"] = {"Dns": [dns.ADDRESS], "DnsOptions": embedded_dns_options(hc.get("DnsOptions"))}
        text = etcfiles.resolv_text([dns.ADDRESS], hc.get("DnsSearch"), c.private["resolv"]["DnsOptions"])
        path = c.doc.get("ResolvConfPath") or ""
        if path and os.path.exists(path):
            with open(path, "r+") as f:
                f.truncate(0)
                f.write(text)

    def _is_user(self, name: str) -> bool:
        try:
            return self.get(name).user_defined
        except NotFound:
            return False

    async def _new_gateway(self, c: Container, priv: dict[str, Any]) -> None:
        """After the way out was disconnected, route through the next network that has one."""
        entries = (c.doc.get("NetworkSettings") or {}).get("Networks") or {}
        for name, ep in entries.items():
            with contextlib.suppress(NotFound):
                net = self.get(name)
                ifname = (priv.get("ifnames") or {}).get(name)
                if not net.internal and ep.get("IPAddress") and ifname:
                    gateway6 = IPv6Address(ep["IPv6Gateway"]) if ep.get("IPv6Gateway") else None
                    await asyncio.to_thread(bridge.set_default_route, priv["ns"], ifname,
                                            IPv4Address(ep["Gateway"]), gateway6)
                    priv["publish_ip"] = ep["IPAddress"]
                    await self.rules.apply()
                    return
        await asyncio.to_thread(bridge.set_default_route, priv["ns"], "", None)
        await self.rules.apply()
