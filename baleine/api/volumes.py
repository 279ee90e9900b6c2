"""Volume endpoints: /volumes/... (list, create, inspect, update, remove, prune).
Decodes, calls the volumes backend, encodes."""

from __future__ import annotations

from aiohttp import web

from ..engine.fieldtypes import DICT, STR, check_fields
from ..rules import filters as filters_mod
from .requests import Router, backends_of, qbool, read_json
from .responses import json_response


async def list_(request: web.Request) -> web.Response:
    f = filters_mod.parse(request.query.get("filters"))
    return json_response({"Volumes": await backends_of(request).volumes.list(f), "Warnings": []})


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, {})
    check_fields(body, {"Name": STR, "Driver": STR, "DriverOpts": DICT, "Labels": DICT}, "CreateOptions")
    doc = await backends_of(request).volumes.create(body.get("Name") or None, body.get("Driver") or "",
                                                    body.get("DriverOpts"), body.get("Labels"))
    return json_response(doc, status=201)


async def inspect(request: web.Request) -> web.Response:
    return json_response(await backends_of(request).volumes.inspect(request.match_info["name"]))


async def update(request: web.Request) -> web.Response:
    await backends_of(request).volumes.update(request.match_info["name"])
    return web.Response(status=200)  # not reached: only cluster volumes can be updated


async def remove(request: web.Request) -> web.Response:
    await backends_of(request).volumes.remove(request.match_info["name"], qbool(request, "force"))
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    """Unused volumes: anonymous ones only, unless ``all=true`` (API ≥ 1.42); every
    unused one for a client that pins an older version, as that version defined it."""
    f = filters_mod.parse(request.query.get("filters"))
    if _requested_before(request, (1, 42)) and not f.contains("all"):
        f.add("all", "true")  # moby's postVolumesPrune does the same
    return json_response(await backends_of(request).volumes.prune(f))


def _requested_before(request: web.Request, version: tuple[int, int]) -> bool:
    """Whether the request's ``/vX.Y`` prefix names a version older than ``version``
    (no prefix: the current version; the middleware refused malformed ones)."""
    pinned = request.match_info.get("version")
    if not pinned:
        return False
    major, _, minor = pinned.partition(".")
    return (int(major), int(minor)) < version


def register(router: Router) -> None:
    router.get("/volumes", list_)
    router.post("/volumes/create", create)
    router.post("/volumes/prune", prune)
    router.get("/volumes/{name}", inspect)
    router.put("/volumes/{name}", update)
    router.delete("/volumes/{name}", remove)
