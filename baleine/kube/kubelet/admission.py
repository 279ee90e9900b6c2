"""Whether a pod fits on the node: its requests against the Node's allocatable.

Contract, as the scheduler's NodeResourcesFit on a one-node cluster: a pod's
request of a resource is the larger of the sum over its containers and the
largest of its init containers (a container without ``requests`` but with
``limits`` requests its limits); the pods already bound to the node and not
finished (phase neither Succeeded nor Failed) are subtracted from allocatable;
one pod counts for ``pods``. :func:`misfit` answers the scheduler's message
(``0/1 nodes are available: 1 Insufficient cpu.``) or None when the pod fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIX = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
           "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$")
RESOURCES = ("cpu", "memory")


def quantity(text: Any) -> Decimal:
    """A Kubernetes quantity (``100m``, ``0.5``, ``128Mi``, ``1e3``) as a number (cores, bytes)."""
    match = _QUANTITY.match(str(text).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
                         f": {text!r}")
    try:
        return Decimal(match.group(1)) * Decimal(_SUFFIX[match.group(2)])
    except InvalidOperation:
        raise ValueError(f"bad quantity {text!r}") from None


def _container_requests(container: dict[str, Any]) -> dict[str, Decimal]:
    res = container.get("resources") or {}
    asked = {**(res.get("limits") or {}), **(res.get("requests") or {})}
    return {r: quantity(asked[r]) for r in RESOURCES if r in asked}


def pod_requests(pod: dict[str, Any]) -> dict[str, Decimal]:
    """What ``pod`` requests of cpu and memory (see the module's contract)."""
    spec = pod.get("spec") or {}
    total = {r: Decimal(0) for r in RESOURCES}
    for c in spec.get("containers") or []:
        for r, v in _container_requests(c).items():
            total[r] += v
    for c in spec.get("initContainers") or []:
        for r, v in _container_requests(c).items():
            total[r] = max(total[r], v)
    return total


def occupies(pod: dict[str, Any]) -> bool:
    """Whether a bound pod holds its resources (it is not finished)."""
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def misfit(pod: dict[str, Any], allocatable: dict[str, Any], bound: Iterable[dict[str, Any]]) -> str | None:
    """None if ``pod`` fits next to the ``bound`` pods, else the scheduler's message."""
    free = {r: quantity(allocatable.get(r, "0")) for r in RESOURCES}
    pods_free = int(quantity(allocatable.get("pods", "110")))
    for other in bound:
        if not occupies(other):
            continue
        pods_free -= 1
        for r, v in pod_requests(other).items():
            free[r] -= v
    wanted = pod_requests(pod)
    reasons = [f"Insufficient {r}" for r in RESOURCES if wanted[r] > 0 and wanted[r] > free[r]]
    if pods_free < 1:
        reasons.insert(0, "Too many pods")
    if not reasons:
        return None
    return "0/1 nodes are available: " + ", ".join(f"1 {r}" for r in sorted(reasons)) + "."
