"""Published TCP ports on IPv6: a proxy from ``[::]:PORT`` to the container's IPv4
address, as dockerd's userland proxy (docker-proxy) serves them.

The kernel forwards published ports on IPv4 (iptables DNAT, see ``iptables``),
but containers here have IPv4 addresses only, and no ip6tables rule can send an
IPv6 connection to an IPv4 address. So ``-p 8080:80`` also holds ``[::]:8080``
(``ports.PortTable``) and this proxy accepts there and relays the bytes to the
container, so that clients resolving ``localhost`` to ``::1`` connect, as they do
with dockerd. It runs on the daemon's event loop: every read is at most
``CHUNK`` bytes and every write awaits the peer (``drain``), so no callback holds
the loop and a slow peer slows only its own connection. UDP and SCTP are
published on IPv4 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

log = logging.getLogger("baleine.networks")

#: bytes relayed per read
CHUNK = 64 << 10


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


async def serve(sock: socket.socket, target_ip: str, target_port: int) -> asyncio.AbstractServer:
    """Accept on the listening ``sock`` and relay every connection to
    ``target_ip:target_port``. Closing the returned server closes ``sock``."""
    sock.setblocking(False)
    target = (target_ip, target_port)
    return await asyncio.start_server(lambda r, w: _relay(r, w, target), sock=sock)


def bind_ipv6(port: int) -> socket.socket | None:
    """A listening TCP socket on ``[::]:port`` for IPv6 only (the IPv4 side is the
    kernel's), or None when the host has no IPv6 or the port is taken there."""
    if not socket.has_ipv6:
        return None
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::", port))
        sock.listen(128)
    except OSError as exc:
        log.info("not publishing port %d on IPv6: %s", port, exc.strerror or exc)
        sock.close()
        return None
    sock.set_inheritable(False)
    return sock
