#!/usr/bin/env python3
"""Median wall time of the ``baleine`` CLI's everyday commands, against the docker CLI.

Starts its own daemon on a temporary data root (like the tests), loads busybox from
../shared/images, starts 20 idle containers, and times N runs of each command with
the ``baleine`` CLI of this checkout (``python -m baleine.cli.main``, PYTHONPATH set
to the checkout) and, when the docker CLI is installed, the docker CLI talking to the
same daemon. The checkout is byte-compiled first. The floor is ``python -I -S -c pass`` (the interpreter alone) and
``python -c pass`` (with site). Ratios are baleine / docker CLI.

Usage: bench/cli_startup.py [-n 30]

Figures (this machine, 2 cores shared with 7 other sessions: noisy; medians of 30):

    (filled in by the session that wrote it: see the report and NOTES.md)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.conftest import BUSYBOX_TAR, DOCKER, destroy_daemon, new_daemon  # noqa: E402


def timed(argv: list[str], env: dict[str, str], n: int) -> float:
    """Median seconds of ``n`` runs of ``argv`` (after one warm-up run); exits on a failure."""
    times = []
    for i in range(n + 1):
        t0 = time.perf_counter()
        r = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if i:
            times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {r.stderr.decode()}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--containers", type=int, default=20, help="idle containers listed by ps -q")
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench",
                    help="where the daemon's temporary root goes (/var/lib is where a daemon lives)")
    args = ap.parse_args()
    n = args.n
    py = sys.executable
    # The checkout's .pyc files, as an installed package has them (PYTHONDONTWRITEBYTECODE
    # would otherwise make every run compile the CLI's modules again).
    subprocess.run([py, "-m", "compileall", "-q", str(REPO / "baleine")], check=True, stdout=subprocess.DEVNULL)
    b = [py, "-m", "baleine.cli.main"]
    rows: list[tuple[str, float, float | None]] = []
    floor = {"python -I -S -c pass": timed([py, "-I", "-S", "-c", "pass"], dict(os.environ), n),
             "python -c pass": timed([py, "-c", "pass"], dict(os.environ), n)}
    d = new_daemon(prefix="bench-", parent=args.root_parent)
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        env = dict(d.env(), PYTHONPATH=str(REPO))
        for i in range(args.containers):
            d.ok("run", "-d", "--name", f"bench-idle-{i}", "busybox", "sleep", "3600")
        docker = shutil.which(DOCKER)
        cases = {
            "version": ["version"],
            f"ps -q ({args.containers} containers)": ["ps", "-q"],
            "inspect": ["inspect", "bench-idle-0"],
            "exec C true": ["exec", "bench-idle-0", "true"],
            "run --rm busybox true": ["run", "--rm", "busybox", "true"],
        }
        for name, argv in cases.items():
            ours = timed(b + argv, env, n)
            theirs = timed([docker, *argv], env, n) if docker else None
            rows.append((name, ours, theirs))
    finally:
        destroy_daemon(d)
    print(f"median of {n} runs (ms)")
    for name, t in floor.items():
        print(f"  {name:34s} {t * 1000:8.1f}")
    print(f"  {'command':34s} {'baleine':>8s} {'docker':>8s} {'ratio':>6s}")
    for name, ours, theirs in rows:
        other = f"{theirs * 1000:8.1f} {ours / theirs:5.2f}x" if theirs else f"{'-':>8s}"
        print(f"  {name:34s} {ours * 1000:8.1f} {other}")


if __name__ == "__main__":
    main()
