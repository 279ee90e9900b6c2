"""The workload controllers (ReplicaSet, Deployment, Job, CronJob) driven by kubectl and the kubernetes client.

Pods are pinned to ``nodeName: ghost``, a node no agent runs: the test plays the
kubelet, writing pods' status through the status subresource (Running and Ready,
Succeeded, Failed), so the controllers are tested on their own.
"""

from __future__ import annotations

import datetime
import json
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL
kubernetes = pytest.importorskip("kubernetes")


@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    with kube_daemon() as k:
        yield k


def core(kube: Kube) -> Any:
    return kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kube.kubeconfig))


def deployment(name: str, ns: str, replicas: int, image: str = "busybox", **strategy: Any) -> str:
    spec: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name}},
                                         "spec": {"nodeName": "ghost",
                                                  "containers": [{"name": "c", "image": image}]}}}
    if strategy:
        spec["strategy"] = strategy
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
                       "spec": spec})


def stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_phase(api: Any, ns: str, name: str, phase: str, ready: bool = False) -> None:
    """What a kubelet reports: the phase, the Ready condition, a terminated container when finished."""
    now = stamp()
    status: dict[str, Any] = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now}]}
    if phase in ("Succeeded", "Failed"):
        status["containerStatuses"] = [{"name": "c", "image": "busybox", "imageID": "", "ready": False,
                                        "restartCount": 0, "state": {"terminated": {
                                            "exitCode": 0 if phase == "Succeeded" else 1, "finishedAt": now}}}]
    try:
        api.patch_namespaced_pod_status(name, ns, {"status": status})
    except kubernetes.client.exceptions.ApiException as exc:
        if exc.status != 404:
            raise


class FakeKubelet(threading.Thread):
    """Makes every pod of a namespace Running and Ready a little after it appears."""

    def __init__(self, api: Any, ns: str, delay: float = 0.3) -> None:
        super().__init__(daemon=True)
        self.api, self.ns, self.delay = api, ns, delay
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.delay):
            try:
                for pod in self.api.list_namespaced_pod(self.ns).items:
                    if pod.status.phase != "Running":
                        set_phase(self.api, self.ns, pod.metadata.name, "Running", ready=True)
            except Exception:  # noqa: BLE001 - as a kubelet, try again at the next tick
                continue

    def stop(self) -> None:
        self.stopped.set()
        self.join(10)


class Bounds(threading.Thread):
    """Watches a namespace's pods and records the fewest ready and the most existing on every event."""

    def __init__(self, api: Any, ns: str, initial: int) -> None:
        super().__init__(daemon=True)
        self.api, self.ns, self.initial = api, ns, initial
        self.armed = False  # counting starts once the initial ADDED events are in
        self.pods: dict[str, bool] = {}
        self.min_ready = 10 ** 6
        self.max_total = 0
        self.events = 0
        self.watch = kubernetes.watch.Watch()

    def run(self) -> None:
        try:
            self._follow()
        except Exception:  # noqa: BLE001 - stopping the watch cuts its response short
            pass

    def _follow(self) -> None:
        for event in self.watch.stream(self.api.list_namespaced_pod, self.ns, timeout_seconds=120):
            pod = event["object"]
            if event["type"] == "DELETED":
                self.pods.pop(pod.metadata.name, None)
            else:
                conds = pod.status.conditions or []
                self.pods[pod.metadata.name] = any(c.type == "Ready" and c.status == "True" for c in conds)
            self.armed = self.armed or len(self.pods) == self.initial
            if not self.armed:
                continue
            self.events += 1
            self.min_ready = min(self.min_ready, sum(self.pods.values()))
            self.max_total = max(self.max_total, len(self.pods))

    def stop(self) -> None:
        self.watch.stop()


def rollout_done(kube: Kube, ns: str, name: str, timeout: str = "60s") -> str:
    return kube.ok("rollout", "status", f"deployment/{name}", "-n", ns, f"--timeout={timeout}")


def test_deployment_rolls_within_its_bounds_and_undoes(kube: Kube) -> None:
    ns = "roll"
    kube.ok("create", "ns", ns)
    api = core(kube)
    kubelet = FakeKubelet(api, ns)
    kubelet.start()
    try:
        kube.ok("apply", "-f", "-", input=deployment("web", ns, 4, type="RollingUpdate",
                                                      rollingUpdate={"maxSurge": 1, "maxUnavailable": 1}))
        assert "successfully rolled out" in rollout_done(kube, ns, "web")
        rs1 = get_json(kube, "rs", "-n", ns)["items"]
        assert len(rs1) == 1 and rs1[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        pod_hash = rs1[0]["metadata"]["labels"]["pod-template-hash"]
        assert rs1[0]["metadata"]["name"] == f"web-{pod_hash}"
        bounds = Bounds(api, ns, 4)
        bounds.start()
        wait_for(lambda: bounds.armed, what="the watch's initial pods")
        kube.ok("set", "image", "deployment/web", "c=busybox:1.36", "-n", ns)
        assert "successfully rolled out" in rollout_done(kube, ns, "web")
        time.sleep(0.5)
        bounds.stop()
        assert bounds.events > 8
        assert bounds.min_ready >= 3, bounds.min_ready      # replicas - maxUnavailable
        assert bounds.max_total <= 5, bounds.max_total      # replicas + maxSurge
        d = get_json(kube, "deployment", "web", "-n", ns)
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        st = d["status"]
        assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"], st["availableReplicas"]) == (4, 4, 4, 4)
        conds = {c["type"]: c for c in st["conditions"]}
        assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
        assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
        assert st["observedGeneration"] == d["metadata"]["generation"]
        history = kube.ok("rollout", "history", "deployment/web", "-n", ns)
        assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
        assert "busybox:1.36" in kube.ok("rollout", "history", "deployment/web", "-n", ns, "--revision=2")
        described = kube.ok("describe", "deployment", "web", "-n", ns)
        new_rs = next(r for r in get_json(kube, "rs", "-n", ns)["items"] if r["spec"]["replicas"] == 4)
        assert f"NewReplicaSet:   {new_rs['metadata']['name']} (4/4 replicas created)" in described
        assert "RollingUpdateStrategy:  1 max unavailable, 1 max surge" in described
        events = kube.ok("get", "events", "-n", ns, "--field-selector", "reason=ScalingReplicaSet")
        assert f"Scaled up replica set web-{pod_hash} to 4 from 0" in events
        # undo: the first ReplicaSet comes back as revision 3
        kube.ok("rollout", "undo", "deployment/web", "-n", ns)
        rollout_done(kube, ns, "web")
        first = get_json(kube, "rs", f"web-{pod_hash}", "-n", ns)
        assert first["spec"]["replicas"] == 4
        assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        images = {p["spec"]["containers"][0]["image"] for p in get_json(kube, "pods", "-n", ns)["items"]}
        assert images == {"busybox"}
        # restart: a new template annotation, a new ReplicaSet
        kube.ok("rollout", "restart", "deployment/web", "-n", ns)
        rollout_done(kube, ns, "web")
        assert len(get_json(kube, "rs", "-n", ns)["items"]) == 3
        # history beyond revisionHistoryLimit goes, lowest revision first
        kube.ok("patch", "deployment", "web", "-n", ns, "-p", '{"spec":{"revisionHistoryLimit":1}}')
        wait_for(lambda: len(get_json(kube, "rs", "-n", ns)["items"]) == 2, what="one old ReplicaSet kept")
        revisions = sorted(int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
                           for r in get_json(kube, "rs", "-n", ns)["items"])
        assert revisions == [3, 4]
        table = kube.ok("get", "deployment", "web", "-n", ns).splitlines()
        assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
        assert table[1].split()[:4] == ["web", "4/4", "4", "4"]
    finally:
        kubelet.stop()


def test_scale_replace_and_delete(kube: Kube) -> None:
    ns = "scale"
    kube.ok("create", "ns", ns)
    api = core(kube)
    kube.ok("apply", "-f", "-", input=deployment("s", ns, 2))
    wait_for(lambda: len(get_json(kube, "pods", "-n", ns)["items"]) == 2, what="2 pods")
    assert kube.ok("scale", "deployment/s", "--replicas=5", "-n", ns).strip() == "deployment.apps/s scaled"
    wait_for(lambda: len(get_json(kube, "pods", "-n", ns)["items"]) == 5, what="5 pods")
    scale = json.loads(kube.ok("get", "--raw", f"/apis/apps/v1/namespaces/{ns}/deployments/s/scale"))
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 5 and scale["status"]["selector"] == "app=s"
    # scale down removes the pending pods before the running one
    pods = get_json(kube, "pods", "-n", ns)["items"]
    keep = pods[0]["metadata"]["name"]
    set_phase(api, ns, keep, "Running", ready=True)
    kube.ok("scale", "deployment/s", "--replicas=1", "-n", ns)
    wait_for(lambda: [p["metadata"]["name"] for p in get_json(kube, "pods", "-n", ns)["items"]] == [keep],
             what="the ready pod kept")
    # a deleted pod is replaced; an orphan matching the selector is adopted (and the surplus removed)
    kube.ok("delete", "pod", keep, "-n", ns)
    wait_for(lambda: [p for p in get_json(kube, "pods", "-n", ns)["items"] if p["metadata"]["name"] != keep],
             what="a replacement")
    # the scale subresource through the kubernetes client: 422 for a negative count, 409 for a stale one
    apps = kubernetes.client.AppsV1Api(api.api_client)
    rs_name = get_json(kube, "rs", "-n", ns)["items"][0]["metadata"]["name"]
    with pytest.raises(kubernetes.client.exceptions.ApiException) as bad:
        apps.patch_namespaced_replica_set_scale(rs_name, ns, {"spec": {"replicas": -1}})
    assert bad.value.status == 422
    current = apps.read_namespaced_deployment_scale("s", ns)
    assert current.spec.replicas == 1 and current.status.selector == "app=s"
    current.spec.replicas = 2
    assert apps.replace_namespaced_deployment_scale("s", ns, current).spec.replicas == 2
    current.spec.replicas = 3  # the resourceVersion read before the last write
    with pytest.raises(kubernetes.client.exceptions.ApiException) as stale:
        apps.replace_namespaced_deployment_scale("s", ns, current)
    assert stale.value.status == 409
    wait_for(lambda: len(get_json(kube, "pods", "-n", ns)["items"]) == 2, what="2 pods again")
    kube.ok("delete", "deployment", "s", "-n", ns)
    wait_for(lambda: not get_json(kube, "rs,pods", "-n", ns)["items"], what="ReplicaSets and pods collected")


def test_recreate_and_paused(kube: Kube) -> None:
    ns = "recreate"
    kube.ok("create", "ns", ns)
    api = core(kube)
    kubelet = FakeKubelet(api, ns)
    kubelet.start()
    try:
        kube.ok("apply", "-f", "-", input=deployment("r", ns, 2, type="Recreate"))
        rollout_done(kube, ns, "r")
        kube.ok("rollout", "pause", "deployment/r", "-n", ns)
        kube.ok("set", "image", "deployment/r", "c=busybox:1.36", "-n", ns)
        time.sleep(1.5)
        assert len(get_json(kube, "rs", "-n", ns)["items"]) == 1  # paused: no rollout
        d = get_json(kube, "deployment", "r", "-n", ns)
        assert {c["type"]: c["reason"] for c in d["status"]["conditions"]}["Progressing"] == "DeploymentPaused"
        bounds = Bounds(api, ns, 2)
        bounds.start()
        wait_for(lambda: bounds.armed, what="the watch's initial pods")
        kube.ok("rollout", "resume", "deployment/r", "-n", ns)
        rollout_done(kube, ns, "r")
        time.sleep(0.5)
        bounds.stop()
        assert bounds.min_ready == 0 and bounds.max_total == 2  # all old ones gone before any new one
    finally:
        kubelet.stop()


def test_progress_deadline_exceeded(kube: Kube) -> None:
    ns = "stuck"
    kube.ok("create", "ns", ns)
    body = json.loads(deployment("st", ns, 1))
    body["spec"]["progressDeadlineSeconds"] = 2
    kube.ok("apply", "-f", "-", input=json.dumps(body))
    r = kube.run("rollout", "status", "deployment/st", "-n", ns, "--timeout=30s")
    assert r.returncode != 0 and 'exceeded its progress deadline' in r.stderr
    d = get_json(kube, "deployment", "st", "-n", ns)
    cond = {c["type"]: c for c in d["status"]["conditions"]}["Progressing"]
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")


def job(name: str, ns: str, **spec: Any) -> str:
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns},
                       "spec": {"template": {"spec": {"nodeName": "ghost", "restartPolicy": "Never",
                                                      "containers": [{"name": "c", "image": "busybox"}]}},
                                **spec}})


def active_pods(api: Any, ns: str) -> list[Any]:
    return [p for p in api.list_namespaced_pod(ns).items if p.status.phase in ("Pending", "Running")]


def test_job_completions_and_parallelism(kube: Kube) -> None:
    ns = "jobs"
    kube.ok("create", "ns", ns)
    api = core(kube)
    kube.ok("apply", "-f", "-", input=job("j", ns, completions=3, parallelism=2))
    most = 0
    for _ in range(3):
        pods = wait_for(lambda: active_pods(api, ns), what="an active pod")
        most = max(most, len(pods))
        assert len(pods) <= 2
        labels = pods[0].metadata.labels
        assert labels["job-name"] == "j" and labels["batch.kubernetes.io/job-name"] == "j"
        assert labels["batch.kubernetes.io/controller-uid"] == labels["controller-uid"]
        set_phase(api, ns, pods[0].metadata.name, "Succeeded")
        time.sleep(0.3)
    assert most == 2
    kube.ok("wait", "--for=condition=complete", "job/j", "-n", ns, "--timeout=30s")
    j = get_json(kube, "job", "j", "-n", ns)
    assert j["status"]["succeeded"] == 3 and "active" not in j["status"] and j["status"]["completionTime"]
    assert {c["type"] for c in j["status"]["conditions"]} == {"SuccessCriteriaMet", "Complete"}
    row = kube.ok("get", "job", "j", "-n", ns).splitlines()[1].split()
    assert row[:3] == ["j", "Complete", "3/3"]


def test_job_backoff_and_limit(kube: Kube) -> None:
    ns = "failing"
    kube.ok("create", "ns", ns)
    api = core(kube)
    kube.ok("apply", "-f", "-", input=job("f", ns, backoffLimit=1))
    first = wait_for(lambda: active_pods(api, ns), what="the first pod")[0].metadata.name
    set_phase(api, ns, first, "Failed")
    failed_at = time.monotonic()
    second = wait_for(lambda: active_pods(api, ns), timeout=30, what="the replacement")[0].metadata.name
    waited = time.monotonic() - failed_at
    assert 8 <= waited <= 20, waited  # the 10 s back-off
    set_phase(api, ns, second, "Failed")
    kube.ok("wait", "--for=condition=failed", "job/f", "-n", ns, "--timeout=30s")
    j = get_json(kube, "job", "f", "-n", ns)
    conds = {c["type"]: c["reason"] for c in j["status"]["conditions"]}
    assert conds == {"FailureTarget": "BackoffLimitExceeded", "Failed": "BackoffLimitExceeded"}
    assert j["status"]["failed"] == 2 and not active_pods(api, ns)


def test_indexed_job_and_ttl(kube: Kube) -> None:
    ns = "indexed"
    kube.ok("create", "ns", ns)
    api = core(kube)
    kube.ok("apply", "-f", "-", input=job("ix", ns, completions=2, parallelism=2, completionMode="Indexed",
                                          ttlSecondsAfterFinished=1))
    pods = wait_for(lambda: len(active_pods(api, ns)) == 2 and active_pods(api, ns), what="two indexed pods")
    index = "batch.kubernetes.io/job-completion-index"
    assert sorted(p.metadata.annotations[index] for p in pods) == ["0", "1"]
    env = pods[0].spec.containers[0].env[0]
    assert env.name == "JOB_COMPLETION_INDEX" and index in env.value_from.field_ref.field_path
    for p in pods:
        set_phase(api, ns, p.metadata.name, "Succeeded")
    wait_for(lambda: kube.run("get", "job", "ix", "-n", ns).returncode != 0, timeout=30, what="the TTL deletion")


def test_cronjob_fires_and_create_job_from_it(kube: Kube) -> None:
    ns = "cron"
    kube.ok("create", "ns", ns)
    body = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj", "namespace": ns},
            "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Forbid",
                     "jobTemplate": {"spec": json.loads(job("x", ns))["spec"]}}}
    kube.ok("apply", "-f", "-", input=json.dumps(body))
    jobs = wait_for(lambda: get_json(kube, "jobs", "-n", ns)["items"], timeout=75, interval=1, what="a scheduled job")
    name = jobs[0]["metadata"]["name"]
    minutes = int(name.rsplit("-", 1)[1])
    assert name.startswith("cj-") and abs(minutes * 60 - time.time()) < 120
    cj = get_json(kube, "cronjob", "cj", "-n", ns)
    assert [a["name"] for a in cj["status"]["active"]] == [name]
    assert cj["status"]["lastScheduleTime"] == datetime.datetime.fromtimestamp(
        minutes * 60, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    row = kube.ok("get", "cronjob", "cj", "-n", ns).splitlines()[1].split()
    assert row[0] == "cj" and row[6:9] == ["<none>", "False", "1"]  # TIMEZONE SUSPEND ACTIVE
    kube.ok("create", "job", "manual", "--from=cronjob/cj", "-n", ns)
    manual = get_json(kube, "job", "manual", "-n", ns)
    assert manual["metadata"]["ownerReferences"][0]["name"] == "cj"
    wait_for(lambda: get_json(kube, "job", "manual", "-n", ns).get("status", {}).get("active"), what="manual pod")


def test_daemon_kill_and_restart_resumes_a_rollout(kube: Kube) -> None:
    ns = "resume"
    kube.ok("create", "ns", ns)
    api = core(kube)
    kube.ok("apply", "-f", "-", input=deployment("w", ns, 3, type="RollingUpdate",
                                                  rollingUpdate={"maxSurge": 1, "maxUnavailable": 0}))
    for p in wait_for(lambda: len(active_pods(api, ns)) == 3 and active_pods(api, ns), what="3 pods"):
        set_phase(api, ns, p.metadata.name, "Running", ready=True)
    rollout_done(kube, ns, "w")
    kube.ok("set", "image", "deployment/w", "c=busybox:1.36", "-n", ns)
    wait_for(lambda: len(get_json(kube, "rs", "-n", ns)["items"]) == 2, what="the new ReplicaSet")
    kube.daemon.stop(signal.SIGKILL)
    kube.daemon.start()
    kube.wait_ready()
    api = core(kube)
    kubelet = FakeKubelet(api, ns)
    kubelet.start()
    try:
        assert "successfully rolled out" in rollout_done(kube, ns, "w")
        images = {p["spec"]["containers"][0]["image"] for p in get_json(kube, "pods", "-n", ns)["items"]}
        assert images == {"busybox:1.36"}
    finally:
        kubelet.stop()
