"""Container endpoints: /containers/... (create, list, inspect, lifecycle, logs,
attach, wait, resize, rename, changes, prune)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from ..rules import filters as filters_mod
from ..engine.containers import logs as logs_mod
from ..engine.containers.records import Container
from ..rules.errors import Conflict, InvalidParameter
from ..rules.timestamps import parse_since
from . import shapes
from .hijack import STDERR, STDOUT, Hijacked
from .server import Router, client_gone, engine_of, json_response, qbool, qint, read_json


def _container(request: web.Request) -> Container:
    return engine_of(request).containers.get(request.match_info["id"])


async def create(request: web.Request) -> web.Response:
    engine = engine_of(request)
    body = await read_json(request, {})
    name = request.query.get("name") or None
    c, warnings = engine.lifecycle.create(body, name)
    return json_response({"Id": c.id, "Warnings": warnings}, status=201)


LIST_FILTERS = {"ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task", "label",
                "name", "network", "publish", "since", "status", "volume"}


async def list_(request: web.Request) -> web.Response:
    engine = engine_of(request)
    f = filters_mod.parse(request.query.get("filters"))
    f.validate(LIST_FILTERS)
    show_all = qbool(request, "all")
    limit = qint(request, "limit", -1) or -1
    size = qbool(request, "size")
    out = []
    for c in shapes.filter_containers(engine, engine.containers.list(), f, show_all):
        out.append(shapes.container_summary(engine, c, size))
        if limit > 0 and len(out) >= limit:
            break
    return json_response(out)


async def inspect(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    return json_response(shapes.container_inspect(engine, c, qbool(request, "size")))


async def start(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    await engine.lifecycle.start(c)
    return web.Response(status=204)


async def stop(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    t = qint(request, "t")
    await engine.lifecycle.stop(c, t, request.query.get("signal") or None)
    return web.Response(status=204)


async def restart(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    await engine.lifecycle.restart(c, qint(request, "t"), request.query.get("signal") or None)
    return web.Response(status=204)


async def kill(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    await engine.lifecycle.kill(c, request.query.get("signal") or None)
    return web.Response(status=204)


async def pause(request: web.Request) -> web.Response:
    engine = engine_of(request)
    await engine.lifecycle.pause(_container(request))
    return web.Response(status=204)


async def unpause(request: web.Request) -> web.Response:
    engine = engine_of(request)
    await engine.lifecycle.unpause(_container(request))
    return web.Response(status=204)


async def remove(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    if qbool(request, "link"):
        raise InvalidParameter("links are not supported")
    await engine.lifecycle.remove(c, force=qbool(request, "force"), volumes=qbool(request, "v"))
    return web.Response(status=204)


async def rename(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    new = request.query.get("name", "")
    if not new:
        raise InvalidParameter("Neither old nor new names may be empty")
    old = engine.containers.rename(c, new)
    engine.events.publish("container", "rename", c.id,
                          engine.lifecycle.attributes(c, oldName=old))
    return web.Response(status=204)


async def wait(request: web.Request) -> web.StreamResponse:
    """Headers go out as soon as the waiter is registered (the docker CLI starts the
    container only then); the body when the condition is met."""
    engine = engine_of(request)
    c = _container(request)
    condition = request.query.get("condition") or "not-running"
    task = asyncio.ensure_future(engine.lifecycle.wait(c, condition))
    await asyncio.sleep(0)
    if task.done() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    try:
        # aiohttp does not cancel a handler whose client left: look now and then.
        while not task.done():
            await asyncio.wait({task}, timeout=1.0)
            if client_gone(request):
                task.cancel()
                return resp
        result = task.result()
    except asyncio.CancelledError:
        task.cancel()
        raise
    await resp.write(json.dumps(result).encode() + b"\n")
    await resp.write_eof()
    return resp


async def resize(request: web.Request) -> web.Response:
    c = _container(request)
    h, w = qint(request, "h", 0) or 0, qint(request, "w", 0) or 0
    if not c.running:
        raise Conflict(f"Container {c.id} is not running")
    if c.link is not None:
        c.link.send(b"R", f"{h} {w}".encode())
        engine_of(request).events.publish("container", "resize", c.id,
                                          engine_of(request).lifecycle.attributes(c, height=h, width=w))
    return web.Response(status=200)


async def logs(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    c = _container(request)
    stdout, stderr = qbool(request, "stdout"), qbool(request, "stderr")
    if not (stdout or stderr):
        raise InvalidParameter("Bad parameters: you must choose at least one stream")
    if (c.host_config.get("LogConfig") or {}).get("Type") == "none":
        raise InvalidParameter('configured logging driver does not support reading')
    now = time.time()
    since = parse_since(request.query["since"], now) if request.query.get("since") not in (None, "", "0") else None
    until = parse_since(request.query["until"], now) if request.query.get("until") not in (None, "", "0") else None
    tail_q = request.query.get("tail", "all")
    if tail_q in ("all", ""):
        tail = None
    else:
        try:
            tail = int(tail_q)
        except ValueError:
            raise InvalidParameter(f"invalid value for tail: {tail_q!r}") from None
        if tail < 0:
            tail = None
    timestamps = qbool(request, "timestamps")
    follow = qbool(request, "follow")
    tty = bool(c.config.get("Tty"))
    resp = web.StreamResponse(headers={
        "Content-Type": "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"})
    await resp.prepare(request)
    wanted = {"stdout"} if stdout else set()
    if stderr:
        wanted.add("stderr")

    def running() -> bool:
        # Following ends with the container, or when the client goes away.
        return follow and c.running and c.id in engine.containers.by_id and not client_gone(request)

    path = c.doc["LogPath"]
    try:
        async for entry in logs_mod.follow(path, running, since, until, tail):
            if entry.stream not in wanted:
                continue
            data = entry.data
            if timestamps:
                data = entry.time.encode() + b" " + data
            if tty:
                await resp.write(data)
            else:
                from .hijack import mux

                await resp.write(mux(STDERR if entry.stream == "stderr" else STDOUT, data))
    except (ConnectionError, asyncio.CancelledError):
        return resp
    await resp.write_eof()
    return resp


async def attach(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    c = _container(request)
    await request.read()
    stdin, stdout, stderr = qbool(request, "stdin"), qbool(request, "stdout"), qbool(request, "stderr")
    stream, logs_too = qbool(request, "stream"), qbool(request, "logs")
    if not (stream or logs_too):
        raise InvalidParameter("at least one of stream or logs must be set")
    if stream and not c.running and c.status not in ("created", "exited", "restarting") and not logs_too:
        raise Conflict("You cannot attach to a stopped container, start it first")
    # moby's ContainerAttach refuses these before hijacking the connection.
    if c.paused:
        raise Conflict(f"container {request.match_info['id']} is paused, unpause the container before attach")
    if c.state.get("Restarting"):
        raise Conflict(f"container {request.match_info['id']} is restarting, wait until the container is running")
    tty = bool(c.config.get("Tty"))
    detach_keys = _detach_keys(request.query.get("detachKeys"))
    hj = Hijacked(request, tty)
    await hj.start()
    try:
        if logs_too:
            for entry in logs_mod.read_existing(c.doc["LogPath"]):
                if (entry.stream == "stdout" and stdout) or (entry.stream == "stderr" and stderr):
                    await hj.write(entry.data, STDERR if entry.stream == "stderr" else STDOUT)
        # Docker announces every attach, after the logs replay and before streaming.
        engine.events.publish("container", "attach", c.id, engine.lifecycle.attributes(c))
        if stream and (c.running or c.status in ("created", "exited", "restarting")):
            # A stopped container is attached at its next start (`docker start -a`);
            # until then, give up if the client leaves.
            waiting = asyncio.ensure_future(
                engine.lifecycle.attach_link(c, stdin and bool(c.config.get("OpenStdin")), stdout, stderr))
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=1.0)
                if hj.closed and not waiting.done():
                    waiting.cancel()
                    return hj.response()
            link = waiting.result()
            # As dockerd: stdin closes with the client only without a TTY, and detach
            # keys are looked for only on a terminal (otherwise stdin is data).
            await relay(hj, link, stdin=stdin and bool(c.config.get("OpenStdin")),
                        close_stdin_on_eof=bool(c.config.get("StdinOnce")) and not tty,
                        detach_keys=detach_keys if tty else b"")
    except Conflict as exc:
        await hj.write(str(exc).encode() + b"\n", STDERR)
    finally:
        hj.close()
    return hj.response()


def _detach_keys(spec: str | None) -> bytes:
    """Docker's detach key sequence (default ctrl-p,ctrl-q)."""
    spec = spec or "ctrl-p,ctrl-q"
    out = bytearray()
    for key in spec.split(","):
        key = key.strip()
        if key.startswith("ctrl-") and len(key) == 6:
            ch = key[5].lower()
            if "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
            elif ch in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[ch])
            else:
                raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
        elif len(key) == 1:
            out.append(ord(key))
        else:
            raise InvalidParameter(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


async def relay(hj: Hijacked, link: Any, *, stdin: bool, close_stdin_on_eof: bool,
                detach_keys: bytes = b"", on_state: Any = None) -> None:
    """Pump bytes between a hijacked connection and a monitor link until the
    process ends (the monitor closes) or the client detaches."""
    detached = asyncio.Event()

    async def upstream() -> None:
        matched = 0
        while True:
            data = await hj.read()
            if not data:
                # As dockerd: the process's stdin closes with the client's only when
                # asked (StdinOnce, no TTY), and output goes on while the client is
                # there; otherwise the stream ends and the process keeps its stdin.
                if close_stdin_on_eof:
                    link.send(b"C")
                if hj.closed or not close_stdin_on_eof:
                    detached.set()
                return
            if detach_keys:
                out = bytearray()
                for b in data:
                    if b == detach_keys[matched]:
                        matched += 1
                        if matched == len(detach_keys):
                            if out:
                                link.send(b"I", bytes(out))
                            detached.set()
                            return
                        continue
                    if matched:
                        out += detach_keys[:matched]
                        matched = 0
                    out.append(b)
                data = bytes(out)
            if data:
                link.send(b"I", data)
                await link.drain()

    async def downstream() -> None:
        while True:
            item = await link.read()
            if item is None:
                return
            kind, payload = item
            if kind == b"1":
                await hj.write(payload, STDOUT)
            elif kind == b"2":
                await hj.write(payload, STDERR)
            elif kind == b"S" and on_state is not None:
                on_state(json.loads(payload))

    up = asyncio.create_task(upstream()) if stdin else None
    down = asyncio.create_task(downstream())
    waits = {down, asyncio.create_task(detached.wait())}
    try:
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            if t is not down:
                t.cancel()
        if detached.is_set() and not down.done():
            down.cancel()
    finally:
        if up is not None:
            up.cancel()
        link.close()


async def changes(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    result = await asyncio.to_thread(shapes.container_changes, engine, c)
    return json_response(result)


def register(router: Router) -> None:
    router.post("/containers/create", create)
    router.get("/containers/json", list_)
    router.get("/containers/{id}/json", inspect)
    router.post("/containers/{id}/start", start)
    router.post("/containers/{id}/stop", stop)
    router.post("/containers/{id}/restart", restart)
    router.post("/containers/{id}/kill", kill)
    router.post("/containers/{id}/pause", pause)
    router.post("/containers/{id}/unpause", unpause)
    router.post("/containers/{id}/rename", rename)
    router.post("/containers/{id}/wait", wait)
    router.post("/containers/{id}/resize", resize)
    router.post("/containers/{id}/attach", attach)
    router.get("/containers/{id}/logs", logs)
    router.get("/containers/{id}/changes", changes)
    router.delete("/containers/{id}", remove)
