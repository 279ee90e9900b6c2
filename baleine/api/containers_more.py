"""More container endpoints: top, stats, archive (docker cp), export, update,
prune, and ``GET /system/df``."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from ..engine.containers import disk_usage, files, stats as stats_mod, top as top_mod
from ..rules import filters as filters_mod
from ..engine.containers import update as update_mod
from ..engine.containers.records import Container
from ..rules.errors import Conflict, EngineError, InvalidParameter
from . import shapes
from .bodies import BodyReader, ResponseWriter
from .server import Router, client_gone, engine_of, json_response, qbool, read_json


log = logging.getLogger("baleine.api")


def _container(request: web.Request) -> Container:
    return engine_of(request).containers.get(request.match_info["id"])


def _path(request: web.Request) -> str:
    path = request.query.get("path", "")
    if not path:
        raise InvalidParameter("Path cannot be empty")
    return path


def _mountpoints(engine: Any) -> Any:
    """The lifecycle's volumes hook (mounts volumes into a stopped container's root)."""
    return engine.lifecycle.volumes


# -- top -------------------------------------------------------------------------------


async def top(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    result = await top_mod.top(engine.runtime, c, request.query.get("ps_args", ""))
    engine.events.publish("container", "top", c.id, engine.lifecycle.attributes(c))
    return json_response(result)


# -- stats -----------------------------------------------------------------------------


async def stats(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    c = _container(request)
    stream = qbool(request, "stream", True)
    one_shot = qbool(request, "one-shot")
    if one_shot:
        stream = False  # moby answers one-shot with a single sample, streaming or not
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    frames = stats_mod.stats_stream(c, engine.lifecycle.settings.cgroup_parent, stream=stream, one_shot=one_shot,
                                    exists=lambda: c.id in engine.containers.by_id,
                                    closed=lambda: client_gone(request))
    try:
        async for frame in frames:
            await resp.write(json.dumps(frame).encode() + b"\n")
        await resp.write_eof()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        await frames.aclose()
    return resp


# -- archive (docker cp) ------------------------------------------------------------


async def archive_head(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    path = _path(request)
    async with files.container_root(engine.snapshots, c, mountpoints=_mountpoints(engine)) as root:
        info = await asyncio.to_thread(files.stat_path, root, path, request.match_info["id"])
    return web.Response(status=200, headers={"X-Docker-Container-Path-Stat": files.encode_path_stat(info.stat),
                                             "Content-Type": "application/json"})


async def archive_get(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    c = _container(request)
    path = _path(request)
    async with files.container_root(engine.snapshots, c, mountpoints=_mountpoints(engine)) as root:
        info = await asyncio.to_thread(files.stat_path, root, path, request.match_info["id"])
        resp = web.StreamResponse(headers={"Content-Type": "application/x-tar",
                                           "X-Docker-Container-Path-Stat": files.encode_path_stat(info.stat)})
        await resp.prepare(request)
        writer = ResponseWriter(resp, asyncio.get_running_loop())

        def run() -> None:
            files.write_archive(root, info, writer)
            writer.flush()

        try:
            await asyncio.to_thread(run)
        except (ConnectionError, RuntimeError):
            return resp
        except EngineError as exc:
            # Headers are gone: all we can do is cut the archive short, as dockerd does.
            log.warning("%s %s: %s", request.method, request.path, exc)
            return resp
    engine.events.publish("container", "archive-path", c.id, engine.lifecycle.attributes(c))
    await resp.write_eof()
    return resp


async def archive_put(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    path = _path(request)
    reader = BodyReader(request, asyncio.get_running_loop())
    async with files.container_root(engine.snapshots, c, mountpoints=_mountpoints(engine)) as root:
        await asyncio.to_thread(files.extract, root, c, path, reader, request.match_info["id"],
                                no_overwrite_dir_non_dir=qbool(request, "noOverwriteDirNonDir"),
                                copy_uid_gid=qbool(request, "copyUIDGID"))
    engine.events.publish("container", "extract-to-dir", c.id, engine.lifecycle.attributes(c))
    return web.Response(status=200)


# -- export ----------------------------------------------------------------------------


async def export(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    c = _container(request)
    if c.status == "dead":
        raise Conflict(f"You cannot export container {c.id} which is Dead")
    if c.status == "removing":
        raise Conflict(f"You cannot export container {c.id} which is being removed")
    async with files.container_root(engine.snapshots, c, processes_view=False) as rootfs:
        resp = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
        await resp.prepare(request)
        writer = ResponseWriter(resp, asyncio.get_running_loop())

        def run() -> None:
            files.export(rootfs, writer)
            writer.flush()

        try:
            await asyncio.to_thread(run)
        except (ConnectionError, RuntimeError):
            return resp
        except EngineError as exc:
            # Headers are gone: all we can do is cut the archive short, as dockerd does.
            log.warning("%s %s: %s", request.method, request.path, exc)
            return resp
    engine.events.publish("container", "export", c.id, engine.lifecycle.attributes(c))
    await resp.write_eof()
    return resp


# -- update ----------------------------------------------------------------------------


async def update(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = _container(request)
    body = await read_json(request, {})
    warnings = await update_mod.update(engine.lifecycle, c, body or {})
    return json_response({"Warnings": warnings})


# -- prune and disk usage ----------------------------------------------------------------


async def prune(request: web.Request) -> web.Response:
    engine = engine_of(request)
    f = filters_mod.parse(request.query.get("filters"))
    f.validate(disk_usage.PRUNE_FILTERS)
    return json_response(await disk_usage.prune_containers(engine, f))


DF_TYPES = {"container", "image", "volume", "build-cache"}


def _volumes_usage(engine: Any) -> list[dict[str, Any]]:
    """Docker's volumes with ``UsageData`` (size, containers referring to them)."""
    volumes = getattr(engine, "volumes", None)
    if volumes is None:
        return []
    from .volumes import volume_doc

    out = []
    for v in volumes.list():
        doc = volume_doc(v)
        doc["UsageData"] = {"Size": disk_usage.directory_size(v.path),
                            "RefCount": len(engine.mountpoints.users_of(v.name))}
        out.append(doc)
    return out


async def system_df(request: web.Request) -> web.Response:
    engine = engine_of(request)
    wanted = set(request.query.getall("type", []))
    for t in wanted:
        if t not in DF_TYPES:
            raise InvalidParameter(f"unknown object type: {t}")
    types = wanted or None
    du = await asyncio.to_thread(disk_usage.disk_usage, engine, types)
    out: dict[str, Any] = {}
    if types is None or "image" in types:
        images = []
        for iu in du.images:
            s = shapes.image_summary(iu.image, iu.containers)
            s["SharedSize"] = iu.shared_size
            images.append(s)
        out["LayersSize"] = du.layers_size
        out["Images"] = images
    else:
        out["Images"] = None
    if types is None or "container" in types:
        containers = []
        for c, rw, root in du.containers:
            s = shapes.container_summary(engine, c)
            s["SizeRw"], s["SizeRootFs"] = rw, root
            containers.append(s)
        out["Containers"] = containers
    else:
        out["Containers"] = None
    out["Volumes"] = await asyncio.to_thread(_volumes_usage, engine) if types is None or "volume" in types else None
    if types is None or "build-cache" in types:
        builder = getattr(engine, "builder", None)
        out["BuildCache"] = await asyncio.to_thread(builder.disk_usage) if builder is not None else []
    else:
        out["BuildCache"] = None
    return json_response(out)


def register(router: Router) -> None:
    router.get("/containers/{id}/top", top)
    router.get("/containers/{id}/stats", stats)
    router.head("/containers/{id}/archive", archive_head)
    router.get("/containers/{id}/archive", archive_get)
    router.put("/containers/{id}/archive", archive_put)
    router.get("/containers/{id}/export", export)
    router.post("/containers/{id}/update", update)
    router.post("/containers/prune", prune)
    router.get("/system/df", system_df)
