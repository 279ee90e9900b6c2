"""Wake-ups when a container's log directory changes (Linux inotify, through libc).

The log followers (``logs.follow``) read a file that another process (the container's
monitor) appends to. Polling it every ``logs.POLL`` seconds delays each line by up to
that much; this module lets a follower sleep until the kernel says the directory
changed instead. Contract:

- ``subscribe(directory) -> Wake | None``: a ``Wake`` whose ``wait(timeout)`` returns as
  soon as anything in ``directory`` was written, created, renamed or deleted since the
  last ``wait`` (or when ``timeout`` passes: the poll stays the fallback), or ``None``
  when inotify is unavailable (no libc symbol, the user's instance or watch limit
  reached, not Linux): the caller polls as before. Always ``close()`` a ``Wake``.
- The directory, not the file, is watched: a rotation renames the file and creates a
  new one, and a watch on the directory sees both (a watch on the file would follow the
  renamed inode).
- One inotify instance per event loop, shared by every follower (the kernel allows a
  user only ``fs.inotify.max_user_instances``, 128 by default, of them); one watch per
  directory, counted. The instance is closed when its last ``Wake`` is.
- Reading the events costs one ``read`` per wake-up of the loop however many writes it
  coalesces (the kernel merges identical unread events); nothing here blocks.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import struct
import weakref

IN_MODIFY = 0x002
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_IGNORED = 0x8000  # the watch is gone (its directory was removed)
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


class Wake:
    """One follower's subscription to one directory (see the module's contract)."""

    def __init__(self, instance: _Instance, wd: int) -> None:
        self._instance, self.wd = instance, wd
        self.event = asyncio.Event()
        self.closed = False

    async def wait(self, timeout: float) -> None:
        """Until the directory changes (since the last ``wait``) or ``timeout`` seconds pass."""
        if not self.event.is_set():
            timer = asyncio.get_running_loop().call_later(timeout, self.event.set)
            try:
                await self.event.wait()
            finally:
                timer.cancel()
        self.event.clear()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._instance.release(self)


class _Instance:
    """The loop's inotify file descriptor, its watches and who waits on each."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.loop, self.fd = loop, fd
        self.waiters: dict[int, set[Wake]] = {}
        self.open = True
        loop.add_reader(fd, self._readable)

    def add(self, directory: str) -> Wake | None:
        assert _LIBC is not None
        wd = _LIBC.inotify_add_watch(self.fd, os.fsencode(directory), MASK)
        if wd < 0:
            return None  # ENOSPC (the watch limit), ENOENT, EACCES: poll
        wake = Wake(self, wd)  # the kernel answers the same wd for a directory watched already
        self.waiters.setdefault(wd, set()).add(wake)
        return wake

    def release(self, wake: Wake) -> None:
        if not self.open:
            return
        waiting = self.waiters.get(wake.wd)
        if waiting is not None:
            waiting.discard(wake)
            if not waiting:
                del self.waiters[wake.wd]
                assert _LIBC is not None
                _LIBC.inotify_rm_watch(self.fd, wake.wd)  # EINVAL when already gone: fine
        if not self.waiters:
            self.close()

    def close(self) -> None:
        self.open = False
        if _INSTANCES.get(self.loop) is self:
            del _INSTANCES[self.loop]
        self.loop.remove_reader(self.fd)
        os.close(self.fd)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 64 << 10)
        except BlockingIOError:
            return
        at = 0
        while at + _EVENT.size <= len(data):
            wd, mask, _, length = _EVENT.unpack_from(data, at)
            at += _EVENT.size + length
            for wake in self.waiters.get(wd, ()):
                wake.event.set()
            if mask & IN_IGNORED:
                self.waiters.pop(wd, None)  # its followers poll from now on (the directory is gone)


_INSTANCES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Instance] = weakref.WeakKeyDictionary()


def _instance() -> _Instance | None:
    loop = asyncio.get_running_loop()
    inst = _INSTANCES.get(loop)
    if inst is None and _LIBC is not None:
        fd = _LIBC.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None  # EMFILE (the instance limit), ENOSYS, ...: the followers poll
        inst = _INSTANCES[loop] = _Instance(loop, fd)
    return inst


def subscribe(directory: str) -> Wake | None:
    """A ``Wake`` on ``directory``, or None (poll) when inotify cannot watch it."""
    inst = _instance()
    if inst is None:
        return None
    wake = inst.add(directory)
    if wake is None and not inst.waiters:
        inst.close()
    return wake
