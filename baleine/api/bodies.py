"""Blocking file objects over aiohttp bodies, for work done in threads (tar, load,
save, build contexts) while the event loop keeps serving.

``BodyReader`` reads the request body; ``ResponseWriter`` feeds a streamed
response. Both hand each operation to the loop with ``run_coroutine_threadsafe``
and must only be used from a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


class BodyReader:
    """A blocking reader over a request body (``head`` is data already read)."""

    def __init__(self, request: web.Request, loop: asyncio.AbstractEventLoop, head: bytes = b"") -> None:
        self.content = request.content
        self.loop = loop
        self.buf = head
        self.eof = False

    def _next(self) -> bytes:
        chunk = asyncio.run_coroutine_threadsafe(self.content.readany(), self.loop).result()
        if not chunk:
            self.eof = True
        return chunk

    def read(self, n: int = -1) -> bytes:
        """``n`` bytes when available (fewer only at the end); all the rest for n < 0."""
        if n is None or n < 0:
            parts = [self.buf]
            self.buf = b""
            while not self.eof:
                parts.append(self._next())
            return b"".join(parts)
        while len(self.buf) < n and not self.eof:
            self.buf += self._next()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


class ResponseWriter:
    """A blocking writer feeding a prepared streamed response, 1 MiB at a time."""

    def __init__(self, resp: web.StreamResponse, loop: asyncio.AbstractEventLoop) -> None:
        self.resp = resp
        self.loop = loop
        self.buf = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.buf += data
        if len(self.buf) >= 1 << 20:
            self.flush()
        return len(data)

    def flush(self) -> None:
        """Send what is buffered; raises ConnectionError once the client is gone."""
        if self.buf:
            data, self.buf = bytes(self.buf), bytearray()
            asyncio.run_coroutine_threadsafe(self.resp.write(data), self.loop).result()
