"""Network endpoints: /networks/... (list, inspect, create, remove, connect,
disconnect, prune). Decodes, calls ``engine.networks``, encodes."""

from __future__ import annotations

from aiohttp import web

from ..rules import filters as filters_mod
from ..rules.errors import InvalidParameter, NotFound
from .server import Router, engine_of, json_response, read_json


async def list_(request: web.Request) -> web.Response:
    nets = engine_of(request).networks
    f = filters_mod.parse(request.query.get("filters"))
    return json_response([nets.summary(n) for n in nets.filter(f)])


async def inspect(request: web.Request) -> web.Response:
    nets = engine_of(request).networks
    scope = request.query.get("scope")
    net = nets.get(request.match_info["id"])
    if scope and scope != "local":
        raise NotFound(f"network {request.match_info['id']} not found")
    return json_response(nets.inspect(net))


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, {})
    net = await engine_of(request).networks.create(body)
    return json_response({"Id": net.id, "Warning": ""}, status=201)


async def remove(request: web.Request) -> web.Response:
    await engine_of(request).networks.remove(request.match_info["id"])
    return web.Response(status=204)


def _container_ref(body: dict) -> str:
    ref = (body or {}).get("Container") or ""
    if not ref:
        raise InvalidParameter("container is required")
    return ref


async def connect(request: web.Request) -> web.Response:
    engine = engine_of(request)
    body = await read_json(request, {})
    c = engine.containers.get(_container_ref(body))
    await engine.networks.connect(request.match_info["id"], c, body.get("EndpointConfig"))
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.Response:
    engine = engine_of(request)
    body = await read_json(request, {})
    c = engine.containers.get(_container_ref(body))
    await engine.networks.disconnect(request.match_info["id"], c, bool(body.get("Force")))
    return web.Response(status=200)


async def prune(request: web.Request) -> web.Response:
    f = filters_mod.parse(request.query.get("filters"))
    removed = await engine_of(request).networks.prune(f)
    return json_response({"NetworksDeleted": removed or None})


def register(router: Router) -> None:
    router.get("/networks", list_)
    router.post("/networks/create", create)
    router.post("/networks/prune", prune)
    router.get("/networks/{id}", inspect)
    router.delete("/networks/{id}", remove)
    router.post("/networks/{id}/connect", connect)
    router.post("/networks/{id}/disconnect", disconnect)
