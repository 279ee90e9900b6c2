"""``pods/exec`` and ``pods/attach`` over WebSockets (``v5.channel.k8s.io``,
``v4.channel.k8s.io``; see ``kube/channels.py``), on the engine's exec and
containers backends.

Query: ``container``, ``stdin``, ``stdout``, ``stderr``, ``tty`` and, for exec,
one ``command`` per argument. Refusals happen before the upgrade, as Status
objects (a pod that is gone 404; finished, an unknown container, no command, no
stream, a container that is not running: 400). Once upgraded:

- exec runs ``command`` in the container's current instance; stdin, resizes and
  v5's close of stdin go to it, its output comes back on stdout/stderr (one
  stream with a TTY); when it ends, the error channel carries ``Success`` or the
  ``NonZeroExitCode`` Status with its exit code (an exec that could not start:
  ``InternalError``), then the socket closes;
- attach joins the container's own streams (stdin only if the container keeps
  it open; v5's close of stdin closes the container's stdin when it is
  ``stdinOnce`` without a TTY, as dockerd does); it ends with ``Success`` when
  the container's process ends;
- a client that leaves ends the relay: an exec's stdin is closed so that a shell
  left behind exits, and the exec is followed in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...rules.errors import Conflict, InvalidParameter, NotFound
from .. import channels
from ..status import APIError
from . import pods
from .session import Session, Sessions, websocket_protocol

if TYPE_CHECKING:
    from ..manager import Context
    from ..server import Target

TRUE = ("1", "true", "True")
#: How long to wait for kubectl's first resize before starting a TTY process (so
#: that it starts at the terminal's size rather than 0x0).
FIRST_SIZE_WAIT = 1.0


@dataclass
class StreamOptions:
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def stream_options(request: web.Request) -> StreamOptions:
    """The streams asked for; 400 if none. With a TTY there is no stderr (the kubelet drops it)."""
    q = request.query
    opts = StreamOptions(*(q.get(k) in TRUE for k in ("stdin", "stdout", "stderr", "tty")))
    if opts.tty:
        opts.stderr = False
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise APIError(400, "you must specify at least 1 of stdin, stdout, stderr")
    return opts


async def _first_size(session: Session, tty: bool) -> list[int] | None:
    """``[height, width]`` from the client's first message when it is a resize
    (kubectl sends the terminal's size first); any other message is put back."""
    if not tty:
        return None
    data = await session.receive(FIRST_SIZE_WAIT)
    if data is None:
        return None
    msg = channels.decode(data, session.protocol)
    size = channels.resize(msg.data) if msg is not None and msg.channel == channels.RESIZE else None
    if size is None:
        session.unreceive(data)
        return None
    return [size[1], size[0]]


async def relay(session: Session, link: Any, *, stdin: bool, close_stdin: bool,
                resize: Callable[[int, int], Awaitable[None]],
                on_state: Callable[[dict[str, Any]], None] | None = None) -> bool:
    """Pump between the socket and a monitor link until the process side ends
    (True) or the client leaves (False). ``close_stdin``: v5's close of stdin, or
    the client leaving, closes the process's stdin."""

    async def down() -> None:
        while (item := await link.read()) is not None:
            kind, payload = item
            if kind in (b"1", b"2"):
                channel = channels.STDOUT if kind == b"1" else channels.STDERR
                await session.send(channels.encode(channel, payload))
            elif kind == b"S" and on_state is not None:
                on_state(json.loads(payload))

    async def up() -> None:
        while (data := await session.receive()) is not None:
            msg = channels.decode(data, session.protocol)
            if msg is None:
                continue
            if msg.channel == channels.STDIN and stdin:
                if msg.closed:
                    if close_stdin:
                        link.send(b"C")
                elif msg.data:
                    link.send(b"I", msg.data)
                    await link.drain()
            elif msg.channel == channels.RESIZE and not msg.closed:
                size = channels.resize(msg.data)
                if size is not None:
                    with contextlib.suppress(Conflict, NotFound, InvalidParameter):
                        await resize(size[1], size[0])

    process = asyncio.create_task(down())
    pumps = {process, asyncio.create_task(up())}
    try:
        done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        ended = process in done
        if not ended and stdin and close_stdin:
            link.send(b"C")  # the client left: a shell waiting on its stdin may go
        return ended
    finally:
        for task in pumps:
            task.cancel()
        for task in pumps:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        link.close()


async def serve_exec(sessions: Sessions, request: web.Request, target: Target, ctx: Context) -> web.StreamResponse:
    """The ``pods/exec`` subresource handler."""
    pod = pods.get_pod(ctx, target)
    pods.refuse_completed(pod, "exec into")
    opts = stream_options(request)
    name = pods.container_name(pod, request.query.get("container", ""))
    command = request.query.getall("command", [])
    if not command:
        raise APIError(400, "you must specify at least 1 command")
    c = await pods.running_container(ctx, pod, name)
    # After the refusals: kubectl retries a failed WebSocket with SPDY, and must get the same answer.
    protocol = websocket_protocol(request, channels.EXEC_PROTOCOLS)
    assert ctx.backends is not None and ctx.backends.exec is not None
    execs = ctx.backends.exec
    try:
        exec_id = await execs.create(c.id, {"AttachStdin": opts.stdin, "AttachStdout": opts.stdout,
                                            "AttachStderr": opts.stderr, "Tty": opts.tty, "Cmd": command})
    except Conflict:
        raise APIError(400, f'container not found ("{name}")') from None
    session = await sessions.accept(request, protocol)
    try:
        status = await _run_exec(session, execs, exec_id, opts, command)
        await session.send(channels.encode(channels.ERROR, status))
    finally:
        await sessions.done(session)
    return session.ws


async def _run_exec(session: Session, execs: Any, exec_id: str, opts: StreamOptions, command: list[str]) -> bytes:
    """Run a created exec over the session; the error channel's body."""
    size = await _first_size(session, opts.tty)
    try:
        started = await execs.start_attached(exec_id, tty=opts.tty, console_size=size)
    except (Conflict, NotFound, InvalidParameter) as exc:
        return channels.internal_error(f"error executing command in container: {exc}")
    try:
        await relay(session, started.link, stdin=started.stdin, close_stdin=True,
                    resize=lambda h, w: execs.resize(exec_id, h, w),
                    on_state=lambda state: execs.on_state(exec_id, state))
        failure = await execs.failure(exec_id)
    finally:
        await execs.finish(exec_id)
    if failure:
        failure = failure if failure.startswith("exec failed") else f"exec failed: {failure}"
        return channels.internal_error(f"error executing command in container: failed to exec in container: "
                                       f"OCI runtime exec failed: {failure}: unknown")
    code = (await execs.inspect(exec_id)).get("ExitCode")
    if code:
        return channels.exit_status(int(code), command)
    return channels.success()


async def serve_attach(sessions: Sessions, request: web.Request, target: Target,
                       ctx: Context) -> web.StreamResponse:
    """The ``pods/attach`` subresource handler."""
    pod = pods.get_pod(ctx, target)
    pods.refuse_completed(pod, "attach to")
    opts = stream_options(request)
    name = pods.container_name(pod, request.query.get("container", ""))
    c = await pods.running_container(ctx, pod, name)
    protocol = websocket_protocol(request, channels.EXEC_PROTOCOLS)
    assert ctx.backends is not None and ctx.backends.containers is not None
    containers = ctx.backends.containers
    try:
        c = await containers.check_attach(c.id, stream=True, logs=False)
    except (Conflict, NotFound):
        raise APIError(400, f'container not found ("{name}")') from None
    with_stdin = opts.stdin and bool(c.config.get("OpenStdin"))
    tty = bool(c.config.get("Tty"))
    session = await sessions.accept(request, protocol)
    try:
        size = await _first_size(session, opts.tty and tty)
        if not c.running:
            # It ended while the session was set up. The runtime refuses to attach to a
            # container that is not running (containerd: "container is in
            # CONTAINER_EXITED state"); waiting for a start, as Docker's attach does, would
            # wait forever: a pod's container never starts again, the kubelet makes a new
            # one. kubectl then falls back to the container's logs (`run -i` still shows
            # what a brief process printed).
            message = f"error attaching to container: container {name} is not running"
            await session.send(channels.encode(channels.ERROR, channels.internal_error(message)))
            return session.ws
        if size is not None:
            with contextlib.suppress(Conflict, NotFound, InvalidParameter):
                await containers.resize(c.id, size[0], size[1])
        link = await containers.attach_link(c, with_stdin, opts.stdout, opts.stderr)
        await containers.attached(c)
        await relay(session, link, stdin=with_stdin, close_stdin=bool(c.config.get("StdinOnce")) and not tty,
                    resize=lambda h, w: containers.resize(c.id, h, w))
        await session.send(channels.encode(channels.ERROR, channels.success()))
    finally:
        await sessions.done(session)
    return session.ws
