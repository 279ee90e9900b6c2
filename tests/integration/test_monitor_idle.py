"""An idle container's monitor sleeps: it wakes for its container's output, its
clients and its container's exit (SIGCHLD), never on a clock, so that a thousand idle
containers cost no CPU wake-ups."""

from __future__ import annotations

import time

from ..conftest import Daemon


def _switches(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return sum(int(line.split()[1]) for line in f if "ctxt_switches:" in line)


def test_an_idle_monitor_never_wakes_and_still_sees_the_exit(daemon: Daemon, name: str) -> None:
    cid = daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "1000").strip()
    try:
        pid = int((daemon.exec_root / cid[:12] / "monitor.pid").read_text())
        time.sleep(0.3)  # the start's last frames
        before = _switches(pid)
        time.sleep(1.6)  # a monitor polling every 0.5 s would wake 3 times
        assert _switches(pid) - before <= 1, "the idle monitor woke up on a clock"
        t0 = time.monotonic()
        daemon.ok("kill", name)
        assert daemon.ok("wait", name).strip() == "137"
        assert time.monotonic() - t0 < 3
    finally:
        daemon.cli("rm", "-f", name)
