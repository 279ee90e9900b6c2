"""autoscaling/v1 <-> v2 conversion, defaults and validation of HorizontalPodAutoscalers."""

from __future__ import annotations

from baleine.kube import hpaversions
from baleine.kube.kinds import KINDS

V1 = next(k for k in KINDS if k.kind == "HorizontalPodAutoscaler" and k.version == "v1")
V2 = next(k for k in KINDS if k.kind == "HorizontalPodAutoscaler" and k.version == "v2")
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


def test_v1_round_trip_keeps_cpu_target_and_defaults_min():
    stored = hpaversions.to_storage(V1, {"apiVersion": "autoscaling/v1", "metadata": {"name": "web"},
                                         "spec": {"scaleTargetRef": REF, "maxReplicas": 4,
                                                  "targetCPUUtilizationPercentage": 50}})
    assert stored["apiVersion"] == "autoscaling/v2"
    assert stored["spec"]["minReplicas"] == 1
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    shown = hpaversions.present(V1, {**stored, "status": {"currentReplicas": 2, "desiredReplicas": 3,
                                                          "currentMetrics": [{"type": "Resource", "resource": {
                                                              "name": "cpu", "current": {
                                                                  "averageUtilization": 62,
                                                                  "averageValue": "124m"}}}]}})
    assert shown["spec"]["targetCPUUtilizationPercentage"] == 50 and "metrics" not in shown["spec"]
    assert shown["status"]["currentCPUUtilizationPercentage"] == 62
    assert "autoscaling.alpha.kubernetes.io/current-metrics" in shown["metadata"]["annotations"]
    assert hpaversions.present(V2, stored) is stored


def test_v2_memory_metric_survives_v1_in_annotation():
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                            "averageValue": "100Mi"}}}
    stored = hpaversions.to_storage(V2, {"metadata": {"name": "a"}, "spec": {"scaleTargetRef": REF,
                                                                           "maxReplicas": 3, "metrics": [memory]}})
    shown = hpaversions.present(V1, stored)
    assert "targetCPUUtilizationPercentage" not in shown["spec"]
    back = hpaversions.to_storage(V1, shown)
    assert back["spec"]["metrics"] == [memory]


def test_defaults_cpu_80_and_behavior_completion():
    stored = hpaversions.to_storage(V2, {"metadata": {"name": "a"}, "spec": {
        "scaleTargetRef": REF, "maxReplicas": 3, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}}}})
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 80
    down, up = stored["spec"]["behavior"]["scaleDown"], stored["spec"]["behavior"]["scaleUp"]
    assert down["stabilizationWindowSeconds"] == 5 and down["policies"][0]["type"] == "Percent"
    assert up["stabilizationWindowSeconds"] == 0 and len(up["policies"]) == 2


def test_validation():
    assert hpaversions.validate({"spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 2}}) == []
    fields = [c.field for c in hpaversions.validate({"spec": {"minReplicas": 3, "maxReplicas": 2}})]
    assert fields == ["spec.scaleTargetRef", "spec.maxReplicas"]
    fields = [c.field for c in hpaversions.validate({"spec": {"scaleTargetRef": REF, "minReplicas": 0,
                                                              "maxReplicas": 2}})]
    assert fields == ["spec.minReplicas"]
    bad = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}
    causes = hpaversions.validate({"spec": {"scaleTargetRef": REF, "maxReplicas": 2, "metrics": [bad]}})
    assert [c.field for c in causes] == ["spec.metrics[0].resource.target.averageUtilization"]
