"""Content-addressed blob store: blobs by sha256 digest, verified at commit.

Layout under the root: ``blobs/sha256/<hex>`` for committed blobs and
``ingest/<random>`` for blobs being written. A blob becomes visible only when its
writer commits: the bytes are flushed, the digest checked against the expected one
(if given), and the file renamed into place. A crash mid-write leaves only an
ingest file, which ``clean_ingest`` removes at start-up. Committed blobs are
immutable.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from typing import BinaryIO

from ...rules.errors import InvalidParameter, NotFound

CHUNK = 1 << 20


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def split_digest(digest: str) -> tuple[str, str]:
    """("sha256", hex) of a digest string; InvalidParameter if malformed."""
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise InvalidParameter(f"invalid digest: {digest!r}")
    return algo, hexpart


class Writer:
    """Writes one blob; call ``commit`` to make it visible, or ``abort``.

    Usable as a context manager: leaving the block without a commit aborts.
    """

    def __init__(self, store: "ContentStore") -> None:
        self._store = store
        self.path = os.path.join(store.ingest_dir, secrets.token_hex(16))
        self._file: BinaryIO = open(self.path, "wb")
        self._hash = hashlib.sha256()
        self.size = 0
        self._done = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append bytes (file-like: returns how many)."""
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """File-like no-op: ``commit`` is what makes the bytes durable."""

    @property
    def digest(self) -> str:
        """Digest of what has been written so far."""
        return "sha256:" + self._hash.hexdigest()

    def commit(self, expected: str | None = None, sync: bool = True) -> str:
        """Verify and publish the blob; return its digest.

        Raises InvalidParameter (and discards the bytes) when ``expected`` is given
        and does not match what was written.
        """
        digest = self.digest
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())
        self._file.close()
        self._done = True
        if expected is not None and expected != digest:
            os.unlink(self.path)
            raise InvalidParameter(f"digest mismatch: expected {expected}, got {digest}")
        target = self._store.path(digest)
        if os.path.exists(target):
            os.unlink(self.path)
        else:
            os.rename(self.path, target)
        return digest

    def abort(self) -> None:
        if not self._done:
            self._done = True
            self._file.close()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class ContentStore:
    """Blobs by digest under ``root`` (see module docstring for the layout)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.blob_dir = os.path.join(root, "blobs", "sha256")
        self.ingest_dir = os.path.join(root, "ingest")
        os.makedirs(self.blob_dir, exist_ok=True)
        os.makedirs(self.ingest_dir, exist_ok=True)

    def path(self, digest: str) -> str:
        """Filesystem path of a blob (whether or not it exists)."""
        _, hexpart = split_digest(digest)
        return os.path.join(self.blob_dir, hexpart)

    def exists(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def size(self, digest: str) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def open(self, digest: str) -> BinaryIO:
        """Open a committed blob for reading; NotFound if absent."""
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def writer(self) -> Writer:
        return Writer(self)

    def put(self, data: bytes, expected: str | None = None) -> str:
        """Store bytes as a blob; return the digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if expected in (None, digest) and os.path.exists(self.path(digest)):
            # Already published (blobs appear complete, by rename after fsync): skip
            # the write and its fsync (a no-change rebuild re-records its image).
            return digest
        with self.writer() as w:
            w.write(data)
            return w.commit(expected)

    def put_stream(self, src: BinaryIO, expected: str | None = None) -> str:
        """Store a stream as a blob; return the digest."""
        with self.writer() as w:
            while chunk := src.read(CHUNK):
                w.write(chunk)
            return w.commit(expected)

    def delete(self, digest: str) -> None:
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            pass

    def digests(self) -> list[str]:
        """Every committed blob's digest."""
        return ["sha256:" + name for name in os.listdir(self.blob_dir)]

    def clean_ingest(self) -> int:
        """Remove every unfinished write (start-up recovery); return how many."""
        names = os.listdir(self.ingest_dir)
        for name in names:
            path = os.path.join(self.ingest_dir, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        return len(names)
