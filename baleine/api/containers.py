"""Container endpoints: /containers/... create, list, inspect, the lifecycle (start,
stop, restart, kill, pause, unpause, remove), rename, wait, resize, update, prune.
Each decodes, calls the containers backend, encodes."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from ..rules import filters as filters_mod
from ..rules.errors import InvalidParameter, NotFound
from . import shapes
from .requests import Router, backends_of, client_gone, qbool, qint, read_json
from .responses import json_response


def _ref(request: web.Request) -> str:
    return request.match_info["id"]


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, {})
    cid, warnings = await backends_of(request).containers.create(body, request.query.get("name") or None,
                                                                 request.query.get("platform") or None)
    return json_response({"Id": cid, "Warnings": warnings}, status=201)


async def list_(request: web.Request) -> web.Response:
    views = await backends_of(request).containers.list(
        filters_mod.parse(request.query.get("filters")), show_all=qbool(request, "all"),
        limit=qint(request, "limit", -1) or -1, size=qbool(request, "size"))
    return json_response([shapes.container_summary(v) for v in views])


async def inspect(request: web.Request) -> web.Response:
    view = await backends_of(request).containers.inspect(_ref(request), qbool(request, "size"))
    return json_response(shapes.container_inspect(view))


async def start(request: web.Request) -> web.Response:
    await backends_of(request).containers.start(_ref(request))
    return web.Response(status=204)


async def stop(request: web.Request) -> web.Response:
    await backends_of(request).containers.stop(_ref(request), qint(request, "t"),
                                               request.query.get("signal") or None)
    return web.Response(status=204)


async def restart(request: web.Request) -> web.Response:
    await backends_of(request).containers.restart(_ref(request), qint(request, "t"),
                                                  request.query.get("signal") or None)
    return web.Response(status=204)


async def kill(request: web.Request) -> web.Response:
    await backends_of(request).containers.kill(_ref(request), request.query.get("signal") or None)
    return web.Response(status=204)


async def pause(request: web.Request) -> web.Response:
    await backends_of(request).containers.pause(_ref(request))
    return web.Response(status=204)


async def unpause(request: web.Request) -> web.Response:
    await backends_of(request).containers.unpause(_ref(request))
    return web.Response(status=204)


async def remove(request: web.Request) -> web.Response:
    containers = backends_of(request).containers
    if "alias" in request.match_info:  # docker rm --link linker/alias
        if not qbool(request, "link"):
            raise NotFound(f"No such container: {_ref(request)}/{request.match_info['alias']}")
        await containers.remove_link(_ref(request), request.match_info["alias"])
        return web.Response(status=204)
    if qbool(request, "link"):
        raise InvalidParameter("Conflict, cannot remove the default link name of the container")
    await containers.remove(_ref(request), force=qbool(request, "force"), volumes=qbool(request, "v"))
    return web.Response(status=204)


async def rename(request: web.Request) -> web.Response:
    await backends_of(request).containers.rename(_ref(request), request.query.get("name", ""))
    return web.Response(status=204)


async def wait(request: web.Request) -> web.StreamResponse:
    """Headers go out as soon as the waiter is registered (the docker CLI starts the
    container only then); the body when the condition is met."""
    waiting = await backends_of(request).containers.wait(_ref(request),
                                                         request.query.get("condition") or "not-running")
    task = asyncio.ensure_future(waiting)
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
    await backends_of(request).containers.resize(_ref(request), qint(request, "h", 0) or 0,
                                                 qint(request, "w", 0) or 0)
    return web.Response(status=200)


async def update(request: web.Request) -> web.Response:
    body = await read_json(request, {})
    warnings = await backends_of(request).containers.update(_ref(request), body or {})
    return json_response({"Warnings": warnings})


async def prune(request: web.Request) -> web.Response:
    f = filters_mod.parse(request.query.get("filters"))
    return json_response(await backends_of(request).containers.prune(f))


def register(router: Router) -> None:
    router.post("/containers/create", create)
    router.get("/containers/json", list_)
    router.post("/containers/prune", prune)
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
    router.post("/containers/{id}/update", update)
    router.delete("/containers/{id}", remove)
    router.delete("/containers/{id}/{alias}", remove)
