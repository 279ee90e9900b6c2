"""HorizontalPodAutoscaler through kubectl: ``kubectl autoscale`` (v1) stored as v2, defaults,
validation (a 422, nothing stored), both versions read back.

Pods are pinned to ``nodeName: ghost`` (no agent runs them): these tests need the API only.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from baleine.ui import hpahistory

from ..conftest import BUSYBOX_TAR
from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL

WEB = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"nodeName": "ghost", "containers": [
                                            {"name": "c", "image": "busybox",
                                             "resources": {"requests": {"cpu": "100m"}}}]}}}})


@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    with kube_daemon("--hpa-sync-period", "1") as k:
        k.ok("apply", "-f", "-", input=WEB)
        yield k


def test_kubectl_autoscale_stores_v2_and_reads_back_as_v1(kube: Kube) -> None:
    kube.ok("autoscale", "deployment", "web", "--min=1", "--max=4", "--cpu-percent=50")
    v2 = get_json(kube, "horizontalpodautoscalers.v2.autoscaling", "web")
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["minReplicas"] == 1 and v2["spec"]["maxReplicas"] == 4
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    v1 = get_json(kube, "horizontalpodautoscalers.v1.autoscaling", "web")
    assert v1["apiVersion"] == "autoscaling/v1" and v1["spec"]["targetCPUUtilizationPercentage"] == 50
    kube.ok("patch", "horizontalpodautoscalers.v1.autoscaling", "web", "--type=merge",
            "-p", '{"spec": {"targetCPUUtilizationPercentage": 60}}')
    v2 = get_json(kube, "horizontalpodautoscalers.v2.autoscaling", "web")
    assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    kube.ok("delete", "hpa", "web")


def test_default_cpu_target(kube: Kube) -> None:
    kube.ok("autoscale", "deployment", "web", "--name=plain", "--max=3")
    v2 = get_json(kube, "horizontalpodautoscalers.v2.autoscaling", "plain")
    assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 80
    kube.ok("delete", "hpa", "plain")


def test_invalid_spec_is_422_and_nothing_stored(kube: Kube) -> None:
    bad = json.dumps({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                      "metadata": {"name": "bad"},
                      "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                               "minReplicas": 5, "maxReplicas": 2}})
    err = kube.fails("create", "-f", "-", input=bad)
    assert 'HorizontalPodAutoscaler "bad" is invalid' in err
    assert "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`" in err
    assert kube.run("get", "hpa", "bad").returncode != 0


# --- the acceptance: real pods under a bounded CPU load -----------------------------

LOAD_SCRIPT = ("while true; do if [ -f /ctl/go ]; then i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; "
               "else sleep 0.3; fi; done")


def _load_deployment(ctl: str) -> str:
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burn"},
                       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "burn"}},
                                "template": {"metadata": {"labels": {"app": "burn"}}, "spec": {
                                    "terminationGracePeriodSeconds": 1,
                                    "volumes": [{"name": "ctl", "hostPath": {"path": ctl, "type": "Directory"}}],
                                    "containers": [{
                                        "name": "burn", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                        "command": ["sh", "-c", LOAD_SCRIPT],
                                        "volumeMounts": [{"name": "ctl", "mountPath": "/ctl"}],
                                        # the limit bounds the load (4 pods: 0.8 core at most)
                                        "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}}]}}}})


HPA = json.dumps({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "burn"},
                  "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burn"},
                           "minReplicas": 1, "maxReplicas": 4,
                           "metrics": [{"type": "Resource", "resource": {
                               "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
                           "behavior": {"scaleDown": {"stabilizationWindowSeconds": 4}}}})


def _conditions(hpa: dict) -> dict:
    return {c["type"]: c for c in (hpa.get("status") or {}).get("conditions") or []}


def _replicas(kube: Kube) -> int:
    return int(get_json(kube, "deployment", "burn")["spec"]["replicas"])


def test_hpa_scales_a_deployment_under_load_and_back(kube: Kube, tmp_path) -> None:
    kube.daemon.ok("load", "-i", str(BUSYBOX_TAR))
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    kube.ok("apply", "-f", "-", input=_load_deployment(str(ctl)))
    wait_for(lambda: get_json(kube, "deployment", "burn").get("status", {}).get("readyReplicas") == 1, 90,
             what="the load deployment ready")
    kube.ok("apply", "-f", "-", input=HPA)
    idle = wait_for(lambda: (lambda h: h if _conditions(h).get("ScalingActive", {}).get("status") == "True"
                             else None)(get_json(kube, "hpa", "burn")), 30, what="a metric for the HPA")
    assert idle["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] < 50
    assert _replicas(kube) == 1

    (ctl / "go").touch()
    started = time.monotonic()
    wait_for(lambda: _replicas(kube) > 1, 30, interval=0.2, what="a scale-up")
    # a rate needs two samples (1 s apart) and the next sync (1 s): within a few periods of the load
    assert time.monotonic() - started < 8
    wait_for(lambda: _replicas(kube) == 4, 60, what="scaled to the maximum")
    top = kube.ok("top", "pods", "-l", "app=burn")
    assert re.search(r"burn-\S+\s+(1\d\d|2\d\d)m\s+\d+Mi", top), top
    per_container = kube.ok("top", "pods", "--containers", "-l", "app=burn")
    assert re.search(r"burn-\S+\s+burn\s+\d+m\s+\d+Mi", per_container), per_container
    # the dashboard's HPA card plots what the controller writes (ui/hpahistory reads the same status)
    point = wait_for(lambda: (lambda p: p if p["desired"] == 4 else None)(
        hpahistory.sample(get_json(kube, "hpa", "burn"), 0.0)), 10, what="the HPA's status at 4")
    assert point["min"] == 1 and point["max"] == 4 and point["current"] >= 1, point
    assert point["metrics"][0]["key"] == "resource/cpu" and point["metrics"][0]["target"] == 50, point
    assert point["metrics"][0]["current"] is not None and point["metrics"][0]["current"] > 0, point
    table = kube.ok("get", "hpa", "burn")
    assert re.search(r"burn\s+Deployment/burn\s+cpu: \d+%/50%\s+1\s+4\s+[1-4]\s+", table), table
    events = kube.ok("get", "events", "--field-selector", "involvedObject.name=burn,reason=SuccessfulRescale")
    assert "cpu resource utilization (percentage of request) above target" in events
    time.sleep(3)
    assert _replicas(kube) == 4  # holds while the load lasts

    (ctl / "go").unlink()
    wait_for(lambda: _replicas(kube) == 1, 60, what="the scale-down after the window")
    hpa = get_json(kube, "hpa", "burn")
    assert "All metrics below target" in kube.ok("describe", "hpa", "burn")
    assert hpa["status"]["desiredReplicas"] == 1
    top_nodes = kube.ok("top", "nodes")
    assert re.search(r"\d+m\s+\d+%\s+\d+Mi\s+\d+%", top_nodes), top_nodes
    kube.ok("delete", "hpa", "burn")
    kube.ok("delete", "deployment", "burn")


def test_missing_target_is_a_condition_and_an_event(kube: Kube) -> None:
    kube.ok("autoscale", "deployment", "web", "--name=ghost", "--max=3", "--cpu-percent=50")
    kube.ok("patch", "hpa", "ghost", "--type=merge", "-p", '{"spec": {"scaleTargetRef": {"name": "nowhere"}}}')
    hpa = wait_for(lambda: (lambda h: h if _conditions(h).get("AbleToScale", {}).get("reason") == "FailedGetScale"
                            else None)(get_json(kube, "hpa", "ghost")), 20, what="FailedGetScale")
    assert _conditions(hpa)["AbleToScale"]["status"] == "False"
    assert 'deployments.apps "nowhere" not found' in _conditions(hpa)["AbleToScale"]["message"]
    events = kube.ok("get", "events", "--field-selector", "involvedObject.name=ghost")
    assert "FailedGetScale" in events
    kube.ok("delete", "hpa", "ghost")


def test_pods_without_requests_fail_the_resource_metric(kube: Kube) -> None:
    kube.ok("autoscale", "deployment", "web", "--name=noreq", "--max=3", "--cpu-percent=50")
    kube.ok("patch", "deployment", "web", "--type=json", "-p",
            '[{"op": "remove", "path": "/spec/template/spec/containers/0/resources"}]')
    hpa = wait_for(lambda: (lambda h: h if "missing request" in _conditions(h).get("ScalingActive", {}).get(
        "message", "") else None)(get_json(kube, "hpa", "noreq")), 20, what="ScalingActive=False")
    active = _conditions(hpa)["ScalingActive"]
    assert active["reason"] == "FailedGetResourceMetric"
    assert active["status"] == "False"
    assert "failed to get cpu utilization: missing request for cpu in container c of Pod web-" in active["message"]
    kube.ok("delete", "hpa", "noreq")
