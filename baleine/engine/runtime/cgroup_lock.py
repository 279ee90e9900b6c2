"""Warming the kernel's cgroup migration lock before runc takes it.

Every process runc starts in a container (``runc create``/``run``, ``runc exec``) is
moved into the container's cgroups by a write of its pid to ``cgroup.procs``. For
that the kernel takes ``cgroup_threadgroup_rwsem`` for writing: a per-CPU rwsem whose
writer first waits a whole RCU grace period (``rcu_sync_enter``), unless another
writer went through less than about a grace period before. On an idle machine that
grace period is 10–12 ms, and it was 40 % of an ``exec``'s time here (perf: runc
asleep in ``synchronize_rcu`` under ``__cgroup1_procs_write``). Back-to-back
commands do not pay it, the first after a pause does: that is every command a
person types.

:class:`LockWarmer` starts that grace period early. When the engine knows runc is
about to move a process (an exec is created or started, a container is started), a
thread of the daemon moves *itself* into the cgroup it already is in: a no-op
migration that takes the same lock. runc then finds the lock open, or a grace
period already partly waited, after its own start-up. No process changes cgroup;
a failed write (no cgroup filesystem, no permission) turns the warmer off.
"""

from __future__ import annotations

import ctypes
import os
import threading

from baleine.engine.runtime.cgroups import CGROUP_ROOT, is_v2


#: The warmer thread's name in ``/proc/PID/task/TID/comm`` (``ps -L``), which says what it is.
THREAD_NAME = "cgroup-warmer"
_PR_SET_NAME = 15


def _name_thread(name: str) -> None:
    """Name the calling thread for the kernel (Python 3.11 names threads only for itself)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def own_tasks_file(proc_cgroup: str, v2: bool, root: str = CGROUP_ROOT) -> str | None:
    """The file through which a thread moves itself into the cgroup it is in, given its
    ``/proc/thread-self/cgroup`` text: on v1 the ``tasks`` file of its cgroup in the first
    hierarchy with a controller that is mounted under ``root``; on v2 ``cgroup.threads``
    of its cgroup (a thread may move within its own domain). None when none is found."""
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        rel = path.lstrip("/")
        if v2:
            if parts[0] == "0" and not controllers:
                return os.path.join(root, rel, "cgroup.threads")
            continue
        if not controllers or controllers.startswith("name="):
            continue
        mount = os.path.join(root, controllers)
        if os.path.isdir(mount):
            return os.path.join(mount, rel, "tasks")
    return None


class LockWarmer:
    """A thread that, on request, moves itself into its own cgroup (see the module doc).

    :meth:`warm` never blocks; requests made while a move is under way are served by
    one more move right after it, which keeps the lock warm a grace period longer."""

    def __init__(self, root: str = CGROUP_ROOT) -> None:
        self.root = root
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self._off = False

    def warm(self) -> None:
        """Ask for the lock to be warmed now (from any thread)."""
        if self._off:
            return
        self._wanted.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        _name_thread(THREAD_NAME)
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if not self.move_self():
                self._off = True
                return

    def move_self(self) -> bool:
        """Blocking (up to a grace period): move the calling thread into its own cgroup.
        False when that is impossible here."""
        try:
            with open("/proc/thread-self/cgroup") as f:
                path = own_tasks_file(f.read(), is_v2(self.root), self.root)
            if path is None:
                return False
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, str(threading.get_native_id()).encode())
            finally:
                os.close(fd)
        except OSError:
            return False
        return True
