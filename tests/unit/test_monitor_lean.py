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
