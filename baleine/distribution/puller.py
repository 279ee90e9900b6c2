"""Pulling an image from a registry into the engine's stores.

One pull: resolve the manifest (through the mirrors first for Docker Hub), pick
the platform's manifest from an index, fetch the config, then download the layers
the store does not have (present layers are recognised by ChainID, i.e. by diff
ID, and blobs already in the content store are not fetched again) with at most
``max_concurrent_downloads`` at a time, each streamed into the content store and
verified against its digest. Layers are unpacked in order as soon as their blob
and the layer below are ready, so downloading and unpacking overlap.

The image (config, tag, repository digest) is recorded only after every layer is
committed: a failed pull leaves no image and no tag, and existing images are never
touched. Blobs it downloaded that no layer uses are deleted on failure.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
import json
import logging
from typing import Any, BinaryIO

from ..rules import references
from ..rules.errors import EngineError, InvalidParameter, NotFound
from ..engine.gc import Lease
from ..engine.images.content import sha256_digest
from ..engine.images.unpack import chain_of, unpack_blob
from . import progress
from .auth import AuthConfig, scope
from .client import Registry
from .errors import ConnectionFailed, RegistryError, VerificationFailed, pull_error
from .manifest import (LAYER_TYPES, Descriptor, Index, Manifest, ManifestError, Platform, config_platform,
                       host_platform, is_image, matches, parse, select, sha256)
from .progress import Sink

log = logging.getLogger("baleine.distribution")


class Puller:
    """One ``pull`` (see module docstring). ``sink`` receives progress messages on the
    event loop's thread."""

    def __init__(self, dist: Any, ref: references.Reference, platform: Platform | None, explicit_platform: bool,
                 auth: AuthConfig, sink: Sink) -> None:
        self.dist = dist
        self.local = dist.local
        self.ref = ref
        self.platform = platform or host_platform()
        self.explicit_platform = explicit_platform
        self.auth = auth
        self.sink = sink
        self.loop = asyncio.get_running_loop()
        self.new_blobs: set[str] = set()
        #: what the image being pulled has written or relies on, safe from the
        #: collector until it is recorded or the pull fails (one lease per image)
        self.lease: Lease | None = None

    # -- entry points -----------------------------------------------------------------

    async def pull_all_tags(self) -> None:
        """``pull -a``: every tag of the repository, one after the other."""
        ref = self.ref
        tags: list[str] = []
        async with aclosing(self.dist.connect(ref.domain, self.auth, [scope(ref.path, ["pull"])])) as regs:
            async for reg in regs:
                try:
                    tags = await reg.tags(ref.path)
                except (RegistryError, ConnectionFailed) as exc:
                    if reg.endpoint.mirror:
                        continue
                    raise self._translate(exc) from None
                break
        if not tags:
            raise NotFound(f"repository {ref.familiar_name} not found: no tags")
        updated = False
        for tag in sorted(tags):
            self.ref = references.Reference(ref.domain, ref.path, tag, None)
            updated |= await self._pull_one(final_status=False)
        self.ref = ref
        word = "Downloaded newer image for" if updated else "Image is up to date for"
        self.sink(progress.status(f"Status: {word} {ref.familiar_name}"))

    async def pull(self) -> bool:
        """Pull ``self.ref`` (a tag or digest reference); True if anything changed locally."""
        return await self._pull_one(final_status=True)

    # -- one reference ------------------------------------------------------------------

    def _translate(self, exc: Exception) -> Exception:
        if isinstance(exc, RegistryError):
            return pull_error(exc, self.ref.familiar_name, self.ref.familiar())
        return exc

    async def _pull_one(self, final_status: bool) -> bool:
        try:
            return await self._try_endpoints(final_status)
        except RegistryError as exc:
            raise self._translate(exc) from None

    async def _try_endpoints(self, final_status: bool) -> bool:
        ref = self.ref
        what = ref.digest or ref.tag or "latest"
        last: Exception | None = None
        async with aclosing(self.dist.connect(ref.domain, self.auth, [scope(ref.path, ["pull"])])) as regs:
            async for reg in regs:
                try:
                    return await self._pull_from(reg, what, final_status)
                except (RegistryError, ConnectionFailed) as exc:
                    if reg.endpoint.mirror:
                        log.info("mirror %s failed for %s: %s", reg.endpoint.url, ref, exc)
                        last = exc
                        continue
                    raise self._translate(exc) from None
        raise self._translate(last) if last else ConnectionFailed(f"no registry endpoint for {ref.domain}")

    async def _resolve(self, reg: Registry, what: str) -> tuple[Manifest, str, list[bytes]]:
        """The image manifest for our platform, the digest to record, and the raw
        documents (index and manifest) to keep."""
        raw, ctype = await reg.get_manifest(self.ref.path, what)
        if self.ref.digest and sha256(raw) != self.ref.digest:
            raise VerificationFailed(f"manifest verification failed for digest {self.ref.digest}")
        doc = parse(raw, ctype)
        keep = [raw]
        repo_digest = doc.digest
        if isinstance(doc, Index):
            desc = select(doc, self.platform)
            raw2, ctype2 = await reg.get_manifest(self.ref.path, desc.digest)
            if sha256(raw2) != desc.digest:
                raise VerificationFailed(f"manifest verification failed for digest {desc.digest}")
            doc = parse(raw2, ctype2 or desc.media_type)
            if isinstance(doc, Index):
                raise ManifestError("invalid manifest: an index entry is itself an index")
            keep.append(raw2)
        if not is_image(doc):
            raise ManifestError(f"unsupported media type {doc.config.media_type} for an image config: "
                                "this artifact is not an image")
        for layer in doc.layers:
            if layer.media_type not in LAYER_TYPES:
                raise ManifestError(f"unsupported layer media type {layer.media_type}")
        return doc, repo_digest, keep

    async def _pull_from(self, reg: Registry, what: str, final_status: bool) -> bool:
        ref = self.ref
        eng = self.local
        manifest, repo_digest, docs = await self._resolve(reg, what)
        self.sink(progress.status(f"Pulling from {ref.path}", ref.tag or ref.digest))
        # The config: from the content store when we have it (image already known).
        if await asyncio.to_thread(eng.content.exists, manifest.config.digest):
            config_bytes = await asyncio.to_thread(eng.content.read, manifest.config.digest)
        else:
            config_bytes = await reg.get_blob_bytes(ref.path, manifest.config)
        try:
            config = json.loads(config_bytes)
            diff_ids = list(config["rootfs"]["diff_ids"])
        except (ValueError, KeyError, TypeError):
            raise ManifestError(f"invalid image config {manifest.config.digest}") from None
        if len(diff_ids) != len(manifest.layers):
            raise ManifestError("layers from manifest don't match image configuration")
        if self.explicit_platform and not matches(config_platform(config), self.platform):
            raise NotFound(f"image with reference {ref.familiar()} was found but does not match the specified "
                           f"platform: wanted {self.platform}, actual: {config_platform(config)}")
        tag_ref = str(ref) if ref.tag else None
        before = await asyncio.to_thread(eng.images.resolve_id, tag_ref or f"{ref.name}@{repo_digest}")
        lease = self.lease = eng.gc.leases.create(f"pull {ref}")
        self._hold(lease, manifest.config.digest, manifest.layers, diff_ids)
        try:
            await self._layers(reg, manifest.layers, diff_ids)
            image = await asyncio.to_thread(self._record, config_bytes, manifest.config.digest, tag_ref,
                                            repo_digest, docs)
            await asyncio.to_thread(self._remember, manifest.layers, diff_ids)
        except BaseException:
            # What only this pull wanted goes: its downloads, and the layers unpacked
            # from them that no image keeps.
            lease.release()
            await asyncio.to_thread(eng.gc.collect, set(self.new_blobs))
            raise
        finally:
            lease.release()
        self.sink(progress.status(f"Digest: {repo_digest}"))
        updated = before != image
        if final_status:
            word = "Downloaded newer image for" if updated else "Image is up to date for"
            self.sink(progress.status(f"Status: {word} {ref.familiar()}"))
        eng.events.publish("image", "pull", ref.familiar(), {"name": ref.familiar()})
        return updated

    # -- layers -------------------------------------------------------------------------

    async def _layers(self, reg: Registry, descs: list[Descriptor], diff_ids: list[str]) -> None:
        eng = self.local
        chains: list[str] = []
        parent = ""
        for d in diff_ids:
            parent = chain_of(parent, d)
            chains.append(parent)
        present = [await asyncio.to_thread(eng.snapshots.has, c) for c in chains]
        # Docker only announces a layer once; identical blobs share one download.
        downloads: dict[str, asyncio.Task[None]] = {}
        for desc, have in zip(descs, present):
            if have:
                self.sink(progress.update("Already exists", desc.short_id))
            elif desc.digest not in downloads:
                self.sink(progress.update("Pulling fs layer", desc.short_id))
                downloads[desc.digest] = asyncio.ensure_future(self._download(reg, desc))
        try:
            parent = ""
            for desc, diff_id, chain, have in zip(descs, diff_ids, chains, present):
                if not have:
                    await downloads[desc.digest]
                    self.sink(progress.progress("Extracting", desc.short_id, 0, desc.size))
                    layer = await asyncio.to_thread(self._unpack, desc, parent, diff_id)
                    if layer.chain_id != chain:
                        raise InvalidParameter(f"layer {desc.digest} unpacked to an unexpected chain")
                    self.sink(progress.update("Pull complete", desc.short_id))
                parent = chain
        except BaseException:
            for t in downloads.values():
                t.cancel()
            await asyncio.gather(*downloads.values(), return_exceptions=True)
            raise

    async def _download(self, reg: Registry, desc: Descriptor) -> None:
        """Bring one blob into the content store (verified), sharing concurrent downloads."""
        eng = self.local
        dist = self.dist
        if await asyncio.to_thread(eng.content.exists, desc.digest):
            self.sink(progress.update("Download complete", desc.short_id))
            return
        running = dist.inflight.get(desc.digest)
        if running is not None:
            self.sink(progress.update("Waiting", desc.short_id))
            await asyncio.shield(running)
            self.sink(progress.update("Download complete", desc.short_id))
            return
        fut: asyncio.Future[None] = self.loop.create_future()
        dist.inflight[desc.digest] = fut
        try:
            if dist.download_slots.locked():
                self.sink(progress.update("Waiting", desc.short_id))
            async with dist.download_slots:
                await self._fetch(reg, desc)
            fut.set_result(None)
        except BaseException as exc:
            fut.set_exception(exc if isinstance(exc, Exception) else ConnectionFailed("download cancelled"))
            fut.exception()  # consumed: waiters re-raise it themselves
            raise
        finally:
            dist.inflight.pop(desc.digest, None)
        self.sink(progress.update("Download complete", desc.short_id))

    async def _fetch(self, reg: Registry, desc: Descriptor) -> None:
        eng = self.local
        sink = _BlobSink(eng.content)
        throttle = progress.Throttle(self.sink)
        try:
            throttle("Downloading", desc.short_id, 0, desc.size, force=True)
            await reg.download_blob(self.ref.path, desc, sink,
                                    lambda n: throttle("Downloading", desc.short_id, n, desc.size))
            self.sink(progress.update("Verifying Checksum", desc.short_id))
            if sink.size != desc.size:
                raise ConnectionFailed(f"failed to download {desc.digest}: unexpected EOF")
            try:
                await asyncio.to_thread(sink.commit, desc.digest)
            except InvalidParameter:
                raise VerificationFailed(f"filesystem layer verification failed for digest {desc.digest}") from None
            self.new_blobs.add(desc.digest)
        finally:
            await asyncio.to_thread(sink.abort)

    def _unpack(self, desc: Descriptor, parent: str, diff_id: str) -> Any:
        """Unpack a downloaded blob (worker thread), reporting "Extracting" progress."""
        eng = self.local
        throttle = progress.Throttle(lambda m: self.loop.call_soon_threadsafe(self.sink, m))
        reporting = _ReportingContent(eng.content, lambda n: throttle("Extracting", desc.short_id, n, desc.size))
        try:
            return unpack_blob(reporting, eng.snapshots, desc.digest, desc.media_type, parent, diff_id)
        except EngineError as exc:
            raise InvalidParameter(f"failed to register layer: {exc}") from None

    # -- recording ------------------------------------------------------------------------

    def _record(self, config_bytes: bytes, image_id: str, tag_ref: str | None, repo_digest: str,
                docs: list[bytes]) -> str:
        """Keep the manifests, record the image with its tag and digest (worker thread)."""
        eng = self.local
        for raw in docs:
            if self.lease is not None:
                self.lease.add_blob(sha256_digest(raw))
        blobs = [eng.content.put(raw) for raw in docs]
        meta: dict[str, Any] = {}
        if eng.images.exists(image_id):
            meta = dict(eng.images.get(image_id).meta)
        known = list(meta.get("blobs") or [])
        meta["blobs"] = known + [b for b in blobs if b not in known]
        img = eng.images.create(config_bytes, tags=[tag_ref] if tag_ref else [],
                                digests=[f"{self.ref.name}@{repo_digest}"], meta=meta)
        if img.id != image_id:
            raise VerificationFailed(f"image config verification failed for digest {image_id}")
        return img.id

    def _remember(self, descs: list[Descriptor], diff_ids: list[str]) -> None:
        """Note where each layer's blob lives, so a later push can skip or mount it."""
        from .metadata import BlobRecord

        for desc, diff_id in zip(descs, diff_ids):
            self.dist.metadata.record(BlobRecord(diff_id, desc.digest, desc.media_type, desc.size,
                                                 self.ref.domain, self.ref.path))

    @staticmethod
    def _hold(lease: Lease, config: str, descs: list[Descriptor], diff_ids: list[str]) -> None:
        """Lease the image's blobs and layers (those present too: an image delete
        running meanwhile must not take them) until the image is recorded."""
        lease.add_blob(config)
        parent = ""
        for desc, diff_id in zip(descs, diff_ids):
            lease.add_blob(desc.digest)
            parent = chain_of(parent, diff_id)
            lease.add_layer(parent)


class _BlobSink:
    """A content-store writer that can start over (for downloads the server restarts)."""

    def __init__(self, content: Any) -> None:
        self.content = content
        self.writer = content.writer()

    @property
    def size(self) -> int:
        return self.writer.size

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    def reset(self) -> None:
        self.writer.abort()
        self.writer = self.content.writer()

    def commit(self, expected: str) -> str:
        # No fsync: like load, a blob lost to a power cut is only a missing cache
        # entry, and the layer row that needs it is written after the unpack.
        return self.writer.commit(expected, sync=False)

    def abort(self) -> None:
        self.writer.abort()


class _ReportingContent:
    """The content store as ``unpack_blob`` sees it, reporting how far reads got."""

    def __init__(self, content: Any, on_read: Any) -> None:
        self._content = content
        self._on_read = on_read

    def open(self, digest: str) -> BinaryIO:
        return _CountingFile(self._content.open(digest), self._on_read)  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._content, name)


class _CountingFile:
    def __init__(self, f: BinaryIO, on_read: Any) -> None:
        self._f = f
        self._n = 0
        self._on_read = on_read

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._n += len(data)
        self._on_read(self._n)
        return data

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b) or 0
        self._n += n
        self._on_read(self._n)
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> "_CountingFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()
