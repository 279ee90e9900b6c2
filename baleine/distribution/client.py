"""Registry HTTP API v2 / OCI Distribution client (aiohttp).

A :class:`Registry` talks to one endpoint (base URL) on behalf of one set of
credentials. Authentication follows the registry's lead, as Docker does: the
``/v2/`` ping's ``WWW-Authenticate`` challenge says whether to send Basic
credentials or to fetch a Bearer token from the challenge's realm for the scopes
of the operation (``repository:<name>:pull,push``); tokens are cached until they
expire, and a request answered 401 is retried once with a token for the scope the
new challenge asks for.

Blob downloads are written through a content-store writer as they arrive, retried
with a ``Range`` request from where the broken connection stopped, and verified
(size and digest) before the blob becomes visible. Uploads check first (HEAD),
mount across repositories when asked, and send the blob in one PATCH (or in
chunks, or monolithically) before the closing PUT.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from .auth import AuthConfig, Challenge, parse_challenges
from .config import Endpoint
from .errors import ConnectionFailed, RegistryError, Unauthorized, VerificationFailed, from_response
from .manifest import ACCEPT, MAX_MANIFEST_SIZE, Descriptor

log = logging.getLogger("baleine.distribution")

USER_AGENT = "baleine/0.1 (docker-compatible)"
#: Downloads give up after this many consecutive failed attempts (Docker: 5).
MAX_ATTEMPTS = 5
#: Writes to the content store go through a thread in pieces of this size.
WRITE_BATCH = 1 << 20
ProgressFn = Callable[[int], None]


def _timeout() -> aiohttp.ClientTimeout:
    # No total limit: a big layer on a slow link may take long. A stalled socket,
    # however, is a broken download that the retry loop resumes.
    return aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)


def new_session() -> aiohttp.ClientSession:
    """The HTTP session registry clients share (connection pooling across requests)."""
    connector = aiohttp.TCPConnector(limit=32, limit_per_host=16, enable_cleanup_closed=True)
    return aiohttp.ClientSession(connector=connector, timeout=_timeout(), headers={"User-Agent": USER_AGENT},
                                 auto_decompress=False)


class TokenCache:
    """Bearer tokens by (realm, service, scopes, account), until they expire."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}

    def get(self, key: tuple[str, ...]) -> str | None:
        hit = self._tokens.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        return None

    def put(self, key: tuple[str, ...], token: str, expires_in: float) -> None:
        # Renew a little early so a token never expires mid-request.
        self._tokens[key] = (token, time.monotonic() + max(10.0, expires_in - 10.0))


def describe_connection_error(method: str, url: str, exc: BaseException) -> str:
    """Go's wording for a failed request: ``Get "http://h:1/v2/": dial tcp h:1: connect: connection refused``."""
    verb = method.capitalize()
    host = urllib.parse.urlsplit(url).netloc
    os_err = getattr(exc, "os_error", None) or exc
    code = getattr(os_err, "errno", None)
    if isinstance(exc, aiohttp.ClientConnectorError) or code is not None:
        if code == errno.ECONNREFUSED:
            return f'{verb} "{url}": dial tcp {host}: connect: connection refused'
        if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f'{verb} "{url}": dial tcp {host}: connect: no route to host'
        if isinstance(exc, aiohttp.ClientConnectorDNSError) or "Name or service not known" in str(exc):
            return f'{verb} "{url}": dial tcp: lookup {host.split(":")[0]}: no such host'
    if isinstance(exc, asyncio.TimeoutError):
        return f'{verb} "{url}": net/http: request canceled (Client.Timeout exceeded while awaiting headers)'
    if isinstance(exc, aiohttp.ClientSSLError) or isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f'{verb} "{url}": tls: {exc}'
    return f'{verb} "{url}": {exc or type(exc).__name__}'


_NETWORK_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError, OSError)


class Registry:
    """One registry endpoint, with credentials; see the module docstring.

    Every method raises RegistryError (the registry answered an error),
    ConnectionFailed (it could not be reached or the connection broke) or
    Unauthorized (credentials refused by the token service).
    """

    def __init__(self, http: aiohttp.ClientSession, endpoint: Endpoint, auth: AuthConfig | None,
                 tokens: TokenCache, scopes: list[str] | None = None) -> None:
        self.http = http
        self.endpoint = endpoint
        self.auth = auth or AuthConfig()
        self.tokens = tokens
        self.scopes = list(scopes or [])
        self.challenge: Challenge | None = None
        self._ssl: Any = None if endpoint.verify_tls else False

    @property
    def base(self) -> str:
        return self.endpoint.url

    def url(self, path: str) -> str:
        return path if "://" in path else self.base + path

    # -- auth -----------------------------------------------------------------------

    async def ping(self) -> None:
        """``GET /v2/``: check the endpoint speaks the API and learn its auth challenge."""
        url = self.url("/v2/")
        try:
            async with self.http.get(url, ssl=self._ssl, allow_redirects=False) as resp:
                body = await resp.read()
                if resp.status == 401:
                    self._learn(resp.headers.get("WWW-Authenticate"))
                    return
                if resp.status >= 400:
                    raise from_response(resp.status, body, f'Get "{url}"')
        except _NETWORK_ERRORS as exc:
            raise ConnectionFailed(describe_connection_error("GET", url, exc)) from None

    def _learn(self, header: str | None) -> None:
        for ch in parse_challenges(header):
            if ch.scheme in ("bearer", "basic"):
                self.challenge = ch
                return

    async def _auth_header(self, extra_scopes: list[str]) -> str | None:
        ch = self.challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            if self.auth.username or self.auth.password:
                raw = f"{self.auth.username}:{self.auth.password}".encode()
                return "Basic " + base64.b64encode(raw).decode()
            return None
        if self.auth.registry_token:
            return "Bearer " + self.auth.registry_token
        scopes = sorted(set(self.scopes) | set(extra_scopes))
        return "Bearer " + await self.token(ch, scopes)

    async def token(self, ch: Challenge, scopes: list[str]) -> str:
        """A Bearer token from the challenge's realm for ``scopes`` (cached)."""
        realm = ch.params.get("realm", "")
        service = ch.params.get("service", "")
        if not realm:
            raise RegistryError("unauthorized: the registry's token challenge has no realm", 401, ["UNAUTHORIZED"])
        if ch.params.get("scope"):
            scopes = sorted(set(scopes) | set(ch.params["scope"].split(" ")))
        # The secret is part of the key: a token obtained with good credentials must
        # never answer for a request made with other (wrong) ones.
        secret = hashlib.sha256(f"{self.auth.password}\0{self.auth.identity_token}".encode()).hexdigest()
        key = (realm, service, " ".join(scopes), self.auth.username, secret)
        cached = self.tokens.get(key)
        if cached:
            return cached
        try:
            if self.auth.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": self.auth.identity_token,
                        "service": service, "scope": " ".join(scopes), "client_id": "baleine"}
                ctx = self.http.post(realm, data=form, ssl=self._ssl)
            else:
                params: list[tuple[str, str]] = [("service", service)] if service else []
                params += [("scope", s) for s in scopes]
                basic = None
                if self.auth.username:
                    params.append(("account", self.auth.username))
                    basic = aiohttp.BasicAuth(self.auth.username, self.auth.password)
                ctx = self.http.get(realm, params=params, auth=basic, ssl=self._ssl)
            async with ctx as resp:
                body = await resp.read()
                if resp.status in (401, 403):
                    err = from_response(resp.status, body, f'Get "{realm}"')
                    raise Unauthorized(str(err))
                if resp.status >= 400:
                    raise from_response(resp.status, body, f'Get "{realm}"')
        except _NETWORK_ERRORS as exc:
            raise ConnectionFailed(describe_connection_error("GET", realm, exc)) from None
        import json

        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise RegistryError(f'Get "{realm}": the token service returned no token', 401, ["UNAUTHORIZED"])
        self.tokens.put(key, token, float(doc.get("expires_in") or 60))
        return token

    # -- requests -------------------------------------------------------------------

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                      data: Callable[[], Any] | None = None, params: dict[str, str] | None = None,
                      extra_scopes: list[str] | None = None,
                      allow_redirects: bool = True) -> aiohttp.ClientResponse:
        """Send a request with auth; return the response (caller releases it).

        ``data`` is a factory of the body, called once per attempt (a 401 is retried
        once with fresh auth). Network errors raise ConnectionFailed.
        """
        url = self.url(path)
        extra = list(extra_scopes or [])
        for attempt in (0, 1):
            hdrs = dict(headers or {})
            auth = await self._auth_header(extra)
            if auth:
                hdrs["Authorization"] = auth
            try:
                resp = await self.http.request(method, url, headers=hdrs, data=data() if data else None,
                                               params=params, ssl=self._ssl, allow_redirects=allow_redirects)
            except _NETWORK_ERRORS as exc:
                raise ConnectionFailed(describe_connection_error(method, url, exc)) from None
            if resp.status == 401 and attempt == 0:
                self._learn(resp.headers.get("WWW-Authenticate"))
                ch = self.challenge
                if ch is not None and (ch.scheme == "bearer" or (auth is None and self.auth.username)):
                    if ch.scheme == "bearer" and ch.params.get("scope"):
                        extra = sorted(set(extra) | set(ch.params["scope"].split(" ")))
                    await resp.read()
                    resp.release()
                    continue
            return resp
        raise AssertionError("unreachable")

    async def _fail(self, resp: aiohttp.ClientResponse, method: str) -> RegistryError:
        body = await resp.read()
        resp.release()
        return from_response(resp.status, body, f'{method.capitalize()} "{resp.url}"')

    # -- manifests ------------------------------------------------------------------

    async def get_manifest(self, repo: str, ref: str) -> tuple[bytes, str]:
        """(bytes, content type) of a manifest by tag or digest."""
        resp = await self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
        try:
            if resp.status != 200:
                raise await self._fail(resp, "GET")
            length = resp.content_length
            if length is not None and length > MAX_MANIFEST_SIZE:
                raise RegistryError(f"manifest too large ({length} bytes)", 400, ["MANIFEST_INVALID"])
            raw = await _read_limited(resp, MAX_MANIFEST_SIZE)
            if len(raw) > MAX_MANIFEST_SIZE:
                raise RegistryError("manifest too large", 400, ["MANIFEST_INVALID"])
            return raw, resp.headers.get("Content-Type", "")
        finally:
            resp.release()

    async def head_manifest(self, repo: str, ref: str) -> Descriptor | None:
        """The descriptor of a manifest (HEAD), or None when the registry does not know it."""
        resp = await self.request("HEAD", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
        try:
            if resp.status == 404:
                return None
            if resp.status != 200:
                raise await self._fail(resp, "HEAD")
            digest = resp.headers.get("Docker-Content-Digest", "")
            return Descriptor(resp.headers.get("Content-Type", ""), digest, int(resp.headers.get("Content-Length", 0)))
        finally:
            resp.release()

    async def put_manifest(self, repo: str, ref: str, raw: bytes, media_type: str) -> str:
        """Upload a manifest under a tag or digest; return the digest the registry reports."""
        resp = await self.request("PUT", f"/v2/{repo}/manifests/{ref}", headers={"Content-Type": media_type},
                                  data=lambda: raw)
        try:
            if resp.status not in (200, 201, 202):
                raise await self._fail(resp, "PUT")
            return resp.headers.get("Docker-Content-Digest", "")
        finally:
            resp.release()

    async def tags(self, repo: str) -> list[str]:
        """Every tag of a repository (following ``Link`` pagination)."""
        out: list[str] = []
        path: str | None = f"/v2/{repo}/tags/list"
        while path:
            resp = await self.request("GET", path)
            try:
                if resp.status != 200:
                    raise await self._fail(resp, "GET")
                doc = await resp.json(content_type=None)
                out.extend(doc.get("tags") or [])
                link = resp.headers.get("Link", "")
                path = None
                if 'rel="next"' in link:
                    target = link.split(";", 1)[0].strip().strip("<>")
                    path = target if "://" in target else target
            finally:
                resp.release()
        return out

    # -- blobs: download ------------------------------------------------------------------

    async def get_blob_bytes(self, repo: str, desc: Descriptor, limit: int = 16 << 20) -> bytes:
        """A small blob (an image config) in memory, verified against its digest."""
        if desc.size > limit:
            raise RegistryError(f"blob {desc.digest} is too large ({desc.size} bytes)", 400, ["SIZE_INVALID"])
        resp = await self.request("GET", f"/v2/{repo}/blobs/{desc.digest}")
        try:
            if resp.status != 200:
                raise await self._fail(resp, "GET")
            data = await _read_limited(resp, limit)
        finally:
            resp.release()
        if "sha256:" + hashlib.sha256(data).hexdigest() != desc.digest:
            raise VerificationFailed(f"image config verification failed for digest {desc.digest}")
        return data

    async def download_blob(self, repo: str, desc: Descriptor, writer: Any, on_progress: ProgressFn) -> None:
        """Stream a blob into ``writer``, resuming broken transfers.

        ``writer`` has ``size``, ``write(bytes)`` and ``reset()`` (start over), all
        blocking (they run in threads). It receives exactly ``desc.size`` bytes; the
        caller verifies the digest. Raises ConnectionFailed after MAX_ATTEMPTS broken attempts
        ("unexpected EOF" when the registry kept sending less than announced),
        RegistryError for error statuses, VerificationFailed for oversized bodies.
        """
        attempts = 0
        last_error = ""
        while True:
            start = writer.size
            headers = {"Range": f"bytes={start}-"} if start else {}
            try:
                resp = await self.request("GET", f"/v2/{repo}/blobs/{desc.digest}", headers=headers)
            except ConnectionFailed as exc:
                attempts += 1
                last_error = str(exc)
                if attempts >= MAX_ATTEMPTS:
                    raise
                await asyncio.sleep(min(0.2 * 2 ** attempts, 5))
                continue
            try:
                if resp.status == 200 and start:
                    # The server ignored the range: start over.
                    await asyncio.to_thread(writer.reset)
                    start = 0
                elif resp.status == 206:
                    if not resp.headers.get("Content-Range", "").startswith(f"bytes {start}-"):
                        # Not the range asked for: start over (counted, so a server that
                        # keeps doing this cannot loop us forever).
                        await asyncio.to_thread(writer.reset)
                        attempts += 1
                        if attempts >= MAX_ATTEMPTS:
                            raise ConnectionFailed(f"failed to download {desc.digest}: bad Content-Range")
                        continue
                elif resp.status == 416 and start >= desc.size:
                    return
                elif resp.status != 200:
                    raise await self._fail(resp, "GET")
                await self._drain(resp, desc, writer, on_progress)
            except _NETWORK_ERRORS as exc:
                attempts += 1
                last_error = "unexpected EOF" if isinstance(exc, aiohttp.ClientPayloadError) else str(exc) or "unexpected EOF"
                log.info("download of %s broke at %d bytes (%s), attempt %d", desc.digest, writer.size, exc, attempts)
                if attempts >= MAX_ATTEMPTS:
                    raise ConnectionFailed(f"failed to download {desc.digest}: {last_error}") from None
                await asyncio.sleep(min(0.2 * 2 ** attempts, 5))
                continue
            finally:
                resp.release()
            if writer.size == desc.size:
                return
            # The body ended early without a protocol error (no Content-Length):
            # treat it as a broken connection and resume.
            attempts += 1
            last_error = "unexpected EOF"
            if attempts >= MAX_ATTEMPTS:
                raise ConnectionFailed(f"failed to download {desc.digest}: unexpected EOF")
            await asyncio.sleep(min(0.2 * 2 ** attempts, 5))

    @staticmethod
    async def _drain(resp: aiohttp.ClientResponse, desc: Descriptor, writer: Any, on_progress: ProgressFn) -> None:
        buf = bytearray()
        async for chunk in resp.content.iter_chunked(256 << 10):
            buf += chunk
            if writer.size + len(buf) > desc.size:
                raise VerificationFailed(f"filesystem layer verification failed for digest {desc.digest}: "
                                         f"more than the {desc.size} bytes announced")
            if len(buf) >= WRITE_BATCH:
                data = bytes(buf)
                buf.clear()
                await asyncio.to_thread(writer.write, data)
                on_progress(writer.size)
        if buf:
            await asyncio.to_thread(writer.write, bytes(buf))
            on_progress(writer.size)

    # -- blobs: upload ---------------------------------------------------------------

    async def blob_size(self, repo: str, digest: str) -> int | None:
        """The size of a blob the repository has (HEAD), or None."""
        resp = await self.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        try:
            if resp.status == 404:
                return None
            if resp.status not in (200, 307):
                raise await self._fail(resp, "HEAD")
            return int(resp.headers.get("Content-Length", 0))
        finally:
            resp.release()

    async def start_upload(self, repo: str, mount: str | None = None, from_repo: str | None = None) -> str | None:
        """POST an upload (or a cross-repository mount); the upload URL, or None if mounted."""
        params = {"mount": mount, "from": from_repo} if mount and from_repo else None
        extra = [f"repository:{from_repo}:pull"] if from_repo else None
        resp = await self.request("POST", f"/v2/{repo}/blobs/uploads/", params=params, extra_scopes=extra,
                                  allow_redirects=False)
        try:
            if resp.status == 201 and mount:
                return None
            if resp.status != 202:
                raise await self._fail(resp, "POST")
            location = resp.headers.get("Location", "")
            if not location:
                raise RegistryError("the registry gave no upload location", resp.status)
            return urllib.parse.urljoin(str(resp.url), location)
        finally:
            resp.release()

    async def cancel_upload(self, location: str) -> None:
        try:
            resp = await self.request("DELETE", location)
            resp.release()
        except (RegistryError, ConnectionFailed):
            pass

    async def upload(self, repo: str, digest: str, size: int, path: str, on_progress: ProgressFn,
                     location: str | None = None, chunk_size: int = 0, monolithic: bool = False) -> None:
        """Upload the file at ``path`` as blob ``digest``.

        Default: one streamed PATCH, then ``PUT ?digest=``. ``chunk_size`` > 0 sends
        PATCHes of that size with ``Content-Range``; ``monolithic`` sends the body
        with the PUT itself. A broken upload is started again from scratch (up to
        MAX_ATTEMPTS times).
        """
        attempts = 0
        while True:
            try:
                if location is None:
                    location = await self.start_upload(repo)
                    assert location is not None
                if monolithic:
                    await self._put_upload(location, digest, path, 0, size, on_progress)
                    return
                offset = 0
                step = chunk_size if chunk_size > 0 else max(size, 1)
                while offset < size:
                    n = min(step, size - offset)
                    location = await self._patch(location, path, offset, n, chunk_size > 0, on_progress)
                    offset += n
                await self._put_upload(location, digest, path, size, 0, on_progress)
                return
            except ConnectionFailed:
                attempts += 1
                if location:
                    await self.cancel_upload(location)
                location = None
                if attempts >= MAX_ATTEMPTS:
                    raise
                await asyncio.sleep(min(0.2 * 2 ** attempts, 5))

    async def _patch(self, location: str, path: str, offset: int, n: int, ranged: bool,
                     on_progress: ProgressFn) -> str:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(n)}
        if ranged:
            headers["Content-Range"] = f"{offset}-{offset + n - 1}"
        resp = await self.request("PATCH", location, headers=headers,
                                  data=lambda: _file_body(path, offset, n, on_progress))
        try:
            if resp.status != 202:
                raise await self._fail(resp, "PATCH")
            return urllib.parse.urljoin(str(resp.url), resp.headers.get("Location") or location)
        finally:
            resp.release()

    async def _put_upload(self, location: str, digest: str, path: str, offset: int, n: int,
                          on_progress: ProgressFn) -> None:
        sep = "&" if "?" in location else "?"
        url = f"{location}{sep}digest={urllib.parse.quote(digest)}"
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(n)}
        resp = await self.request("PUT", url, headers=headers,
                                  data=(lambda: _file_body(path, offset, n, on_progress)) if n else (lambda: b""))
        try:
            if resp.status not in (201, 204):
                raise await self._fail(resp, "PUT")
        finally:
            resp.release()


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, or its first ``limit + 1`` bytes when it is longer (so that the
    caller can tell). ConnectionFailed when the connection breaks."""
    buf = bytearray()
    try:
        async for chunk in resp.content.iter_chunked(1 << 16):
            buf += chunk
            if len(buf) > limit:
                break
    except _NETWORK_ERRORS as exc:
        raise ConnectionFailed(describe_connection_error(resp.method, str(resp.url), exc)) from None
    return bytes(buf[: limit + 1])


async def _file_body(path: str, offset: int, n: int, on_progress: ProgressFn) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(f.seek, offset)
        sent = 0
        while sent < n:
            chunk = await asyncio.to_thread(f.read, min(1 << 20, n - sent))
            if not chunk:
                raise ConnectionFailed(f"{path} is shorter than expected")
            sent += len(chunk)
            on_progress(offset + sent)
            yield chunk
    finally:
        f.close()
