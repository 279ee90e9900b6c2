"""HorizontalPodAutoscaler through kubectl: ``kubectl autoscale`` (v1) stored as v2, defaults,
validation (a 422, nothing stored), both versions read back.

Pods are pinned to ``nodeName: ghost`` (no agent runs them): these tests need the API only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon

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
