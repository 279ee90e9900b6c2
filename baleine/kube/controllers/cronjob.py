"""The cronjob controller (``pkg/controller/cronjob``, controller v2 of Kubernetes 1.32).

Contracts of :meth:`CronJobController.reconcile`:

- ``status.active`` lists the CronJob's unfinished Jobs (those it controls); a
  Job that finished leaves it (``SawCompletedJob``), a completed one moves
  ``lastSuccessfulTime``;
- the schedule (``schedule`` with ``timeZone``) gives the most recent activation
  not yet run since ``lastScheduleTime`` (or creation), and no earlier than
  ``startingDeadlineSeconds`` ago; more than 100 missed activations are reported
  (``TooManyMissedTimes``) and the most recent one is run; one missed by more
  than ``startingDeadlineSeconds`` is skipped (``MissSchedule``);
- ``concurrencyPolicy``: Allow runs it beside active Jobs, Forbid skips it while
  one is active, Replace deletes the active ones first;
- the Job is ``<cronjob>-<scheduled time in unix minutes>``, from ``jobTemplate``
  (labels, annotations, the ``batch.kubernetes.io/cronjob-scheduled-timestamp``
  annotation), controlled by the CronJob; ``lastScheduleTime`` is the scheduled time;
- ``suspend`` runs nothing; finished Jobs beyond ``successfulJobsHistoryLimit``
  and ``failedJobsHistoryLimit`` are deleted, oldest first;
- the next look is asked for 100 ms after the next activation.
"""

from __future__ import annotations

import datetime
from typing import Any

from ..client import controller_of, owner_reference
from ..controller import Controller
from ..manager import Component, Context
from ..status import APIError
from .job import finished_condition
from .podtemplate import format_time, parse_time, utcnow
from .schedule import Schedule, ScheduleError, parse, zone

Obj = dict[str, Any]
RESOURCE = "cronjobs.batch"
JOBS = "jobs.batch"
SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_DELTA = 0.1
MAX_MISSED = 100


# --- pure rules ------------------------------------------------------------------------

def job_name(cronjob: str, scheduled: datetime.datetime) -> str:
    """``getJobName``: the CronJob's name and the scheduled time in minutes since the epoch."""
    return f"{cronjob}-{int(scheduled.timestamp()) // 60}"


def most_recent(schedule: Schedule, earliest: datetime.datetime,
                now: datetime.datetime) -> tuple[datetime.datetime | None, int]:
    """``mostRecentScheduleTime``: the last activation in (earliest, now] and how many there were."""
    t1 = schedule.next(earliest)
    if t1 is None or now < t1:
        return None, 0
    t2 = schedule.next(t1)
    if t2 is None or now < t2:
        return t1, 1
    latest, count, t = t1, 1, t2
    while t is not None and t <= now and count <= 10 * MAX_MISSED:
        latest, count = t, count + 1
        t = schedule.next(t)
    if t is not None and t <= now:  # far behind: count by the interval, as Kubernetes does
        interval = max((t2 - t1).total_seconds(), 1.0)
        count = int((now - t1).total_seconds() // interval) + 1
        latest = t1 + datetime.timedelta(seconds=(count - 1) * interval)
        while True:
            after = schedule.next(latest)
            if after is None or after > now:
                break
            latest = after
    return latest, count


def earliest_time(cj: Obj, now: datetime.datetime, with_deadline: bool) -> datetime.datetime:
    status = cj.get("status") or {}
    earliest = parse_time(status.get("lastScheduleTime")) or parse_time(cj["metadata"].get("creationTimestamp")) \
        or now
    deadline = cj["spec"].get("startingDeadlineSeconds")
    if with_deadline and deadline is not None:
        earliest = max(earliest, now - datetime.timedelta(seconds=int(deadline)))
    return earliest


def next_look(cj: Obj, schedule: Schedule, now: datetime.datetime) -> float | None:
    """``nextScheduleTimeDuration``: seconds until just after the next activation."""
    earliest = earliest_time(cj, now, False)
    recent, _ = most_recent(schedule, earliest, now)
    upcoming = schedule.next(recent or earliest)
    while upcoming is not None and upcoming <= now:
        upcoming = schedule.next(upcoming)
    if upcoming is None:
        return None
    return (upcoming - now).total_seconds() + NEXT_DELTA


# --- the controller -----------------------------------------------------------------------

class CronJobController(Controller):
    name = "cronjob-controller"
    primary = RESOURCE
    watches = (JOBS,)

    async def reconcile(self, namespace: str, name: str) -> float | None:
        cj = self.client.get(RESOURCE, namespace, name)
        if cj is None:
            return None
        uid = cj["metadata"]["uid"]
        jobs = [j for j in self.client.list(JOBS, namespace) if (controller_of(j) or {}).get("uid") == uid]
        status = dict(cj.get("status") or {})
        await self._track_active(cj, jobs, status)
        after: float | None = None
        if not cj["metadata"].get("deletionTimestamp"):
            after = await self._schedule(cj, jobs, status)
            await self._write(cj, status)
            await self._cleanup(cj, jobs)
        else:
            await self._write(cj, status)
        return after

    async def _track_active(self, cj: Obj, jobs: list[Obj], status: Obj) -> None:
        by_uid = {j["metadata"]["uid"]: j for j in jobs}
        active = []
        for ref in status.get("active") or []:
            job = by_uid.get(ref.get("uid"))
            if job is None:
                continue  # deleted meanwhile
            cond = finished_condition(job)
            if cond is None:
                active.append(ref)
                continue
            await self.client.event(cj, "Normal", "SawCompletedJob",
                                    f"Saw completed job: {job['metadata']['name']}, status: {cond['type']}")
            if cond["type"] == "Complete":
                done = (job.get("status") or {}).get("completionTime")
                last = status.get("lastSuccessfulTime")
                if done and (not last or parse_time(done) > parse_time(last)):
                    status["lastSuccessfulTime"] = done
        known = {r.get("uid") for r in status.get("active") or []}
        for job in jobs:
            cond = finished_condition(job)
            if cond is None and job["metadata"]["uid"] not in known:
                await self.client.event(cj, "Warning", "UnexpectedJob",
                                        f"Saw a job that the controller did not create or forgot: "
                                        f"{job['metadata']['name']}")
            elif cond is not None and cond["type"] == "Complete" and job["metadata"]["uid"] not in known:
                done = (job.get("status") or {}).get("completionTime")
                last = status.get("lastSuccessfulTime")
                if done and (not last or parse_time(done) > parse_time(last)):
                    status["lastSuccessfulTime"] = done
        if active:
            status["active"] = active
        else:
            status.pop("active", None)

    async def _schedule(self, cj: Obj, jobs: list[Obj], status: Obj) -> float | None:
        """Start the Job due now, if any; the seconds until the next look."""
        spec = cj["spec"]
        try:
            tz = zone(spec.get("timeZone"))
        except ScheduleError as exc:
            await self.client.event(cj, "Warning", "UnknownTimeZone", str(exc))
            return None
        try:
            schedule = parse(spec.get("schedule", ""), tz)
        except ScheduleError as exc:
            await self.client.event(cj, "Warning", "UnparseableSchedule",
                                    f"unparseable schedule: {spec.get('schedule')!r} : {exc}")
            return None
        if spec.get("suspend"):
            return None
        now = utcnow()
        view = {**cj, "status": status}
        scheduled, missed = most_recent(schedule, earliest_time(view, now, True), now)
        if scheduled is None:
            return next_look(view, schedule, now)
        if missed > MAX_MISSED:
            await self.client.event(cj, "Warning", "TooManyMissedTimes",
                                    f"too many missed start times: {missed}. Set or decrease "
                                    f".spec.startingDeadlineSeconds or check clock skew")
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + datetime.timedelta(seconds=int(deadline)) < now:
            await self.client.event(cj, "Warning", "MissSchedule", "Missed scheduled time to start a job: "
                                    + scheduled.strftime("%a, %d %b %Y %H:%M:%S +0000"))
            return next_look(view, schedule, now)
        name = job_name(cj["metadata"]["name"], scheduled)
        if any(r.get("name") == name for r in status.get("active") or []) \
                or status.get("lastScheduleTime") == format_time(scheduled):
            return next_look(view, schedule, now)
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and status.get("active"):
            return next_look(view, schedule, now)
        if policy == "Replace":
            for ref in status.get("active") or []:
                if await self.client.delete(JOBS, cj["metadata"]["namespace"], ref["name"]):
                    await self.client.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {ref['name']}")
            status.pop("active", None)
        job = await self._create_job(cj, name, scheduled, tz)
        if job is None:
            return next_look(view, schedule, now)
        status["active"] = [*(status.get("active") or []),
                            {"kind": "Job", "namespace": job["metadata"]["namespace"],
                             "name": job["metadata"]["name"], "uid": job["metadata"]["uid"],
                             "apiVersion": "batch/v1", "resourceVersion": job["metadata"]["resourceVersion"]}]
        status["lastScheduleTime"] = format_time(scheduled)
        return next_look({**cj, "status": status}, schedule, now)

    async def _create_job(self, cj: Obj, name: str, scheduled: datetime.datetime,
                          tz: datetime.tzinfo) -> Obj | None:
        template = cj["spec"].get("jobTemplate") or {}
        meta = template.get("metadata") or {}
        annotations = dict(meta.get("annotations") or {})
        annotations[SCHEDULED] = scheduled.astimezone(tz).isoformat().replace("+00:00", "Z")
        body = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": cj["metadata"]["namespace"],
                             "labels": dict(meta.get("labels") or {}), "annotations": annotations,
                             "ownerReferences": [owner_reference(cj)]},
                "spec": dict(template.get("spec") or {})}
        try:
            job = await self.client.create(JOBS, cj["metadata"]["namespace"], body)
        except APIError as exc:
            if exc.code == 409:
                return None  # made before a restart: the job list shows it next time
            await self.client.event(cj, "Warning", "FailedCreate", f"Error creating job: {exc}")
            raise
        await self.client.event(cj, "Normal", "SuccessfulCreate", f"Created job {name}")
        return job

    async def _cleanup(self, cj: Obj, jobs: list[Obj]) -> None:
        """``cleanupFinishedJobs``: the oldest finished Jobs beyond the history limits."""
        for kind, limit_key in (("Complete", "successfulJobsHistoryLimit"), ("Failed", "failedJobsHistoryLimit")):
            limit = cj["spec"].get(limit_key)
            if limit is None:
                continue
            done = [j for j in jobs if (finished_condition(j) or {}).get("type") == kind]
            done.sort(key=lambda j: ((j.get("status") or {}).get("startTime") or j["metadata"].get("creationTimestamp")
                                     or "", j["metadata"]["name"]))
            for job in done[:max(len(done) - int(limit), 0)]:
                if await self.client.delete(JOBS, job["metadata"]["namespace"], job["metadata"]["name"]):
                    await self.client.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {job['metadata']['name']}")

    async def _write(self, cj: Obj, status: Obj) -> None:
        if status == (cj.get("status") or {}):
            return
        cj["status"] = status
        await self.client.update_status(RESOURCE, cj)


async def start(ctx: Context) -> Component:
    controller = CronJobController(ctx)
    controller.start()
    return controller
