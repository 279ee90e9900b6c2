"""Image archives: ``docker save`` and ``docker load``.

Load reads a tar stream (compressed with gzip, xz, zstd or bzip2, or not) in either
Docker's legacy layout (``manifest.json``, ``<id>/layer.tar``) or the OCI image
layout (``index.json``, ``blobs/sha256/…``). Every member is streamed into the
content store as it arrives (verified by digest where the layout names one); the
images are recorded only once all their layers are unpacked, so an interrupted
load leaves no image behind, only unreferenced blobs that start-up recovery
removes.

Save writes the layout Docker 25+ writes, which both old and new clients load: an
OCI layout whose blobs are also listed in a legacy ``manifest.json``.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from . import compression, configcheck
from ...rules import references
from .content import ContentStore
from ...rules.errors import EngineError, InvalidParameter, NotFound
from .records import Image, Images
from .snapshots import Snapshots
from .unpack import chain_of, unpack_blob

MANIFEST_OCI = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_OCI = "application/vnd.oci.image.index.v1+json"
LIST_DOCKER = "application/vnd.docker.distribution.manifest.list.v2+json"
CONFIG_OCI = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
SMALL = 4 << 20  # members kept in memory too (JSON documents)


@dataclass
class _Member:
    digest: str
    size: int
    data: bytes | None = None


@dataclass
class _ImageSpec:
    config: str  # digest
    layers: list[tuple[str, str]]  # (blob digest, media type)
    tags: list[str] = field(default_factory=list)
    manifest: str | None = None  # digest of the manifest, for RepoDigests


class Loader:
    """One ``load`` operation (blocking; run it in a worker thread)."""

    def __init__(self, images: Images, content: ContentStore, snapshots: Snapshots,
                 progress: Callable[[str], None]) -> None:
        self.images = images
        self.content = content
        self.snapshots = snapshots
        self.progress = progress
        self.members: dict[str, _Member] = {}
        self.links: dict[str, str] = {}
        self.new_blobs: set[str] = set()
        #: the blobs and layers written so far, kept from the collector until the end
        self.lease = images.gc.leases.create("load")

    def load(self, stream: BinaryIO) -> list[str]:
        """Load every image of the archive; return the "Loaded image…" lines.

        Whatever no loaded image ended up using (the blobs of an image that failed,
        unreferenced files of the archive) is collected before returning.
        """
        try:
            self._read(stream)
            specs = self._specs()
            if not specs:
                raise InvalidParameter("invalid archive: no image found (expected manifest.json or index.json)")
            lines: list[str] = []
            for spec in specs:
                lines.extend(self._commit(spec))
            return lines
        finally:
            self._drop_unused()

    # -- reading ---------------------------------------------------------------

    def _read(self, stream: BinaryIO) -> None:
        try:
            src = compression.open_decompressed(stream)
            with tarfile.open(fileobj=src, mode="r|") as tf:
                for m in tf:
                    name = posixpath.normpath(m.name.lstrip("./") or ".")
                    if m.issym() or m.islnk():
                        target = m.linkname if m.islnk() else posixpath.normpath(
                            posixpath.join(posixpath.dirname(name), m.linkname))
                        self.links[name] = target
                        continue
                    if not m.isfile():
                        continue
                    f = tf.extractfile(m)
                    assert f is not None
                    self.members[name] = self._store(f, m.size)
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            if isinstance(exc, EngineError):
                raise
            raise InvalidParameter(f"invalid archive: {exc}") from None

    def _store(self, f: BinaryIO, size: int) -> _Member:
        w = self.content.writer()
        keep = bytearray() if size <= SMALL else None
        try:
            while chunk := f.read(1 << 20):
                w.write(chunk)
                if keep is not None:
                    keep += chunk
            if w.size != size:
                raise InvalidParameter("invalid archive: unexpected end of file")
            existed = self.content.exists(w.digest)
            digest = w.commit(sync=False)
        finally:
            w.abort()
        self.lease.add_blob(digest)  # an image delete meanwhile must not take it either
        if not existed:
            self.new_blobs.add(digest)
        return _Member(digest, size, bytes(keep) if keep is not None else None)

    def _member(self, name: str) -> _Member:
        name = posixpath.normpath(name.lstrip("./"))
        seen = 0
        while name in self.links and seen < 16:
            name = self.links[name]
            seen += 1
        m = self.members.get(name)
        if m is None:
            raise InvalidParameter(f"invalid archive: {name} is missing")
        return m

    def _json(self, name: str) -> Any:
        m = self._member(name)
        data = m.data if m.data is not None else self.content.read(m.digest)
        try:
            return json.loads(data)
        except ValueError:
            raise InvalidParameter(f"invalid archive: {name} is not valid JSON") from None

    def _blob_json(self, digest: str) -> tuple[Any, bytes]:
        name = "blobs/" + digest.replace(":", "/")
        m = self._member(name)
        if m.digest != digest:
            raise InvalidParameter(f"invalid archive: {name} does not match its digest")
        data = m.data if m.data is not None else self.content.read(m.digest)
        try:
            return json.loads(data), data
        except ValueError:
            raise InvalidParameter(f"invalid archive: blob {digest} is not valid JSON") from None

    # -- layouts -------------------------------------------------------------------

    def _specs(self) -> list[_ImageSpec]:
        if "manifest.json" in self.members:
            return self._legacy_specs()
        if "index.json" in self.members:
            return self._oci_specs()
        return []

    def _legacy_specs(self) -> list[_ImageSpec]:
        manifest = self._json("manifest.json")
        if not isinstance(manifest, list):
            raise InvalidParameter("invalid archive: manifest.json is not a list")
        specs = []
        for entry in manifest:
            if not isinstance(entry, dict) or "Config" not in entry:
                raise InvalidParameter("invalid archive: malformed manifest.json entry")
            layers = []
            for name in entry.get("Layers") or []:
                m = self._member(name)
                layers.append((m.digest, ""))
            tags = [_normalize_tag(t) for t in entry.get("RepoTags") or []]
            specs.append(_ImageSpec(self._member(entry["Config"]).digest, layers, [t for t in tags if t]))
        return specs

    def _oci_specs(self) -> list[_ImageSpec]:
        index = self._json("index.json")
        specs: list[_ImageSpec] = []
        for desc in index.get("manifests") or []:
            specs.extend(self._from_descriptor(desc, None))
        return specs

    def _from_descriptor(self, desc: dict[str, Any], name: str | None) -> list[_ImageSpec]:
        annotations = desc.get("annotations") or {}
        name = annotations.get("io.containerd.image.name") or annotations.get(
            "org.opencontainers.image.ref.name") or name
        media = desc.get("mediaType", "")
        doc, _ = self._blob_json(desc["digest"])
        media = media or doc.get("mediaType", "")
        if media in (INDEX_OCI, LIST_DOCKER) or "manifests" in doc:
            chosen = _pick_platform(doc.get("manifests") or [])
            return self._from_descriptor(chosen, name) if chosen else []
        layers = [(layer["digest"], layer.get("mediaType", "")) for layer in doc.get("layers") or []]
        for digest, _ in layers:
            self._member("blobs/" + digest.replace(":", "/"))
        config = doc.get("config", {}).get("digest")
        if not config:
            raise InvalidParameter("invalid archive: manifest without config")
        self._blob_json(config)
        tag = _normalize_tag(name) if name else None
        return [_ImageSpec(config, layers, [tag] if tag else [], desc["digest"])]

    # -- committing ----------------------------------------------------------------

    def _commit(self, spec: _ImageSpec) -> list[str]:
        config_bytes = self.content.read(spec.config)
        try:
            config = json.loads(config_bytes)
            diff_ids = list(config["rootfs"]["diff_ids"])
        except (ValueError, KeyError, TypeError):
            raise InvalidParameter(f"invalid archive: image config {spec.config} is malformed") from None
        if not isinstance(config, dict):
            raise InvalidParameter(f"invalid archive: image config {spec.config} is malformed")
        configcheck.check(config)
        if len(diff_ids) != len(spec.layers):
            raise InvalidParameter(f"invalid archive: image config lists {len(diff_ids)} layers, "
                                   f"the manifest {len(spec.layers)}")
        parent = ""
        for (blob, media), diff_id in zip(spec.layers, diff_ids):
            layer = unpack_blob(self.content, self.snapshots, blob, media, parent, diff_id)
            self.lease.add_layer(layer.chain_id)
            parent = layer.chain_id
        lines = []
        for tag in spec.tags:
            old = self.images.resolve_id(tag)
            if old and old != spec.config:
                lines.append(f"The image {_familiar(tag)} already exists, renaming the old one with ID "
                             f"{old} to empty string")
        meta = {"blobs": [spec.manifest]} if spec.manifest else {}
        img = self.images.create(config_bytes, tags=spec.tags, meta=meta)
        for blob, _ in spec.layers:
            self.new_blobs.discard(blob)
        self.new_blobs.discard(spec.config)
        if spec.manifest:
            self.new_blobs.discard(spec.manifest)
        if spec.tags:
            lines.extend(f"Loaded image: {_familiar(t)}" for t in spec.tags)
        else:
            lines.append(f"Loaded image ID: {img.id}")
        return lines

    def _drop_unused(self) -> None:
        self.lease.release()
        self.images.gc.collect(self.new_blobs)


def _pick_platform(manifests: list[dict[str, Any]]) -> dict[str, Any] | None:
    """linux/amd64 (this host's platform) from an index, or the only entry."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    for m in manifests:
        p = m.get("platform") or {}
        if p.get("os", "linux") == "linux" and p.get("architecture", arch) == arch:
            return m
    return manifests[0] if len(manifests) == 1 else None


def _normalize_tag(tag: str | None) -> str | None:
    if not tag:
        return None
    try:
        ref = references.parse(tag)
    except InvalidParameter:
        return None
    if ref.digest:
        return None
    return str(ref.with_default_tag())


def _familiar(ref: str) -> str:
    try:
        return references.parse(ref).familiar()
    except InvalidParameter:
        return ref


# -- save -----------------------------------------------------------------------------------


def save(images: Images, content: ContentStore, snapshots: Snapshots, names: list[str], out: BinaryIO,
         tmp_dir: str) -> None:
    """Write the images ``names`` (IDs, tags or digests) as one archive to ``out``.

    Raises NotFound before writing anything if a name does not resolve.
    """
    chosen: list[tuple[Image, list[str]]] = []
    for name in names:
        img = images.get(name)
        refs = img.tags if _is_id(name, img) else [_ref_of(name)]
        for entry in chosen:
            if entry[0].id == img.id:
                entry[1].extend(r for r in refs if r not in entry[1])
                break
        else:
            chosen.append((img, list(refs)))
    tf = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
    written: set[str] = set()
    index: list[dict[str, Any]] = []
    legacy: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    mtime = time.time()

    def add_bytes(name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = mtime
        tf.addfile(info, io.BytesIO(data))

    def add_blob(digest: str, data: bytes | None = None, path: str | None = None, size: int = 0,
                 stream: BinaryIO | None = None) -> str:
        name = "blobs/" + digest.replace(":", "/")
        if digest in written:
            return name
        written.add(digest)
        if data is not None:
            add_bytes(name, data)
        else:
            info = tarfile.TarInfo(name)
            info.size = size
            info.mtime = mtime
            tf.addfile(info, stream)
        return name

    tf.addfile(_dir_info("blobs", mtime))
    tf.addfile(_dir_info("blobs/sha256", mtime))
    for img, refs in chosen:
        config = images.config_blob(img.id)
        config_name = add_blob(img.id, config)
        layer_names, descriptors = [], []
        for cid, diff_id in zip(img.chain_ids, img.diff_ids):
            layer = snapshots.get(cid)
            if layer is None or not layer.blob or not content.exists(layer.blob):
                raise EngineError(f"layer {diff_id} of image {img.id} has no stored content")
            size = layer.tar_size or (layer.blob_size if layer.media_type.endswith(".tar") else 0)
            with content.open(layer.blob) as raw:
                stream = compression.open_decompressed(raw)
                if not size:
                    size = _measure(stream)
                    raw.seek(0)
                    stream = compression.open_decompressed(raw)
                layer_names.append(add_blob(diff_id, size=size, stream=stream))
            descriptors.append({"mediaType": LAYER_TAR, "digest": diff_id, "size": size})
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST_OCI,
                    "config": {"mediaType": CONFIG_OCI, "digest": img.id, "size": len(config)},
                    "layers": descriptors}
        mbytes = json.dumps(manifest, separators=(",", ":")).encode()
        from .content import sha256_digest

        mdigest = sha256_digest(mbytes)
        add_blob(mdigest, mbytes)
        familiar = [_familiar(r) for r in refs]
        if refs:
            for ref, fam in zip(refs, familiar):
                parsed = references.parse(ref)
                index.append({"mediaType": MANIFEST_OCI, "digest": mdigest, "size": len(mbytes),
                              "annotations": {"io.containerd.image.name": ref,
                                              "org.opencontainers.image.ref.name": parsed.tag or "latest"}})
                repo, _, tag = fam.rpartition(":")
                repositories.setdefault(repo, {})[tag] = img.diff_ids[-1].split(":")[1] if img.diff_ids else ""
        else:
            index.append({"mediaType": MANIFEST_OCI, "digest": mdigest, "size": len(mbytes)})
        legacy.append({"Config": config_name, "RepoTags": familiar or None, "Layers": layer_names})
    add_bytes("index.json", json.dumps({"schemaVersion": 2, "mediaType": INDEX_OCI, "manifests": index},
                                       separators=(",", ":")).encode())
    add_bytes("manifest.json", json.dumps(legacy, separators=(",", ":")).encode())
    add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    if repositories:
        add_bytes("repositories", json.dumps(repositories, separators=(",", ":")).encode())
    tf.close()


def _dir_info(name: str, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = mtime
    return info


def _measure(stream: BinaryIO) -> int:
    n = 0
    while chunk := stream.read(1 << 20):
        n += len(chunk)
    return n


def _is_id(name: str, img: Image) -> bool:
    bare = name[7:] if name.startswith("sha256:") else name
    return img.id[7:].startswith(bare)


def _ref_of(name: str) -> str:
    ref = references.parse(name)
    return str(ref.with_default_tag()) if not ref.digest else f"{ref.name}@{ref.digest}"


__all__ = ["Loader", "save", "NotFound", "chain_of"]
