"""Taking over an HTTP connection for attach and exec (Docker's "hijacked" stream).

The client asks with ``Connection: Upgrade`` / ``Upgrade: tcp``; the server answers
``101 UPGRADED`` and from then on the socket carries raw bytes both ways. Without
the upgrade headers Docker answers ``200 OK`` and does the same. The client may
half-close its side (``CloseWrite`` when its stdin ends) and still read output, so
the aiohttp protocol is swapped for one that keeps the transport open on EOF.

Output framing: without a TTY, stdout and stderr are multiplexed in frames of
``[stream, 0, 0, 0, size (4 bytes big endian)] + payload``; with a TTY the bytes
are sent raw.
"""

from __future__ import annotations

import asyncio
import struct

from aiohttp import web

from .. import API_VERSION
from .responses import NoResponse

RAW = "application/vnd.docker.raw-stream"
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
STDIN, STDOUT, STDERR = 0, 1, 2


def mux(stream: int, data: bytes) -> bytes:
    """One multiplexed frame."""
    return struct.pack(">BxxxL", stream, len(data)) + data


class _RawProtocol(asyncio.Protocol):
    def __init__(self, old: asyncio.Protocol, transport: asyncio.Transport) -> None:
        self.old = old
        self.transport = transport
        self.reader = asyncio.StreamReader(limit=1 << 20)
        self.closed = asyncio.get_running_loop().create_future()
        self._can_write = asyncio.Event()
        self._can_write.set()

    def data_received(self, data: bytes) -> None:
        self.reader.feed_data(data)

    def eof_received(self) -> bool:
        self.reader.feed_eof()
        return True  # keep the write side open: the client still reads output

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.reader.feed_eof()
        self._can_write.set()
        if not self.closed.done():
            self.closed.set_result(None)
        # Let aiohttp release what it holds for this connection.
        try:
            self.old.connection_lost(exc)
        except Exception:  # noqa: BLE001 - aiohttp internals, best effort
            pass


class Hijacked:
    """A raw bidirectional stream taken over from an aiohttp request."""

    def __init__(self, request: web.Request, tty: bool) -> None:
        self.request = request
        self.tty = tty
        self._proto: _RawProtocol | None = None

    async def start(self) -> None:
        """Send the 101 (or 200) head and take over the socket."""
        request = self.request
        transport = request.transport
        assert transport is not None
        old = request.protocol
        old.keep_alive(False)
        proto = _RawProtocol(old, transport)
        transport.set_protocol(proto)
        tail = getattr(old, "_message_tail", b"")
        if tail:
            proto.reader.feed_data(tail)
            old._message_tail = b""  # type: ignore[attr-defined]
        self._proto = proto
        upgrade = request.headers.get("Upgrade", "").lower() == "tcp"
        ctype = RAW if self.tty else MULTIPLEXED
        if upgrade:
            head = ("HTTP/1.1 101 UPGRADED\r\n"
                    f"Content-Type: {ctype}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n")
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n"
        head += f"Api-Version: {API_VERSION}\r\nOstype: linux\r\nServer: Baleine\r\n\r\n"
        transport.write(head.encode())

    async def read(self, n: int = 65536) -> bytes:
        """Bytes from the client; b"" once it has closed (or half-closed) its side."""
        assert self._proto is not None
        try:
            return await self._proto.reader.read(n)
        except (ConnectionError, asyncio.IncompleteReadError):
            return b""

    async def write(self, data: bytes, stream: int = STDOUT) -> None:
        """Send output (framed unless TTY); silently dropped once the client is gone."""
        proto = self._proto
        if proto is None or proto.transport.is_closing():
            return
        proto.transport.write(data if self.tty else mux(stream, data))
        await proto._can_write.wait()

    @property
    def closed(self) -> bool:
        return self._proto is None or self._proto.transport.is_closing()

    async def wait_closed(self) -> None:
        assert self._proto is not None
        await self._proto.closed

    def close(self) -> None:
        if self._proto is not None and not self._proto.transport.is_closing():
            self._proto.transport.close()

    def response(self) -> web.StreamResponse:
        """What the handler returns to aiohttp once the stream is over."""
        return NoResponse()
