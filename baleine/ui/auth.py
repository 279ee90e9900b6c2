"""Who may use the dashboard: login token, signed session cookie, CSRF and same-origin checks.

Contract of ``auth_middleware`` (every route, pages and ``/engine/`` alike):
1. A request whose ``Origin`` is not this server's origin, or whose ``Sec-Fetch-Site``
   is ``cross-site``/``same-site``, is refused with 403 (cross-origin reads and
   WebSocket hijacking alike).
2. ``?token=<login token>`` opens a session: the response sets the session cookie
   (HttpOnly, SameSite=Strict, Secure over HTTPS) and the CSRF cookie (readable by the
   page, SameSite=Strict), and redirects (303) to the same address without the token,
   so it leaves the address bar and the history. A wrong token is a 401.
3. Without a valid session cookie: 401.
4. State-changing methods (anything but GET/HEAD/OPTIONS) also need the ``X-CSRF-Token``
   header equal to the session's CSRF token and an ``Origin`` or ``Sec-Fetch-Site``
   that says same-origin; otherwise 403.

Sessions are stateless: ``<nonce>.<expiry>.<hmac>`` signed with the session key, so a
daemon restart does not log the page out. The CSRF token is an HMAC of the nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

SESSION_COOKIE = "baleine_session"
CSRF_COOKIE = "baleine_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 7 * 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Auth:
    """The secrets a UI server checks requests against."""

    login_token: str
    key: bytes
    secure: bool  # served over HTTPS: cookies get the Secure flag

    def _sign(self, message: str) -> str:
        return hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> tuple[str, str]:
        """A fresh (session cookie value, CSRF token)."""
        nonce = secrets.token_urlsafe(18)
        expiry = str(int(time.time()) + SESSION_SECONDS)
        body = f"{nonce}.{expiry}"
        return f"{body}.{self._sign(body)}", self.csrf_of(nonce)

    def csrf_of(self, nonce: str) -> str:
        return self._sign("csrf:" + nonce)

    def session_nonce(self, cookie: str | None) -> str | None:
        """The nonce of a valid, unexpired session cookie, else None."""
        if not cookie or cookie.count(".") != 2:
            return None
        nonce, expiry, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._sign(f"{nonce}.{expiry}")):
            return None
        if not expiry.isdigit() or int(expiry) < time.time():
            return None
        return nonce

    def token_ok(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.login_token.encode())


AUTH: web.AppKey[Auth] = web.AppKey("ui_auth", Auth)


def own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def cross_origin(request: web.Request) -> bool:
    """True when the browser tells us the request comes from another site."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != own_origin(request):
        return True
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")


def _says_same_origin(request: web.Request) -> bool:
    """A state-changing request must positively prove it comes from our own page."""
    return (request.headers.get("Origin") == own_origin(request)
            or request.headers.get("Sec-Fetch-Site") == "same-origin")


def _login(request: web.Request, auth: Auth) -> web.StreamResponse:
    if not auth.token_ok(request.query["token"]):
        return _refuse(401, "invalid token")
    session, csrf = auth.new_session()
    query = [(k, v) for k, v in request.query.items() if k != "token"]
    location = request.path + ("?" + urlencode(query) if query else "")
    resp = web.Response(status=303, headers={"Location": location})
    resp.set_cookie(SESSION_COOKIE, session, max_age=SESSION_SECONDS, path="/", httponly=True,
                    samesite="Strict", secure=auth.secure)
    resp.set_cookie(CSRF_COOKIE, csrf, max_age=SESSION_SECONDS, path="/", samesite="Strict", secure=auth.secure)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status, headers={"Cache-Control": "no-store"})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    auth = request.config_dict[AUTH]
    if cross_origin(request):
        return _refuse(403, "cross-origin request refused")
    if "token" in request.query:
        return _login(request, auth)
    nonce = auth.session_nonce(request.cookies.get(SESSION_COOKIE))
    if nonce is None:
        return _refuse(401, "not logged in: open the address `baleine ui` prints")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), auth.csrf_of(nonce).encode()) or not _says_same_origin(request):
            return _refuse(403, "missing or invalid CSRF token")
    return await handler(request)
