"""The daemon killed at random moments of a busy workload restarts, every time, into a
consistent store: every listed image runs, every container is inspectable and
removable, no layer directory lacks its row or the reverse, no write is left
half-done."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import threading
import time

from ..conftest import BUSYBOX_OCI, BUSYBOX_TAR, Daemon, baleine_cmd


def _workload(d: Daemon, stop: threading.Event, seed: int) -> None:
    """CLI commands of every kind, as fast as they go, errors ignored (the daemon dies)."""
    rng = random.Random(seed)
    n = 0
    while not stop.is_set():
        n += 1
        name = f"w{seed}-{n}"
        cmd = rng.choice([
            ["run", "--rm", "busybox", "true"],
            ["run", "-d", "--name", name, "busybox", "sh", "-c", "echo hi; sleep 5"],
            ["run", "--name", name, "busybox", "sh", "-c", "echo data > /f"],
            ["commit", f"w{seed}-{n - 1}", f"chaos/img:{n}"],
            ["load", "-i", str(rng.choice([BUSYBOX_TAR, BUSYBOX_OCI]))],
            ["volume", "create", f"vol{seed}-{n}"],
            ["rm", "-f", f"w{seed}-{n - 2}"],
            ["rmi", "-f", f"chaos/img:{n - 3}"],
            ["tag", "busybox:1.35", f"chaos/tag:{n}"],
        ])
        subprocess.run(baleine_cmd() + cmd, env=d.env(), capture_output=True, timeout=60)


def _check(d: Daemon) -> None:
    db = sqlite3.connect(str(d.data_root / "baleine.db"))
    try:
        dirs = {r[0] for r in db.execute("SELECT dir FROM layers")}
        blobs = [r[0] for r in db.execute("SELECT blob FROM layers WHERE blob != ''")]
        images = [r[0] for r in db.execute("SELECT id FROM images")]
    finally:
        db.close()
    overlay = d.data_root / "overlay"
    on_disk = {n for n in os.listdir(overlay) if n.startswith("l")}
    assert on_disk == dirs, (on_disk - dirs, dirs - on_disk)
    content = d.data_root / "content" / "blobs" / "sha256"
    for digest in blobs + images:
        assert (content / digest.split(":")[1]).exists(), digest
    assert os.listdir(d.data_root / "content" / "ingest") == []
    for ref in d.ok("images", "--format", "{{.Repository}}:{{.Tag}}").splitlines():
        if ref.startswith(("busybox:", "chaos/")):
            r = d.cli("run", "--rm", ref, "true")
            assert r.returncode == 0, (ref, r.stderr)
    ids = d.ok("ps", "-aq", "--no-trunc").split()
    for cid in ids:
        d.inspect(cid)
    if ids:
        r = d.cli("rm", "-f", *ids)
        assert r.returncode == 0, r.stderr
    assert d.ok("ps", "-aq") == ""


def test_killed_at_random_moments(fresh_daemon: Daemon) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    rng = random.Random(2026)
    for round_ in range(5):
        stop = threading.Event()
        workers = [threading.Thread(target=_workload, args=(d, stop, round_ * 10 + i)) for i in range(3)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.5, 2.5))
        d.stop(signal.SIGKILL)
        stop.set()
        for w in workers:
            w.join(timeout=120)
        d.start()
        _check(d)
