"""The cluster DNS's view of the cluster: objects kept current by watches.

CoreDNS answers from informers (client-go's watch caches), not by listing on
every question; so does this server. :class:`WatchCache` lists the namespaces,
Services, Pods and EndpointSlices once, then follows their watches (from the
in-process client), and answers :class:`.names.Cluster`'s reads from dicts indexed
as the questions need them: a Service by (namespace, name), a namespace's pods,
a Service's EndpointSlices (by their ``kubernetes.io/service-name`` label). A
question therefore costs what its answer costs, whatever the number of objects,
and never holds the loop over a listing.

Freshness: a change is applied when its watch event is delivered, on the loop
step after the write that made it; a question that arrives after a write's
response (a client's next step) sees it. The listing and the subscriptions are
made in one loop step, so no change falls between them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from ..client import Client
from .names import SERVICE_NAME_LABEL

Obj = dict[str, Any]
Key = tuple[str, str]

NAMESPACES, SERVICES, PODS, SLICES = "namespaces", "services", "pods", "endpointslices.discovery.k8s.io"
RESOURCES = (NAMESPACES, SERVICES, PODS, SLICES)


def _key(obj: Obj) -> Key:
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


class WatchCache:
    """:class:`.names.Cluster` over objects the watches keep current (see the module)."""

    def __init__(self) -> None:
        self.namespaces: set[str] = set()
        self._services: dict[Key, Obj] = {}
        self._pods: dict[str, dict[str, Obj]] = {}
        self._slices: dict[Key, dict[str, Obj]] = {}     # (namespace, service) -> slices by name
        self._slice_service: dict[Key, str] = {}         # (namespace, slice) -> its service
        self._tasks: list[asyncio.Task[None]] = []

    # --- keeping current ------------------------------------------------------------------

    def apply(self, resource: str, event: str, obj: Obj) -> None:
        """One watch event (ADDED, MODIFIED, DELETED) of ``resource``; others are ignored."""
        gone = event == "DELETED"
        ns, name = _key(obj)
        if resource == NAMESPACES:
            (self.namespaces.discard if gone else self.namespaces.add)(name)
        elif resource == SERVICES:
            if gone:
                self._services.pop((ns, name), None)
            else:
                self._services[(ns, name)] = obj
        elif resource == PODS:
            pods = self._pods.setdefault(ns, {})
            if gone:
                pods.pop(name, None)
            else:
                pods[name] = obj
        elif resource == SLICES:
            self._apply_slice(ns, name, None if gone else obj)

    def _apply_slice(self, ns: str, name: str, obj: Obj | None) -> None:
        # A slice's service label may change: take it out of its former service's set first.
        former = self._slice_service.pop((ns, name), None)
        if former is not None:
            self._slices.get((ns, former), {}).pop(name, None)
        service = ((obj or {}).get("metadata", {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if obj is not None and service:
            self._slices.setdefault((ns, service), {})[name] = obj
            self._slice_service[(ns, name)] = service

    def start(self, client: Client) -> None:
        """List, subscribe and follow (the listing and subscriptions in this one step)."""
        for resource in RESOURCES:
            for obj in client.list(resource):
                self.apply(resource, "ADDED", obj)
            events = client.watch(resource)
            self._tasks.append(asyncio.create_task(self._follow(resource, events), name=f"kube-dns watch {resource}"))

    async def _follow(self, resource: str, events: AsyncIterator[tuple[str, Obj]]) -> None:
        try:
            async for event, obj in events:
                self.apply(resource, event, obj)
        finally:
            with contextlib.suppress(Exception):
                await events.aclose()  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # --- names.Cluster --------------------------------------------------------------------

    def namespace_exists(self, namespace: str) -> bool:
        return namespace in self.namespaces

    def service(self, namespace: str, name: str) -> Obj | None:
        return self._services.get((namespace, name))

    def services(self) -> list[Obj]:
        return list(self._services.values())

    def pods(self, namespace: str) -> list[Obj]:
        return list(self._pods.get(namespace, {}).values())

    def endpoint_slices(self, namespace: str, service: str) -> list[Obj]:
        return list(self._slices.get((namespace, service), {}).values())
