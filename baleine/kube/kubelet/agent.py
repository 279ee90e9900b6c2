"""The node agent: binds pods to this node, admits them, runs one worker per pod.

Contracts:

- the node is ``ctx.options.node_name`` or, when empty, the one Node in storage;
- a pod with an empty ``spec.nodeName`` is scheduled here when its requests fit
  (``admission``): bound (``spec.nodeName``, condition ``PodScheduled=True``,
  event ``Scheduled``); one that does not fit stays Pending with
  ``PodScheduled=False``/``Unschedulable`` and the scheduler's message, and is
  tried again whenever a pod changes or goes;
- a pod bound to this node gets a :class:`~.pods.PodWorker` (keyed by uid) until
  it is gone; pods bound elsewhere (``nodeName: ghost``) are left alone;
- at start, containers of pods that no longer exist are removed (the others are
  adopted by their workers); while the agent runs, a Pod delete is graceful
  (``Registry.graceful_node``) and the worker finishes it;
- at stop, workers stop and the containers keep running (a daemon restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from ...rules.filters import Filters
from ..client import Client
from ..status import APIError
from . import admission, names, pause, sandbox
from .backoff import Backoff
from .pods import PodWorker

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]
log = logging.getLogger("baleine.kube.kubelet")


class Agent:
    """The node agent (see the module's contracts)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = Client(ctx.registry, "kubelet")
        self.scheduler = Client(ctx.registry, "default-scheduler")
        self.node_name = ctx.options.node_name or self._stored_node()
        self.workers: dict[str, PodWorker] = {}
        self.backoff = Backoff()
        self._task: asyncio.Task[None] | None = None
        self._unschedulable: dict[str, str] = {}

    def _stored_node(self) -> str:
        nodes = self.client.list("nodes")
        return nodes[0]["metadata"]["name"] if nodes else ""

    def host_ip(self) -> str:
        node = self.client.get("nodes", "", self.node_name) or {}
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return addr.get("address", "")
        return ""

    async def start(self) -> None:
        self.ctx.registry.graceful_node = self.node_name
        try:
            await pause.ensure(self.ctx.backends.images)
            await sandbox.ensure_network(self.ctx)
            await self._remove_orphans()
        except Exception:  # noqa: BLE001 - the API must come up; each pod worker tries again
            log.exception("preparing the node agent failed")
        self._task = asyncio.create_task(self._watch(), name="kubelet watch pods")

    async def stop(self) -> None:
        self.ctx.registry.graceful_node = ""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*(w.stop() for w in self.workers.values()))
        self.workers.clear()

    async def _remove_orphans(self) -> None:
        """Remove the containers of pods that are gone (deleted while the daemon was down)."""
        uids = {p["metadata"]["uid"] for p in self.client.list("pods")}
        views = await self.ctx.backends.containers.list(Filters({"label": [names.POD_UID]}), show_all=True,
                                                        limit=0, size=False)
        for view in views:
            doc = view.container.doc
            if (doc.get("Config") or {}).get("Labels", {}).get(names.POD_UID) not in uids:
                with contextlib.suppress(Exception):
                    await self.ctx.backends.containers.remove(doc["Id"], force=True, volumes=False)

    async def _watch(self) -> None:
        while True:
            watch = self.client.watch("pods")
            try:
                async for kind, pod in watch:
                    try:
                        await self._on_pod(kind, pod)
                    except Exception:  # noqa: BLE001 - the next event must be seen
                        log.exception("handling pod %s failed", pod["metadata"].get("name"))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a watch that ends (too old): start again
                log.debug("pod watch ended; restarting", exc_info=True)
            finally:
                with contextlib.suppress(Exception):
                    await watch.aclose()
            await asyncio.sleep(0.5)

    async def _on_pod(self, kind: str, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        node = (pod.get("spec") or {}).get("nodeName") or ""
        if kind == "DELETED" or meta.get("deletionTimestamp"):
            self._unschedulable.pop(uid, None)
            if kind != "DELETED" and node == self.node_name:
                self._worker(pod)  # a terminating pod without a worker (a daemon restart): finish it
            elif uid in self.workers:
                self.workers[uid].wake()
            await self._schedule_pending()
            return
        if not node:
            await self._schedule(pod)
            return
        if node != self.node_name:
            return
        self._worker(pod)
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") and self._unschedulable:
            await self._schedule_pending()

    def _worker(self, pod: Obj) -> None:
        """Wake the pod's worker, started first if it has none."""
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if worker is not None:
            worker.wake()
            return
        worker = PodWorker(self.ctx, self.client, pod, self.node_name, self.host_ip(), self.backoff)
        self.workers[uid] = worker
        worker.start()
        worker.task.add_done_callback(lambda _t: self._worker_done(uid))

    def _worker_done(self, uid: str) -> None:
        self.workers.pop(uid, None)

    # --- scheduling ------------------------------------------------------------------
    async def _schedule_pending(self) -> None:
        for pod in self.client.list("pods"):
            if pod["metadata"]["uid"] in self._unschedulable and not (pod.get("spec") or {}).get("nodeName"):
                await self._schedule(pod)

    async def _schedule(self, pod: Obj) -> None:
        meta = pod["metadata"]
        node = self.client.get("nodes", "", self.node_name) or {}
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        bound = [p for p in self.client.list("pods") if (p.get("spec") or {}).get("nodeName") == self.node_name]
        try:
            message = admission.misfit(pod, allocatable, bound)
        except ValueError as exc:
            message = f"0/1 nodes are available: {exc}."
        if message is not None:
            await self._unschedulable_status(pod, message)
            return
        self._unschedulable.pop(meta["uid"], None)
        try:
            await self.scheduler.patch("pods", meta.get("namespace", "default"), meta["name"],
                                       {"metadata": {"uid": meta["uid"]}, "spec": {"nodeName": self.node_name}})
        except APIError as exc:
            log.warning("binding %s failed: %s", meta["name"], exc)
            return
        await self.scheduler.event(pod, "Normal", "Scheduled",
                                   f"Successfully assigned {meta.get('namespace', 'default')}/{meta['name']} "
                                   f"to {self.node_name}")
        conditions = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": _now()})
        with contextlib.suppress(APIError):
            await self.scheduler.patch("pods", meta.get("namespace", "default"), meta["name"],
                                       {"status": {"phase": "Pending", "conditions": conditions}}, "status")

    async def _unschedulable_status(self, pod: Obj, message: str) -> None:
        meta = pod["metadata"]
        if self._unschedulable.get(meta["uid"]) == message:
            return
        self._unschedulable[meta["uid"]] = message
        cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": _now(),
                "reason": "Unschedulable", "message": message}
        with contextlib.suppress(APIError):
            await self.scheduler.patch("pods", meta.get("namespace", "default"), meta["name"],
                                       {"status": {"phase": "Pending", "conditions": [cond]}}, "status")
        await self.scheduler.event(pod, "Warning", "FailedScheduling", message)


def _now() -> str:
    from ..registry import now

    return now()
