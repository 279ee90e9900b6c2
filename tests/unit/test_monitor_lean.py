"""The monitor module stays lean: every container's monitor is forked from a zygote
that imported it, and a module with an after-fork hook (threading, which subprocess
imports) makes each monitor write 0.45 MiB of pages it would otherwise share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MONITOR = Path(__file__).resolve().parents[2] / "baleine" / "engine" / "runtime" / "monitor.py"


def test_the_monitor_imports_neither_threading_nor_subprocess() -> None:
    code = (f"import sys; sys.path.insert(0, {str(MONITOR.parent)!r}); import monitor; "
            "print(sorted(m for m in ('threading', 'subprocess', 'asyncio', 'logging') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out


def test_spawned_processes_get_the_given_stdio_and_no_other_descriptor() -> None:
    import os

    sys.path.insert(0, str(MONITOR.parent))
    try:
        import monitor
    finally:
        sys.path.remove(str(MONITOR.parent))
    r, w = os.pipe()
    other_r, other_w = os.pipe()  # close-on-exec, as every descriptor a monitor opens
    try:
        pid = monitor.spawn_process(["sh", "-c", f"echo out; echo err >&2; test -e /proc/self/fd/{other_w}; exit $?"],
                                    stdout=w, stderr=w)
        os.close(w)
        w = -1
        assert monitor.wait_exit(pid) == 1  # the other descriptor was not there
        assert os.read(r, 4096).decode().split() == ["out", "err"]
        assert monitor.wait_exit(monitor.spawn_process(["sh", "-c", "kill -9 $$"])) == -9
    finally:
        for fd in (r, w, other_r, other_w):
            if fd >= 0:
                os.close(fd)


def _monitor():
    sys.path.insert(0, str(MONITOR.parent))
    try:
        import monitor
    finally:
        sys.path.remove(str(MONITOR.parent))
    return monitor


def test_the_poller_reports_as_selectors_does() -> None:
    """Readable data, a hang-up as readable (a reader must see its end of file), write
    interest on demand, and the errors callers expect from an unregister."""
    import os
    import socket

    monitor = _monitor()
    poller = monitor.Poller()
    r, w = os.pipe()
    a, b = socket.socketpair()
    try:
        poller.register(r, monitor.READ, "output")
        poller.register(a, monitor.READ, "client")
        assert poller.select(0) == []
        os.write(w, b"x")
        [(key, events)] = poller.select(0)
        assert (key.fd, key.data, events & monitor.READ) == (r, "output", monitor.READ)
        os.read(r, 1)
        poller.modify(a, monitor.READ | monitor.WRITE, "client2")
        [(key, events)] = poller.select(0)
        assert (key.fd, key.data, events) == (a.fileno(), "client2", monitor.WRITE)
        poller.modify(a, monitor.READ, "client2")
        os.close(w)
        w = -1
        [(key, events)] = poller.select(1)
        assert key.fd == r and events & monitor.READ
        poller.unregister(r)
        try:
            poller.unregister(r)
            raise AssertionError("unregistered twice")
        except KeyError:
            pass
        a.close()
        try:
            poller.unregister(a)
            raise AssertionError("a closed socket")
        except ValueError:
            pass
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)
        a.close()
        b.close()


def test_the_rehearsal_goes_through_a_monitors_paths_and_leaves_nothing(tmp_path: Path) -> None:
    """What the zygote runs before it freezes: a real socket, client, log and exit file,
    all removed again with their directory; the rehearsal's log and exit are what a
    monitor writes."""
    import json
    import os

    monitor = _monitor()
    seen: dict[str, bytes] = {}
    real_unlink = os.unlink

    def keep(path: str) -> None:  # read what each file held before it goes
        if not path.endswith(".sock"):
            seen[os.path.basename(path)] = monitor.read_file(path)
        real_unlink(path)

    scratch = tmp_path / "rehearsal"
    monitor.os.unlink = keep
    try:
        monitor._rehearse_in(str(scratch))
    finally:
        monitor.os.unlink = real_unlink
    assert not scratch.exists()
    lines = [json.loads(line) for line in seen["log.json"].splitlines()]
    assert [(e["log"], e["stream"]) for e in lines] == [("rehearsal\n", "stdout"), ("partial", "stderr")]
    assert json.loads(seen["exit.json"])["status"] == 0
    assert int(seen["m.pid"]) == os.getpid()


def test_a_rehearsal_that_fails_leaves_nothing_either(tmp_path: Path) -> None:
    """A socket path too long for AF_UNIX: the monitor cannot listen, the rehearsal stops
    there, and its directory still goes (the zygote carries on without it)."""
    monitor = _monitor()
    scratch = tmp_path / ("r" * 120)
    monitor._rehearse_in(str(scratch))
    assert not scratch.exists()
