"""The runtime runs from one sealed in-memory copy (``engine/runtime/sealed.py``): runc
skips copying itself at each container start and exec only when it runs from a memfd
carrying its seals, and the monitors fall back to the binary on disk when the
descriptor they were handed is anything else."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from baleine.engine.runtime import sealed

MONITOR_DIR = Path(__file__).resolve().parents[2] / "baleine" / "engine" / "runtime"
TRUE = shutil.which("true") or "/bin/true"


def _monitor():
    sys.path.insert(0, str(MONITOR_DIR))
    try:
        import monitor
    finally:
        sys.path.remove(str(MONITOR_DIR))
    return monitor


def test_the_copy_has_the_binary_s_bytes_and_runc_s_seals() -> None:
    fd = sealed.seal(TRUE)
    assert fd is not None
    try:
        assert os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:runc")
        assert fcntl.fcntl(fd, fcntl.F_GET_SEALS) == sealed.RUNC_SEALS
        assert not os.get_inheritable(fd)
        with open(TRUE, "rb") as f:
            assert os.pread(fd, os.fstat(fd).st_size + 1, 0) == f.read()
        with pytest.raises(PermissionError):
            os.pwrite(fd, b"x", 0)
        with pytest.raises(PermissionError):
            os.ftruncate(fd, 0)
        # It runs from any process while this one lives, with argv[0] left as given.
        assert subprocess.run(["true"], executable=sealed.exe(fd)).returncode == 0
    finally:
        os.close(fd)


def test_scripts_and_missing_files_are_not_sealed(tmp_path: Path) -> None:
    script = tmp_path / "runtime"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    assert sealed.seal(str(script)) is None  # it could not run through a close-on-exec descriptor
    assert sealed.seal(str(tmp_path / "nothing")) is None


def test_a_monitor_runs_the_sealed_copy_and_only_that(tmp_path: Path) -> None:
    monitor = _monitor()
    fd = sealed.seal(TRUE)
    assert fd is not None
    os.set_inheritable(fd, True)  # as the zygote receives it (pass_fds)
    plain = os.open(TRUE, os.O_RDONLY)
    try:
        assert monitor.runtime_exe({"runtime": TRUE, "runtime_fd": fd}) == f"/proc/self/fd/{fd}"
        assert not os.get_inheritable(fd)  # the runtime's children do not hold it
        pid = monitor.spawn_process(["runc-named"], exe=monitor.runtime_exe({"runtime": TRUE, "runtime_fd": fd}))
        assert monitor.wait_exit(pid) == 0
        # A descriptor that is not a sealed memfd (an old zygote's, a reused number): the disk.
        assert monitor.runtime_exe({"runtime": TRUE, "runtime_fd": plain}) == TRUE
        assert monitor.runtime_exe({"runtime": TRUE, "runtime_fd": 987}) == TRUE
        assert monitor.runtime_exe({"runtime": TRUE, "runtime_fd": None}) == TRUE
        assert monitor.runtime_exe({"runtime": TRUE}) == TRUE
    finally:
        os.close(fd)
        os.close(plain)
