"""``Networks``: network records, container endpoints, and the lifecycle's network hook.

Records are Docker-shaped documents (what ``GET /networks/{id}`` shows, less
``Containers``, which is derived) in the store's ``networks`` table, with a
private ``Baleine`` section (the bridge's interface name, whether the subnet
was chosen automatically). Three are predefined, as with Docker: ``bridge``
(the default bridge, its subnet from ``--bip`` or the address pools), ``host``
and ``none``.

A container's endpoints live in its own document: ``NetworkSettings.Networks``
(one entry per network, the endpoint's configuration and, while it runs, its
address) and, in the private section, ``net`` (its namespace file and host
interfaces, so that a restarted daemon can undo what it finds). Addresses in
use are never stored apart: the allocators are rebuilt from the documents of
running containers, so nothing can leak from them.

Lifecycle hooks: ``on_create`` validates a container's networking and writes
its endpoint entries; ``prepare`` (at start) makes its namespace, interfaces,
DNS sockets and port mappings and returns the namespace path ("host" or None
for those modes); ``release`` (at exit or failed start) undoes all of it and is
idempotent. ``open`` reconciles the kernel with the records at daemon start.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fcntl
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from ..containers import etcfiles
from ...rules import filters as filters_mod
from ..containers.records import Container, Containers
from ..fieldtypes import BOOL, DICT, STR, check_fields
from ...rules.errors import Conflict, EngineError, Forbidden, InvalidParameter, NotFound
from ..events import Events
from ..store import Store, dumps
from ...rules.timestamps import now_rfc3339nano, parse_rfc3339, parse_since
from . import bridge, daemon_tag, default_bridge_name, dns, ipam, netns
from .iptables import Firewall, NetRules, PortRule
from .ports import PortTable, ports_doc, ports_list, wanted_bindings

log = logging.getLogger("baleine.networks")

SCHEMA = """CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL               -- Docker-shaped network document (see networks/manager.py)
)"""
PREDEFINED = ("bridge", "host", "none")
HOST_LOCK = "/run/lock/baleine-networks.lock"
OPT_BRIDGE_NAME = "com.docker.network.bridge.name"
OPT_MASQ = "com.docker.network.bridge.enable_ip_masquerade"
OPT_ICC = "com.docker.network.bridge.enable_icc"
OPT_MTU = "com.docker.network.driver.mtu"
OPT_HOST_IP = "com.docker.network.bridge.host_binding_ipv4"
OPT_DEFAULT = "com.docker.network.bridge.default_bridge"


@dataclass
class NetSettings:
    """Daemon-wide networking settings (dockerd's flags)."""

    data_root: str
    exec_root: str
    bridge: str = ""                  # -b/--bridge: the default bridge's interface name
    bip: str = ""                     # --bip: the default bridge's address/prefix
    pools: list[str] = field(default_factory=lambda: [ipam.DEFAULT_POOLS])
    dns: list[str] = field(default_factory=list)   # --dns: containers' default servers
    ip_forward: bool = True           # --ip-forward: host-wide IPv4 forwarding
    iptables: bool = True             # --iptables: manage rules at all
    ip_masq: bool = True              # --ip-masq
    icc: bool = True                  # --icc
    mtu: int = 1500                   # --mtu

    @classmethod
    def from_options(cls, data_root: str, exec_root: str, extra: dict[str, Any]) -> NetSettings:
        """From the daemon's options (``EngineConfig.extra``; absent ones take dockerd's defaults)."""
        out = cls(data_root, exec_root)
        for key in ("bridge", "bip", "pools", "dns", "ip_forward", "iptables", "ip_masq", "icc", "mtu"):
            value = extra.get(key)
            if value is not None and value != [] and value != "":
                setattr(out, key, value)
        return out


class Network:
    """One network record (see module docstring)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.allocator: ipam.Allocator | None = None
        if self.subnet is not None:
            self.allocator = ipam.Allocator(self.subnet)

    @property
    def id(self) -> str:
        return self.doc["Id"]

    @property
    def name(self) -> str:
        return self.doc["Name"]

    @property
    def driver(self) -> str:
        return self.doc["Driver"]

    @property
    def internal(self) -> bool:
        return bool(self.doc.get("Internal"))

    @property
    def is_bridge(self) -> bool:
        return self.driver == "bridge"

    @property
    def user_defined(self) -> bool:
        """Docker's "custom" networks: the ones with names resolution."""
        return self.name not in PREDEFINED

    @property
    def bridge_name(self) -> str:
        return self.doc.get("Baleine", {}).get("bridge", "")

    @property
    def subnet(self) -> ipam.Subnet | None:
        configs = (self.doc.get("IPAM") or {}).get("Config") or []
        return ipam.Subnet.from_doc(configs[0]) if configs else None

    def option(self, key: str, default: str = "") -> str:
        return str((self.doc.get("Options") or {}).get(key, default))

    def rules(self, settings: NetSettings) -> NetRules:
        sub = self.subnet
        assert sub is not None
        return NetRules(self.bridge_name, str(sub.subnet), str(sub.gateway), self.internal,
                        self.option(OPT_MASQ, "true") != "false" and settings.ip_masq,
                        self.option(OPT_ICC, "true") != "false")

    def public(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in self.doc.items() if k != "Baleine"}


def _endpoint_entry(net: Network, cfg: dict[str, Any] | None) -> dict[str, Any]:
    """A container's ``NetworkSettings.Networks`` entry before it runs."""
    cfg = cfg or {}
    return {"IPAMConfig": cfg.get("IPAMConfig") or None, "Links": cfg.get("Links") or None,
            "Aliases": list(cfg.get("Aliases") or []) or None, "MacAddress": cfg.get("MacAddress") or "",
            "DriverOpts": cfg.get("DriverOpts") or None, "NetworkID": net.id, "EndpointID": "", "Gateway": "",
            "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "DNSNames": None}


def _clear_endpoint(ep: dict[str, Any]) -> None:
    ep.update(EndpointID="", Gateway="", IPAddress="", IPPrefixLen=0, DNSNames=None)
    if not (ep.get("IPAMConfig") or {}).get("IPv4Address"):
        ep["MacAddress"] = ""


@contextlib.contextmanager
def host_lock() -> Iterator[None]:
    """Serialise subnet choice and bridge creation among every daemon on this host."""
    os.makedirs(os.path.dirname(HOST_LOCK), exist_ok=True)
    fd = os.open(HOST_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class Networks:
    """Networks and endpoints of one daemon; ``lifecycle.network`` (see module docstring)."""

    def __init__(self, store: Store, containers: Containers, events: Events, settings: NetSettings) -> None:
        self.store = store
        self.containers = containers
        self.events = events
        self.settings = settings
        self.tag = daemon_tag(settings.data_root)
        self.ns_dir = os.path.join(settings.exec_root, "netns")
        self.pools = [ipam.parse_pool(p) for p in settings.pools or [ipam.DEFAULT_POOLS]]
        self.firewall = Firewall(self.tag)
        self.ports = PortTable()
        self.dns = dns.Server(self)
        self.by_id: dict[str, Network] = {}
        self._rules_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        with store.tx() as db:
            db.execute(SCHEMA)
        for row in store.query("SELECT doc FROM networks"):
            net = Network(json.loads(row["doc"]))
            self.by_id[net.id] = net

    # -- records -------------------------------------------------------------------

    def get(self, ref: str) -> Network:
        """By full ID, name, or unique ID prefix; NotFound("network X not found")."""
        if ref in self.by_id:
            return self.by_id[ref]
        for net in self.by_id.values():
            if net.name == ref:
                return net
        matches = [n for n in self.by_id.values() if ref and n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidParameter(f"network {ref} is ambiguous ({len(matches)} matches found on name)")
        raise NotFound(f"network {ref} not found")

    def list(self) -> list[Network]:
        return sorted(self.by_id.values(), key=lambda n: n.doc["Created"])

    def _save(self, net: Network) -> None:
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO networks VALUES (?,?,?)", (net.id, net.name, dumps(net.doc)))

    def _forget(self, net: Network) -> None:
        with self.store.tx() as db:
            db.execute("DELETE FROM networks WHERE id=?", (net.id,))
        self.by_id.pop(net.id, None)

    def _alias(self, net_id: str) -> str:
        return f"{bridge.ALIAS_PREFIX}{self.tag}:net:{net_id[:12]}"

    def _our_subnets(self, but: str = "") -> list[Any]:
        return [n.subnet.subnet for n in self.by_id.values() if n.subnet is not None and n.id != but]

    def _bridges(self) -> set[str]:
        return {n.bridge_name for n in self.by_id.values() if n.is_bridge}

    def inspect(self, net: Network) -> dict[str, Any]:
        """``GET /networks/{id}``: the record with the running containers on it."""
        out = net.public()
        members: dict[str, Any] = {}
        for c in self.containers.by_id.values():
            ep = self._endpoint(c, net)
            if ep is not None and ep.get("EndpointID"):
                members[c.id] = {"Name": c.name.lstrip("/"), "EndpointID": ep["EndpointID"],
                                 "MacAddress": ep.get("MacAddress", ""),
                                 "IPv4Address": f"{ep['IPAddress']}/{ep['IPPrefixLen']}" if ep.get("IPAddress")
                                 else "", "IPv6Address": ""}
        out["Containers"] = members
        return out

    def summary(self, net: Network) -> dict[str, Any]:
        """An item of ``GET /networks`` (docker lists no containers there)."""
        out = net.public()
        out["Containers"] = {}
        return out

    def _endpoint(self, c: Container, net: Network) -> dict[str, Any] | None:
        nets = (c.doc.get("NetworkSettings") or {}).get("Networks") or {}
        ep = nets.get(net.name)
        if ep is not None and ep.get("NetworkID") in ("", net.id):
            return ep
        return None

    def active_users(self, net: Network) -> list[Container]:
        """Containers with a live endpoint on ``net``."""
        return [c for c in self.containers.by_id.values()
                if (self._endpoint(c, net) or {}).get("EndpointID")]

    # -- daemon start ------------------------------------------------------------------

    async def open(self) -> None:
        """Reconcile kernel state with the records after a start (or a crash):
        make the predefined networks and every bridge, remove interfaces and
        namespaces nobody owns, re-take the addresses, ports and DNS sockets of
        containers still running, and rewrite the rules."""
        await asyncio.to_thread(self._open_host)
        for c in self.containers.by_id.values():
            if c.running and (c.private.get("net") or {}).get("ns"):
                try:
                    await self._readopt(c)
                except Exception as exc:  # noqa: BLE001 - adopt() will record its exit if it is gone
                    log.warning("could not re-adopt the network of %s: %s", c.id[:12], exc)
        await self.apply_rules()

    def _open_host(self) -> None:
        if self.settings.ip_forward:
            try:
                with open("/proc/sys/net/ipv4/ip_forward", "r+") as f:
                    if f.read().strip() != "1":
                        f.seek(0)
                        f.write("1")
            except OSError as exc:
                log.warning("could not enable IP forwarding: %s", exc)
        with host_lock():
            self._ensure_predefined()
            for net in self.by_id.values():
                if net.is_bridge:
                    self._ensure_bridge(net)
        live = {c.id[:12] for c in self.containers.by_id.values() if c.running}
        bridges = {self._alias(n.id) for n in self.by_id.values() if n.is_bridge}
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
        if self.settings.iptables:
            self.firewall.install()

    def _ensure_predefined(self) -> None:
        """The bridge, host and none networks, the default bridge per the flags."""
        names = {n.name: n for n in self.by_id.values()}
        for name in ("host", "none"):
            if name not in names:
                driver = "host" if name == "host" else "null"
                net = Network(self._new_doc(name, driver, {"Driver": "default", "Options": None, "Config": []},
                                            {}, {}, False, False))
                self.by_id[net.id] = net
                self._save(net)
        br_name = self.settings.bridge or default_bridge_name(self.settings.data_root)
        current = names.get("bridge")
        if self.settings.bip:
            iface = self._parse_bip(self.settings.bip)
            subnet, gateway = iface.network, iface.ip
        elif current is not None and current.subnet is not None and current.bridge_name == br_name:
            subnet, gateway = current.subnet.subnet, current.subnet.gateway
        else:
            taken = ipam.host_routes(exclude={br_name}) + self._our_subnets(current.id if current else "")
            subnet = ipam.pick_subnet(self.pools, taken)
            gateway = subnet.network_address + 1
        options = {OPT_DEFAULT: "true", OPT_ICC: "true" if self.settings.icc else "false",
                   OPT_MASQ: "true" if self.settings.ip_masq else "false", OPT_HOST_IP: "0.0.0.0",
                   OPT_BRIDGE_NAME: br_name, OPT_MTU: str(self.settings.mtu)}
        config = ipam.Subnet(subnet, gateway).to_doc()  # type: ignore[arg-type]
        if current is None:
            doc = self._new_doc("bridge", "bridge", {"Driver": "default", "Options": None, "Config": [config]},
                                options, {}, False, False)
            doc["Baleine"] = {"bridge": br_name, "auto_subnet": not self.settings.bip}
            current = Network(doc)
            self.by_id[current.id] = current
        elif current.doc["IPAM"]["Config"] != [config] or current.bridge_name != br_name \
                or current.doc.get("Options") != options:
            if current.bridge_name and current.bridge_name != br_name:
                bridge.delete_link(current.bridge_name)
            current.doc["IPAM"]["Config"] = [config]
            current.doc["Options"] = options
            current.doc["Baleine"] = {"bridge": br_name, "auto_subnet": not self.settings.bip}
            current.allocator = ipam.Allocator(current.subnet)  # type: ignore[arg-type]
        self._save(current)

    @staticmethod
    def _parse_bip(text: str) -> IPv4Interface:
        try:
            iface = IPv4Interface(text)
        except ValueError:
            raise InvalidParameter(f"invalid --bip: {text}") from None
        if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
            raise InvalidParameter(f"invalid --bip: {text}: the address must be a host address of the subnet")
        return iface

    def _ensure_bridge(self, net: Network) -> None:
        sub = net.subnet
        assert sub is not None
        mtu = int(net.option(OPT_MTU, str(self.settings.mtu)) or self.settings.mtu)
        bridge.ensure_bridge(net.bridge_name, IPv4Interface(f"{sub.gateway}/{sub.subnet.prefixlen}"), mtu,
                             self._alias(net.id))

    async def _readopt(self, c: Container) -> None:
        """Take again what a running container held before the daemon restarted."""
        priv = c.private["net"]
        if not netns.is_pinned(priv["ns"]):
            return
        for name, ep in ((c.doc.get("NetworkSettings") or {}).get("Networks") or {}).items():
            try:
                net = self.get(ep.get("NetworkID") or name)
            except NotFound:
                continue
            if net.allocator is not None and ep.get("IPAddress"):
                with contextlib.suppress(EngineError):
                    net.allocator.reserve(IPv4Address(ep["IPAddress"]))
        if priv.get("dns"):
            udp, tcp = await asyncio.to_thread(netns.run_in, priv["ns"], dns.bind_sockets)
            await self.dns.arm(c.id, udp, tcp)
        held = priv.get("ports") or []
        if held:
            wanted = wanted_bindings(c.host_config, c.config.get("ExposedPorts"), self._host_ip(c))
            fixed = {(p, proto, ip if ip != "0.0.0.0" else ""): hp for p, proto, ip, hp in held}
            try:
                self.ports.reserve(c.id, c.name.lstrip("/"), wanted, fixed)
            except EngineError as exc:
                log.warning("container %s: %s", c.id[:12], exc)

    async def close(self) -> None:
        """Let go of sockets (the kernel state stays: containers keep running)."""
        await self.dns.close()
        self.ports.close()
        for task in list(self._background):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)

    # -- rules -----------------------------------------------------------------------

    async def apply_rules(self) -> None:
        """Rewrite the daemon's chains from the current state (serialised)."""
        if not self.settings.iptables:
            return
        async with self._rules_lock:
            nets = [n.rules(self.settings) for n in self.list() if n.is_bridge and n.subnet is not None]
            port_rules = []
            for cid, maps in self.ports.held.items():
                c = self.containers.by_id.get(cid)
                target = (c.private.get("net") or {}).get("publish_ip") if c is not None else None
                if not target:
                    continue
                for m in maps:
                    port_rules.append(PortRule(m.proto, m.host_ip, m.host_port, target, m.port))
            await asyncio.to_thread(self.firewall.apply, nets, port_rules)

    # -- network API ---------------------------------------------------------------------

    def _new_doc(self, name: str, driver: str, ipam_doc: dict[str, Any], options: dict[str, str],
                 labels: dict[str, str], internal: bool, attachable: bool) -> dict[str, Any]:
        return {"Name": name, "Id": secrets.token_hex(32), "Created": now_rfc3339nano(), "Scope": "local",
                "Driver": driver, "EnableIPv6": False, "IPAM": ipam_doc, "Internal": internal,
                "Attachable": attachable, "Ingress": False, "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
                "Options": options, "Labels": labels}

    async def create(self, body: dict[str, Any]) -> Network:
        """``POST /networks/create``. Errors in dockerd's words: 409 name taken, 404
        unknown driver, 400 bad config, 403 subnet overlapping another network."""
        check_fields(body, {"Name": STR, "Driver": STR, "Internal": BOOL, "Attachable": BOOL,
                            "EnableIPv6": BOOL, "IPAM": DICT, "Options": DICT, "Labels": DICT}, "CreateRequest")
        check_fields(body.get("IPAM") or {}, {"Driver": STR, "Options": DICT}, "IPAM")
        for cfg in (body.get("IPAM") or {}).get("Config") or []:
            check_fields(cfg, {"Subnet": STR, "IPRange": STR, "Gateway": STR, "AuxiliaryAddresses": DICT},
                         "IPAMConfig")
        name = (body.get("Name") or "").strip()
        if not name:
            raise InvalidParameter("network name must not be empty")
        if any(n.name == name for n in self.by_id.values()):
            if name in PREDEFINED:
                raise Forbidden(f"{name} is a pre-defined network and cannot be created")
            raise Conflict(f"network with name {name} already exists")
        driver = body.get("Driver") or "bridge"
        if driver in ("host", "null"):
            raise Forbidden(f'only one instance of "{driver}" network is allowed')
        if driver != "bridge":
            raise NotFound(f'plugin "{driver}" not found')
        ipam_req = body.get("IPAM") or {}
        if (ipam_req.get("Driver") or "default") != "default":
            raise NotFound(f'plugin "{ipam_req["Driver"]}" not found')
        if body.get("EnableIPv6"):
            raise InvalidParameter("IPv6 networks are not supported by this daemon")
        configs = [c for c in ipam_req.get("Config") or [] if c]
        for cfg in configs:
            if ":" in (cfg.get("Subnet") or "") or ":" in (cfg.get("Gateway") or ""):
                raise InvalidParameter("IPv6 networks are not supported by this daemon")
        if len(configs) > 1:
            raise InvalidParameter("only one IPv4 subnet per network is supported")
        cfg = configs[0] if configs else {}
        if cfg and not cfg.get("Subnet") and (cfg.get("Gateway") or cfg.get("IPRange")):
            raise InvalidParameter("invalid network config: a gateway or ip-range needs a subnet")
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        for key in (OPT_MASQ, OPT_ICC):
            if key in options and options[key].lower() not in ("true", "false"):
                raise InvalidParameter(f"invalid value for {key}: {options[key]}")
        if OPT_MTU in options:
            try:
                mtu = int(options[OPT_MTU])
            except ValueError:
                raise InvalidParameter(f"invalid MTU: {options[OPT_MTU]}") from None
            if not 68 <= mtu <= 65535:
                raise InvalidParameter(f"invalid MTU: {mtu}")
        if OPT_HOST_IP in options:
            ipam.parse_address(options[OPT_HOST_IP], "host binding address")
        doc = self._new_doc(name, "bridge", {"Driver": "default", "Options": ipam_req.get("Options") or {},
                                             "Config": []},
                            options, {str(k): str(v) for k, v in (body.get("Labels") or {}).items()},
                            bool(body.get("Internal")), bool(body.get("Attachable")))
        br_name = options.get(OPT_BRIDGE_NAME) or f"bl-{doc['Id'][:12]}"
        if len(br_name) > 15 or not br_name or "/" in br_name or " " in br_name:
            raise InvalidParameter(f"invalid bridge name: {br_name}")
        if br_name in self._bridges():
            raise Conflict(f"bridge {br_name} is already used by another network")
        doc["Baleine"] = {"bridge": br_name, "auto_subnet": not cfg.get("Subnet")}
        if cfg.get("Subnet"):
            sub = ipam.subnet_from_request(cfg)
            ipam.check_overlap(sub.subnet, self._our_subnets())

        def make() -> Network:
            with host_lock():
                if bridge.link_exists(br_name):
                    raise Conflict(f"bridge {br_name} already exists on this host")
                if cfg.get("Subnet"):
                    subnet = ipam.subnet_from_request(cfg)
                else:
                    taken = ipam.host_routes(exclude=self._bridges()) + self._our_subnets()
                    subnet = ipam.subnet_from_request(cfg, ipam.pick_subnet(self.pools, taken))
                doc["IPAM"]["Config"] = [subnet.to_doc()]
                net = Network(doc)
                self._ensure_bridge(net)
                return net

        net = await asyncio.to_thread(make)
        try:
            self._save(net)
        except BaseException:
            await asyncio.to_thread(bridge.delete_link, br_name)
            raise
        self.by_id[net.id] = net
        await self.apply_rules()
        self.events.publish("network", "create", net.id, {"name": net.name, "type": net.driver})
        return net

    async def remove(self, ref: str) -> None:
        """``DELETE /networks/{id}``: 403 for predefined networks or ones in use."""
        net = self.get(ref)
        if net.name in PREDEFINED:
            raise Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
        users = self.active_users(net)
        if users:
            who = ", ".join(f'(name:"{c.name.lstrip("/")}" id:"{c.id[:12]}")' for c in users)
            raise Forbidden(f"error while removing network: network {net.name} has active endpoints {who}")
        self._forget(net)
        await asyncio.to_thread(bridge.delete_link, net.bridge_name)
        await self.apply_rules()
        self.events.publish("network", "destroy", net.id, {"name": net.name, "type": net.driver})

    async def prune(self, f: filters_mod.Filters) -> list[str]:
        """``POST /networks/prune``: unused user-defined networks matching the filters."""
        f.validate({"until", "label", "label!"})
        until = None
        if f.contains("until"):
            until = parse_since(f.get("until")[0], time.time())
        removed = []
        for net in self.list():
            if net.name in PREDEFINED or self.active_users(net):
                continue
            if until is not None and parse_rfc3339(net.doc["Created"]) >= until:
                continue
            if not f.match_labels(net.doc.get("Labels") or {}):
                continue
            await self.remove(net.id)
            removed.append(net.name)
        return removed

    def filter(self, f: filters_mod.Filters) -> list[Network]:
        """``GET /networks`` filtering (driver, id, label, name, scope, type, dangling)."""
        f.validate({"driver", "id", "label", "name", "scope", "type", "dangling"})
        for t in f.get("type") if f.contains("type") else []:
            if t not in ("custom", "builtin"):
                raise InvalidParameter(f"invalid filter: 'type'='{t}'")
        out = []
        for net in self.list():
            if f.contains("driver") and not f.exact_match("driver", net.driver):
                continue
            if f.contains("id") and not any(net.id.startswith(v) for v in f.get("id")):
                continue
            if f.contains("name") and not f.match("name", net.name):
                continue
            if f.contains("label") and not f.match_kv("label", net.doc.get("Labels") or {}):
                continue
            if f.contains("scope") and "local" not in f.get("scope"):
                continue
            if f.contains("type"):
                kind = "builtin" if net.name in PREDEFINED else "custom"
                if kind not in f.get("type"):
                    continue
            if f.contains("dangling"):
                dangling = net.name not in PREDEFINED and not any(
                    self._endpoint(c, net) is not None for c in self.containers.by_id.values())
                if f.bool_value("dangling") != dangling:
                    continue
            out.append(net)
        return out

    # -- container create ---------------------------------------------------------------

    def _mode_network(self, mode: str) -> str:
        return "bridge" if mode in ("", "default") else mode

    def on_create(self, c: Container, image: Any = None) -> None:
        """Validate a new container's networking; write its endpoint entries.

        Raises NotFound for unknown networks or containers, InvalidParameter for
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
            self.containers.get(mode.split(":", 1)[1])
            if endpoints_cfg:
                raise InvalidParameter("conflicting options: container type network can't be used with other "
                                       "networks")
        elif mode in ("host", "none"):
            net = self.get(mode)
            nets[net.name] = _endpoint_entry(net, endpoints_cfg.get(mode))
            if any(k != mode for k in endpoints_cfg):
                raise InvalidParameter(f"container cannot be connected to network endpoints: {mode}, "
                                       + ", ".join(k for k in endpoints_cfg if k != mode))
        else:
            order = [mode] + [k for k in endpoints_cfg if k != mode and self.get(k).name != self.get(mode).name]
            for ref in order:
                net = self.get(ref)
                cfg = endpoints_cfg.get(ref) or endpoints_cfg.get(net.name) or endpoints_cfg.get(net.id)
                if net.name in ("host", "none"):
                    raise InvalidParameter("container sharing network namespace with another container or host "
                                           "cannot be connected to any other network")
                self._check_endpoint(net, cfg)
                nets[net.name] = _endpoint_entry(net, cfg)
        c.doc["NetworkSettings"] = {"SandboxID": "", "SandboxKey": "", "Ports": {}, "_PortsList": [],
                                    "IPAddress": "", "IPPrefixLen": 0, "Gateway": "", "MacAddress": "",
                                    "EndpointID": "", "Networks": nets}
        self.containers.save(c)

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
        if (cfg.get("IPAMConfig") or {}).get("IPv6Address"):
            raise InvalidParameter("IPv6 addresses are not supported by this daemon")

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
            entries = {net.name: _endpoint_entry(net, None)}
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
            priv["links"][net.name] = link.host_if
            priv["ifnames"][net.name] = link.ifname
            links.append(link)
        need_dns = any(net.user_defined for net, _ in plan)
        if need_dns:
            c.private["resolv"] = {"Dns": [dns.ADDRESS],
                                   "DnsOptions": list(hc.get("DnsOptions") or []) + ["ndots:0"]}
        sockets = await asyncio.to_thread(bridge.plumb, ns_path, links, dns.bind_sockets if need_dns else None)
        if need_dns:
            priv["dns"] = True
            await self.dns.arm(c.id, *sockets)
        settings.update(SandboxID=secrets.token_hex(32), SandboxKey=ns_path)
        wanted = wanted_bindings(hc, c.config.get("ExposedPorts"), self._host_ip(c)) if priv["publish_ip"] else []
        maps = self.ports.reserve(c.id, c.name.lstrip("/"), wanted) if wanted else []
        priv["ports"] = [[m.port, m.proto, m.host_ip, m.host_port] for m in maps]
        settings["Ports"] = ports_doc(c.config.get("ExposedPorts"), maps)
        settings["_PortsList"] = ports_list(settings["Ports"])
        if maps:
            await self.apply_rules()
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
        mac = ep.get("MacAddress") or (c.config.get("MacAddress") if ifname == "eth0" else "") or ipam.mac_for(addr)
        names = [c.name.lstrip("/")] + list(ep.get("Aliases") or []) + [c.id[:12]]
        ep.update(NetworkID=net.id, EndpointID=secrets.token_hex(32), Gateway=str(sub.gateway),
                  IPAddress=str(addr), IPPrefixLen=sub.subnet.prefixlen, MacAddress=mac,
                  DNSNames=list(dict.fromkeys(names)) if net.user_defined else None)
        mtu = int(net.option(OPT_MTU, str(self.settings.mtu)) or self.settings.mtu)
        return bridge.Link(ifname, "veth" + secrets.token_hex(4)[:7], net.bridge_name,
                           IPv4Interface(f"{addr}/{sub.subnet.prefixlen}"), mac, mtu,
                           sub.gateway if set_gateway else None, f"{bridge.ALIAS_PREFIX}{self.tag}:ctr:{c.id[:12]}")

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
            await self.apply_rules()
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
            if ep.get("IPAddress"):
                with contextlib.suppress(NotFound):
                    net = self.get(ep.get("NetworkID") or name)
                    if net.allocator is not None:
                        net.allocator.release(ep["IPAddress"])
            if ep.get("EndpointID"):
                with contextlib.suppress(NotFound):
                    net = self.get(ep.get("NetworkID") or name)
                    self.events.publish("network", "disconnect", net.id,
                                        {"container": c.id, "name": net.name, "type": net.driver})
            _clear_endpoint(ep)
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
        ep = _endpoint_entry(net, cfg)
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
                assert net.allocator is not None
                net.allocator.release(ep["IPAddress"])
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
                if net.allocator is not None and ep.get("IPAddress"):
                    net.allocator.release(ep["IPAddress"])
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
        c.private["resolv"] = {"Dns": [dns.ADDRESS], "DnsOptions": list(hc.get("DnsOptions") or []) + ["ndots:0"]}
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
                    await asyncio.to_thread(bridge.set_default_route, priv["ns"], ifname,
                                            IPv4Address(ep["Gateway"]))
                    priv["publish_ip"] = ep["IPAddress"]
                    await self.apply_rules()
                    return
        await asyncio.to_thread(bridge.set_default_route, priv["ns"], "", None)
        await self.apply_rules()

    # -- DNS directory (see dns.Directory) ------------------------------------------------

    def _user_endpoints(self, c: Container) -> list[tuple[Network, dict[str, Any]]]:
        out = []
        for name, ep in ((c.doc.get("NetworkSettings") or {}).get("Networks") or {}).items():
            if not ep.get("IPAddress"):
                continue
            with contextlib.suppress(NotFound):
                net = self.get(ep.get("NetworkID") or name)
                if net.user_defined:
                    out.append((net, ep))
        return out

    def lookup(self, cid: str, name: str) -> list[str] | None:
        asker = self.containers.by_id.get(cid)
        if asker is None:
            return None
        name = name.lower().rstrip(".")
        found: list[str] = []
        for net, _ in self._user_endpoints(asker):
            for other in self.containers.by_id.values():
                if not other.running:
                    continue
                ep = self._endpoint(other, net)
                if not ep or not ep.get("IPAddress"):
                    continue
                names = {other.name.lstrip("/").lower(), other.id[:12]}
                names |= {a.lower() for a in ep.get("Aliases") or []}
                if name in names and ep["IPAddress"] not in found:
                    found.append(ep["IPAddress"])
        return found or None

    def reverse(self, cid: str, address: str) -> str | None:
        asker = self.containers.by_id.get(cid)
        if asker is None:
            return None
        for net, _ in self._user_endpoints(asker):
            for other in self.containers.by_id.values():
                ep = self._endpoint(other, net)
                if other.running and ep and ep.get("IPAddress") == address:
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
