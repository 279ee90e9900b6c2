"""Volume endpoints: /volumes/... (list, create, inspect, remove, prune).
Decodes, calls ``engine.volumes`` (records) and ``engine.mountpoints`` (who uses
what), encodes."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from aiohttp import web

from ..rules import filters as filters_mod
from ..rules.errors import InvalidParameter
from ..engine.volumes.local import Volume
from ..engine.fieldtypes import DICT, STR, check_fields
from .server import Router, engine_of, json_response, qbool, read_json


def volume_doc(v: Volume) -> dict[str, Any]:
    """Docker's ``Volume`` shape."""
    return copy.deepcopy(v.doc)


async def list_(request: web.Request) -> web.Response:
    engine = engine_of(request)
    f = filters_mod.parse(request.query.get("filters"))
    vols = engine.volumes.filter(f, engine.mountpoints.referenced())
    return json_response({"Volumes": [volume_doc(v) for v in vols], "Warnings": []})


async def create(request: web.Request) -> web.Response:
    engine = engine_of(request)
    body = await read_json(request, {})
    check_fields(body, {"Name": STR, "Driver": STR, "DriverOpts": DICT, "Labels": DICT}, "CreateOptions")
    v = await asyncio.to_thread(engine.volumes.create, body.get("Name") or None, body.get("Driver") or "",
                                body.get("DriverOpts"), body.get("Labels"))
    return json_response(volume_doc(v), status=201)


async def inspect(request: web.Request) -> web.Response:
    return json_response(volume_doc(engine_of(request).volumes.get(request.match_info["name"])))


async def update(request: web.Request) -> web.Response:
    engine_of(request).volumes.get(request.match_info["name"])
    raise InvalidParameter("volume update is only supported for cluster volumes")


async def remove(request: web.Request) -> web.Response:
    engine = engine_of(request)
    name = request.match_info["name"]
    users = engine.mountpoints.users_of(name)
    await asyncio.to_thread(engine.volumes.remove, name, users, qbool(request, "force"))
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    """Unused volumes: anonymous ones only, unless ``all=true`` (API ≥ 1.42)."""
    engine = engine_of(request)
    f = filters_mod.parse(request.query.get("filters"))
    f.validate({"label", "label!", "all"})
    everything = f.bool_value("all")
    referenced = engine.mountpoints.referenced()
    deleted, space = [], 0
    for v in engine.volumes.list():
        if v.name in referenced or (not everything and not v.anonymous):
            continue
        if not f.match_labels(v.doc.get("Labels") or {}):
            continue
        size = await asyncio.to_thread(engine.volumes.size, v)
        await asyncio.to_thread(engine.volumes.remove, v.name, engine.mountpoints.users_of(v.name))
        deleted.append(v.name)
        space += size
    return json_response({"VolumesDeleted": deleted or None, "SpaceReclaimed": space})


def register(router: Router) -> None:
    router.get("/volumes", list_)
    router.post("/volumes/create", create)
    router.post("/volumes/prune", prune)
    router.get("/volumes/{name}", inspect)
    router.put("/volumes/{name}", update)
    router.delete("/volumes/{name}", remove)
