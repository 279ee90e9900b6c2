"""The Engine API HTTP server (aiohttp): routing, version negotiation, error mapping.

Every route is served with and without the ``/v1.NN`` prefix. Engine errors become
``{"message": ...}`` with the status their class names (see engine/errors.py);
malformed JSON bodies are 400s; anything unexpected is logged and a 500.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import API_VERSION, MIN_API_VERSION, __version__
from ..engine.engine import Engine
from ..engine.interface import Backends
from ..rules.errors import EngineError

log = logging.getLogger("baleine.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
BACKENDS: web.AppKey[Backends] = web.AppKey("backends", Backends)
_VERSION_RE = re.compile(r"^/v(\d+\.\d+)(/.*)$")


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def _go_dumps(value: Any) -> str:
    """JSON as dockerd writes it: compact, UTF-8 as is, no HTML escaping."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response encoded like dockerd's (see ``_go_dumps``), newline-terminated.

    The Content-Type is exactly "application/json", without "; charset=utf-8": the
    docker client only decodes error bodies with that exact type (and prints the raw
    JSON otherwise).
    """
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return web.Response(body=(_go_dumps(data) + "\n").encode(), status=status, headers=hdrs)


def error_response(status: int, message: str) -> web.Response:
    return json_response({"message": message}, status=status, headers=_api_headers())


def _api_headers() -> dict[str, str]:
    return {"Api-Version": API_VERSION, "Docker-Experimental": "false", "Ostype": "linux",
            "Server": f"Baleine/{__version__} (linux)"}


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Version checks, common headers and the one error-to-status mapping."""
    version = request.match_info.get("version")
    if version:
        try:
            v = _version_tuple(version)
        except ValueError:
            return error_response(400, f"invalid API version {version}")
        if v > _version_tuple(API_VERSION):
            return error_response(400, f"client version {version} is too new. Maximum supported API version "
                                       f"is {API_VERSION}")
        if v < _version_tuple(MIN_API_VERSION):
            return error_response(400, f"client version {version} is too old. Minimum supported API version "
                                       f"is {MIN_API_VERSION}, please upgrade your client to a newer version")
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return error_response(exc.status, exc.text or exc.reason)
        raise
    except EngineError as exc:
        if exc.status == 304:
            return web.Response(status=304, headers=_api_headers())
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.path, exc)
        return error_response(exc.status, str(exc))
    except ConnectionError:
        # The client went away mid-stream: nothing to answer, nothing to log.
        return NoResponse()
    except Exception as exc:  # noqa: BLE001 - the daemon must survive anything
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, f"internal error: {exc}")
    if not resp.prepared:
        for k, v in _api_headers().items():
            resp.headers.setdefault(k, v)
    return resp


class NoResponse(web.StreamResponse):
    """What a handler returns when nothing can be written: the connection was
    hijacked, or the client is gone. aiohttp must not try to send it."""

    def __init__(self) -> None:
        super().__init__(status=200)

    async def prepare(self, request):  # type: ignore[override]
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


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


def make_app(engine: Engine, backends: Backends | None = None) -> web.Application:
    """The aiohttp application serving ``engine`` through ``backends``."""
    from . import containers, containers_more, exec as exec_api, images, system

    app = web.Application(middlewares=[api_middleware], client_max_size=0)
    app[ENGINE] = engine
    app[BACKENDS] = backends or Backends()
    router = Router(app)
    from . import distribution

    from . import networks, volumes

    from . import build, swarm

    for module in (system, containers, containers_more, exec_api, images, distribution, networks, volumes, build,
                   swarm):
        module.register(router)
    return app


def engine_of(request: web.Request) -> Engine:
    return request.app[ENGINE]


def backends_of(request: web.Request) -> Backends:
    return request.app[BACKENDS]
