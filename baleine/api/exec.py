"""Exec endpoints: POST /containers/{id}/exec, /exec/{id}/start|resize, GET /exec/{id}/json."""

from __future__ import annotations

from aiohttp import web

from ..rules.errors import ExecStartFailed, InvalidParameter
from .attach import relay
from .hijack import STDOUT, Hijacked
from .requests import Router, backends_of, qint, read_json
from .responses import json_response


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, {})
    exec_id = await backends_of(request).exec.create(request.match_info["id"], body)
    return json_response({"Id": exec_id}, status=201)


async def start(request: web.Request) -> web.StreamResponse:
    execs = backends_of(request).exec
    exec_id = request.match_info["id"]
    config = await execs.inspect(exec_id)  # NotFound before the body is looked at
    body = await read_json(request, {}) or {}
    if not isinstance(body, dict):
        raise InvalidParameter("invalid JSON: expected an object")
    tty = bool(body.get("Tty", (config.get("ProcessConfig") or {}).get("tty")))
    console = body.get("ConsoleSize")
    if body.get("Detach"):
        await execs.start_detached(exec_id, tty=tty, console_size=console)
        return web.Response(status=200, headers={"Content-Type": "application/json"})
    try:
        session = await execs.start_attached(exec_id, tty=tty, console_size=console)
    except ExecStartFailed as err:
        # dockerd hijacks first and writes a start failure on the stream; the client
        # then reads the exit code (126) from GET /exec/{id}/json.
        return await _report_on_stream(request, tty, str(err))
    hj = Hijacked(request, tty)
    await hj.start()
    try:
        await relay(hj, session.link, stdin=session.stdin, close_stdin_on_eof=not tty,
                    detach_keys=session.detach_keys, on_state=lambda state: execs.on_state(exec_id, state))
        err = await execs.failure(exec_id)
        if err:
            await hj.write(f"{_oci_exec_error(err)}\r\n".encode(), STDOUT)
    finally:
        await execs.finish(exec_id)
        hj.close()
    return hj.response()


def _oci_exec_error(runc_error: str) -> str:
    """dockerd's wording of a runc exec failure (runc's own message may already
    start with "exec failed: ")."""
    if not runc_error.startswith("exec failed: "):
        runc_error = "exec failed: " + runc_error
    return f"OCI runtime exec failed: {runc_error}: unknown"


async def _report_on_stream(request: web.Request, tty: bool, message: str) -> web.StreamResponse:
    hj = Hijacked(request, tty)
    await hj.start()
    try:
        await hj.write(f"{message}\r\n".encode(), STDOUT)
    finally:
        hj.close()
    return hj.response()


async def resize(request: web.Request) -> web.Response:
    await backends_of(request).exec.resize(request.match_info["id"], qint(request, "h", 0) or 0,
                                           qint(request, "w", 0) or 0)
    return web.Response(status=200)


async def inspect(request: web.Request) -> web.Response:
    return json_response(await backends_of(request).exec.inspect(request.match_info["id"]))


def register(router: Router) -> None:
    router.post("/containers/{id}/exec", create)
    router.post("/exec/{id}/start", start)
    router.post("/exec/{id}/resize", resize)
    router.get("/exec/{id}/json", inspect)
