"""System endpoints: /_ping, /version, /info, /events, /system/df. Decodes, calls
the system backend, encodes."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..engine.interface.containers import ContainerView
from ..engine.interface.system import DiskUsageReport
from ..rules import filters as filters_mod
from ..rules.errors import InvalidParameter
from ..rules.timestamps import get_timestamp, parse_timestamps
from . import shapes
from .requests import Router, backends_of, client_gone
from .responses import api_headers, json_response
from .streaming import pump_json


async def ping(request: web.Request) -> web.Response:
    headers = api_headers()
    headers.update({"Builder-Version": "1", "Cache-Control": "no-cache, no-store, must-revalidate",
                    "Pragma": "no-cache", "Swarm": "inactive"})
    if request.method == "HEAD":
        return web.Response(status=200, headers=headers)
    return web.Response(text="OK", headers=headers)


async def version(request: web.Request) -> web.Response:
    return json_response(await backends_of(request).system.version())


async def info(request: web.Request) -> web.Response:
    return json_response(await backends_of(request).system.info())


def _event_time(value: str | None, now: float) -> int | None:
    """A ``since``/``until`` query value as unix nanoseconds (None when absent).

    The API takes docker's ``<seconds>[.<nanoseconds>]``; durations and dates are
    also accepted (relative to the daemon's clock), as the CLI sends them resolved.
    """
    if not value:
        return None
    sec, nsec = parse_timestamps(get_timestamp(value, now))
    return sec * 1_000_000_000 + nsec


async def events(request: web.Request) -> web.StreamResponse:
    """``GET /events`` (moby's getEvents); 400 if ``until`` < ``since``."""
    now = time.time()
    since = _event_time(request.query.get("since"), now)
    until = _event_time(request.query.get("until"), now)
    if until is not None and since is not None and until < since:
        raise InvalidParameter(f"`since` time ({request.query.get('since')}) cannot be after `until` time "
                               f"({request.query.get('until')})")
    f = filters_mod.parse(request.query.get("filters"))
    stream = await backends_of(request).system.events(f, since, until, lambda: client_gone(request))
    return await pump_json(request, stream)


def _df_shape(report: DiskUsageReport) -> dict[str, Any]:
    """``GET /system/df``'s JSON (a kind not asked for is null)."""
    out: dict[str, Any] = {}
    if report.images is not None:
        images = []
        for image, containers, shared in report.images:
            s = shapes.image_summary(image, containers)
            s["SharedSize"] = shared
            images.append(s)
        out["LayersSize"] = report.layers_size
        out["Images"] = images
    else:
        out["Images"] = None
    out["Containers"] = None if report.containers is None else [
        shapes.container_summary(ContainerView(c, (rw, root))) for c, rw, root in report.containers]
    out["Volumes"] = report.volumes
    out["BuildCache"] = report.build_cache
    return out


async def system_df(request: web.Request) -> web.Response:
    types = set(request.query.getall("type", [])) or None
    return json_response(_df_shape(await backends_of(request).system.disk_usage(types)))


def register(router: Router) -> None:
    router.get("/_ping", ping)
    router.get("/version", version)
    router.get("/info", info)
    router.get("/events", events)
    router.get("/system/df", system_df)
