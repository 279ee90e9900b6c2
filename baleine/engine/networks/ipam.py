"""IP address management: a network's subnet, gateway and range, address pools,
and an allocator that never hands out an address twice.

Everything here is pure (arithmetic on :mod:`ipaddress` values, IPv4 and
IPv6 alike) except :func:`host_routes` and :func:`host_routes6`, which read the
host's routing tables so that automatically chosen subnets never collide with
something the host already reaches. Errors use moby's wording.

IPv6 subnets come from the request or, for ``EnableIPv6`` without one, from a
unique local /48 of the daemon's own (:func:`ula_pool`, derived from its tag,
as dockerd 27 derives one from its host ID), cut into /64s.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, Union

from ...rules.errors import Forbidden, InvalidParameter, Unavailable

#: Where networks without an explicit subnet come from, as dockerd's
#: ``--default-address-pool base=…,size=…``. Docker uses 172.17.0.0/16 and up;
#: 10.210.0.0/16 split into /24s stays clear of it (and of podman's 10.88/10.89).
DEFAULT_POOLS = "base=10.210.0.0/16,size=24"

#: An address or a subnet of either family.
IPAddress = Union[IPv4Address, IPv6Address]
IPNetwork = Union[IPv4Network, IPv6Network]

#: the size of automatic IPv6 subnets (dockerd's default pools hand out /64s)
IPV6_AUTO_PREFIX = 64


@dataclass(frozen=True)
class Pool:
    """A block that automatic subnets of ``size`` bits are cut from."""

    base: IPv4Network
    size: int


def parse_pool(spec: str) -> Pool:
    """``base=10.210.0.0/16,size=24`` → Pool; InvalidParameter when malformed."""
    fields: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in ("base", "size"):
            raise InvalidParameter(f"invalid default address pool: {spec!r} (want base=CIDR,size=N)")
        fields[key.strip()] = value.strip()
    if "base" not in fields or "size" not in fields:
        raise InvalidParameter(f"invalid default address pool: {spec!r} (want base=CIDR,size=N)")
    base = parse_subnet(fields["base"])
    try:
        size = int(fields["size"])
    except ValueError:
        raise InvalidParameter(f"invalid default address pool size: {fields['size']!r}") from None
    if not base.prefixlen <= size <= 30:
        raise InvalidParameter(f"invalid default address pool: size {size} does not fit in {base}")
    return Pool(base, size)


def parse_subnet(text: str, allow_v6: bool = True) -> IPNetwork:
    """A CIDR in canonical form (either family unless ``allow_v6`` is false);
    InvalidParameter otherwise (moby's messages)."""
    try:
        iface = ipaddress.ip_interface(text.strip())
    except ValueError:
        raise InvalidParameter(f"invalid CIDR address: {text}") from None
    if iface.version != 4 and not allow_v6:
        raise InvalidParameter(f"invalid CIDR address: {text}: an IPv4 subnet is expected")
    if "/" not in text:
        raise InvalidParameter(f"invalid CIDR address: {text}")
    net = iface.network
    if iface.ip != net.network_address:
        raise InvalidParameter(f"invalid subnet {text}: it should be {net}")
    return net  # type: ignore[return-value]


def parse_address(text: str, what: str = "IP address", version: int | None = 4) -> IPAddress:
    """An address of the family ``version`` (4, 6, or None for either);
    InvalidParameter when malformed or of the other family."""
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        raise InvalidParameter(f"invalid {what}: {text}") from None
    if version is not None and addr.version != version:
        raise InvalidParameter(f"invalid {what}: {text}: an IPv{version} address is expected")
    return addr


@dataclass
class Subnet:
    """One IPAM config of a network: the subnet, its gateway (the bridge's address),
    the range dynamic addresses come from, and reserved auxiliary addresses."""

    subnet: IPNetwork
    gateway: IPAddress
    ip_range: IPNetwork | None = None
    aux: dict[str, IPAddress] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return self.subnet.version

    def to_doc(self) -> dict[str, Any]:
        """Docker's ``IPAM.Config`` item."""
        out: dict[str, Any] = {"Subnet": str(self.subnet), "Gateway": str(self.gateway)}
        if self.ip_range is not None:
            out["IPRange"] = str(self.ip_range)
        if self.aux:
            out["AuxiliaryAddresses"] = {k: str(v) for k, v in self.aux.items()}
        return out

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Subnet:
        return cls(ipaddress.ip_network(doc["Subnet"]), ipaddress.ip_address(doc["Gateway"]),
                   ipaddress.ip_network(doc["IPRange"]) if doc.get("IPRange") else None,
                   {k: ipaddress.ip_address(v) for k, v in (doc.get("AuxiliaryAddresses") or {}).items()})


def is_v6_config(cfg: dict[str, Any]) -> bool:
    """Whether an ``IPAM.Config`` item is about IPv6 (its subnet, or else its gateway
    or range, is an IPv6 one)."""
    for key in ("Subnet", "Gateway", "IPRange"):
        if cfg.get(key):
            return ":" in str(cfg[key])
    return False


def subnet_from_request(cfg: dict[str, Any], auto: IPNetwork | None = None) -> Subnet:
    """Validate one ``IPAM.Config`` item of a network create request.

    ``auto`` is the subnet to use when the item names none (chosen by the
    caller from the pools). Raises InvalidParameter with moby's messages for a
    malformed subnet, a gateway, range or auxiliary address outside the subnet.
    """
    if cfg.get("Subnet"):
        subnet = parse_subnet(cfg["Subnet"])
    elif auto is not None:
        subnet = auto
    else:
        raise InvalidParameter("invalid network config: a subnet is required")
    if subnet.prefixlen > subnet.max_prefixlen - 2:
        raise InvalidParameter(f"invalid subnet {subnet}: it is too small to hold any container")
    errors = []
    ip_range = None
    if cfg.get("IPRange"):
        ip_range = parse_subnet(cfg["IPRange"])
        if ip_range.version != subnet.version or not ip_range.subnet_of(subnet):  # type: ignore[arg-type]
            errors.append(f"invalid ip-range {ip_range}: parent subnet {subnet} doesn't contain ip-range")
    if cfg.get("Gateway"):
        gateway = parse_address(cfg["Gateway"], "gateway", None)
        if gateway not in subnet:
            errors.append(f"invalid gateway {gateway}: parent subnet {subnet} doesn't contain this address")
    else:
        gateway = subnet.network_address + 1
    aux: dict[str, IPAddress] = {}
    for name, text in (cfg.get("AuxiliaryAddresses") or cfg.get("AuxAddress") or {}).items():
        addr = parse_address(text, "auxiliary address", None)
        if addr not in subnet:
            errors.append(f"invalid auxiliary address {name}: parent subnet {subnet} doesn't contain this address")
        aux[name] = addr
    if errors:
        raise InvalidParameter("invalid network config:\n" + "\n".join(errors))
    return Subnet(subnet, gateway, ip_range, aux)


def check_overlap(new: IPNetwork, existing: list[IPNetwork]) -> None:
    """Forbidden (moby's 403) when ``new`` overlaps a subnet (of its family) this daemon already uses."""
    for other in existing:
        if other.version == new.version and new.overlaps(other):  # type: ignore[arg-type]
            raise Forbidden("invalid pool request: Pool overlaps with other one on this address space")


def pick_subnet(pools: list[Pool], taken: list[IPNetwork]) -> IPv4Network:
    """The first subnet of the pools overlapping nothing in ``taken``.

    Raises Unavailable with docker's message when every candidate is taken.
    """
    taken4 = [t for t in taken if t.version == 4]
    for pool in pools:
        for candidate in pool.base.subnets(new_prefix=pool.size):
            if not any(candidate.overlaps(t) for t in taken4):  # type: ignore[arg-type]
                return candidate
    raise Unavailable("could not find an available, non-overlapping IPv4 address pool among the defaults to "
                      "assign to the network")


def ula_pool(tag: str) -> IPv6Network:
    """The daemon's unique local /48 (RFC 4193: ``fd`` and a 40-bit global ID), the
    global ID taken from its tag (eight hex digits) so that it is stable per data
    root and differs between daemons sharing a host."""
    global_id = int(tag, 16) << 8 | (int(tag[:2], 16) ^ 0x5A)
    return IPv6Network(((0xFD << 120) | (global_id << 80), 48))


def pick_subnet6(base: IPv6Network, taken: list[IPNetwork], size: int = IPV6_AUTO_PREFIX) -> IPv6Network:
    """The first /``size`` of ``base`` overlapping nothing in ``taken`` (Unavailable
    with dockerd's message when there is none)."""
    taken6 = [t for t in taken if t.version == 6]
    for candidate in base.subnets(new_prefix=size):
        if not any(candidate.overlaps(t) for t in taken6):  # type: ignore[arg-type]
            return candidate
    raise Unavailable("could not find an available, non-overlapping IPv6 address pool among the defaults to "
                      "assign to the network")


def host_routes(path: str = "/proc/net/route", exclude: set[str] | None = None) -> list[IPv4Network]:
    """The destinations the host routes to (default routes aside), as networks.

    Routes through the interfaces in ``exclude`` are left out (a daemon's own
    bridges must not make it avoid its own subnets).
    """
    out: list[IPv4Network] = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        cols = line.split()
        if len(cols) < 8 or (exclude and cols[0] in exclude):
            continue
        dest = IPv4Address(int(cols[1], 16).to_bytes(4, "little"))
        mask = IPv4Address(int(cols[7], 16).to_bytes(4, "little"))
        if int(mask) == 0:
            continue
        out.append(IPv4Network(f"{dest}/{mask}", strict=False))
    return out


def host_routes6(path: str = "/proc/net/ipv6_route", exclude: set[str] | None = None) -> list[IPv6Network]:
    """The IPv6 destinations the host routes to, but default, link-local, multicast
    and host routes and routes through ``exclude`` (see :func:`host_routes`)."""
    out: list[IPv6Network] = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        cols = line.split()
        if len(cols) < 10 or (exclude and cols[9] in exclude):
            continue
        plen = int(cols[1], 16)
        if plen == 0 or plen == 128:
            continue
        net = IPv6Network((int(cols[0], 16), plen), strict=False)
        if net.is_link_local or net.is_multicast:
            continue
        out.append(net)
    return out


class Allocator:
    """The addresses in use on one network.

    Dynamic addresses come from the range (or the subnet) in sequence, going on
    after the last one handed out rather than reusing a just-freed address
    (stale ARP entries and connections of a container that just stopped must
    not reach a new one). The network and broadcast addresses, the gateway and
    auxiliary addresses are never handed out; an address is never in use twice.
    """

    def __init__(self, subnet: Subnet) -> None:
        self.subnet = subnet
        net = subnet.subnet
        self.reserved = {int(net.network_address), int(net.broadcast_address), int(subnet.gateway)}
        self.reserved |= {int(a) for a in subnet.aux.values()}
        rng = subnet.ip_range or net
        self.first = max(int(rng.network_address), int(net.network_address) + 1)
        self.last = min(int(rng.broadcast_address), int(net.broadcast_address) - 1)
        self.used: set[int] = set()
        self.cursor = self.first - 1

    def reserve(self, addr: IPAddress) -> None:
        """Take a specific address (``--ip``, or re-adoption after a restart).

        InvalidParameter if outside the subnet, Conflict-like Forbidden if in use.
        """
        value = int(addr)
        if addr.version != self.subnet.version or addr not in self.subnet.subnet:
            raise InvalidParameter(f"no configured subnet or ip-range contain the IP address {addr}")
        if value in self.used or value in self.reserved:
            raise Forbidden("Address already in use")
        self.used.add(value)

    def allocate(self) -> IPAddress:
        """The next free address after the last one handed out; Unavailable when full."""
        span = self.last - self.first + 1
        for step in range(1, span + 1):
            value = self.first + (self.cursor - self.first + step) % span
            if value not in self.used and value not in self.reserved:
                self.used.add(value)
                self.cursor = value
                return ipaddress.ip_address(value) if self.subnet.version == 4 else IPv6Address(value)
        raise Unavailable(f"no available IPv{self.subnet.version} addresses on this network's address pools")

    def release(self, addr: IPAddress | str) -> None:
        self.used.discard(int(ipaddress.ip_address(addr)))

    def in_use(self, addr: IPAddress | str) -> bool:
        return int(ipaddress.ip_address(addr)) in self.used


def mac_for(addr: IPAddress) -> str:
    """Docker's classic MAC for an address: 02:42 followed by the four bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)
