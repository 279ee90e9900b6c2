"""The pod-spec pieces of the node agent and the PVC controller, driven by kubectl 1.32.

The PersistentVolumeClaim tests need only the API server and the engine. The
tests marked ``NEEDS_AGENT`` run real pods, so they need the node agent
(``baleine/kube/kubelet/agent.py``, written on another branch): they are skipped
until it is merged, and must pass after.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from ..conftest import BUSYBOX_TAR, REPO
from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL
NEEDS_AGENT = pytest.mark.skipif(not (REPO / "baleine" / "kube" / "kubelet" / "agent.py").exists(),
                                 reason="runs pods: needs the node agent (kubelet/agent.py), merged separately")


@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    with kube_daemon() as k:
        k.daemon.ok("load", "-i", str(BUSYBOX_TAR))
        yield k


def apply(kube: Kube, *objects: dict) -> None:
    for obj in objects:
        kube.ok("apply", "-f", "-", input=json.dumps(obj))


def claim(name: str, namespace: str = "default", **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}}


def bound(kube: Kube, name: str, namespace: str = "default") -> dict:
    def check() -> dict | None:
        pvc = get_json(kube, "pvc", name, "-n", namespace)
        return pvc if pvc["status"].get("phase") == "Bound" else None
    return wait_for(check, 30, what=f"pvc {name} Bound")


def volume_exists(kube: Kube, name: str) -> bool:
    return name in kube.daemon.ok("volume", "ls", "-q").split()


def test_a_claim_binds_to_a_labelled_baleine_volume_removed_with_it(kube: Kube) -> None:
    apply(kube, claim("data"))
    pvc = bound(kube, "data")
    vol = f"pvc-{pvc['metadata']['uid']}"
    assert pvc["spec"]["volumeName"] == vol and pvc["spec"]["storageClassName"] == "standard"
    assert pvc["status"]["capacity"] == {"storage": "1Gi"} and pvc["status"]["accessModes"] == ["ReadWriteOnce"]
    row = kube.ok("get", "pvc", "data").splitlines()
    assert row[0].split()[:6] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES"]
    assert row[1].split()[:6] == ["data", "Bound", vol, "1Gi", "RWO", "standard"]
    info = json.loads(kube.daemon.ok("volume", "inspect", vol))[0]
    assert info["Labels"]["io.baleine.kube.pvc"] == "default/data" and info["Driver"] == "local"
    assert "ProvisioningSucceeded" in kube.ok("describe", "pvc", "data")
    kube.ok("delete", "pvc", "data")
    wait_for(lambda: not volume_exists(kube, vol), 30, what=f"volume {vol} removed")


def test_a_claims_storage_class_is_kept_and_a_volume_in_use_outlives_its_claim(kube: Kube) -> None:
    kube.ok("create", "ns", "pvc2")
    apply(kube, claim("kept", "pvc2", storageClassName="fast"))
    pvc = bound(kube, "kept", "pvc2")
    assert pvc["spec"]["storageClassName"] == "fast"
    vol = pvc["spec"]["volumeName"]
    # A container still using the volume (as a pod's would) keeps it after the claim is gone.
    cid = kube.daemon.ok("create", "-v", f"{vol}:/data", "busybox:1.35", "true").strip()
    kube.ok("delete", "pvc", "kept", "-n", "pvc2")
    time.sleep(3)
    assert volume_exists(kube, vol)
    kube.daemon.ok("rm", cid)
    wait_for(lambda: not volume_exists(kube, vol), 30, what=f"volume {vol} removed once unused")


def test_a_claim_in_use_by_a_pod_waits_for_it_before_going(kube: Kube) -> None:
    kube.ok("create", "ns", "prot")
    apply(kube, claim("used", "prot"))
    pvc = bound(kube, "used", "prot")
    assert "kubernetes.io/pvc-protection" in pvc["metadata"]["finalizers"]
    vol = pvc["spec"]["volumeName"]
    # A pod bound to another node: no container runs, but it uses the claim.
    user = pod("user", [{"name": "c", "image": "busybox:1.35"}],
               [{"name": "d", "persistentVolumeClaim": {"claimName": "used"}}], "prot")
    user["spec"]["nodeName"] = "ghost"
    apply(kube, user)
    kube.ok("delete", "pvc", "used", "-n", "prot", "--wait=false")
    time.sleep(2)
    pvc = get_json(kube, "pvc", "used", "-n", "prot")
    assert pvc["metadata"]["deletionTimestamp"] and volume_exists(kube, vol)
    kube.ok("delete", "pod", "user", "-n", "prot", "--grace-period=0", "--force")
    wait_for(lambda: kube.run("get", "pvc", "used", "-n", "prot").returncode != 0, 30, what="the claim gone")
    wait_for(lambda: not volume_exists(kube, vol), 30, what=f"volume {vol} removed")


def test_a_claim_naming_an_existing_volume_binds_to_it_and_retains_it(kube: Kube) -> None:
    apply(kube, claim("static", volumeName="handmade"))
    time.sleep(1)
    assert get_json(kube, "pvc", "static")["status"]["phase"] == "Pending"
    kube.daemon.ok("volume", "create", "handmade")
    assert bound(kube, "static")["spec"]["volumeName"] == "handmade"
    apply(kube, claim("blocky", volumeMode="Block"))
    wait_for(lambda: "ProvisioningFailed" in kube.ok("describe", "pvc", "blocky"), 30, what="a Block claim refused")
    assert get_json(kube, "pvc", "blocky")["status"]["phase"] == "Pending"
    kube.ok("delete", "pvc", "static", "blocky")
    time.sleep(2)
    assert volume_exists(kube, "handmade")
    kube.daemon.ok("volume", "rm", "handmade")


def test_volumes_of_claims_deleted_while_the_daemon_was_down_go_at_start() -> None:
    with kube_daemon() as k:
        apply(k, claim("stays"))
        keep = bound(k, "stays")["spec"]["volumeName"]
        # A claim's volume whose claim no longer exists (deleted while the daemon was down).
        k.daemon.ok("volume", "create", "--label", "io.baleine.kube.pvc=default/gone", "pvc-orphan")
        k.daemon.stop()
        k.daemon.start()
        k.wait_ready()
        wait_for(lambda: not volume_exists(k, "pvc-orphan"), 30, what="the orphan volume removed")
        assert volume_exists(k, keep) and bound(k, "stays")["spec"]["volumeName"] == keep


# --- with the node agent -------------------------------------------------------------
def pod(name: str, containers: list[dict], volumes: list[dict] | None = None, namespace: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"restartPolicy": "Never", "containers": containers, "volumes": volumes or [],
                     "terminationGracePeriodSeconds": 1}}


def finished(kube: Kube, name: str, namespace: str = "default") -> str:
    wait_for(lambda: get_json(kube, "pod", name, "-n", namespace)["status"].get("phase") in ("Succeeded", "Failed"),
             90, what=f"pod {name} finished")
    return kube.ok("logs", name, "-n", namespace)


@NEEDS_AGENT
def test_claim_data_outlives_the_pod_that_wrote_it(kube: Kube) -> None:
    apply(kube, claim("keep"))
    bound(kube, "keep")
    volumes = [{"name": "d", "persistentVolumeClaim": {"claimName": "keep"}}]
    mount = [{"name": "d", "mountPath": "/data"}]
    apply(kube, pod("writer", [{"name": "w", "image": "busybox:1.35", "volumeMounts": mount,
                                "command": ["sh", "-c", "echo persisted > /data/f && mkdir -p /data/sub && "
                                                        "echo deep > /data/sub/g"]}], volumes))
    finished(kube, "writer")
    kube.ok("delete", "pod", "writer")
    apply(kube, pod("reader", [{"name": "r", "image": "busybox:1.35",
                                "volumeMounts": [*mount, {"name": "d", "mountPath": "/sub", "subPath": "sub"}],
                                "command": ["sh", "-c", "cat /data/f /sub/g"]}], volumes))
    assert finished(kube, "reader").split() == ["persisted", "deep"]


@NEEDS_AGENT
def test_env_volumes_and_command_from_configmaps_and_secrets(kube: Kube) -> None:
    kube.ok("create", "ns", "spec3")
    apply(kube, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "spec3"},
                 "data": {"greeting": "hello", "file.txt": "v1"}},
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "spec3"},
           "stringData": {"pw": "hunter2"}})
    script = ("echo $GREETING $WHO $(LIT) $NAME $CFG_greeting $PW $KUBERNETES_SERVICE_HOST; "
              "cat /cfg/file.txt /sec/pw; echo; ls -a /cfg; "
              "while [ \"$(cat /cfg/file.txt)\" != v2 ]; do sleep 0.2; done; echo updated")
    container = {"name": "c", "image": "busybox:1.35", "command": ["sh", "-c", script],
                 "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                         {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
                         {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                         {"name": "WHO", "value": "to-$(GREETING)"}, {"name": "LIT", "value": "lit"}],
                 "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
                 "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}, {"name": "sec", "mountPath": "/sec"}]}
    apply(kube, pod("envy", [container], [{"name": "cfg", "configMap": {"name": "cfg"}},
                                          {"name": "sec", "secret": {"secretName": "s"}}], "spec3"))
    wait_for(lambda: "..data" in kube.run("logs", "envy", "-n", "spec3").stdout, 90, what="pod envy running")
    first = kube.ok("logs", "envy", "-n", "spec3").splitlines()
    api_ip = get_json(kube, "svc", "kubernetes", "-n", "default")["spec"]["clusterIP"]
    assert first[0] == f"hello to-hello lit envy hello hunter2 {api_ip}"
    assert first[1] == "v1hunter2"
    kube.ok("patch", "configmap", "cfg", "-n", "spec3", "-p", '{"data": {"file.txt": "v2"}}')
    assert finished(kube, "envy", "spec3").splitlines()[-1] == "updated"


@NEEDS_AGENT
def test_readiness_follows_an_http_probe(kube: Kube) -> None:
    container = {"name": "web", "image": "busybox:1.35", "ports": [{"name": "http", "containerPort": 8080}],
                 "command": ["sh", "-c", "mkdir /www && echo ok > /www/ready && httpd -f -p 8080 -h /www"],
                 "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 1,
                                    "failureThreshold": 1}}
    spec = pod("probed", [container])
    spec["spec"]["restartPolicy"] = "Always"
    apply(kube, spec)

    def ready() -> bool:
        conds = get_json(kube, "pod", "probed")["status"].get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
    wait_for(ready, 90, what="pod probed Ready")
    kube.ok("exec", "probed", "--", "rm", "/www/ready")
    wait_for(lambda: not ready(), 30, what="pod probed not Ready")
    assert "Readiness probe failed: HTTP probe failed with statuscode: 404" in kube.ok("describe", "pod", "probed")
    kube.ok("delete", "pod", "probed", "--wait=false")


@NEEDS_AGENT
def test_a_failing_exec_liveness_probe_restarts_the_container(kube: Kube) -> None:
    container = {"name": "app", "image": "busybox:1.35",
                 "command": ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 600"],
                 "startupProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1},
                 "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1,
                                   "failureThreshold": 2},
                 "readinessProbe": {"tcpSocket": {"port": 1}, "periodSeconds": 1}}
    slow = {"name": "slow", "image": "busybox:1.35", "command": ["sleep", "600"],
            "readinessProbe": {"exec": {"command": ["sleep", "5"]}, "periodSeconds": 1, "timeoutSeconds": 1}}
    spec = pod("lively", [container, slow])
    spec["spec"]["restartPolicy"] = "Always"
    apply(kube, spec)

    def restarts() -> int:
        statuses = get_json(kube, "pod", "lively")["status"].get("containerStatuses") or []
        return statuses[0].get("restartCount", 0) if statuses else 0
    wait_for(lambda: restarts() >= 1, 90, what="pod lively restarted")
    described = kube.ok("describe", "pod", "lively")
    assert "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory" in described
    assert "Readiness probe failed: dial tcp" in described and "connection refused" in described
    assert 'Readiness probe failed: command "sleep 5" timed out' in described
    status = get_json(kube, "pod", "lively")["status"]["containerStatuses"][0]
    assert status["ready"] is False
    kube.ok("delete", "pod", "lively", "--wait=false")
