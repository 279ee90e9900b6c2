"""An autoscaled balanced group's label (pure): what compose writes, what the engine's
autoscaler (``autoscaler``) reads.

``io.baleine.autoscale`` on every member of a balanced group (``balancerules``) holds
one JSON object::

    {"min": 1, "max": 3, "cpu": 50, "request_millicpu": 100, "behavior": {...}}

``cpu`` is the target average CPU utilisation in percent of ``request_millicpu`` (the
CPU a member reserves, in millicores); ``behavior`` is a Kubernetes 1.32
HorizontalPodAutoscaler ``behavior`` object (same field names; absent: Kubernetes'
defaults). The compose extension ``x-baleine-autoscale: {min, max, cpu, behavior}``
has the same fields less the request, which compose takes from the service's
``deploy.resources``.

Contracts: :func:`check_extension` validates the extension as the API server
validates an HPA (raising :class:`SpecError` naming the offending field);
:func:`format_spec` / :func:`parse_spec` round-trip the label; :func:`scaling_rules`
gives the behaviour as :mod:`baleine.rules.autoscaling` rules, defaults filled in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ...rules import autoscaling as algo

LABEL_AUTOSCALE = "io.baleine.autoscale"
#: the target utilisation of an extension that names none (an HPA without metrics: 80 % CPU)
DEFAULT_CPU = 80
#: Kubernetes' bounds (``pkg/apis/autoscaling/validation``)
MAX_WINDOW = 3600
MAX_PERIOD = 1800
SELECT_POLICIES = ("Max", "Min", "Disabled")
POLICY_TYPES = ("Pods", "Percent")
EXTENSION_KEYS = ("min", "max", "cpu", "behavior")


class SpecError(ValueError):
    """An invalid autoscale spec: ``field`` is the path of the bad value inside it
    (``"behavior.scaleDown.policies[0].type"``; ``""`` for the whole)."""

    def __init__(self, message: str, field_path: str = "") -> None:
        super().__init__(message)
        self.field = field_path


@dataclass(frozen=True)
class AutoscaleSpec:
    """One group's autoscaling: replica bounds, target %, request (millicores), behaviour."""

    minimum: int
    maximum: int
    cpu: int
    request_millicpu: float
    behavior: dict[str, Any] = field(default_factory=dict)

    def rules(self) -> tuple[algo.ScalingRules, algo.ScalingRules]:
        """(scale up, scale down) rules, Kubernetes' defaults where the behaviour says nothing."""
        return (scaling_rules(self.behavior.get("scaleUp"), algo.DEFAULT_SCALE_UP),
                scaling_rules(self.behavior.get("scaleDown"), algo.DEFAULT_SCALE_DOWN))


def _integer(value: Any, where: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"must be an integer, not {value!r}", where)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"greater than or equal to {low}"
        raise SpecError(f"must be {bound}, not {value}", where)
    return value


def _check_rules(raw: Any, where: str) -> None:
    """``validateScalingRules``: window 0..3600, selectPolicy, policies Pods|Percent, value > 0,
    periodSeconds 1..1800."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise SpecError("must be a mapping", where)
    unknown = set(raw) - {"stabilizationWindowSeconds", "selectPolicy", "policies"}
    if unknown:
        raise SpecError(f"unknown field {sorted(unknown)[0]!r}", where)
    if "stabilizationWindowSeconds" in raw:
        _integer(raw["stabilizationWindowSeconds"], f"{where}.stabilizationWindowSeconds", 0, MAX_WINDOW)
    if "selectPolicy" in raw and raw["selectPolicy"] not in SELECT_POLICIES:
        raise SpecError(f"unsupported value {raw['selectPolicy']!r}: supported values: "
                        + ", ".join(f'"{p}"' for p in SELECT_POLICIES), f"{where}.selectPolicy")
    policies = raw.get("policies")
    if policies is None:
        return
    if not isinstance(policies, list) or not policies:
        raise SpecError("must specify at least one Policy", f"{where}.policies")
    for index, policy in enumerate(policies):
        at = f"{where}.policies[{index}]"
        if not isinstance(policy, dict):
            raise SpecError("must be a mapping", at)
        if policy.get("type") not in POLICY_TYPES:
            raise SpecError(f"unsupported value {policy.get('type')!r}: supported values: \"Pods\", \"Percent\"",
                            f"{at}.type")
        _integer(policy.get("value"), f"{at}.value", 1)
        _integer(policy.get("periodSeconds"), f"{at}.periodSeconds", 1, MAX_PERIOD)


def check_behavior(raw: Any, where: str = "behavior") -> dict[str, Any]:
    """A validated copy of an HPA ``behavior`` object (SpecError otherwise)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError("must be a mapping", where)
    unknown = set(raw) - {"scaleUp", "scaleDown"}
    if unknown:
        raise SpecError(f"unknown field {sorted(unknown)[0]!r}", where)
    for direction in ("scaleUp", "scaleDown"):
        _check_rules(raw.get(direction), f"{where}.{direction}")
    return json.loads(json.dumps(raw))


def check_extension(raw: Any, request_millicpu: float) -> AutoscaleSpec:
    """The spec of an ``x-baleine-autoscale`` value: ``min`` ≥ 1 (default 1), ``max`` ≥
    ``min`` (required), ``cpu`` 1..1000 (default 80), a valid ``behavior``; SpecError
    naming the field otherwise."""
    if not isinstance(raw, dict):
        raise SpecError("must be a mapping with min, max, cpu and behavior")
    unknown = set(raw) - set(EXTENSION_KEYS)
    if unknown:
        raise SpecError(f"unknown field {sorted(unknown, key=str)[0]!r} (expected min, max, cpu, behavior)")
    minimum = _integer(raw.get("min", 1), "min", 1)
    if "max" not in raw:
        raise SpecError("is required", "max")
    maximum = _integer(raw["max"], "max", 1)
    if maximum < minimum:
        raise SpecError(f"must be greater than or equal to min ({minimum}), not {maximum}", "max")
    cpu = _integer(raw.get("cpu", DEFAULT_CPU), "cpu", 1, 1000)
    if not request_millicpu > 0:
        raise SpecError("a CPU request is needed to measure utilisation", "")
    return AutoscaleSpec(minimum, maximum, cpu, float(request_millicpu), check_behavior(raw.get("behavior")))


def format_spec(spec: AutoscaleSpec) -> str:
    """The label's value (compact JSON, stable key order)."""
    return json.dumps({"min": spec.minimum, "max": spec.maximum, "cpu": spec.cpu,
                       "request_millicpu": spec.request_millicpu, "behavior": spec.behavior},
                      sort_keys=True, separators=(",", ":"))


def parse_spec(text: str) -> AutoscaleSpec | None:
    """The spec a label holds; None when empty; SpecError when it is not one."""
    if not text:
        return None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise SpecError(f"invalid {LABEL_AUTOSCALE} label: {exc}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"invalid {LABEL_AUTOSCALE} label: not an object")
    request = raw.pop("request_millicpu", None)
    if isinstance(request, bool) or not isinstance(request, (int, float)) or not math.isfinite(request):
        raise SpecError(f"invalid {LABEL_AUTOSCALE} label: request_millicpu missing", "request_millicpu")
    return check_extension(raw, float(request))


def scaling_rules(raw: dict[str, Any] | None, default: algo.ScalingRules) -> algo.ScalingRules:
    """One direction of a (validated) behaviour as rules; what it leaves out is Kubernetes'
    default for that direction (``GenerateHPAScaleUpRules``/``...ScaleDownRules``)."""
    if not raw:
        return default
    policies = tuple(algo.Policy(p["type"], int(p["value"]), int(p["periodSeconds"]))
                     for p in raw.get("policies") or []) or default.policies
    return algo.ScalingRules(int(raw.get("stabilizationWindowSeconds", default.stabilization_window)),
                             str(raw.get("selectPolicy", default.select_policy)), policies)
