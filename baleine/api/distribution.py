"""Registry endpoints: pull (``POST /images/create?fromImage=``), push, ``/distribution``
and ``/auth``. Decodes requests, calls the distribution backend, streams progress.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..distribution.auth import AuthConfig, decode_header
from ..distribution.progress import Sink, error
from ..rules.errors import InvalidParameter, Unavailable
from ..engine.interface.distribution import DistributionBackend
from .requests import Router, backends_of, read_json
from .responses import json_response


def _distribution(request: web.Request) -> DistributionBackend:
    return backends_of(request).distribution


def _auth(request: web.Request) -> AuthConfig:
    return decode_header(request.headers.get("X-Registry-Auth"))


async def _stream(request: web.Request, op: Callable[[Sink], Awaitable[Any]]) -> web.StreamResponse:
    """Run ``op`` and stream the JSON messages it emits.

    As dockerd does: an error raised before the first message becomes an HTTP error
    status; after it, an ``errorDetail`` message in the stream. A client that goes
    away cancels the operation.
    """
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(op(queue.put_nowait))
    resp: web.StreamResponse | None = None

    async def send(msg: dict[str, Any]) -> None:
        nonlocal resp
        if resp is None:
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            await resp.prepare(request)
        await resp.write(json.dumps(msg).encode() + b"\r\n")

    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await send(getter.result())
                continue
            getter.cancel()
            while not queue.empty():
                await send(queue.get_nowait())
            exc = task.exception()
            if exc is not None:
                if resp is None:
                    raise exc
                await send(error(str(exc)))
            break
    except BaseException:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        raise
    if resp is None:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
    await resp.write_eof()
    return resp


async def pull(request: web.Request) -> web.StreamResponse:
    """``POST /images/create?fromImage=NAME&tag=TAG|DIGEST[&platform=]`` (images.create delegates here)."""
    image = request.query.get("fromImage", "")
    if not image:
        raise InvalidParameter("fromImage or fromSrc is required")
    tag = request.query.get("tag", "")
    platform = request.query.get("platform") or None
    auth = _auth(request)
    return await _stream(request, lambda sink: _distribution(request).pull(image, tag, platform, auth, sink))


async def push(request: web.Request) -> web.StreamResponse:
    """``POST /images/{name}/push?tag=``."""
    name = request.match_info["name"]
    tag = request.query.get("tag", "")
    auth = _auth(request)
    if not request.headers.get("X-Registry-Auth"):
        # API < 1.? clients sent the auth config as the body.
        body = await read_json(request, None, expect=None)
        if isinstance(body, dict):
            auth = AuthConfig.from_dict(body)
    return await _stream(request, lambda sink: _distribution(request).push(name, tag, auth, sink))


async def inspect(request: web.Request) -> web.Response:
    """``GET /distribution/{name}/json``."""
    result = await _distribution(request).inspect(request.match_info["name"], _auth(request))
    return json_response(result)


async def auth(request: web.Request) -> web.Response:
    """``POST /auth``: check credentials against a registry."""
    body = await read_json(request, {}) or {}
    if not isinstance(body, dict):
        raise InvalidParameter("invalid auth configuration")
    result = await _distribution(request).login(AuthConfig.from_dict(body))
    return json_response(result)


async def search(request: web.Request) -> web.Response:
    """``GET /images/search``: optional in Baleine, refused clearly."""
    raise Unavailable("search is not supported by this registry: Baleine does not implement Docker Hub's "
                      "search API; list a registry's repositories with its /v2/_catalog")


def register(router: Router) -> None:
    router.get("/images/search", search)
    router.post("/images/{name:.+}/push", push)
    router.get("/distribution/{name:.+}/json", inspect)
    router.post("/auth", auth)
