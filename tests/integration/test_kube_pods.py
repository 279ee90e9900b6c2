"""The node agent (kubelet) driven by kubectl and the kubernetes Python client: pods run
as Baleine containers, with kubelet's statuses, restarts, back-off, graceful deletion,
admission, and a daemon restart in the middle."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import BUSYBOX_TAR
from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL


@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    with kube_daemon() as k:
        k.daemon.ok("load", "-i", str(BUSYBOX_TAR))
        yield k


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": containers, "terminationGracePeriodSeconds": 2, **spec}})


def box(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", script], **extra}


def phase(k: Kube, name: str) -> str:
    return get_json(k, "pod", name).get("status", {}).get("phase", "")


def in_pod(k: Kube, pod_name: str, container: str, *cmd: str) -> str:
    """Run ``cmd`` in a pod's container through the Docker API (``baleine exec``)."""
    cid = statuses(k, pod_name)[container]["containerID"].split("://", 1)[1]
    r = k.daemon.cli("exec", cid, *cmd)
    return r.stdout if r.returncode == 0 else ""


def statuses(k: Kube, name: str, key: str = "containerStatuses") -> dict[str, Any]:
    return {s["name"]: s for s in get_json(k, "pod", name).get("status", {}).get(key) or []}


def test_two_containers_share_localhost_and_the_pod_is_ready(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("duo", [
        box("server", "echo hello-from-server > /tmp/i; while true; do nc -l -p 8080 < /tmp/i; done"),
        box("client", "while true; do nc 127.0.0.1 8080 > /tmp/got && [ -s /tmp/got ] && cp /tmp/got /got; "
                      "sleep 1; done")]))
    kube.ok("wait", "--for=condition=Ready", "pod/duo", "--timeout=60s")
    obj = get_json(kube, "pod", "duo")
    st = obj["status"]
    assert st["phase"] == "Running" and st["podIP"] and st["podIPs"] == [{"ip": st["podIP"]}]
    assert obj["spec"]["nodeName"]
    types = {c["type"]: c["status"] for c in st["conditions"]}
    assert types == {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "True", "Ready": "True",
                     "PodReadyToStartContainers": "True"}
    for cs in st["containerStatuses"]:
        assert cs["ready"] and cs["started"] and "running" in cs["state"]
        assert cs["containerID"].startswith("baleine://") and cs["imageID"].startswith("sha256:")
    out = wait_for(lambda: in_pod(kube, "duo", "client", "cat", "/got"), 30)
    assert out.strip() == "hello-from-server"
    # the Docker API shows the pod's containers with their labels
    names = kube.daemon.ok("ps", "--filter", "label=io.kubernetes.pod.name=duo", "--format",
                           '{{.Names}} {{.Label "io.kubernetes.container.name"}} '
                           '{{.Label "io.kubernetes.docker.type"}}').splitlines()
    uid = obj["metadata"]["uid"]
    assert sorted(names) == sorted([f"k8s_POD_duo_default_{uid}_0 POD podsandbox",
                                    f"k8s_server_duo_default_{uid}_0 server container",
                                    f"k8s_client_duo_default_{uid}_0 client container"])
    hostname = in_pod(kube, "duo", "server", "hostname").strip()
    assert hostname == "duo"
    hosts = in_pod(kube, "duo", "server", "cat", "/etc/hosts")
    assert re.search(rf"^{re.escape(st['podIP'])}\s+duo", hosts, re.M)
    # kubectl get -o wide: READY STATUS RESTARTS AGE IP NODE
    wide = kube.ok("get", "pod", "duo", "-o", "wide").splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    row = wide[1].split()
    assert row[:4] == ["duo", "2/2", "Running", "0"] and row[5] == st["podIP"] and row[6] == obj["spec"]["nodeName"]
    described = kube.ok("describe", "pod", "duo")
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert reason in described
