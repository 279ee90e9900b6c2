"""One reconcile at a time of the workload controllers over a real registry (SQLite storage, no daemon, no mocks):
the policies whose real-time tests would take minutes (CronJob concurrency, history, deadlines; Job suspend and
deadline; ReplicaSet adoption and release)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from baleine.kube.client import Client, controller_of
from baleine.kube.controllers.cronjob import CronJobController, job_name
from baleine.kube.controllers.deployment import DeploymentController
from baleine.kube.controllers.podtemplate import template_hash
from baleine.kube.controllers.job import JobController
from baleine.kube.controllers.replicaset import ReplicaSetController
from baleine.kube.kinds import by_resource
from baleine.kube.manager import Context, Options
from baleine.kube.registry import Registry
from baleine.kube.status import APIError
from baleine.kube.storage import Storage

Obj = dict[str, Any]


def run(path: Path, body: Callable[[Context, Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        storage = Storage(str(path / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        await registry.create(by_resource("namespaces"), "", {"metadata": {"name": "default"}})
        try:
            return await body(Context(registry, None, Options()), Client(registry, "test"))
        finally:
            await storage.close()
    return asyncio.run(main())


def minutes_ago(n: int) -> datetime.datetime:
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    return now - datetime.timedelta(minutes=n)


def ts(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


POD_SPEC = {"nodeName": "ghost", "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}


async def cronjob(client: Client, last: datetime.datetime, **spec: Any) -> Obj:
    cj = await client.create("cronjobs.batch", "default", {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": POD_SPEC}}}, **spec}})
    cj["status"] = {"lastScheduleTime": ts(last)}
    return await client.update_status("cronjobs.batch", cj)


async def set_last(client: Client, last: datetime.datetime) -> None:
    cj = client.get("cronjobs.batch", "default", "cj")
    cj["status"]["lastScheduleTime"] = ts(last)
    await client.update_status("cronjobs.batch", cj)


async def finish(client: Client, name: str, kind: str, started: datetime.datetime) -> None:
    job = client.get("jobs.batch", "default", name)
    stamp = ts(started + datetime.timedelta(seconds=30))
    job["status"] = {"conditions": [{"type": kind, "status": "True", "lastTransitionTime": stamp}],
                     "startTime": ts(started), **({"completionTime": stamp} if kind == "Complete" else {})}
    await client.update_status("jobs.batch", job)


def job_names(client: Client) -> list[str]:
    return sorted(j["metadata"]["name"] for j in client.list("jobs.batch", "default"))


def test_cronjob_runs_the_latest_missed_time_once(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        await cronjob(client, minutes_ago(5))
        c = CronJobController(ctx)
        after = await c.reconcile("default", "cj")
        assert job_names(client) == [job_name("cj", minutes_ago(0))]  # the most recent of the 5 missed
        assert 0 < after <= 60.1
        cj = client.get("cronjobs.batch", "default", "cj")
        assert cj["status"]["lastScheduleTime"] == ts(minutes_ago(0))
        assert [a["name"] for a in cj["status"]["active"]] == job_names(client)
        job = client.list("jobs.batch", "default")[0]
        assert controller_of(job)["uid"] == cj["metadata"]["uid"]
        assert "batch.kubernetes.io/cronjob-scheduled-timestamp" in job["metadata"]["annotations"]
        await c.reconcile("default", "cj")
        assert len(job_names(client)) == 1  # already done for this time
    run(tmp_path, body)


def test_cronjob_forbid_and_replace(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        await cronjob(client, minutes_ago(2), concurrencyPolicy="Forbid")
        c = CronJobController(ctx)
        await c.reconcile("default", "cj")
        first = job_names(client)
        await set_last(client, minutes_ago(3))  # due again while the first is active
        await c.reconcile("default", "cj")
        assert job_names(client) == first
        cj = client.get("cronjobs.batch", "default", "cj")
        cj["spec"]["concurrencyPolicy"] = "Replace"
        await client.update("cronjobs.batch", cj)
        await set_last(client, minutes_ago(3))
        # the active job was scheduled for the same minute: give it an older name by recreating the status
        await client.delete("jobs.batch", "default", first[0])
        old = await client.create("jobs.batch", "default", {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "cj-old", "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "CronJob", "name": "cj", "uid": cj["metadata"]["uid"],
                 "controller": True}]},
            "spec": {"template": {"spec": POD_SPEC}}})
        cj = client.get("cronjobs.batch", "default", "cj")
        cj["status"]["active"] = [{"kind": "Job", "namespace": "default", "name": "cj-old",
                                   "uid": old["metadata"]["uid"], "apiVersion": "batch/v1"}]
        await client.update_status("cronjobs.batch", cj)
        await c.reconcile("default", "cj")
        assert job_names(client) == first  # cj-old replaced by this minute's job
        cj = client.get("cronjobs.batch", "default", "cj")
        assert [a["name"] for a in cj["status"]["active"]] == first
    run(tmp_path, body)


def test_cronjob_history_limits_and_last_success(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        cj = await cronjob(client, minutes_ago(0), successfulJobsHistoryLimit=1, failedJobsHistoryLimit=0)
        ref = {"apiVersion": "batch/v1", "kind": "CronJob", "name": "cj", "uid": cj["metadata"]["uid"],
               "controller": True}
        made = [f"cj-{n}" for n in (1, 2, 3)]
        for i, name in enumerate(made):
            await client.create("jobs.batch", "default", {
                "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "ownerReferences": [ref]},
                "spec": {"template": {"spec": POD_SPEC}}})
            await finish(client, name, "Failed" if name == made[2] else "Complete", minutes_ago(3 - i))
        c = CronJobController(ctx)
        await c.reconcile("default", "cj")
        assert job_names(client) == [made[1]]  # the newest success kept, no failure
        cj = client.get("cronjobs.batch", "default", "cj")
        assert "active" not in cj["status"] and cj["status"]["lastSuccessfulTime"]
    run(tmp_path, body)


def test_cronjob_suspend_and_starting_deadline(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        await cronjob(client, minutes_ago(3), suspend=True)
        c = CronJobController(ctx)
        assert await c.reconcile("default", "cj") is None and job_names(client) == []
        cj = client.get("cronjobs.batch", "default", "cj")
        cj["spec"]["suspend"] = False
        cj["spec"]["schedule"] = f"{minutes_ago(2).minute} * * * *"  # once an hour, two minutes ago
        cj["spec"]["startingDeadlineSeconds"] = 30
        await client.update("cronjobs.batch", cj)
        await c.reconcile("default", "cj")
        assert job_names(client) == []  # missed by more than 30 s: skipped
        cj = client.get("cronjobs.batch", "default", "cj")
        cj["spec"]["startingDeadlineSeconds"] = 600
        await client.update("cronjobs.batch", cj)
        await c.reconcile("default", "cj")
        assert job_names(client) == [job_name("cj", minutes_ago(2))]
    run(tmp_path, body)


async def job(client: Client, **spec: Any) -> Obj:
    return await client.create("jobs.batch", "default", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"spec": POD_SPEC}, **spec}})


def pods(client: Client) -> list[Obj]:
    return client.list("pods", "default")


def test_job_suspend_resume_and_deadline(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        created = await job(client, parallelism=2, completions=4)
        assert created["spec"]["selector"] == {"matchLabels": {
            "batch.kubernetes.io/controller-uid": created["metadata"]["uid"]}}
        c = JobController(ctx)
        await c.reconcile("default", "j")
        assert len(pods(client)) == 2
        j = client.get("jobs.batch", "default", "j")
        assert j["status"]["active"] == 2 and j["status"]["ready"] == 0 and j["status"]["startTime"]
        j["spec"]["suspend"] = True
        await client.update("jobs.batch", j)
        await c.reconcile("default", "j")
        j = client.get("jobs.batch", "default", "j")
        assert pods(client) == [] and "active" not in j["status"]
        assert {c_["type"]: c_["reason"] for c_ in j["status"]["conditions"]} == {"Suspended": "JobSuspended"}
        j["spec"]["suspend"] = False
        j["spec"]["activeDeadlineSeconds"] = 1
        await client.update("jobs.batch", j)
        after = await c.reconcile("default", "j")
        assert len(pods(client)) == 2 and 0 < after <= 1
        await asyncio.sleep(after + 1)
        await c.reconcile("default", "j")
        j = client.get("jobs.batch", "default", "j")
        conds = {c_["type"]: (c_["status"], c_["reason"]) for c_ in j["status"]["conditions"]}
        assert conds["Suspended"] == ("False", "JobResumed")
        assert conds["Failed"] == ("True", "DeadlineExceeded") and conds["FailureTarget"][1] == "DeadlineExceeded"
        assert pods(client) == []
    run(tmp_path, body)


def test_replicaset_adopts_releases_and_replaces(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        await client.create("pods", "default", {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "orphan", "labels": {"app": "a"}}, "spec": POD_SPEC | {"restartPolicy": "Always"}})
        rs = await client.create("replicasets.apps", "default", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}},
                     "template": {"metadata": {"labels": {"app": "a"}},
                                  "spec": POD_SPEC | {"restartPolicy": "Always"}}}})
        c = ReplicaSetController(ctx)
        await c.reconcile("default", "rs")
        names = sorted(p["metadata"]["name"] for p in pods(client))
        assert len(names) == 2 and "orphan" in names  # adopted, one more made
        assert controller_of(client.get("pods", "default", "orphan"))["uid"] == rs["metadata"]["uid"]
        other = next(n for n in names if n != "orphan")
        assert other.startswith("rs-")
        p = client.get("pods", "default", "orphan")
        p["metadata"]["labels"] = {"app": "b"}
        await client.update("pods", p)
        await c.reconcile("default", "rs")
        assert controller_of(client.get("pods", "default", "orphan")) is None  # released
        assert len([p for p in pods(client) if controller_of(p)]) == 2  # and replaced
        status = client.get("replicasets.apps", "default", "rs")["status"]
        assert status["replicas"] == 2 and status["fullyLabeledReplicas"] == 2 and status["observedGeneration"] == 1
    run(tmp_path, body)


def deployment_body(**spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                     "template": {"metadata": {"labels": {"app": "d"}},
                                  "spec": POD_SPEC | {"restartPolicy": "Always"}}, **spec}}


def test_deployment_new_replica_set_and_hash_collision(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        d = await client.create("deployments.apps", "default", deployment_body(minReadySeconds=5))
        pod_hash = template_hash({k: v for k, v in d["spec"]["template"].items()} | {
            "metadata": {"labels": {"app": "d"}}})
        # someone else's ReplicaSet already has the name the hash gives
        await client.create("replicasets.apps", "default", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": f"d-{pod_hash}"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "other"}},
                     "template": {"metadata": {"labels": {"app": "other"}},
                                  "spec": POD_SPEC | {"restartPolicy": "Always"}}}})
        c = DeploymentController(ctx)
        with pytest.raises(APIError):
            await c.reconcile("default", "d")
        assert client.get("deployments.apps", "default", "d")["status"]["collisionCount"] == 1
        await c.reconcile("default", "d")
        ours = [r for r in client.list("replicasets.apps", "default") if controller_of(r)]
        assert len(ours) == 1
        rs = ours[0]
        new_hash = rs["metadata"]["labels"]["pod-template-hash"]
        assert new_hash != pod_hash and rs["metadata"]["name"] == f"d-{new_hash}"
        assert rs["spec"]["selector"]["matchLabels"] == {"app": "d", "pod-template-hash": new_hash}
        assert rs["spec"]["replicas"] == 2 and rs["spec"]["minReadySeconds"] == 5
        ann = rs["metadata"]["annotations"]
        assert (ann["deployment.kubernetes.io/revision"], ann["deployment.kubernetes.io/desired-replicas"],
                ann["deployment.kubernetes.io/max-replicas"]) == ("1", "2", "3")
        d = client.get("deployments.apps", "default", "d")
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        # the pods become Ready: available only after minReadySeconds
        rsc = ReplicaSetController(ctx)
        await rsc.reconcile("default", rs["metadata"]["name"])
        for p in pods(client):
            p["status"] = {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ts(datetime.datetime.now(
                    datetime.timezone.utc))}]}
            await client.update_status("pods", p)
        after = await rsc.reconcile("default", rs["metadata"]["name"])
        status = client.get("replicasets.apps", "default", rs["metadata"]["name"])["status"]
        assert status["readyReplicas"] == 2 and "availableReplicas" not in status and 4 < after <= 5.1
        await c.reconcile("default", "d")
        conds = {x["type"]: x["reason"] for x in client.get("deployments.apps", "default", "d")["status"]["conditions"]}
        assert conds["Available"] == "MinimumReplicasUnavailable"
    run(tmp_path, body)


def test_cronjob_reports_too_many_missed_times_and_still_runs_the_latest(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        await cronjob(client, minutes_ago(200))
        await CronJobController(ctx).reconcile("default", "cj")
        assert job_names(client) == [job_name("cj", minutes_ago(0))]
        reasons = {e["reason"]: e["message"] for e in client.list("events", "default")}
        missed = reasons["TooManyMissedTimes"].split(": ")[1].split(".")[0]
        assert missed in ("200", "201")  # 201 if a minute began during the test
        assert reasons["SuccessfulCreate"] == f"Created job {job_names(client)[0]}"
    run(tmp_path, body)


def test_work_queue_job_completes_when_one_succeeded_and_none_is_left(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        created = await job(client, parallelism=2)
        assert "completions" not in created["spec"]  # parallelism alone: a work queue
        c = JobController(ctx)
        await c.reconcile("default", "j")
        first, second = pods(client)
        for p, phase in ((first, "Succeeded"), (second, "Running")):
            p["status"] = {"phase": phase}
            await client.update_status("pods", p)
        await c.reconcile("default", "j")
        j = client.get("jobs.batch", "default", "j")
        assert len(pods(client)) == 2 and j["status"]["active"] == 1 and j["status"]["succeeded"] == 1
        assert "conditions" not in j["status"]  # no new pod once one succeeded, not done while one works
        second = client.get("pods", "default", second["metadata"]["name"])
        second["status"] = {"phase": "Succeeded"}
        await client.update_status("pods", second)
        await c.reconcile("default", "j")
        j = client.get("jobs.batch", "default", "j")
        assert {x["type"] for x in j["status"]["conditions"]} == {"SuccessCriteriaMet", "Complete"}
        assert j["status"]["succeeded"] == 2
    run(tmp_path, body)
