#!/usr/bin/env python3
"""The dashboard's cost and speed (issue 11): the daemon's CPU with the page open on
N running containers, and the latency from a container's log line to the page.

Starts its own daemon with `--ui-addr` (root under /var/lib), loads busybox, starts N
idle containers and one that echoes what it is sent. Then:

- the daemon's CPU time (utime + stime from /proc) over a window with no page, then
  over the same window with the Containers page open in headless Chromium (the page
  lists them live and samples CPU and memory of up to 50 in turn);
- the latency of a log line: a mark written to the echo container's stdin (attached
  through the Engine API) until the text shows in its logs page, median of M marks;
  and, without the browser, until it arrives on a ``GET /containers/ID/logs?follow=1``
  stream (what ``docker logs -f`` reads).

Usage: bench/ui_dashboard.py [-n 50] [--window 20] [--marks 20]
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BUSYBOX_TAR, destroy_daemon, new_daemon  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_over(pid: int, seconds: float) -> float:
    """The daemon's CPU use over ``seconds``, as a percentage of one core."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / seconds


def api_latencies(client, echo_id: str, marks: int) -> list[float]:  # noqa: ANN001 - docker-py client
    """Mark written → mark read on a follow stream of the logs (no browser)."""
    got: queue.Queue[bytes] = queue.Queue()
    stream = client.api.logs(echo_id, stream=True, follow=True, tail=0)

    def read() -> None:
        for chunk in stream:
            got.put(chunk)
    threading.Thread(target=read, daemon=True).start()
    sock = client.api.attach_socket(echo_id, params={"stdin": 1, "stream": 1})
    raw = sock._sock  # noqa: SLF001 - docker-py's attach socket: write the marks raw
    time.sleep(0.5)
    out = []
    for i in range(marks):
        mark = f"api-{i}-{time.time_ns()}".encode()
        t0 = time.perf_counter()
        raw.sendall(mark + b"\n")
        while mark not in got.get(timeout=10):
            pass
        out.append(time.perf_counter() - t0)
        time.sleep(random.uniform(0.15, 0.35))  # no phase lock with a poll
    raw.close()
    stream.close()
    return out


def summary(xs: list[float]) -> str:
    return (f"{statistics.median(xs) * 1000:6.1f} ms (p90 {sorted(xs)[max(int(len(xs) * 0.9) - 1, 0)] * 1000:.1f} ms, "
            f"max {max(xs) * 1000:.1f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--marks", type=int, default=20)
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    d = new_daemon(prefix="bench-", parent=args.root_parent, extra_args=["--ui-addr", f"127.0.0.1:{port}"])
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        client = d.api()
        for i in range(args.n):
            client.containers.run("busybox", ["sleep", "3600"], name=f"idle-{i}", detach=True)
        echo = client.containers.run("busybox", ["cat"], name="echo", detach=True, stdin_open=True)
        assert d.proc is not None
        pid = d.proc.pid
        time.sleep(2)
        idle = cpu_over(pid, args.window)
        api = api_latencies(client, echo.id, args.marks)
        token = (d.data_root / "ui" / "token").read_text().strip()
        latencies: list[float] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{port}/?token={token}")
            page.goto(f"http://127.0.0.1:{port}/#/containers")
            page.wait_for_selector('tr[data-name="idle-0"]', timeout=10_000)
            time.sleep(2)
            with_page = cpu_over(pid, args.window)
            page.goto(f"http://127.0.0.1:{port}/#/containers/{echo.id}/logs")
            page.wait_for_selector("pre.logs", timeout=10_000)
            sock = client.api.attach_socket(echo.id, params={"stdin": 1, "stream": 1})
            raw = sock._sock  # noqa: SLF001 - docker-py's attach socket: write the marks raw
            for i in range(args.marks):
                mark = f"mark-{i}-{time.time_ns()}"
                t0 = time.perf_counter()
                raw.sendall(mark.encode() + b"\n")
                page.wait_for_function("m => document.querySelector('pre.logs').textContent.includes(m)", arg=mark,
                                       timeout=10_000, polling="raf")
                latencies.append(time.perf_counter() - t0)
                time.sleep(random.uniform(0.15, 0.35))  # no phase lock with a poll
            raw.close()
            browser.close()
    finally:
        destroy_daemon(d)
    print(f"{args.n} idle containers + 1 echo, windows of {args.window:.0f} s")
    print(f"  daemon CPU, no page open:              {idle:6.1f} % of a core")
    print(f"  daemon CPU, Containers page open:      {with_page:6.1f} % of a core")
    print(f"  log line -> logs API stream (median of {len(api)}): {summary(api)}")
    print(f"  log line -> page (median of {len(latencies)}):       {summary(latencies)}")


if __name__ == "__main__":
    main()
