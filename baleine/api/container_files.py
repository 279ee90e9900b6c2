"""A container's files: ``docker cp`` (HEAD/GET/PUT ``/containers/{id}/archive``),
``docker export`` and ``docker diff`` (``/containers/{id}/changes``)."""

from __future__ import annotations

import asyncio
from typing import Any, BinaryIO

from aiohttp import web

from ..engine.containers.files import encode_path_stat
from ..rules.errors import InvalidParameter
from .bodies import BodyReader
from .requests import Router, backends_of, qbool
from .responses import json_response
from .streaming import TarSink, pump_tar


def _path(request: web.Request) -> str:
    path = request.query.get("path", "")
    if not path:
        raise InvalidParameter("Path cannot be empty")
    return path


async def archive_head(request: web.Request) -> web.Response:
    stat = await backends_of(request).containers.stat_path(request.match_info["id"], _path(request))
    return web.Response(status=200, headers={"X-Docker-Container-Path-Stat": encode_path_stat(stat),
                                             "Content-Type": "application/json"})


async def archive_get(request: web.Request) -> web.StreamResponse:
    containers = backends_of(request).containers
    ref, path = request.match_info["id"], _path(request)

    async def produce(sink: TarSink) -> None:
        async def open_out(stat: dict[str, Any]) -> BinaryIO:
            return await sink.open({"X-Docker-Container-Path-Stat": encode_path_stat(stat)})

        await containers.get_archive(ref, path, open_out)

    return await pump_tar(request, produce)


async def archive_put(request: web.Request) -> web.Response:
    ref, path = request.match_info["id"], _path(request)
    reader = BodyReader(request, asyncio.get_running_loop())
    await backends_of(request).containers.put_archive(
        ref, path, reader,  # type: ignore[arg-type]
        no_overwrite_dir_non_dir=qbool(request, "noOverwriteDirNonDir"), copy_uid_gid=qbool(request, "copyUIDGID"))
    return web.Response(status=200)


async def export(request: web.Request) -> web.StreamResponse:
    containers = backends_of(request).containers
    ref = request.match_info["id"]

    async def produce(sink: TarSink) -> None:
        await containers.export(ref, sink.open)

    return await pump_tar(request, produce)


async def changes(request: web.Request) -> web.Response:
    return json_response(await backends_of(request).containers.changes(request.match_info["id"]))


def register(router: Router) -> None:
    router.head("/containers/{id}/archive", archive_head)
    router.get("/containers/{id}/archive", archive_get)
    router.put("/containers/{id}/archive", archive_put)
    router.get("/containers/{id}/export", export)
    router.get("/containers/{id}/changes", changes)
