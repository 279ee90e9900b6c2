"""The two ways an endpoint streams its answer: JSON messages one per line (events,
stats, progress of pull/push/load/build) and a tar archive written by a worker thread
(``docker cp``, export, save).

Both prepare the response themselves and end quietly when the client goes away; an
error after the headers are out can only cut the stream short, as dockerd does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, BinaryIO

from aiohttp import web

from ..rules.errors import EngineError
from .bodies import ResponseWriter

log = logging.getLogger("baleine.api")


async def pump_json(request: web.Request, messages: AsyncIterator[Any], *, terminator: bytes = b"\n",
                    resp: web.StreamResponse | None = None) -> web.StreamResponse:
    """Write each of ``messages`` as one JSON document followed by ``terminator``
    (``\\r\\n`` for progress streams, as dockerd), then end the response.

    ``resp`` is a response already prepared by the caller (headers sent early), else
    an ``application/json`` one is prepared before the first message is awaited. The
    iterator is closed in every case, so that its ``finally`` clauses (unsubscribing,
    stopping a sampler) run.
    """
    if resp is None:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    try:
        if not resp.prepared:
            await resp.prepare(request)
        async for msg in messages:
            await resp.write(json.dumps(msg).encode() + terminator)
        await resp.write_eof()
    except (ConnectionError, asyncio.CancelledError):
        pass  # the client went away: nothing left to say
    finally:
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await aclose()
    return resp


class TarSink:
    """Opens the streamed ``application/x-tar`` response when the producer knows its
    headers, and hands it a blocking writer for its worker thread."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response: web.StreamResponse | None = None

    @property
    def started(self) -> bool:
        """Whether the headers are out (errors can no longer be answered)."""
        return self.response is not None

    async def open(self, headers: dict[str, str] | None = None) -> BinaryIO:
        """Send the headers (``headers`` added to the content type) and return the
        writer to feed from a worker thread (flush it at the end)."""
        resp = web.StreamResponse(headers={"Content-Type": "application/x-tar", **(headers or {})})
        await resp.prepare(self.request)
        self.response = resp
        return ResponseWriter(resp, asyncio.get_running_loop())  # type: ignore[return-value]


async def pump_tar(request: web.Request, produce: Callable[[TarSink], Awaitable[None]]) -> web.StreamResponse:
    """Run ``produce`` (which opens the sink once, then writes the archive through the
    writer in a thread) and end the response.

    Errors before the sink is opened are raised (and answered with their status);
    after it, a client gone ends quietly and an engine error is logged and cuts the
    archive short.
    """
    sink = TarSink(request)
    try:
        await produce(sink)
    except (ConnectionError, RuntimeError):
        if sink.response is None:
            raise
        return sink.response
    except EngineError as exc:
        if sink.response is None:
            raise
        log.warning("%s %s: %s", request.method, request.path, exc)
        return sink.response
    if sink.response is None:
        raise RuntimeError("tar producer never opened its response")
    await sink.response.write_eof()
    return sink.response
