"""baleine.kube.printers: server-side tables like kube-apiserver's."""

from __future__ import annotations

import datetime

import pytest

from baleine.kube.printers import human_duration, table

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


def meta(name: str, age_seconds: int, **extra: object) -> dict:
    created = (NOW - datetime.timedelta(seconds=age_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": name, "creationTimestamp": created, **extra}


@pytest.mark.parametrize("seconds,text", [(5, "5s"), (119, "119s"), (150, "2m30s"), (300, "5m"), (3000, "50m"),
                                          (4 * 3600 + 60, "4h1m"), (20 * 3600, "20h"), (3 * 86400, "3d"),
                                          (3 * 86400 + 7200, "3d2h"), (40 * 86400, "40d"),
                                          (3 * 365 * 86400, "3y"), (-1, "<invalid>")])
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def cells(kind: str, obj: dict) -> list[object]:
    t = table(kind, [obj], "7", now=NOW)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"]["resourceVersion"] == "7"
    return [c for c, d in zip(t["rows"][0]["cells"], t["columnDefinitions"]) if d["priority"] == 0]


def headers(kind: str) -> list[str]:
    return [d["name"] for d in table(kind, [], "1")["columnDefinitions"] if d["priority"] == 0]


def test_namespace_and_configmap_columns() -> None:
    assert headers("Namespace") == ["Name", "Status", "Age"]
    assert cells("Namespace", {"metadata": meta("default", 90), "status": {"phase": "Active"}}) == \
        ["default", "Active", "90s"]
    assert headers("ConfigMap") == ["Name", "Data", "Age"]
    assert cells("ConfigMap", {"metadata": meta("c", 600), "data": {"a": "1"}, "binaryData": {"b": ""}}) == \
        ["c", 2, "10m"]


def test_node_columns() -> None:
    node = {"metadata": meta("vm", 7200, labels={"node-role.kubernetes.io/control-plane": ""}),
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.32.0"}}}
    assert headers("Node") == ["Name", "Status", "Roles", "Age", "Version"]
    assert cells("Node", node) == ["vm", "Ready", "control-plane", "120m", "v1.32.0"]
    node["status"]["conditions"][0]["status"] = "False"
    assert cells("Node", node)[1] == "NotReady"


def test_workload_and_service_columns() -> None:
    dep = {"metadata": meta("d", 10), "spec": {"replicas": 3}, "status": {"readyReplicas": 1, "updatedReplicas": 2}}
    assert cells("Deployment", dep) == ["d", "1/3", 2, 0, "10s"]
    svc = {"metadata": meta("s", 10), "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
                                              "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}
    assert cells("Service", svc) == ["s", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP", "10s"]
    secret = {"metadata": meta("s", 10), "type": "Opaque", "data": {"a": "", "b": ""}}
    assert cells("Secret", secret) == ["s", "Opaque", 2, "10s"]


def test_rows_embed_the_object_as_asked() -> None:
    obj = {"metadata": meta("c", 1)}
    assert table("ConfigMap", [obj], "1")["rows"][0]["object"] == obj
    assert table("ConfigMap", [obj], "1", include="Metadata")["rows"][0]["object"]["kind"] == \
        "PartialObjectMetadata"
    assert "object" not in table("ConfigMap", [obj], "1", include="None")["rows"][0]


def test_hpa_columns_as_kubectl_1_32() -> None:
    assert headers("HorizontalPodAutoscaler") == ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas",
                                                  "Age"]
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                      "averageUtilization": 50}}}
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                            "averageValue": "100Mi"}}}
    hpa = {"metadata": meta("web", 60), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                                 "minReplicas": 1, "maxReplicas": 4, "metrics": [cpu, memory]},
           "status": {"currentReplicas": 2, "currentMetrics": [
               {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 62}}}]}}
    assert cells("HorizontalPodAutoscaler", hpa) == \
        ["web", "Deployment/web", "cpu: 62%/50%, memory: <unknown>/100Mi", "1", 4, 2, "60s"]
    v1 = {"metadata": meta("web", 60), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                                "maxReplicas": 3, "targetCPUUtilizationPercentage": 80}}
    assert cells("HorizontalPodAutoscaler", v1)[2:4] == ["cpu: <unknown>/80%", "<unset>"]
