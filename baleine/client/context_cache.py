"""A cache of build-context tars, so an unchanged tree is not tarred again.

``baleine build`` sends the context directory as a tar (``build_context``). A
no-change rebuild would re-read every file, import ``tarfile`` and write the same
tar again; with this cache it only walks the tree and ``lstat``\\ s each entry.

Contract:

- :func:`fingerprint` digests, for the entries the tar would hold (in the same
  order, ``.dockerignore`` already applied), every stat field the tar's content
  depends on — type and mode, size, mtime and ctime in nanoseconds, inode and
  device (hard links), device numbers — plus the context's path, the
  Dockerfile's name and the Python version (``tarfile``'s output). A content
  change moves ctime, so equal fingerprints mean the same tar.
- "Racily clean" trees are never stored (git's racy-index rule): the kernel's
  file timestamps are coarse (a clock tick), so a file written within the same
  tick as an earlier one can keep its ctime. An entry changed in the last
  ``RACY_NS`` is a reason not to store; the next build stores.
- One tar per (context directory, Dockerfile name), named after its
  fingerprint, under ``$XDG_CACHE_HOME/baleine/contexts`` (``~/.cache``), mode
  0600. Storing replaces the directory's previous tar; a reader that opened it
  keeps reading its own file. Contexts larger than ``MAX_BYTES`` are not kept,
  nor more than ``MAX_ENTRIES`` directories' tars.
- Every failure of the cache (no home, read-only disk, a full disk) only means
  "no cache": the caller builds the tar as before.
"""

from __future__ import annotations

import os
import sys
import time

try:  # the builtin module: hashlib would load OpenSSL's (2-3 ms of the CLI's start-up)
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha256

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

# A change this recent may share its timestamp with the next one (coarse clock).
RACY_NS = 2_000_000_000
# Larger contexts are not worth a second copy on disk.
MAX_BYTES = 16 << 20
# At most this many tars are kept (the least recently stored go first): ≤ 256 MiB in all.
MAX_ENTRIES = 16
# Bump when what the tar holds for the same stats changes.
FORMAT = 1


def cache_dir() -> str | None:
    """Where the tars live, or None when there is no home to put them in."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = os.environ.get("HOME") or ""
        if not home:
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "baleine", "contexts")


def _dir_key(root: str, dockerfile: str) -> str:
    return sha256(f"{root}\0{dockerfile}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def fingerprint(root: str, dockerfile: str, entries: list[tuple[str, str]]) -> tuple[str, bool] | None:
    """(digest of the tree as the tar would hold it, whether it may be stored), or
    None when an entry cannot be stat'ed (the tar path reports that error).

    ``entries`` are (path, name in the tar) in the tar's order.
    """
    h = sha256(f"{FORMAT}\0{sys.version_info[:2]}\0{root}\0{dockerfile}\0".encode(
        "utf-8", "surrogateescape"))
    newest = 0
    for path, rel in entries:
        try:
            st = os.lstat(path)
        except OSError:
            return None
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
        h.update(f"{rel}\0{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:"
                 f"{st.st_dev}:{st.st_rdev}\n".encode("utf-8", "surrogateescape"))
    storable = newest < time.time_ns() - RACY_NS
    return h.hexdigest(), storable


def open_cached(root: str, dockerfile: str, digest: str) -> BinaryIO | None:
    """The stored tar of this tree at 0, or None."""
    where = cache_dir()
    if where is None:
        return None
    try:
        return open(os.path.join(where, f"{_dir_key(root, dockerfile)}-{digest}.tar"), "rb")
    except OSError:
        return None


def store(root: str, dockerfile: str, digest: str, body: BinaryIO) -> None:
    """Keep a copy of ``body`` (a tar positioned at 0, left at 0) as this tree's tar,
    replacing the directory's previous one. Never raises for the cache's sake."""
    where = cache_dir()
    if where is None:
        return
    prefix = _dir_key(root, dockerfile) + "-"
    tmp = os.path.join(where, f".{prefix}{os.getpid()}.tmp")
    try:
        size = body.seek(0, os.SEEK_END)
        body.seek(0)
        if size > MAX_BYTES:
            return
        os.makedirs(where, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb") as out:
            while chunk := body.read(1 << 20):
                out.write(chunk)
        os.replace(tmp, os.path.join(where, prefix + digest + ".tar"))
        _trim(where, prefix, prefix + digest + ".tar")
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    finally:
        body.seek(0)


def _trim(where: str, prefix: str, kept: str) -> None:
    """Remove the directory's older tars, then the oldest beyond ``MAX_ENTRIES``."""
    tars = []
    for name in os.listdir(where):
        path = os.path.join(where, name)
        if name.startswith(prefix) and name != kept:
            os.unlink(path)
        elif name.endswith(".tar"):
            try:
                tars.append((os.stat(path).st_mtime_ns, path))
            except FileNotFoundError:
                continue
    for _, path in sorted(tars)[:-MAX_ENTRIES]:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
