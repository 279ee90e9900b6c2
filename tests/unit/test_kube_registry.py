"""baleine.kube.registry, storage, watch and gc over a real SQLite file (no daemon, no mocks)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from baleine.kube.gc import Collector
from baleine.kube.kinds import by_resource, lookup
from baleine.kube.registry import Registry
from baleine.kube.status import APIError
from baleine.kube.storage import Storage

CM = by_resource("configmaps")
NS = by_resource("namespaces")
DEPLOY = lookup("apps", "v1", "deployments")


def run(path: Path, body: Callable[[Registry], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        storage = Storage(str(path / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        if storage.get("namespaces", "", "default") is None:
            await registry.create(NS, "", {"metadata": {"name": "default"}})
        try:
            return await body(registry)
        finally:
            await storage.close()
    return asyncio.run(main())


def cm(name: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": data or {}}


def test_create_sets_system_fields_and_refuses_duplicates(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        obj, _ = await r.create(CM, "default", cm("a"))
        meta = obj["metadata"]
        assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and meta["generation"] == 1
        assert meta["namespace"] == "default" and int(meta["resourceVersion"]) == r.storage.rv
        with pytest.raises(APIError) as info:
            await r.create(CM, "default", cm("a"))
        assert info.value.code == 409 and info.value.reason == "AlreadyExists"
        with pytest.raises(APIError) as info:
            await r.create(CM, "nowhere", cm("b"))
        assert info.value.code == 404 and info.value.message == 'namespaces "nowhere" not found'
        generated, _ = await r.create(CM, "default", {"metadata": {"generateName": "gen-"}})
        assert generated["metadata"]["name"].startswith("gen-") and len(generated["metadata"]["name"]) == 9
    run(tmp_path, body)


def test_updates_conflict_on_stale_versions_and_bump_generation_on_spec_changes(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        dep = {"metadata": {"name": "d"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                                                   "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
                                                       "containers": [{"name": "c", "image": "i"}]}}}}
        first, _ = await r.create(DEPLOY, "default", dep)
        stale = first["metadata"]["resourceVersion"]
        labelled = {**first, "metadata": {**first["metadata"], "labels": {"x": "y"}}}
        second, _ = await r.update(DEPLOY, "default", "d", labelled)
        assert second["metadata"]["generation"] == 1  # metadata only
        scaled = {**second, "spec": {**second["spec"], "replicas": 3}}
        third, _ = await r.update(DEPLOY, "default", "d", scaled)
        assert third["metadata"]["generation"] == 2
        with pytest.raises(APIError) as info:
            await r.update(DEPLOY, "default", "d", {**scaled, "metadata": {**scaled["metadata"],
                                                                          "resourceVersion": stale}})
        assert info.value.code == 409 and "the object has been modified" in info.value.message
        status = {**third, "status": {"replicas": 3}, "spec": {**third["spec"], "replicas": 9}}
        fourth, _ = await r.update(DEPLOY, "default", "d", status, subresource="status")
        assert fourth["status"] == {"replicas": 3} and fourth["spec"]["replicas"] == 3
        fifth, _ = await r.update(DEPLOY, "default", "d", {**fourth, "status": {}})
        assert fifth["status"] == {"replicas": 3}  # the main resource cannot change status
    run(tmp_path, body)


def test_a_no_op_update_keeps_the_resource_version(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        obj, _ = await r.create(CM, "default", cm("a", {"k": "v"}))
        again, _ = await r.update(CM, "default", "a", obj)
        assert again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    run(tmp_path, body)


def test_patches(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        await r.create(CM, "default", cm("a", {"k": "v"}))
        obj, _, _ = await r.patch(CM, "default", "a", b'{"data":{"x":"1","k":null}}', "application/merge-patch+json")
        assert obj["data"] == {"x": "1"}
        obj, _, _ = await r.patch(CM, "default", "a", b'[{"op":"add","path":"/data/y","value":"2"}]',
                                  "application/json-patch+json")
        assert obj["data"] == {"x": "1", "y": "2"}
        with pytest.raises(APIError) as info:
            await r.patch(CM, "default", "a", b'{"data":{"x":1}}', "application/strategic-merge-patch+json")
        assert info.value.code == 400  # a number where a string is declared
        obj, _, created = await r.patch(CM, "default", "ssa", b"data:\n  a: b\n", "application/apply-patch+yaml",
                                        manager="me")
        assert created and obj["metadata"]["managedFields"][0]["manager"] == "me"
        obj, _, _ = await r.patch(CM, "default", "ssa", b"data:\n  b: c\n", "application/apply-patch+yaml",
                                  manager="me")
        assert obj["data"] == {"b": "c"}  # "a" was released by its only manager
        await r.patch(CM, "default", "ssa", b"data:\n  o: p\n", "application/apply-patch+yaml", manager="other")
        obj, _, _ = await r.patch(CM, "default", "ssa", b"data:\n  o: q\n", "application/apply-patch+yaml",
                                  manager="me")
        assert obj["data"] == {"o": "q"} and [f["manager"] for f in obj["metadata"]["managedFields"]] == \
            ["other", "me"]
        same, _, _ = await r.patch(CM, "default", "ssa", b"data:\n  o: q\n", "application/apply-patch+yaml",
                                   manager="me")
        assert same["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    run(tmp_path, body)


def test_objects_and_the_counter_survive_reopening(tmp_path: Path) -> None:
    rv = run(tmp_path, lambda r: r.create(CM, "default", cm("kept", {"a": "b"})))[0]["metadata"]["resourceVersion"]

    async def body(r: Registry) -> None:
        kept = r.get(CM, "default", "kept")
        assert kept["data"] == {"a": "b"} and kept["metadata"]["resourceVersion"] == rv
        assert r.storage.rv == int(rv)  # the counter is stored, not recounted
        again, _ = await r.create(CM, "default", cm("next"))
        assert int(again["metadata"]["resourceVersion"]) == int(rv) + 1
    run(tmp_path, body)


def test_watch_replays_from_a_version_and_refuses_one_out_of_the_window(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        start = str(r.storage.rv)
        await r.create(CM, "default", cm("w1"))
        await r.delete(CM, "default", "w1")
        events = r.watch(CM, "default", lambda o: True, start)
        got = [await anext(events), await anext(events)]
        await events.aclose()
        assert [(t, o["metadata"]["name"]) for t, o in got] == [("ADDED", "w1"), ("DELETED", "w1")]
        with pytest.raises(APIError) as info:
            r.watch(CM, "default", lambda o: True, "-5")
        assert info.value.code == 410
    run(tmp_path, body)


def test_gc_deletes_dependents_and_namespace_contents(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        gc = Collector(r)
        owner, _ = await r.create(CM, "default", cm("owner"))
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
        child, _ = await r.create(CM, "default", cm("child", ownerReferences=[ref]))
        ref2 = {**ref, "name": "child", "uid": child["metadata"]["uid"]}
        await r.create(CM, "default", cm("grandchild", ownerReferences=[ref2]))
        await r.create(CM, "default", cm("orphan", ownerReferences=[{**ref, "uid": "gone-already"}]))
        await r.create(CM, "default", cm("bystander"))
        await r.delete(CM, "default", "owner")
        while await gc.sweep():
            pass
        assert [o["metadata"]["name"] for o in r.storage.list("configmaps")] == ["bystander"]
        await r.create(NS, "", {"metadata": {"name": "doomed"}})
        await r.create(CM, "doomed", cm("inside"))
        await r.delete(NS, "", "doomed")
        assert r.get(NS, "", "doomed")["status"]["phase"] == "Terminating"
        with pytest.raises(APIError) as info:
            await r.create(CM, "doomed", cm("late"))
        assert info.value.code == 403
        while await gc.sweep():
            pass
        assert r.storage.get("namespaces", "", "doomed") is None
        assert r.storage.list("configmaps", "doomed") == [] and r.storage.list("serviceaccounts", "doomed") == []
    run(tmp_path, body)


def test_orphan_propagation_keeps_dependents(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        owner, _ = await r.create(CM, "default", cm("owner"))
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
        await r.create(CM, "default", cm("child", ownerReferences=[ref]))
        await r.delete(CM, "default", "owner", propagation="Orphan")
        while await Collector(r).sweep():
            pass
        assert "ownerReferences" not in r.get(CM, "default", "child")["metadata"]
    run(tmp_path, body)


def test_core_events_read_as_events_k8s_io(tmp_path: Path) -> None:
    core, new = by_resource("events"), lookup("events.k8s.io", "v1", "events")

    async def body(r: Registry) -> None:
        await r.create(core, "default", {"metadata": {"name": "e1"}, "reason": "Started", "message": "hi",
                                         "type": "Normal", "involvedObject": {"kind": "Pod", "name": "p"}})
        seen = r.get(new, "default", "e1")
        assert seen["apiVersion"] == "events.k8s.io/v1" and seen["note"] == "hi"
        assert seen["regarding"] == {"kind": "Pod", "name": "p"} and "action" not in seen
        with pytest.raises(APIError) as info:
            await r.create(new, "default", {"metadata": {"name": "e2"}})
        assert info.value.code == 405
    run(tmp_path, body)
