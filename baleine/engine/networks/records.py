"""Network records: the ``networks`` table's owner.

Records are Docker-shaped documents (what ``GET /networks/{id}`` shows, less
``Containers``, which is derived) in the store's ``networks`` table, with a
private ``Baleine`` section (the bridge's interface name, whether the subnet
was chosen automatically). Three are predefined, as with Docker: ``bridge``
(the default bridge, its subnet from ``--bip`` or the address pools), ``host``
and ``none``. Each bridge network's record also holds its IPAM state: an
allocator (:class:`Network.allocator`) that the endpoints take addresses from;
it is never stored, but rebuilt from the documents of running containers.

:class:`NetworkRecords` creates, removes, prunes, lists and inspects records,
and makes their bridges in the kernel (in a thread, under the host-wide lock);
it knows nothing of endpoints but what it reads in containers' documents
(:func:`endpoint_of`). After a network appears or goes, it calls the
``rules_changed`` coroutine it was given (the firewall, see ``firewall``).
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
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Interface
from typing import Any

from ...rules import filters as filters_mod
from ...rules.errors import Conflict, Forbidden, InvalidParameter, NotFound
from ...rules.timestamps import now_rfc3339nano, parse_rfc3339, parse_since
from ..containers.records import Container, Containers
from ..events import Events
from ..fieldtypes import BOOL, DICT, STR, check_fields
from ..store import Store, dumps
from . import bridge, daemon_tag, default_bridge_name, ipam
from .iptables import NetRules

SCHEMA = """CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL               -- Docker-shaped network document (see networks/records.py)
)"""
PREDEFINED = ("bridge", "host", "none")
log = logging.getLogger("baleine.networks")
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
    ip_forward: bool = True           # --ip-forward: host-wide IPv4 (and, with IPv6 networks, IPv6) forwarding
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
        self.allocator6: ipam.Allocator | None = None
        if self.subnet is not None:
            self.allocator = ipam.Allocator(self.subnet)
        if self.subnet6 is not None:
            self.allocator6 = ipam.Allocator(self.subnet6)

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
        """The IPv4 subnet (every bridge network has one)."""
        return self._config(4)

    @property
    def subnet6(self) -> ipam.Subnet | None:
        """The IPv6 subnet, for a network with ``EnableIPv6`` (None otherwise)."""
        return self._config(6) if self.doc.get("EnableIPv6") else None

    def _config(self, version: int) -> ipam.Subnet | None:
        for cfg in (self.doc.get("IPAM") or {}).get("Config") or []:
            sub = ipam.Subnet.from_doc(cfg)
            if sub.version == version:
                return sub
        return None

    def option(self, key: str, default: str = "") -> str:
        return str((self.doc.get("Options") or {}).get(key, default))

    def rules(self, settings: NetSettings) -> NetRules:
        sub, sub6 = self.subnet, self.subnet6
        assert sub is not None
        return NetRules(self.bridge_name, str(sub.subnet), str(sub.gateway), self.internal,
                        self.option(OPT_MASQ, "true") != "false" and settings.ip_masq,
                        self.option(OPT_ICC, "true") != "false",
                        str(sub6.subnet) if sub6 is not None else "")

    def public(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in self.doc.items() if k != "Baleine"}


def endpoint_of(c: Container, net: Network) -> dict[str, Any] | None:
    """``c``'s ``NetworkSettings.Networks`` entry for ``net`` (None if it has none,
    or an entry for an older network of the same name)."""
    nets = (c.doc.get("NetworkSettings") or {}).get("Networks") or {}
    ep = nets.get(net.name)
    if ep is not None and ep.get("NetworkID") in ("", net.id):
        return ep
    return None


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


class NetworkRecords:
    """The networks of one daemon: records, their bridges, their IPAM state (see module docstring)."""

    def __init__(self, store: Store, containers: Containers, events: Events, settings: NetSettings,
                 rules_changed: Callable[[], Awaitable[None]]) -> None:
        self.store = store
        self.containers = containers
        self.events = events
        self.settings = settings
        self.rules_changed = rules_changed
        self.tag = daemon_tag(settings.data_root)
        self.pools = [ipam.parse_pool(p) for p in settings.pools or [ipam.DEFAULT_POOLS]]
        self.by_id: dict[str, Network] = {}
        with store.tx() as db:
            db.execute(SCHEMA)
        for row in store.query("SELECT doc FROM networks"):
            net = Network(json.loads(row["doc"]))
            self.by_id[net.id] = net

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

    def alias(self, net_id: str) -> str:
        """The kernel alias of a network's bridge (how a restarted daemon knows its own)."""
        return f"{bridge.ALIAS_PREFIX}{self.tag}:net:{net_id[:12]}"

    def _our_subnets(self, but: str = "") -> list[Any]:
        """The subnets (both families) of this daemon's networks but ``but``."""
        return [s.subnet for n in self.by_id.values() if n.id != but
                for s in (n.subnet, n.subnet6) if s is not None]

    def _bridges(self) -> set[str]:
        return {n.bridge_name for n in self.by_id.values() if n.is_bridge}

    def inspect(self, net: Network) -> dict[str, Any]:
        """``GET /networks/{id}``: the record with the running containers on it."""
        out = net.public()
        members: dict[str, Any] = {}
        for c in self.containers.by_id.values():
            ep = endpoint_of(c, net)
            if ep is not None and ep.get("EndpointID"):
                members[c.id] = {"Name": c.name.lstrip("/"), "EndpointID": ep["EndpointID"],
                                 "MacAddress": ep.get("MacAddress", ""),
                                 "IPv4Address": f"{ep['IPAddress']}/{ep['IPPrefixLen']}" if ep.get("IPAddress")
                                 else "",
                                 "IPv6Address": f"{ep['GlobalIPv6Address']}/{ep['GlobalIPv6PrefixLen']}"
                                 if ep.get("GlobalIPv6Address") else ""}
        out["Containers"] = members
        return out

    def summary(self, net: Network) -> dict[str, Any]:
        """An item of ``GET /networks`` (docker lists no containers there)."""
        out = net.public()
        out["Containers"] = {}
        return out

    def active_users(self, net: Network) -> list[Container]:
        """Containers with a live endpoint on ``net``."""
        return [c for c in self.containers.by_id.values()
                if (endpoint_of(c, net) or {}).get("EndpointID")]

    # -- daemon start (in a thread, under host_lock) -------------------------------------

    def ensure_host(self) -> None:
        """Blocking: the predefined networks and the bridge of every bridge network."""
        with host_lock():
            self._ensure_predefined()
            for net in self.by_id.values():
                if net.is_bridge:
                    self._ensure_bridge(net)

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
        sub6 = net.subnet6
        mtu = int(net.option(OPT_MTU, str(self.settings.mtu)) or self.settings.mtu)
        bridge.ensure_bridge(net.bridge_name, IPv4Interface(f"{sub.gateway}/{sub.subnet.prefixlen}"), mtu,
                             self.alias(net.id),
                             IPv6Interface(f"{sub6.gateway}/{sub6.subnet.prefixlen}") if sub6 is not None else None)
        if sub6 is not None and not net.internal and self.settings.ip_forward:
            # The IPv6 network's way out, as dockerd's --ip-forward does for IPv6 networks.
            try:
                if bridge.enable_ipv6_forwarding():
                    log.warning("enabled IPv6 forwarding for network %s", net.name)
            except OSError as exc:
                log.warning("could not enable IPv6 forwarding: %s", exc)

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
        enable6 = bool(body.get("EnableIPv6"))
        cfg, cfg6 = self._split_configs([c for c in ipam_req.get("Config") or [] if c], enable6)
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
        doc["EnableIPv6"] = enable6
        doc["Baleine"] = {"bridge": br_name, "auto_subnet": not cfg.get("Subnet"),
                          "auto_subnet6": enable6 and not (cfg6 or {}).get("Subnet")}
        for item in (cfg, cfg6 or {}):
            if item.get("Subnet"):
                sub = ipam.subnet_from_request(item)
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
                if cfg6 is not None:
                    doc["IPAM"]["Config"].append(self._subnet6(cfg6).to_doc())
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
        await self.rules_changed()
        self.events.publish("network", "create", net.id, {"name": net.name, "type": net.driver})
        return net

    @staticmethod
    def _split_configs(configs: list[dict[str, Any]], enable6: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A create request's ``IPAM.Config`` as (its IPv4 item or {}, its IPv6 item,
        {} for an automatic one, or None without IPv6). At most one of each family;
        an IPv6 item needs ``EnableIPv6`` (API 1.47: IPv6 is enabled by that flag alone)."""
        v4 = [c for c in configs if not ipam.is_v6_config(c)]
        v6 = [c for c in configs if ipam.is_v6_config(c)]
        if v6 and not enable6:
            raise InvalidParameter(f"invalid network config: IPv6 subnet {v6[0].get('Subnet') or ''} given but IPv6 "
                                   "is not enabled on the network (EnableIPv6, docker network create --ipv6)")
        if len(v4) > 1:
            raise InvalidParameter("only one IPv4 subnet per network is supported")
        if len(v6) > 1:
            raise InvalidParameter("only one IPv6 subnet per network is supported")
        for item in v4 + v6:
            if not item.get("Subnet") and (item.get("Gateway") or item.get("IPRange")):
                raise InvalidParameter("invalid network config: a gateway or ip-range needs a subnet")
        cfg = v4[0] if v4 else {}
        return cfg, (v6[0] if v6 else {}) if enable6 else None

    def _subnet6(self, cfg6: dict[str, Any]) -> ipam.Subnet:
        """Blocking (reads host routes; under host_lock): the IPv6 subnet of a new
        network, the requested one or the first free /64 of the daemon's ULA pool."""
        if cfg6.get("Subnet"):
            return ipam.subnet_from_request(cfg6)
        taken = ipam.host_routes6(exclude=self._bridges()) + self._our_subnets()
        return ipam.subnet_from_request(cfg6, ipam.pick_subnet6(ipam.ula_pool(self.tag), taken))

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
        await self.rules_changed()
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
                    endpoint_of(c, net) is not None for c in self.containers.by_id.values())
                if f.bool_value("dangling") != dangling:
                    continue
            out.append(net)
        return out

