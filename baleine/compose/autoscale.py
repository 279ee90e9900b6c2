"""``x-baleine-autoscale``: a compose service scaled by the engine with Kubernetes' HPA
algorithm (see ``baleine/engine/networks/autoscaler.py``).

The extension ``{min, max, cpu, behavior}`` (``cpu``: target average CPU utilisation
in percent; ``behavior``: a Kubernetes ``behavior`` object) is checked when the file
is loaded (:func:`normalize`, a ComposeError naming the path; nothing is created).
Utilisation is measured against the CPU a replica reserves:
``deploy.resources.reservations.cpus``, else ``deploy.resources.limits.cpus``.

An autoscaled service is always a balanced group (``compose.balance``); its
replicas carry the label ``io.baleine.autoscale`` (:func:`labels`), which is all the
engine reads. ``compose up`` starts ``max(min, replicas)`` replicas, at most ``max``
(:func:`initial_scale`); from then on the engine adds and removes replicas, and a later
``up`` keeps the count the engine reached (:func:`kept_scale`), as an HPA-managed
Deployment applied without ``replicas`` keeps its own.
"""

from __future__ import annotations

from typing import Any

from ..engine.networks.autoscalerules import (LABEL_AUTOSCALE, AutoscaleSpec, SpecError, check_extension,
                                              format_spec)
from .errors import ComposeError

EXTENSION = "x-baleine-autoscale"


def request_millicpu(svc: dict[str, Any]) -> float:
    """The CPU one replica reserves, in millicores (0 when the service says none)."""
    resources = (svc.get("deploy") or {}).get("resources") or {}
    for part in ("reservations", "limits"):
        cpus = (resources.get(part) or {}).get("cpus")
        if cpus:
            return float(cpus) * 1000
    return 0.0


def normalize(svc: dict[str, Any], where: str) -> dict[str, Any]:
    """The service's validated extension (as written, behaviour copied); ComposeError
    with the offending path otherwise. ``where`` is ``services.<name>``."""
    at = f"{where}.{EXTENSION}"
    request = request_millicpu(svc)
    if not request:
        raise ComposeError(f"{EXTENSION} needs a CPU request to measure utilisation against: set "
                           f"deploy.resources.reservations.cpus (or deploy.resources.limits.cpus)",
                           path=f"{where}.deploy.resources.reservations.cpus")
    try:
        spec = check_extension(svc[EXTENSION], request)
    except SpecError as exc:
        raise ComposeError(str(exc), path=f"{at}.{exc.field}" if exc.field else at) from None
    if svc.get("container_name") and spec.maximum > 1:
        raise ComposeError(f"a service with container_name cannot be autoscaled beyond 1 replica "
                           f"({EXTENSION}.max is {spec.maximum})", path=f"{where}.container_name")
    if (svc.get("deploy") or {}).get("endpoint_mode") == "dnsrr":
        raise ComposeError(f"{EXTENSION} needs a balanced service, not endpoint_mode dnsrr",
                           path=f"{where}.deploy.endpoint_mode")
    out = {"min": spec.minimum, "max": spec.maximum, "cpu": spec.cpu}
    if spec.behavior:
        out["behavior"] = spec.behavior
    return out


def spec_of(svc: dict[str, Any]) -> AutoscaleSpec | None:
    """The (normalised) service's autoscaling, None without the extension."""
    raw = svc.get(EXTENSION)
    if not raw:
        return None
    return check_extension(raw, request_millicpu(svc))


def initial_scale(svc: dict[str, Any], replicas: int) -> int:
    """How many replicas ``up`` starts: ``replicas`` brought within [min, max]."""
    spec = spec_of(svc)
    if spec is None:
        return replicas
    return min(max(spec.minimum, replicas), spec.maximum)


def kept_scale(svc: dict[str, Any], current: int, planned: int) -> int:
    """How many replicas ``up`` keeps for a service that has ``current`` already:
    an autoscaled one keeps the engine's count (brought within [min, max], which the
    file may have changed); any other service, and a first ``up``, gets ``planned``."""
    spec = spec_of(svc)
    if spec is None or current < 1:
        return planned
    return min(max(spec.minimum, current), spec.maximum)


def labels(svc: dict[str, Any]) -> dict[str, str]:
    """``{io.baleine.autoscale: <spec>}`` for an autoscaled service's replicas, else ``{}``."""
    spec = spec_of(svc)
    return {LABEL_AUTOSCALE: format_spec(spec)} if spec is not None else {}
