"""The dashboard's HTTP server: pages, the Engine API under ``/engine/``, the terminal.

Contract:
- ``make_ui_app(api_app, data_root, api_host, secure)`` mounts ``api_app`` (an Engine API
  application the daemon made for the dashboard with its own ``make_app``: aiohttp
  re-prefixes a mounted app's routes, so it cannot be the one served on the socket) under
  ``/engine/``, serves the built front end
  (``/`` and ``/static/``), the terminal WebSocket (``/ui/terminal/{id}``) and compose's
  up, down and logs (``/ui/compose/…``, see ``compose``), the Kubernetes views
  (``/ui/kube/…``, see ``kube``; the daemon calls ``kube.attach``), all behind
  ``auth.auth_middleware``. It writes a fresh login token under ``<data-root>/ui/``.
- ``start_ui(app, addr, tlscert, tlskey)`` listens on ``host:port`` (HTTPS with a
  certificate), records the dashboard's address in ``<data-root>/ui/url`` (not secret:
  ``baleine ui`` adds the token) and returns the runner to ``cleanup()`` at shutdown.
"""

from __future__ import annotations

import os
import ssl

from aiohttp import web

from . import compose, kube
from .auth import AUTH, Auth, auth_middleware
from .terminal import API_HOST, terminal_ws
from .token import new_login_token, session_key, ui_dir

STATIC = os.path.join(os.path.dirname(__file__), "static")
ENGINE_PREFIX = "/engine/"
CSP = ("default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@web.middleware
async def _security_headers(request: web.Request, handler) -> web.StreamResponse:  # noqa: ANN001 - aiohttp handler
    resp = await handler(request)
    if not resp.prepared:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        if not request.path.startswith(ENGINE_PREFIX):
            resp.headers.setdefault("Content-Security-Policy", CSP)
    return resp


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(os.path.join(STATIC, "index.html"), headers={"Cache-Control": "no-store"})


def make_ui_app(api_app: web.Application, data_root: str, api_host: str, secure: bool) -> web.Application:
    app = web.Application(middlewares=[_security_headers, auth_middleware], client_max_size=0)
    app[AUTH] = Auth(login_token=new_login_token(data_root), key=session_key(data_root), secure=secure)
    app[API_HOST] = api_host
    app.router.add_get("/", _index)
    app.router.add_get("/ui/terminal/{id}", terminal_ws)
    compose.add_routes(app, data_root)
    kube.add_routes(app)  # filled by kube.attach once the Kubernetes API runs
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    app.add_subapp(ENGINE_PREFIX, api_app)
    return app


def _ssl_context(tlscert: str, tlskey: str) -> ssl.SSLContext | None:
    if not tlscert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tlscert, tlskey or None)
    return ctx


async def start_ui(app: web.Application, addr: str, data_root: str, tlscert: str = "",
                   tlskey: str = "") -> web.AppRunner:
    host, _, port = addr.rpartition(":")
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host.strip("[]") or "127.0.0.1", int(port or 9000),
                       ssl_context=_ssl_context(tlscert, tlskey))
    await site.start()
    scheme = "https" if tlscert else "http"
    with open(os.path.join(ui_dir(data_root), "url"), "w") as f:
        f.write(f"{scheme}://{host or '127.0.0.1'}:{port or 9000}/\n")
    return runner
