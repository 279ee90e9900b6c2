"""kubelet/env.py: a container's environment and command line by Kubernetes' rules,
over a real registry on a SQLite file (no daemon, no mocks)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from baleine.kube.client import Client
from baleine.kube.kubelet.env import EnvError, command_line, container_env, expand, flush_events
from baleine.kube.manager import Context, Options
from baleine.kube.registry import Registry
from baleine.kube.storage import Storage

Obj = dict[str, Any]


def with_objects(path: Path, objects: list[tuple[str, str, Obj]], body: Callable[[Context], Any]) -> Any:
    """Run ``body(ctx)`` over a registry holding ``objects`` ((resource, namespace, object))."""
    async def main() -> Any:
        storage = Storage(str(path / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        client = Client(registry)
        try:
            for ns in ("default", "other"):
                await client.create("namespaces", "", {"metadata": {"name": ns}})
            for resource, ns, obj in objects:
                await client.create(resource, ns, obj)
            return body(Context(registry, None, Options(data_root=str(path))))
        finally:
            await flush_events()
            await storage.close()
    return asyncio.run(main())


def pod(namespace: str = "default", **spec: Any) -> Obj:
    return {"metadata": {"name": "web-1", "namespace": namespace, "uid": "u-1", "labels": {"app": "web"},
                         "annotations": {"team": "blue"}},
            "spec": {"nodeName": "node-a", "serviceAccountName": "default", "containers": [{"name": "c"}], **spec},
            "status": {"podIP": "10.88.0.5", "podIPs": [{"ip": "10.88.0.5"}], "hostIP": "192.168.1.2"}}


def cm(name: str, data: dict[str, str]) -> tuple[str, str, Obj]:
    return ("configmaps", "default", {"metadata": {"name": name}, "data": data})


def secret(name: str, data: dict[str, str]) -> tuple[str, str, Obj]:
    return ("secrets", "default", {"metadata": {"name": name}, "stringData": data})


def own(env: list[str]) -> list[str]:
    """The variables that are not service links."""
    return [e for e in env if "_SERVICE_" not in e.split("=")[0] and "_PORT" not in e.split("=")[0]]


def test_expand_follows_kubernetes_expansion() -> None:
    env = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)", env) == "1-two"
    assert expand("$(C)", env) == "$(C)"
    assert expand("$$(A)", env) == "$(A)"
    assert expand("$$", env) == "$"
    assert expand("a$", env) == "a$"
    assert expand("$(A", env) == "$(A"
    assert expand("$x$(A)", env) == "$x1"
    assert expand("$()", env) == "$()"
    assert expand("$(A)", [{}, env]) == "1"


def test_invalid_env_from_keys_are_skipped_with_an_event(tmp_path: Path) -> None:
    async def main() -> list[str]:
        storage = Storage(str(tmp_path / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        client = Client(registry)
        try:
            await client.create("namespaces", "", {"metadata": {"name": "default"}})
            await client.create("secrets", "default", {"metadata": {"name": "mysecret"},
                                                       "stringData": {"1badkey": "x", "2alsobad": "y", "OK": "z"}})
            the_pod = {**pod(), "apiVersion": "v1", "kind": "Pod"}
            env = container_env(Context(registry, None, Options()), the_pod,
                                {"name": "c", "envFrom": [{"secretRef": {"name": "mysecret"}}]})
            assert own(env) == ["OK=z"]
            for _ in range(100):
                await asyncio.sleep(0.01)
                events = [(e["reason"], e["message"]) for e in storage.list("events", "default")]
                if events:
                    return events
            return []
        finally:
            await flush_events()
            await storage.close()
    assert asyncio.run(main()) == [("InvalidEnvironmentVariableNames",
                                    "Keys [1badkey, 2alsobad] from the EnvFrom secret default/mysecret were skipped "
                                    "since they are considered invalid environment variable names.")]


def test_env_from_first_then_env_in_order_with_expansion(tmp_path: Path) -> None:
    container = {"name": "c",
                 "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "s"}}],
                 "env": [{"name": "FIRST", "value": "x$(CFG_mode)"}, {"name": "LATER", "value": "$(NEXT)"},
                         {"name": "NEXT", "value": "n"}, {"name": "ESC", "value": "$$(FIRST)"},
                         {"name": "CFG_mode", "value": "override"}, {"name": "EMPTY"}]}
    env = with_objects(tmp_path, [cm("cfg", {"mode": "fast", "1ok": "prefixed"}),
                                  secret("s", {"TOKEN": "t0p", "1bad": "skipped"})],
                       lambda ctx: container_env(ctx, pod(), container))
    assert own(env) == ["CFG_mode=override", "CFG_1ok=prefixed", "TOKEN=t0p", "FIRST=xfast", "LATER=$(NEXT)", "NEXT=n",
                        "ESC=$(FIRST)", "EMPTY="]


def test_value_from_sources_and_missing_ones(tmp_path: Path) -> None:
    def env_of(var: Obj, objects: list[tuple[str, str, Obj]] | None = None) -> list[str]:
        return own(with_objects(tmp_path / str(len(list(tmp_path.iterdir()))), objects or [],
                                lambda ctx: container_env(ctx, pod(), {"name": "c", "env": [var]})))

    objs = [cm("cfg", {"k": "v"}), secret("s", {"pw": "hunter2"})]
    assert env_of({"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}, objs) == ["A=v"]
    assert env_of({"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}}, objs) == ["A=hunter2"]
    assert env_of({"name": "A", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "k", "optional": True}}}) == []
    assert env_of({"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "no", "optional": True}}},
                  objs) == []
    cases = [({"configMapKeyRef": {"name": "x", "key": "k"}}, 'configmap "x" not found'),
             ({"configMapKeyRef": {"name": "cfg", "key": "nope"}}, "couldn't find key nope in ConfigMap default/cfg"),
             ({"secretKeyRef": {"name": "t", "key": "k"}}, 'secret "t" not found'),
             ({"secretKeyRef": {"name": "s", "key": "nope"}}, "couldn't find key nope in Secret default/s")]
    for source, message in cases:
        with pytest.raises(EnvError) as info:
            env_of({"name": "A", "valueFrom": source}, objs)
        assert str(info.value) == message
    with pytest.raises(EnvError, match='configmap "gone" not found'):
        with_objects(tmp_path / "from", [], lambda ctx: container_env(
            ctx, pod(), {"name": "c", "envFrom": [{"configMapRef": {"name": "gone"}}]}))
    assert own(with_objects(tmp_path / "opt", [], lambda ctx: container_env(
        ctx, pod(), {"name": "c", "envFrom": [{"secretRef": {"name": "gone", "optional": True}}]}))) == []


def test_field_and_resource_refs(tmp_path: Path) -> None:
    fields = {"N": "metadata.name", "NS": "metadata.namespace", "UID": "metadata.uid",
              "APP": "metadata.labels['app']", "TEAM": "metadata.annotations['team']", "NODE": "spec.nodeName",
              "SA": "spec.serviceAccountName", "IP": "status.podIP", "IPS": "status.podIPs",
              "HOST": "status.hostIP"}
    resources = {"CPU": {"resource": "limits.cpu"}, "MCPU": {"resource": "limits.cpu", "divisor": "1m"},
                 "MEM": {"resource": "limits.memory"}, "MIB": {"resource": "limits.memory", "divisor": "1Mi"},
                 "REQ": {"resource": "requests.cpu", "divisor": "1m"},
                 "REQMEM": {"resource": "requests.memory"}}
    container = {"name": "c", "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                 "env": [{"name": k, "valueFrom": {"fieldRef": {"fieldPath": v}}} for k, v in fields.items()]
                 + [{"name": k, "valueFrom": {"resourceFieldRef": v}} for k, v in resources.items()]}
    env = with_objects(tmp_path, [], lambda ctx: container_env(ctx, pod(), container))
    assert own(env) == ["N=web-1", "NS=default", "UID=u-1", "APP=web", "TEAM=blue", "NODE=node-a", "SA=default",
                        "IP=10.88.0.5", "IPS=10.88.0.5", "HOST=192.168.1.2", "CPU=1", "MCPU=500",
                        "MEM=134217728", "MIB=128", "REQ=500", "REQMEM=134217728"]


def test_service_links(tmp_path: Path) -> None:
    svc = {"metadata": {"name": "my-svc"}, "spec": {"ports": [{"name": "http-web", "port": 80},
                                                              {"name": "dns", "port": 53, "protocol": "UDP"}]}}
    headless = {"metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}
    elsewhere = {"metadata": {"name": "far"}, "spec": {"ports": [{"port": 9}]}}
    objects = [("services", "default", svc), ("services", "default", headless), ("services", "other", elsewhere)]
    container = {"name": "c", "env": [{"name": "URL", "value": "http://$(MY_SVC_SERVICE_HOST):$(MY_SVC_SERVICE_PORT)"},
                                      {"name": "MY_SVC_SERVICE_PORT", "value": "mine"}]}

    def both(ctx: Context) -> tuple[list[str], list[str], list[str], str]:
        ip = Client(ctx.registry).get("services", "default", "my-svc")["spec"]["clusterIP"]
        return (container_env(ctx, pod(), container), container_env(ctx, pod(enableServiceLinks=False), {"name": "c"}),
                container_env(ctx, pod("other"), {"name": "c"}), ip)

    env, unlinked, other, ip = with_objects(tmp_path, objects, both)
    values = dict(e.split("=", 1) for e in env)
    assert values["URL"] == f"http://{ip}:80"
    assert values["MY_SVC_SERVICE_PORT"] == "mine"  # the pod's own variable wins
    assert values["MY_SVC_SERVICE_HOST"] == ip and values["MY_SVC_SERVICE_PORT_HTTP_WEB"] == "80"
    assert values["MY_SVC_PORT"] == f"tcp://{ip}:80"
    assert values["MY_SVC_PORT_53_UDP"] == f"udp://{ip}:53" and values["MY_SVC_PORT_53_UDP_PROTO"] == "udp"
    assert values["MY_SVC_PORT_80_TCP_PORT"] == "80" and values["MY_SVC_PORT_80_TCP_ADDR"] == ip
    assert not any(k.startswith(("HEADLESS_", "FAR_")) for k in values)
    assert values["KUBERNETES_SERVICE_HOST"] and values["KUBERNETES_SERVICE_PORT"] == "443"
    assert values["KUBERNETES_PORT_443_TCP_PROTO"] == "tcp"
    for env in (unlinked, other):
        names = {e.split("=", 1)[0] for e in env}
        assert "KUBERNETES_SERVICE_HOST" in names and not any(n.startswith("MY_SVC") for n in names)
    assert any(e.startswith("FAR_SERVICE_HOST=") for e in other)


def test_command_line_against_the_image() -> None:
    image = {"Entrypoint": ["/ep"], "Cmd": ["c1"]}
    assert command_line({}, image) == (["/ep"], ["c1"])
    assert command_line({}, {"Cmd": ["sh"]}) == (None, ["sh"])
    assert command_line({"command": ["sh"]}, image) == (["sh"], [])  # command drops the image's CMD
    assert command_line({"args": ["x"]}, image) == (["/ep"], ["x"])
    assert command_line({"command": ["sh"], "args": ["-c", "echo $(X) $(Y) $$(X)"],
                         "env": [{"name": "X", "value": "y"}]}, image) == (["sh"], ["-c", "echo y $(Y) $(X)"])
    assert command_line({"command": ["echo", "$(A)"]}, image, env=["A=from-env", "B=1"]) == (["echo", "from-env"], [])


def test_unset_limits_are_the_nodes_allocatable(tmp_path: Path) -> None:
    async def main() -> list[str]:
        storage = Storage(str(tmp_path / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        client = Client(registry)
        try:
            await client.create("namespaces", "", {"metadata": {"name": "default"}})
            node = await client.create("nodes", "", {"metadata": {"name": "node-a"}})
            node["status"] = {"allocatable": {"cpu": "4", "memory": "8Gi"}}
            await client.update_status("nodes", node)
            container = {"name": "c", "env": [
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Gi"}}},
                {"name": "REQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu"}}}]}
            return own(container_env(Context(registry, None, Options()), pod(), container))
        finally:
            await storage.close()
    assert asyncio.run(main()) == ["CPU=4", "MEM=8", "REQ=0"]
