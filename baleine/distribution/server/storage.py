"""The registry's storage: deduplicated blobs, per-repository links, uploads.

Layout under the root::

    blobs/sha256/<hex>                          every blob (layers, configs, manifests), once
    repositories/<name>/_layers/<hex>           the blob is part of repository <name>
    repositories/<name>/_manifests/revisions/<hex>   a manifest of <name> (holds its media type)
    repositories/<name>/_manifests/tags/<tag>   the digest the tag points at
    repositories/<name>/_referrers/<subject-hex>/<hex>  a manifest whose subject is <subject>
                                                (holds its descriptor, for the referrers API)
    uploads/<uuid>/{data,repo}                  an upload in progress
    .lock                                       held by a running server (gc refuses to run)

A blob is shared by every repository that links it, but only readable through a
repository that links it (by push or mount), as distribution does. Every file is
written to a temporary name and renamed, so a reader never sees half a file and
concurrent pushes of the same blob both succeed with the same result. Methods are
blocking; the server calls them from worker threads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from typing import Any

NAME_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")


class DigestMismatch(Exception):
    """Uploaded content does not have the digest the client announced."""


def valid_name(name: str) -> bool:
    return len(name) <= 255 and NAME_RE.fullmatch(name) is not None


def valid_digest(digest: str) -> bool:
    return DIGEST_RE.fullmatch(digest) is not None


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1]


def _write_atomic(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{secrets.token_hex(6)}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


class Storage:
    """Blobs, repositories and uploads under ``root`` (see module docstring)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.blob_dir = os.path.join(self.root, "blobs", "sha256")
        self.repo_dir = os.path.join(self.root, "repositories")
        self.upload_dir = os.path.join(self.root, "uploads")
        for d in (self.blob_dir, self.repo_dir, self.upload_dir):
            os.makedirs(d, exist_ok=True)

    # -- blobs -----------------------------------------------------------------------

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.blob_dir, _hex(digest))

    def blob_size(self, digest: str) -> int | None:
        try:
            return os.stat(self.blob_path(digest)).st_size
        except FileNotFoundError:
            return None

    def put_blob(self, data: bytes) -> str:
        """Store bytes as a blob (idempotent); return the digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not os.path.exists(path):
            _write_atomic(path, data)
        return digest

    def read_blob(self, digest: str) -> bytes | None:
        return _read(self.blob_path(digest))

    def all_blobs(self) -> list[str]:
        return ["sha256:" + n for n in os.listdir(self.blob_dir) if len(n) == 64]

    def delete_blob(self, digest: str) -> None:
        try:
            os.unlink(self.blob_path(digest))
        except FileNotFoundError:
            pass

    # -- repositories ------------------------------------------------------------------

    def _repo(self, name: str, *parts: str) -> str:
        return os.path.join(self.repo_dir, name, *parts)

    def repo_exists(self, name: str) -> bool:
        return os.path.isdir(self._repo(name, "_manifests")) or os.path.isdir(self._repo(name, "_layers"))

    def linked(self, name: str, digest: str) -> bool:
        """Whether repository ``name`` holds blob ``digest`` (and the blob exists)."""
        return os.path.exists(self._repo(name, "_layers", _hex(digest))) and os.path.exists(self.blob_path(digest))

    def link(self, name: str, digest: str) -> None:
        path = self._repo(name, "_layers", _hex(digest))
        if not os.path.exists(path):
            _write_atomic(path, digest.encode())

    def unlink(self, name: str, digest: str) -> bool:
        try:
            os.unlink(self._repo(name, "_layers", _hex(digest)))
            return True
        except FileNotFoundError:
            return False

    def repositories(self) -> list[str]:
        """Every repository name, sorted."""
        out = []
        for dirpath, dirnames, _ in os.walk(self.repo_dir):
            if "_manifests" in dirnames or "_layers" in dirnames:
                out.append(os.path.relpath(dirpath, self.repo_dir))
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(out)

    def layer_links(self, name: str) -> list[str]:
        d = self._repo(name, "_layers")
        try:
            return ["sha256:" + n for n in os.listdir(d) if len(n) == 64]
        except FileNotFoundError:
            return []

    # -- manifests ---------------------------------------------------------------------

    def put_manifest(self, name: str, raw: bytes, media_type: str, tag: str | None,
                     subject: str | None, descriptor: dict[str, Any] | None) -> str:
        """Store a (validated) manifest in a repository, tag it; return its digest."""
        digest = self.put_blob(raw)
        _write_atomic(self._repo(name, "_manifests", "revisions", _hex(digest)), media_type.encode())
        if subject and descriptor is not None:
            _write_atomic(self._repo(name, "_referrers", _hex(subject), _hex(digest)),
                          json.dumps(descriptor).encode())
        if tag:
            _write_atomic(self._repo(name, "_manifests", "tags", tag), digest.encode())
        return digest

    def manifest_type(self, name: str, digest: str) -> str | None:
        """The media type of a manifest of the repository, None when it has no such manifest."""
        data = _read(self._repo(name, "_manifests", "revisions", _hex(digest)))
        return data.decode() if data is not None else None

    def resolve(self, name: str, ref: str) -> str | None:
        """The digest a tag or digest reference designates in a repository, or None."""
        if ref.startswith("sha256:"):
            return ref if self.manifest_type(name, ref) is not None and self.blob_size(ref) is not None else None
        data = _read(self._repo(name, "_manifests", "tags", ref))
        if data is None:
            return None
        digest = data.decode().strip()
        return digest if self.blob_size(digest) is not None else None

    def tags(self, name: str) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self._repo(name, "_manifests", "tags")) if ".tmp-" not in n)
        except FileNotFoundError:
            return []

    def tag_map(self, name: str) -> dict[str, str]:
        out = {}
        for tag in self.tags(name):
            data = _read(self._repo(name, "_manifests", "tags", tag))
            if data:
                out[tag] = data.decode().strip()
        return out

    def revisions(self, name: str) -> list[str]:
        try:
            return ["sha256:" + n for n in os.listdir(self._repo(name, "_manifests", "revisions")) if len(n) == 64]
        except FileNotFoundError:
            return []

    def delete_tag(self, name: str, tag: str) -> bool:
        try:
            os.unlink(self._repo(name, "_manifests", "tags", tag))
            return True
        except FileNotFoundError:
            return False

    def delete_manifest(self, name: str, digest: str) -> bool:
        """Remove a manifest from a repository, with the tags pointing at it and its
        referrers entry. The blob itself stays until gc."""
        path = self._repo(name, "_manifests", "revisions", _hex(digest))
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        for tag, d in self.tag_map(name).items():
            if d == digest:
                self.delete_tag(name, tag)
        ref_dir = self._repo(name, "_referrers")
        if os.path.isdir(ref_dir):
            for subject in os.listdir(ref_dir):
                try:
                    os.unlink(os.path.join(ref_dir, subject, _hex(digest)))
                except FileNotFoundError:
                    pass
        return True

    def referrers(self, name: str, subject: str) -> list[dict[str, Any]]:
        d = self._repo(name, "_referrers", _hex(subject))
        out = []
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            return []
        for n in names:
            if ".tmp-" in n:
                continue
            data = _read(os.path.join(d, n))
            if data and self.manifest_type(name, "sha256:" + n) is not None:
                out.append(json.loads(data))
        return out

    # -- uploads -----------------------------------------------------------------------

    def new_upload(self, name: str) -> str:
        uuid = secrets.token_hex(16)
        d = os.path.join(self.upload_dir, uuid)
        os.makedirs(d)
        with open(os.path.join(d, "data"), "wb"):
            pass
        _write_atomic(os.path.join(d, "repo"), name.encode())
        return uuid

    def upload_repo(self, uuid: str) -> str | None:
        if not re.fullmatch(r"[a-f0-9]{32}", uuid):
            return None
        data = _read(os.path.join(self.upload_dir, uuid, "repo"))
        return data.decode() if data is not None else None

    def upload_data(self, uuid: str) -> str:
        return os.path.join(self.upload_dir, uuid, "data")

    def upload_size(self, uuid: str) -> int:
        try:
            return os.stat(self.upload_data(uuid)).st_size
        except FileNotFoundError:
            return 0

    def append(self, uuid: str, data: bytes) -> int:
        """Append to an upload; return its new size."""
        with open(self.upload_data(uuid), "ab") as f:
            f.write(data)
            return f.tell()

    def finish_upload(self, uuid: str, name: str, digest: str, computed: str | None) -> int:
        """Verify an upload against ``digest`` and publish it as a blob of ``name``.

        ``computed`` is the digest the server hashed while receiving (None: hash the
        file now). Raises DigestMismatch (and discards the upload) when it differs.
        Returns the blob's size.
        """
        path = self.upload_data(uuid)
        if computed is None:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            computed = "sha256:" + h.hexdigest()
        if computed != digest:
            self.cancel_upload(uuid)
            raise DigestMismatch(computed)
        size = os.stat(path).st_size
        target = self.blob_path(digest)
        if os.path.exists(target):
            pass  # deduplicated: another push (or repository) brought it already
        else:
            os.replace(path, target)
        self.link(name, digest)
        self.cancel_upload(uuid)
        return size

    def cancel_upload(self, uuid: str) -> None:
        shutil.rmtree(os.path.join(self.upload_dir, uuid), ignore_errors=True)

    def uploads(self) -> Iterator[str]:
        yield from os.listdir(self.upload_dir)
