#!/usr/bin/env python3
"""Median latency of `baleine run --rm busybox true` and `baleine exec C true`.

Starts its own daemon on a temporary data root (like the tests), loads busybox from
../shared/images, and times N runs of each command. When a Docker engine answers on
/var/run/docker.sock, times `docker run --rm busybox true` and `docker exec` the same
way in the same run and prints the ratios. Also times the docker CLI against Baleine,
which separates the CLI's own start-up from the engine's work.

Prints the median and the first quartile (p25) of each: on a shared machine the
quartile moves less with the neighbours' load than the median does.

Usage: bench/run_exec.py [-n 30]
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
sys.path.insert(0, str(HERE.parent))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BUSYBOX_TAR, DOCKER, baleine_cmd, destroy_daemon, new_daemon  # noqa: E402


def timed(argv: list[str], env: dict[str, str], n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {r.stderr.decode()}")
    return times


def p25(times: list[float]) -> float:
    """The first quartile of ``times``."""
    return statistics.quantiles(times, n=4)[0]


def docker_engine_env() -> dict[str, str] | None:
    if not shutil.which(DOCKER) or not os.path.exists("/var/run/docker.sock"):
        return None
    env = dict(os.environ, DOCKER_HOST="unix:///var/run/docker.sock")
    if subprocess.run([DOCKER, "info"], env=env, capture_output=True).returncode != 0:
        return None
    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench",
                    help="where the daemon's temporary roots go (file creation cost differs a lot "
                         "between directories of this machine's disk; /var/lib is where a daemon lives)")
    args = ap.parse_args()
    n = args.n
    d = new_daemon(prefix="bench-", parent=args.root_parent)
    results: dict[str, list[float]] = {}
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        env = d.env()
        b = baleine_cmd()
        timed(b + ["run", "--rm", "busybox", "true"], env, 3)
        results["baleine run"] = timed(b + ["run", "--rm", "busybox", "true"], env, n)
        d.ok("run", "-d", "--name", "bench-exec", "busybox", "sleep", "3600")
        timed(b + ["exec", "bench-exec", "true"], env, 3)
        results["baleine exec"] = timed(b + ["exec", "bench-exec", "true"], env, n)
        if shutil.which(DOCKER):
            results["docker-cli→baleine run"] = timed([DOCKER, "run", "--rm", "busybox", "true"], env, n)
            results["docker-cli→baleine exec"] = timed([DOCKER, "exec", "bench-exec", "true"], env, n)
        results["baleine version (CLI start-up + 1 request)"] = (
            timed(b + ["version", "--format", "{{.Server.Version}}"], env, n))
        d.ok("rm", "-f", "bench-exec")
    finally:
        destroy_daemon(d)
    denv = docker_engine_env()
    if denv is not None:
        subprocess.run([DOCKER, "load", "-i", str(BUSYBOX_TAR)], env=denv, capture_output=True)
        timed([DOCKER, "run", "--rm", "busybox", "true"], denv, 3)
        results["docker run"] = timed([DOCKER, "run", "--rm", "busybox", "true"], denv, n)
        subprocess.run([DOCKER, "run", "-d", "--name", "bench-exec", "busybox", "sleep", "3600"], env=denv,
                       capture_output=True)
        results["docker exec"] = timed([DOCKER, "exec", "bench-exec", "true"], denv, n)
        subprocess.run([DOCKER, "rm", "-f", "bench-exec"], env=denv, capture_output=True)
    print(f"median and p25 of {n} runs")
    for k, v in results.items():
        print(f"  {k:45s} {statistics.median(v) * 1000:8.1f} ms  p25 {p25(v) * 1000:6.1f} ms")
    if "docker run" in results:
        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"  ratio run  (baleine / docker): {med['baleine run'] / med['docker run']:.2f}x (target ≤ 0.25x)")
        print(f"  ratio exec (baleine / docker): {med['baleine exec'] / med['docker exec']:.2f}x")
        print(f"  ratio exec (docker CLI → baleine / docker): "
              f"{med['docker-cli→baleine exec'] / med['docker exec']:.2f}x (target ≤ 0.7x)")
    else:
        print("  (no Docker engine on this machine: no ratios; docker's run took about 280 ms here per the issue)")


if __name__ == "__main__":
    main()
