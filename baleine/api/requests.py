"""What every handler decodes with: the backends of the application, query
parameters as Docker reads them, JSON bodies, whether the client is still there, and
the ``Router`` that registers each route with and without the ``/v1.NN`` prefix."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..engine.interface import Backends

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: where ``make_app`` stores the application's backends: the plain key every API
#: module (and issue 12's contract, ``request.app["backends"]``) reads
BACKENDS = "backends"


def backends_of(request: web.Request) -> Backends:
    """The backends serving ``request`` (``request.app["backends"]``)."""
    backends: Backends = request.app[BACKENDS]
    return backends


#: the largest JSON body an endpoint reads (413 past it): a create request with a
#: thousand labels is a few hundred KiB; hundreds of MiB are an attack or a mistake
MAX_JSON_BODY = 16 << 20
#: JSON bodies parsed in a thread past this size (parsing a few MiB holds the loop)
_THREAD_PARSE = 256 << 10
#: the deepest nesting accepted: beyond it Python's recursion (json, deepcopy, dumps)
#: would fail further down, and no Engine API body comes near it
MAX_JSON_DEPTH = 256


async def read_body(request: web.Request, limit: int = MAX_JSON_BODY) -> bytes:
    """The whole request body, at most ``limit`` bytes: 413 as soon as it is known to
    be larger (from Content-Length before reading anything, or while reading a
    chunked body), so that an oversized body is never held in memory."""
    length = request.content_length
    if length is not None and length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=length,
                                            text=f"request body too large: {length} bytes (limit {limit})")
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size,
                                                text=f"request body too large: over {limit} bytes")
        parts.append(chunk)


def json_depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return True


def parse_json(raw: bytes) -> Any:
    """``raw`` as JSON; HTTPBadRequest if malformed or nested too deep."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise web.HTTPBadRequest(text="invalid JSON: exceeded max depth") from None
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from None
    if not json_depth_ok(value):
        raise web.HTTPBadRequest(text="invalid JSON: exceeded max depth")
    return value


async def read_json(request: web.Request, default: Any = None, expect: type | None = dict) -> Any:
    """The request body as JSON (``default`` when empty); 400 if malformed, nested
    deeper than MAX_JSON_DEPTH, or not an ``expect`` (an object, for every endpoint
    of the Engine API that takes one); 413 past MAX_JSON_BODY bytes. Large bodies
    are parsed in a thread, so that other clients are served meanwhile."""
    raw = await read_body(request)
    if not raw.strip():
        return default
    value = await asyncio.to_thread(parse_json, raw) if len(raw) > _THREAD_PARSE else parse_json(raw)
    if expect is not None and not isinstance(value, expect):
        raise web.HTTPBadRequest(text=f"invalid JSON: expected an {'object' if expect is dict else expect.__name__}")
    return value


def client_gone(request: web.Request) -> bool:
    """Whether the client has closed the connection (aiohttp does not cancel
    handlers then: long-running ones poll this)."""
    return request.transport is None or request.transport.is_closing()


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter as Docker reads them ("1", "true", "True"...)."""
    value = request.query.get(name)
    if value is None or value == "":
        return default
    return value.lower() not in ("0", "false", "no")


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    """An integer query parameter (``default`` when absent or empty); 400 if not one."""
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise web.HTTPBadRequest(text=f"invalid value for {name}: {value!r}") from None


class Router:
    """Registers each route with and without the version prefix."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)
        self.app.router.add_route(method, r"/v{version:[0-9]+\.[0-9]+}" + path, handler)

    def get(self, path: str, handler: Handler) -> None:
        self.add("GET", path, handler)
        self.add("HEAD", path, handler) if path == "/_ping" else None

    def post(self, path: str, handler: Handler) -> None:
        self.add("POST", path, handler)

    def put(self, path: str, handler: Handler) -> None:
        self.add("PUT", path, handler)

    def delete(self, path: str, handler: Handler) -> None:
        self.add("DELETE", path, handler)

    def head(self, path: str, handler: Handler) -> None:
        self.add("HEAD", path, handler)
