"""Containers and execs run runc from the daemon's sealed copy (``engine/runtime/sealed.py``):
each monitor holds that memfd, which nobody can write to, and ``runc`` started from it skips
its own copy at every start and exec; ``info`` still names the runtime's file."""

from __future__ import annotations

import fcntl
import json
import os

from baleine.engine.runtime import sealed

from ..conftest import Daemon


def _seals_of(pid: int, fd: int) -> int:
    assert os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/memfd:runc")
    held = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY)
    try:
        return fcntl.fcntl(held, fcntl.F_GET_SEALS)
    finally:
        os.close(held)


def test_monitors_hold_the_sealed_runtime_and_it_runs_containers_and_execs(daemon: Daemon, name: str) -> None:
    cid = daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "1000").strip()
    try:
        mdir = daemon.exec_root / cid[:12]
        cfg = json.loads((mdir / "monitor.json").read_text())
        fd = cfg["runtime_fd"]
        assert isinstance(fd, int)
        monitor_pid = int((mdir / "monitor.pid").read_text())
        assert _seals_of(monitor_pid, fd) == sealed.RUNC_SEALS
        assert daemon.ok("exec", name, "echo", "from-the-copy").strip() == "from-the-copy"
        assert daemon.ok("run", "--rm", "busybox", "echo", "run-too").strip() == "run-too"
        assert cfg["runtime"] in daemon.ok("info", "--format", "{{json .Runtimes}}")
    finally:
        daemon.cli("rm", "-f", name)
