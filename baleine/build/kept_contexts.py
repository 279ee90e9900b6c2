"""Build contexts kept from one build to the next, so a rebuild of the same bytes
does not unpack them again.

A no-change rebuild sends the same context tar as the build before it (the CLI's
``client/context_cache`` even sends the very same file). Unpacking it and removing
it afterwards was most of the engine's time for such a build; with this store the
directory a successful build used is kept, named after what it was made from, and
the next build of the same bytes takes it over instead.

Contract:

- :meth:`KeptContexts.take` returns a private directory holding ``data`` (a context
  tar, plain or compressed) unpacked — exactly what ``context.extract`` makes of it
  and what a build then made of it, which depends only on those bytes and the
  Dockerfile's name (``apply_dockerignore``; nothing else writes into a context:
  RUN bind mounts of it are read-only or private copies). The key is the SHA-256 of
  ``data`` with the Dockerfile's name, so any change to a file, a name, a mode or
  a time in the tar is a different context.
- A directory belongs to one build at a time: taking renames it out of the store,
  :meth:`release` renames it back (or removes it). Two builds of the same bytes at
  once: the second unpacks its own copy; the first one back is kept.
- Only successful builds' contexts of plain tars up to ``MAX_BYTES`` are kept, and
  only while the Dockerfile the build read is still there (``.dockerignore`` may
  have removed it); at most ``MAX_KEPT`` directories, the least recently used
  removed first (renamed away before being deleted, so a build never takes a half
  deleted one). The store lives under the daemon's tmp directory, emptied at
  start-up.

Blocking (file I/O, hashing): call from worker threads.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import shutil
import stat
import threading

from ..engine.images import compression
from .context import extract

#: Larger contexts are unpacked and removed each time (their copy would cost disk).
MAX_BYTES = 8 << 20
#: How many contexts are kept at most.
MAX_KEPT = 4


class KeptContexts:
    """Context directories under ``tmp_dir`` (``ctx-*``), kept in ``tmp_dir/kept-contexts``."""

    def __init__(self, tmp_dir: str) -> None:
        self.tmp_dir = tmp_dir
        self._lock = threading.Lock()
        # directory handed out -> (key, Dockerfile name, its checksums memo)
        self._handed: dict[str, tuple[str, str, dict[str, str]]] = {}
        self._memos: dict[str, dict[str, str]] = {}  # key of a kept directory -> its memo

    @property
    def root(self) -> str:
        """Where kept directories wait, named after their key."""
        return os.path.join(self.tmp_dir, "kept-contexts")

    def new_dir(self) -> str:
        """A new empty context directory (never kept)."""
        path = os.path.join(self.tmp_dir, "ctx-" + secrets.token_hex(8))
        os.makedirs(path)
        return path

    def take(self, data: bytes, dockerfile: str) -> str:
        """A private directory holding the context tar ``data`` unpacked: a kept one
        made from the same bytes for the same Dockerfile name, or a new one.
        Raises what ``context.extract`` raises (InvalidParameter for a corrupt tar)."""
        path = os.path.join(self.tmp_dir, "ctx-" + secrets.token_hex(8))
        key = ""
        if len(data) <= MAX_BYTES and compression.detect(data[:512]) == "none":
            key = hashlib.sha256(hashlib.sha256(data).hexdigest().encode() + b"\0" +
                                 dockerfile.encode("utf-8", "surrogateescape")).hexdigest()
            try:
                os.rename(os.path.join(self.root, key), path)
            except OSError:
                pass
            else:
                with self._lock:
                    memo = self._memos.pop(key, {})
                self._hand_out(path, key, dockerfile, memo)
                return path
        os.makedirs(path)
        try:
            extract(io.BytesIO(data), path)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        if key:
            self._hand_out(path, key, dockerfile, {})
        return path

    def checksums(self, path: str) -> dict[str, str] | None:
        """The checksums memo of a directory :meth:`take` handed out (None for others):
        what a build computed of the context's files (``BuildRun.context_digests``),
        kept with the directory and given to the next build of it — its files never
        change, so neither do their checksums."""
        with self._lock:
            handed = self._handed.get(path)
        return handed[2] if handed is not None else None

    def release(self, path: str, keep: bool) -> None:
        """The build using ``path`` is over: keep the directory for the next build of
        the same context when ``keep`` (the build succeeded) and it may be kept (see
        the module's docstring); otherwise remove it."""
        with self._lock:
            handed = self._handed.pop(path, None)
        if keep and handed is not None and _dockerfile_left(path, handed[1]):
            kept = os.path.join(self.root, handed[0])
            try:
                os.makedirs(self.root, exist_ok=True)
                os.utime(path)  # its age in the store: the least recently used goes first
                os.rename(path, kept)
            except OSError:
                pass  # another build of the same context was back first
            else:
                with self._lock:
                    self._memos[handed[0]] = handed[2]
                self._trim()
                return
        shutil.rmtree(path, ignore_errors=True)

    def _hand_out(self, path: str, key: str, dockerfile: str, memo: dict[str, str]) -> None:
        with self._lock:
            self._handed[path] = (key, dockerfile, memo)

    def _trim(self) -> None:
        """Remove the least recently used kept directories beyond ``MAX_KEPT``."""
        entries = []
        with os.scandir(self.root) as it:
            for entry in it:
                try:
                    entries.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
                except FileNotFoundError:
                    continue  # taken meanwhile
        for _, victim in sorted(entries)[:-MAX_KEPT]:
            doomed = os.path.join(self.tmp_dir, "ctx-gone-" + secrets.token_hex(8))
            try:
                os.rename(victim, doomed)  # atomically out of reach of take()
            except OSError:
                continue
            with self._lock:
                self._memos.pop(os.path.basename(victim), None)
            shutil.rmtree(doomed, ignore_errors=True)


def _dockerfile_left(path: str, dockerfile: str) -> bool:
    """Whether the Dockerfile a build read is surely still in its context, as a
    regular file under its own name (``.dockerignore`` removes it when it matches,
    and the next build must read the same file: not the lower-case fallback, not
    what a symlink now points to)."""
    try:
        return stat.S_ISREG(os.lstat(os.path.join(path, dockerfile)).st_mode)
    except (OSError, ValueError):
        return False
