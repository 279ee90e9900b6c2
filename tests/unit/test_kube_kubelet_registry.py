"""The node agent's side of the registry: graceful pod deletion, and a pod's container
as a create body, over a real SQLite store (no daemon, no mocks)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from baleine.kube.gc import Collector
from baleine.kube.kinds import by_resource
from baleine.kube.kubelet import config
from baleine.kube.manager import Context, Options
from baleine.kube.registry import Registry
from baleine.kube.storage import Storage

POD = by_resource("pods")
NS = by_resource("namespaces")


def run(path: Path, body: Callable[[Registry], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        storage = Storage(str(path / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        await registry.create(NS, "", {"metadata": {"name": "default"}})
        registry.graceful_node = "here"
        try:
            return await body(registry)
        finally:
            await storage.close()
    return asyncio.run(main())


def pod(name: str, node: str = "here", grace: int = 30, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"nodeName": node, "terminationGracePeriodSeconds": grace,
                                                 "containers": [{"name": "c", "image": "busybox", **spec}]}}


def test_pods_of_the_agents_node_are_deleted_gracefully(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        for name, node in (("mine", "here"), ("ghost", "ghost"), ("unbound", "")):
            await r.create(POD, "default", pod(name, node))
        obj, gone = await r.delete(POD, "default", "mine")
        assert not gone and obj["metadata"]["deletionGracePeriodSeconds"] == 30 and obj["metadata"]["deletionTimestamp"]
        assert r.storage.get("pods", "default", "mine") is not None
        # the collector leaves it to the agent
        assert not await Collector(r).sweep() and r.storage.get("pods", "default", "mine") is not None
        # deleting again changes nothing; the agent's final delete (grace 0) removes it
        assert (await r.delete(POD, "default", "mine"))[1] is False
        assert (await r.delete(POD, "default", "mine", grace_period=0))[1] is True
        assert r.storage.get("pods", "default", "mine") is None
        # pods of another node, unbound ones, and grace 0 go at once
        assert (await r.delete(POD, "default", "ghost"))[1] is True
        assert (await r.delete(POD, "default", "unbound"))[1] is True
        await r.create(POD, "default", pod("quick"))
        obj, gone = await r.delete(POD, "default", "quick", grace_period=5)
        assert not gone and obj["metadata"]["deletionGracePeriodSeconds"] == 5
    run(tmp_path, body)


def test_finished_pods_and_pods_without_an_agent_go_at_once(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        await r.create(POD, "default", pod("done"))
        stored = r.storage.get("pods", "default", "done")
        await r._commit(POD, stored, {**stored, "status": {"phase": "Succeeded"}}, "status", False)
        assert (await r.delete(POD, "default", "done"))[1] is True
        r.graceful_node = ""
        await r.create(POD, "default", pod("agentless"))
        assert (await r.delete(POD, "default", "agentless"))[1] is True
    run(tmp_path, body)


def test_a_container_as_a_create_body(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        ctx = Context(r, None, Options())
        spec = {"name": "web", "image": "nginx:1.25", "command": ["/bin/app"], "args": ["--port", "80"],
                "workingDir": "/srv", "env": [{"name": "A", "value": "1"}], "stdin": True,
                "resources": {"limits": {"cpu": "1500m", "memory": "1Gi"}, "requests": {"cpu": "100m"}},
                "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_TIME"]}}}
        created, _ = await r.create(POD, "default", {"metadata": {"name": "p"}, "spec": {
            "hostname": "h", "securityContext": {"runAsUser": 7}, "containers": [spec],
            "hostAliases": [{"ip": "192.0.2.9", "hostnames": ["db", "cache"]}]}})
        body = config.create_body(ctx, created, created["spec"]["containers"][0], {"Cmd": ["nginx"]}, "sbx", 2,
                                  False, [{"Type": "bind", "Source": "/a", "Target": "/b"}])
        hc = body["HostConfig"]
        assert (body["Entrypoint"], body["Cmd"]) == (["/bin/app"], ["--port", "80"])
        assert body["WorkingDir"] == "/srv" and body["User"] == "7" and body["Hostname"] == "h"
        assert "A=1" in body["Env"] and body["OpenStdin"] is True
        assert body["Labels"]["io.kubernetes.container.restartCount"] == "2"
        assert (hc["NetworkMode"], hc["IpcMode"]) == ("container:sbx", "container:sbx")
        assert (hc["NanoCpus"], hc["Memory"], hc["CpuShares"]) == (1_500_000_000, 2**30, 102)
        assert hc["Privileged"] is True and hc["CapAdd"] == ["SYS_TIME"] and hc["RestartPolicy"] == {"Name": "no"}
        assert hc["Mounts"] == [{"Type": "bind", "Source": "/a", "Target": "/b"}]
        assert hc["DnsSearch"][0] == "default.svc.cluster.local"
        assert hc["ExtraHosts"] == ["db:192.0.2.9", "cache:192.0.2.9"]
    run(tmp_path, body)


def test_the_collector_deletes_a_graceful_dependent_once(tmp_path: Path) -> None:
    async def body(r: Registry) -> None:
        owner = (await r.create(by_resource("configmaps"), "default", {"metadata": {"name": "owner"}}))[0]
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
        dependent = pod("dependent")
        dependent["metadata"]["ownerReferences"] = [ref]
        await r.create(POD, "default", dependent)
        await r.delete(by_resource("configmaps"), "default", "owner")
        collector = Collector(r)
        assert await collector.sweep() is True  # the pod is deleted gracefully...
        assert r.storage.get("pods", "default", "dependent")["metadata"]["deletionTimestamp"]
        assert await collector.sweep() is False  # ...once: the collector does not spin on it
    run(tmp_path, body)
