"""Image endpoints: list, inspect, history, tag, remove, prune, load, save, import, commit.

Translation only: each handler decodes its request, calls one method of the images
backend (``engine.interface.images.ImagesBackend``) and encodes the answer.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from ..engine.interface.images import ImagesBackend, Writable
from ..rules import filters as filters_mod
from ..rules.errors import InvalidParameter
from . import shapes
from .bodies import BodyReader, ResponseWriter
from .requests import Router, backends_of, qbool, read_json
from .responses import json_response


def _images(request: web.Request) -> ImagesBackend:
    return backends_of(request).images


async def list_(request: web.Request) -> web.Response:
    listed = await _images(request).list_images(
        filters_mod.parse(request.query.get("filters")), qbool(request, "all"), request.query.get("filter", ""),
        # Docker fills Containers only when asked (it costs a walk of all containers there).
        with_containers=qbool(request, "shared-size"))
    return json_response([shapes.image_summary(item.image, item.containers) for item in listed])


async def inspect(request: web.Request) -> web.Response:
    return json_response(shapes.image_inspect(await _images(request).inspect(request.match_info["name"])))


async def history(request: web.Request) -> web.Response:
    return json_response(await _images(request).history(request.match_info["name"]))


async def tag(request: web.Request) -> web.Response:
    await _images(request).tag(request.match_info["name"], request.query.get("repo", ""),
                               request.query.get("tag", ""))
    return web.Response(status=201)


async def remove(request: web.Request) -> web.Response:
    report = await _images(request).delete(request.match_info["name"], force=qbool(request, "force"),
                                           prune=not qbool(request, "noprune"))
    return json_response(report)


async def prune(request: web.Request) -> web.Response:
    report = await _images(request).prune(filters_mod.parse(request.query.get("filters")))
    return json_response({"ImagesDeleted": report.deleted or None, "SpaceReclaimed": report.reclaimed})


async def load(request: web.Request) -> web.StreamResponse:
    lines = await _images(request).load(BodyReader(request, asyncio.get_running_loop()))
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    for line in lines:
        await resp.write(json.dumps({"stream": line + "\n"}).encode() + b"\r\n")
    await resp.write_eof()
    return resp


async def save(request: web.Request) -> web.StreamResponse:
    names = request.query.getall("names", []) if "name" not in request.match_info else [request.match_info["name"]]
    resp = web.StreamResponse(headers={"Content-Type": "application/x-tar"})

    async def start() -> Writable:
        await resp.prepare(request)
        return ResponseWriter(resp, asyncio.get_running_loop())

    await _images(request).save(names, start)
    try:
        await resp.write_eof()
    except (ConnectionError, RuntimeError):
        pass  # the client went away mid-archive
    return resp


async def create(request: web.Request) -> web.StreamResponse:
    """``POST /images/create``: import from a tarball (``fromSrc=-``), or pull (``fromImage``,
    served by api/distribution.py)."""
    src = request.query.get("fromSrc")
    if src is None:
        from . import distribution

        return await distribution.pull(request)
    if src != "-":
        raise InvalidParameter("importing from a URL is not supported; use fromSrc=-")
    img = await _images(request).import_(
        BodyReader(request, asyncio.get_running_loop()), request.query.get("repo", ""),
        request.query.get("tag", ""), request.query.get("message", ""), request.query.getall("changes", []))
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    await resp.write(json.dumps({"status": img.id}).encode() + b"\r\n")
    await resp.write_eof()
    return resp


async def commit(request: web.Request) -> web.Response:
    overrides = await read_json(request, {}) or {}
    q = request.query
    img = await _images(request).commit(q.get("container", ""), q.get("repo", ""), q.get("tag", ""),
                                        q.get("comment", ""), q.get("author", ""), q.getall("changes", []),
                                        overrides, pause=qbool(request, "pause", True))
    return json_response({"Id": img.id}, status=201)


def register(router: Router) -> None:
    router.get("/images/json", list_)
    router.post("/images/load", load)
    router.get("/images/get", save)
    router.post("/images/create", create)
    router.post("/images/prune", prune)
    router.get("/images/{name:.+}/json", inspect)
    router.get("/images/{name:.+}/history", history)
    router.get("/images/{name:.+}/get", save)
    router.post("/images/{name:.+}/tag", tag)
    router.delete("/images/{name:.+}", remove)
    router.post("/commit", commit)
