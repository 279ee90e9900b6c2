"""The replicaset controller (``pkg/controller/replicaset`` of Kubernetes 1.32).

Contracts of :meth:`ReplicaSetController.reconcile`:

- the ReplicaSet owns the active pods it controls that match its selector; it
  adopts matching orphans and releases pods that stop matching (``claim``);
- too few pods: new ones from the template (``generateName: <rs>-``, the
  ReplicaSet as controlling owner), created in batches of 1, 2, 4... that stop at
  the first failure (``slowStartBatch``), at most 500 per pass (``burstReplicas``);
- too many: the surplus is deleted, the pods ranked by :func:`deletion_order`
  (unscheduled, pending, not ready, ready for less time, more restarts, newer);
- status: ``replicas`` (active pods), ``fullyLabeledReplicas`` (carrying every
  template label), ``readyReplicas``, ``availableReplicas`` (Ready for
  ``minReadySeconds``), ``observedGeneration``, a ``ReplicaFailure`` condition
  while creating fails. A pod that becomes available later asks for another look
  then. Pods and ReplicaSets are read from the store itself, which is never
  stale, so Kubernetes' expectations are not needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ..client import controller_of, labels_match, owner_reference
from ..controller import Controller, Key
from ..manager import Component, Context
from ..status import APIError
from . import scale
from .claim import claim
from .podtemplate import available_in, deletion_order, is_active, is_ready, pod_from_template, utcnow

Obj = dict[str, Any]
RESOURCE = "replicasets.apps"
BURST_REPLICAS = 500


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    primary = RESOURCE
    watches = ("pods",)

    def keys_for(self, resource: str, obj: Obj) -> Iterable[Key]:
        keys = list(super().keys_for(resource, obj))
        if resource == "pods" and controller_of(obj) is None:
            ns = obj["metadata"].get("namespace", "")
            labels = obj["metadata"].get("labels")
            keys += [(ns, rs["metadata"]["name"]) for rs in self.client.list(RESOURCE, ns)
                     if rs["spec"].get("selector") and labels_match(rs["spec"]["selector"], labels)]
        return keys

    async def reconcile(self, namespace: str, name: str) -> float | None:
        rs = self.client.get(RESOURCE, namespace, name)
        if rs is None:
            return None
        candidates = [p for p in self.client.list("pods", namespace) if is_active(p)]
        pods = await claim(self.client, "pods", rs, rs["spec"].get("selector"), candidates)
        failure = ""
        if not rs["metadata"].get("deletionTimestamp"):
            failure = await self._manage(rs, [p for p in pods if is_active(p)])
        pods = [p for p in self.client.list("pods", namespace) if is_active(p)
                and (controller_of(p) or {}).get("uid") == rs["metadata"]["uid"]]
        return await self._update_status(rs, pods, failure)

    async def _manage(self, rs: Obj, pods: list[Obj]) -> str:
        """Create or delete pods towards ``spec.replicas``; the error that stopped creating, if any."""
        diff = len(pods) - int(rs["spec"].get("replicas", 1))
        if diff < 0:
            return await self._create(rs, min(-diff, BURST_REPLICAS))
        if diff > 0:
            for pod in deletion_order(pods)[:min(diff, BURST_REPLICAS)]:
                if await self.client.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"]):
                    await self.client.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        return ""

    async def _create(self, rs: Obj, count: int) -> str:
        """``slowStartBatch``: batches of 1, 2, 4... while every create of a batch succeeds."""
        batch, done = 1, 0
        while done < count:
            size = min(batch, count - done)
            results = await asyncio.gather(*(self._create_one(rs) for _ in range(size)))
            errors = [r for r in results if r]
            if errors:
                return errors[0]
            done += size
            batch *= 2
        return ""

    async def _create_one(self, rs: Obj) -> str:
        meta = rs["metadata"]
        pod = pod_from_template(rs["spec"].get("template") or {}, owner_reference(rs), f"{meta['name']}-")
        try:
            created = await self.client.create("pods", meta["namespace"], pod)
        except APIError as exc:
            await self.client.event(rs, "Warning", "FailedCreate", f"Error creating: {exc}")
            return str(exc)
        await self.client.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        return ""

    async def _update_status(self, rs: Obj, pods: list[Obj], failure: str) -> float | None:
        now = utcnow()
        min_ready = int(rs["spec"].get("minReadySeconds") or 0)
        template_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        waits = [available_in(p, min_ready, now) for p in pods]
        status: Obj = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(1 for p in pods if labels_match({"matchLabels": template_labels},
                                                                         p["metadata"].get("labels"))),
            "readyReplicas": sum(1 for p in pods if is_ready(p)),
            "availableReplicas": sum(1 for w in waits if w == 0.0),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        conditions = [c for c in (rs.get("status") or {}).get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        if failure:
            old = next((c for c in (rs.get("status") or {}).get("conditions") or []
                        if c.get("type") == "ReplicaFailure"), None)
            conditions.append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                               "message": failure,
                               "lastTransitionTime": (old or {}).get("lastTransitionTime") or now.strftime(
                                   "%Y-%m-%dT%H:%M:%SZ")})
        if conditions:
            status["conditions"] = conditions
        for key in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if not status[key]:
                del status[key]  # omitempty, as the API server serializes them
        if status != (rs.get("status") or {}):
            fresh = self.client.get(RESOURCE, rs["metadata"]["namespace"], rs["metadata"]["name"])
            if fresh is not None and fresh["metadata"]["uid"] == rs["metadata"]["uid"]:
                fresh["status"] = status
                await self.client.update_status(RESOURCE, fresh)
        pending = [w for w in waits if w]
        if failure:
            return 5.0
        return min(pending) + 0.1 if pending else None


async def start(ctx: Context) -> Component:
    controller = ReplicaSetController(ctx)
    scale.register(ctx, RESOURCE)
    controller.start()
    return controller
