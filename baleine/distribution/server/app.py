"""The registry server: OCI Distribution Specification v1.1 over aiohttp.

Endpoints (``<name>`` may contain slashes)::

    GET  /v2/                                  API check (and auth challenge)
    GET|HEAD|DELETE /v2/<name>/blobs/<digest>  blobs (GET honours Range)
    POST /v2/<name>/blobs/uploads/             start an upload; ?digest= monolithic;
                                               ?mount=<digest>&from=<repo> cross-repository mount
    GET|PATCH|PUT|DELETE /v2/<name>/blobs/uploads/<id>   status, chunk, close (?digest=), cancel
    GET|HEAD|PUT|DELETE /v2/<name>/manifests/<tag|digest>
    GET  /v2/<name>/tags/list?n=&last=         tags, paginated with Link
    GET  /v2/<name>/referrers/<digest>?artifactType=
    GET  /v2/_catalog?n=&last=                 repositories, paginated
    GET|POST /token                            the token service (when enabled)

Every upload is verified against its digest before it becomes a blob (a mismatch
is ``DIGEST_INVALID`` and nothing is stored); manifests are parsed and every blob
or manifest they reference must already be in the repository. Errors use the
spec's codes and body ``{"errors": [{"code", "message", "detail"}]}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .. import manifest as mf
from .access import SERVICE, Access, Identity
from .storage import TAG_RE, DigestMismatch, Storage, valid_digest, valid_name

log = logging.getLogger("baleine.registry")

API_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}

MESSAGES = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "TAG_INVALID": (400, "manifest tag did not match URI"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "The operation is unsupported."),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
}


class RegistryHTTPError(Exception):
    """An error answer: spec code, optional detail, status (defaults from MESSAGES)."""

    def __init__(self, code: str, detail: Any = None, status: int | None = None, message: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        default_status, default_message = MESSAGES[code]
        super().__init__(message or default_message)
        self.code = code
        self.detail = detail
        self.status = status or default_status
        self.message = message or default_message
        self.headers = headers or {}

    def response(self) -> web.Response:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            err["detail"] = self.detail
        headers = dict(API_HEADER)
        headers.update(self.headers)
        return web.Response(status=self.status, body=json.dumps({"errors": [err]}).encode(),
                            content_type="application/json", headers=headers)


@dataclass
class Settings:
    """How a server runs (from ``baleine registry serve``'s options)."""

    root: str
    access: Access
    token: bool = False
    delete_enabled: bool = True
    stats: bool = False


@dataclass
class _Upload:
    """Hash state of an upload received in order (so closing it needs no re-read)."""

    hasher: Any = field(default_factory=hashlib.sha256)
    offset: int = 0


class Registry:
    """The request handlers over one Storage."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.storage = Storage(settings.root)
        self.access = settings.access
        self.uploads: dict[str, _Upload] = {}
        self.stats: Counter[str] = Counter()
        self.blob_gets: Counter[str] = Counter()
        # Serialises appends per upload: two PATCHes of one upload must not interleave.
        self._upload_locks: dict[str, asyncio.Lock] = {}

    # -- auth ------------------------------------------------------------------------------

    def _challenge(self, request: web.Request, scope: str | None, error: str | None = None) -> dict[str, str]:
        if self.settings.token:
            realm = f"{request.scheme}://{request.host}/token"
            value = f'Bearer realm="{realm}",service="{SERVICE}"'
            if scope:
                value += f',scope="{scope}"'
            if error:
                value += f',error="{error}"'
        else:
            value = f'Basic realm="{SERVICE}"'
        return {"WWW-Authenticate": value}

    async def _authorize(self, request: web.Request, repo: str | None, actions: list[str]) -> Identity:
        """Raise 401/403 unless the request may do ``actions`` on ``repo`` (None: any access at all)."""
        if not self.access.enabled:
            return Identity(None)
        ident = await self.access.identify(request.headers.get("Authorization"))
        scope = f"repository:{repo}:{','.join(actions)}" if repo else None
        if ident.bad_credentials:
            raise RegistryHTTPError("UNAUTHORIZED", headers=self._challenge(request, scope))
        if repo is None:
            # /v2/: authenticated requests pass; anonymous ones learn the challenge.
            if ident.user is None and ident.token_access is None:
                raise RegistryHTTPError("UNAUTHORIZED", headers=self._challenge(request, None))
            return ident
        for action in actions:
            if not self.access.permits(ident, repo, action):
                if ident.user is None or (ident.token_access is not None and self._needs_new_token(ident, repo)):
                    err = "insufficient_scope" if ident.token_access is not None else None
                    raise RegistryHTTPError("UNAUTHORIZED", headers=self._challenge(request, scope, err),
                                            detail=[{"Type": "repository", "Name": repo, "Action": action}])
                raise RegistryHTTPError("DENIED", detail=[{"Type": "repository", "Name": repo, "Action": action}])
        return ident

    def _needs_new_token(self, ident: Identity, repo: str) -> bool:
        """A token that does not mention the repository at all: the client should ask again."""
        return not any(isinstance(a, dict) and a.get("name") == repo for a in ident.token_access or [])

    # -- dispatch --------------------------------------------------------------------------

    _UPLOAD = re.compile(r"^(?P<name>.+)/blobs/uploads/?(?P<uuid>[^/]*)$")
    _BLOB = re.compile(r"^(?P<name>.+)/blobs/(?P<digest>[^/]+)$")
    _MANIFEST = re.compile(r"^(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
    _TAGS = re.compile(r"^(?P<name>.+)/tags/list$")
    _REFERRERS = re.compile(r"^(?P<name>.+)/referrers/(?P<digest>[^/]+)$")

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info.get("tail", "")
        method = request.method
        self.stats[f"{method} requests"] += 1
        try:
            if tail in ("", "/"):
                if method not in ("GET", "HEAD"):
                    raise RegistryHTTPError("UNSUPPORTED")
                await self._authorize(request, None, [])
                return web.Response(status=200, body=b"{}", content_type="application/json", headers=API_HEADER)
            if tail == "_catalog":
                return await self.catalog(request)
            for rx, handler in ((self._UPLOAD, self.upload), (self._BLOB, self.blob), (self._MANIFEST, self.manifest),
                                (self._TAGS, self.tags), (self._REFERRERS, self.referrers)):
                m = rx.match(tail)
                if m:
                    name = m.group("name")
                    if not valid_name(name):
                        raise RegistryHTTPError("NAME_INVALID", detail={"name": name})
                    return await handler(request, **m.groupdict())
            raise web.HTTPNotFound(text="404 page not found\n")
        except RegistryHTTPError as exc:
            return exc.response()

    # -- blobs -----------------------------------------------------------------------------

    async def blob(self, request: web.Request, name: str, digest: str) -> web.StreamResponse:
        method = request.method
        if method in ("GET", "HEAD"):
            await self._authorize(request, name, ["pull"])
        elif method == "DELETE":
            await self._authorize(request, name, ["delete"])
            if not self.settings.delete_enabled:
                raise RegistryHTTPError("UNSUPPORTED")
        else:
            raise RegistryHTTPError("UNSUPPORTED")
        if not valid_digest(digest):
            raise RegistryHTTPError("DIGEST_INVALID", detail={"digest": digest}, message="invalid digest")
        st = self.storage
        if not await asyncio.to_thread(st.linked, name, digest):
            raise RegistryHTTPError("BLOB_UNKNOWN", detail={"digest": digest})
        if method == "DELETE":
            await asyncio.to_thread(st.unlink, name, digest)
            return web.Response(status=202, headers=dict(API_HEADER, **{"Content-Length": "0"}))
        headers = dict(API_HEADER)
        headers.update({"Docker-Content-Digest": digest, "Accept-Ranges": "bytes", "ETag": f'"{digest}"',
                        "Cache-Control": "max-age=31536000"})
        if method == "HEAD":
            size = await asyncio.to_thread(st.blob_size, digest)
            headers["Content-Length"] = str(size or 0)
            headers["Content-Type"] = "application/octet-stream"
            return web.Response(status=200, headers=headers)
        self.blob_gets[digest] += 1
        resp = web.FileResponse(st.blob_path(digest), chunk_size=1 << 20, headers=headers)
        resp.content_type = "application/octet-stream"
        return resp

    # -- uploads ----------------------------------------------------------------------------

    def _upload_headers(self, name: str, uuid: str, size: int) -> dict[str, str]:
        h = dict(API_HEADER)
        h.update({"Location": f"/v2/{name}/blobs/uploads/{uuid}", "Range": f"0-{max(size - 1, 0)}",
                  "Docker-Upload-UUID": uuid, "Content-Length": "0"})
        return h

    async def upload(self, request: web.Request, name: str, uuid: str) -> web.StreamResponse:
        method = request.method
        st = self.storage
        if method == "POST" and not uuid:
            return await self._start_upload(request, name)
        if not uuid:
            raise RegistryHTTPError("BLOB_UPLOAD_UNKNOWN")
        await self._authorize(request, name, ["pull", "push"] if method != "GET" else ["pull"])
        owner = await asyncio.to_thread(st.upload_repo, uuid)
        if owner != name:
            raise RegistryHTTPError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": uuid})
        lock = self._upload_locks.setdefault(uuid, asyncio.Lock())
        async with lock:
            if method == "GET":
                size = await asyncio.to_thread(st.upload_size, uuid)
                return web.Response(status=204, headers=self._upload_headers(name, uuid, size))
            if method == "DELETE":
                await asyncio.to_thread(st.cancel_upload, uuid)
                self.uploads.pop(uuid, None)
                self._upload_locks.pop(uuid, None)
                return web.Response(status=204, headers=dict(API_HEADER, **{"Content-Length": "0"}))
            if method == "PATCH":
                size = await self._receive(request, uuid, ranged=True)
                return web.Response(status=202, headers=self._upload_headers(name, uuid, size))
            if method == "PUT":
                digest = request.query.get("digest", "")
                if not valid_digest(digest):
                    raise RegistryHTTPError("DIGEST_INVALID", detail={"digest": digest},
                                            message="invalid or missing digest")
                await self._receive(request, uuid, ranged=True)
                return await self._finish(name, uuid, digest)
        raise RegistryHTTPError("UNSUPPORTED")

    async def _start_upload(self, request: web.Request, name: str) -> web.StreamResponse:
        await self._authorize(request, name, ["pull", "push"])
        st = self.storage
        mount, source = request.query.get("mount"), request.query.get("from")
        if mount and source and valid_digest(mount) and valid_name(source):
            ident = await self.access.identify(request.headers.get("Authorization")) if self.access.enabled \
                else Identity(None)
            if self.access.permits(ident, source, "pull") and await asyncio.to_thread(st.linked, source, mount):
                await asyncio.to_thread(st.link, name, mount)
                return web.Response(status=201, headers=dict(API_HEADER, **{
                    "Location": f"/v2/{name}/blobs/{mount}", "Docker-Content-Digest": mount, "Content-Length": "0"}))
        uuid = await asyncio.to_thread(st.new_upload, name)
        self.uploads[uuid] = _Upload()
        digest = request.query.get("digest")
        if digest is not None:
            if not valid_digest(digest):
                await asyncio.to_thread(st.cancel_upload, uuid)
                raise RegistryHTTPError("DIGEST_INVALID", detail={"digest": digest}, message="invalid digest")
            await self._receive(request, uuid, ranged=False)
            return await self._finish(name, uuid, digest)
        return web.Response(status=202, headers=self._upload_headers(name, uuid, 0))

    async def _receive(self, request: web.Request, uuid: str, ranged: bool) -> int:
        """Append the request body to an upload (checking ``Content-Range``); return its size."""
        st = self.storage
        size = await asyncio.to_thread(st.upload_size, uuid)
        crange = request.headers.get("Content-Range")
        expected_len: int | None = None
        if ranged and crange:
            m = re.fullmatch(r"(?:bytes[ =])?(\d+)-(\d+)(?:/\d+|/\*)?", crange.strip())
            if not m or int(m.group(1)) != size or int(m.group(2)) < int(m.group(1)):
                raise RegistryHTTPError("BLOB_UPLOAD_INVALID", status=416,
                                        detail={"range": crange, "offset": size},
                                        headers={"Range": f"0-{max(size - 1, 0)}", "Location":
                                                 f"/v2/{st.upload_repo(uuid)}/blobs/uploads/{uuid}"})
            expected_len = int(m.group(2)) - int(m.group(1)) + 1
        state = self.uploads.get(uuid)
        if state is not None and state.offset != size:
            state = None
        buf = bytearray()
        received = 0

        def flush(data: bytes) -> None:
            st.append(uuid, data)
            if state is not None:
                state.hasher.update(data)
                state.offset += len(data)

        async for chunk in request.content.iter_chunked(1 << 20):
            buf += chunk
            received += len(chunk)
            if len(buf) >= 4 << 20:
                data = bytes(buf)
                buf.clear()
                await asyncio.to_thread(flush, data)
        if buf:
            await asyncio.to_thread(flush, bytes(buf))
        if state is None:
            self.uploads.pop(uuid, None)
        if expected_len is not None and received != expected_len:
            raise RegistryHTTPError("SIZE_INVALID", detail={"expected": expected_len, "received": received})
        return size + received

    async def _finish(self, name: str, uuid: str, digest: str) -> web.Response:
        st = self.storage
        state = self.uploads.pop(uuid, None)
        computed = None
        if state is not None and state.offset == await asyncio.to_thread(st.upload_size, uuid):
            computed = "sha256:" + state.hasher.hexdigest()
        self._upload_locks.pop(uuid, None)
        try:
            await asyncio.to_thread(st.finish_upload, uuid, name, digest, computed)
        except DigestMismatch as exc:
            raise RegistryHTTPError("DIGEST_INVALID", detail={"digest": digest, "computed": str(exc)}) from None
        return web.Response(status=201, headers=dict(API_HEADER, **{
            "Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest, "Content-Length": "0"}))

    # -- manifests ----------------------------------------------------------------------------

    async def manifest(self, request: web.Request, name: str, ref: str) -> web.StreamResponse:
        method = request.method
        st = self.storage
        is_digest = ref.startswith("sha256:") or ":" in ref
        if is_digest and not valid_digest(ref):
            raise RegistryHTTPError("DIGEST_INVALID", detail={"digest": ref}, message="invalid digest")
        if not is_digest and not TAG_RE.fullmatch(ref):
            raise RegistryHTTPError("TAG_INVALID", detail={"tag": ref}, message="invalid tag")
        if method in ("GET", "HEAD"):
            await self._authorize(request, name, ["pull"])
            digest = await asyncio.to_thread(st.resolve, name, ref)
            if digest is None:
                exists = await asyncio.to_thread(st.repo_exists, name)
                raise RegistryHTTPError("MANIFEST_UNKNOWN" if exists else "NAME_UNKNOWN",
                                        detail={"Tag": ref} if exists else {"name": name})
            media = await asyncio.to_thread(st.manifest_type, name, digest)
            raw = await asyncio.to_thread(st.read_blob, digest)
            if raw is None or media is None:
                raise RegistryHTTPError("MANIFEST_UNKNOWN", detail={"Tag": ref})
            self.stats["manifest GET" if method == "GET" else "manifest HEAD"] += 1
            headers = dict(API_HEADER)
            headers.update({"Docker-Content-Digest": digest, "ETag": f'"{digest}"'})
            if method == "HEAD":
                headers["Content-Length"] = str(len(raw))
                headers["Content-Type"] = media
                return web.Response(status=200, headers=headers)
            return web.Response(status=200, body=raw, headers=dict(headers, **{"Content-Type": media}))
        if method == "PUT":
            await self._authorize(request, name, ["pull", "push"])
            return await self._put_manifest(request, name, ref, is_digest)
        if method == "DELETE":
            await self._authorize(request, name, ["delete"])
            if not self.settings.delete_enabled:
                raise RegistryHTTPError("UNSUPPORTED")
            if is_digest:
                ok = await asyncio.to_thread(st.delete_manifest, name, ref)
            else:
                ok = await asyncio.to_thread(st.delete_tag, name, ref)
            if not ok:
                raise RegistryHTTPError("MANIFEST_UNKNOWN", detail={"Tag": ref})
            return web.Response(status=202, headers=dict(API_HEADER, **{"Content-Length": "0"}))
        raise RegistryHTTPError("UNSUPPORTED")

    async def _put_manifest(self, request: web.Request, name: str, ref: str, is_digest: bool) -> web.Response:
        st = self.storage
        raw = await request.content.read(mf.MAX_MANIFEST_SIZE + 1)
        if len(raw) > mf.MAX_MANIFEST_SIZE:
            raise RegistryHTTPError("MANIFEST_INVALID", status=413, detail="manifest larger than 4 MiB")
        ctype = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        try:
            doc = mf.parse(raw, ctype)
        except mf.ManifestError as exc:
            raise RegistryHTTPError("MANIFEST_INVALID", detail=str(exc)) from None
        try:
            declared = json.loads(raw).get("mediaType")
        except (ValueError, AttributeError):
            declared = None
        if declared and ctype and ctype != declared and ctype not in ("application/json", "application/octet-stream"):
            raise RegistryHTTPError("MANIFEST_INVALID",
                                    detail=f"Content-Type {ctype} does not match the manifest's mediaType {declared}")
        digest = doc.digest
        if is_digest and digest != ref:
            raise RegistryHTTPError("DIGEST_INVALID", detail={"digest": ref, "computed": digest})
        missing = await asyncio.to_thread(self._missing, name, doc)
        if missing:
            raise RegistryHTTPError("MANIFEST_BLOB_UNKNOWN", detail={"digest": missing})
        media = doc.media_type
        subject = doc.subject.digest if doc.subject else None
        descriptor: dict[str, Any] = {"mediaType": media, "digest": digest, "size": len(raw)}
        artifact = doc.artifact_type or (doc.config.media_type if isinstance(doc, mf.Manifest) else None)
        if artifact:
            descriptor["artifactType"] = artifact
        if doc.annotations:
            descriptor["annotations"] = doc.annotations
        await asyncio.to_thread(st.put_manifest, name, raw, media, None if is_digest else ref, subject, descriptor)
        headers = dict(API_HEADER)
        headers.update({"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest,
                        "Content-Length": "0"})
        if subject:
            headers["OCI-Subject"] = subject
        return web.Response(status=201, headers=headers)

    def _missing(self, name: str, doc: mf.Manifest | mf.Index) -> str | None:
        """The first referenced blob/manifest the repository lacks, or None (blocking)."""
        st = self.storage
        if isinstance(doc, mf.Index):
            for d in doc.manifests:
                if st.manifest_type(name, d.digest) is None:
                    return d.digest
            return None
        if not st.linked(name, doc.config.digest):
            return doc.config.digest
        for layer in doc.layers:
            if layer.urls:
                continue  # foreign layers live elsewhere
            if not st.linked(name, layer.digest):
                return layer.digest
        return None

    # -- listings ----------------------------------------------------------------------------

    @staticmethod
    def _page(request: web.Request, items: list[str]) -> tuple[list[str], int | None]:
        n_raw = request.query.get("n")
        last = request.query.get("last")
        if last:
            items = [i for i in items if i > last]
        if n_raw is None or n_raw == "":
            return items, None
        try:
            n = int(n_raw)
        except ValueError:
            raise RegistryHTTPError("PAGINATION_NUMBER_INVALID", detail={"n": n_raw}) from None
        if n < 0:
            raise RegistryHTTPError("PAGINATION_NUMBER_INVALID", detail={"n": n_raw})
        return items[:n], (n if len(items) > n else None)

    async def tags(self, request: web.Request, name: str) -> web.Response:
        if request.method != "GET":
            raise RegistryHTTPError("UNSUPPORTED")
        await self._authorize(request, name, ["pull"])
        st = self.storage
        if not await asyncio.to_thread(st.repo_exists, name):
            raise RegistryHTTPError("NAME_UNKNOWN", detail={"name": name})
        page, more = self._page(request, await asyncio.to_thread(st.tags, name))
        headers = dict(API_HEADER)
        if more is not None and page:
            q = urllib.parse.urlencode({"n": more, "last": page[-1]})
            headers["Link"] = f'</v2/{name}/tags/list?{q}>; rel="next"'
        return web.json_response({"name": name, "tags": page}, headers=headers)

    async def catalog(self, request: web.Request) -> web.Response:
        if request.method != "GET":
            raise RegistryHTTPError("UNSUPPORTED")
        ident = Identity(None)
        if self.access.enabled:
            ident = await self.access.identify(request.headers.get("Authorization"))
            if ident.bad_credentials or (ident.user is None and ident.token_access is None and
                                         not self.access.allowed_actions(None, "*")):
                raise RegistryHTTPError("UNAUTHORIZED",
                                        headers=self._challenge(request, "registry:catalog:*"))
        repos = await asyncio.to_thread(self.storage.repositories)
        if self.access.enabled and ident.token_access is None:
            repos = [r for r in repos if "pull" in self.access.allowed_actions(ident.user, r)]
        page, more = self._page(request, repos)
        headers = dict(API_HEADER)
        if more is not None and page:
            q = urllib.parse.urlencode({"n": more, "last": page[-1]})
            headers["Link"] = f'</v2/_catalog?{q}>; rel="next"'
        return web.json_response({"repositories": page}, headers=headers)

    async def referrers(self, request: web.Request, name: str, digest: str) -> web.Response:
        if request.method != "GET":
            raise RegistryHTTPError("UNSUPPORTED")
        await self._authorize(request, name, ["pull"])
        if not valid_digest(digest):
            raise RegistryHTTPError("DIGEST_INVALID", detail={"digest": digest}, message="invalid digest")
        items = await asyncio.to_thread(self.storage.referrers, name, digest)
        headers = dict(API_HEADER)
        wanted = request.query.get("artifactType")
        if wanted:
            items = [i for i in items if i.get("artifactType") == wanted]
            headers["OCI-Filters-Applied"] = "artifactType"
        body = json.dumps({"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": items}).encode()
        return web.Response(status=200, body=body, headers=dict(headers, **{"Content-Type": mf.OCI_INDEX}))

    # -- token service ----------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        """``GET /token?service=&scope=...`` (Basic credentials optional) and the OAuth2
        ``POST /token`` password grant."""
        access = self.access
        assert access.tokens is not None
        user: str | None = None
        if request.method == "POST":
            form = await request.post()
            scopes = str(form.get("scope", "")).split(" ")
            if form.get("grant_type") == "password":
                name, password = str(form.get("username", "")), str(form.get("password", ""))
                ok = access.users is not None and await asyncio.to_thread(access.users.check, name, password)
                if not ok:
                    return _token_error(401, "incorrect username or password")
                user = name
            else:
                return _token_error(400, "unsupported grant_type")
        else:
            scopes = request.query.getall("scope", [])
            auth = request.headers.get("Authorization")
            if auth:
                ident = await access.identify(auth)
                if ident.bad_credentials or ident.user is None:
                    return _token_error(401, "incorrect username or password")
                user = ident.user
        granted = access.grant(user, [s for s in scopes if s])
        token = access.tokens.issue(user or "", granted)
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return web.json_response({"token": token, "access_token": token, "expires_in": 300, "issued_at": issued})

    async def stats_handler(self, request: web.Request) -> web.Response:
        return web.json_response({"blob_gets": dict(self.blob_gets), "counters": dict(self.stats)})


def _token_error(status: int, detail: str) -> web.Response:
    body = {"errors": [{"code": "UNAUTHORIZED" if status == 401 else "UNSUPPORTED",
                        "message": "authentication required" if status == 401 else detail, "detail": detail}],
            "details": detail}
    return web.json_response(body, status=status)


REGISTRY: web.AppKey[Registry] = web.AppKey("registry", Registry)


def make_app(settings: Settings) -> web.Application:
    """The aiohttp application of a registry server."""
    reg = Registry(settings)
    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/v2", lambda r: _redirect_v2(r))
    app.router.add_route("*", "/v2/{tail:.*}", reg.dispatch)
    if settings.token:
        app.router.add_route("GET", "/token", reg.token)
        app.router.add_route("POST", "/token", reg.token)
    if settings.stats:
        app.router.add_route("GET", "/_baleine/stats", reg.stats_handler)
    app[REGISTRY] = reg
    return app


async def _redirect_v2(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/v2/")
