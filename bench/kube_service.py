#!/usr/bin/env python3
"""TCP throughput and connection rate through a Kubernetes Service (its ClusterIP,
and its NodePort on 127.0.0.1) versus directly to the endpoint's address, as ratios.

Starts its own daemon serving the Kubernetes API on a free port (like the
tests), loads python:3.11-slim from ../shared/images/bookworm.tar.xz, and runs
in a container the server of ``bench/network.py`` (a discarding port and an
accept-and-close port) three times: one pair reached directly at the
container's address, one through a ClusterIP Service, one through a NodePort
Service on 127.0.0.1. The container stands for a pod: a Pod
object bound to the node ``ghost``, its status (address, Ready) set by this
script, selected by the two Services, whose ClusterIP and nodePorts the
proxy's rules DNAT. Traffic never leaves this machine.

Usage: bench/kube_service.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from network import measure, wait_port  # noqa: E402

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BOOKWORM, Daemon, destroy_daemon, new_daemon  # noqa: E402
from tests.kubehelp import Kube, free_port, get_json, wait_for  # noqa: E402

# Each path has its own pair of server ports (sink, close): all three reach the
# server from the bridge's gateway address (the ClusterIP and NodePort paths are
# masqueraded to it), and a path meeting another's TIME_WAIT connections on the
# same port would pay for retransmitted SYNs (1 s each), not for its rules.
PATHS = {"direct": (5001, 5002), "clusterip": (5003, 5004), "nodeport": (5005, 5006)}
SERVER = f"""
import asyncio

async def sink(reader, writer):
    while await reader.read(1 << 20):
        pass
    writer.close()

async def close(reader, writer):
    writer.close()

async def main():
    servers = []
    for sink_port, close_port in {list(PATHS.values())!r}:
        servers.append(await asyncio.start_server(sink, "0.0.0.0", sink_port))
        servers.append(await asyncio.start_server(close, "0.0.0.0", close_port, backlog=1024))
    await asyncio.gather(*(s.serve_forever() for s in servers))

asyncio.run(main())
"""
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "namespace": "default",
                                                       "labels": {"app": "bench"}},
       "spec": {"nodeName": "ghost", "containers": [{"name": "server", "image": "python:3.11-slim"}]}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bench", "namespace": "default"},
           "spec": {"selector": {"app": "bench"},
                    "ports": [{"name": "sink", "port": 5001, "targetPort": PATHS["clusterip"][0]},
                              {"name": "close", "port": 5002, "targetPort": PATHS["clusterip"][1]}]}}
NODEPORT = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bench-np", "namespace": "default"},
            "spec": {"type": "NodePort", "selector": {"app": "bench"},
                     "ports": [{"name": "sink", "port": 5001, "targetPort": PATHS["nodeport"][0]},
                               {"name": "close", "port": 5002, "targetPort": PATHS["nodeport"][1]}]}}


def run_server(d: Daemon, app_dir: str) -> tuple[str, str]:
    """Start the server container; return (its address, its name)."""
    name = "bench-svc"
    d.ok("run", "-d", "--name", name, "-v", f"{app_dir}:/app:ro", "python:3.11-slim", "python3", "/app/server.py")
    return d.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).strip(), name


def make_services(k: Kube, ip: str) -> tuple[str, int, int]:
    """The pod and its Services; (ClusterIP, sink nodePort, close nodePort) once the rules answer."""
    k.ok("apply", "-f", "-", input=json.dumps(POD))
    status = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                         "conditions": [{"type": "Ready", "status": "True"}]}}
    k.ok("patch", "pod", "bench", "--subresource=status", "--type=merge", "-p", json.dumps(status))
    k.ok("apply", "-f", "-", input=json.dumps(SERVICE))
    k.ok("apply", "-f", "-", input=json.dumps(NODEPORT))
    wait_for(lambda: get_json(k, "endpoints", "bench-np").get("subsets"), 30, what="the Services' endpoints")
    cip = get_json(k, "svc", "bench")["spec"]["clusterIP"]
    ports = {p["name"]: p["nodePort"] for p in get_json(k, "svc", "bench-np")["spec"]["ports"]}
    for host, port in ((cip, 5001), (cip, 5002), ("127.0.0.1", ports["sink"]), ("127.0.0.1", ports["close"])):
        wait_port(host, port)
    return cip, ports["sink"], ports["close"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    ap.add_argument("--rounds", type=int, default=3, help="measurements per target (median)")
    o = ap.parse_args()
    app_dir = tempfile.mkdtemp(prefix="bench-svc-")
    os.chmod(app_dir, 0o755)
    Path(app_dir, "server.py").write_text(SERVER)
    port = free_port()
    d = new_daemon(prefix="bench-", parent="/var/lib/baleine-bench", extra_args=["--kube-addr", f"127.0.0.1:{port}"])
    try:
        k = Kube(d, port)
        k.wait_ready()
        d.ok("load", "-i", str(BOOKWORM), timeout=600)
        ip, name = run_server(d, app_dir)
        for p in PATHS["direct"]:
            wait_port(ip, p)
        cip, np_sink, np_close = make_services(k, ip)
        results = measure({"direct (endpoint address)": (ip, *PATHS["direct"]),
                           "ClusterIP (DNAT by the proxy)": (cip, 5001, 5002),
                           "NodePort (127.0.0.1)": ("127.0.0.1", np_sink, np_close)}, o.seconds, o.rounds)
        d.ok("rm", "-f", name)
    finally:
        destroy_daemon(d)
        shutil.rmtree(app_dir, ignore_errors=True)
    print(f"median of {o.rounds} runs of {o.seconds:g} s each")
    for key, (bps, rate) in results.items():
        print(f"  {key:32s} {bps * 8 / 1e9:7.2f} Gbit/s {rate:9.0f} conn/s")
    direct = results["direct (endpoint address)"]
    for key in ("ClusterIP (DNAT by the proxy)", "NodePort (127.0.0.1)"):
        via = results[key]
        print(f"  {key.split(' ')[0]} / direct: throughput {via[0] / direct[0]:.2f}x, "
              f"connection rate {via[1] / direct[1]:.2f}x (target ≥ 0.90x)")


if __name__ == "__main__":
    main()
