"""Published TCP and UDP ports on IPv6: a proxy from ``[::]:PORT`` to the container's IPv4
address, as dockerd's userland proxy (docker-proxy) serves them.

The kernel forwards published ports on IPv4 (iptables DNAT, see ``iptables``),
but containers here have IPv4 addresses only, and no ip6tables rule can send an
IPv6 connection to an IPv4 address. So ``-p 8080:80`` also holds ``[::]:8080``
(``ports.PortTable``) and this proxy accepts there and relays the bytes to the
container, so that clients resolving ``localhost`` to ``::1`` connect, as they do
with dockerd. It runs on the daemon's event loop: every read is at most
``CHUNK`` bytes and every write awaits the peer (``drain``), so no callback holds
the loop and a slow peer slows only its own connection. UDP is relayed too
(:class:`UdpRelay`: one upstream socket per client address, as docker-proxy does,
forgotten after ``UDP_IDLE`` seconds of silence); SCTP is published on IPv4 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any

log = logging.getLogger("baleine.networks")

#: bytes relayed per read
CHUNK = 64 << 10
#: seconds a UDP client's flow lives without traffic (docker-proxy's UDPConnTrackTimeout)
UDP_IDLE = 90.0


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Copy until EOF, then half-close the other side (a shutdown travels through);
    False when a side failed (reset, gone), so that the other direction is dropped."""
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        return True
    except (ConnectionError, OSError):
        return False


async def _relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, target: tuple[str, int]) -> None:
    try:
        up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*target), 10)
    except (OSError, asyncio.TimeoutError) as exc:
        log.debug("ipv6 proxy: cannot reach %s:%d: %s", target[0], target[1], exc)
        client_w.close()
        return
    pumps = {asyncio.ensure_future(_pump(client_r, up_w)), asyncio.ensure_future(_pump(up_r, client_w))}
    try:
        while pumps:
            done, pumps = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            if not all(task.result() for task in done):
                break  # a reset on one side ends both: nothing waits forever on the other
    finally:
        for task in pumps:
            task.cancel()
        for w in (client_w, up_w):
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()


class _Upstream(asyncio.DatagramProtocol):
    """One client's flow towards the container: replies go back to the client."""

    def __init__(self, relay: UdpRelay, client: Any) -> None:
        self.relay, self.client = relay, client
        self.transport: asyncio.DatagramTransport | None = None
        self.last = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.last = time.monotonic()
        if self.relay.transport is not None:
            self.relay.transport.sendto(data, self.client)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp proxy: %s", exc)


class UdpRelay(asyncio.DatagramProtocol):
    """Datagrams on ``[::]:PORT`` relayed to the container's IPv4 address, each client
    address with an upstream socket of its own so that replies find their client.
    ``close()`` closes the listening socket and every flow."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self.flows: dict[Any, _Upstream] = {}
        self.pending: dict[Any, list[bytes]] = {}
        self.reaper: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.reaper = asyncio.ensure_future(self._reap())

    def datagram_received(self, data: bytes, addr: Any) -> None:
        flow = self.flows.get(addr)
        if flow is not None and flow.transport is not None:
            flow.last = time.monotonic()
            flow.transport.sendto(data)
        elif addr in self.pending:
            self.pending[addr].append(data)  # the flow is being opened
        else:
            self.pending[addr] = [data]
            asyncio.ensure_future(self._open(addr))

    async def _open(self, addr: Any) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, flow = await loop.create_datagram_endpoint(lambda: _Upstream(self, addr), remote_addr=self.target)
        except OSError as exc:
            log.debug("udp proxy: cannot reach %s:%d: %s", self.target[0], self.target[1], exc)
            self.pending.pop(addr, None)
            return
        if self.transport is None:  # closed meanwhile
            flow.transport.close()  # type: ignore[union-attr]
            return
        self.flows[addr] = flow
        for data in self.pending.pop(addr, []):
            flow.transport.sendto(data)  # type: ignore[union-attr]

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(UDP_IDLE / 3)
            now = time.monotonic()
            for addr, flow in list(self.flows.items()):
                if now - flow.last > UDP_IDLE and flow.transport is not None:
                    flow.transport.close()
                    del self.flows[addr]

    def close(self) -> None:
        if self.reaper is not None:
            self.reaper.cancel()
        for flow in self.flows.values():
            if flow.transport is not None:
                flow.transport.close()
        self.flows.clear()
        if self.transport is not None:
            self.transport.close()
            self.transport = None


async def serve(sock: socket.socket, target_ip: str, target_port: int) -> Any:
    """Relay what arrives on ``sock`` (a listening TCP socket or a bound UDP one) to
    ``target_ip:target_port``; the returned object's ``close()`` closes ``sock``."""
    sock.setblocking(False)
    target = (target_ip, target_port)
    if sock.type == socket.SOCK_DGRAM:
        _, relay = await asyncio.get_running_loop().create_datagram_endpoint(lambda: UdpRelay(target), sock=sock)
        return relay
    return await asyncio.start_server(lambda r, w: _relay(r, w, target), sock=sock)


def bind_ipv6(port: int, proto: str = "tcp") -> socket.socket | None:
    """A listening TCP (or bound UDP) socket on ``[::]:port`` for IPv6 only (the IPv4
    side is the kernel's), or None when the host has no IPv6 or the port is taken there."""
    if not socket.has_ipv6:
        return None
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::", port))
        if proto != "udp":
            sock.listen(128)
    except OSError as exc:
        log.info("not publishing port %d on IPv6: %s", port, exc.strerror or exc)
        sock.close()
        return None
    sock.set_inheritable(False)
    return sock
