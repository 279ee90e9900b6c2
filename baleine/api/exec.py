"""Exec endpoints: POST /containers/{id}/exec, /exec/{id}/start|resize, GET /exec/{id}/json."""

from __future__ import annotations

from aiohttp import web

from ..rules.errors import InvalidParameter
from .containers import _detach_keys, relay
from .hijack import STDOUT, Hijacked
from .server import Router, engine_of, json_response, qint, read_json


async def create(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = engine.containers.get(request.match_info["id"])
    body = await read_json(request, {})
    if body.get("DetachKeys"):
        _detach_keys(body["DetachKeys"])
    ex = engine.execs.create(c, body)
    return json_response({"Id": ex.id}, status=201)


async def start(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    ex = engine.execs.get(request.match_info["id"])
    body = await read_json(request, {}) or {}
    if not isinstance(body, dict):
        raise InvalidParameter("invalid JSON: expected an object")
    detach = bool(body.get("Detach"))
    tty = bool(body.get("Tty", ex.config.get("Tty")))
    console = body.get("ConsoleSize")
    if detach:
        await engine.execs.start(ex, detach=True, tty=tty, console_size=console)
        return web.Response(status=200, headers={"Content-Type": "application/json"})
    link = await engine.execs.start(ex, detach=False, tty=tty, console_size=console)
    assert link is not None
    hj = Hijacked(request, tty)
    await hj.start()
    done = False

    def on_state(state: dict) -> None:
        nonlocal done
        done = engine.execs.on_state(ex, state) or done

    try:
        await relay(hj, link, stdin=bool(ex.config.get("AttachStdin")), close_stdin_on_eof=not tty,
                    detach_keys=_detach_keys(ex.config.get("DetachKeys")) if ex.config.get("Tty") else b"",
                    on_state=on_state)
        err = ex.config.get("_error")
        if err:
            await hj.write(f"OCI runtime exec failed: exec failed: {err}: unknown\r\n".encode(), STDOUT)
    finally:
        if done:
            engine.execs.finish(ex)
        else:  # the client left (detached) before the process ended
            engine.execs.follow(ex)
        hj.close()
    return hj.response()


async def resize(request: web.Request) -> web.Response:
    engine = engine_of(request)
    ex = engine.execs.get(request.match_info["id"])
    engine.execs.resize(ex, qint(request, "h", 0) or 0, qint(request, "w", 0) or 0)
    return web.Response(status=200)


async def inspect(request: web.Request) -> web.Response:
    engine = engine_of(request)
    return json_response(engine.execs.get(request.match_info["id"]).inspect())


def register(router: Router) -> None:
    router.post("/containers/{id}/exec", create)
    router.post("/exec/{id}/start", start)
    router.post("/exec/{id}/resize", resize)
    router.get("/exec/{id}/json", inspect)
