"""What runs in a container and what it uses: ``GET /containers/{id}/top`` and
``GET /containers/{id}/stats``."""

from __future__ import annotations

from aiohttp import web

from .requests import Router, backends_of, client_gone, qbool
from .responses import json_response
from .streaming import pump_json


async def top(request: web.Request) -> web.Response:
    result = await backends_of(request).containers.top(request.match_info["id"], request.query.get("ps_args", ""))
    return json_response(result)


async def stats(request: web.Request) -> web.StreamResponse:
    one_shot = qbool(request, "one-shot")
    # moby answers one-shot with a single sample, streaming or not.
    stream = qbool(request, "stream", True) and not one_shot
    frames = await backends_of(request).containers.stats(request.match_info["id"], stream=stream,
                                                         one_shot=one_shot, closed=lambda: client_gone(request))
    return await pump_json(request, frames)


def register(router: Router) -> None:
    router.get("/containers/{id}/top", top)
    router.get("/containers/{id}/stats", stats)
