"""Manifests and indexes of the registry API: media types, parsing, validation and
platform selection. Pure: no I/O.

Accepted documents are Docker's image manifest v2 schema 2 and manifest list, and
OCI's image manifest and image index. Schema 1 manifests are refused with Docker's
message. ``parse`` validates the structure enough that the puller never indexes a
missing field: every descriptor has a valid sha256 digest, a non-negative size and
a media type.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..rules.errors import InvalidParameter, NotFound

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)
#: What a client accepts when it fetches a manifest (the ``Accept`` header).
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
#: Layer media types the puller can unpack.
LAYER_TYPES = (DOCKER_LAYER, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD,
               "application/vnd.oci.image.layer.nondistributable.v1.tar",
               "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
               "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
               DOCKER_FOREIGN_LAYER, "application/vnd.docker.image.rootfs.diff.tar")
#: Largest manifest accepted, as distribution's limit (4 MiB).
MAX_MANIFEST_SIZE = 4 << 20


class ManifestError(InvalidParameter):
    """A manifest or index is malformed or of an unsupported kind (HTTP 400)."""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def valid_digest(d: Any) -> bool:
    """True for ``sha256:<64 lowercase hex>`` (the only algorithm Baleine stores)."""
    return (isinstance(d, str) and d.startswith("sha256:") and len(d) == 71
            and all(c in "0123456789abcdef" for c in d[7:]))


@dataclass
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None
    artifact_type: str | None = None
    urls: list[str] | None = None

    @classmethod
    def from_dict(cls, d: Any, what: str) -> "Descriptor":
        """A descriptor from JSON; ManifestError naming ``what`` when malformed."""
        if not isinstance(d, dict):
            raise ManifestError(f"invalid manifest: {what} is not an object")
        digest, size, media = d.get("digest"), d.get("size"), d.get("mediaType", "")
        if not valid_digest(digest):
            raise ManifestError(f"invalid manifest: {what} has an invalid digest {digest!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"invalid manifest: {what} has an invalid size {size!r}")
        if not isinstance(media, str):
            raise ManifestError(f"invalid manifest: {what} has an invalid media type")
        platform = d.get("platform")
        return cls(media, digest, size, platform if isinstance(platform, dict) else None,
                   d.get("annotations") if isinstance(d.get("annotations"), dict) else None,
                   d.get("artifactType") if isinstance(d.get("artifactType"), str) else None,
                   d.get("urls") if isinstance(d.get("urls"), list) else None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform:
            out["platform"] = self.platform
        if self.annotations:
            out["annotations"] = self.annotations
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.urls:
            out["urls"] = self.urls
        return out

    @property
    def short_id(self) -> str:
        """The 12-hex id Docker's progress output names a blob by."""
        return self.digest.split(":", 1)[1][:12]


@dataclass
class Manifest:
    """An image manifest (Docker schema 2 or OCI)."""

    media_type: str
    config: Descriptor
    layers: list[Descriptor]
    raw: bytes
    digest: str
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class Index:
    """A manifest list (Docker) or image index (OCI)."""

    media_type: str
    manifests: list[Descriptor]
    raw: bytes
    digest: str
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)


def parse(raw: bytes, content_type: str | None = None) -> Manifest | Index:
    """Parse and validate a manifest or index.

    The media type is the document's ``mediaType`` field, else the HTTP
    ``content_type``, else guessed from the shape (``manifests`` → index). Raises
    ManifestError for invalid JSON, schema 1, unknown media types and malformed
    descriptors.
    """
    if len(raw) > MAX_MANIFEST_SIZE:
        raise ManifestError("invalid manifest: larger than 4 MiB")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"invalid manifest: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ManifestError("invalid manifest: not a JSON object")
    ctype = (content_type or "").split(";", 1)[0].strip()
    media = doc.get("mediaType") or ""
    if doc.get("schemaVersion") == 1 or media in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED) or \
            ctype in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED):
        raise ManifestError("Docker Image Format v1 and Docker Image manifest version 2, schema 1 support "
                            "has been removed. Suggest the author of the image to upgrade it to "
                            "Docker Image manifest version 2, schema 2")
    if doc.get("schemaVersion") != 2:
        raise ManifestError(f"unsupported manifest format: schemaVersion {doc.get('schemaVersion')!r}")
    if not media:
        if ctype in MANIFEST_TYPES + INDEX_TYPES:
            media = ctype
        else:
            media = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    digest = sha256(raw)
    subject = Descriptor.from_dict(doc["subject"], "subject") if doc.get("subject") is not None else None
    annotations = doc.get("annotations") if isinstance(doc.get("annotations"), dict) else {}
    artifact_type = doc.get("artifactType") if isinstance(doc.get("artifactType"), str) else None
    if media in INDEX_TYPES:
        items = doc.get("manifests")
        if not isinstance(items, list):
            raise ManifestError("invalid manifest: index without a manifests list")
        descs = [Descriptor.from_dict(m, f"manifests[{i}]") for i, m in enumerate(items)]
        return Index(media, descs, raw, digest, subject, artifact_type, annotations)
    if media not in MANIFEST_TYPES:
        raise ManifestError(f"unsupported manifest media type: {media}")
    config = Descriptor.from_dict(doc.get("config"), "config")
    layers_doc = doc.get("layers")
    if not isinstance(layers_doc, list):
        raise ManifestError("invalid manifest: layers is not a list")
    layers = [Descriptor.from_dict(l, f"layers[{i}]") for i, l in enumerate(layers_doc)]
    return Manifest(media, config, layers, raw, digest, subject, artifact_type, annotations)


def is_image(m: Manifest) -> bool:
    """True when the manifest describes a container image (not another artifact)."""
    return m.config.media_type in (DOCKER_CONFIG, OCI_CONFIG, "")


# -- platforms ------------------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    """``os/architecture[/variant]`` as Docker's ``--platform`` names it."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm",
                 "i386": "386", "i686": "386"}


def normalize_arch(arch: str, variant: str = "") -> tuple[str, str]:
    """containerd's platform normalisation: aliases, and arm64's default variant v8."""
    arch = _ARCH_ALIASES.get(arch.lower(), arch.lower())
    variant = variant.lower()
    if arch == "arm64" and variant in ("8", "v8"):
        variant = ""
    if arch == "arm" and variant in ("", "7"):
        variant = "v7" if variant in ("", "7") else variant
    return arch, variant


def host_platform() -> Platform:
    arch, variant = normalize_arch(os.uname().machine)
    return Platform("linux", arch, variant)


def parse_platform(spec: str | None) -> Platform:
    """Parse ``os[/arch[/variant]]`` (or ``arch`` alone); the host platform when empty.

    Raises InvalidParameter with containerd's wording for a malformed string.
    """
    if not spec:
        return host_platform()
    parts = spec.strip().lower().split("/")
    if len(parts) > 3 or any(not p for p in parts):
        raise InvalidParameter(f'"{spec}": unknown operating system or architecture: invalid argument')
    host = host_platform()
    if len(parts) == 1:
        if parts[0] in ("linux", "windows", "darwin", "freebsd"):
            return Platform(parts[0], host.architecture, host.variant)
        arch, variant = normalize_arch(parts[0])
        return Platform("linux", arch, variant)
    arch, variant = normalize_arch(parts[1], parts[2] if len(parts) == 3 else "")
    return Platform(parts[0], arch, variant)


def platform_of(p: dict[str, Any] | None) -> Platform | None:
    if not p:
        return None
    arch, variant = normalize_arch(str(p.get("architecture", "")), str(p.get("variant", "")))
    return Platform(str(p.get("os", "")), arch, variant)


def matches(candidate: Platform, wanted: Platform) -> bool:
    """Whether an image for ``candidate`` runs on ``wanted`` (arm variants: older ones run on newer)."""
    if candidate.os != wanted.os or candidate.architecture != wanted.architecture:
        return False
    if not wanted.variant or candidate.variant == wanted.variant:
        return True
    if candidate.architecture == "arm" and candidate.variant and wanted.variant:
        return candidate.variant <= wanted.variant
    return not candidate.variant


def select(index: Index, wanted: Platform) -> Descriptor:
    """The manifest of ``index`` for ``wanted``: an exact variant first, then a compatible one.

    Entries that are attestations (``vnd.docker.reference.type``) or have no platform
    are skipped. Raises NotFound with Docker's message when none matches.
    """
    best: Descriptor | None = None
    best_rank = -1
    for d in index.manifests:
        if (d.annotations or {}).get("vnd.docker.reference.type"):
            continue
        if d.media_type not in MANIFEST_TYPES + INDEX_TYPES:
            continue
        p = platform_of(d.platform)
        if p is None or not matches(p, wanted):
            continue
        rank = 2 if p.variant == wanted.variant else 1
        if rank > best_rank:
            best, best_rank = d, rank
    if best is None:
        raise NotFound(f"no matching manifest for {wanted} in the manifest list entries")
    return best


def config_platform(config: dict[str, Any]) -> Platform:
    arch, variant = normalize_arch(str(config.get("architecture") or "amd64"), str(config.get("variant") or ""))
    return Platform(str(config.get("os") or "linux"), arch, variant)


# -- building -------------------------------------------------------------------------


def build(config: Descriptor, layers: list[Descriptor], oci: bool) -> bytes:
    """The bytes of a new image manifest (Docker schema 2, or OCI when ``oci``)."""
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
        "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG, "size": config.size,
                   "digest": config.digest},
        "layers": [{"mediaType": l.media_type, "size": l.size, "digest": l.digest} for l in layers],
    }
    # Docker writes its manifests indented with three spaces; any stable form would do.
    return json.dumps(doc, indent=3).encode()


def layer_compression(media_type: str) -> str:
    """"gzip", "zstd" or "none" for a layer media type ("" when unknown)."""
    if media_type.endswith("+gzip") or media_type.endswith(".tar.gzip"):
        return "gzip"
    if media_type.endswith("+zstd"):
        return "zstd"
    if media_type.endswith(".tar"):
        return "none"
    return ""
