#!/usr/bin/env python3
"""Time from `kubectl apply` of a 10-replica Deployment to every pod Ready, and of
`kubectl delete` to every pod gone.

Starts its own daemon with the Kubernetes API on a free loopback port (like the
tests), loads busybox from ../shared/images, and applies a Deployment of busybox
httpd pods with a readiness probe; `kubectl rollout status` is the clock. Medians
of N rounds. There is no other Kubernetes on these machines to compare with, so
it prints seconds (kind/minikube/k3s take tens of seconds to start at all).

Usage: bench/kube_apply.py [-n 3] [--replicas 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BUSYBOX_TAR, destroy_daemon, new_daemon  # noqa: E402
from tests.kubehelp import Kube, free_port, wait_for  # noqa: E402

SERVE = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"


def manifest(replicas: int) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "bench"}},
                 "template": {"metadata": {"labels": {"app": "bench"}}, "spec": {
                     "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "web", "image": "busybox:1.35", "command": ["sh", "-c", SERVE],
                                     "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                        "periodSeconds": 1}}]}}}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--replicas", type=int, default=10)
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench")
    args = ap.parse_args()
    port = free_port()
    d = new_daemon(prefix="bench-", parent=args.root_parent, extra_args=["--kube-addr", f"127.0.0.1:{port}"])
    up: list[float] = []
    down: list[float] = []
    try:
        k = Kube(d, port)
        k.wait_ready()
        d.ok("load", "-i", str(BUSYBOX_TAR))
        for _ in range(args.n):
            t0 = time.perf_counter()
            k.ok("apply", "-f", "-", input=manifest(args.replicas))
            k.ok("rollout", "status", "deployment/bench", "--timeout=300s")
            up.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            k.ok("delete", "deployment", "bench", "--wait=true")
            wait_for(lambda: not k.ok("get", "pods", "-l", "app=bench", "-o", "name").strip(), timeout=300,
                     interval=0.1, what="pods gone")
            down.append(time.perf_counter() - t0)
    finally:
        destroy_daemon(d)
    print(f"apply {args.replicas} replicas -> all Ready: median {statistics.median(up):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in up)})")
    print(f"delete -> all pods gone:            median {statistics.median(down):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in down)})")


if __name__ == "__main__":
    main()
