#!/usr/bin/env python3
"""Time of a compose rolling update of 3 replicas, and failed requests under load.

Starts its own daemon (like the tests), loads busybox, brings up the service of
tests/integration/test_compose_rollout.py (3 busybox httpd replicas behind one
published port, healthcheck every 0.5 s, ``update_config: {parallelism: 1,
monitor: 1s}``), then N times changes its configuration and times ``baleine
compose up -d`` while ~20 requests a second go to the published port on
127.0.0.1, for each order (start-first, stop-first). Prints the median rollout
time and the failed requests. No Docker comparison: docker compose has no
rolling updates without swarm (it recreates every changed container at once).

Usage: bench/compose_rollout.py [-n 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BUSYBOX_TAR, destroy_daemon, new_daemon  # noqa: E402
from tests.integration.test_compose_rollout import Load, Proj  # noqa: E402


def rollouts(p: Proj, order: str, n: int) -> tuple[float, int, int]:
    """(median seconds of a rollout, failed requests, requests) over ``n`` rollouts."""
    times, failed, total = [], 0, 0
    p.write("0", order=order)
    p.ok("up", "-d")
    p.ready(3)
    for i in range(1, n + 1):
        p.write(str(i), order=order)
        with Load(p) as load:
            time.sleep(0.5)
            t0 = time.perf_counter()
            p.ok("up", "-d")
            times.append(time.perf_counter() - t0)
            time.sleep(0.5)
        failed += len(load.failures)
        total += len(load.seen) + len(load.failures)
        p.ready(3)
    p.ok("down", "-t", "0")
    return statistics.median(times), failed, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench")
    args = ap.parse_args()
    d = new_daemon(prefix="bench-", parent=args.root_parent)
    results = {}
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        for order in ("start-first", "stop-first"):
            results[order] = rollouts(Proj(d, Path(tempfile.mkdtemp(prefix="bench-roll-")), "benchroll"),
                                      order, args.n)
    finally:
        destroy_daemon(d)
    print(f"compose rollout of 3 replicas (parallelism 1, monitor 1s), medians of {args.n}, load ~20 req/s")
    for order, (median, failed, total) in results.items():
        print(f"  {order:12s} rollout {median:6.2f} s   failed requests {failed}/{total}")
    print("  (docker compose: no rolling update without swarm, nothing to compare)")


if __name__ == "__main__":
    main()
