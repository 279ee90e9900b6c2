"""Network endpoints: /networks/... (list, inspect, create, remove, connect,
disconnect, prune). Decodes, calls the networks backend, encodes."""

from __future__ import annotations

from aiohttp import web

from ..rules import filters as filters_mod
from .requests import Router, backends_of, read_json
from .responses import json_response


async def list_(request: web.Request) -> web.Response:
    f = filters_mod.parse(request.query.get("filters"))
    return json_response(await backends_of(request).networks.list(f))


async def inspect(request: web.Request) -> web.Response:
    return json_response(await backends_of(request).networks.inspect(request.match_info["id"],
                                                                     request.query.get("scope")))


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, {})
    net_id = await backends_of(request).networks.create(body)
    return json_response({"Id": net_id, "Warning": ""}, status=201)


async def remove(request: web.Request) -> web.Response:
    await backends_of(request).networks.remove(request.match_info["id"])
    return web.Response(status=204)


async def connect(request: web.Request) -> web.Response:
    body = await read_json(request, {}) or {}
    await backends_of(request).networks.connect(request.match_info["id"], body.get("Container") or "",
                                                body.get("EndpointConfig"))
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.Response:
    body = await read_json(request, {}) or {}
    await backends_of(request).networks.disconnect(request.match_info["id"], body.get("Container") or "",
                                                   bool(body.get("Force")))
    return web.Response(status=200)


async def prune(request: web.Request) -> web.Response:
    f = filters_mod.parse(request.query.get("filters"))
    removed = await backends_of(request).networks.prune(f)
    return json_response({"NetworksDeleted": removed or None})


def register(router: Router) -> None:
    router.get("/networks", list_)
    router.post("/networks/create", create)
    router.post("/networks/prune", prune)
    router.get("/networks/{id}", inspect)
    router.delete("/networks/{id}", remove)
    router.post("/networks/{id}/connect", connect)
    router.post("/networks/{id}/disconnect", disconnect)
