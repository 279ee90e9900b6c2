"""The shape of every controller: a level-triggered reconcile loop over a work queue.

As in Kubernetes' controllers (``pkg/controller``): watches on some resources
turn each change into the key (namespace, name) of a *primary* object; a worker
takes keys off a de-duplicating queue and calls :meth:`Controller.reconcile`,
which reads the current state and makes one step towards the desired one. A
key queued again while it waits is queued once; a key being reconciled is not
reconciled twice at once (a change meanwhile queues it again). An error is
logged and the key retried with back-off (5 ms doubling to 1000 s, as
client-go's default rate limiter); ``reconcile`` may also ask for a later look
by returning a delay in seconds (the next probe, a back-off, a deadline). Every
key is resynced every :attr:`Controller.resync` seconds, and all of them once at
start: the state after a daemon restart is picked up where it was.

A subclass sets :attr:`primary` and :attr:`watches` and implements
:meth:`reconcile`; :meth:`keys_for` maps an event on a watched resource to
primary keys (by default: the object itself when it is a primary, otherwise its
controlling ``ownerReference`` when that names a primary kind).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .client import Client, controller_of
from .kinds import by_resource

if TYPE_CHECKING:
    from .manager import Context

Obj = dict[str, Any]
Key = tuple[str, str]  # namespace ("" for cluster-scoped), name
log = logging.getLogger("baleine.kube.controller")


class Controller:
    """A reconcile loop (see the module's docstring)."""

    name = "controller"
    primary = ""                      # storage key of the reconciled resource
    watches: tuple[str, ...] = ()     # other resources whose changes map to primary keys
    resync = 30.0
    workers = 1

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client: Client = Client(ctx.registry, self.name)
        self._queue: set[Key] = set()
        self._active: set[Key] = set()
        self._dirty: set[Key] = set()
        self._later: list[tuple[float, Key]] = []
        self._failures: dict[Key, int] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- what subclasses write ----------------------------------------------
    async def reconcile(self, namespace: str, name: str) -> float | None:
        """One step towards the desired state of the primary object (which may be
        gone); a number asks for another look after that many seconds."""
        raise NotImplementedError

    def keys_for(self, resource: str, obj: Obj) -> Iterable[Key]:
        meta = obj["metadata"]
        if resource == self.primary:
            return [(meta.get("namespace", ""), meta["name"])]
        ref = controller_of(obj)
        if ref is not None and ref.get("kind") == by_resource(self.primary).kind:
            return [(meta.get("namespace", ""), ref["name"])]
        return []

    # --- the queue -------------------------------------------------------------
    def enqueue(self, key: Key, after: float = 0.0) -> None:
        """Reconcile ``key`` now, or in ``after`` seconds (an earlier request wins)."""
        if after > 0:
            heapq.heappush(self._later, (time.monotonic() + after, key))
        elif key in self._active:
            self._dirty.add(key)
        else:
            self._queue.add(key)
        self._wake.set()

    def enqueue_all(self) -> None:
        for obj in self.client.list(self.primary):
            self.enqueue((obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))

    # --- running -----------------------------------------------------------------
    def start(self) -> None:
        for resource in {self.primary, *self.watches}:
            self._tasks.append(asyncio.create_task(self._watch(resource), name=f"{self.name} watch {resource}"))
        self._tasks.append(asyncio.create_task(self._resync(), name=f"{self.name} resync"))
        for i in range(self.workers):
            self._tasks.append(asyncio.create_task(self._work(), name=f"{self.name} worker {i}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def _watch(self, resource: str) -> None:
        events = self.client.watch(resource)
        try:
            async for _, obj in events:
                for key in self.keys_for(resource, obj):
                    self.enqueue(key)
        finally:
            await events.aclose()

    async def _resync(self) -> None:
        while True:
            self.enqueue_all()
            await asyncio.sleep(self.resync)

    def _next(self) -> tuple[Key | None, float]:
        """A key ready now, or how long until the next delayed one."""
        now = time.monotonic()
        while self._later and self._later[0][0] <= now:
            _, key = heapq.heappop(self._later)
            if key in self._active:
                self._dirty.add(key)
            else:
                self._queue.add(key)
        for key in self._queue:
            if key not in self._active:
                self._queue.discard(key)
                return key, 0.0
        return None, (self._later[0][0] - now) if self._later else 3600.0

    async def _work(self) -> None:
        while True:
            key, wait = self._next()
            if key is None:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            self._active.add(key)
            try:
                after = await self.reconcile(*key)
                self._failures.pop(key, None)
                if after is not None:
                    self.enqueue(key, max(after, 0.001))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad object must not stop the loop
                n = self._failures.get(key, 0)
                self._failures[key] = n + 1
                delay = min(0.005 * 2 ** n, 1000.0)
                level = logging.DEBUG if getattr(exc, "code", 0) == 409 else logging.WARNING
                log.log(level, "%s: reconciling %s/%s failed (retry in %.3f s): %s", self.name, key[0], key[1],
                        delay, exc, exc_info=level == logging.WARNING)
                self.enqueue(key, delay)
            finally:
                self._active.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self._queue.add(key)
                    self._wake.set()
