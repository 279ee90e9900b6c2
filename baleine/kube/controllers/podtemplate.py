"""What the workload controllers share about pods and pod templates (pure functions, no I/O).

Contracts (as ``pkg/controller`` and ``pkg/controller/deployment/util`` in Kubernetes 1.32):

- :func:`template_hash`: the ``pod-template-hash`` of a template and a
  ``collisionCount``: FNV-32a over the template then the count (4 bytes, little
  endian), the decimal of the sum rendered with ``rand.SafeEncodeString``. Go
  feeds the hasher a ``spew`` dump of the struct, which Python cannot reproduce;
  the template's canonical JSON (sorted keys, defaults applied by the registry)
  stands in for it: equal templates give equal hashes, a change gives another;
- :func:`scaled_value`: ``intstr.GetScaledValueFromIntOrPercent`` (percentages
  round up or down as asked); :func:`fenceposts`: maxSurge rounds up,
  maxUnavailable down, both 0 makes maxUnavailable 1;
- :func:`pod_from_template`: the pod a controller creates (labels, annotations,
  finalizers and spec copied; ``generateName``; the controller's ownerReference);
- pod state: :func:`is_active`, :func:`is_ready`, :func:`is_available`
  (Ready for ``minReadySeconds``), :func:`deletion_order` (``controller.ActivePods``:
  the pods to delete first come first).
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import struct
from typing import Any

from ..printers import parse_time  # noqa: F401 - one parser of Kubernetes timestamps (re-exported)

Obj = dict[str, Any]

HASH_LABEL = "pod-template-hash"
SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes, h: int = 0x811C9DC5) -> int:
    """FNV-1a, 32 bits (Go's ``hash/fnv.New32a``), continuing from ``h``."""
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: each byte mapped onto consonants and digits that spell no words."""
    return "".join(SAFE_ALPHANUMS[b % len(SAFE_ALPHANUMS)] for b in text.encode())


def template_hash(template: Obj, collision_count: int | None = None) -> str:
    """``controller.ComputeHash`` (see the module's contracts)."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    h = fnv32a(canonical)
    if collision_count is not None:
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF), h)
    return safe_encode(str(h))


def without_hash(template: Obj) -> Obj:
    """A copy of ``template`` without the ``pod-template-hash`` label (``EqualIgnoreHash``)."""
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    meta = t.get("metadata")
    if isinstance(meta, dict):
        meta.pop("creationTimestamp", None)
        if not meta.get("labels"):
            meta.pop("labels", None)
    return t


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    return without_hash(a) == without_hash(b)


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """An IntOrString: an int as is, ``"N%"`` of ``total`` rounded up or down; raises ValueError otherwise."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        try:
            return int(text)
        except ValueError:
            raise ValueError("invalid value for IntOrString: invalid type: string is not a percentage") from None
    percent = int(text[:-1])
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, desired: int) -> tuple[int, int]:
    """``deploymentutil.ResolveFenceposts``: (surge, unavailable)."""
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # a rollout could not make progress otherwise
    return surge, unavailable


# --- pods -------------------------------------------------------------------------

def pod_from_template(template: Obj, owner_ref: Obj, generate_name: str) -> Obj:
    """``controller.GetPodFromTemplate``: labels, annotations, finalizers and spec from ``template``."""
    meta = template.get("metadata") or {}
    pod_meta: Obj = {"generateName": generate_name, "ownerReferences": [owner_ref]}
    for key in ("labels", "annotations", "finalizers"):
        if meta.get(key):
            pod_meta[key] = copy.deepcopy(meta[key])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": copy.deepcopy(template.get("spec") or {})}


def format_time(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or "Pending"


def is_active(pod: Obj) -> bool:
    """``controller.IsPodActive``: not Succeeded, not Failed, not being deleted."""
    return phase(pod) not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def ready_condition(pod: Obj) -> Obj | None:
    return next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)


def is_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return bool(cond) and cond.get("status") == "True"


def available_in(pod: Obj, min_ready_seconds: int, now: datetime.datetime) -> float | None:
    """Seconds until ``pod`` counts as available: 0 if it is, None if it is not Ready at all."""
    if not is_ready(pod):
        return None
    if min_ready_seconds <= 0:
        return 0.0
    since = parse_time((ready_condition(pod) or {}).get("lastTransitionTime"))
    if since is None:
        return 0.0
    left = (since + datetime.timedelta(seconds=min_ready_seconds) - now).total_seconds()
    return max(left, 0.0)


def is_available(pod: Obj, min_ready_seconds: int, now: datetime.datetime) -> bool:
    """``podutil.IsPodAvailable``: Ready for at least ``min_ready_seconds``."""
    return available_in(pod, min_ready_seconds, now) == 0.0


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _restarts(pod: Obj) -> int:
    return max((int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or []),
               default=0)


def _deletion_key(pod: Obj) -> tuple[Any, ...]:
    ready = is_ready(pod)
    ready_since = (ready_condition(pod) or {}).get("lastTransitionTime") or "" if ready else ""
    created = pod["metadata"].get("creationTimestamp") or ""
    return (
        1 if (pod.get("spec") or {}).get("nodeName") else 0,      # unscheduled first
        _PHASE_RANK.get(phase(pod), 3),                           # pending < unknown < running
        1 if ready else 0,                                        # not ready first
        _neg(ready_since),                                        # ready for less time first
        -_restarts(pod),                                          # more restarts first
        _neg(created),                                            # newer first
    )


def _neg(timestamp: str) -> tuple[int, ...]:
    """A key that sorts RFC 3339 timestamps newest first (an empty one last)."""
    return tuple(-ord(c) for c in timestamp) if timestamp else (1,)


def deletion_order(pods: list[Obj]) -> list[Obj]:
    """``controller.ActivePods`` sorted: the pods a scale-down removes first come first."""
    return sorted(pods, key=_deletion_key)


def selector_string(selector: Obj | None) -> str:
    """``metav1.FormatLabelSelector`` without the ``<none>``: ``a=b,c in (x,y),!d``."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), sorted(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
