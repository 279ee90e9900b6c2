"""The embedded DNS server of user-defined networks.

Each container on a user-defined network gets ``nameserver 127.0.0.11`` in its
resolv.conf, as with Docker. The daemon binds a UDP and a TCP socket on
127.0.0.11:53 *inside the container's namespace* (a socket stays in the
namespace it was made in, so the daemon serves them from its own event loop
and knows which container asks by the socket the query came in on). The
server answers the names, aliases and short IDs of the containers on the
asker's networks (A, AAAA on networks with IPv6, and PTR for their addresses),
nothing of other networks,
and forwards every other name to the container's upstream servers (its
``--dns``, the daemon's ``--dns``, or the host's resolvers) from the host's
namespace; containers that are only on ``--internal`` networks get no
forwarding.

Port 53 is bound directly rather than redirected from a random port as
dockerd does, which needs no iptables rule in the container's namespace; the
cost is that a container process of its own cannot bind 127.0.0.11:53.

The message codec (:func:`parse_query`, :func:`answer`) is pure.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("baleine.dns")

ADDRESS = "127.0.0.11"
TTL = 600
TYPE_A, TYPE_PTR, TYPE_AAAA = 1, 12, 28
CLASS_IN = 1
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP = 0, 1, 2, 3, 4
FORWARD_TIMEOUT = 2.0


class Malformed(ValueError):
    """Not a DNS query this server can read."""


@dataclass
class Query:
    """The parts of a query a reply needs."""

    id: int
    flags: int
    name: str            # lower case, no trailing dot
    qtype: int
    qclass: int
    question: bytes      # the question section verbatim (echoed in replies)


def parse_query(data: bytes) -> Query:
    """Parse a DNS query message (first question only); Malformed if it is not one."""
    if len(data) < 12:
        raise Malformed("short message")
    qid, flags, qdcount = struct.unpack("!HHH", data[:6])
    if flags & 0x8000 or qdcount < 1:
        raise Malformed("not a query")
    labels, pos = [], 12
    while True:
        if pos >= len(data):
            raise Malformed("truncated name")
        length = data[pos]
        if length & 0xC0:
            raise Malformed("compressed question name")
        pos += 1
        if length == 0:
            break
        labels.append(data[pos:pos + length].decode("ascii", "replace"))
        pos += length
    if pos + 4 > len(data):
        raise Malformed("truncated question")
    qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
    return Query(qid, flags, ".".join(labels).lower(), qtype, qclass, data[12:pos + 4])


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.strip(".").split("."):
        if label:
            raw = label.encode("ascii", "replace")[:63]
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def answer(q: Query, rcode: int = NOERROR, addresses: list[str] | None = None,
           ptr: str | None = None, rdata: list[tuple[int, bytes]] | None = None, ttl: int = TTL) -> bytes:
    """A reply to ``q``: A (or, for IPv6 ones, AAAA) records for ``addresses`` or one PTR
    record, or just ``rcode``; ``rdata`` adds records of any type, as (type, encoded
    data), named as the question."""
    records = b""
    count = 0
    for rtype, data in rdata or []:
        records += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, ttl, len(data)) + data
        count += 1
    for addr in addresses or []:
        packed = ipaddress.ip_address(addr).packed
        rtype = TYPE_A if len(packed) == 4 else TYPE_AAAA
        records += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, ttl, len(packed)) + packed
        count += 1
    if ptr:
        target = _encode_name(ptr)
        records += struct.pack("!HHHIH", 0xC00C, TYPE_PTR, CLASS_IN, ttl, len(target)) + target
        count += 1
    # QR, the query's opcode and RD, RA; not authoritative (neither is dockerd's).
    flags = 0x8000 | (q.flags & 0x7900) | 0x0080 | (rcode & 0xF)
    return struct.pack("!HHHHHH", q.id, flags, 1, count, 0, 0) + q.question + records


def reverse_name(name: str) -> str | None:
    """``4.3.2.1.in-addr.arpa`` → ``1.2.3.4``, the 32 nibbles of an ``ip6.arpa`` name →
    the IPv6 address (compressed); None for anything else."""
    suffix = ".in-addr.arpa"
    if name.endswith(".ip6.arpa"):
        nibbles = name[:-len(".ip6.arpa")].split(".")
        if len(nibbles) != 32 or any(len(n) != 1 for n in nibbles):
            return None
        try:
            return str(ipaddress.IPv6Address(int("".join(reversed(nibbles)), 16)))
        except ValueError:
            return None
    if not name.endswith(suffix):
        return None
    parts = name[:-len(suffix)].split(".")
    if len(parts) != 4:
        return None
    try:
        return str(ipaddress.IPv4Address(".".join(reversed(parts))))
    except ValueError:
        return None


class Directory(Protocol):
    """What the server asks the network manager (for the asking container ``cid``)."""

    def lookup(self, cid: str, name: str) -> list[str] | None:
        """Addresses (IPv4 and IPv6) of ``name`` on the asker's networks, or None if it
        is no local name."""

    def reverse(self, cid: str, address: str) -> str | None:
        """The name of a container address on the asker's networks, or None."""

    def upstreams(self, cid: str) -> list[tuple[str, int]]:
        """Where to forward other names ([] for no forwarding)."""


def bind_sockets(address: str = ADDRESS) -> tuple[socket.socket, socket.socket]:
    """UDP and TCP sockets on ``address``:53 (127.0.0.11) in the calling thread's namespace."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind((address, 53))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((address, 53))
        tcp.listen(64)
        for s in (udp, tcp):
            s.setblocking(False)
            s.set_inheritable(False)
    except BaseException:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: Server, cid: str) -> None:
        self.server, self.cid = server, cid
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.server.spawn(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: Any) -> None:
        reply = await self.server.handle(self.cid, data, tcp=False)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)


class _Forward(asyncio.DatagramProtocol):
    def __init__(self, done: asyncio.Future[bytes], qid: bytes) -> None:
        self.done, self.qid = done, qid

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if data[:2] == self.qid and not self.done.done():
            self.done.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


@dataclass
class _Armed:
    udp: asyncio.DatagramTransport
    tcp: asyncio.AbstractServer


class Server:
    """Serves the sockets of every armed container on the daemon's event loop."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.armed: dict[str, _Armed] = {}
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def arm(self, cid: str, udp: socket.socket, tcp: socket.socket) -> None:
        """Start serving a container's two sockets (made by :func:`bind_sockets`)."""
        await self.disarm(cid)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self, cid), sock=udp)
        try:
            server = await asyncio.start_server(lambda r, w: self._tcp(cid, r, w), sock=tcp)
        except BaseException:
            transport.close()
            tcp.close()
            raise
        self.armed[cid] = _Armed(transport, server)

    async def disarm(self, cid: str) -> None:
        """Stop serving a container and close its sockets (they pin its namespace)."""
        armed = self.armed.pop(cid, None)
        if armed is None:
            return
        armed.udp.close()
        armed.tcp.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(armed.tcp.wait_closed(), 1)

    async def close(self) -> None:
        for cid in list(self.armed):
            await self.disarm(cid)
        for task in list(self.tasks):
            task.cancel()

    async def _tcp(self, cid: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), 10)
                data = await reader.readexactly(struct.unpack("!H", head)[0])
                reply = await self.handle(cid, data, tcp=True)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def handle(self, cid: str, data: bytes, tcp: bool) -> bytes | None:
        """The reply to one query from container ``cid`` (None: say nothing)."""
        try:
            q = parse_query(data)
        except Malformed:
            return None
        if q.qclass != CLASS_IN:
            return await self._forward(cid, q, data, tcp)
        if q.qtype == TYPE_PTR:
            ip = reverse_name(q.name)
            name = self.directory.reverse(cid, ip) if ip else None
            if name:
                return answer(q, ptr=name)
            return await self._forward(cid, q, data, tcp)
        addresses = self.directory.lookup(cid, q.name)
        if addresses is None:
            return await self._forward(cid, q, data, tcp)
        # A local name: its A or AAAA records (none of a family is an empty
        # answer, not a forward: resolvers asking AAAA first must not wait).
        wanted = {TYPE_A: 4, TYPE_AAAA: 6}.get(q.qtype)
        return answer(q, addresses=[a for a in addresses if ipaddress.ip_address(a).version == wanted])

    async def _forward(self, cid: str, q: Query, data: bytes, tcp: bool) -> bytes:
        upstreams = self.directory.upstreams(cid)
        if not upstreams:
            return answer(q, NXDOMAIN)
        for host, port in upstreams:
            try:
                if tcp:
                    return await asyncio.wait_for(_ask_tcp(host, port, data), FORWARD_TIMEOUT)
                return await _ask_udp(host, port, data)
            except (OSError, asyncio.TimeoutError) as exc:
                log.debug("DNS forward of %s to %s:%d failed: %s", q.name, host, port, exc)
        return answer(q, SERVFAIL)


async def _ask_udp(host: str, port: int, data: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Forward(done, data[:2]),
                                                       remote_addr=(host, port))
    try:
        transport.sendto(data)
        return await asyncio.wait_for(done, FORWARD_TIMEOUT)
    finally:
        transport.close()


async def _ask_tcp(host: str, port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack("!H", len(data)) + data)
        await writer.drain()
        head = await reader.readexactly(2)
        return await reader.readexactly(struct.unpack("!H", head)[0])
    finally:
        writer.close()


def host_resolvers(path: str = "/etc/resolv.conf") -> list[str]:
    """The host's nameservers (loopback ones included: forwarding runs on the host)."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    out.append(parts[1])
    except OSError:
        pass
    return out
