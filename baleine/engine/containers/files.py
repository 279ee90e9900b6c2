"""A container's files from the outside: ``docker cp`` (the archive endpoints) and
``docker export``.

Which tree: for a running container, ``/proc/<pid>/root``: the root as its
processes see it, bind mounts included (/etc/hosts, volumes), like moby's newer
``openContainerFS``; for a stopped one, its overlay, mounted for the time of the
operation (under the container's lock, so it cannot start meanwhile) and
unmounted after. Export always reads the overlay (the root filesystem alone, as
Docker exports it).

Path semantics are moby's (``container.ResolvePath``/``StatPath``,
``daemon.containerExtractToDir``): the request path is made absolute with its
trailing ``/`` or ``/.`` kept; symlinks are resolved as if the container root were
``/`` (:func:`rootpath.resolve_fd`, moby's ``FollowSymlinkInScope``); missing
components are kept as written.

Safety: the container may be running and changing its tree while we walk it.
Every lookup is relative to a directory descriptor, never follows a symlink the
walk did not resolve itself, and never leaves the root (absolute targets restart
at the root, ``..`` stops there). Extraction is :func:`layers.untar_into` into a
directory opened that way; archives are :func:`layers.tar_directory`, which
resolves its path inside the root the same way.

Everything here except :func:`container_root` is blocking: call it in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from ...filesystem import layers, rootpath
from ..runtime import mounts
from ..images.compression import open_decompressed
from .records import Container
from ...rules.copypaths import go_base, go_join, go_split, preserve_trailing_dot_or_separator
from ...rules.errors import EngineError, Forbidden, InvalidParameter, NotFound
from ..images.snapshots import Snapshots
from ...rules.timestamps import format_rfc3339nano_ns
from ..runtime.users import resolve_user

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MS_PRIVATE = 1 << 18
#: moby's FollowSymlinkInScope gives up after this many links.
MAX_SYMLINKS = rootpath.MAX_SYMLINKS

# Go's os.FileMode type bits (what X-Docker-Container-Path-Stat's "mode" carries).
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_NAMED_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHAR_DEVICE = 1 << 21
MODE_STICKY = 1 << 20


def go_file_mode(st_mode: int) -> int:
    """A stat ``st_mode`` as Go's ``os.FileMode`` (permission bits plus type flags)."""
    mode = st_mode & 0o777
    fmt = stat.S_IFMT(st_mode)
    mode |= {stat.S_IFBLK: MODE_DEVICE, stat.S_IFCHR: MODE_DEVICE | MODE_CHAR_DEVICE, stat.S_IFDIR: MODE_DIR,
             stat.S_IFIFO: MODE_NAMED_PIPE, stat.S_IFLNK: MODE_SYMLINK, stat.S_IFSOCK: MODE_SOCKET}.get(fmt, 0)
    if st_mode & stat.S_ISGID:
        mode |= MODE_SETGID
    if st_mode & stat.S_ISUID:
        mode |= MODE_SETUID
    if st_mode & stat.S_ISVTX:
        mode |= MODE_STICKY
    return mode


def encode_path_stat(st: dict[str, Any]) -> str:
    """The ``X-Docker-Container-Path-Stat`` header value: base64 of the JSON stat."""
    return base64.b64encode(json.dumps(st, separators=(",", ":")).encode()).decode()


def file_not_found(path: str, container_ref: str) -> NotFound:
    """moby's ``containerFileNotFound`` (404)."""
    return NotFound(f"Could not find the file {path} in container {container_ref}")


def absolute(path: str) -> str:
    """The request path as an absolute container path, trailing ``/`` or ``/.`` kept."""
    return preserve_trailing_dot_or_separator(go_join("/", path), path)


# ---------------------------------------------------------------------------
# Resolving paths inside a root
# ---------------------------------------------------------------------------


# The one safe resolver (moby's FollowSymlinkInScope) lives in images/rootpath.py.
resolve_in_scope = rootpath.resolve_fd
open_dir = rootpath.open_dir


def _open_root(root: str) -> int:
    try:
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise EngineError(f"cannot open the container's root filesystem: {err.strerror}") from None


# ---------------------------------------------------------------------------
# Stat and archive (GET/HEAD /containers/{id}/archive)
# ---------------------------------------------------------------------------


@dataclass
class PathInfo:
    """A resolved copy source: Docker's stat, and what to archive under which name."""

    stat: dict[str, Any]
    include: str  # resolved path in the root
    arcname: str  # name of the archive's top entry


def _system_error(what: str, path: str, err: OSError) -> EngineError:
    return EngineError(f"{what} {path}: {err.strerror or err}")


def stat_path(root: str, path: str, container_ref: str) -> PathInfo:
    """Docker's ``ContainerPathStat`` of ``path`` (parents resolved, last element not).

    ``stat`` is ``{"name", "size", "mode", "mtime", "linkTarget"}``; for a symlink,
    ``linkTarget`` is its target fully resolved in the container. Raises NotFound
    with moby's message when the path does not exist, EngineError when a parent
    is not a directory.
    """
    try:
        return _stat_path(root, path, container_ref)
    except OSError as err:
        raise _system_error("lstat", path, err) from None


def _stat_path(root: str, path: str, container_ref: str) -> PathInfo:
    abs_path = absolute(path)
    dir_part, base = go_split(abs_path)
    rootfd = _open_root(root)
    try:
        resolved_dir = resolve_in_scope(rootfd, dir_part)
        try:
            dfd = open_dir(rootfd, resolved_dir)
        except NotADirectoryError:
            raise EngineError(f"lstat {go_join(resolved_dir, base)}: not a directory") from None
        if dfd is None:
            raise file_not_found(path, container_ref)
        try:
            if base in ("", "."):
                st = os.fstat(dfd)
            else:
                try:
                    st = os.stat(base, dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    raise file_not_found(path, container_ref) from None
                except NotADirectoryError:
                    raise EngineError(f"lstat {go_join(resolved_dir, base)}: not a directory") from None
        finally:
            os.close(dfd)
        link_target = ""
        if stat.S_ISLNK(st.st_mode):
            link_target = resolve_in_scope(rootfd, abs_path)
    finally:
        os.close(rootfd)
    info = {"name": go_base(abs_path), "size": st.st_size, "mode": go_file_mode(st.st_mode),
            "mtime": format_rfc3339nano_ns(st.st_mtime_ns), "linkTarget": link_target}
    include = resolved_dir.rstrip("/") + "/" + base
    # The top entry takes the name asked for (moby rebases it to Base(absPath)),
    # except for the root, whose entries are "./" and below.
    name = info["name"]
    arcname = "." if name == "/" else name
    return PathInfo(info, include, arcname)


def write_archive(root: str, info: PathInfo, out: BinaryIO) -> None:
    """Write the tar of a path :func:`stat_path` resolved to ``out``."""
    try:
        layers.tar_directory(root, out, info.include, arcname=info.arcname)
    except OSError as err:
        raise EngineError(f"cannot archive {info.stat['name']}: {err.strerror or err}") from err


def export(rootfs: str, out: BinaryIO) -> None:
    """Write the tar of a whole root filesystem (``docker export``) to ``out``."""
    layers.tar_directory(rootfs, out, "/")


# ---------------------------------------------------------------------------
# Extraction (PUT /containers/{id}/archive)
# ---------------------------------------------------------------------------


def _in_mount(mount_point: str, abs_path: str) -> bool:
    dest = "/" + mount_point.strip("/")
    return abs_path == dest or abs_path.startswith(dest.rstrip("/") + "/")


def check_writable(c: Container, abs_path: str) -> None:
    """moby's read-only checks: a read-only volume, or a read-only root filesystem
    when the path is in no volume (Forbidden)."""
    in_volume = False
    for m in c.doc.get("Mounts") or []:
        dest = m.get("Destination") or ""
        if dest and _in_mount(dest, abs_path):
            if not m.get("RW", True):
                raise Forbidden("mounted volume is marked read-only")
            in_volume = True
            break
    if not in_volume and c.host_config.get("ReadonlyRootfs"):
        raise Forbidden("container rootfs is marked read-only")


def extract(root: str, c: Container, path: str, stream: BinaryIO, container_ref: str, *,
            no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False) -> None:
    """Extract the tar ``stream`` (possibly gzip/bzip2/xz/zstd compressed) into
    directory ``path`` of the container.

    ``path`` is resolved with its last element followed (a symlink to a
    directory is a valid destination). ``copy_uid_gid`` with a container
    ``User`` gives every entry that user's uid/gid (looked up in the container);
    otherwise the archive's owners are kept. Raises NotFound (missing path),
    InvalidParameter (not a directory, bad archive), Forbidden (read-only).
    """
    try:
        _extract(root, c, path, stream, container_ref, no_overwrite_dir_non_dir, copy_uid_gid)
    except OSError as err:
        raise _system_error("cannot extract to", path, err) from None


def _extract(root: str, c: Container, path: str, stream: BinaryIO, container_ref: str,
             no_overwrite_dir_non_dir: bool, copy_uid_gid: bool) -> None:
    abs_path = absolute(path)
    rootfd = _open_root(root)
    try:
        resolved = resolve_in_scope(rootfd, abs_path)
        parent, name = go_split(resolved)
        try:
            pfd = open_dir(rootfd, parent)
        except NotADirectoryError:
            raise EngineError(f"lstat {resolved}: not a directory") from None
    finally:
        os.close(rootfd)
    if pfd is None:
        raise file_not_found(path, container_ref)
    try:
        dfd = os.open(name or ".", _O_DIR, dir_fd=pfd)
    except FileNotFoundError:
        raise file_not_found(path, container_ref) from None
    except OSError as err:
        if err.errno in (errno.ENOTDIR, errno.ELOOP):
            raise InvalidParameter("extraction point is not a directory") from None
        raise
    finally:
        os.close(pfd)
    try:
        check_writable(c, resolved)
        owner = None
        user = c.config.get("User") or ""
        if copy_uid_gid and user:
            eu = resolve_user(root, user)
            owner = (eu.uid, eu.gid)
        # /proc/self/fd/N reopens exactly the directory we resolved safely, so the
        # extraction cannot be redirected by a symlink swapped in meanwhile.
        layers.untar_into(open_decompressed(stream), f"/proc/self/fd/{dfd}", owner=owner,
                          no_overwrite_dir_non_dir=no_overwrite_dir_non_dir)
    finally:
        os.close(dfd)


# ---------------------------------------------------------------------------
# Which tree
# ---------------------------------------------------------------------------


@asynccontextmanager
async def container_root(snapshots: Snapshots, c: Container, *, processes_view: bool = True,
                         mountpoints: Any = None) -> AsyncIterator[str]:
    """The path of ``c``'s root filesystem for the duration of the block.

    ``processes_view``: for a running container, its processes' root
    (``/proc/<pid>/root``, mounts included); for a stopped one, the merged
    overlay, mounted under the container's lock (it cannot start meanwhile) with
    its hosts/hostname/resolv.conf and, given ``mountpoints`` (the lifecycle's
    volumes hook), its volumes and binds mounted in as moby's ``mountVolumes``
    does; everything is unmounted afterwards. Without ``processes_view``
    (export): the overlay alone.
    """
    if c.running:
        pid = int(c.state.get("Pid") or 0)
        proc_root = f"/proc/{pid}/root"
        if processes_view and pid and os.path.isdir(proc_root):
            yield proc_root
            return
        merged = snapshots.rw_paths(c.private["rw"])[2]
        if mounts.is_mounted(merged):
            yield merged
            return
    async with c.lock:
        merged = snapshots.rw_paths(c.private["rw"])[2]
        mounted_here = not mounts.is_mounted(merged)
        acquired: list[Any] = []
        try:
            if mounted_here:
                await asyncio.to_thread(snapshots.mount_rw, c.private["rw"], c.private.get("top", ""))
                if processes_view:
                    await asyncio.to_thread(bind_etc_files, c, merged)
                    if mountpoints is not None:
                        await asyncio.to_thread(bind_mount_points, c, merged, mountpoints, acquired)
            yield merged
        finally:
            if mounted_here and not c.running:
                # Unmounts the bind mounts too: they are all below merged.
                await asyncio.to_thread(snapshots.unmount_rw, c.private["rw"])
                for v in acquired:
                    await asyncio.to_thread(mountpoints.volumes.release, v, c.id)


def _make_mount_point(rootfd: int, dest: str, is_dir: bool) -> int | None:
    """An O_PATH descriptor of mount point ``dest`` inside ``rootfd``, created
    (with its parents) if missing, as moby's ``CreateIfNotExists``; None when
    something that is not a directory is in the way."""
    resolved = resolve_in_scope(rootfd, dest)
    fd = os.dup(rootfd)
    try:
        parts = [p for p in resolved.split("/") if p]
        for i, comp in enumerate(parts):
            last = i == len(parts) - 1
            if last and not is_dir:
                try:
                    os.close(os.open(comp, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o755,
                                     dir_fd=fd))
                except IsADirectoryError:
                    pass
                nfd = os.open(comp, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            else:
                try:
                    os.mkdir(comp, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                nfd = os.open(comp, _O_DIR, dir_fd=fd)
            os.close(fd)
            fd = nfd
        return fd
    except OSError:
        os.close(fd)
        return None


def bind_mount_points(c: Container, rootfs: str, mountpoints: Any, acquired: list[Any]) -> None:
    """Mount a stopped container's volumes and bind mounts into its mounted root
    filesystem (tmpfs mounts only exist while it runs). Volumes are acquired from
    ``mountpoints.volumes`` (mounted if they have mount options) and appended to
    ``acquired`` for the caller to release. Mounts are made private so that
    unmounting them cannot propagate to their sources."""
    rootfd = _open_root(rootfs)
    try:
        for p in c.private.get("mounts") or []:
            kind = p.get("Type")
            if kind not in ("volume", "bind"):
                continue
            source = p.get("Source") or ""
            if kind == "volume":
                try:
                    v = mountpoints.volumes.get(p["Name"])
                except EngineError:
                    continue
                source = mountpoints.volumes.acquire(v, c.id)
                acquired.append(v)
                if p.get("Subpath"):
                    source = os.path.join(source, p["Subpath"].lstrip("/"))
            if not source or not os.path.exists(source):
                continue
            fd = _make_mount_point(rootfd, p["Destination"], os.path.isdir(source))
            if fd is None:
                continue
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
                mounts.mount(source, f"/proc/self/fd/{fd}", "none", mounts.MS_BIND | mounts.MS_REC)
                mounts.mount("none", target, "none", mounts.MS_REC | MS_PRIVATE)
            except (EngineError, OSError):
                continue  # the image's content at that path is still a faithful answer
            finally:
                os.close(fd)
    finally:
        os.close(rootfd)


#: The files the runtime bind-mounts into every container (document key, path).
ETC_FILES = (("ResolvConfPath", "/etc/resolv.conf"), ("HostnamePath", "/etc/hostname"), ("HostsPath", "/etc/hosts"))


def bind_etc_files(c: Container, rootfs: str) -> None:
    """Bind-mount the container's hostname, hosts and resolv.conf over the
    (empty) ones of its mounted root filesystem, as moby does to copy from a
    stopped container. Files not written yet (never started) are skipped. The
    targets are opened inside the root filesystem without following symlinks
    out of it, and mounted through /proc/self/fd."""
    rootfd = _open_root(rootfs)
    try:
        for key, dest in ETC_FILES:
            source = c.doc.get(key) or ""
            if not source or not os.path.isfile(source):
                continue
            resolved = resolve_in_scope(rootfd, dest)
            parent, name = go_split(resolved)
            try:
                pfd = open_dir(rootfd, parent)
            except NotADirectoryError:
                continue
            if pfd is None:
                continue
            try:
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            except OSError:
                continue
            finally:
                os.close(pfd)
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    mounts.mount(source, f"/proc/self/fd/{fd}", "none", mounts.MS_BIND)
            except EngineError:
                pass  # a plain copy of the image's file is still a faithful answer
            finally:
                os.close(fd)
    finally:
        os.close(rootfd)
