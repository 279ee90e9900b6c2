"""The horizontal autoscaling algorithm of Kubernetes 1.32, pure.

Ported from ``pkg/controller/podautoscaler/replica_calculator.go`` (how many replicas
a metric asks for) and ``horizontal.go`` (how that recommendation is stabilised and
rate-limited by ``behavior``). Shared by the Kubernetes HPA controller and a compose
autoscaler, so nothing here knows Kubernetes object shapes: plain numbers, per-pod
samples with a ready flag, timestamps in seconds (any monotonic clock).

Contracts:

- :func:`utilization_replicas` / :func:`average_value_replicas` /
  :func:`value_replicas` return the replica count a metric recommends, with the
  measured figure; pods set aside as Kubernetes does (unready pods are ignored and
  counted as 0 % only when the metric asks to scale up; pods without a metric count
  as 0 when scaling up and as the target (≥ 100 % of request) when scaling down; a
  change that flips direction or stays within ``tolerance`` keeps the current count).
- :func:`normalize` applies the stabilisation windows and the scaling policies to a
  recommendation, using and updating a :class:`ScalingState`, and returns the
  replica count with the AbleToScale / ScalingLimited reasons and messages of
  Kubernetes. :func:`record_scale` records an actual rescale for the policies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_SCALE_DOWN", "DEFAULT_SCALE_UP", "DEFAULT_TOLERANCE", "MetricError", "Normalized",
    "PodSample", "Policy", "Recommendation", "ScalingRules", "ScalingState", "average_value_replicas",
    "normalize", "record_scale", "scale_down_limit", "scale_up_limit", "utilization_replicas",
    "value_replicas",
]

#: ``--horizontal-pod-autoscaler-tolerance``'s default.
DEFAULT_TOLERANCE = 0.1


class MetricError(Exception):
    """A metric that cannot give a recommendation; the message is Kubernetes'."""


@dataclass(frozen=True)
class PodSample:
    """One pod of the target: its metric (None when missing), whether it counts as
    ready, and its request for the metric's resource (None when it has none)."""

    name: str
    usage: float | None
    ready: bool = True
    request: float | None = None


@dataclass(frozen=True)
class Recommendation:
    """Replicas a metric asks for; ``utilization`` is the percentage of request (None
    for value targets) and ``average`` the mean usage over the pods measured."""

    replicas: int
    utilization: int | None
    average: float


@dataclass(frozen=True)
class Policy:
    """A scaling policy: ``kind`` ``Pods`` or ``Percent``, ``value``, ``period`` seconds."""

    kind: str
    value: int
    period: int


@dataclass(frozen=True)
class ScalingRules:
    """One direction of ``behavior``: window seconds, ``Max``/``Min``/``Disabled``, policies."""

    stabilization_window: int
    select_policy: str = "Max"
    policies: tuple[Policy, ...] = ()


#: Kubernetes' defaults (``pkg/apis/autoscaling/v2/defaults.go``).
DEFAULT_SCALE_UP = ScalingRules(0, "Max", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
DEFAULT_SCALE_DOWN = ScalingRules(300, "Max", (Policy("Percent", 100, 15),))


@dataclass
class ScalingState:
    """What one autoscaler remembers between syncs: its recommendations and its rescales
    as ``(timestamp, value)`` pairs (the controller's ``recommendations`` and
    ``scaleUpEvents``/``scaleDownEvents`` maps, for one key)."""

    recommendations: list[tuple[float, int]] | None = None
    scale_ups: list[tuple[float, int]] = field(default_factory=list)
    scale_downs: list[tuple[float, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Normalized:
    """The final replica count and the conditions it sets."""

    replicas: int
    able_reason: str
    able_message: str
    limited: bool
    limited_reason: str
    limited_message: str


# --- replica calculator ------------------------------------------------------


def _group(samples: list[PodSample]) -> tuple[dict[str, PodSample], list[PodSample], list[PodSample]]:
    """Ready pods with a metric (by name), unready pods, pods missing a metric."""
    ready: dict[str, PodSample] = {}
    unready: list[PodSample] = []
    missing: list[PodSample] = []
    for sample in samples:
        if not sample.ready:  # before missing: a pending pod has no metric yet, and is unready
            unready.append(sample)
        elif sample.usage is None:
            missing.append(sample)
        else:
            ready[sample.name] = sample
    return ready, unready, missing


def _flipped_or_tolerated(old: float, new: float, tolerance: float) -> bool:
    """True when re-adding pods made the change negligible or reversed its direction."""
    return abs(1.0 - new) <= tolerance or (old < 1.0 < new) or (old > 1.0 > new)


def _calculate(samples: list[PodSample], current: int, tolerance: float, ratio_of, fill_missing):
    """replica_calculator's shared skeleton: ``ratio_of(values)`` gives (ratio, figure)
    over ``{name: (usage, request)}``; ``fill_missing(ratio, sample)`` the usage given
    to a pod with no metric."""
    if not samples:
        raise MetricError("no pods returned by selector while calculating replica count")
    ready, unready, missing = _group(samples)
    if not ready:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    values = {name: (s.usage or 0.0, s.request or 0.0) for name, s in ready.items()}
    ratio, figure = ratio_of(values)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return current, figure
        return math.ceil(ratio * len(values)), figure
    if missing:
        for sample in missing:
            values[sample.name] = (fill_missing(ratio, sample), sample.request or 0.0)
    if scale_up_with_unready:
        for sample in unready:
            values[sample.name] = (0.0, sample.request or 0.0)
    new_ratio, _ = ratio_of(values)
    if _flipped_or_tolerated(ratio, new_ratio, tolerance):
        return current, figure
    replicas = math.ceil(new_ratio * len(values))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current, figure
    return replicas, figure


def utilization_replicas(samples: list[PodSample], current: int, target_percent: int,
                         tolerance: float = DEFAULT_TOLERANCE, resource: str = "cpu") -> Recommendation:
    """``GetResourceReplicas``: a Utilization target, in percent of the pods' requests.

    Raises MetricError ("missing request for cpu in pod NAME") when a pod has no
    request, or when no ready pod has a metric.
    """
    for sample in samples:
        if not sample.request:
            raise MetricError(f"missing request for {resource} in pod {sample.name}")
    totals: dict[str, float] = {}

    def _utilization(values: dict[str, tuple[float, float]]) -> tuple[float, int]:
        usage = sum(u for u, _ in values.values())
        requests = sum(r for _, r in values.values())
        if requests <= 0:
            raise MetricError("no metrics returned matched known pods")
        utilization = int(usage * 100 / requests)  # Go's int64 division, as Kubernetes
        totals.setdefault("average", usage / len(values))
        return utilization / target_percent, utilization

    def fill(ratio: float, sample: PodSample) -> float:
        # scale down: a missing pod is assumed at max(100 %, target) of its request
        return (sample.request or 0.0) * max(100, target_percent) / 100 if ratio < 1.0 else 0.0

    replicas, utilization = _calculate(samples, current, tolerance, _utilization, fill)
    return Recommendation(replicas, int(utilization), totals["average"])


def average_value_replicas(samples: list[PodSample], current: int, target_average: float,
                           tolerance: float = DEFAULT_TOLERANCE) -> Recommendation:
    """``GetRawResourceReplicas`` / ``GetMetricReplicas``: an AverageValue target."""
    if target_average <= 0:
        raise MetricError("averageValue target must be positive")

    def _average(values: dict[str, tuple[float, float]]) -> tuple[float, float]:
        average = sum(u for u, _ in values.values()) / len(values)
        return average / target_average, average

    def fill(ratio: float, sample: PodSample) -> float:
        return target_average if ratio < 1.0 else 0.0

    replicas, average = _calculate(samples, current, tolerance, _average, fill)
    return Recommendation(replicas, None, float(average))


def value_replicas(usage: float, target: float, current: int, ready_pods: int,
                   tolerance: float = DEFAULT_TOLERANCE) -> Recommendation:
    """``getUsageRatioReplicaCount``: a Value target over the whole target (Object and
    External metrics); with 0 current replicas the ratio alone decides."""
    ratio = usage / target
    if current == 0:
        return Recommendation(math.ceil(ratio), None, usage)
    if abs(1.0 - ratio) <= tolerance:
        return Recommendation(current, None, usage)
    return Recommendation(math.ceil(ratio * ready_pods), None, usage)


# --- behaviour ---------------------------------------------------------------


def _change_in_period(period: int, events: list[tuple[float, int]], now: float) -> int:
    cutoff = now - period
    return sum(change for when, change in events if when > cutoff)


def scale_up_limit(current: int, state: ScalingState, rules: ScalingRules, now: float) -> int:
    """``calculateScaleUpLimitWithScalingRules``: the most replicas the policies allow."""
    if rules.select_policy == "Disabled":
        return current
    pick, result = (min, 2**31 - 1) if rules.select_policy == "Min" else (max, -(2**31))
    for policy in rules.policies:
        start = (current - _change_in_period(policy.period, state.scale_ups, now)
                 + _change_in_period(policy.period, state.scale_downs, now))
        if policy.kind == "Pods":
            proposed = start + policy.value
        else:  # rounded up, or a small target could never grow
            proposed = math.ceil(start * (1 + policy.value / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit(current: int, state: ScalingState, rules: ScalingRules, now: float) -> int:
    """``calculateScaleDownLimitWithBehaviors``: the fewest replicas the policies allow."""
    if rules.select_policy == "Disabled":
        return current
    pick, result = (max, -(2**31)) if rules.select_policy == "Min" else (min, 2**31 - 1)
    for policy in rules.policies:
        start = (current - _change_in_period(policy.period, state.scale_ups, now)
                 + _change_in_period(policy.period, state.scale_downs, now))
        if policy.kind == "Pods":
            proposed = start - policy.value
        else:
            proposed = int(start * (1 - policy.value / 100))
        result = pick(result, proposed)
    return result


def _stabilize(state: ScalingState, now: float, current: int, desired: int,
               up: ScalingRules, down: ScalingRules) -> tuple[int, str, str]:
    """``stabilizeRecommendationWithBehaviors``; records ``desired``."""
    recommendations = state.recommendations if state.recommendations is not None else []
    up_cutoff, down_cutoff = now - up.stabilization_window, now - down.stabilization_window
    up_rec = down_rec = desired
    old_index = -1
    for index, (when, value) in enumerate(recommendations):
        if when > up_cutoff:
            up_rec = min(value, up_rec)
        if when > down_cutoff:
            down_rec = max(value, down_rec)
        if when < up_cutoff and when < down_cutoff:
            old_index = index
    recommendation = max(current, up_rec)
    recommendation = min(recommendation, down_rec)
    if old_index >= 0:
        recommendations[old_index] = (now, desired)
    else:
        recommendations.append((now, desired))
    state.recommendations = recommendations
    if desired >= current:
        return (recommendation, "ScaleUpStabilized",
                "recent recommendations were lower than current one, applying the lowest recent recommendation")
    return (recommendation, "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation")


def _rate_limit(state: ScalingState, now: float, current: int, desired: int, minimum: int, maximum: int,
                up: ScalingRules, down: ScalingRules) -> tuple[int, str, str]:
    """``convertDesiredReplicasWithBehaviorRate``."""
    if desired > current:
        limit = max(scale_up_limit(current, state, up, now), current)
        if maximum > limit:
            allowed, reason, message = (limit, "ScaleUpLimit",
                                        "the desired replica count is increasing faster than the maximum scale rate")
        else:
            allowed, reason, message = (maximum, "TooManyReplicas",
                                        "the desired replica count is more than the maximum replica count")
        if desired > allowed:
            return allowed, reason, message
    elif desired < current:
        limit = min(scale_down_limit(current, state, down, now), current)
        if minimum < limit:
            allowed, reason, message = (limit, "ScaleDownLimit",
                                        "the desired replica count is decreasing faster than the maximum scale rate")
        else:
            allowed, reason, message = (minimum, "TooFewReplicas",
                                        "the desired replica count is less than the minimum replica count")
        if desired < allowed:
            return allowed, reason, message
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


def normalize(state: ScalingState, now: float, current: int, desired: int, minimum: int, maximum: int,
              up: ScalingRules = DEFAULT_SCALE_UP, down: ScalingRules = DEFAULT_SCALE_DOWN) -> Normalized:
    """``normalizeDesiredReplicasWithBehaviors``: stabilise, then rate-limit and clamp.

    The first call for a state with a scale-down window seeds it with ``current`` (so
    a restarted controller does not scale down at once, as Kubernetes)."""
    if state.recommendations is None:
        state.recommendations = [(now, current)] if down.stabilization_window > 0 else []
    stabilized, reason, message = _stabilize(state, now, current, desired, up, down)
    if stabilized == desired:
        reason, message = "ReadyForNewScale", "recommended size matches current size"
    final, limit_reason, limit_message = _rate_limit(state, now, current, stabilized, minimum, maximum, up, down)
    return Normalized(final, reason, message, final != stabilized, limit_reason, limit_message)


def record_scale(state: ScalingState, now: float, old: int, new: int,
                 up: ScalingRules = DEFAULT_SCALE_UP, down: ScalingRules = DEFAULT_SCALE_DOWN) -> None:
    """``storeScaleEvent``: remember a rescale for the policies; forget events older
    than the longest policy period of their direction."""
    if new == old:
        return
    events, rules = (state.scale_ups, up) if new > old else (state.scale_downs, down)
    longest = max((p.period for p in rules.policies), default=0)
    events[:] = [(when, change) for when, change in events if when > now - longest]
    events.append((now, abs(new - old)))
