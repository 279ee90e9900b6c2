"""HorizontalPodAutoscaler versions: autoscaling/v1 <-> v2 conversion, defaults, validation.

Storage is ``autoscaling/v2``. Contracts (as kube-apiserver, pkg/apis/autoscaling):

- :func:`to_storage` turns a decoded write of either version into the stored v2
  object, defaulted (``minReplicas`` 1; a CPU Utilization metric at 80 % when none;
  a given ``behavior`` completed with Kubernetes' scale-up/scale-down rules). A v1
  object's ``targetCPUUtilizationPercentage`` becomes a CPU Resource metric; the
  metrics v1 cannot express travel in the ``autoscaling.alpha.kubernetes.io/metrics``
  annotation (as v2 JSON), ``…/behavior`` likewise;
- :func:`present` shows a stored object as its kind's version (v2 unchanged; v1
  with ``targetCPUUtilizationPercentage``, ``currentCPUUtilizationPercentage``, the
  other metrics, current metrics and conditions in the annotations);
- :func:`validate` lists the spec's errors as field causes (a 422 by the registry).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import validation as v

if TYPE_CHECKING:
    from .kinds import Kind

Obj = dict[str, Any]

KIND = "HorizontalPodAutoscaler"
_ANN = "autoscaling.alpha.kubernetes.io/"
_METRIC_TYPES = ("Object", "Pods", "Resource", "ContainerResource", "External")
_TARGET_TYPES = ("Utilization", "Value", "AverageValue")


def _is_v1(kind: Kind) -> bool:
    return kind.kind == KIND and kind.version == "v1"


# --- defaults ----------------------------------------------------------------


def _default_rules(rules: Obj | None, window: int, policies: list[Obj]) -> Obj:
    rules = dict(rules or {})
    rules.setdefault("stabilizationWindowSeconds", window)
    rules.setdefault("selectPolicy", "Max")
    if not rules.get("policies"):
        rules["policies"] = policies
    return rules


def default(obj: Obj) -> Obj:
    """Kubernetes' v2 defaults, in place; returns ``obj``."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _default_rules(behavior.get("scaleUp"), 0, [
            {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}])
        behavior["scaleDown"] = _default_rules(behavior.get("scaleDown"), 300, [
            {"type": "Percent", "value": 100, "periodSeconds": 15}])
    return obj


# --- conversion --------------------------------------------------------------


def _is_cpu_utilization(metric: Obj) -> bool:
    res = metric.get("resource") or {}
    return (metric.get("type") == "Resource" and res.get("name") == "cpu"
            and (res.get("target") or {}).get("type") == "Utilization")


def _v1_to_v2(obj: Obj) -> Obj:
    meta = dict(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    spec = dict(obj.get("spec") or {})
    metrics: list[Obj] = []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": spec.pop("targetCPUUtilizationPercentage")}}})
    spec.pop("targetCPUUtilizationPercentage", None)
    for key, field in (("metrics", "metrics"), ("behavior", "behavior")):
        raw = annotations.pop(_ANN + key, None)
        if raw:
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if field == "metrics" and isinstance(value, list):
                metrics += [m for m in value if isinstance(m, dict) and not _is_cpu_utilization(m)]
            elif isinstance(value, dict):
                spec["behavior"] = value
    for key in ("current-metrics", "conditions"):
        annotations.pop(_ANN + key, None)
    if metrics:
        spec["metrics"] = metrics
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out: Obj = {**obj, "apiVersion": "autoscaling/v2", "metadata": meta, "spec": spec}
    status = obj.get("status")
    if isinstance(status, dict):
        out["status"] = {k: status[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas",
                                                "desiredReplicas") if k in status}
    return out


def _v2_to_v1(obj: Obj) -> Obj:
    meta = dict(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    spec = dict(obj.get("spec") or {})
    metrics = spec.pop("metrics", None) or []
    others = [m for m in metrics if not _is_cpu_utilization(m)]
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"].get("averageUtilization")
    if others:
        annotations[_ANN + "metrics"] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior:
        annotations[_ANN + "behavior"] = json.dumps(behavior, separators=(",", ":"))
    status = dict(obj.get("status") or {})
    current = status.pop("currentMetrics", None) or []
    conditions = status.pop("conditions", None)
    for metric in current:
        res = metric.get("resource") or {}
        if metric.get("type") == "Resource" and res.get("name") == "cpu" and \
                (res.get("current") or {}).get("averageUtilization") is not None:
            status["currentCPUUtilizationPercentage"] = res["current"]["averageUtilization"]
    if current:
        annotations[_ANN + "current-metrics"] = json.dumps(current, separators=(",", ":"))
    if conditions:
        annotations[_ANN + "conditions"] = json.dumps(conditions, separators=(",", ":"))
    if annotations:
        meta["annotations"] = annotations
    out: Obj = {**obj, "apiVersion": "autoscaling/v1", "metadata": meta, "spec": spec}
    if "status" in obj:
        out["status"] = status
    return out


def to_storage(kind: Kind, obj: Obj) -> Obj:
    """A decoded write of ``kind`` as the stored, defaulted v2 object (others unchanged)."""
    if kind.kind != KIND:
        return obj
    if _is_v1(kind):
        obj = _v1_to_v2(obj)
    return default(obj)


def present(kind: Kind, obj: Obj) -> Obj:
    """The stored v2 object as ``kind``'s version shows it (others unchanged)."""
    return _v2_to_v1(obj) if _is_v1(kind) else obj


# --- validation --------------------------------------------------------------


def _target_causes(path: str, target: Any, allow_utilization: bool) -> list[v.Cause]:
    if not isinstance(target, dict):
        return [v.required(path)]
    kind = target.get("type")
    if kind not in _TARGET_TYPES:
        return [v.required(f"{path}.type")] if kind is None else [v.unsupported(f"{path}.type", kind,
                                                                                list(_TARGET_TYPES))]
    if kind == "Utilization":
        if not allow_utilization:
            return [v.invalid(f"{path}.type", kind, "must be either Value or AverageValue")]
        value = target.get("averageUtilization")
        if value is None:
            return [v.required(f"{path}.averageUtilization")]
        if not isinstance(value, int) or value < 1:
            return [v.invalid(f"{path}.averageUtilization", value, "must be greater than 0")]
        return []
    field = "value" if kind == "Value" else "averageValue"
    if target.get(field) in (None, ""):
        return [v.required(f"{path}.{field}")]
    return []


def _metric_causes(index: int, metric: Any) -> list[v.Cause]:
    path = f"spec.metrics[{index}]"
    if not isinstance(metric, dict):
        return [v.required(path)]
    kind = metric.get("type")
    if kind not in _METRIC_TYPES:
        return [v.required(f"{path}.type")] if not kind else [v.unsupported(f"{path}.type", kind,
                                                                            list(_METRIC_TYPES))]
    field = {"Object": "object", "Pods": "pods", "Resource": "resource", "ContainerResource": "containerResource",
             "External": "external"}[kind]
    source = metric.get(field)
    if not isinstance(source, dict):
        return [v.required(f"{path}.{field}")]
    causes: list[v.Cause] = []
    if kind in ("Resource", "ContainerResource"):
        if not source.get("name"):
            causes.append(v.required(f"{path}.{field}.name"))
        if kind == "ContainerResource" and not source.get("container"):
            causes.append(v.required(f"{path}.{field}.container"))
    elif not (source.get("metric") or {}).get("name"):
        causes.append(v.required(f"{path}.{field}.metric.name"))
    return causes + _target_causes(f"{path}.{field}.target", source.get("target"),
                                   kind in ("Resource", "ContainerResource"))


def validate(obj: Obj) -> list[v.Cause]:
    """The spec's errors (kube-apiserver's ValidateHorizontalPodAutoscalerSpec, main rules)."""
    spec = obj.get("spec") or {}
    causes: list[v.Cause] = []
    ref = spec.get("scaleTargetRef")
    if not isinstance(ref, dict):
        causes.append(v.required("spec.scaleTargetRef"))
    else:
        for key in ("kind", "name"):
            if not ref.get(key):
                causes.append(v.required(f"spec.scaleTargetRef.{key}"))
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        causes.append(v.invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if high is None:
        causes.append(v.required("spec.maxReplicas"))
    elif isinstance(high, int) and isinstance(low, int) and high < low:
        causes.append(v.invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    for index, metric in enumerate(spec.get("metrics") or []):
        causes += _metric_causes(index, metric)
    return causes
