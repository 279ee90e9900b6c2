#!/usr/bin/env python3
"""`compose up -d` and `compose down` of an 8-service application with a two-level
dependency graph (4 independent services, 3 that depend on them, 1 on top).

Starts its own daemon (like the tests), loads busybox, and times N rounds of
`baleine compose up -d` then `baleine compose down -t 0`. When a Docker engine
answers on /var/run/docker.sock and `docker-compose` (1.29, Debian) or `docker
compose` is installed, times the same file against Docker in the same run and
prints the ratios.

Usage: bench/compose.py [-n 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.run_exec import docker_engine_env  # noqa: E402
import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BUSYBOX_TAR, DOCKER, baleine_cmd, destroy_daemon, new_daemon  # noqa: E402

SLEEP = '    image: busybox:1.35\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL\n'


def compose_file() -> str:
    """db, cache, queue, store; api, worker, admin on them; web on api."""
    deps = {"db": [], "cache": [], "queue": [], "store": [], "api": ["db", "cache"], "worker": ["queue", "db"],
            "admin": ["store"], "web": ["api"]}
    out = "services:\n"
    for name, ds in deps.items():
        out += f"  {name}:\n{SLEEP}"
        if ds:
            out += "    depends_on: [" + ", ".join(ds) + "]\n"
    return out


def timed(argv: list[str], env: dict[str, str] | None, cwd: str) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {r.stderr.decode()}")
    return dt


def rounds(up: list[str], down: list[str], env: dict[str, str] | None, cwd: str, n: int) -> tuple[float, float]:
    ups, downs = [], []
    for _ in range(n):
        ups.append(timed(up, env, cwd))
        downs.append(timed(down, env, cwd))
    return statistics.median(ups), statistics.median(downs)


def docker_compose() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which(DOCKER) and subprocess.run([DOCKER, "compose", "version"], capture_output=True).returncode == 0:
        return [DOCKER, "compose"]
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench")
    args = ap.parse_args()
    project = tempfile.mkdtemp(prefix="bench-compose-")
    Path(project, "compose.yaml").write_text(compose_file())
    results: dict[str, tuple[float, float]] = {}
    d = new_daemon(prefix="bench-", parent=args.root_parent)
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        b = baleine_cmd()
        results["baleine compose"] = rounds(b + ["compose", "-p", "bench", "up", "-d"],
                                            b + ["compose", "-p", "bench", "down", "-t", "0"], d.env(), project,
                                            args.n)
    finally:
        destroy_daemon(d)
    denv = docker_engine_env()
    dc = docker_compose()
    if denv is not None and dc is not None:
        subprocess.run([DOCKER, "load", "-i", str(BUSYBOX_TAR)], env=denv, capture_output=True)
        results["docker compose (Docker)"] = rounds(dc + ["-p", "bench", "up", "-d"],
                                                    dc + ["-p", "bench", "down", "-t", "0"], denv, project, args.n)
    shutil.rmtree(project, ignore_errors=True)
    print(f"8 services, two-level dependencies, medians of {args.n}")
    for k, (up, down) in results.items():
        print(f"  {k:28s} up -d {up * 1000:8.0f} ms   down {down * 1000:8.0f} ms")
    if len(results) == 2:
        (bu, bd), (du, dd) = results.values()
        print(f"  ratio up (baleine / docker): {bu / du:.2f}x   down: {bd / dd:.2f}x")
    else:
        print("  (no Docker engine or compose on this machine: no ratios)")


if __name__ == "__main__":
    main()
