"""The cluster DNS's answers (baleine.kube.dns.names) over an in-memory cluster state."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from baleine.engine.networks import dns as wire
from baleine.kube.dns import names, server
from baleine.kube.dns.cache import NAMESPACES, PODS, SERVICES, SLICES, WatchCache
from baleine.kube.dns.names import NOERROR, NXDOMAIN, TYPE_A, TYPE_AAAA, TYPE_PTR, TYPE_SRV, Srv, resolve

D = "cluster.local"
Obj = dict[str, Any]


def cache_of(namespaces: list[str], services: list[Obj], pods: list[Obj] = (),  # type: ignore[assignment]
             slices: list[Obj] = ()) -> WatchCache:  # type: ignore[assignment]
    """The server's cache, fed the events a watch would deliver."""
    cache = WatchCache()
    for resource, objs in ((NAMESPACES, [{"metadata": {"name": n}} for n in namespaces]), (SERVICES, services),
                           (PODS, pods), (SLICES, slices)):
        for obj in objs:
            cache.apply(resource, "ADDED", obj)
    return cache


def svc(name: str, ns: str = "default", ip: str = "10.96.0.20", **spec: Any) -> Obj:
    ports = spec.pop("ports", [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}])
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": ports, **spec}}


def pod(name: str, ip: str, ready: bool = True, ns: str = "default", labels: dict[str, str] | None = None,
        **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "db"}}, "spec": spec,
            "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.fixture
def cluster() -> WatchCache:
    return cache_of(["default", "prod", "kube-system"], [
        svc("web"),
        svc("web", "prod", "10.96.0.21"),
        svc("db", ip="None", selector={"app": "db"},
            ports=[{"name": "pg", "port": 5432, "protocol": "TCP", "targetPort": 5432}]),
        svc("ext", ip="", type="ExternalName", externalName="example.org."),
    ], [pod("db-0", "10.200.0.5", hostname="db-0", subdomain="db"), pod("db-1", "10.200.0.4"),
        pod("db-2", "10.200.0.6", ready=False), pod("other", "10.200.0.9", labels={"app": "x"})])


def test_cluster_ip_by_full_name_in_any_case(cluster: WatchCache) -> None:
    assert resolve(cluster, D, "web.default.svc.cluster.local", TYPE_A).a == ["10.96.0.20"]
    assert resolve(cluster, D, "WEB.Prod.svc.cluster.local.", TYPE_A).a == ["10.96.0.21"]


def test_existing_name_of_another_type_is_empty_not_absent(cluster: WatchCache) -> None:
    ans = resolve(cluster, D, "web.default.svc.cluster.local", TYPE_AAAA)
    assert ans is not None and ans.rcode == NOERROR and not ans.a


@pytest.mark.parametrize("name", ["nope.default.svc.cluster.local", "web.nons.svc.cluster.local",
                                  "web.default.cluster.local", "a.b.c.d.e.default.svc.cluster.local",
                                  "web.default.svc.cluster.local.default.svc.cluster.local"])
def test_unknown_names_of_the_domain_are_nxdomain(cluster: WatchCache, name: str) -> None:
    ans = resolve(cluster, D, name, TYPE_A)
    assert ans is not None and ans.rcode == NXDOMAIN


@pytest.mark.parametrize("name", ["cluster.local", "svc.cluster.local", "default.svc.cluster.local",
                                  "pod.cluster.local", "prod.pod.cluster.local"])
def test_parents_of_names_exist_empty(cluster: WatchCache, name: str) -> None:
    ans = resolve(cluster, D, name, TYPE_A)
    assert ans is not None and ans.rcode == NOERROR and not ans.a


@pytest.mark.parametrize("name", ["example.com", "local", "xcluster.local", "web.default", "web",
                                  "1.0.0.127.in-addr.arpa"])
def test_names_outside_the_cluster_are_forwarded(cluster: WatchCache, name: str) -> None:
    assert resolve(cluster, D, name, TYPE_A) is None


def test_other_cluster_domain(cluster: WatchCache) -> None:
    assert resolve(cluster, "corp.example", "web.default.svc.corp.example", TYPE_A).a == ["10.96.0.20"]
    assert resolve(cluster, "corp.example", "web.default.svc.cluster.local", TYPE_A) is None


def test_headless_service_resolves_to_ready_pods_sorted(cluster: WatchCache) -> None:
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.4", "10.200.0.5"]


def test_headless_publish_not_ready_addresses(cluster: WatchCache) -> None:
    cluster.service("default", "db")["spec"]["publishNotReadyAddresses"] = True
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.4", "10.200.0.5",
                                                                             "10.200.0.6"]


def test_headless_leaves_out_pods_being_deleted_and_without_address(cluster: WatchCache) -> None:
    db0, db1 = (p for p in cluster.pods("default") if p["metadata"]["name"] in ("db-0", "db-1"))
    db0["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    db1["status"]["podIP"] = ""
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == []


def test_headless_endpoint_names(cluster: WatchCache) -> None:
    assert resolve(cluster, D, "db-0.db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.5"]
    assert resolve(cluster, D, "10-200-0-4.db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.4"]
    assert resolve(cluster, D, "db-1.db.default.svc.cluster.local", TYPE_A).rcode == NXDOMAIN
    assert resolve(cluster, D, "x.web.default.svc.cluster.local", TYPE_A).rcode == NXDOMAIN


def test_endpoint_slices_win_over_pods(cluster: WatchCache) -> None:
    cluster.apply(SLICES, "ADDED", {"metadata": {"namespace": "default", "name": "db-x",
                                                 "labels": {names.SERVICE_NAME_LABEL: "db"}},
                           "addressType": "IPv4", "ports": [{"name": "pg", "port": 6432, "protocol": "TCP"}],
                           "endpoints": [{"addresses": ["10.200.0.7"], "conditions": {"ready": True}},
                                         {"addresses": ["10.200.0.8"], "conditions": {"ready": False}},
                                         {"addresses": ["10.200.0.9"], "hostname": "h"}]})
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.7", "10.200.0.9"]
    assert resolve(cluster, D, "_pg._tcp.db.default.svc.cluster.local", TYPE_SRV).srv == [
        Srv(0, 100, 6432, "10-200-0-7.db.default.svc.cluster.local"),
        Srv(0, 100, 6432, "h.db.default.svc.cluster.local")]


def test_srv_of_named_ports(cluster: WatchCache) -> None:
    assert resolve(cluster, D, "_http._tcp.web.default.svc.cluster.local", TYPE_SRV).srv == [
        Srv(0, 100, 80, "web.default.svc.cluster.local")]
    assert resolve(cluster, D, "web.default.svc.cluster.local", TYPE_SRV).srv == [
        Srv(0, 100, 80, "web.default.svc.cluster.local")]
    assert resolve(cluster, D, "_http._udp.web.default.svc.cluster.local", TYPE_SRV).rcode == NXDOMAIN
    assert resolve(cluster, D, "_https._tcp.web.default.svc.cluster.local", TYPE_SRV).rcode == NXDOMAIN
    assert resolve(cluster, D, "_tcp.web.default.svc.cluster.local", TYPE_SRV).rcode == NOERROR


def test_srv_of_headless_names_each_endpoint(cluster: WatchCache) -> None:
    assert resolve(cluster, D, "_pg._tcp.db.default.svc.cluster.local", TYPE_SRV).srv == [
        Srv(0, 100, 5432, "10-200-0-4.db.default.svc.cluster.local"),
        Srv(0, 100, 5432, "db-0.db.default.svc.cluster.local")]


def test_external_name_is_a_cname(cluster: WatchCache) -> None:
    ans = resolve(cluster, D, "ext.default.svc.cluster.local", TYPE_A)
    assert ans.cname == "example.org" and not ans.a


def test_pod_names(cluster: WatchCache) -> None:
    assert resolve(cluster, D, "10-200-0-5.default.pod.cluster.local", TYPE_A).a == ["10.200.0.5"]
    assert resolve(cluster, D, "10-200-0-5.nons.pod.cluster.local", TYPE_A).rcode == NXDOMAIN
    assert resolve(cluster, D, "10-200-5.default.pod.cluster.local", TYPE_A).rcode == NXDOMAIN
    assert resolve(cluster, D, "10-200-0-999.default.pod.cluster.local", TYPE_A).rcode == NXDOMAIN


def test_ptr_of_cluster_ips_and_headless_endpoints(cluster: WatchCache) -> None:
    assert resolve(cluster, D, "21.0.96.10.in-addr.arpa", TYPE_PTR).ptr == "web.prod.svc.cluster.local"
    assert resolve(cluster, D, "5.0.200.10.in-addr.arpa", TYPE_PTR).ptr == "db-0.db.default.svc.cluster.local"
    assert resolve(cluster, D, "4.0.200.10.in-addr.arpa", TYPE_PTR).ptr == "10-200-0-4.db.default.svc.cluster.local"
    assert resolve(cluster, D, "99.0.96.10.in-addr.arpa", TYPE_PTR) is None


# --- the wire: the engine's codec, the server's own rules --------------------------------

def query(name: str, qtype: int) -> wire.Query:
    msg = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + wire._encode_name(name) + struct.pack("!HH", qtype, 1)
    return wire.parse_query(msg)


def test_encoded_reply_counts_its_records() -> None:
    q = query("_http._tcp.web.default.svc.cluster.local", TYPE_SRV)
    reply = server.encode(q, names.Answer(srv=[Srv(0, 100, 80, "web.default.svc.cluster.local")] * 2))
    qid, flags, _, ancount = struct.unpack("!HHHH", reply[:8])
    assert (qid, flags & 0xF, ancount) == (0x1234, 0, 2)
    assert flags & 0x8400 == 0x8400  # a reply, authoritative
    question_end = 12 + len(wire._encode_name("_http._tcp.web.default.svc.cluster.local")) + 4
    assert struct.unpack("!I", reply[question_end + 6:question_end + 10])[0] == server.TTL == 5
    nx = server.encode(query("x.default.svc.cluster.local", TYPE_A), names.Answer(NXDOMAIN))
    assert struct.unpack("!HH", nx[2:6])[0] & 0xF == NXDOMAIN


def test_truncated_reply_has_tc_and_no_records() -> None:
    reply = server.truncated(query("db.default.svc.cluster.local", TYPE_A))
    flags, _, ancount = struct.unpack("!HHH", reply[2:8])
    assert flags & 0x0200 and ancount == 0


def test_upstreams_never_include_the_cluster_dns() -> None:
    assert server.upstream_servers([], ["10.96.0.10", "1.1.1.1"], "10.96.0.10") == ["1.1.1.1"]
    assert server.upstream_servers(["127.0.0.1"], ["1.1.1.1"], "10.96.0.10") == ["127.0.0.1"]


# --- the cache follows the watches -------------------------------------------------------

def test_cache_follows_deletions_and_changes(cluster: WatchCache) -> None:
    web = cluster.service("default", "web")
    cluster.apply(SERVICES, "MODIFIED", {**web, "spec": {**web["spec"], "clusterIP": "10.96.0.30"}})
    assert resolve(cluster, D, "web.default.svc.cluster.local", TYPE_A).a == ["10.96.0.30"]
    cluster.apply(SERVICES, "DELETED", web)
    assert resolve(cluster, D, "web.default.svc.cluster.local", TYPE_A).rcode == NXDOMAIN
    cluster.apply(PODS, "DELETED", {"metadata": {"name": "db-1", "namespace": "default"}})
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.5"]
    cluster.apply(NAMESPACES, "DELETED", {"metadata": {"name": "prod"}})
    assert resolve(cluster, D, "web.prod.svc.cluster.local", TYPE_A).rcode == NXDOMAIN


def test_cache_moves_a_slice_whose_service_label_changes() -> None:
    cache = cache_of(["default"], [svc("a", ip="None"), svc("b", ip="None")])
    sl = {"metadata": {"namespace": "default", "name": "s1", "labels": {names.SERVICE_NAME_LABEL: "a"}},
          "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.0.1"]}]}
    cache.apply(SLICES, "ADDED", sl)
    assert resolve(cache, D, "a.default.svc.cluster.local", TYPE_A).a == ["10.1.0.1"]
    cache.apply(SLICES, "MODIFIED", {**sl, "metadata": {**sl["metadata"], "labels": {names.SERVICE_NAME_LABEL: "b"}}})
    assert resolve(cache, D, "a.default.svc.cluster.local", TYPE_A).a == []
    assert resolve(cache, D, "b.default.svc.cluster.local", TYPE_A).a == ["10.1.0.1"]
    cache.apply(SLICES, "DELETED", sl)
    assert cache.endpoint_slices("default", "b") == []
