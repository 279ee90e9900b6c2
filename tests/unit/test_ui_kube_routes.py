"""baleine.ui.kube's routes over a real registry (a SQLite file, no daemon): the slot's states,
scale and restart as merge patches, the watch stream's shape and its end when the API server
stops. The dashboard's authentication is tested with the daemon (tests/integration/test_ui_kube.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from baleine.kube.kinds import by_resource
from baleine.kube.registry import Registry
from baleine.kube.storage import Storage
from baleine.ui import kube

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "app", "image": "busybox"}]}}}}


def run(tmp_path: Path, check: Callable[[TestClient, web.Application, Registry], Awaitable[Any]],
        attached: bool = True) -> Any:
    async def main() -> Any:
        storage = Storage(str(tmp_path / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        await registry.create(by_resource("namespaces"), "", {"metadata": {"name": "default"}})
        await registry.create(by_resource("deployments.apps"), "default", json.loads(json.dumps(DEPLOYMENT)))
        app = web.Application()
        kube.add_routes(app)
        if attached:  # what the daemon hands over: the started server (its manager's context)
            kube.attach(app, SimpleNamespace(manager=SimpleNamespace(ctx=SimpleNamespace(registry=registry))))
        try:
            async with TestClient(TestServer(app)) as client:
                return await check(client, app, registry)
        finally:
            await storage.close()
    return asyncio.run(main())


def test_the_routes_answer_503_while_starting_then_404_without_the_api(tmp_path: Path) -> None:
    async def check(client: TestClient, app: web.Application, _: Registry) -> None:
        r = await client.get("/ui/kube/namespaces")
        assert r.status == 503 and (await r.json())["message"] == kube.STARTING
        kube.attach(app, None)
        for path in ("/ui/kube/namespaces", "/ui/kube/pods?namespace=default", "/ui/kube/watch"):
            r = await client.get(path)
            assert r.status == 404 and "Kubernetes API not enabled" in (await r.json())["message"]
        r = await client.post("/ui/kube/deployments/default/web/scale", json={"replicas": 1})
        assert r.status == 404
    run(tmp_path, check, attached=False)


def test_lists_and_gets(tmp_path: Path) -> None:
    async def check(client: TestClient, _: web.Application, __: Registry) -> None:
        items = (await (await client.get("/ui/kube/deployments?namespace=default")).json())["items"]
        assert [d["metadata"]["name"] for d in items] == ["web"] and items[0]["kind"] == "Deployment"
        assert (await (await client.get("/ui/kube/pods?namespace=nowhere")).json())["items"] == []
        assert (await (await client.get("/ui/kube/deployments/default/web")).json())["spec"]["replicas"] == 2
        assert (await client.get("/ui/kube/deployments/default/nope")).status == 404
        r = await client.get("/ui/kube/secrets?namespace=default")  # not shown by the dashboard
        assert r.status == 404 and "unknown resource" in (await r.json())["message"]
    run(tmp_path, check)


def test_scale_and_restart_patch_the_deployment(tmp_path: Path) -> None:
    async def check(client: TestClient, _: web.Application, registry: Registry) -> None:
        r = await client.post("/ui/kube/deployments/default/web/scale", json={"replicas": 5})
        assert r.status == 200 and (await r.json())["spec"]["replicas"] == 5
        stored = registry.storage.get("deployments.apps", "default", "web")
        assert stored["spec"]["replicas"] == 5 and stored["metadata"]["generation"] == 2
        for bad in ({"replicas": -1}, {"replicas": "3"}, {"replicas": True}, {}, [1]):
            assert (await client.post("/ui/kube/deployments/default/web/scale", json=bad)).status == 400, bad
        r = await client.post("/ui/kube/deployments/default/nope/scale", json={"replicas": 1})
        assert r.status == 404 and "nope" in (await r.json())["message"]
        r = await client.post("/ui/kube/deployments/default/web/restart")
        assert r.status == 200
        stamp = registry.storage.get("deployments.apps", "default", "web")["spec"]["template"]["metadata"][
            "annotations"][kube.RESTARTED_AT]
        assert stamp.endswith("Z") and len(stamp) == 20
    run(tmp_path, check)


def test_the_watch_sends_what_exists_then_changes_and_ends_with_the_server(tmp_path: Path) -> None:
    async def check(client: TestClient, _: web.Application, registry: Registry) -> None:
        r = await client.get("/ui/kube/watch?namespace=default&resources=deployments,pods")
        assert r.status == 200 and r.headers["Content-Type"] == "application/x-ndjson"
        first = json.loads(await r.content.readline())
        assert (first["resource"], first["type"], first["object"]["metadata"]["name"]) == ("deployments", "ADDED",
                                                                                           "web")
        await registry.patch(by_resource("deployments.apps"), "default", "web", b'{"spec":{"replicas":3}}',
                             "application/merge-patch+json")
        second = json.loads(await r.content.readline())
        assert second["type"] == "MODIFIED" and second["object"]["spec"]["replicas"] == 3
        registry.storage.hub.close()  # the API server stops: every watch ends, so does the stream
        assert await asyncio.wait_for(r.content.read(), 5) == b""
        assert (await client.get("/ui/kube/watch?resources=nope")).status == 404
    run(tmp_path, check)
