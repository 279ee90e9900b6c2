"""Pushing local images to a registry.

For each tag pushed: every layer is checked first (HEAD by the blob digest the
layer came with, or by the digest it had when compressed for an earlier push),
mounted from another repository of the same registry when the blob metadata says
one has it, and uploaded only as a last resort, compressing uncompressed layers
(``load``, ``commit``) with gzip first, as dockerd does. Then the config, then the
manifest: the image's original manifest when it still describes exactly what was
pushed (so a pulled image keeps its digest), else a new Docker schema 2 manifest
(an OCI one when a layer is zstd). The image gets the pushed ``RepoDigest``.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
import logging
import os
import secrets
from typing import Any

from ..engine.images import compression
from ..rules import references
from ..rules.errors import InvalidParameter, NotFound
from ..engine.images.records import Image
from . import progress
from .auth import AuthConfig, scope
from .client import Registry
from .errors import ConnectionFailed, RegistryError
from .manifest import (DOCKER_LAYER, DOCKER_MANIFEST, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST, Descriptor,
                       Manifest, build, layer_compression, parse, sha256)
from .metadata import BlobRecord
from .progress import Sink

log = logging.getLogger("baleine.distribution")


class Pusher:
    """One ``push`` (see module docstring)."""

    def __init__(self, dist: Any, name: str, tag: str, auth: AuthConfig, sink: Sink) -> None:
        self.dist = dist
        self.local = dist.local
        self.auth = auth
        self.sink = sink
        ref = references.parse(name)
        if ref.digest:
            raise InvalidParameter("cannot push a digest reference")
        if tag:
            ref = ref.with_tag(references.validate_tag(tag))
        self.ref = ref

    def _targets(self) -> list[tuple[str, Image]]:
        """(tag, image) pairs to push: the tag given, or every tag of the repository."""
        images = self.local.images
        ref = self.ref
        if ref.tag:
            image_id = images.resolve_id(str(ref))
            if image_id is None:
                raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
            return [(ref.tag, images.get(image_id))]
        out = [(tag, images.get(image_id)) for tag, image_id in images.repository_tags(ref.name)]
        if not out:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
        return out

    async def push(self) -> None:
        ref = self.ref
        self.sink(progress.status(f"The push refers to repository [{ref.name}]"))
        targets = await asyncio.to_thread(self._targets)
        scopes = [scope(ref.path, ["pull", "push"])]
        async with aclosing(self.dist.connect(ref.domain, self.auth, scopes, push=True)) as regs:
            async for reg in regs:
                for tag, img in targets:
                    await self._push_image(reg, tag, img)
                return
        raise ConnectionFailed(f"no registry endpoint for {ref.domain}")

    # -- one image ------------------------------------------------------------------------

    async def _push_image(self, reg: Registry, tag: str, img: Image) -> None:
        eng = self.local
        layers = [await asyncio.to_thread(eng.snapshots.get, c) for c in img.chain_ids]
        if any(l is None for l in layers):
            raise NotFound(f"a layer of image {img.id} is missing from the store")
        ids = [l.diff_id.split(":", 1)[1][:12] for l in layers]  # type: ignore[union-attr]
        for i in dict.fromkeys(ids):
            self.sink(progress.update("Preparing", i))
        tasks: dict[str, asyncio.Task[Descriptor]] = {}
        for layer, short in zip(layers, ids):
            if layer.diff_id not in tasks:  # type: ignore[union-attr]
                tasks[layer.diff_id] = asyncio.ensure_future(self._push_layer(reg, layer, short))  # type: ignore
        try:
            descs = [await tasks[l.diff_id] for l in layers]  # type: ignore[union-attr]
        except BaseException:
            for t in tasks.values():
                t.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            raise
        config = await asyncio.to_thread(eng.images.config_blob, img.id)
        config_desc = Descriptor("", img.id, len(config))
        if await reg.blob_size(self.ref.path, img.id) is None:
            path = eng.content.path(img.id)
            await reg.upload(self.ref.path, img.id, len(config), path, lambda n: None)
        raw, media_type = await asyncio.to_thread(self._manifest, img, config_desc, descs)
        digest = sha256(raw)
        reported = await reg.put_manifest(self.ref.path, tag, raw, media_type)
        if reported and reported != digest:
            log.warning("registry reported digest %s for manifest %s", reported, digest)
        await asyncio.to_thread(self._record, img, raw, digest)
        self.sink(progress.status(f"{tag}: digest: {digest} size: {len(raw)}"))
        self.sink(progress.aux({"Tag": tag, "Digest": digest, "Size": len(raw)}))
        eng.events.publish("image", "push", f"{self.ref.familiar_name}:{tag}",
                           {"name": f"{self.ref.familiar_name}:{tag}"})

    def _manifest(self, img: Image, config: Descriptor, layers: list[Descriptor]) -> tuple[bytes, str]:
        """The image's original manifest if it matches what was pushed, else a new one."""
        content = self.local.content
        want = [l.digest for l in layers]
        for digest in (img.meta.get("blobs") or []):
            try:
                raw = content.read(digest)
                doc = parse(raw)
            except (NotFound, InvalidParameter):
                continue
            if isinstance(doc, Manifest) and doc.config.digest == img.id and [l.digest for l in doc.layers] == want:
                return raw, doc.media_type
        oci = any(l.media_type.startswith("application/vnd.oci.") for l in layers)
        if oci:
            layers = [Descriptor(OCI_LAYER_ZSTD if layer_compression(l.media_type) == "zstd" else OCI_LAYER_GZIP,
                                 l.digest, l.size) for l in layers]
        return build(config, layers, oci), (OCI_MANIFEST if oci else DOCKER_MANIFEST)

    def _record(self, img: Image, raw: bytes, digest: str) -> None:
        eng = self.local
        blob = eng.content.put(raw)
        meta = dict(img.meta)
        known = list(meta.get("blobs") or [])
        if blob not in known:
            known.append(blob)
        meta["blobs"] = known
        eng.images.create(eng.images.config_blob(img.id), digests=[f"{self.ref.name}@{digest}"], meta=meta)

    # -- one layer ------------------------------------------------------------------------

    async def _push_layer(self, reg: Registry, layer: Any, short: str) -> Descriptor:
        dist = self.dist
        repo = self.ref.path
        host = self.ref.domain
        kind = layer_compression(layer.media_type)
        if not kind and layer.blob:
            kind = await asyncio.to_thread(_detect, self.local.content, layer.blob)
        candidates: list[Descriptor] = []
        if kind in ("gzip", "zstd") and layer.blob:
            media = DOCKER_LAYER if kind == "gzip" and not layer.media_type.startswith("application/vnd.oci.") \
                else (OCI_LAYER_GZIP if kind == "gzip" else OCI_LAYER_ZSTD)
            candidates.append(Descriptor(media, layer.blob, layer.blob_size))
        known = await asyncio.to_thread(dist.metadata.for_diff_id, layer.diff_id)
        for r in known:
            if r.digest not in [c.digest for c in candidates]:
                candidates.append(Descriptor(r.media_type, r.digest, r.size))
        # 1. Already there?
        for c in candidates:
            size = await reg.blob_size(repo, c.digest)
            if size is not None:
                self.sink(progress.update("Layer already exists", short))
                await asyncio.to_thread(self._remember, layer.diff_id, c)
                return Descriptor(c.media_type, c.digest, size or c.size)
        # 2. Mountable from another repository of this registry?
        location: str | None = None
        for r in known:
            if r.registry != host or r.repository == repo:
                continue
            try:
                location = await reg.start_upload(repo, mount=r.digest, from_repo=r.repository)
            except RegistryError:
                location = None
                continue
            if location is None:
                self.sink(progress.update(f"Mounted from {r.repository}", short))
                c = Descriptor(r.media_type, r.digest, r.size)
                await asyncio.to_thread(self._remember, layer.diff_id, c)
                return c
            break  # the registry opened an upload instead: use it
        # 3. Upload.
        async with dist.upload_slots:
            tmp: str | None = None
            try:
                if kind in ("gzip", "zstd") and layer.blob:
                    desc = candidates[0]
                    path = self.local.content.path(layer.blob)
                else:
                    tmp, desc = await asyncio.to_thread(self._compress, layer)
                    path = tmp
                    if desc.digest not in [c.digest for c in candidates]:
                        size = await reg.blob_size(repo, desc.digest)
                        if size is not None:
                            if location:
                                await reg.cancel_upload(location)
                            self.sink(progress.update("Layer already exists", short))
                            await asyncio.to_thread(self._remember, layer.diff_id, desc)
                            return desc
                throttle = progress.Throttle(self.sink)
                throttle("Pushing", short, 0, desc.size, force=True)
                await reg.upload(repo, desc.digest, desc.size, path,
                                 lambda n: throttle("Pushing", short, n, desc.size), location=location)
            finally:
                if tmp:
                    await asyncio.to_thread(_unlink, tmp)
        self.sink(progress.update("Pushed", short))
        await asyncio.to_thread(self._remember, layer.diff_id, desc)
        return desc

    def _compress(self, layer: Any) -> tuple[str, Descriptor]:
        """gzip an uncompressed layer blob into a temporary file (worker thread)."""
        eng = self.local
        tmp = os.path.join(eng.tmp_dir, "push-" + secrets.token_hex(8))
        with eng.content.open(layer.blob) as src, open(tmp, "wb") as dst:
            result = compression.compress_stream(compression.open_decompressed(src), dst, "gzip")
        if result.diff_id != layer.diff_id:
            _unlink(tmp)
            raise InvalidParameter(f"layer {layer.diff_id} does not match its stored content ({result.diff_id})")
        return tmp, Descriptor(DOCKER_LAYER, result.digest, result.size)

    def _remember(self, diff_id: str, d: Descriptor) -> None:
        self.dist.metadata.record(BlobRecord(diff_id, d.digest, d.media_type, d.size, self.ref.domain,
                                             self.ref.path))


def _detect(content: Any, blob: str) -> str:
    with content.open(blob) as f:
        kind = compression.detect(f.read(512))
    return kind if kind in ("gzip", "zstd") else "none"


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


__all__ = ["Pusher"]
