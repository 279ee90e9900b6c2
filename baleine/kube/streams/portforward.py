"""``pods/portforward``: TCP connections from the client to the pod's ports.

The connection to the pod is made inside the pod's network namespace to
``127.0.0.1:<port>``, as the kubelet dials (``netns``): what listens on the pod's
loopback only is reached too. A pod whose sandbox is not found (no node agent ran
it) is dialled from the host at its address (``status.podIP``). Two wire
protocols, chosen by the WebSocket subprotocol:

- ``SPDY/3.1+portforward.k8s.io`` (kubectl 1.32): SPDY/3.1 tunnelled through the
  socket's binary messages. For each local connection kubectl opens two streams
  with headers ``streamType`` (``error`` | ``data``), ``port`` and ``requestID``;
  once both of a request are open the pod is dialled and bytes are copied both
  ways (a FIN from the client half-closes toward the pod). When the pod's side
  ends, the data stream gets its FIN, then the error stream ends, empty on
  success or carrying the message of a failure (``error forwarding port …``),
  which kubectl prints. Each SYN_STREAM is answered by a SYN_REPLY, each PING
  echoed; an RST_STREAM of a data stream abandons its connection.
- ``v4.channel.k8s.io`` (the Python client, ``?ports=80,8080``): the i-th port's
  data on channel ``2i`` and errors on ``2i+1``, each starting with the port
  (``channels.port_prefix``); one connection per port, the socket closes when
  every connection has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from .. import channels
from ..status import APIError
from . import netns, pods, spdy
from .session import Session, Sessions, websocket_protocol

if TYPE_CHECKING:
    from ..manager import Context
    from ..server import Target

log = logging.getLogger("baleine.kube")
CONNECT_TIMEOUT = 10.0
CHUNK = 32 * 1024


@dataclass
class Destination:
    """Where a pod's ports are reached, and how failures name the pod."""

    address: str
    pod: str
    uid: str
    netns_pid: int = 0  # a process in the pod's network namespace (its sandbox), 0: dial from the host

    async def _open(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not self.netns_pid:
            return await asyncio.open_connection(self.address, port)
        sock = await netns.socket_in(self.netns_pid)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)

    async def connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``port``; OSError (with the kubelet-like message) when refused."""
        try:
            return await asyncio.wait_for(self._open(port), CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "i/o timeout"
            raise OSError(f"error forwarding port {port} to pod {self.pod}, uid {self.uid}: failed to connect to "
                          f"{self.address}:{port}: dial tcp {self.address}:{port}: connect: {reason.lower()}") \
                from None


async def _pump_to(reader: asyncio.StreamReader, send: Callable[[bytes], Awaitable[bool]]) -> None:
    """Copy ``reader`` to ``send`` until EOF, a reset, or ``send`` saying the client is gone."""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(CHUNK):
            if not await send(chunk):
                return


def _port(value: str) -> int | None:
    try:
        port = int(value)
    except ValueError:
        return None
    return port if 0 < port < 65536 else None


# --- SPDY (kubectl) -----------------------------------------------------------

@dataclass(eq=False)
class _Stream:
    id: int
    kind: str
    port: str
    inbox: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)


class SpdyForwarder:
    """One kubectl port-forward session (see the module's contracts)."""

    def __init__(self, session: Session, dest: Destination) -> None:
        self.session = session
        self.dest = dest
        self.framer = spdy.Framer()
        self.streams: dict[int, _Stream] = {}
        self.pairs: dict[str, dict[str, _Stream]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}  # by data stream

    async def run(self) -> None:
        try:
            while (data := await self.session.receive()) is not None:
                for frame in self.framer.feed(data):
                    if not await self._handle(frame):
                        return
        except spdy.ProtocolError as exc:
            log.info("port-forward to %s: %s", self.dest.pod, exc)
        finally:
            for task in self.tasks.values():
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    async def _handle(self, frame: spdy.Frame) -> bool:
        """Act on one frame; False when the connection is over (GOAWAY)."""
        if frame.kind == spdy.SYN_STREAM:
            await self._open(frame)
        elif frame.kind == 0:
            stream = self.streams.get(frame.stream_id)
            if stream is not None:
                if frame.data:
                    stream.inbox.put_nowait(frame.data)
                if frame.fin:
                    stream.inbox.put_nowait(None)
        elif frame.kind == spdy.RST_STREAM:
            stream = self.streams.pop(frame.stream_id, None)
            task = self.tasks.get(frame.stream_id)
            if stream is not None and task is not None:
                task.cancel()
        elif frame.kind == spdy.PING:
            await self.session.send(self.framer.ping(frame.value))
        elif frame.kind == spdy.GOAWAY:
            return False
        return True

    async def _open(self, frame: spdy.Frame) -> None:
        await self.session.send(self.framer.syn_reply(frame.stream_id))
        h = frame.headers
        kind, port = (h.get("streamtype") or [""])[0], (h.get("port") or [""])[0]
        request = (h.get("requestid") or [port])[0]
        if kind not in ("data", "error"):
            await self.session.send(self.framer.rst(frame.stream_id, spdy.PROTOCOL_ERROR))
            return
        stream = _Stream(frame.stream_id, kind, port)
        self.streams[stream.id] = stream
        if frame.fin:
            stream.inbox.put_nowait(None)
        pair = self.pairs.setdefault(request, {})
        pair[kind] = stream
        if len(pair) == 2:
            del self.pairs[request]
            self.tasks[pair["data"].id] = asyncio.create_task(self._forward(pair["data"], pair["error"]))

    async def _data(self, stream: _Stream, chunk: bytes, fin: bool = False) -> bool:
        return await self.session.send(self.framer.data(stream.id, chunk, fin))

    async def _forward(self, data: _Stream, error: _Stream) -> None:
        port = _port(data.port)
        try:
            if port is None:
                raise OSError(f'invalid port: "{data.port}"')
            reader, writer = await self.dest.connect(port)
        except OSError as exc:
            await self._data(error, str(exc).encode(), fin=True)
            await self._data(data, b"", fin=True)
            return
        upstream = asyncio.create_task(self._to_pod(data, writer))
        try:
            await _pump_to(reader, lambda chunk: self._data(data, chunk))
            await self._data(data, b"", fin=True)
        finally:
            upstream.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await upstream
            writer.close()
            # Also when kubectl reset the data stream: it waits for the error stream's end.
            await self._data(error, b"", fin=True)
            self.streams.pop(data.id, None)
            self.streams.pop(error.id, None)
            self.tasks.pop(data.id, None)

    @staticmethod
    async def _to_pod(stream: _Stream, writer: asyncio.StreamWriter) -> None:
        while (chunk := await stream.inbox.get()) is not None:
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


# --- channels (the Python client) -----------------------------------------------

class ChannelForwarder:
    """One WebSocket port-forward of the channel protocol (see the module's contracts)."""

    def __init__(self, session: Session, dest: Destination, ports: list[int]) -> None:
        self.session = session
        self.dest = dest
        self.ports = ports
        self.writers: dict[int, asyncio.StreamWriter] = {}

    async def run(self) -> None:
        pumps = []
        for i, port in enumerate(self.ports):
            for channel in (2 * i, 2 * i + 1):
                await self.session.send(channels.encode(channel, channels.port_prefix(port)))
            try:
                reader, self.writers[i] = await self.dest.connect(port)
            except OSError as exc:
                await self.session.send(channels.encode(2 * i + 1, str(exc).encode()))
                continue
            pumps.append(asyncio.create_task(_pump_to(reader, self._sender(2 * i))))
        inbound = asyncio.create_task(self._from_client())
        try:
            if pumps:
                await asyncio.wait([asyncio.gather(*pumps), inbound], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [*pumps, inbound]:
                task.cancel()
            await asyncio.gather(*pumps, inbound, return_exceptions=True)
            for writer in self.writers.values():
                writer.close()

    def _sender(self, channel: int) -> Callable[[bytes], Awaitable[bool]]:
        async def send(chunk: bytes) -> bool:
            return await self.session.send(channels.encode(channel, chunk))
        return send

    async def _from_client(self) -> None:
        while (data := await self.session.receive()) is not None:
            msg = channels.decode(data, self.session.protocol)
            writer = self.writers.get(msg.channel // 2) if msg is not None and msg.channel % 2 == 0 else None
            if writer is not None and msg is not None and msg.data:
                writer.write(msg.data)
                await writer.drain()


# --- the handler --------------------------------------------------------------

def _ports(request: web.Request) -> list[int]:
    values = [v for raw in request.query.getall("ports", []) for v in raw.split(",") if v]
    ports = [_port(v) for v in values]
    if not ports or any(p is None for p in ports):
        raise APIError(400, "query parameter \"ports\" is required and must be ports between 1 and 65535")
    return [p for p in ports if p is not None]


async def serve(sessions: Sessions, request: web.Request, target: Target, ctx: Context) -> web.StreamResponse:
    """The ``pods/portforward`` subresource handler."""
    pod = pods.get_pod(ctx, target)
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or not status.get("podIP"):
        raise APIError(400, f"unable to forward port because pod is not running. "
                            f"Current status={status.get('phase', 'Pending')}")
    protocol = websocket_protocol(request, (channels.SPDY_PORTFORWARD, *channels.PORTFORWARD_CHANNELS))
    ports = _ports(request) if protocol != channels.SPDY_PORTFORWARD else []
    dest = Destination(status["podIP"], pod["metadata"]["name"], pod["metadata"].get("uid", ""),
                       await pods.sandbox_pid(ctx, pod))
    session = await sessions.accept(request, protocol)
    try:
        if protocol == channels.SPDY_PORTFORWARD:
            await SpdyForwarder(session, dest).run()
        else:
            await ChannelForwarder(session, dest, ports).run()
    finally:
        await sessions.done(session)
    return session.ws
