"""The HorizontalPodAutoscaler controller (``pkg/controller/podautoscaler/horizontal.go``).

Every ``hpa_sync_period`` seconds (and when an HPA's spec changes) each HPA:

- reads its target's scale (Deployments, ReplicaSets; a missing target is the
  condition ``AbleToScale=False`` reason ``FailedGetScale`` and a Warning event);
- computes a recommendation for each metric (Resource metrics cpu and memory:
  Utilization against the pods' requests, or AverageValue) from the Metrics API
  component's samples with :mod:`baleine.rules.autoscaling`, takes the highest,
  then stabilises and rate-limits it with ``behavior`` (Kubernetes' defaults when
  absent);
- writes the target's ``spec.replicas`` (what the scale subresource writes), a
  ``SuccessfulRescale`` event "New size: N; reason: …", and the HPA's status
  (``currentReplicas``, ``desiredReplicas``, ``currentMetrics``, ``lastScaleTime``,
  conditions AbleToScale / ScalingActive / ScalingLimited with Kubernetes' reasons).

A metric that cannot be computed (a pod without a request for it, no metrics yet)
sets ``ScalingActive=False`` with ``FailedGetResourceMetric`` and an event; the
target is then left as it is.
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...rules import autoscaling as algo
from ..controller import Controller, Key
from ..kubelet.env import parse_quantity

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]
HPAS = "horizontalpodautoscalers.autoscaling"
TARGETS = {"Deployment": "deployments.apps", "ReplicaSet": "replicasets.apps"}
METRICS = "baleine.kube.metrics"


class MetricFailure(Exception):
    """A metric without a recommendation: (condition reason, message)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Computed:
    """What the metrics ask: replicas, the metric's name for messages, currentMetrics."""

    replicas: int
    name: str
    current: list[Obj]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rules(raw: Obj | None, default: algo.ScalingRules) -> algo.ScalingRules:
    if not raw:
        return default
    policies = tuple(algo.Policy(p.get("type", "Pods"), int(p.get("value", 0)), int(p.get("periodSeconds", 15)))
                     for p in raw.get("policies") or []) or default.policies
    return algo.ScalingRules(int(raw.get("stabilizationWindowSeconds", default.stabilization_window)),
                             raw.get("selectPolicy", "Max"), policies)


def _ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _requests(pod: Obj, resource: str) -> float:
    """The pod's request for ``resource`` (cpu in millicores, memory in bytes); MetricFailure when a
    container has none."""
    total = 0.0
    for container in (pod.get("spec") or {}).get("containers") or []:
        value = ((container.get("resources") or {}).get("requests") or {}).get(resource)
        if value in (None, ""):
            raise MetricFailure("FailedGetResourceMetric",
                                f"failed to get {resource} utilization: missing request for {resource} in "
                                f"container {container.get('name')} of Pod {pod['metadata']['name']}")
        amount = float(parse_quantity(value))
        total += amount * 1000 if resource == "cpu" else amount
    return total


def _condition(kind: str, status: bool, reason: str, message: str) -> Obj:
    return {"type": kind, "status": "True" if status else "False", "reason": reason, "message": message}


class HPAController(Controller):
    name = "horizontal-pod-autoscaler"
    primary = HPAS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.resync = float(ctx.options.hpa_sync_period)
        self._states: dict[Key, algo.ScalingState] = {}
        self._generations: dict[Key, Any] = {}

    def keys_for(self, resource: str, obj: Obj) -> Iterable[Key]:
        """Only spec changes (a new generation) trigger a sync; status writes wait for the period."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if self._generations.get(key) == meta.get("generation"):
            return []
        self._generations[key] = meta.get("generation")
        return [key]

    async def reconcile(self, namespace: str, name: str) -> float | None:
        hpa = self.client.get(HPAS, namespace, name)
        if hpa is None:
            self._states.pop((namespace, name), None)
            self._generations.pop((namespace, name), None)
            return None
        await self._sync(hpa)
        return None

    async def _sync(self, hpa: Obj) -> None:
        spec = hpa.get("spec") or {}
        ns = hpa["metadata"].get("namespace", "")
        ref = spec.get("scaleTargetRef") or {}
        status: Obj = dict(hpa.get("status") or {})
        conditions: list[Obj] = []
        resource = TARGETS.get(ref.get("kind", ""))
        target = self.client.get(resource, ns, ref.get("name", "")) if resource else None
        if target is None:
            plural = (resource or f"{ref.get('kind', '').lower()}s").split(".")[0]
            group = resource.partition(".")[2] if resource else ""
            error = f'{plural}.{group} "{ref.get("name")}" not found' if group else \
                f'no matches for kind "{ref.get("kind")}" in group ""'
            conditions.append(_condition("AbleToScale", False, "FailedGetScale",
                                         f"the HPA controller was unable to get the target's current scale: {error}"))
            await self.client.event(hpa, "Warning", "FailedGetScale", error)
            await self._write(hpa, status, conditions)
            return
        current = int((target.get("status") or {}).get("replicas", 0))
        wanted = int((target.get("spec") or {}).get("replicas", 0))
        minimum, maximum = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        desired, reason = current, ""
        if wanted == 0 and minimum != 0:
            conditions.append(_condition("ScalingActive", False, "ScalingDisabled",
                                         "scaling is disabled since the replica count of the target is zero"))
            desired = 0
        elif current > maximum:
            desired, reason = maximum, "Current number of replicas above Spec.MaxReplicas"
        elif current < minimum:
            desired, reason = minimum, "Current number of replicas below Spec.MinReplicas"
        else:
            try:
                computed = self._compute(hpa, target, current)
            except MetricFailure as failure:
                conditions.append(_condition("AbleToScale", True, "SucceededGetScale",
                                             "the HPA controller was able to get the target's current scale"))
                conditions.append(_condition("ScalingActive", False, failure.reason,
                                             f"the HPA was unable to compute the replica count: {failure}"))
                await self.client.event(hpa, "Warning", failure.reason, str(failure))
                status.update(currentReplicas=current, desiredReplicas=wanted)
                status.pop("currentMetrics", None)
                await self._write(hpa, status, conditions)
                return
            status["currentMetrics"] = computed.current
            conditions.append(_condition("ScalingActive", True, "ValidMetricFound",
                                         f"the HPA was able to successfully calculate a replica count from "
                                         f"{computed.name}"))
            if computed.replicas > current:
                reason = f"{computed.name} above target"
            elif computed.replicas < current:
                reason = "All metrics below target"
            behavior = spec.get("behavior") or {}
            up = _rules(behavior.get("scaleUp"), algo.DEFAULT_SCALE_UP)
            down = _rules(behavior.get("scaleDown"), algo.DEFAULT_SCALE_DOWN)
            state = self._states.setdefault((ns, hpa["metadata"]["name"]), algo.ScalingState())
            out = algo.normalize(state, time.monotonic(), current, computed.replicas, minimum, maximum, up, down)
            desired = out.replicas
            conditions.insert(0, _condition("AbleToScale", True, out.able_reason, out.able_message))
            conditions.append(_condition("ScalingLimited", out.limited, out.limited_reason, out.limited_message))
        if desired != current and reason:
            await self.client.patch(resource, ns, target["metadata"]["name"], {"spec": {"replicas": desired}})
            state = self._states.setdefault((ns, hpa["metadata"]["name"]), algo.ScalingState())
            behavior = spec.get("behavior") or {}
            algo.record_scale(state, time.monotonic(), current, desired,
                              _rules(behavior.get("scaleUp"), algo.DEFAULT_SCALE_UP),
                              _rules(behavior.get("scaleDown"), algo.DEFAULT_SCALE_DOWN))
            await self.client.event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            status["lastScaleTime"] = _now()
            conditions = [c for c in conditions if c["type"] != "AbleToScale"]
            conditions.insert(0, _condition("AbleToScale", True, "SucceededRescale",
                                            f"the HPA controller was able to update the target scale to {desired}"))
        status.update(currentReplicas=current, desiredReplicas=desired)
        await self._write(hpa, status, conditions)

    def _compute(self, hpa: Obj, target: Obj, current: int) -> Computed:
        """``computeReplicasForMetrics``: the highest recommendation over the metrics."""
        ns = hpa["metadata"].get("namespace", "")
        selector = (target.get("spec") or {}).get("selector") or {}
        pods = [p for p in self.client.list("pods", ns, selector)
                if not p["metadata"].get("deletionTimestamp")
                and (p.get("status") or {}).get("phase") not in ("Failed", "Succeeded")]
        best: Computed | None = None
        current_metrics: list[Obj] = []
        failure: MetricFailure | None = None
        for metric in (hpa.get("spec") or {}).get("metrics") or []:
            try:
                replicas, name, shown = self._resource_metric(metric, pods, current)
            except MetricFailure as exc:
                failure = failure or exc
                continue
            current_metrics.append(shown)
            if best is None or replicas > best.replicas:
                best = Computed(replicas, name, current_metrics)
        if best is None or (failure is not None and best.replicas < current):
            raise failure or MetricFailure("InvalidMetricSourceType", "no supported metric")
        best.current = current_metrics
        return best

    def _resource_metric(self, metric: Obj, pods: list[Obj], current: int) -> tuple[int, str, Obj]:
        source = metric.get("resource") if metric.get("type") == "Resource" else None
        if source is None or source.get("name") not in ("cpu", "memory"):
            raise MetricFailure("InvalidMetricSourceType",
                                f"metric type {metric.get('type')} is not supported")
        resource, target = source["name"], source.get("target") or {}
        if not pods:
            raise MetricFailure("FailedGetResourceMetric",
                                f"failed to get {resource} utilization: no pods returned by selector")
        samples = []
        metrics = self.ctx.components.get(METRICS)
        for pod in pods:
            usage = metrics.pod_usage(pod["metadata"].get("namespace", ""), pod["metadata"]["name"]) \
                if metrics is not None else None
            value = None
            if usage:
                value = sum(u.cpu * 1000 if resource == "cpu" else u.memory for u in usage.values())
            request = _requests(pod, resource) if target.get("type") == "Utilization" else None
            samples.append(algo.PodSample(pod["metadata"]["name"], value,
                                          _ready(pod) if resource == "cpu" else
                                          (pod.get("status") or {}).get("phase") == "Running", request))
        try:
            if target.get("type") == "Utilization":
                rec = algo.utilization_replicas(samples, current, int(target["averageUtilization"]),
                                                resource=resource)
                name = f"{resource} resource utilization (percentage of request)"
                shown_current = {"averageUtilization": rec.utilization, "averageValue": self._value(resource,
                                                                                                   rec.average)}
            else:
                average = float(parse_quantity(target.get("averageValue", "0")))
                average = average * 1000 if resource == "cpu" else average
                rec = algo.average_value_replicas(samples, current, average)
                name = f"{resource} resource"
                shown_current = {"averageValue": self._value(resource, rec.average)}
        except algo.MetricError as exc:
            raise MetricFailure("FailedGetResourceMetric", f"failed to get {resource} utilization: {exc}") from None
        return rec.replicas, name, {"type": "Resource", "resource": {"name": resource, "current": shown_current}}

    @staticmethod
    def _value(resource: str, amount: float) -> str:
        return f"{int(math.ceil(amount))}m" if resource == "cpu" else str(int(amount))

    async def _write(self, hpa: Obj, status: Obj, conditions: list[Obj]) -> None:
        """Store the status; a condition keeps its lastTransitionTime while its status stays."""
        old = {c.get("type"): c for c in (hpa.get("status") or {}).get("conditions") or []}
        stamp = _now()
        for condition in conditions:
            previous = old.get(condition["type"])
            same = previous is not None and previous.get("status") == condition["status"]
            condition["lastTransitionTime"] = previous.get("lastTransitionTime", stamp) if same else stamp
        status["conditions"] = conditions
        status["observedGeneration"] = hpa["metadata"].get("generation", 1)
        if status == hpa.get("status"):
            return
        await self.client.update_status(HPAS, {**hpa, "status": status})


async def start(ctx: Context) -> HPAController:
    controller = HPAController(ctx)
    controller.start()
    return controller
