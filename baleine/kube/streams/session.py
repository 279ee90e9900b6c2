"""A streaming request's WebSocket, once accepted: the subprotocol it speaks, the
client's binary messages in order, serialised sends, one close.

Contracts:

- :func:`websocket_protocol` decides before anything is sent: 400 ``Upgrade
  request required`` when the request is not a WebSocket upgrade (kubectl then
  falls back to SPDY, which these subresources do not serve: its error is the
  same), 400 when the client offers none of the ``served`` subprotocols;
- :meth:`Session.accept` completes the handshake with that subprotocol and starts
  reading at once (control frames are answered while nobody asks for data:
  client-go pings every few seconds and gives up without pongs);
- :meth:`Session.receive` returns the next binary message, None once the client
  has closed (or after ``timeout`` seconds when one is given, see ``timed_out``);
  :meth:`Session.unreceive` puts one back;
- :meth:`Session.send` never raises for a client that has gone (it returns False);
- :meth:`Session.close` is idempotent; :class:`Sessions` closes every open one
  when the component stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from aiohttp import WSMsgType, web

from .. import channels
from ..status import APIError

#: Larger messages are refused by closing the connection (kubectl writes 32 KiB at most).
MAX_MESSAGE = 4 << 20


def websocket_protocol(request: web.Request, served: tuple[str, ...]) -> str:
    """The subprotocol to accept (see the module's contracts for the refusals)."""
    if request.headers.get("Upgrade", "").lower() != "websocket" or request.method != "GET":
        raise APIError(400, "Upgrade request required")
    chosen = channels.negotiate(channels.offered(request.headers.get("Sec-WebSocket-Protocol")), served)
    if chosen is None:
        raise APIError(400, f"unable to upgrade: none of the offered subprotocols is served "
                            f"(served: {', '.join(served)})")
    return chosen


class Session:
    """One accepted WebSocket (see the module's contracts)."""

    def __init__(self, ws: web.WebSocketResponse, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._back: deque[bytes] = deque()
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._ended = False
        self.timed_out = False

    @classmethod
    async def accept(cls, request: web.Request, protocol: str) -> Session:
        ws = web.WebSocketResponse(protocols=(protocol,), autoping=True, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        session = cls(ws, protocol)
        session._reader = asyncio.create_task(session._read())
        return session

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.BINARY:
                    self._inbox.put_nowait(msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._inbox.put_nowait(None)

    async def receive(self, timeout: float | None = None) -> bytes | None:
        """The next binary message; None at the end (or on ``timeout``, setting ``timed_out``)."""
        self.timed_out = False
        if self._back:
            return self._back.popleft()
        if self._ended:
            return None
        try:
            data = await asyncio.wait_for(self._inbox.get(), timeout) if timeout is not None \
                else await self._inbox.get()
        except TimeoutError:
            self.timed_out = True
            return None
        if data is None:
            self._ended = True
        return data

    def unreceive(self, data: bytes) -> None:
        """Make ``data`` the next message :meth:`receive` returns."""
        self._back.appendleft(data)

    async def send(self, data: bytes) -> bool:
        """Send one binary message; False when the client is gone."""
        async with self._lock:
            if self.ws.closed:
                return False
            try:
                await self.ws.send_bytes(data)
            except (ConnectionError, RuntimeError):
                return False
        return True

    async def close(self) -> None:
        async with self._lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class Sessions:
    """The open sessions of the component, closed when it stops."""

    def __init__(self) -> None:
        self.open: set[Session] = set()

    async def accept(self, request: web.Request, protocol: str) -> Session:
        session = await Session.accept(request, protocol)
        self.open.add(session)
        return session

    async def done(self, session: Session) -> None:
        self.open.discard(session)
        await session.close()

    async def stop(self) -> None:
        for session in list(self.open):
            await self.done(session)
