"""Published ports: ``HostConfig.PortBindings`` and ``PublishAllPorts``, host port
reservation, and Docker's shapes of the result.

The kernel forwards published ports (iptables DNAT, see ``iptables``); no byte
goes through the daemon. The daemon still *holds* every published host port
with a socket of its own, as dockerd does, so that a port already used on the
host is a clear error at start and nothing else can take it while the container
runs. A TCP socket listens (so no other process can bind the port even with
SO_REUSEADDR) but never receives a connection: DNAT rewrites every packet sent
to a local address before a socket could see it. The one exception is IPv6: a
binding on every address also holds ``[::]:PORT``, whose connections
``portproxy`` relays to the container (containers have IPv4 addresses only).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from ...rules.errors import EngineError, InvalidParameter
from . import portproxy

PROTOCOLS = ("tcp", "udp", "sctp")
#: the host address of a binding's IPv6 side, as dockerd shows it
IPV6_ANY = "::"


@dataclass(frozen=True)
class Wanted:
    """One requested binding: container port/proto → host ip and port (or range)."""

    port: int
    proto: str
    host_ip: str       # "" means every address (0.0.0.0)
    host_lo: int       # 0: any free port
    host_hi: int


@dataclass
class Mapping:
    """One binding in force, with the socket that holds its host port."""

    port: int
    proto: str
    host_ip: str
    host_port: int
    sock: socket.socket | None = None
    #: the IPv6 side's proxy server (``portproxy``), which owns ``sock`` once serving
    proxy: Any = None

    @property
    def ipv6(self) -> bool:
        """Whether this is the ``[::]`` side of a binding (proxied, no DNAT rule)."""
        return ":" in self.host_ip

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
            self.proxy = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def split_port(key: str) -> tuple[int, str]:
    """``"80/tcp"`` (or ``"80"``) → (80, "tcp"); InvalidParameter when malformed."""
    port, _, proto = str(key).partition("/")
    proto = (proto or "tcp").lower()
    try:
        number = int(port)
    except ValueError:
        raise InvalidParameter(f"invalid port specification: \"{key}\"") from None
    if not 0 < number <= 65535 or proto not in PROTOCOLS:
        raise InvalidParameter(f"invalid port specification: \"{key}\"")
    return number, proto


def _host_range(text: str, key: str) -> tuple[int, int]:
    text = (text or "").strip()
    if not text:
        return 0, 0
    lo_s, _, hi_s = text.partition("-")
    try:
        lo, hi = int(lo_s), int(hi_s or lo_s)
    except ValueError:
        raise InvalidParameter(f"invalid hostPort: {text}") from None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or hi < lo:
        raise InvalidParameter(f"invalid hostPort: {text}")
    return lo, hi


def wanted_bindings(host_config: dict[str, Any], exposed: dict[str, Any] | None,
                    default_ip: str = "") -> list[Wanted]:
    """The bindings a container asks for: its PortBindings, plus a random host port
    for every exposed port not bound otherwise when PublishAllPorts is set.

    Raises InvalidParameter for malformed ports or host addresses.
    """
    out: list[Wanted] = []
    bound: set[tuple[int, str]] = set()
    for key, items in (host_config.get("PortBindings") or {}).items():
        port, proto = split_port(key)
        for item in items or [{}]:
            item = item or {}
            ip = (item.get("HostIp") or default_ip or "").strip()
            if ip:
                try:
                    addr = ipaddress.ip_address(ip)
                except ValueError:
                    raise InvalidParameter(f"invalid IP address: {ip}") from None
                if addr.version == 6:
                    # IPv6 publishing needs ip6tables rules this daemon does not
                    # make; an IPv6 binding is skipped as dockerd skips it when
                    # IPv6 is disabled.
                    continue
            lo, hi = _host_range(item.get("HostPort") or "", key)
            out.append(Wanted(port, proto, ip, lo, hi))
            bound.add((port, proto))
    if host_config.get("PublishAllPorts"):
        for key in sorted(exposed or {}, key=lambda k: split_port(k)):
            port, proto = split_port(key)
            if (port, proto) not in bound:
                out.append(Wanted(port, proto, default_ip, 0, 0))
    return out


def _overlaps(ip_a: str, ip_b: str) -> bool:
    return ip_a in ("", "0.0.0.0") or ip_b in ("", "0.0.0.0") or ip_a == ip_b


def _bind(proto: str, ip: str, port: int) -> socket.socket:
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    proto_num = socket.IPPROTO_SCTP if proto == "sctp" else 0
    sock = socket.socket(socket.AF_INET, kind, proto_num)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip or "0.0.0.0", port))
        if kind == socket.SOCK_STREAM:
            sock.listen(1)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


class PortTable:
    """Every host port this daemon holds, and for which container."""

    def __init__(self) -> None:
        self.held: dict[str, list[Mapping]] = {}

    def _owner(self, proto: str, ip: str, port: int) -> str | None:
        for cid, maps in self.held.items():
            for m in maps:
                if m.proto == proto and m.host_port == port and _overlaps(m.host_ip, ip):
                    return cid
        return None

    def reserve(self, cid: str, endpoint: str, wanted: list[Wanted],
                fixed: dict[tuple[int, str, str], int] | None = None) -> list[Mapping]:
        """Hold a host port for each wanted binding (all or none) for container ``cid``.

        ``fixed`` gives host ports to take again (re-adoption after a restart). A
        binding (TCP or UDP) on every address also holds the same port on ``[::]`` (a Mapping of
        its own, host IP ``::``, for ``portproxy`` to serve) when the host has IPv6.
        Raises EngineError in dockerd's words when a port is taken: by another
        container ("port is already allocated") or by another process on the host.
        """
        made: list[Mapping] = []
        try:
            for w in wanted:
                m = self._reserve_one(cid, endpoint, w, (fixed or {}).get((w.port, w.proto, w.host_ip)))
                made.append(m)
                if w.proto in ("tcp", "udp") and not w.host_ip:
                    # Every address means IPv6's too, as with dockerd: the same port
                    # on [::], served by portproxy (skipped without IPv6 on the host).
                    sock6 = portproxy.bind_ipv6(m.host_port, w.proto)
                    if sock6 is not None:
                        made.append(Mapping(w.port, w.proto, IPV6_ANY, m.host_port, sock6))
        except BaseException:
            for m in made:
                m.close()
            raise
        self.held.setdefault(cid, []).extend(made)
        return made

    def _reserve_one(self, cid: str, endpoint: str, w: Wanted, fixed: int | None) -> Mapping:
        shown_ip = w.host_ip or "0.0.0.0"
        prefix = f"driver failed programming external connectivity on endpoint {endpoint}"
        if fixed:
            candidates = [fixed]
        elif w.host_lo == 0:
            candidates = [0]
        else:
            candidates = list(range(w.host_lo, w.host_hi + 1))
        last_error = ""
        for port in candidates:
            if port and self._owner(w.proto, w.host_ip, port) is not None:
                last_error = f"Bind for {shown_ip}:{port} failed: port is already allocated"
                continue
            try:
                sock = _bind(w.proto, w.host_ip, port)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                if exc.errno == 98:
                    reason = "address already in use"
                elif exc.errno == 99:
                    reason = "cannot assign requested address"
                last_error = f"failed to bind host port for {shown_ip}:{port}:{w.port}/{w.proto}: {reason}"
                continue
            return Mapping(w.port, w.proto, w.host_ip or "0.0.0.0", sock.getsockname()[1], sock)
        raise EngineError(f"{prefix}: {last_error}")

    def release(self, cid: str) -> list[Mapping]:
        """Give back every host port held for ``cid``; return what was held."""
        maps = self.held.pop(cid, [])
        for m in maps:
            m.close()
        return maps

    def close(self) -> None:
        for cid in list(self.held):
            self.release(cid)


def ports_doc(exposed: dict[str, Any] | None, maps: list[Mapping]) -> dict[str, Any]:
    """``NetworkSettings.Ports``: every exposed or published port, with its bindings
    (null for an exposed port that is not published)."""
    out: dict[str, Any] = {}
    for key in exposed or {}:
        port, proto = split_port(key)
        out[f"{port}/{proto}"] = None
    for m in maps:
        key = f"{m.port}/{m.proto}"
        if out.get(key) is None:
            out[key] = []
        out[key].append({"HostIp": m.host_ip, "HostPort": str(m.host_port)})
    return out


def ports_list(ports: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``Ports`` column of ``GET /containers/json`` from ``NetworkSettings.Ports``."""
    out: list[dict[str, Any]] = []
    for key, bindings in ports.items():
        port, proto = split_port(key)
        if not bindings:
            out.append({"PrivatePort": port, "Type": proto})
            continue
        for b in bindings:
            out.append({"IP": b.get("HostIp") or "0.0.0.0", "PrivatePort": port,
                        "PublicPort": int(b.get("HostPort") or 0), "Type": proto})
    return out
