"""The EndpointSlice controller's pure rules: which pods are endpoints, their
conditions and ports, slices grouped by port set, the legacy Endpoints' subsets,
and the ``kubectl get endpoints`` column."""

from __future__ import annotations

import datetime

from baleine.kube.controllers.endpointslice import (MAX_PER_SLICE, desired_endpoints, resolve_port, slice_groups,
                                                    subsets)
from baleine.kube.printers import table


def pod(name: str, ip: str | None = "10.0.0.2", ready: bool = True, labels: dict | None = None,
        phase: str = "Running", deleting: bool = False, port_name: str = "http", port: int = 8080) -> dict:
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": labels or {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-04T10:00:00Z"
    status: dict = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": meta, "spec": {"nodeName": "node1", "containers": [
        {"name": "c", "ports": [{"name": port_name, "containerPort": port}]}]}, "status": status}


def svc(target: object = "http", **spec: object) -> dict:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": target, "protocol": "TCP"}],
                     **spec}}


def test_target_ports_by_number_and_by_name() -> None:
    p = pod("a")
    assert resolve_port(p, 9000) == 9000 and resolve_port(p, "9000") == 9000
    assert resolve_port(p, "http") == 8080 and resolve_port(p, "nope") is None


def test_only_selected_pods_with_an_address_that_are_not_finished() -> None:
    pods = [pod("b", "10.0.0.3"), pod("a", "10.0.0.2"), pod("noip", None),
            pod("other", "10.0.0.9", labels={"app": "x"}),
            pod("done", "10.0.0.8", phase="Succeeded"), pod("noport", "10.0.0.7", port_name="metrics")]
    eps = desired_endpoints(svc(), pods)
    assert [e["targetRef"]["name"] for _, e in eps] == ["a", "b"]
    _, a = eps[0]
    assert a == {"addresses": ["10.0.0.2"], "conditions": {"ready": True, "serving": True, "terminating": False},
                 "nodeName": "node1", "targetRef": {"kind": "Pod", "namespace": "default", "name": "a",
                                                    "uid": "uid-a"}}
    assert desired_endpoints({"metadata": {"name": "x"}, "spec": {"ports": [{"port": 80}]}}, pods) == []


def test_conditions_of_unready_terminating_and_published_pods() -> None:
    eps = dict((e["targetRef"]["name"], e["conditions"]) for _, e in
               desired_endpoints(svc(), [pod("u", ready=False), pod("t", deleting=True)]))
    assert eps["u"] == {"ready": False, "serving": False, "terminating": False}
    assert eps["t"] == {"ready": False, "serving": True, "terminating": True}
    published = desired_endpoints(svc(publishNotReadyAddresses=True), [pod("u", ready=False)])
    assert published[0][1]["conditions"]["ready"] is True


def test_slices_group_by_resolved_ports_and_split_at_the_maximum() -> None:
    pods = [pod(f"p{i:03}", f"10.0.{i // 200}.{i % 200 + 1}") for i in range(MAX_PER_SLICE + 5)]
    pods.append(pod("zzz", "10.1.0.1", port=9090))
    groups = slice_groups(desired_endpoints(svc(), pods))
    assert [(g[0], len(g[1])) for g in groups] == [
        ([{"name": "", "port": 8080, "protocol": "TCP"}], MAX_PER_SLICE),
        ([{"name": "", "port": 8080, "protocol": "TCP"}], 5),
        ([{"name": "", "port": 9090, "protocol": "TCP"}], 1)]
    assert slice_groups([]) == [([], [])]  # the placeholder


def test_endpoints_subsets_split_ready_and_not_ready_and_leave_terminating_out() -> None:
    eps = desired_endpoints(svc(), [pod("a", "10.0.0.2"), pod("b", "10.0.0.3", ready=False),
                                    pod("t", "10.0.0.4", deleting=True)])
    subs = subsets(svc(), eps)
    assert len(subs) == 1
    assert [a["ip"] for a in subs[0]["addresses"]] == ["10.0.0.2"]
    assert [a["ip"] for a in subs[0]["notReadyAddresses"]] == ["10.0.0.3"]
    assert subs[0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert subs[0]["addresses"][0]["nodeName"] == "node1"
    assert subsets(svc(), []) == []


def test_get_endpoints_column() -> None:
    obj = {"kind": "Endpoints", "metadata": {"name": "web", "creationTimestamp": "2026-12-04T10:00:00Z"},
           "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(2, 7)], "ports": [{"port": 8080}]}]}
    now = datetime.datetime(2026, 12, 4, 10, 0, 30, tzinfo=datetime.timezone.utc)
    row = table("Endpoints", [obj], "1", now=now)["rows"][0]["cells"]
    assert row == ["web", "10.0.0.2:8080,10.0.0.3:8080,10.0.0.4:8080 + 2 more...", "30s"]
    empty = table("Endpoints", [{"metadata": {"name": "x"}}], "1", now=now)["rows"][0]["cells"]
    assert empty[1] == "<none>"


def test_hostname_when_the_pods_subdomain_is_the_service() -> None:
    named = pod("db-0")
    named["spec"].update(hostname="db-0", subdomain="web")
    other = pod("db-1", "10.0.0.3")
    other["spec"].update(hostname="db-1", subdomain="elsewhere")
    eps = desired_endpoints(svc(), [named, other])
    assert [e.get("hostname") for _, e in eps] == ["db-0", None]
    assert [a.get("hostname") for a in subsets(svc(), eps)[0]["addresses"]] == ["db-0", None]
