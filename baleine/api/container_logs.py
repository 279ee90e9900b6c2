"""``GET /containers/{id}/logs``: decodes the selection, streams the containers
backend's log entries raw (TTY) or multiplexed."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..engine.interface.containers import LogsOptions
from ..rules.errors import InvalidParameter
from ..rules.timestamps import format_rfc3339nano_fixed_ns, parse_rfc3339_ns
from .hijack import STDERR, STDOUT, mux
from .requests import Router, backends_of, client_gone, qbool


def _options(request: web.Request) -> LogsOptions:
    q = request.query
    return LogsOptions(stdout=qbool(request, "stdout"), stderr=qbool(request, "stderr"),
                       follow=qbool(request, "follow"), since=q.get("since") or "", until=q.get("until") or "",
                       tail=q.get("tail", "all"), details=qbool(request, "details"))


def _fixed_time(stamp: str) -> bytes:
    """A log entry's time with nine fractional digits, as dockerd prints them."""
    try:
        return format_rfc3339nano_fixed_ns(parse_rfc3339_ns(stamp)).encode()
    except InvalidParameter:  # a line written by something else: as it is
        return stamp.encode()


async def logs(request: web.Request) -> web.StreamResponse:
    tty, entries = await backends_of(request).containers.logs(request.match_info["id"], _options(request),
                                                              lambda: client_gone(request))
    timestamps = qbool(request, "timestamps")
    resp = web.StreamResponse(headers={
        "Content-Type": "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"})
    await resp.prepare(request)
    try:
        async for entry in entries:
            data = entry.details + entry.data
            if timestamps:
                data = _fixed_time(entry.time) + b" " + data
            await resp.write(data if tty else mux(STDERR if entry.stream == "stderr" else STDOUT, data))
    except (ConnectionError, asyncio.CancelledError):
        return resp
    await resp.write_eof()
    return resp


def register(router: Router) -> None:
    router.get("/containers/{id}/logs", logs)
