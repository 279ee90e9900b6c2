"""The cgroup lock warmer (``engine/runtime/cgroup_lock.py``): which file a thread moves
itself through, that the move leaves it where it was, and that the warmer turns itself
off where no cgroup can be written."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from baleine.engine.runtime.cgroup_lock import THREAD_NAME, LockWarmer, own_tasks_file

HYBRID = """9:name=systemd:/
8:pids:/
4:memory:/process_api/abc
2:cpu,cpuacct:/sub
0::/
"""


def test_v1_picks_the_first_mounted_controller_s_tasks_file(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "cpu,cpuacct").mkdir()
    assert own_tasks_file(HYBRID, v2=False, root=str(tmp_path)) == str(tmp_path / "memory/process_api/abc/tasks")
    (tmp_path / "pids").mkdir()
    assert own_tasks_file(HYBRID, v2=False, root=str(tmp_path)) == str(tmp_path / "pids/tasks")


def test_v1_skips_named_hierarchies_and_unmounted_controllers(tmp_path: Path) -> None:
    (tmp_path / "systemd").mkdir()
    assert own_tasks_file(HYBRID, v2=False, root=str(tmp_path)) is None
    (tmp_path / "cpu,cpuacct").mkdir()
    assert own_tasks_file(HYBRID, v2=False, root=str(tmp_path)) == str(tmp_path / "cpu,cpuacct/sub/tasks")


def test_v2_uses_cgroup_threads_of_the_unified_line() -> None:
    text = "0::/system.slice/baleine.service\n"
    assert own_tasks_file(text, v2=True, root="/cg") == "/cg/system.slice/baleine.service/cgroup.threads"
    assert own_tasks_file("garbage\n1:cpu:/x\n", v2=True, root="/cg") is None


def _thread_cgroup() -> str:
    with open("/proc/thread-self/cgroup") as f:
        return f.read()


@pytest.mark.skipif(os.geteuid() != 0, reason="moving a thread between cgroups needs root")
def test_moving_itself_works_here_and_changes_nothing() -> None:
    before = _thread_cgroup()
    assert LockWarmer().move_self() is True
    assert _thread_cgroup() == before


def test_the_warmer_thread_serves_requests_and_stays() -> None:
    warmer = LockWarmer()
    warmer.warm()
    warmer.warm()  # coalesced with the first, or one more move
    thread = warmer._thread
    assert thread is not None and thread.name == THREAD_NAME
    time.sleep(0.2)
    if os.geteuid() == 0:
        assert thread.is_alive() and not warmer._off
        comms = {Path(f"/proc/self/task/{t}/comm").read_text().strip() for t in os.listdir("/proc/self/task")}
        assert THREAD_NAME in comms


def test_it_turns_itself_off_where_no_cgroup_can_be_written(tmp_path: Path) -> None:
    warmer = LockWarmer(root=str(tmp_path))  # no controller mounted there
    warmer.warm()
    assert warmer._thread is not None
    warmer._thread.join(5)
    assert not warmer._thread.is_alive() and warmer._off
    started = threading.active_count()
    warmer.warm()  # off: no new thread, no error
    assert threading.active_count() == started
