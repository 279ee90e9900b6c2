"""The in-process client the cluster's own components (controllers, the node agent,
the proxy, the DNS) use to read and write objects: the registry's REST semantics
without HTTP, addressed by storage key (``pods``, ``deployments.apps``, ...).

Contracts:

- reads (``get``, ``list``) come from the storage's in-memory copy and return deep
  copies, presented as the API presents them (``apiVersion``/``kind`` set);
- writes go through :class:`Registry` (defaults, validation, resourceVersions,
  watch events) exactly as a request would; ``update``/``update_status`` raise
  :class:`APIError` 409 when the object changed since it was read (the caller
  re-reads and retries: controllers are level-triggered);
- ``delete`` of something already gone is not an error;
- ``event`` records a core/v1 Event (what ``kubectl describe`` shows), folding
  repeats of the same reason and message into a ``count`` as kube's recorder does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from .kinds import Kind, by_resource
from .registry import Registry, now
from .selectors import Matcher
from .status import APIError

Obj = dict[str, Any]


def _everything(_: Obj) -> bool:
    return True


def labels_match(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """A ``LabelSelector`` (matchLabels and matchExpressions) against ``labels``;
    an empty or missing selector matches everything (as for ReplicaSets)."""
    labels = labels or {}
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Client:
    """Object access for in-process components (see the module's contracts)."""

    def __init__(self, registry: Registry, component: str = "baleine") -> None:
        self.registry = registry
        self.component = component

    def kind(self, resource: str) -> Kind:
        return by_resource(resource)

    # --- reads ----------------------------------------------------------------
    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        kind = by_resource(resource)
        obj = self.registry.storage.get(resource, namespace if kind.namespaced else "", name)
        return None if obj is None else self.registry.present(kind, obj)

    def list(self, resource: str, namespace: str | None = None, selector: dict[str, Any] | None = None,
             match: Matcher | None = None) -> list[Obj]:
        """Objects of ``resource`` (in ``namespace``, or all), those matching the
        LabelSelector ``selector`` and the predicate ``match`` when given."""
        kind = by_resource(resource)
        objs, _, _ = self.registry.list(kind, namespace, match or _everything)
        if selector is not None:
            objs = [o for o in objs if labels_match(selector, o["metadata"].get("labels"))]
        return objs

    def watch(self, resource: str, namespace: str | None = None) -> AsyncIterator[tuple[str, Obj]]:
        """ADDED for every existing object, then each change (see ``Registry.watch``);
        close it with ``aclose``."""
        return self.registry.watch(by_resource(resource), namespace, _everything, None)

    # --- writes ---------------------------------------------------------------
    async def create(self, resource: str, namespace: str, obj: Obj) -> Obj:
        created, _ = await self.registry.create(by_resource(resource), namespace, obj, "Ignore")
        return created

    async def update(self, resource: str, obj: Obj) -> Obj:
        """PUT ``obj`` (its ``resourceVersion`` is checked: 409 if stale)."""
        meta = obj["metadata"]
        updated, _ = await self.registry.update(by_resource(resource), meta.get("namespace", ""), meta["name"], obj,
                                                "Ignore")
        return updated

    async def update_status(self, resource: str, obj: Obj) -> Obj:
        """PUT ``obj``'s status (its ``resourceVersion`` is checked: 409 if stale)."""
        meta = obj["metadata"]
        updated, _ = await self.registry.update(by_resource(resource), meta.get("namespace", ""), meta["name"], obj,
                                                "Ignore", "status")
        return updated

    async def patch(self, resource: str, namespace: str, name: str, patch: Obj, subresource: str = "") -> Obj:
        """A JSON merge patch (RFC 7386) of the object or of its ``status``."""
        obj, _, _ = await self.registry.patch(by_resource(resource), namespace, name, json.dumps(patch).encode(),
                                              "application/merge-patch+json", "Ignore", subresource)
        return obj

    async def delete(self, resource: str, namespace: str, name: str, propagation: str = "Background") -> bool:
        """Delete; False when it was already gone."""
        try:
            await self.registry.delete(by_resource(resource), namespace, name, propagation)
        except APIError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    async def event(self, involved: Obj, type_: str, reason: str, message: str) -> None:
        """Record an Event about ``involved`` (``type_``: Normal or Warning); a repeat
        of the last one with the same reason and message bumps its count."""
        meta = involved["metadata"]
        ns = meta.get("namespace") or "default"
        ref = {"kind": involved.get("kind", ""), "namespace": meta.get("namespace", ""), "name": meta["name"],
               "uid": meta.get("uid", ""), "apiVersion": involved.get("apiVersion", ""),
               "resourceVersion": meta.get("resourceVersion", "")}
        stamp = now()
        for ev in self.registry.storage.list("events", ns):
            io = ev.get("involvedObject") or {}
            if io.get("uid") == ref["uid"] and ev.get("reason") == reason and ev.get("message") == message:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = stamp
                try:
                    await self.registry.storage.put("events", ev, "MODIFIED")
                except APIError:
                    pass
                return
        body = {"metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": ns},
                "involvedObject": ref, "reason": reason, "message": message, "type": type_,
                "source": {"component": self.component, "host": ""}, "firstTimestamp": stamp,
                "lastTimestamp": stamp, "count": 1, "reportingComponent": self.component,
                "reportingInstance": "", "eventTime": None}
        try:
            await self.create("events", ns, body)
        except APIError:
            pass  # events are best effort, as in Kubernetes (a terminating namespace refuses them)


def owner_reference(owner: Obj, controller: bool = True) -> Obj:
    """The ``ownerReferences`` entry naming ``owner`` (as the controllers set it)."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


def controller_of(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true``, if any."""
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
