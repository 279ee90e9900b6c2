#!/usr/bin/env python3
"""TCP throughput and connection rate through a published port versus directly to
the container's address (and versus docker's published port when a Docker engine
answers on /var/run/docker.sock), as ratios.

Starts its own daemon on a temporary data root (like the tests), loads
python:3.11-slim from ../shared/images/bookworm.tar.xz, and runs in a container a
small asyncio server with two ports: one that reads and discards (throughput), one
that accepts and closes (connection rate), each twice: one pair reached directly
at the container's address on the bridge, the other through ports published on
127.0.0.1 (kernel DNAT). Traffic never leaves this machine.

Usage: bench/network.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BOOKWORM, DOCKER, destroy_daemon, new_daemon  # noqa: E402

SERVER = """
import asyncio

async def sink(reader, writer):
    while await reader.read(1 << 20):
        pass
    writer.close()

async def close(reader, writer):
    writer.close()

async def main():
    # 5001/5002 are reached directly, 5003/5004 through the published ports: separate
    # ports keep the two paths from meeting each other's TIME_WAIT connections.
    servers = [await asyncio.start_server(sink, "0.0.0.0", p) for p in (5001, 5003)]
    servers += [await asyncio.start_server(close, "0.0.0.0", p, backlog=1024) for p in (5002, 5004)]
    await asyncio.gather(*(s.serve_forever() for s in servers))

asyncio.run(main())
"""

CHUNK = b"\0" * (1 << 20)


def wait_port(host: str, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def throughput(host: str, port: int, seconds: float) -> float:
    """Bytes per second sent over one connection for ``seconds``."""
    with socket.create_connection((host, port)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        sent = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            s.sendall(CHUNK)
            sent += len(CHUNK)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # the server closes once it has read everything
        elapsed = time.perf_counter() - start
    return sent / elapsed


def connection_rate(host: str, port: int, seconds: float) -> float:
    """Connections per second: connect, see the server close, close; one at a time."""
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        with socket.create_connection((host, port)) as s:
            s.recv(1)
        count += 1
    return count / (time.perf_counter() - start)


def measure(targets: dict[str, tuple[str, int, int]], seconds: float, rounds: int) -> dict[str, tuple[float, float]]:
    """Median (throughput, rate) per target. Targets take turns round by round, and all
    throughput rounds come before all connection-rate rounds: a rate measured right
    after a bulk transfer pays for the transfer's aftermath, whichever target it is."""
    tp: dict[str, list[float]] = {k: [] for k in targets}
    cr: dict[str, list[float]] = {k: [] for k in targets}
    for _ in range(rounds):
        for key, (host, tport, _) in targets.items():
            tp[key].append(throughput(host, tport, seconds))
    time.sleep(1)
    for _ in range(rounds):
        for key, (host, _, cport) in targets.items():
            cr[key].append(connection_rate(host, cport, seconds))
    return {k: (statistics.median(tp[k]), statistics.median(cr[k])) for k in targets}


def docker_engine_env() -> dict[str, str] | None:
    if not shutil.which(DOCKER) or not os.path.exists("/var/run/docker.sock"):
        return None
    env = dict(os.environ, DOCKER_HOST="unix:///var/run/docker.sock")
    if subprocess.run([DOCKER, "info"], env=env, capture_output=True).returncode != 0:
        return None
    return env


def run_server(cli: list[str], env: dict[str, str], app_dir: str) -> tuple[str, int, int, str]:
    """Start the server container; return (container address, published ports, name)."""
    name = "bench-net"
    subprocess.run(cli + ["rm", "-f", name], env=env, capture_output=True)
    subprocess.run(cli + ["run", "-d", "--name", name, "-p", "127.0.0.1::5003", "-p", "127.0.0.1::5004",
                          "-v", f"{app_dir}:/app:ro", "python:3.11-slim", "python3", "/app/server.py"],
                   env=env, check=True, capture_output=True)
    ip = subprocess.run(cli + ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", name], env=env, check=True,
                        capture_output=True, text=True).stdout.strip()

    def published(port: int) -> int:
        out = subprocess.run(cli + ["port", name, str(port)], env=env, check=True, capture_output=True,
                             text=True).stdout.split()[0]
        return int(out.rsplit(":", 1)[1])

    return ip, published(5003), published(5004), name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    ap.add_argument("--rounds", type=int, default=3, help="measurements per target (median)")
    o = ap.parse_args()
    app_dir = tempfile.mkdtemp(prefix="bench-net-")
    os.chmod(app_dir, 0o755)
    Path(app_dir, "server.py").write_text(SERVER)
    results: dict[str, tuple[float, float]] = {}
    d = new_daemon(prefix="bench-", parent="/var/lib/baleine-bench")
    try:
        from tests.conftest import baleine_cmd

        d.ok("load", "-i", str(BOOKWORM), timeout=600)
        ip, tport, cport, name = run_server(baleine_cmd(), d.env(), app_dir)
        for host, port in ((ip, 5001), (ip, 5002), ("127.0.0.1", tport), ("127.0.0.1", cport)):
            wait_port(host, port)
        results.update(measure({"baleine direct (container address)": (ip, 5001, 5002),
                                "baleine published (127.0.0.1, DNAT)": ("127.0.0.1", tport, cport)},
                               o.seconds, o.rounds))
        d.ok("rm", "-f", name)
    finally:
        destroy_daemon(d)
    denv = docker_engine_env()
    if denv is not None:
        subprocess.run([DOCKER, "load", "-i", str(BOOKWORM)], env=denv, capture_output=True)
        ip, tport, cport, name = run_server([DOCKER], denv, app_dir)
        try:
            # The container's own ports first: docker-proxy accepts on the published
            # port before the server listens, then resets the connection.
            for host, port in ((ip, 5001), (ip, 5002), ("127.0.0.1", tport)):
                wait_port(host, port)
            results.update(measure({"docker published (127.0.0.1)": ("127.0.0.1", tport, cport)},
                                   o.seconds, o.rounds))
        finally:
            subprocess.run([DOCKER, "rm", "-f", name], env=denv, capture_output=True)
    shutil.rmtree(app_dir, ignore_errors=True)
    print(f"median of {o.rounds} runs of {o.seconds:g} s each")
    for key, (bps, rate) in results.items():
        print(f"  {key:40s} {bps * 8 / 1e9:7.2f} Gbit/s {rate:9.0f} conn/s")
    direct = results["baleine direct (container address)"]
    pub = results["baleine published (127.0.0.1, DNAT)"]
    print(f"  published / direct: throughput {pub[0] / direct[0]:.2f}x, connection rate {pub[1] / direct[1]:.2f}x "
          "(target ≥ 0.95x, issue 13)")
    if "docker published (127.0.0.1)" in results:
        dock = results["docker published (127.0.0.1)"]
        print(f"  baleine / docker published: throughput {pub[0] / dock[0]:.2f}x, "
              f"connection rate {pub[1] / dock[1]:.2f}x")
    else:
        print("  (no Docker engine on this machine: no docker ratios)")


if __name__ == "__main__":
    main()
