"""Network namespaces as bind-mounted files, and code run inside one.

A container's namespace is made by the daemon (not by runc) so that it can be
wired before the container's process exists and outlives a daemon restart: a
fresh thread calls ``unshare(CLONE_NEWNET)`` and bind-mounts its
``/proc/thread-self/ns/net`` on a file under ``<exec-root>/netns``, as
``ip netns add`` does under /run/netns. Only the thread moves, never the daemon.

Code that must run inside a namespace (opening netlink or DNS sockets there:
a socket belongs to the namespace of the thread that created it) runs in a
short-lived thread of its own that ``setns`` into it; pool threads are never
moved, so nothing else ever runs in a container's namespace by accident.
All functions here block: call them from a worker thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from ...rules.errors import EngineError

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
_MS_BIND = 4096
_MNT_DETACH = 2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def in_new_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a new thread and return its result (or raise its exception).

    The thread may move to another namespace (``enter``, ``enter_new``): it ends
    with ``fn``, so no other code ever runs there.
    """
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc

    t = threading.Thread(target=target, name="baleine-netns")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


def enter_new(path: str) -> None:
    """Move the calling thread into a new network namespace pinned at ``path``.

    Only for a thread of :func:`in_new_thread`. On failure nothing is left pinned.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w"):
        pass
    try:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        own = f"/proc/self/task/{threading.get_native_id()}/ns/net"
        _check(_libc.mount(own.encode(), path.encode(), None, _MS_BIND, None), f"bind mount of {own} on {path}")
    except BaseException:
        remove(path)
        raise


def enter(path: str) -> None:
    """Move the calling thread into the namespace at ``path`` (a :func:`in_new_thread` thread)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"setns({path})")
    finally:
        os.close(fd)


def run_in(path: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that has joined the namespace at ``path``."""

    def inside() -> T:
        enter(path)
        return fn()

    return in_new_thread(inside)


def remove(path: str) -> None:
    """Unpin and delete a namespace file (the kernel frees the namespace, and the
    interfaces in it, when nothing else holds it). Missing files are fine."""
    if _libc.umount2(path.encode(), _MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise EngineError(f"unmount {path}: {os.strerror(err)}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def move(src: str, dst: str) -> None:
    """Pin the namespace pinned at ``src`` at ``dst`` instead (a mount point cannot
    be renamed, and moving a mount under a shared parent is refused: bind, then
    unpin). On failure ``src`` is untouched and ``dst`` absent."""
    with open(dst, "w"):
        pass
    if _libc.mount(src.encode(), dst.encode(), None, _MS_BIND, None) != 0:
        err = ctypes.get_errno()
        try:
            os.unlink(dst)
        except FileNotFoundError:
            pass
        raise OSError(err, f"bind mount of {src} on {dst}: {os.strerror(err)}")
    remove(src)


def is_pinned(path: str) -> bool:
    """Whether ``path`` is a namespace file still bind-mounted (a live namespace)."""
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == path for line in f)
    except OSError:
        return False
