"""The deployment controller (``pkg/controller/deployment`` of Kubernetes 1.32).

A Deployment is carried out through ReplicaSets it owns: the *new* one has the
Deployment's pod template (plus the ``pod-template-hash`` label, also in its
selector, and in its name ``<deployment>-<hash>``); the others are *old*.

Contracts of :meth:`DeploymentController.reconcile`, one step each time:

- ReplicaSets matching the selector are adopted, those that stop matching released;
- ``paused``, or a scaling event (an active ReplicaSet's ``desired-replicas``
  annotation is not ``spec.replicas``): only replica counts change (``sync``:
  proportional scaling over the active ReplicaSets);
- ``Recreate``: old ReplicaSets to 0, then, once none of their pods is active,
  the new one up to ``spec.replicas``;
- ``RollingUpdate``: the new ReplicaSet grows while the total stays within
  ``replicas + maxSurge``; old ones shrink (unhealthy pods first) while the
  available pods stay at least ``replicas - maxUnavailable``;
- a new ReplicaSet gets revision ``max(old) + 1`` (``deployment.kubernetes.io/revision``,
  the Deployment too), an old one brought back by ``rollout undo`` keeps its
  former revisions in ``revision-history``; ReplicaSets carry
  ``desired-replicas`` and ``max-replicas``; a name taken by a ReplicaSet with
  another template bumps ``status.collisionCount``;
- once complete, old ReplicaSets beyond ``revisionHistoryLimit`` are deleted, oldest first;
- status and the conditions ``Available`` and ``Progressing`` with Kubernetes'
  reasons and messages; no progress for ``progressDeadlineSeconds`` makes
  ``Progressing`` False with ``ProgressDeadlineExceeded`` (no rollback);
- events ``ScalingReplicaSet`` ("Scaled up replica set x to 3 from 0").
"""

from __future__ import annotations

import copy
import datetime
import math
from collections.abc import Iterable
from typing import Any

from ..client import controller_of, labels_match, owner_reference
from ..controller import Controller, Key
from ..manager import Component, Context
from ..status import APIError
from . import scale
from .claim import claim
from .podtemplate import (HASH_LABEL, equal_ignore_hash, fenceposts, format_time, parse_time,
                          template_hash, utcnow)

Obj = dict[str, Any]
RESOURCE = "deployments.apps"
RS = "replicasets.apps"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
#: Annotations of the Deployment that are not copied to its ReplicaSets (``skipCopyAnnotation``).
SKIPPED = {"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS,
           "deprecated.deployment.rollback.to"}
MAX_INT32 = 2 ** 31 - 1


# --- pure rules ------------------------------------------------------------------------

def replicas_of(rs: Obj | None) -> int:
    return int(((rs or {}).get("spec") or {}).get("replicas") or 0)


def status_of(rs: Obj | None, key: str) -> int:
    return int(((rs or {}).get("status") or {}).get(key) or 0)


def strategy_fenceposts(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against ``spec.replicas``; (0, 0) for Recreate."""
    spec = d["spec"]
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}
    return fenceposts(rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%"),
                      int(spec.get("replicas", 1)))


def max_unavailable(d: Obj) -> int:
    """``deploymentutil.MaxUnavailable``."""
    replicas = int(d["spec"].get("replicas", 1))
    if (d["spec"].get("strategy") or {}).get("type", "RollingUpdate") != "RollingUpdate" or replicas == 0:
        return 0
    return min(strategy_fenceposts(d)[1], replicas)


def new_rs_replicas(d: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
    """``deploymentutil.NewRSNewReplicas``: how big the new ReplicaSet may be now."""
    replicas = int(d["spec"].get("replicas", 1))
    if (d["spec"].get("strategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return replicas
    surge, _ = strategy_fenceposts(d)
    current = sum(replicas_of(rs) for rs in all_rss)
    max_total = replicas + surge
    if current >= max_total:
        return replicas_of(new_rs)
    return replicas_of(new_rs) + min(max_total - current, replicas - replicas_of(new_rs))


def rolling_scale_down(d: Obj, all_rss: list[Obj], old_rss: list[Obj], new_rs: Obj | None) -> dict[str, int]:
    """``reconcileOldReplicaSets``: the new sizes of old ReplicaSets (by name) this step."""
    sizes: dict[str, int] = {}
    old_count = sum(replicas_of(rs) for rs in old_rss)
    if old_count == 0:
        return sizes
    all_count = sum(replicas_of(rs) for rs in all_rss)
    min_available = int(d["spec"].get("replicas", 1)) - max_unavailable(d)
    new_unavailable = replicas_of(new_rs) - status_of(new_rs, "availableReplicas")
    budget = all_count - min_available - new_unavailable
    if budget <= 0:
        return sizes
    # unhealthy pods of old ReplicaSets go first: removing them costs no availability
    cleaned = 0
    for rs in by_creation(old_rss):
        if cleaned >= budget:
            break
        size, available = replicas_of(rs), status_of(rs, "availableReplicas")
        if size == 0 or size == available:
            continue
        down = min(budget - cleaned, size - available)
        sizes[rs["metadata"]["name"]] = size - down
        cleaned += down
    # then healthy ones, while the available pods stay above the minimum
    available_now = sum(status_of(rs, "availableReplicas") for rs in all_rss)
    if available_now <= min_available:
        return sizes
    total = available_now - min_available
    scaled = 0
    for rs in by_creation(old_rss):
        if scaled >= total:
            break
        size = sizes.get(rs["metadata"]["name"], replicas_of(rs))
        if size == 0:
            continue
        down = min(size, total - scaled)
        sizes[rs["metadata"]["name"]] = size - down
        scaled += down
    return sizes


def proportional_sizes(d: Obj, active: list[Obj]) -> dict[str, int]:
    """``dc.scale`` for a rolling Deployment resized mid-rollout: the new sizes of the active
    ReplicaSets. Each gets its share of the change (``GetProportion``: its size scaled by the new
    ``replicas + maxSurge`` over the ``max-replicas`` it was sized for, rounded, never beyond what is
    left to add or remove), the biggest (newest on ties when growing, oldest when shrinking) the rest."""
    replicas = int(d["spec"].get("replicas", 1))
    allowed = replicas + strategy_fenceposts(d)[0] if replicas > 0 else 0
    to_add = allowed - sum(replicas_of(rs) for rs in active)
    newest_first = sorted(active, key=lambda rs: rs["metadata"].get("creationTimestamp") or "", reverse=to_add > 0)
    order = sorted(newest_first, key=lambda rs: -replicas_of(rs))  # stable: size first, then age
    sizes = {rs["metadata"]["name"]: replicas_of(rs) for rs in active}
    added = 0
    for rs in order:
        share = _proportion(d, rs, to_add, added)
        sizes[rs["metadata"]["name"]] += share
        added += share
    if order and to_add:
        biggest = order[0]["metadata"]["name"]
        sizes[biggest] = max(sizes[biggest] + to_add - added, 0)
    return sizes


def _proportion(d: Obj, rs: Obj, to_add: int, added: int) -> int:
    """``GetProportion``."""
    size = replicas_of(rs)
    if size == 0 or to_add == 0 or to_add == added:
        return 0
    replicas = int(d["spec"].get("replicas", 1))
    if replicas == 0:
        fraction = -size
    else:
        try:
            annotated = int((rs["metadata"].get("annotations") or {})[MAX_REPLICAS])
        except (KeyError, ValueError):
            annotated = int((d.get("status") or {}).get("replicas") or 0)
        wanted = size * (replicas + strategy_fenceposts(d)[0]) / annotated if annotated else size
        fraction = math.floor(wanted + 0.5) - size  # integer.RoundToInt32
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def by_creation(rss: list[Obj]) -> list[Obj]:
    return sorted(rss, key=lambda rs: (rs["metadata"].get("creationTimestamp") or "", rs["metadata"]["name"]))


def revision(obj: Obj | None) -> int:
    try:
        return int(((obj or {}).get("metadata") or {}).get("annotations", {}).get(REVISION) or 0)
    except (TypeError, ValueError):
        return 0


def find_new(d: Obj, rss: list[Obj]) -> Obj | None:
    """``FindNewReplicaSet``: the oldest ReplicaSet whose template is the Deployment's."""
    return next((rs for rs in by_creation(rss) if equal_ignore_hash(rs["spec"].get("template") or {},
                                                                    d["spec"].get("template") or {})), None)


def is_complete(d: Obj, status: Obj) -> bool:
    """``DeploymentComplete``."""
    replicas = int(d["spec"].get("replicas", 1))
    return (int(status.get("updatedReplicas") or 0) == replicas and int(status.get("replicas") or 0) == replicas
            and int(status.get("availableReplicas") or 0) == replicas
            and int(status.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 1))


def made_progress(old: Obj, new: Obj) -> bool:
    """``DeploymentProgressing``: more updated, ready or available pods, or fewer old ones."""
    old_old = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
    new_old = int(new.get("replicas") or 0) - int(new.get("updatedReplicas") or 0)
    return (int(new.get("updatedReplicas") or 0) > int(old.get("updatedReplicas") or 0) or new_old < old_old
            or int(new.get("readyReplicas") or 0) > int(old.get("readyReplicas") or 0)
            or int(new.get("availableReplicas") or 0) > int(old.get("availableReplicas") or 0))


def condition(status: Obj, type_: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == type_), None)


def set_condition(status: Obj, type_: str, value: str, reason: str, message: str, stamp: str,
                  keep_transition: bool = True) -> None:
    """``SetDeploymentCondition``: same status and reason is no change; same status keeps lastTransitionTime."""
    current = condition(status, type_)
    if current and current.get("status") == value and current.get("reason") == reason and keep_transition:
        return
    new = {"type": type_, "status": value, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
           "reason": reason, "message": message}
    if current and current.get("status") == value:
        new["lastTransitionTime"] = current.get("lastTransitionTime") or stamp
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != type_] + [new]


def timed_out(d: Obj, status: Obj, now: datetime.datetime) -> bool:
    """``DeploymentTimedOut``: no progress for ``progressDeadlineSeconds``."""
    deadline = d["spec"].get("progressDeadlineSeconds")
    if deadline is None or deadline == MAX_INT32:
        return False
    cond = condition(status, "Progressing")
    if cond is None or cond.get("reason") == "NewReplicaSetAvailable":
        return False
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + datetime.timedelta(seconds=int(deadline)) < now


# --- the controller -----------------------------------------------------------------------

class DeploymentController(Controller):
    name = "deployment-controller"
    primary = RESOURCE
    watches = (RS, "pods")

    def keys_for(self, resource: str, obj: Obj) -> Iterable[Key]:
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        if resource == "pods":  # only Recreate waits on pods: map a pod to its ReplicaSet's owner
            ref = controller_of(obj)
            rs = self.client.get(RS, ns, ref["name"]) if ref and ref.get("kind") == "ReplicaSet" else None
            return super().keys_for(RS, rs) if rs is not None else []
        keys = list(super().keys_for(resource, obj))
        if resource == RS and controller_of(obj) is None:
            keys += [(ns, d["metadata"]["name"]) for d in self.client.list(RESOURCE, ns)
                     if labels_match(d["spec"].get("selector"), meta.get("labels"))]
        return keys

    async def reconcile(self, namespace: str, name: str) -> float | None:
        d = self.client.get(RESOURCE, namespace, name)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return None
        rss = await claim(self.client, RS, d, d["spec"].get("selector"), self.client.list(RS, namespace))
        if not d["spec"].get("selector"):
            return None
        if d["spec"].get("paused") or self._scaling_event(d, rss):
            return await self._sync(d, rss)
        if (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            return await self._recreate(d, rss)
        return await self._rolling(d, rss)

    # --- steps ------------------------------------------------------------------------
    def _scaling_event(self, d: Obj, rss: list[Obj]) -> bool:
        want = str(int(d["spec"].get("replicas", 1)))
        for rs in rss:
            desired = (rs["metadata"].get("annotations") or {}).get(DESIRED)
            if replicas_of(rs) > 0 and desired is not None and desired != want:
                return True
        return False

    async def _sync(self, d: Obj, rss: list[Obj]) -> float | None:
        """Paused or resized: replica counts only, no new ReplicaSet."""
        new_rs, old_rss = await self._new_and_old(d, rss, create=False)
        await self._scale(d, new_rs, old_rss)
        return await self._update_status(d, new_rs, old_rss, rollout=False)

    async def _scale(self, d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> None:
        """``dc.scale``: one active ReplicaSet takes ``spec.replicas``; a saturated new one lets the
        old ones go to 0; otherwise the active ones share the change in proportion."""
        replicas = int(d["spec"].get("replicas", 1))
        active = [rs for rs in ([new_rs] if new_rs else []) + old_rss if replicas_of(rs) > 0]
        if len(active) <= 1:
            target = active[0] if active else (new_rs or (by_creation(old_rss)[-1] if old_rss else None))
            if target is not None:  # also stamps a stale desired-replicas, ending the scaling event
                await self._scale_rs(d, target, replicas)
            return
        if new_rs is not None and replicas_of(new_rs) == replicas and status_of(new_rs, "availableReplicas") \
                == replicas:
            for rs in old_rss:
                if replicas_of(rs):
                    await self._scale_rs(d, rs, 0)
            return
        if (d["spec"].get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            sizes = proportional_sizes(d, active)
            for rs in active:
                await self._scale_rs(d, rs, sizes[rs["metadata"]["name"]])

    async def _recreate(self, d: Obj, rss: list[Obj]) -> float | None:
        new_rs, old_rss = await self._new_and_old(d, rss, create=False)
        scaled = False
        for rs in old_rss:
            if replicas_of(rs):
                await self._scale_rs(d, rs, 0)
                scaled = True
        if scaled or self._old_pods_running(old_rss):
            return await self._update_status(d, new_rs, old_rss)
        if new_rs is None:
            new_rs, old_rss = await self._new_and_old(d, rss, create=True)
        if new_rs is not None and replicas_of(new_rs) != int(d["spec"].get("replicas", 1)):
            new_rs = await self._scale_rs(d, new_rs, int(d["spec"].get("replicas", 1)))
        return await self._update_status(d, new_rs, old_rss, cleanup=True)

    def _old_pods_running(self, old_rss: list[Obj]) -> bool:
        uids = {rs["metadata"]["uid"] for rs in old_rss}
        if any(status_of(rs, "replicas") for rs in old_rss):
            return True
        ns = old_rss[0]["metadata"]["namespace"] if old_rss else ""
        return any((controller_of(p) or {}).get("uid") in uids and (p.get("status") or {}).get("phase")
                   not in ("Succeeded", "Failed") for p in (self.client.list("pods", ns) if uids else []))

    async def _rolling(self, d: Obj, rss: list[Obj]) -> float | None:
        new_rs, old_rss = await self._new_and_old(d, rss, create=True)
        all_rss = ([new_rs] if new_rs else []) + old_rss
        replicas = int(d["spec"].get("replicas", 1))
        if new_rs is not None and replicas_of(new_rs) != replicas:
            size = replicas if replicas_of(new_rs) > replicas else new_rs_replicas(d, all_rss, new_rs)
            if size != replicas_of(new_rs):
                new_rs = await self._scale_rs(d, new_rs, size)
                return await self._update_status(d, new_rs, old_rss)
        sizes = rolling_scale_down(d, all_rss, old_rss, new_rs)
        changed = False
        for i, rs in enumerate(old_rss):
            size = sizes.get(rs["metadata"]["name"])
            if size is not None and size != replicas_of(rs):
                old_rss[i] = await self._scale_rs(d, rs, size)
                changed = True
        return await self._update_status(d, new_rs, old_rss, cleanup=not changed)

    # --- ReplicaSets --------------------------------------------------------------------
    async def _new_and_old(self, d: Obj, rss: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        """``getAllReplicaSetsAndSyncRevision``: the new ReplicaSet (made when ``create``), the old ones."""
        new_rs = find_new(d, rss)
        old_rss = [rs for rs in rss if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        max_old = max((revision(rs) for rs in old_rss), default=0)
        want_revision = max_old + 1
        if new_rs is not None:
            new_rs = await self._sync_revision(d, new_rs, want_revision)
        elif create:
            new_rs = await self._create_rs(d, old_rss, want_revision)
        if new_rs is not None and str(revision(new_rs)) != (d["metadata"].get("annotations") or {}).get(REVISION):
            annotations = dict(d["metadata"].get("annotations") or {})
            annotations[REVISION] = str(revision(new_rs))
            d["metadata"]["annotations"] = annotations
            d.update(await self.client.update(RESOURCE, d))
        return new_rs, old_rss

    def _rs_annotations(self, d: Obj, rs_annotations: dict[str, str], new_revision: int) -> dict[str, str]:
        """``SetNewReplicaSetAnnotations``: the Deployment's annotations, the revision and its history."""
        out = {k: v for k, v in rs_annotations.items()}
        out.update({k: v for k, v in (d["metadata"].get("annotations") or {}).items() if k not in SKIPPED})
        old = rs_annotations.get(REVISION)
        if old and int(old) < new_revision:
            history = [h for h in (rs_annotations.get(REVISION_HISTORY) or "").split(",") if h]
            out[REVISION_HISTORY] = ",".join([*history, old])
        if not old or int(old) < new_revision:
            out[REVISION] = str(new_revision)
        surge, _ = strategy_fenceposts(d)
        out[DESIRED] = str(int(d["spec"].get("replicas", 1)))
        out[MAX_REPLICAS] = str(int(d["spec"].get("replicas", 1)) + surge)
        return out

    async def _sync_revision(self, d: Obj, rs: Obj, want: int) -> Obj:
        annotations = rs["metadata"].get("annotations") or {}
        if revision(rs) >= want and all(annotations.get(k) == v for k, v in (d["metadata"].get("annotations") or {})
                                        .items() if k not in SKIPPED) and rs["spec"].get("minReadySeconds", 0) \
                == d["spec"].get("minReadySeconds", 0):
            return rs
        rs["metadata"]["annotations"] = self._rs_annotations(d, annotations, want)
        rs["metadata"]["annotations"][DESIRED] = annotations.get(DESIRED, rs["metadata"]["annotations"][DESIRED])
        rs["metadata"]["annotations"][MAX_REPLICAS] = annotations.get(MAX_REPLICAS,
                                                                      rs["metadata"]["annotations"][MAX_REPLICAS])
        rs["spec"]["minReadySeconds"] = d["spec"].get("minReadySeconds", 0)
        return await self.client.update(RS, rs)

    async def _create_rs(self, d: Obj, old_rss: list[Obj], want_revision: int) -> Obj | None:
        collisions = (d.get("status") or {}).get("collisionCount")
        template = copy.deepcopy(d["spec"].get("template") or {})
        template.get("metadata", {}).pop("creationTimestamp", None)
        pod_hash = template_hash(template, collisions)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = copy.deepcopy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        name = f"{d['metadata']['name']}-{pod_hash}"
        replicas = new_rs_replicas(d, old_rss, {"spec": {"replicas": 0}}) if (d["spec"].get("strategy") or {}) \
            .get("type", "RollingUpdate") == "RollingUpdate" else int(d["spec"].get("replicas", 1))
        labels = dict((d["spec"].get("template") or {}).get("metadata", {}).get("labels") or {})
        labels[HASH_LABEL] = pod_hash
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": name, "namespace": d["metadata"]["namespace"], "labels": labels,
                           "annotations": self._rs_annotations(d, {}, want_revision),
                           "ownerReferences": [owner_reference(d)]},
              "spec": {"replicas": replicas, "minReadySeconds": d["spec"].get("minReadySeconds", 0),
                       "selector": selector, "template": template}}
        try:
            created = await self.client.create(RS, d["metadata"]["namespace"], rs)
        except APIError as exc:
            if exc.code != 409:
                raise
            return await self._collision(d, name)
        stamp = format_time(utcnow())
        status = copy.deepcopy(d.get("status") or {})
        set_condition(status, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{name}"', stamp)
        await self._write_status(d, status)
        if replicas:
            await self.client.event(d, "Normal", "ScalingReplicaSet",
                                    f"Scaled up replica set {name} to {replicas} from 0")
        return created

    async def _collision(self, d: Obj, name: str) -> Obj | None:
        """A ReplicaSet of that name exists: ours with our template is the new one; otherwise bump
        ``collisionCount`` so that the next attempt hashes to another name."""
        existing = self.client.get(RS, d["metadata"]["namespace"], name)
        if existing is not None and (controller_of(existing) or {}).get("uid") == d["metadata"]["uid"] \
                and equal_ignore_hash(existing["spec"].get("template") or {}, d["spec"].get("template") or {}):
            return existing
        status = copy.deepcopy(d.get("status") or {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self._write_status(d, status)
        raise APIError(409, f'replica set "{name}" exists with another template: collisionCount is now '
                            f'{status["collisionCount"]}', "AlreadyExists")

    async def _scale_rs(self, d: Obj, rs: Obj, size: int) -> Obj:
        """Resize ``rs`` (and stamp desired-replicas/max-replicas); a ``ScalingReplicaSet`` event."""
        old = replicas_of(rs)
        surge, _ = strategy_fenceposts(d)
        annotations = dict(rs["metadata"].get("annotations") or {})
        want = {DESIRED: str(int(d["spec"].get("replicas", 1))),
                MAX_REPLICAS: str(int(d["spec"].get("replicas", 1)) + surge)}
        if old == size and all(annotations.get(k) == v for k, v in want.items()):
            return rs
        annotations.update(want)
        rs["metadata"]["annotations"] = annotations
        rs["spec"]["replicas"] = size
        updated = await self.client.update(RS, rs)
        if old != size:
            verb = "up" if size > old else "down"
            await self.client.event(d, "Normal", "ScalingReplicaSet",
                                    f"Scaled {verb} replica set {rs['metadata']['name']} to {size} from {old}")
        return updated

    async def _cleanup(self, d: Obj, old_rss: list[Obj]) -> None:
        """``cleanupDeployment``: old ReplicaSets beyond ``revisionHistoryLimit``, lowest revision first."""
        limit = d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
        surplus = len(alive) - int(limit)
        for rs in sorted(alive, key=lambda r: (revision(r), r["metadata"].get("creationTimestamp") or "")):
            if surplus <= 0:
                break
            if status_of(rs, "replicas") or replicas_of(rs) or int(rs["metadata"].get("generation") or 1) \
                    > status_of(rs, "observedGeneration"):
                continue
            await self.client.delete(RS, rs["metadata"]["namespace"], rs["metadata"]["name"])
            surplus -= 1

    # --- status -------------------------------------------------------------------------
    async def _update_status(self, d: Obj, new_rs: Obj | None, old_rss: list[Obj], cleanup: bool = False,
                             rollout: bool = True) -> float | None:
        """``syncRolloutStatus``: counts, Available and Progressing; a later look at the deadline."""
        fresh = self.client.get(RESOURCE, d["metadata"]["namespace"], d["metadata"]["name"])
        if fresh is None:
            return None
        ns = d["metadata"]["namespace"]
        # the counts come from the stored ReplicaSets, which the replicaset controller keeps current
        new_rs = self.client.get(RS, ns, new_rs["metadata"]["name"]) if new_rs else None
        old_rss = [r for r in (self.client.get(RS, ns, rs["metadata"]["name"]) for rs in old_rss) if r]
        all_rss = ([new_rs] if new_rs else []) + old_rss
        old_status = fresh.get("status") or {}
        status = self._counts(d, new_rs, all_rss, old_status)
        now = utcnow()
        stamp = format_time(now)
        replicas = int(d["spec"].get("replicas", 1))
        if status["availableReplicas"] >= replicas - max_unavailable(d):
            set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability.", stamp)
        else:
            set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", stamp)
        complete = is_complete(d, status)
        if complete and cleanup:
            await self._cleanup(d, old_rss)
        after = self._progress(d, new_rs, old_status, status, now, rollout, complete)
        for key in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
            if not status.get(key):
                status.pop(key, None)  # omitempty
        if status != old_status:
            fresh["status"] = status
            await self.client.update_status(RESOURCE, fresh)
        return after

    @staticmethod
    def _counts(d: Obj, new_rs: Obj | None, all_rss: list[Obj], old_status: Obj) -> Obj:
        total = sum(status_of(rs, "replicas") for rs in all_rss)
        available = sum(status_of(rs, "availableReplicas") for rs in all_rss)
        status: Obj = {"observedGeneration": d["metadata"].get("generation", 1), "replicas": total,
                       "updatedReplicas": status_of(new_rs, "replicas"),
                       "readyReplicas": sum(status_of(rs, "readyReplicas") for rs in all_rss),
                       "availableReplicas": available,
                       "unavailableReplicas": max(int(d["spec"].get("replicas", 1)) - available, 0),
                       "conditions": copy.deepcopy(old_status.get("conditions") or [])}
        if old_status.get("collisionCount") is not None:
            status["collisionCount"] = old_status["collisionCount"]
        return status

    def _progress(self, d: Obj, new_rs: Obj | None, old_status: Obj, status: Obj, now: datetime.datetime,
                  rollout: bool, complete: bool) -> float | None:
        """The Progressing condition; the seconds until the deadline when it may pass unnoticed."""
        stamp = format_time(now)
        deadline = d["spec"].get("progressDeadlineSeconds")
        if d["spec"].get("paused"):
            set_condition(status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", stamp)
            return None
        if not rollout:
            return None
        cond = condition(status, "Progressing")
        if cond is not None and cond.get("reason") == "DeploymentPaused":
            set_condition(status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", stamp)
        if deadline is None or deadline == MAX_INT32:
            status["conditions"] = [c for c in status["conditions"] if c.get("type") != "Progressing"]
            return None
        name = new_rs["metadata"]["name"] if new_rs else ""
        if complete:
            set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                          f'ReplicaSet "{name}" has successfully progressed.', stamp)
            return None
        if new_rs is not None and condition(status, "Progressing") is None:
            set_condition(status, "Progressing", "True", "FoundNewReplicaSet", f'Found new replica set "{name}"',
                          stamp)
        if made_progress(old_status, status):
            message = f'ReplicaSet "{name}" is progressing.' if new_rs else "Deployment is progressing."
            set_condition(status, "Progressing", "True", "ReplicaSetUpdated", message, stamp, keep_transition=False)
        elif timed_out(d, status, now):
            set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                          f'ReplicaSet "{name}" has timed out progressing.', stamp)
            return None
        cond = condition(status, "Progressing")
        since = parse_time((cond or {}).get("lastUpdateTime")) or now
        return max((since + datetime.timedelta(seconds=int(deadline)) - now).total_seconds(), 0) + 1.0

    async def _write_status(self, d: Obj, status: Obj) -> None:
        fresh = self.client.get(RESOURCE, d["metadata"]["namespace"], d["metadata"]["name"])
        if fresh is None:
            return
        fresh["status"] = status
        updated = await self.client.update_status(RESOURCE, fresh)
        d["status"] = updated.get("status") or {}
        d["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]


async def start(ctx: Context) -> Component:
    controller = DeploymentController(ctx)
    scale.register(ctx, RESOURCE)
    controller.start()
    return controller
