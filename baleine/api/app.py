"""The Engine API application (aiohttp): version negotiation, the one error mapping,
and the resource modules' routes, each served with and without ``/v1.NN``.

Engine errors become ``{"message": ...}`` with the status their class names (see
``baleine.rules.errors``); malformed JSON bodies are 400s; anything unexpected is
logged and a 500. Handlers reach the engine only through the ``Backends`` given to
``make_app`` (see ``requests.backends_of``).
"""

from __future__ import annotations

import logging
import warnings
from aiohttp import web
from aiohttp.web_exceptions import NotAppKeyWarning

from .. import API_VERSION, MIN_API_VERSION
from ..engine.interface import Backends
from ..rules.errors import EngineError
from . import (attach, balancers, build, container_files, container_logs, container_stats, containers, distribution,
               exec as exec_api, images, networks, swarm, system, volumes)
from .requests import BACKENDS, Handler, Router
from .responses import NoResponse, api_headers, error_response

log = logging.getLogger("baleine.api")

#: every resource module; each has ``register(router)``
MODULES = (system, containers, container_logs, attach, container_stats, container_files, exec_api, images,
           distribution, networks, volumes, build, swarm, balancers)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def _version_error(version: str) -> web.Response | None:
    """The 400 for a ``/v1.NN`` prefix this daemon does not speak (None if fine)."""
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
    return None


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Version checks, common headers and the one error-to-status mapping."""
    version = request.match_info.get("version")
    if version:
        refused = _version_error(version)
        if refused is not None:
            return refused
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            answer = error_response(exc.status, exc.text or exc.reason)
            if exc.status == 413:
                # The rest of the body is not wanted: close once answered, so that a
                # client still sending fails now instead of waiting on a full socket.
                answer.force_close()
            return answer
        raise
    except EngineError as exc:
        if exc.status == 304:
            return web.Response(status=304, headers=api_headers())
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
        for k, v in api_headers().items():
            resp.headers.setdefault(k, v)
    return resp


def make_app(backends: Backends) -> web.Application:
    """The aiohttp application serving ``backends``."""
    app = web.Application(middlewares=[api_middleware], client_max_size=0)
    with warnings.catch_warnings():
        # A plain string key on purpose (see requests.BACKENDS): aiohttp would rather
        # have an AppKey, and says so once per application.
        warnings.simplefilter("ignore", NotAppKeyWarning)
        app[BACKENDS] = backends
    router = Router(app)
    for module in MODULES:
        module.register(router)
    return app
