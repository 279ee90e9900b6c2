"""``GET /containers/{id}/logs``: decodes the selection, streams the containers
backend's log entries raw (TTY) or multiplexed."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..engine.interface.containers import LogsOptions
from .hijack import STDERR, STDOUT, mux
from .requests import Router, backends_of, client_gone, qbool


def _options(request: web.Request) -> LogsOptions:
    q = request.query
    return LogsOptions(stdout=qbool(request, "stdout"), stderr=qbool(request, "stderr"),
                       follow=qbool(request, "follow"), since=q.get("since") or "", until=q.get("until") or "",
                       tail=q.get("tail", "all"))


async def logs(request: web.Request) -> web.StreamResponse:
    tty, entries = await backends_of(request).containers.logs(request.match_info["id"], _options(request),
                                                              lambda: client_gone(request))
    timestamps = qbool(request, "timestamps")
    resp = web.StreamResponse(headers={
        "Content-Type": "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"})
    await resp.prepare(request)
    try:
        async for entry in entries:
            data = entry.time.encode() + b" " + entry.data if timestamps else entry.data
            await resp.write(data if tty else mux(STDERR if entry.stream == "stderr" else STDOUT, data))
    except (ConnectionError, asyncio.CancelledError):
        return resp
    await resp.write_eof()
    return resp


def register(router: Router) -> None:
    router.get("/containers/{id}/logs", logs)
