"""The monitor is started while the rootfs, network and bundle are prepared
(lifecycle._launch): a start that fails in that preparation must not leave the
monitor behind — it would idle for a minute and make the next start wait for it."""

from __future__ import annotations

import os
import time

from ..conftest import Daemon


def test_a_start_failing_before_go_leaves_no_monitor(daemon: Daemon, name: str) -> None:
    cid = daemon.ok("create", "--name", name, "--network", "nosuch-net", "busybox", "true").strip()
    try:
        for _ in range(2):
            t0 = time.monotonic()
            r = daemon.cli("start", name)
            took = time.monotonic() - t0
            assert r.returncode != 0 and "network nosuch-net not found" in r.stderr, r
            # A monitor left running would hold the next start for its 10 s bound.
            assert took < 5, took
        mdir = daemon.exec_root / cid[:12]
        assert not (mdir / "m.sock").exists() and not (mdir / "monitor.pid").exists(), \
            sorted(os.listdir(mdir)) if mdir.exists() else None
        assert daemon.ok("inspect", "-f", "{{.State.Status}}", name).strip() == "created"
        # The container still starts once its network exists, with its output intact.
        daemon.ok("network", "create", "nosuch-net")
        try:
            daemon.ok("rm", "-f", name)
            out = daemon.ok("run", "--rm", "--network", "nosuch-net", "busybox", "echo", "hello")
            assert out == "hello"
        finally:
            daemon.cli("network", "rm", "nosuch-net")
    finally:
        daemon.cli("rm", "-f", name)
