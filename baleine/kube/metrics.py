"""The Metrics API, ``metrics.k8s.io/v1beta1`` (what metrics-server serves): PodMetrics and NodeMetrics.

A component (``start(ctx)``) that runs a :class:`~.metricsampler.Sampler` and serves
``/apis/metrics.k8s.io/v1beta1/[namespaces/NS/]pods[/NAME]`` and ``…/nodes[/NAME]``
(get and list; ``labelSelector`` on the pods' labels) from its samples, so that
``kubectl top pods|nodes`` and the HPA controller (:meth:`Metrics.pod_usage`) read
the same figures. CPU is shown in nanocores (``123456n``), memory (working set) in
``Ki``, as metrics-server. A pod not yet measured is absent from lists and a 404 by
name.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .kinds import by_resource
from .metricsampler import Sampler, Usage
from .selectors import SelectorError, label_selector
from .status import APIError, not_found

if TYPE_CHECKING:
    from .manager import Context
    from .server import Target

Obj = dict[str, Any]
GROUP_VERSION = "metrics.k8s.io/v1beta1"
PODS = "pods.metrics.k8s.io"
NODES = "nodes.metrics.k8s.io"


def cpu_quantity(cores: float) -> str:
    return f"{int(cores * 1e9)}n"


def memory_quantity(size: int) -> str:
    return f"{size // 1024}Ki"


def _time(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _usage(u: Usage) -> Obj:
    return {"cpu": cpu_quantity(u.cpu), "memory": memory_quantity(u.memory)}


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    out = {k: meta[k] for k in ("name", "namespace", "labels") if k in meta}
    out["creationTimestamp"] = _time(datetime.datetime.now(datetime.timezone.utc).timestamp())
    return out


class Metrics:
    """The component: the sampler and the request handlers."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sampler = Sampler(ctx, max(1.0, min(5.0, float(ctx.options.hpa_sync_period))))

    async def stop(self) -> None:
        await self.sampler.stop()

    def pod_usage(self, namespace: str, name: str) -> dict[str, Usage] | None:
        """A pod's usage by container (None when not measured yet)."""
        return self.sampler.pod(namespace, name)

    def pod_metrics(self, pod: Obj) -> Obj | None:
        meta = pod.get("metadata") or {}
        usage = self.sampler.pod(meta.get("namespace", ""), meta.get("name", ""))
        if not usage:
            return None
        first = next(iter(usage.values()))
        return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(pod),
                "timestamp": _time(first.timestamp), "window": f"{first.window:.3f}s",
                "containers": [{"name": name, "usage": _usage(u)} for name, u in sorted(usage.items())]}

    def node_metrics(self, node: Obj) -> Obj | None:
        usage = self.sampler.node()
        if usage is None:
            return None
        return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(node),
                "timestamp": _time(usage.timestamp), "window": f"{usage.window:.3f}s", "usage": _usage(usage)}

    async def handle(self, request: web.Request, target: Target, ctx: Context) -> web.StreamResponse:
        from .server import respond  # the server imports the components' modules lazily too

        if request.method != "GET" or request.query.get("watch") in ("1", "true"):
            raise APIError(405, "the server does not allow this method on the requested resource",
                           "MethodNotAllowed")
        pods = target.kind.plural == "pods"
        source = by_resource("pods" if pods else "nodes")
        present = self.pod_metrics if pods else self.node_metrics
        if target.name:
            stored = ctx.registry.storage.get(source.resource, target.namespace or "" if pods else "", target.name)
            shown = present(stored) if stored is not None else None
            if shown is None:
                raise not_found(target.kind.plural, "metrics.k8s.io", target.name)
            return respond(shown)
        try:
            match = label_selector(request.query.get("labelSelector", ""))
        except SelectorError as exc:
            raise APIError(400, str(exc)) from None
        items = [m for m in (present(o) for o in ctx.registry.storage.list(
            source.resource, (target.namespace if pods else None)) if match(o)) if m is not None]
        return respond({"kind": f"{target.kind.kind}List", "apiVersion": GROUP_VERSION,
                        "metadata": {}, "items": items})


async def start(ctx: Context) -> Metrics:
    metrics = Metrics(ctx)
    ctx.register_subresource(PODS, "", metrics.handle)
    ctx.register_subresource(NODES, "", metrics.handle)
    metrics.sampler.start()
    return metrics
