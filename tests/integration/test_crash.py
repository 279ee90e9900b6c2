"""Crash safety: the daemon killed at any moment restarts into a consistent store,
and containers live on without it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from ..conftest import BOOKWORM, BUSYBOX_TAR, Daemon, baleine_cmd

COUNTER = "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done"


def _numbers(logs: str) -> list[int]:
    return [int(line.split()[1]) for line in logs.splitlines() if line.startswith("line ")]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_containers_survive_daemon_death(fresh_daemon: Daemon, sig: int) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("run", "-d", "--name", "counter", "busybox", "sh", "-c", COUNTER)
    d.ok("run", "-d", "--name", "short", "busybox", "sh", "-c", "sleep 1; exit 5")
    time.sleep(0.6)
    before = _numbers(d.ok("logs", "counter"))
    pid = d.inspect("counter")["State"]["Pid"]
    d.stop(sig)
    time.sleep(2)  # the counter keeps logging, "short" exits while no daemon runs
    os.kill(pid, 0)  # still alive
    d.start()
    ps = d.ok("ps", "--format", "{{.Names}} {{.State}}")
    assert "counter running" in ps
    info = d.inspect("counter")
    assert info["State"]["Running"] and info["State"]["Pid"] == pid
    time.sleep(0.5)
    after = _numbers(d.ok("logs", "counter"))
    # Nothing lost while the daemon was down: the sequence is unbroken and grew.
    assert after[: len(before)] == before
    assert after == list(range(1, len(after) + 1))
    assert len(after) >= len(before) + 8
    short = d.inspect("short")["State"]
    assert short["Status"] == "exited" and short["ExitCode"] == 5
    # The re-adopted container is fully controllable.
    d.ok("stop", "-t", "1", "counter")
    assert d.inspect("counter")["State"]["Status"] == "exited"
    d.ok("rm", "counter", "short")


def test_follow_survives_nothing_but_resumes(fresh_daemon: Daemon) -> None:
    """After a restart, logs -f on a re-adopted container follows new lines and ends
    when the container ends."""
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("run", "-d", "--name", "cc", "busybox", "sh", "-c", "sleep 1.5; for i in 1 2 3; do echo x$i; done")
    d.stop(signal.SIGKILL)
    d.start()
    r = d.cli("logs", "-f", "cc", timeout=20)
    assert r.returncode == 0 and r.out.splitlines() == ["x1", "x2", "x3"]
    assert d.inspect("cc")["State"]["ExitCode"] == 0


def _consistent(d: Daemon) -> None:
    """Every layer row has its directory, every directory its row; no unfinished writes;
    every image's config and layers are present."""
    db = sqlite3.connect(str(d.data_root / "baleine.db"))
    try:
        dirs = {r[0] for r in db.execute("SELECT dir FROM layers")}
        images = [r[0] for r in db.execute("SELECT id FROM images")]
    finally:
        db.close()
    overlay = d.data_root / "overlay"
    on_disk = {n for n in os.listdir(overlay) if n.startswith("l")}
    assert on_disk == dirs, (on_disk - dirs, dirs - on_disk)
    assert os.listdir(d.data_root / "content" / "ingest") == []
    for image in images:
        assert (d.data_root / "content" / "blobs" / "sha256" / image.split(":")[1]).exists()


@pytest.mark.skipif(not BOOKWORM.exists(), reason="bookworm archive missing")
def test_crash_in_the_middle_of_load(fresh_daemon: Daemon) -> None:
    d = fresh_daemon
    proc = subprocess.Popen(baleine_cmd() + ["load", "-i", str(BOOKWORM)], env=d.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Kill the daemon while layers are being written.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        overlay = d.data_root / "overlay"
        if overlay.exists() and any(n.startswith("tmp-") for n in os.listdir(overlay)):
            break
        time.sleep(0.02)
    time.sleep(0.3)
    d.stop(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    d.start()
    _consistent(d)
    listed = d.ok("images", "--format", "{{.Repository}}:{{.Tag}}").splitlines()
    # Whatever is listed is whole: it runs.
    for ref in listed:
        if ref.startswith("debian:"):
            assert d.cli("run", "--rm", ref, "true").returncode == 0
    # Loading again completes and gives every image.
    out = d.ok("load", "-i", str(BOOKWORM), timeout=300)
    assert "Loaded image: postgres:15" in out
    _consistent(d)
    assert d.cli("run", "--rm", "python:3.11-slim", "python3", "-c", "print(6*7)").out == "42"


def test_concurrent_api_calls_keep_store_sane(fresh_daemon: Daemon) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    errors: list[str] = []

    def worker(i: int) -> None:
        for j in range(5):
            name = f"w{i}-{j}"
            r = d.cli("run", "--name", name, "busybox", "true")
            if r.returncode != 0:
                errors.append(r.stderr)
            d.cli("tag", "busybox", f"t{i}:{j}")
            d.cli("rm", name)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert d.ok("ps", "-aq") == ""
    assert len(d.ok("images", "-q").split()) == 1
    d.stop(signal.SIGKILL)
    d.start()
    _consistent(d)
