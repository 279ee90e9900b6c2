"""The garbage collector: dependents of deleted owners, contents of deleted namespaces, finalization.

Level-triggered: each sweep looks at everything stored, whatever event woke it
(a deletion kicks it; it also sweeps every ``PERIOD`` seconds and once at start,
so work interrupted by a restart is finished). A sweep

1. deletes every object of a terminating namespace, then the namespace itself
   once empty (its phase was ``Terminating`` meanwhile);
2. deletes every object whose ``ownerReferences`` all name uids that no
   longer exist (background propagation; ``Foreground`` is treated alike);
3. removes objects with a ``deletionTimestamp`` and no finalizers left.

and repeats while it changed something (chains of owners go in one kick).
"""

from __future__ import annotations

import asyncio
import logging

from .registry import Registry, kinds_by_resource

PERIOD = 30.0
log = logging.getLogger("baleine.kube.gc")


class Collector:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.registry.on_delete = self.kick
        self._task = asyncio.create_task(self._run())
        self.kick()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def kick(self) -> None:
        self._kick.set()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._kick.wait(), PERIOD)
            except asyncio.TimeoutError:
                pass
            self._kick.clear()
            try:
                while await self.sweep():
                    pass
            except Exception:  # noqa: BLE001 - the collector must outlive one bad sweep
                log.exception("garbage collection failed")

    async def sweep(self) -> bool:
        """One pass; True if it deleted or finalized something."""
        storage = self.registry.storage
        kinds = kinds_by_resource()
        objects = storage.all()
        uids = {obj["metadata"].get("uid") for _, obj in objects}
        terminating = {key[2] for key, obj in objects
                       if key[0] == "namespaces" and obj["metadata"].get("deletionTimestamp")}
        changed = False
        nonempty: set[str] = set()
        for (resource, ns, name), obj in objects:
            meta = obj["metadata"]
            refs = meta.get("ownerReferences") or []
            if ns in terminating:
                nonempty.add(ns)
                if resource in kinds and not meta.get("deletionTimestamp"):
                    await self.registry.delete(kinds[resource], ns, name)
                    changed = True
            elif refs and not any(r.get("uid") in uids for r in refs) and resource in kinds \
                    and not meta.get("deletionTimestamp"):  # already going (a graceful pod): once
                log.debug("collecting %s %s/%s: its owners are gone", resource, ns, name)
                await self.registry.delete(kinds[resource], ns, name)
                changed = True
            graceful = resource == "pods" and meta.get("deletionGracePeriodSeconds")  # the node agent ends it
            if meta.get("deletionTimestamp") and not meta.get("finalizers") and resource != "namespaces" \
                    and not graceful:
                await storage.delete(resource, ns, name)
                changed = True
        for ns in terminating - nonempty:
            await storage.delete("namespaces", "", ns)
            changed = True
        return changed
