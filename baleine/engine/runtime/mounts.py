"""Mount and unmount through libc, and read the mount table.

Kept tiny and synchronous: callers on the event loop run these in a thread when a
mount may stall (e.g. overlay on a busy disk).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from ...rules.errors import EngineError

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MNT_DETACH = 2
# The kernel copies mount data into one page: longer option strings fail.
_MAX_DATA = 4000


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    """mount(2); raises EngineError with the errno's text on failure."""
    if _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode() or None) != 0:
        err = ctypes.get_errno()
        raise EngineError(f"mount {fstype} on {target}: {os.strerror(err)}")


def unmount(target: str, lazy: bool = False) -> None:
    """umount2(2); a target that is not mounted is not an error."""
    if _libc.umount2(target.encode(), MNT_DETACH if lazy else 0) != 0:
        err = ctypes.get_errno()
        if err in (22, 2):  # EINVAL: not a mount point; ENOENT: gone
            return
        raise EngineError(f"unmount {target}: {os.strerror(err)}")


def mount_overlay(lowers: list[str], upper: str | None, work: str | None, target: str) -> None:
    """Mount an overlay of ``lowers`` (topmost first) with an optional upper layer.

    With no upper layer the mount is read-only (overlay requires two or more lower
    dirs then, so a single lower is bind-mounted read-only instead). Long lower lists
    are passed as paths relative to their common parent, from a child process whose
    working directory is that parent, to fit the kernel's one-page limit.
    """
    if upper is None and len(lowers) == 1:
        mount(lowers[0], target, "none", MS_BIND)
        mount("none", target, "none", MS_BIND | MS_REMOUNT | MS_RDONLY)
        return
    opts = "lowerdir=" + ":".join(lowers)
    if upper is not None:
        opts += f",upperdir={upper},workdir={work}"
    if len(opts) < _MAX_DATA:
        mount("overlay", target, "overlay", 0, opts)
        return
    parent = os.path.dirname(os.path.dirname(lowers[0]))
    rel = [os.path.relpath(p, parent) for p in lowers]
    opts = "lowerdir=" + ":".join(rel)
    if upper is not None:
        opts += f",upperdir={os.path.relpath(upper, parent)},workdir={os.path.relpath(work or '', parent)}"
    proc = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, target],
                          cwd=parent, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EngineError(f"mount overlay on {target}: {proc.stderr.strip()}")


@dataclass(frozen=True)
class Mount:
    """A mount described as data (containerd's ``mount.Mount``), as the snapshotter
    returns them: ``type`` "overlay" (options ``lowerdir=``, ``upperdir=``,
    ``workdir=``) or "bind" (options "rbind"/"bind", "ro"/"rw")."""

    type: str
    source: str
    options: tuple[str, ...] = ()


def mount_all(mounts_: Sequence[Mount], target: str) -> None:
    """Mount ``mounts_`` in order at ``target``; nothing when ``target`` is a mount
    point already (callers mount a snapshot's root idempotently)."""
    if is_mounted(target):
        return
    for m in mounts_:
        if m.type == "overlay":
            opts = dict(o.split("=", 1) for o in m.options if "=" in o)
            mount_overlay(opts["lowerdir"].split(":"), opts.get("upperdir"), opts.get("workdir"), target)
        elif m.type == "bind":
            mount(m.source, target, "none", MS_BIND | (MS_REC if "rbind" in m.options else 0))
            if "ro" in m.options:
                mount("none", target, "none", MS_BIND | MS_REMOUNT | MS_RDONLY)
        else:
            raise EngineError(f"unsupported mount type {m.type}")


def unmount_all(prefix: str) -> None:
    """Lazily unmount every mount point at or below ``prefix``, deepest first."""
    for point in mounted_under(prefix):
        unmount(point, lazy=True)


def mounted_under(prefix: str) -> list[str]:
    """Mount points at or below ``prefix``, deepest first (for cleanup)."""
    prefix = prefix.rstrip("/")
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def is_mounted(target: str) -> bool:
    return target.rstrip("/") in mounted_under(target)
