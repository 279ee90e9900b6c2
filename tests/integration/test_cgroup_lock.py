"""The daemon warms the kernel's cgroup migration lock when an exec or a container
start is coming (``engine/runtime/cgroup_lock.py``): its warmer thread runs, moving
itself where it already is, and no thread of the daemon changes cgroup."""

from __future__ import annotations

import os
import time
from pathlib import Path

from baleine.engine.runtime.cgroup_lock import THREAD_NAME

from ..conftest import Daemon


def _threads(pid: int) -> dict[str, tuple[str, str]]:
    """tid -> (comm, cgroup text) of each thread of ``pid``."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            task = Path(f"/proc/{pid}/task/{tid}")
            out[tid] = (task.joinpath("comm").read_text().strip(), task.joinpath("cgroup").read_text())
        except FileNotFoundError:
            continue  # a thread that just ended
    return out


def test_exec_and_start_warm_the_lock_and_move_no_thread(daemon: Daemon, name: str) -> None:
    assert daemon.proc is not None
    pid = daemon.proc.pid
    main_cgroup = Path(f"/proc/{pid}/cgroup").read_text()
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "1000")
    try:
        assert daemon.ok("exec", name, "echo", "warm").strip() == "warm"
        time.sleep(0.3)  # a grace period or two: a failed move would have ended the thread
        threads = _threads(pid)
        warmers = [cg for comm, cg in threads.values() if comm == THREAD_NAME]
        assert len(warmers) == 1, threads
        assert all(cg == main_cgroup for _, cg in threads.values())
    finally:
        daemon.cli("rm", "-f", name)
