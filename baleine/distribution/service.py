"""The daemon's distribution service: pull, push, login and remote inspection.

:class:`Distribution` is wired by the daemon over the engine's stores
(:class:`LocalStores`: what pulls and pushes really use). It owns the HTTP
session shared by every registry operation, the Bearer token cache, the
registry options (mirrors, insecure registries) and the blob metadata the pusher
uses. The API layer calls ``pull``, ``push``, ``login`` and ``inspect`` and streams
the progress messages they emit through their ``sink``.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..engine.events import Events
from ..engine.gc import GarbageCollector
from ..engine.images.content import ContentStore
from ..engine.images.records import Images
from ..engine.images.snapshots import Snapshots
from ..engine.store import Store
from ..rules import references
from ..rules.errors import InvalidParameter, Unavailable
from .auth import AuthConfig, registry_host, scope
from .client import Registry, TokenCache, new_session
from .config import Endpoint, RegistryConfig
from .errors import ConnectionFailed, RegistryError, Unauthorized
from .manifest import Index, Manifest, parse, parse_platform
from .metadata import BlobMetadata
from .progress import Sink

log = logging.getLogger("baleine.distribution")


@dataclass(frozen=True)
class LocalStores:
    """The engine's stores a pull or push works on.

    ``gc`` gives each pull a lease on what it writes and collects what a failed pull
    leaves; ``store`` holds the ``distribution_blobs`` table (see ``metadata``);
    ``tmp_dir`` is scratch space on the data root's filesystem.
    """

    store: Store
    images: Images
    content: ContentStore
    snapshots: Snapshots
    events: Events
    gc: GarbageCollector
    tmp_dir: str


class Distribution:
    """See the module docstring; implements ``engine.interface.distribution.DistributionBackend``."""

    def __init__(self, local: LocalStores, config: RegistryConfig | None = None) -> None:
        self.local = local
        self.config = config or RegistryConfig()
        self.tokens = TokenCache()
        self.metadata = BlobMetadata(local.store)
        self._http: aiohttp.ClientSession | None = None
        #: host → the endpoint URL that answered last (skips the https attempt of an
        #: insecure registry that only speaks http).
        self._preferred: dict[str, str] = {}
        #: blob digest → the download in progress (concurrent pulls share it).
        self.inflight: dict[str, asyncio.Future[None]] = {}
        self.download_slots = asyncio.Semaphore(self.config.max_concurrent_downloads)
        self.upload_slots = asyncio.Semaphore(self.config.max_concurrent_uploads)

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = new_session()
        return self._http

    async def close(self) -> None:
        if self._http is not None and not self._http.closed:
            await self._http.close()

    # -- endpoints ----------------------------------------------------------------------

    async def endpoints(self, domain: str, push: bool = False) -> list[Endpoint]:
        """The endpoints for a domain, the one that worked last first. Pushes never go
        to mirrors (as dockerd)."""
        eps = await asyncio.to_thread(self.config.endpoints, domain)
        if push:
            eps = [e for e in eps if not e.mirror]
        pref = self._preferred.get(domain)
        if pref:
            eps.sort(key=lambda e: 0 if e.url == pref else 1)
        return eps

    async def connect(self, domain: str, auth: AuthConfig, scopes: list[str], push: bool = False
                      ) -> AsyncIterator[Registry]:
        """Yield pinged registries for ``domain`` in order of preference.

        The caller tries its operation on each and moves on to the next when it
        should fall back (mirror failures, unreachable schemes). When no endpoint
        answers at all, the last connection error is raised.
        """
        eps = await self.endpoints(domain, push)
        if not eps:
            raise RegistryError("Docker Hub is disabled on this daemon (--registry-hub none)"
                                + ("" if push else " and no mirror has the image"), 403, ["DENIED"])
        pref = self._preferred.get(domain)
        errors: dict[str, Exception] = {}
        yielded = False
        for ep in eps:
            reg = Registry(self.http, ep, auth, self.tokens, scopes)
            try:
                await reg.ping()
            except (ConnectionFailed, RegistryError) as exc:
                log.info("registry endpoint %s: %s", ep.url, exc)
                errors[ep.url] = exc
                continue
            self._preferred[domain] = ep.url
            yielded = True
            yield reg
        if not yielded and errors:
            # The endpoint that worked before says best what is wrong now (an
            # insecure registry that speaks plain HTTP: not its HTTPS attempt).
            raise errors.get(pref or "") or list(errors.values())[-1]

    # -- operations -------------------------------------------------------------------

    async def pull(self, from_image: str, tag: str, platform: str | None, auth: AuthConfig, sink: Sink) -> str:
        """Pull ``fromImage``/``tag`` as ``POST /images/create`` does; return the final reference.

        ``tag`` may be a tag or a digest; with neither (and no tag in ``fromImage``)
        every tag of the repository is pulled. Errors raise (see puller).
        """
        from .puller import Puller

        ref = _pull_reference(from_image, tag)
        puller = Puller(self, ref, parse_platform(platform) if platform else None, bool(platform), auth, sink)
        if ref.is_name_only:
            await puller.pull_all_tags()
            return ref.familiar()
        await puller.pull()
        return ref.familiar()

    async def push(self, name: str, tag: str, auth: AuthConfig, sink: Sink) -> None:
        """Push local image(s) as ``POST /images/{name}/push`` does (every tag when ``tag`` is empty)."""
        from .pusher import Pusher

        await Pusher(self, name, tag, auth, sink).push()

    async def login(self, auth: AuthConfig) -> dict[str, str]:
        """Check credentials against a registry (``POST /auth``).

        Returns ``{"Status": "Login Succeeded", "IdentityToken": ...}``; raises
        Unauthorized with dockerd's wording when the registry refuses them.
        """
        host = registry_host(auth.server_address or "docker.io")
        eps = await self.endpoints(host, push=True)
        if not eps:
            raise Unavailable("Docker Hub is disabled on this daemon (--registry-hub none)")
        last: Exception | None = None
        for ep in eps:
            reg = Registry(self.http, ep, auth, TokenCache(), [])
            try:
                await reg.ping()
            except ConnectionFailed as exc:
                last = exc
                continue
            except RegistryError as exc:
                raise Unauthorized(f"login attempt to {ep.url}/v2/ failed with status: {exc}") from None
            self._preferred[host] = ep.url
            ch = reg.challenge
            if ch is None:
                return {"Status": "Login Succeeded", "IdentityToken": ""}
            if ch.scheme == "basic":
                resp = await reg.request("GET", "/v2/")
                status = resp.status
                resp.release()
                if status == 200:
                    return {"Status": "Login Succeeded", "IdentityToken": ""}
                raise Unauthorized(f"login attempt to {ep.url}/v2/ failed with status: {status} "
                                   f"{_reason(status)}")
            if not auth.username and not auth.identity_token:
                raise Unauthorized(f'Get "{ep.url}/v2/": unauthorized: authentication required')
            try:
                await reg.token(ch, [])
            except Unauthorized as exc:
                raise Unauthorized(f'Get "{ep.url}/v2/": {exc}') from None
            resp = await reg.request("GET", "/v2/")
            status = resp.status
            resp.release()
            if status != 200:
                raise Unauthorized(f"login attempt to {ep.url}/v2/ failed with status: {status} {_reason(status)}")
            return {"Status": "Login Succeeded", "IdentityToken": ""}
        raise last if last else ConnectionFailed(f"no endpoint for {host}")

    async def inspect(self, name: str, auth: AuthConfig) -> dict[str, Any]:
        """``GET /distribution/{name}/json``: the descriptor a reference resolves to, and
        the platforms it offers."""
        ref = references.parse(name).docker_ref()
        what = ref.digest or ref.tag or "latest"
        async with aclosing(self.connect(ref.domain, auth, [scope(ref.path, ["pull"])])) as regs:
            async for reg in regs:
                try:
                    raw, ctype = await reg.get_manifest(ref.path, what)
                except (RegistryError, ConnectionFailed) as exc:
                    if reg.endpoint.mirror:
                        continue
                    from .errors import pull_error

                    raise (pull_error(exc, ref.familiar_name, ref.familiar())
                           if isinstance(exc, RegistryError) else exc) from None
                doc = parse(raw, ctype)
                platforms: list[dict[str, Any]] = []
                if isinstance(doc, Index):
                    for d in doc.manifests:
                        if d.platform and not (d.annotations or {}).get("vnd.docker.reference.type"):
                            platforms.append(dict(d.platform))
                elif isinstance(doc, Manifest):
                    import json

                    try:
                        cfg = json.loads(await reg.get_blob_bytes(ref.path, doc.config))
                        p = {"architecture": cfg.get("architecture", ""), "os": cfg.get("os", "")}
                        if cfg.get("variant"):
                            p["variant"] = cfg["variant"]
                        platforms.append(p)
                    except (RegistryError, ConnectionFailed, ValueError):
                        pass
                return {"Descriptor": {"mediaType": doc.media_type, "digest": doc.digest, "size": len(raw)},
                        "Platforms": platforms}
        raise ConnectionFailed(f"no endpoint answered for {ref.domain}")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _pull_reference(from_image: str, tag: str) -> references.Reference:
    """The reference ``POST /images/create?fromImage=&tag=`` designates (moby's rules).

    ``tag`` may hold a digest. A reference with a digest ignores ``tag``.
    """
    ref = references.parse(from_image)
    if tag:
        if references.is_digest(tag):
            return references.Reference(ref.domain, ref.path, None, tag)
        if ref.digest:
            return references.Reference(ref.domain, ref.path, None, ref.digest)
        return references.Reference(ref.domain, ref.path, references.validate_tag(tag), None)
    if ref.digest:
        return references.Reference(ref.domain, ref.path, None, ref.digest)
    return ref


__all__ = ["Distribution", "RegistryConfig", "InvalidParameter"]
