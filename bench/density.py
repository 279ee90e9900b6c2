#!/usr/bin/env python3
"""Density: N idle containers, and what each costs.

Starts its own daemon (root under /var/lib, where a daemon lives), loads busybox,
starts N `sleep` containers one after another, then measures:

- the time to start them all (and per container);
- each container's monitor: proportional set size (PSS, from /proc/PID/smaps_rollup:
  pages shared between monitors count once in total), median and total;
- the daemon's resident set size;
- `baleine ps -q` and `GET /containers/json` latency with N containers (medians).

When a Docker engine answers on /var/run/docker.sock, does the same with `docker run`
and containerd-shim's PSS, and prints ratios.

``--monitor python|conmon|both`` chooses the daemon's container monitor
(``--container-monitor``); ``both`` measures one daemon of each and prints them side
by side.

Usage: bench/density.py [-n 100] [--repeat 15] [--monitor python|conmon|both]
"""

from __future__ import annotations

import argparse
import glob
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BUSYBOX_TAR, DOCKER, baleine_cmd, destroy_daemon, new_daemon  # noqa: E402

from run_exec import docker_engine_env, timed  # noqa: E402


def pss_kib(pid: int) -> int:
    """PSS of a process in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def private_kib(pid: int) -> int:
    """Private (clean + dirty) memory of a process in KiB: what it alone costs."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def monitor_pids(exec_root: Path) -> list[int]:
    """Monitors of the daemon's containers, from their pid files (monitor.py's or conmon's)."""
    pids = []
    for path in glob.glob(str(exec_root / "*" / "monitor.pid")) + glob.glob(str(exec_root / "*" / "conmon.pid")):
        try:
            pids.append(int(Path(path).read_text().strip()))
        except (OSError, ValueError):
            continue
    return pids


def shim_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "containerd-shim"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def unix_get(sock: str, path: str) -> float:
    """Seconds for one GET over the Unix socket (the whole body read); a reply other
    than 200 is an error, not a figure."""
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n".encode())
    head = s.recv(1 << 16)
    if not head.startswith(b"HTTP/1.1 200"):
        status = head.split(b"\r\n", 1)[0].decode()
        raise SystemExit(f"GET {path}: {status}")
    while s.recv(1 << 16):
        pass
    s.close()
    return time.perf_counter() - t0


def measure(cli: list[str], env: dict[str, str], sock: str, n: int, repeat: int,
            pids: callable, daemon_pid: int | None) -> dict[str, float]:
    t0 = time.perf_counter()
    for i in range(n):
        r = subprocess.run(cli + ["run", "-d", "--name", f"dens-{i}", "busybox", "sleep", "3600"], env=env,
                           capture_output=True)
        if r.returncode != 0:
            raise SystemExit(f"run failed: {r.stderr.decode()}")
    started = time.perf_counter() - t0
    time.sleep(2)  # let the monitors settle
    monitors = pids()
    pss = [pss_kib(p) for p in monitors]
    private = [private_kib(p) for p in monitors]
    out = {
        f"start {n} containers (s)": started,
        "per container start (ms)": started / n * 1000,
        "monitor PSS median (MiB)": statistics.median(pss) / 1024 if pss else 0.0,
        "monitor PSS total (MiB)": sum(pss) / 1024,
        "monitor private median (MiB)": statistics.median(private) / 1024 if private else 0.0,
        "monitors counted": float(len(pss)),
    }
    if daemon_pid:
        out["daemon RSS (MiB)"] = rss_kib(daemon_pid) / 1024
    out["ps -q (ms)"] = statistics.median(timed(cli + ["ps", "-q"], env, repeat)) * 1000
    # Unversioned: dockerd 20.10 answers API versions up to 1.41 only.
    out["GET /containers/json (ms)"] = statistics.median(
        unix_get(sock, "/containers/json") for _ in range(repeat)) * 1000
    subprocess.run(cli + ["rm", "-f", *[f"dens-{i}" for i in range(n)]], env=env, capture_output=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench")
    ap.add_argument("--monitor", choices=["python", "conmon", "both"], default="python",
                    help="the daemon's --container-monitor (both: one daemon of each)")
    args = ap.parse_args()
    kinds = ["python", "conmon"] if args.monitor == "both" else [args.monitor]
    results = {kind: run_baleine(kind, args) for kind in kinds}
    theirs: dict[str, float] | None = None
    denv = docker_engine_env()
    if denv is not None:
        subprocess.run([DOCKER, "load", "-i", str(BUSYBOX_TAR)], env=denv, capture_output=True)
        dockerd = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
        theirs = measure([DOCKER], denv, "/var/run/docker.sock", args.n, args.repeat, shim_pids,
                         int(dockerd[0]) if dockerd else None)
    heads = "".join(f"{'baleine/' + kind:>16}" for kind in kinds)
    print(f"{'':32}{heads} {'docker':>10} {'ratio':>7}")
    for key, value in results[kinds[-1]].items():
        other = theirs.get(key) if theirs else None
        ratio = f"{value / other:6.2f}x" if other else ""
        cells = "".join(f"{results[kind].get(key, 0.0):16.2f}" for kind in kinds)
        print(f"{key:32}{cells} {'' if other is None else format(other, '10.2f'):>10} {ratio:>7}")


def run_baleine(kind: str, args: argparse.Namespace) -> dict[str, float]:
    """The figures of a daemon of its own running containers under ``kind``."""
    d = new_daemon(prefix="dens-", parent=args.root_parent, extra_args=["--container-monitor", kind])
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        return measure(baleine_cmd(), d.env(), d.socket, args.n, args.repeat,
                       lambda: monitor_pids(d.exec_root), d.proc.pid if d.proc else None)
    finally:
        destroy_daemon(d)


if __name__ == "__main__":
    main()
