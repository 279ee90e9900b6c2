"""What the dashboard plots for each HorizontalPodAutoscaler: its metrics against their
targets and its replica counts over the last :data:`WINDOW` seconds.

The cluster keeps no such history (an HPA's status holds only the latest values), so the
dashboard samples it: :class:`HPAHistory` watches ``horizontalpodautoscalers.autoscaling``
in every namespace from the moment the Kubernetes API attaches, and each status (or
spec) change that moves a plotted value adds a sample. Contract:

- ``sample(hpa, t)`` (pure): ``{"t": seconds since the epoch, "current": status.currentReplicas,
  "desired": status.desiredReplicas, "min", "max", "metrics": [{"key", "label", "unit",
  "target", "current"}]}`` with one metric per ``spec.metrics[]`` entry (none: the
  controller's default, CPU at 80 % utilization), in the autoscaling/v2 shapes
  (Resource, ContainerResource, Pods, Object, External: the registry stores every HPA
  as v2, whichever version it was written in). ``unit`` is ``%`` for a
  utilization, ``cores`` for a CPU quantity, ``bytes`` for a memory one, ``""`` otherwise;
  quantities become plain numbers; a value not (yet) reported is ``None``. A current
  metric is matched to its spec entry by type and name, not by position.
- A series is ``{"metadata": {"namespace", "name", "uid"}, "samples": [...]}``, oldest
  first; a sample equal to the last one but for ``t`` is not added; samples older than
  :data:`WINDOW` go, but for the newest of them (the line must start at the window's
  left edge), and at most :data:`MAX_SAMPLES` stay. A recreated HPA (new uid) starts
  a new series; a deleted one's series goes.
- ``subscribe()`` gives a queue of ``{"type": "ADDED"|"SAMPLE"|"DELETED", "object":
  series}`` (``SAMPLE``: ``samples`` holds only the new sample) for every change after
  it, and ``{"type": "END"}`` when ``run()`` ends; ``unsubscribe`` ends that. ``run()``
  follows the registry's watch until the API server ends it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..kube.client import Client

Obj = dict[str, Any]
KEY = "horizontalpodautoscalers.autoscaling"
WINDOW = 900.0  # seconds: the issue asks for at least the last 10 minutes
MAX_SAMPLES = 2000  # per HPA: a status written every 15 s needs 60 in the window
#: The HPA controller's target when ``spec.metrics`` is empty (kube's defaults for v2).
DEFAULT_METRIC: Obj = {"type": "Resource", "resource": {"name": "cpu",
                                                        "target": {"type": "Utilization", "averageUtilization": 80}}}


def _number(value: Any) -> float | None:
    """A Kubernetes quantity or plain number as a float; None when absent or unreadable."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    from ..kube.kubelet.admission import quantity  # the cluster's one quantity parser

    try:
        return float(quantity(value))
    except (ValueError, ArithmeticError):
        return None


def _identity(metric: Obj) -> tuple[str, str, Obj]:
    """(key, label, the part holding target/current) of a spec or status metric entry."""
    type_ = metric.get("type", "")
    if type_ == "Resource":
        part = metric.get("resource") or {}
        return f"resource/{part.get('name', '')}", str(part.get("name", "")), part
    if type_ == "ContainerResource":
        part = metric.get("containerResource") or {}
        name, container = part.get("name", ""), part.get("container", "")
        return f"containerresource/{container}/{name}", f"{name} of {container}", part
    if type_ == "Pods":
        part = metric.get("pods") or {}
        name = (part.get("metric") or {}).get("name", "")
        return f"pods/{name}", f"{name} per pod", part
    if type_ == "Object":
        part = metric.get("object") or {}
        name, obj = (part.get("metric") or {}).get("name", ""), part.get("describedObject") or {}
        return (f"object/{obj.get('kind', '')}/{obj.get('name', '')}/{name}",
                f"{name} of {obj.get('kind', '').lower()}/{obj.get('name', '')}", part)
    if type_ == "External":
        part = metric.get("external") or {}
        name = (part.get("metric") or {}).get("name", "")
        return f"external/{name}", name, part
    return f"unknown/{type_}", type_ or "?", {}


def _unit(key: str, utilization: bool) -> str:
    if utilization:
        return "%"
    if key.endswith("/cpu"):
        return "cores"
    if key.endswith("/memory"):
        return "bytes"
    return ""


def metrics(hpa: Obj) -> list[Obj]:
    """One ``{"key", "label", "unit", "target", "current"}`` per spec metric (see the contract)."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    current: dict[str, Obj] = {}
    for m in status.get("currentMetrics") or []:
        key, _, part = _identity(m)
        current[key] = part.get("current") or {}
    out = []
    for m in spec.get("metrics") or [DEFAULT_METRIC]:
        key, label, part = _identity(m)
        target = part.get("target") or {}
        kind = target.get("type", "")
        now = current.get(key, {})
        if kind == "Utilization":
            value, reported = target.get("averageUtilization"), now.get("averageUtilization")
        elif kind == "AverageValue":
            value, reported = target.get("averageValue"), now.get("averageValue")
        else:  # Value
            value, reported = target.get("value"), now.get("value")
        out.append({"key": key, "label": label, "unit": _unit(key, kind == "Utilization"),
                    "target": _number(value), "current": _number(reported)})
    return out


def sample(hpa: Obj, t: float) -> Obj:
    """The plotted values of ``hpa`` at time ``t`` (see the contract)."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    return {"t": round(t, 3), "current": status.get("currentReplicas"), "desired": status.get("desiredReplicas"),
            "min": spec.get("minReplicas", 1), "max": spec.get("maxReplicas"), "metrics": metrics(hpa)}


def _same(a: Obj, b: Obj) -> bool:
    return {k: v for k, v in a.items() if k != "t"} == {k: v for k, v in b.items() if k != "t"}


def _trim(samples: list[Obj], now: float) -> None:
    """Drop what is older than the window, keeping the newest of those (the left edge)."""
    old = 0
    while old + 1 < len(samples) and samples[old + 1]["t"] <= now - WINDOW:
        old += 1
    del samples[:max(old, len(samples) - MAX_SAMPLES)]


class HPAHistory:
    """Every HPA's series, fed by ``observe`` (``run`` feeds it from the registry's watch)."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str], Obj] = {}
        self._queues: set[asyncio.Queue[Obj]] = set()

    def observe(self, type_: str, hpa: Obj, now: float) -> Obj | None:
        """Account one watch event; returns the change sent to subscribers (None: nothing new)."""
        meta = hpa.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if type_ == "DELETED":
            gone = self.series.pop(key, None)
            return self._send({"type": "DELETED", "object": {**gone, "samples": []}}) if gone else None
        if type_ not in ("ADDED", "MODIFIED"):
            return None
        new = sample(hpa, now)
        series = self.series.get(key)
        if series is None or series["metadata"]["uid"] != meta.get("uid"):
            series = {"metadata": {"namespace": key[0], "name": key[1], "uid": meta.get("uid", "")}, "samples": [new]}
            self.series[key] = series
            return self._send({"type": "ADDED", "object": {"metadata": dict(series["metadata"]), "samples": [new]}})
        samples = series["samples"]
        if samples and _same(samples[-1], new):
            return None
        samples.append(new)
        _trim(samples, now)
        return self._send({"type": "SAMPLE", "object": {"metadata": series["metadata"], "samples": [new]}})

    def snapshot(self, namespace: str | None = None) -> list[Obj]:
        """Every series (of ``namespace``), trimmed to the window as of now."""
        now = time.time()
        out = []
        for (ns, _), series in sorted(self.series.items()):
            if namespace is None or ns == namespace:
                _trim(series["samples"], now)
                out.append({"metadata": dict(series["metadata"]), "samples": list(series["samples"])})
        return out

    def get(self, namespace: str, name: str) -> Obj | None:
        return next(iter(s for s in self.snapshot(namespace) if s["metadata"]["name"] == name), None)

    def subscribe(self) -> asyncio.Queue[Obj]:
        # Unbounded, as the registry's own watch queues: ``observe`` never waits on a client.
        q: asyncio.Queue[Obj] = asyncio.Queue()
        self._queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[Obj]) -> None:
        self._queues.discard(q)

    def _send(self, change: Obj) -> Obj:
        for q in self._queues:
            q.put_nowait(change)
        return change

    async def run(self, client: Client) -> None:
        """Sample every HPA's changes until the API server ends the watch."""
        events: AsyncIterator[tuple[str, Obj]] = client.watch(KEY)
        try:
            async for type_, obj in events:
                self.observe(type_, obj, time.time())
        finally:
            await events.aclose()  # type: ignore[attr-defined]
            self._send({"type": "END"})
