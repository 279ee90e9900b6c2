"""Issue 9's acceptance, end to end, with kubectl only: a Deployment behind a Service,
its rollout, traffic through the ClusterIP (from the host and from a pod, by name)
and the NodePort, a rolling update and an undo under steady load with no failed
request, and the workload surviving a SIGKILL of the daemon.

Every pod here runs for real (node agent, proxy, DNS): busybox's httpd answering
its pod's name, so each answer says which replica served it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from ..conftest import BUSYBOX_TAR
from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL

SERVE = "mkdir -p /www && echo $(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"


def deployment(replicas: int = 3, version: str = "1") -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                     "terminationGracePeriodSeconds": 2,
                     "containers": [{"name": "web", "image": "busybox:1.35", "command": ["sh", "-c", SERVE],
                                     "env": [{"name": "VERSION", "value": version}],
                                     "ports": [{"containerPort": 8080, "name": "http"}],
                                     "readinessProbe": {"httpGet": {"path": "/", "port": "http"},
                                                        "periodSeconds": 1}}]}}}})


SERVICE = json.dumps({
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
    "spec": {"type": "NodePort", "selector": {"app": "web"},
             "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}]}})


def fetch(url: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback and our own ClusterIP
        return r.read().decode().strip()


def ready_pods(k: Kube) -> list[dict]:
    pods = get_json(k, "pods", "-l", "app=web")["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]


@pytest.fixture(scope="module")
def web() -> Iterator[Kube]:
    with kube_daemon() as k:
        k.daemon.ok("load", "-i", str(BUSYBOX_TAR))
        k.ok("apply", "-f", "-", input=deployment())
        k.ok("apply", "-f", "-", input=SERVICE)
        yield k


def cluster_ip(k: Kube) -> str:
    return get_json(k, "service", "web")["spec"]["clusterIP"]


def node_port(k: Kube) -> int:
    return get_json(k, "service", "web")["spec"]["ports"][0]["nodePort"]


def test_rollout_completes_with_three_ready_pods(web: Kube) -> None:
    web.ok("rollout", "status", "deployment/web", "--timeout=120s")
    out = web.ok("get", "pods", "-o", "wide", "-l", "app=web")
    lines = out.strip().splitlines()
    assert lines[0].split()[:6] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]
    assert len(lines) == 4 and all(" 1/1 " in ln and " Running " in ln for ln in lines[1:]), out


def test_every_replica_answers_through_the_cluster_ip_and_the_node_port(web: Kube) -> None:
    web.ok("rollout", "status", "deployment/web", "--timeout=120s")
    names = {p["metadata"]["name"] for p in ready_pods(web)}
    assert len(names) == 3
    ip = cluster_ip(web)
    seen: set[str] = set()
    wait_for(lambda: seen.add(fetch(f"http://{ip}/")) or seen == names, timeout=30, interval=0,
             what=f"every replica behind {ip}")
    seen.clear()
    port = node_port(web)
    wait_for(lambda: seen.add(fetch(f"http://127.0.0.1:{port}/")) or seen == names, timeout=30, interval=0,
             what=f"every replica behind the NodePort {port}")


def test_a_pod_reaches_the_service_by_name(web: Kube) -> None:
    web.ok("rollout", "status", "deployment/web", "--timeout=120s")
    pod = ready_pods(web)[0]["metadata"]["name"]
    names = {p["metadata"]["name"] for p in ready_pods(web)}
    ip = cluster_ip(web)
    # busybox's nslookup has its own resolver (its wget, statically linked with glibc,
    # cannot resolve names without NSS libraries): the name, then HTTP to its address.
    # (busybox's nslookup walks the search list only for a name without a dot, where
    # glibc's resolver with ndots:5 would also find "web.default"; and it exits 1 for
    # the NXDOMAIN answers on the way: the answer for the name is what counts)
    for host in ("web", "web.default.svc.cluster.local"):
        out = web.run("exec", pod, "--", "nslookup", host).stdout
        assert f"Address: {ip}" in out, (host, out)
    out = web.ok("exec", pod, "--", "wget", "-qO-", f"http://{ip}/")  # (this busybox segfaults on -T)
    assert out.strip() in names, out


class Load:
    """A steady, bounded stream of requests to one URL (20 per second), counting failures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ok = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fetch(self.url)
                self.ok += 1
            except (OSError, urllib.error.URLError) as exc:
                self.failed.append(str(exc))
            self._stop.wait(0.05)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def watch_bounds(k: Kube, stop: threading.Event, seen: list[int]) -> None:
    while not stop.is_set():
        pods = get_json(k, "pods", "-l", "app=web")["items"]
        seen.append(len([p for p in pods if not p["metadata"].get("deletionTimestamp")]))
        seen.append(-len(ready_pods(k)))
        stop.wait(0.3)


def test_rolling_update_and_undo_under_load_fail_no_request(web: Kube) -> None:
    web.ok("rollout", "status", "deployment/web", "--timeout=120s")
    url = f"http://{cluster_ip(web)}/"
    counts: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=watch_bounds, args=(web, stop, counts), daemon=True)
    watcher.start()
    try:
        with Load(url) as load:
            web.ok("set", "env", "deployment/web", "VERSION=2")
            web.ok("rollout", "status", "deployment/web", "--timeout=180s")
            web.ok("rollout", "undo", "deployment/web")
            web.ok("rollout", "status", "deployment/web", "--timeout=180s")
            time.sleep(1)
    finally:
        stop.set()
        watcher.join(10)
    assert load.failed == [], f"{len(load.failed)} failed of {load.ok + len(load.failed)}: {load.failed[:5]}"
    assert load.ok > 20
    live = [c for c in counts if c >= 0]
    ready = [-c for c in counts if c <= 0]
    assert max(live) <= 3 + 1, live          # replicas + maxSurge
    assert min(ready) >= 3 - 0, ready        # replicas - maxUnavailable
    revisions = web.ok("rollout", "history", "deployment/web")
    assert "3" in revisions.split()


def test_workload_survives_a_daemon_kill(web: Kube) -> None:
    web.ok("rollout", "status", "deployment/web", "--timeout=120s")
    before = {p["metadata"]["name"]: p["status"]["containerStatuses"][0]["containerID"] for p in ready_pods(web)}
    url = f"http://{cluster_ip(web)}/"
    d = web.daemon
    assert d.proc is not None
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait(10)
    assert fetch(url) in before  # the pods and the rules outlive the daemon
    d.start()
    web.wait_ready()
    web.ok("rollout", "status", "deployment/web", "--timeout=120s")
    after = {p["metadata"]["name"]: p["status"]["containerStatuses"][0]["containerID"] for p in ready_pods(web)}
    assert after == before
