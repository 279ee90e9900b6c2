"""What every handler decodes with: the backends of the application, query
parameters as Docker reads them, JSON bodies, whether the client is still there, and
the ``Router`` that registers each route with and without the ``/v1.NN`` prefix."""

from __future__ import annotations

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


async def read_json(request: web.Request, default: Any = None, expect: type | None = dict) -> Any:
    """The request body as JSON (``default`` when empty); 400 if malformed, or if it is
    not an ``expect`` (an object, for every endpoint of the Engine API that takes one)."""
    raw = await request.read()
    if not raw.strip():
        return default
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from None
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
