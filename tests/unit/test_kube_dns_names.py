"""The cluster DNS's answers (baleine.kube.dns.names) over an in-memory cluster state."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from baleine.engine.networks import dns as wire
from baleine.kube.dns import names, server
from baleine.kube.dns.names import NOERROR, NXDOMAIN, TYPE_A, TYPE_AAAA, TYPE_PTR, TYPE_SRV, Srv, resolve

D = "cluster.local"
Obj = dict[str, Any]


class Snapshot:
    """A names.Cluster over lists of objects."""

    def __init__(self, namespaces: list[str], services: list[Obj], pods: list[Obj] = (),  # type: ignore[assignment]
                 slices: list[Obj] = ()) -> None:  # type: ignore[assignment]
        self.ns, self.svcs, self.pod_list, self.slices = set(namespaces), list(services), list(pods), list(slices)

    def namespace_exists(self, namespace: str) -> bool:
        return namespace in self.ns

    def service(self, namespace: str, name: str) -> Obj | None:
        return next((s for s in self.svcs if (s["metadata"]["namespace"], s["metadata"]["name"]) == (namespace, name)),
                    None)

    def services(self) -> list[Obj]:
        return self.svcs

    def pods(self, namespace: str) -> list[Obj]:
        return [p for p in self.pod_list if p["metadata"]["namespace"] == namespace]

    def endpoint_slices(self, namespace: str, service: str) -> list[Obj]:
        return [s for s in self.slices if s["metadata"]["namespace"] == namespace
                and s["metadata"]["labels"].get(names.SERVICE_NAME_LABEL) == service]


def svc(name: str, ns: str = "default", ip: str = "10.96.0.20", **spec: Any) -> Obj:
    ports = spec.pop("ports", [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}])
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": ports, **spec}}


def pod(name: str, ip: str, ready: bool = True, ns: str = "default", labels: dict[str, str] | None = None,
        **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "db"}}, "spec": spec,
            "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.fixture
def cluster() -> Snapshot:
    return Snapshot(["default", "prod", "kube-system"], [
        svc("web"),
        svc("web", "prod", "10.96.0.21"),
        svc("db", ip="None", selector={"app": "db"},
            ports=[{"name": "pg", "port": 5432, "protocol": "TCP", "targetPort": 5432}]),
        svc("ext", ip="", type="ExternalName", externalName="example.org."),
    ], [pod("db-0", "10.200.0.5", hostname="db-0", subdomain="db"), pod("db-1", "10.200.0.4"),
        pod("db-2", "10.200.0.6", ready=False), pod("other", "10.200.0.9", labels={"app": "x"})])


def test_cluster_ip_by_full_name_in_any_case(cluster: Snapshot) -> None:
    assert resolve(cluster, D, "web.default.svc.cluster.local", TYPE_A).a == ["10.96.0.20"]
    assert resolve(cluster, D, "WEB.Prod.svc.cluster.local.", TYPE_A).a == ["10.96.0.21"]


def test_existing_name_of_another_type_is_empty_not_absent(cluster: Snapshot) -> None:
    ans = resolve(cluster, D, "web.default.svc.cluster.local", TYPE_AAAA)
    assert ans is not None and ans.rcode == NOERROR and not ans.a


@pytest.mark.parametrize("name", ["nope.default.svc.cluster.local", "web.nons.svc.cluster.local",
                                  "web.default.cluster.local", "a.b.c.d.e.default.svc.cluster.local",
                                  "web.default.svc.cluster.local.default.svc.cluster.local"])
def test_unknown_names_of_the_domain_are_nxdomain(cluster: Snapshot, name: str) -> None:
    ans = resolve(cluster, D, name, TYPE_A)
    assert ans is not None and ans.rcode == NXDOMAIN


@pytest.mark.parametrize("name", ["cluster.local", "svc.cluster.local", "default.svc.cluster.local",
                                  "pod.cluster.local", "prod.pod.cluster.local"])
def test_parents_of_names_exist_empty(cluster: Snapshot, name: str) -> None:
    ans = resolve(cluster, D, name, TYPE_A)
    assert ans is not None and ans.rcode == NOERROR and not ans.a


@pytest.mark.parametrize("name", ["example.com", "local", "xcluster.local", "web.default", "web",
                                  "1.0.0.127.in-addr.arpa"])
def test_names_outside_the_cluster_are_forwarded(cluster: Snapshot, name: str) -> None:
    assert resolve(cluster, D, name, TYPE_A) is None


def test_other_cluster_domain(cluster: Snapshot) -> None:
    assert resolve(cluster, "corp.example", "web.default.svc.corp.example", TYPE_A).a == ["10.96.0.20"]
    assert resolve(cluster, "corp.example", "web.default.svc.cluster.local", TYPE_A) is None


def test_headless_service_resolves_to_ready_pods_sorted(cluster: Snapshot) -> None:
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.4", "10.200.0.5"]


def test_headless_publish_not_ready_addresses(cluster: Snapshot) -> None:
    cluster.svcs[2]["spec"]["publishNotReadyAddresses"] = True
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.4", "10.200.0.5",
                                                                             "10.200.0.6"]


def test_headless_leaves_out_pods_being_deleted_and_without_address(cluster: Snapshot) -> None:
    cluster.pod_list[0]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    cluster.pod_list[1]["status"]["podIP"] = ""
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == []


def test_headless_endpoint_names(cluster: Snapshot) -> None:
    assert resolve(cluster, D, "db-0.db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.5"]
    assert resolve(cluster, D, "10-200-0-4.db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.4"]
    assert resolve(cluster, D, "db-1.db.default.svc.cluster.local", TYPE_A).rcode == NXDOMAIN
    assert resolve(cluster, D, "x.web.default.svc.cluster.local", TYPE_A).rcode == NXDOMAIN


def test_endpoint_slices_win_over_pods(cluster: Snapshot) -> None:
    cluster.slices.append({"metadata": {"namespace": "default", "labels": {names.SERVICE_NAME_LABEL: "db"}},
                           "addressType": "IPv4", "ports": [{"name": "pg", "port": 6432, "protocol": "TCP"}],
                           "endpoints": [{"addresses": ["10.200.0.7"], "conditions": {"ready": True}},
                                         {"addresses": ["10.200.0.8"], "conditions": {"ready": False}},
                                         {"addresses": ["10.200.0.9"], "hostname": "h"}]})
    assert resolve(cluster, D, "db.default.svc.cluster.local", TYPE_A).a == ["10.200.0.7", "10.200.0.9"]
    assert resolve(cluster, D, "_pg._tcp.db.default.svc.cluster.local", TYPE_SRV).srv == [
        Srv(0, 100, 6432, "10-200-0-7.db.default.svc.cluster.local"),
        Srv(0, 100, 6432, "h.db.default.svc.cluster.local")]


def test_srv_of_named_ports(cluster: Snapshot) -> None:
    assert resolve(cluster, D, "_http._tcp.web.default.svc.cluster.local", TYPE_SRV).srv == [
        Srv(0, 100, 80, "web.default.svc.cluster.local")]
    assert resolve(cluster, D, "web.default.svc.cluster.local", TYPE_SRV).srv == [
        Srv(0, 100, 80, "web.default.svc.cluster.local")]
    assert resolve(cluster, D, "_http._udp.web.default.svc.cluster.local", TYPE_SRV).rcode == NXDOMAIN
    assert resolve(cluster, D, "_https._tcp.web.default.svc.cluster.local", TYPE_SRV).rcode == NXDOMAIN
    assert resolve(cluster, D, "_tcp.web.default.svc.cluster.local", TYPE_SRV).rcode == NOERROR


def test_srv_of_headless_names_each_endpoint(cluster: Snapshot) -> None:
    assert resolve(cluster, D, "_pg._tcp.db.default.svc.cluster.local", TYPE_SRV).srv == [
        Srv(0, 100, 5432, "10-200-0-4.db.default.svc.cluster.local"),
        Srv(0, 100, 5432, "db-0.db.default.svc.cluster.local")]


def test_external_name_is_a_cname(cluster: Snapshot) -> None:
    ans = resolve(cluster, D, "ext.default.svc.cluster.local", TYPE_A)
    assert ans.cname == "example.org" and not ans.a


def test_pod_names(cluster: Snapshot) -> None:
    assert resolve(cluster, D, "10-200-0-5.default.pod.cluster.local", TYPE_A).a == ["10.200.0.5"]
    assert resolve(cluster, D, "10-200-0-5.nons.pod.cluster.local", TYPE_A).rcode == NXDOMAIN
    assert resolve(cluster, D, "10-200-5.default.pod.cluster.local", TYPE_A).rcode == NXDOMAIN
    assert resolve(cluster, D, "10-200-0-999.default.pod.cluster.local", TYPE_A).rcode == NXDOMAIN


def test_ptr_of_cluster_ips_and_headless_endpoints(cluster: Snapshot) -> None:
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
    nx = server.encode(query("x.default.svc.cluster.local", TYPE_A), names.Answer(NXDOMAIN))
    assert struct.unpack("!HH", nx[2:6])[0] & 0xF == NXDOMAIN


def test_truncated_reply_has_tc_and_no_records() -> None:
    reply = server.truncated(query("db.default.svc.cluster.local", TYPE_A))
    flags, _, ancount = struct.unpack("!HHH", reply[2:8])
    assert flags & 0x0200 and ancount == 0


def test_upstreams_never_include_the_cluster_dns() -> None:
    assert server.upstream_servers([], ["10.96.0.10", "1.1.1.1"], "10.96.0.10") == ["1.1.1.1"]
    assert server.upstream_servers(["127.0.0.1"], ["1.1.1.1"], "10.96.0.10") == ["127.0.0.1"]
