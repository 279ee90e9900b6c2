"""Writing build layers: overlay work areas, safe copies into a root filesystem, commits.

A step that changes files (RUN, COPY, ADD, WORKDIR) gets a :class:`WorkArea`: a
fresh writable directory mounted as the upper layer of an overlay over the
layers built so far. RUN runs a container on it; COPY and ADD write into it with
the functions below; then :meth:`Layers.commit` unmounts it and turns the upper
directory itself into the new layer (it already is in the form overlay reads
as a lower: whiteouts, opaque directories), after writing its tar to the
content store for the layer's diff ID, as containerd's overlay snapshotter does.
Nothing is unpacked twice. Work areas are snapshot keys
(:meth:`Snapshots.prepare`), mounted at their mount point with
:func:`mounts.mount_all`.

Destination paths are resolved by :class:`RootFS` inside the mounted root only:
symlinks in the image (``/lib -> usr/lib``) are followed as the container would
see them, absolute targets restart at the root and ``..`` stops there, so a copy
can never write outside the root filesystem. Sources are read through
``context.Context`` (which cannot leave the build context).

Blocking: call from worker threads.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import threading
from dataclasses import dataclass

from ..engine.images import compression
from ..filesystem import layers, rootpath
from ..engine.runtime import mounts
from ..engine.images.content import ContentStore
from ..rules.errors import EngineError, InvalidParameter
from ..engine.images.snapshots import Layer, Snapshots
from ..engine.images.unpack import chain_of
from .context import Source
from ..rules.dockerignore import PatternMatcher

LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"


@dataclass
class WorkArea:
    """A mounted overlay: ``merged`` is the root filesystem to change, ``upper``
    collects the changes. ``name`` is its directory under the overlay root."""

    name: str
    upper: str
    merged: str
    parent: str  # ChainID of the top layer below ('' for none)


class Layers:
    """Work areas and layer commits over the engine's snapshots and content store.

    ``pin``/``unpin`` protect layers a running build refers to from the image
    store's collection until the build has recorded them.
    """

    def __init__(self, snapshots: Snapshots, content: ContentStore) -> None:
        self.snapshots = snapshots
        self.content = content
        self._pins: dict[str, int] = {}
        self._lock = threading.Lock()

    def pin(self, chain_ids: list[str]) -> None:
        with self._lock:
            for c in chain_ids:
                self._pins[c] = self._pins.get(c, 0) + 1

    def unpin(self, chain_ids: list[str]) -> None:
        with self._lock:
            for c in chain_ids:
                n = self._pins.get(c, 0) - 1
                if n <= 0:
                    self._pins.pop(c, None)
                else:
                    self._pins[c] = n

    def pinned(self) -> set[str]:
        """Every pinned layer and the layers below it."""
        with self._lock:
            tops = list(self._pins)
        out: set[str] = set()
        for top in tops:
            while top and top not in out:
                out.add(top)
                layer = self.snapshots.get(top)
                top = layer.parent if layer else ""
        return out

    def open(self, parent: str, with_init: bool = False) -> WorkArea:
        """Mount a new work area over the layer ``parent`` (and below).

        ``with_init`` puts the container init layer (mount points for /etc/hosts,
        /proc...) below the upper layer, for RUN.
        """
        name = self.snapshots.new_key()
        try:
            mounts.mount_all(self.snapshots.prepare(name, parent, init=with_init), self.snapshots.mountpoint(name))
        except BaseException:
            self.snapshots.remove(name)
            raise
        return WorkArea(name, self.snapshots.upper(name), self.snapshots.mountpoint(name), parent)

    def discard(self, area: WorkArea) -> None:
        self.snapshots.remove(area.name)

    def commit(self, area: WorkArea, clean_paths: list[str] | None = None) -> Layer | None:
        """Unmount ``area`` and publish its changes as a layer on ``area.parent``.

        ``clean_paths`` are directories (absolute in the container) to drop from
        the changes when empty: mount points the runtime created. Returns None
        (and discards the area) when nothing changed. The new layer is pinned;
        the caller unpins it once recorded. The area is consumed either way.
        """
        mounts.unmount_all(area.merged)
        try:
            for p in sorted(clean_paths or [], key=len, reverse=True):
                _remove_empty_stub(area.upper, p)
            if not _has_entries(area.upper):
                self.discard(area)
                return None
            with self.content.writer() as w:
                diff_id = layers.diff_tar(area.upper, [], w)
                blob = w.commit()
            chain = chain_of(area.parent, diff_id)
            self.pin([chain])
            size = _tree_size(area.upper)
            blob_size = self.content.size(blob)
            return self.snapshots.commit(chain, area.name, diff_id=diff_id, size=size, blob=blob,
                                         media_type=LAYER_MEDIA_TYPE, blob_size=blob_size, tar_size=blob_size)
        except BaseException:
            self.discard(area)
            raise


def _has_entries(path: str) -> bool:
    with os.scandir(path) as it:
        for _ in it:
            return True
    # An opaque root directory is a change too.
    try:
        return os.getxattr(path, "trusted.overlay.opaque") == b"y"
    except OSError:
        return False


def _remove_empty_stub(upper: str, path: str) -> None:
    parts = [p for p in path.split("/") if p]
    while parts:
        host = os.path.join(upper, *parts)
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            parts.pop()
            continue
        if stat.S_ISDIR(st.st_mode):
            try:
                os.rmdir(host)
            except OSError:
                return
        elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
            os.unlink(host)
        else:
            return
        parts.pop()
        # Parent directories were created (copied up) for the stub only if now empty
        # and not otherwise changed; stop at the first that still has content.
        parent = os.path.join(upper, *parts) if parts else None
        if parent is None or _has_entries(parent):
            return


def _tree_size(path: str) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(dirpath, f))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


# -- the destination root filesystem -----------------------------------------------------


class RootFS:
    """Path resolution and directory creation inside a mounted root filesystem."""

    def __init__(self, root: str) -> None:
        self.root = root

    def resolve(self, path: str, follow_final: bool = True) -> str:
        """Host path of ``path`` (absolute in the container), symlinks followed inside
        the root (:mod:`rootpath`). Missing components are kept as written.

        Raises InvalidParameter on a symlink loop.
        """
        try:
            return rootpath.host_path(self.root, path, follow_final=follow_final)
        except rootpath.TooManyLinks:
            raise InvalidParameter(f"too many levels of symbolic links: {path}") from None

    def lstat(self, path: str) -> os.stat_result | None:
        try:
            return os.lstat(self.resolve(path, follow_final=False))
        except FileNotFoundError:
            return None

    def is_dir(self, path: str) -> bool:
        try:
            return stat.S_ISDIR(os.stat(self.resolve(path)).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def mkdir_all(self, path: str, uid: int = 0, gid: int = 0, mode: int = 0o755) -> str:
        """Create ``path`` and missing parents (owned by uid:gid); return its host path.

        Raises InvalidParameter if a component exists and is not a directory.
        """
        parts = [p for p in path.split("/") if p and p != "."]
        current = "/"
        for comp in parts:
            current = posixpath.join(current, comp)
            host = self.resolve(current)
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                os.mkdir(host, mode)
                os.chown(host, uid, gid, follow_symlinks=False)
                os.chmod(host, mode)
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidParameter(f"mkdir {current}: not a directory")
        return self.resolve(path)


# -- copying -------------------------------------------------------------------------------


@dataclass
class Ownership:
    """What a copy does to owners and modes: ``uid``/``gid`` None keeps the source's."""

    uid: int | None = 0
    gid: int | None = 0
    chmod: int | None = None


def copy_sources(sources: list[Source], dest: str, rootfs: RootFS, own: Ownership, *, dest_is_dir: bool,
                 parents: bool = False, excludes: list[str] | None = None, unpack: bool = False) -> int:
    """Copy resolved sources to ``dest`` (absolute in the container) as COPY/ADD do.

    A directory source copies its *contents*; a file goes to ``dest/basename``
    when ``dest_is_dir`` (or ``dest`` is an existing directory), else to
    ``dest``. ``parents`` keeps each source's relative path (``COPY
    --parents``). ``unpack`` (ADD) extracts local tar archives into the
    destination directory instead of copying them. Returns the number of
    entries written.
    """
    pm = PatternMatcher(excludes) if excludes else None
    count = 0
    for src in sources:
        target = dest
        if parents:
            rel_parent = posixpath.dirname(src.parents_rel) if not stat.S_ISDIR(src.st.st_mode) else src.parents_rel
            target = posixpath.join(dest, rel_parent) if rel_parent else dest
        st = src.st
        if stat.S_ISDIR(st.st_mode):
            dst_host = rootfs.mkdir_all(target, own.uid or 0, own.gid or 0)
            count += _copy_tree(src.path, dst_host, rootfs, posixpath.normpath(target), own, pm, src.rel)
            continue
        if unpack and is_archive(src.path):
            dst_host = rootfs.mkdir_all(target, own.uid or 0, own.gid or 0)
            with open(src.path, "rb") as f:
                layers.untar_into(compression.open_decompressed(f), dst_host)
            count += 1
            continue
        if dest_is_dir or parents or rootfs.is_dir(target):
            dst_dir = target
            file_dest = posixpath.join(target, posixpath.basename(src.rel) or src.rel)
        else:
            dst_dir = posixpath.dirname(target.rstrip("/")) or "/"
            file_dest = target
        rootfs.mkdir_all(dst_dir, own.uid or 0, own.gid or 0)
        _copy_entry(src.path, st, rootfs.resolve(file_dest, follow_final=False), own)
        count += 1
    return count


def _copy_tree(src_dir: str, dst_dir: str, rootfs: RootFS, dst_path: str, own: Ownership,
               pm: PatternMatcher | None, src_rel: str) -> int:
    count = 0
    dirs_meta: list[tuple[str, os.stat_result]] = []
    for dirpath, dirs, files in os.walk(src_dir):
        dirs.sort()
        rel_dir = os.path.relpath(dirpath, src_dir)
        rel_dir = "" if rel_dir == "." else rel_dir
        # Re-resolve the destination directory: the image may hold a symlink there.
        dst_here = rootfs.resolve(posixpath.join(dst_path, rel_dir)) if rel_dir else dst_dir
        keep = []
        for name in dirs:
            rel = posixpath.join(rel_dir, name) if rel_dir else name
            if pm is not None and pm.matches(rel):
                continue
            keep.append(name)
            spath = os.path.join(dirpath, name)
            sst = os.lstat(spath)
            dpath = rootfs.resolve(posixpath.join(dst_path, rel))
            try:
                dst_st = os.lstat(dpath)
            except FileNotFoundError:
                dst_st = None
            if dst_st is not None and not stat.S_ISDIR(dst_st.st_mode):
                _unlink(dpath)
                dst_st = None
            if dst_st is None:
                os.mkdir(dpath, 0o700)
                _apply_meta(dpath, sst, own, is_dir=True)
                dirs_meta.append((dpath, sst))
            count += 1
        dirs[:] = keep
        for name in sorted(files):
            rel = posixpath.join(rel_dir, name) if rel_dir else name
            if pm is not None and pm.matches(rel):
                continue
            spath = os.path.join(dirpath, name)
            sst = os.lstat(spath)
            _copy_entry(spath, sst, os.path.join(dst_here, name), own)
            count += 1
    # Directory times last: filling them changed their mtimes.
    for dpath, sst in reversed(dirs_meta):
        os.utime(dpath, ns=(sst.st_atime_ns, sst.st_mtime_ns), follow_symlinks=False)
    return count


def _unlink(path: str) -> None:
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _copy_entry(src: str, st: os.stat_result, dst: str, own: Ownership) -> None:
    """Create ``dst`` (a host path free of symlinks but for its last component,
    which is replaced) as a copy of ``src``."""
    try:
        dst_st = os.lstat(dst)
    except FileNotFoundError:
        dst_st = None
    if dst_st is not None:
        if stat.S_ISDIR(dst_st.st_mode) and stat.S_ISDIR(st.st_mode):
            return
        _unlink(dst)
    mode = st.st_mode
    if stat.S_ISREG(mode):
        sfd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                _copy_data(sfd, dfd, st.st_size)
                _apply_meta_fd(dfd, st, own)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
        uid = st.st_uid if own.uid is None else own.uid
        gid = st.st_gid if own.gid is None else own.gid
        os.chown(dst, uid, gid, follow_symlinks=False)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    elif stat.S_ISDIR(mode):
        os.mkdir(dst, 0o700)
        _apply_meta(dst, st, own, is_dir=True)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        os.mknod(dst, stat.S_IFMT(mode) | 0o600, st.st_rdev)
        _apply_meta(dst, st, own, is_dir=False)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    # sockets are skipped, as Docker's archiver does


def _copy_data(sfd: int, dfd: int, size: int) -> None:
    remaining = size
    try:
        while remaining > 0:
            n = os.copy_file_range(sfd, dfd, min(remaining, 1 << 30))
            if n == 0:
                break
            remaining -= n
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    while True:
        chunk = os.read(sfd, 1 << 20)
        if not chunk:
            break
        view = memoryview(chunk)
        while view:
            view = view[os.write(dfd, view):]


def _apply_meta_fd(fd: int, st: os.stat_result, own: Ownership) -> None:
    uid = st.st_uid if own.uid is None else own.uid
    gid = st.st_gid if own.gid is None else own.gid
    os.fchown(fd, uid, gid)
    # chmod after chown: chown clears set-id bits.
    os.fchmod(fd, own.chmod if own.chmod is not None else stat.S_IMODE(st.st_mode))


def _apply_meta(path: str, st: os.stat_result, own: Ownership, is_dir: bool) -> None:
    uid = st.st_uid if own.uid is None else own.uid
    gid = st.st_gid if own.gid is None else own.gid
    os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, own.chmod if own.chmod is not None else stat.S_IMODE(st.st_mode))


def write_file(rootfs: RootFS, dest: str, data: bytes, own: Ownership, mode: int = 0o644,
               mtime: float | None = None) -> None:
    """Create the file ``dest`` (absolute in the container) with ``data`` (COPY <<EOF, ADD URL)."""
    parent = posixpath.dirname(dest.rstrip("/")) or "/"
    rootfs.mkdir_all(parent, own.uid or 0, own.gid or 0)
    host = rootfs.resolve(dest, follow_final=False)
    try:
        _unlink(host)
    except FileNotFoundError:
        pass
    fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchown(fd, own.uid or 0, own.gid or 0)
        os.fchmod(fd, own.chmod if own.chmod is not None else mode)
    finally:
        os.close(fd)
    if mtime is not None:
        os.utime(host, (mtime, mtime), follow_symlinks=False)


def is_archive(path: str) -> bool:
    """Whether a local file is a tar archive, compressed or not (ADD extracts those)."""
    try:
        with open(path, "rb") as f:
            reader = compression.open_decompressed(f)
            head = b""
            while len(head) < 512:
                chunk = reader.read(512 - len(head))
                if not chunk:
                    break
                head += chunk
    except (OSError, InvalidParameter, EngineError, EOFError, ValueError):
        return False
    return compression._is_tar_header(head)  # noqa: SLF001 - the one tar-header check


def download(url: str, dest_dir: str, timeout: float = 60) -> tuple[str, str, float | None]:
    """Fetch an ``ADD`` URL into ``dest_dir``; return (path, file name, mtime or None).

    Raises InvalidParameter with the reason when the URL cannot be fetched
    (this engine's machines often have no network: the message says so).
    """
    import email.utils
    import urllib.request

    import urllib.parse

    parsed = urllib.parse.urlparse(url)
    name = posixpath.basename(parsed.path.rstrip("/")) or "index.html"
    path = os.path.join(dest_dir, "download")
    req = urllib.request.Request(url, headers={"User-Agent": "Baleine-Builder"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(path, "wb") as out:
            if resp.status >= 400:
                raise InvalidParameter(f"failed to download {url}: HTTP {resp.status}")
            shutil.copyfileobj(resp, out, 1 << 20)
            modified = resp.headers.get("Last-Modified")
    except InvalidParameter:
        raise
    except Exception as exc:  # noqa: BLE001 - every network failure is reported the same way
        reason = getattr(exc, "reason", None) or exc
        raise InvalidParameter(f"failed to download {url}: {reason} (ADD of a URL needs the network; "
                               "use COPY with a file from the build context when building offline)") from None
    mtime = None
    if modified:
        try:
            mtime = email.utils.parsedate_to_datetime(modified).timestamp()
        except (TypeError, ValueError):
            mtime = None
    return path, name, mtime


__all__ = ["Layers", "Ownership", "RootFS", "WorkArea", "copy_sources", "download", "is_archive", "write_file",
           "LAYER_MEDIA_TYPE"]
