"""Turning layer blobs into committed, unpacked layers (shared by load, pull, import,
commit and build).

``unpack_blob`` unpacks a blob of the content store (compressed or not) on top of a
parent layer and commits it under its ChainID; a layer already present is not
unpacked again. Blocking: call it from a worker thread.
"""

from __future__ import annotations

import hashlib
import threading

from . import compression
from ...filesystem import layers
from .content import ContentStore
from ...rules.errors import InvalidParameter
from .snapshots import Layer, Snapshots

# One unpack per ChainID at a time: concurrent loads of images sharing a base layer
# must not unpack it twice.
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def chain_of(parent: str, diff_id: str) -> str:
    """ChainID of ``diff_id`` on top of the layer whose ChainID is ``parent``."""
    if not parent:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


def _lock(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def unpack_blob(content: ContentStore, snapshots: Snapshots, blob: str, media_type: str, parent: str,
                expected_diff_id: str | None = None) -> Layer:
    """Unpack ``blob`` on top of ``parent``; return the committed layer.

    When ``expected_diff_id`` is given and the layer is already present, nothing is
    read. Raises InvalidParameter when the blob is not a valid layer or its diff ID
    differs from the expected one (nothing is committed then).
    """
    if expected_diff_id:
        existing = snapshots.get(chain_of(parent, expected_diff_id))
        if existing is not None:
            return existing
    with _lock(f"{parent}/{blob}"):
        if expected_diff_id:
            existing = snapshots.get(chain_of(parent, expected_diff_id))
            if existing is not None:
                return existing
        # Staging is a snapshot key: garbage after a crash, published by commit.
        key = snapshots.new_key("tmp-")
        snapshots.prepare(key, parent)
        try:
            with content.open(blob) as raw:
                stream = CountingReader(compression.open_decompressed(raw))
                result = layers.apply_layer(stream, snapshots.upper(key))
            if expected_diff_id and result.diff_id != expected_diff_id:
                raise InvalidParameter(f"layer {blob} has diff ID {result.diff_id}, expected {expected_diff_id}")
            media_type = media_type or media_type_of(content, blob)
        except BaseException:
            snapshots.remove(key)
            raise
        return snapshots.commit(chain_of(parent, result.diff_id), key, diff_id=result.diff_id, size=result.size,
                                blob=blob, media_type=media_type, blob_size=content.size(blob),
                                tar_size=stream.count)


class CountingReader:
    """A reader that counts the bytes read through it."""

    def __init__(self, inner) -> None:  # noqa: ANN001 - any binary reader
        self.inner = inner
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        self.count += len(data)
        return data

    def readinto(self, buf) -> int:  # noqa: ANN001 - writable buffer
        if hasattr(self.inner, "readinto"):
            n = self.inner.readinto(buf)
        else:
            data = self.inner.read(len(buf))
            n = len(data)
            buf[:n] = data
        self.count += n or 0
        return n


MEDIA_TYPES = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def media_type_of(content: ContentStore, blob: str) -> str:
    """The OCI layer media type matching a blob's compression."""
    with content.open(blob) as f:
        kind = compression.detect(f.read(512))
    if kind not in MEDIA_TYPES:
        raise InvalidParameter(f"unsupported layer compression: {kind}")
    return MEDIA_TYPES[kind]
