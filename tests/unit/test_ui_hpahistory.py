"""baleine.ui.hpahistory: what an HPA's plot is made of (autoscaling/v2 shapes to samples, the
window, repeats left out, a recreated HPA starting over), and over a real registry (a SQLite
file, no daemon) the routes and the watch stream that carry the series to the page."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from baleine.kube.kinds import by_resource
from baleine.kube.registry import Registry
from baleine.ui import hpahistory, kube

from .test_ui_kube_routes import run

HPA_KEY = "horizontalpodautoscalers.autoscaling"


def hpa(name: str = "web", uid: str = "u1", **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "uid": uid},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 1, "maxReplicas": 5,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                                     "type": "Utilization", "averageUtilization": 50}}},
                                 {"type": "Resource", "resource": {"name": "memory", "target": {
                                     "type": "AverageValue", "averageValue": "64Mi"}}},
                                 {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
                                     "type": "AverageValue", "averageValue": "250m"}}},
                                 {"type": "External", "external": {"metric": {"name": "queue"}, "target": {
                                     "type": "Value", "value": "30"}}}]},
            "status": status}


def test_a_sample_reads_every_metric_against_its_target_matched_by_name() -> None:
    # The controller's order need not be the spec's: matched by type and name.
    current = [{"type": "External", "external": {"metric": {"name": "queue"}, "current": {"value": "12"}}},
               {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 73,
                                                                            "averageValue": "365m"}}},
               {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "32Mi"}}}]
    s = hpahistory.sample(hpa(currentReplicas=2, desiredReplicas=3, currentMetrics=current), 100.0)
    assert (s["t"], s["current"], s["desired"], s["min"], s["max"]) == (100.0, 2, 3, 1, 5)
    by_key = {m["key"]: m for m in s["metrics"]}
    assert [m["key"] for m in s["metrics"]] == ["resource/cpu", "resource/memory", "pods/rps", "external/queue"]
    assert by_key["resource/cpu"] == {"key": "resource/cpu", "label": "cpu", "unit": "%", "target": 50.0,
                                           "current": 73.0}
    assert (by_key["resource/memory"]["unit"], by_key["resource/memory"]["target"],
            by_key["resource/memory"]["current"]) == ("bytes", 64 * 2**20, 32 * 2**20)
    assert (by_key["pods/rps"]["target"], by_key["pods/rps"]["current"]) == (0.25, None)  # not reported yet
    assert (by_key["external/queue"]["target"], by_key["external/queue"]["current"]) == (30.0, 12.0)


def test_no_metrics_is_the_controllers_default_and_other_shapes_have_keys() -> None:
    bare = {"metadata": {"name": "a"}, "spec": {"maxReplicas": 3}}
    assert hpahistory.sample(bare, 1)["metrics"] == [
        {"key": "resource/cpu", "label": "cpu", "unit": "%", "target": 80.0, "current": None}]
    assert hpahistory.sample(bare, 1)["min"] == 1  # kube's default minReplicas
    obj = {"type": "Object", "object": {"describedObject": {"kind": "Ingress", "name": "main"},
                                        "metric": {"name": "hits"}, "target": {"type": "Value", "value": "2k"}}}
    cr = {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {
        "type": "AverageValue", "averageValue": "1500m"}}}
    ms = hpahistory.metrics({"spec": {"metrics": [obj, cr]}})
    assert [(m["key"], m["unit"], m["target"]) for m in ms] == [
        ("object/Ingress/main/hits", "", 2000.0), ("containerresource/app/cpu", "cores", 1.5)]


def test_the_history_adds_changes_only_keeps_the_window_and_restarts_with_a_new_uid() -> None:
    h = hpahistory.HPAHistory()
    q = h.subscribe()
    assert h.observe("ADDED", hpa(currentReplicas=1), 1000)["type"] == "ADDED"
    assert h.observe("MODIFIED", hpa(currentReplicas=1), 1010) is None  # nothing plotted moved
    change = h.observe("MODIFIED", hpa(currentReplicas=2), 1020)
    assert change["type"] == "SAMPLE" and [s["current"] for s in change["object"]["samples"]] == [2]
    assert [s["t"] for s in h.series[("default", "web")]["samples"]] == [1000, 1020]
    # Past the window: the older samples go but the newest of them, which starts the line.
    h.observe("MODIFIED", hpa(currentReplicas=3), 1020 + hpahistory.WINDOW + 5)
    assert [s["t"] for s in h.series[("default", "web")]["samples"]] == [1020, 1020 + hpahistory.WINDOW + 5]
    again = h.observe("ADDED", hpa(uid="u2", currentReplicas=4), 3000)  # deleted and made again
    assert again["type"] == "ADDED" and again["object"]["metadata"]["uid"] == "u2"
    assert len(h.series[("default", "web")]["samples"]) == 1
    assert h.observe("DELETED", hpa(uid="u2"), 3001)["type"] == "DELETED" and not h.series
    assert [q.get_nowait()["type"] for _ in range(q.qsize())] == ["ADDED", "SAMPLE", "SAMPLE", "ADDED", "DELETED"]
    h.unsubscribe(q)
    h.observe("ADDED", hpa(), 4000)
    assert q.empty()


def test_the_series_keep_at_most_max_samples() -> None:
    h = hpahistory.HPAHistory()
    for i in range(hpahistory.MAX_SAMPLES + 10):
        h.observe("MODIFIED", hpa(currentReplicas=i % 2 + 1), 1000 + i * 0.01)
    assert len(h.series[("default", "web")]["samples"]) == hpahistory.MAX_SAMPLES


def test_the_routes_and_the_watch_carry_the_series(tmp_path: Path) -> None:
    async def check(client: TestClient, app: web.Application, registry: Registry) -> None:
        kind = by_resource(HPA_KEY)
        body = hpa()
        body.pop("status")
        body["metadata"] = {"name": "web"}
        await registry.create(kind, "default", {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                                **body})
        r = await client.get("/ui/kube/watch?namespace=default&resources=horizontalpodautoscalers,hpahistory")
        assert r.status == 200
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < 2:
            ev = json.loads(await asyncio.wait_for(r.content.readline(), 5))
            seen[ev["resource"]] = ev
        assert seen["hpahistory"]["type"] == "ADDED" and seen["horizontalpodautoscalers"]["type"] == "ADDED"
        assert seen["hpahistory"]["object"]["samples"][0]["metrics"][0]["target"] == 50.0
        status = {"status": {"currentReplicas": 2, "desiredReplicas": 4, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 90}}}]}}
        await registry.patch(kind, "default", "web", json.dumps(status).encode(), "application/merge-patch+json",
                             subresource="status")
        while True:
            ev = json.loads(await asyncio.wait_for(r.content.readline(), 5))
            if ev["resource"] == "hpahistory":
                break
        assert ev["type"] == "SAMPLE" and len(ev["object"]["samples"]) == 1
        new = ev["object"]["samples"][0]
        assert (new["current"], new["desired"], new["metrics"][0]["current"]) == (2, 4, 90.0)
        one = await (await client.get("/ui/kube/hpahistory/default/web")).json()
        assert [s["desired"] for s in one["samples"]] == [None, 4]
        assert (await (await client.get("/ui/kube/hpahistory?namespace=other")).json())["items"] == []
        assert (await client.get("/ui/kube/hpahistory/default/nope")).status == 404
        items = (await (await client.get("/ui/kube/horizontalpodautoscalers?namespace=default")).json())["items"]
        assert items[0]["kind"] == "HorizontalPodAutoscaler" and items[0]["status"]["desiredReplicas"] == 4
        registry.storage.hub.close()  # the API server stops: the history's watch ends, so does the stream
        assert await asyncio.wait_for(r.content.read(), 5) == b""
        task = app[kube.KUBE].task
        assert task is not None
        await asyncio.wait_for(task, 5)
    run(tmp_path, check)
