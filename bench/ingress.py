#!/usr/bin/env python3
"""HTTP throughput and request rate through the Ingress proxy (the daemon's nginx on
127.0.0.1) versus directly to the pod's address, as ratios.

Starts its own daemon serving the Kubernetes API (like the tests) with the
ingress on free high ports, loads ../shared/images/bookworm.tar.xz, and runs a
``python3 -m http.server`` container standing for a pod (a Pod bound
to the node ``ghost``, its status set by this script) behind a Service and an
Ingress for ``bench.example.test``. Measured, each for ``--seconds``:
throughput (one connection streaming a 64 MiB file, repeatedly) and connection
rate (``--clients`` threads, a new connection per request for a small file).
Traffic never leaves this machine.

Usage: bench/ingress.py [--seconds 3] [--clients 4]
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BOOKWORM, destroy_daemon, new_daemon  # noqa: E402
from tests.kubehelp import Kube, free_port, get_json, wait_for  # noqa: E402

HOST = "bench.example.test"
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "labels": {"app": "bench"}},
       "spec": {"nodeName": "ghost", "containers": [{"name": "web", "image": "python:3.11-slim"}]}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bench"},
           "spec": {"selector": {"app": "bench"}, "ports": [{"port": 80, "targetPort": 8000}]}}
INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bench"},
           "spec": {"rules": [{"host": HOST, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
               "service": {"name": "bench", "port": {"number": 80}}}}]}}]}}


def get(host: str, port: int, path: str, conn: http.client.HTTPConnection | None = None) -> int:
    c = conn or http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", path, headers={"Host": HOST})
    r = c.getresponse()
    n = 0
    while chunk := r.read(1 << 20):
        n += len(chunk)
    if conn is None:
        c.close()
    if r.status != 200:
        raise RuntimeError(f"{host}:{port}{path}: {r.status}")
    return n


def throughput(host: str, port: int, seconds: float) -> float:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    total, end = 0, time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < end:
        total += get(host, port, "/big", conn)
    return total / (time.monotonic() - start)


def rate(host: str, port: int, seconds: float, clients: int) -> float:
    counts = [0] * clients
    end = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < end:
            get(host, port, "/small")
            counts[i] += 1
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=4)
    o = ap.parse_args()
    port, http_port, https_port = free_port(), free_port(), free_port()
    d = new_daemon(prefix="bench-", parent="/var/lib/baleine-bench",
                   extra_args=["--kube-addr", f"127.0.0.1:{port}", "--ingress-http-port", str(http_port),
                               "--ingress-https-port", str(https_port)])
    try:
        k = Kube(d, port)
        k.wait_ready()
        d.ok("load", "-i", str(BOOKWORM), timeout=600)
        d.ok("run", "-d", "--name", "bench-web", "python:3.11-slim", "sh", "-c",
             "mkdir /w && cd /w && head -c 67108864 /dev/zero > big && echo ok > small && "
             "exec python3 -m http.server 8000")
        ip = d.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "bench-web").strip()
        k.ok("apply", "-f", "-", input=json.dumps(POD))
        status = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                             "conditions": [{"type": "Ready", "status": "True"}]}}
        k.ok("patch", "pod", "bench", "--subresource=status", "--type=merge", "-p", json.dumps(status))
        k.ok("apply", "-f", "-", input=json.dumps(SERVICE))
        k.ok("apply", "-f", "-", input=json.dumps(INGRESS))
        wait_for(lambda: get_json(k, "ingress", "bench").get("status", {}).get("loadBalancer"), 60)

        def ok(h: str, p: int) -> bool:
            try:
                return get(h, p, "/small") > 0
            except (OSError, RuntimeError):
                return False
        wait_for(lambda: ok(ip, 8000) and ok("127.0.0.1", http_port), 60, what="both paths answering")
        results = {}
        for label, (h, p) in {"direct (pod address)": (ip, 8000), "ingress (nginx on 127.0.0.1)":
                              ("127.0.0.1", http_port)}.items():
            results[label] = (throughput(h, p, o.seconds), rate(h, p, o.seconds, o.clients))
    finally:
        destroy_daemon(d)
    for label, (bps, rps) in results.items():
        print(f"  {label:30s} {bps * 8 / 1e9:7.2f} Gbit/s {rps:9.0f} conn/s")
    direct, via = results["direct (pod address)"], results["ingress (nginx on 127.0.0.1)"]
    print(f"  ingress / direct: throughput {via[0] / direct[0]:.2f}x, connection rate {via[1] / direct[1]:.2f}x")


if __name__ == "__main__":
    main()
