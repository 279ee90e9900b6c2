"""The job controller (``pkg/controller/job`` of Kubernetes 1.32).

Contracts of :meth:`JobController.reconcile`:

- the Job's pods are those it controls (the API server gives a Job the selector
  ``batch.kubernetes.io/controller-uid`` and its template the labels
  ``batch.kubernetes.io/controller-uid``, ``batch.kubernetes.io/job-name``,
  ``controller-uid``, ``job-name``); pods are the record of what ran: succeeded
  and failed pods are counted from the pods that exist (Kubernetes' job-tracking
  finalizers are not used: deleting a finished pod by hand forgets it);
- NonIndexed: up to ``min(parallelism, completions - succeeded)`` active pods;
  complete at ``completions`` succeeded pods (no ``completions``: once one pod
  succeeded and none is active). Indexed: one pod per index not yet succeeded
  (``<job>-<index>-`` names, the ``batch.kubernetes.io/job-completion-index``
  annotation and label, ``JOB_COMPLETION_INDEX`` from it, hostname
  ``<job>-<index>``); complete when every index succeeded (``completedIndexes``);
- failures (failed pods, plus container restarts for ``OnFailure``) above
  ``backoffLimit``: ``BackoffLimitExceeded``; ``activeDeadlineSeconds`` after
  ``startTime``: ``DeadlineExceeded``. Either sets ``FailureTarget``, deletes the
  active pods, then ``Failed``. Success sets ``SuccessCriteriaMet``, then
  ``Complete`` with ``completionTime`` (reason ``CompletionsReached``);
- a pod replacing failed ones waits the back-off: 10 s doubling per failure since
  the last success, capped at 6 minutes, from the last failure;
- ``suspend``: active pods deleted, ``Suspended`` condition; resuming resets ``startTime``;
- a finished Job with ``ttlSecondsAfterFinished`` is deleted (with its pods) that
  long after it finished (the TTL-after-finished controller's part).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
from typing import Any

from ..client import owner_reference
from ..controller import Controller
from ..manager import Component, Context
from ..status import APIError
from .claim import claim
from .podtemplate import deletion_order, format_time, is_active, is_ready, parse_time, phase, pod_from_template, utcnow

Obj = dict[str, Any]
RESOURCE = "jobs.batch"
INDEX = "batch.kubernetes.io/job-completion-index"
BACKOFF = 10.0
MAX_BACKOFF = 360.0


# --- pure rules ------------------------------------------------------------------------

def backoff_delay(failures: int) -> float:
    """The wait before a new pod after ``failures`` failures since the last success."""
    if failures <= 0:
        return 0.0
    return min(BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)


def pod_index(pod: Obj, completions: int | None) -> int | None:
    """The completion index of an Indexed Job's pod, None when missing or out of range."""
    value = (pod["metadata"].get("annotations") or {}).get(INDEX)
    try:
        index = int(value) if value is not None else None
    except ValueError:
        return None
    if index is None or index < 0 or (completions is not None and index >= completions):
        return None
    return index


def format_indexes(indexes: set[int]) -> str:
    """``completedIndexes``: ``"0-2,4,6-7"``."""
    out: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def finished_condition(job: Obj) -> Obj | None:
    """The ``Complete`` or ``Failed`` condition that is True, if any."""
    return next((c for c in (job.get("status") or {}).get("conditions") or []
                 if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"), None)


def finish_time(pod: Obj) -> datetime.datetime | None:
    """When a terminal pod ended: its containers' last ``finishedAt``, else its Ready condition's change."""
    times = [parse_time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt"))
             for s in (pod.get("status") or {}).get("containerStatuses") or []]
    found = [t for t in times if t is not None]
    if found:
        return max(found)
    ready = next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready and ready.get("status") == "False":
        return parse_time(ready.get("lastTransitionTime"))
    return None


def set_condition(status: Obj, type_: str, value: str, reason: str, message: str, stamp: str) -> bool:
    """Add or change a Job condition; whether anything changed."""
    conditions = status.setdefault("conditions", [])
    current = next((c for c in conditions if c.get("type") == type_), None)
    if current and (current.get("status"), current.get("reason"), current.get("message")) == (value, reason, message):
        return False
    new = {"type": type_, "status": value, "lastProbeTime": stamp, "lastTransitionTime": stamp, "reason": reason,
           "message": message}
    if current is not None:
        if current.get("status") == value:
            new["lastTransitionTime"] = current.get("lastTransitionTime") or stamp
        conditions[conditions.index(current)] = new
    else:
        conditions.append(new)
    return True


def has_condition(status: Obj, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in status.get("conditions") or [])


# --- the controller -----------------------------------------------------------------------

class JobController(Controller):
    name = "job-controller"
    primary = RESOURCE
    watches = ("pods",)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        #: Failed pods without a finish time: when this controller first saw them failed (by job uid,
        #: then pod uid; forgotten when the Job finishes or goes).
        self._seen_failed: dict[str, dict[str, datetime.datetime]] = {}

    async def reconcile(self, namespace: str, name: str) -> float | None:
        job = self.client.get(RESOURCE, namespace, name)
        if job is None:
            self._forget()
            return None
        pods = await claim(self.client, "pods", job, job["spec"].get("selector"), self.client.list("pods", namespace))
        if finished_condition(job) is not None:
            self._seen_failed.pop(job["metadata"]["uid"], None)
            return await self._finished(job, [p for p in pods if is_active(p)])
        if job["metadata"].get("deletionTimestamp"):
            return None
        return await self._sync(job, pods)

    def _forget(self) -> None:
        """Drop what is remembered about the pods of Jobs that are gone."""
        live = {j["metadata"]["uid"] for j in self.client.list(RESOURCE)}
        for uid in [u for u in self._seen_failed if u not in live]:
            del self._seen_failed[uid]

    async def _sync(self, job: Obj, pods: list[Obj]) -> float | None:
        spec = job["spec"]
        now = utcnow()
        stamp = format_time(now)
        status: Obj = copy.deepcopy(job.get("status") or {})
        active = [p for p in pods if is_active(p)]
        succeeded = [p for p in pods if phase(p) == "Succeeded"]
        failed = [p for p in pods if phase(p) == "Failed"]
        completions = spec.get("completions")
        indexed = spec.get("completionMode") == "Indexed"
        done_indexes = {i for i in (pod_index(p, completions) for p in succeeded) if i is not None}
        n_succeeded = len(done_indexes) if indexed else len(succeeded)
        failures = len(failed)
        if (spec.get("template") or {}).get("spec", {}).get("restartPolicy") == "OnFailure":
            failures += sum(int(s.get("restartCount") or 0) for p in active
                            for s in (p.get("status") or {}).get("containerStatuses") or [])
        after: list[float] = []
        events: list[tuple[str, str, str]] = []

        if spec.get("suspend"):
            await self._delete_pods(job, active)
            active = []
            if set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", stamp):
                events.append(("Normal", "Suspended", "Job suspended"))
        else:
            if has_condition(status, "Suspended"):
                set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", stamp)
                events.append(("Normal", "Resumed", "Job resumed"))
                status["startTime"] = stamp
            status.setdefault("startTime", stamp)

        reason, message = self._failure(job, status, failures, now, after)
        complete = (len(done_indexes) >= int(completions) if indexed and completions is not None
                    else n_succeeded >= int(completions) if completions is not None
                    else n_succeeded > 0 and not active)
        if reason:
            set_condition(status, "FailureTarget", "True", reason, message, stamp)
            await self._delete_pods(job, active)
            active = []
            if set_condition(status, "Failed", "True", reason, message, stamp):
                events.append(("Warning", reason, message))
        elif complete or has_condition(status, "SuccessCriteriaMet"):
            message = "Reached expected number of succeeded pods"
            set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached", message, stamp)
            await self._delete_pods(job, active)
            active = []
            if set_condition(status, "Complete", "True", "CompletionsReached", message, stamp):
                status["completionTime"] = stamp
                events.append(("Normal", "Completed", "Job completed"))
        elif not spec.get("suspend"):
            wait = self._backoff_left(job["metadata"]["uid"], succeeded, failed, now)
            if wait > 0:
                after.append(wait)
            active = await self._manage(job, active, n_succeeded, done_indexes, wait <= 0)

        status["active"] = len(active)
        status["succeeded"] = n_succeeded
        status["failed"] = len(failed)
        status["ready"] = sum(1 for p in active if is_ready(p))
        status["terminating"] = sum(1 for p in pods if p["metadata"].get("deletionTimestamp")
                                    and phase(p) not in ("Succeeded", "Failed"))
        status["uncountedTerminatedPods"] = {}
        if indexed:
            status["completedIndexes"] = format_indexes(done_indexes)
        for key in ("active", "succeeded", "failed"):
            if not status[key]:
                del status[key]  # omitempty
        await self._write(job, status)
        for type_, reason_, message_ in events:
            await self.client.event(job, type_, reason_, message_)
        if finished_condition({"status": status}) is not None:
            return self._ttl_left(job, status, now)
        return min(after) if after else None

    def _failure(self, job: Obj, status: Obj, failures: int, now: datetime.datetime,
                 after: list[float]) -> tuple[str, str]:
        """The reason the Job fails now, if any; the seconds to its deadline go to ``after``."""
        spec = job["spec"]
        for cond in status.get("conditions") or []:
            if cond.get("type") == "FailureTarget" and cond.get("status") == "True":
                return cond.get("reason", ""), cond.get("message", "")
        if failures > int(spec.get("backoffLimit", 6)):
            return "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        deadline = spec.get("activeDeadlineSeconds")
        start = parse_time(status.get("startTime"))
        if deadline is not None and start is not None and not spec.get("suspend"):
            left = (start + datetime.timedelta(seconds=int(deadline)) - now).total_seconds()
            if left <= 0:
                return "DeadlineExceeded", "Job was active longer than specified deadline"
            after.append(left)
        return "", ""

    def _backoff_left(self, job_uid: str, succeeded: list[Obj], failed: list[Obj], now: datetime.datetime) -> float:
        """Seconds before another pod may start after recent failures."""
        last_success = max((t for t in (finish_time(p) for p in succeeded) if t), default=None)
        times = []
        for pod in failed:
            when = finish_time(pod) or self._seen_failed.setdefault(job_uid, {}).setdefault(pod["metadata"]["uid"], now)
            if last_success is None or when > last_success:
                times.append(when)
        if not times:
            return 0.0
        left = (max(times) + datetime.timedelta(seconds=backoff_delay(len(times))) - now).total_seconds()
        return max(left, 0.0)

    async def _manage(self, job: Obj, active: list[Obj], n_succeeded: int, done: set[int],
                      may_create: bool) -> list[Obj]:
        """Create or delete pods towards the wanted parallelism; the active pods after."""
        spec = job["spec"]
        parallelism = int(spec.get("parallelism", 1))
        completions = spec.get("completions")
        if spec.get("completionMode") == "Indexed" and completions is not None:
            busy = {pod_index(p, completions) for p in active}
            extra = [p for p in active if pod_index(p, completions) is None or pod_index(p, completions) in done]
            await self._delete_pods(job, extra)
            active = [p for p in active if p not in extra]
            todo = [i for i in range(int(completions)) if i not in done and i not in busy]
            room = max(parallelism - len(active), 0)
            if may_create:
                active += await self._create(job, todo[:room])
            return active
        want = parallelism if completions is None else min(parallelism, int(completions) - n_succeeded)
        if completions is None and n_succeeded > 0:
            want = min(want, len(active))
        want = max(want, 0)
        if len(active) > want:
            surplus = deletion_order(active)[:len(active) - want]
            await self._delete_pods(job, surplus)
            return [p for p in active if p not in surplus]
        if len(active) < want and may_create:
            active += await self._create(job, [None] * (want - len(active)))
        return active

    async def _create(self, job: Obj, indexes: list[int | None]) -> list[Obj]:
        """``slowStartBatch`` of pods (one per entry of ``indexes``; None: NonIndexed)."""
        made: list[Obj] = []
        batch, i = 1, 0
        while i < len(indexes):
            chunk = indexes[i:i + batch]
            results = await asyncio.gather(*(self._create_one(job, index) for index in chunk))
            made += [r for r in results if r is not None]
            if any(r is None for r in results):
                break
            i += len(chunk)
            batch *= 2
        return made

    async def _create_one(self, job: Obj, index: int | None) -> Obj | None:
        meta = job["metadata"]
        generate = f"{meta['name']}-" if index is None else f"{meta['name']}-{index}-"
        pod = pod_from_template(job["spec"].get("template") or {}, owner_reference(job), generate)
        if index is not None:
            pod["metadata"].setdefault("annotations", {})[INDEX] = str(index)
            pod["metadata"].setdefault("labels", {})[INDEX] = str(index)
            pod["spec"].setdefault("hostname", f"{meta['name']}-{index}")
            ref = {"fieldRef": {"apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX}']"}}
            for container in pod["spec"].get("containers") or []:
                env = container.setdefault("env", [])
                if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                    env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": ref})
        try:
            created = await self.client.create("pods", meta["namespace"], pod)
        except APIError as exc:
            await self.client.event(job, "Warning", "FailedCreate", f"Error creating: {exc}")
            return None
        await self.client.event(job, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        return created

    async def _delete_pods(self, job: Obj, pods: list[Obj]) -> None:
        for pod in pods:
            if await self.client.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"]):
                await self.client.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    async def _write(self, job: Obj, status: Obj) -> None:
        if status == (job.get("status") or {}):
            return
        job["status"] = status
        await self.client.update_status(RESOURCE, job)

    async def _finished(self, job: Obj, active: list[Obj]) -> float | None:
        """A finished Job: leftover active pods deleted; deleted itself when its TTL is over."""
        await self._delete_pods(job, active)
        now = utcnow()
        left = self._ttl_left(job, job.get("status") or {}, now)
        if left is not None and left <= 0:
            await self.client.delete(RESOURCE, job["metadata"]["namespace"], job["metadata"]["name"])
            return None
        return left

    @staticmethod
    def _ttl_left(job: Obj, status: Obj, now: datetime.datetime) -> float | None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        cond = finished_condition({"status": status})
        if ttl is None or cond is None:
            return None
        finished = parse_time(status.get("completionTime")) or parse_time(cond.get("lastTransitionTime")) or now
        return (finished + datetime.timedelta(seconds=int(ttl)) - now).total_seconds()


async def start(ctx: Context) -> Component:
    controller = JobController(ctx)
    controller.start()
    return controller
