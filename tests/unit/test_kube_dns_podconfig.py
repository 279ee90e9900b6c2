"""A pod's resolv.conf by dnsPolicy and dnsConfig (baleine.kube.dns.podconfig), as the kubelet makes it."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace
from typing import Any

from baleine.kube.dns import pod_dns_config, render
from baleine.kube.dns.podconfig import ResolvConf, dns_config, parse_resolv_conf

HOST = ResolvConf(["192.168.1.1", "192.168.1.2"], ["corp.example"], ["timeout:2"])


def conf(spec: dict[str, Any], ns: str = "default", host: ResolvConf = HOST) -> dict[str, list[str]]:
    return dns_config(spec, ns, "10.96.0.10", "cluster.local", host)


def test_cluster_first_is_the_default() -> None:
    assert conf({}, "shop") == {
        "nameservers": ["10.96.0.10"],
        "searches": ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"],
        "options": ["ndots:5"]}
    assert conf({"dnsPolicy": "ClusterFirst"}, "shop") == conf({}, "shop")


def test_host_network_falls_back_to_default_unless_with_host_net() -> None:
    host = {"nameservers": HOST.nameservers, "searches": HOST.searches, "options": HOST.options}
    assert conf({"hostNetwork": True}) == host
    assert conf({"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"})["nameservers"] == ["10.96.0.10"]
    assert conf({"dnsPolicy": "ClusterFirstWithHostNet"})["nameservers"] == ["10.96.0.10"]


def test_default_is_the_hosts_resolv_conf() -> None:
    assert conf({"dnsPolicy": "Default"}) == {"nameservers": ["192.168.1.1", "192.168.1.2"],
                                              "searches": ["corp.example"], "options": ["timeout:2"]}


def test_none_is_only_dns_config() -> None:
    assert conf({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["a.example"],
                                                    "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}}
                ) == {"nameservers": ["1.1.1.1"], "searches": ["a.example"], "options": ["ndots:2", "edns0"]}
    assert conf({"dnsPolicy": "None"}) == {"nameservers": [], "searches": [], "options": []}


def test_dns_config_is_appended_and_its_options_override() -> None:
    got = conf({"dnsConfig": {"nameservers": ["10.96.0.10", "1.1.1.1"], "searches": ["svc.cluster.local", "x.example"],
                              "options": [{"name": "ndots", "value": "1"}, {"name": "single-request-reopen"}]}})
    assert got == {"nameservers": ["10.96.0.10", "1.1.1.1"],
                   "searches": ["default.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example",
                                "x.example"],
                   "options": ["ndots:1", "single-request-reopen"]}


def test_limits_are_applied() -> None:
    got = conf({"dnsPolicy": "None", "dnsConfig": {"nameservers": [f"1.1.1.{i}" for i in range(5)],
                                                   "searches": [f"d{i}.example" for i in range(40)]}})
    assert got["nameservers"] == ["1.1.1.0", "1.1.1.1", "1.1.1.2"]
    assert len(got["searches"]) == 32
    long = conf({"dnsPolicy": "None", "dnsConfig": {"searches": [f"{i}{'x' * 250}.example" for i in range(9)]}})
    assert len(" ".join(long["searches"])) <= 2048 and len(long["searches"]) == 7


def test_parse_resolv_conf() -> None:
    parsed = parse_resolv_conf("# comment\nnameserver 10.0.0.1\nsearch old.example\nnameserver 10.0.0.2\n"
                               "; other\nsearch a.example. b.example\noptions ndots:2 rotate\n")
    assert parsed == ResolvConf(["10.0.0.1", "10.0.0.2"], ["a.example", "b.example"], ["ndots:2", "rotate"])


def test_pod_dns_config_reads_the_context() -> None:
    ctx = SimpleNamespace(registry=SimpleNamespace(service_cidr=ipaddress.ip_network("10.112.0.0/12")),
                          options=SimpleNamespace(cluster_domain="corp.local"))
    got = pod_dns_config(ctx, {"metadata": {"namespace": "team"}, "spec": {}})
    assert got["nameservers"] == ["10.112.0.10"]
    assert got["searches"][:3] == ["team.svc.corp.local", "svc.corp.local", "corp.local"]
    assert render(got).startswith("nameserver 10.112.0.10\nsearch team.svc.corp.local svc.corp.local corp.local")
    assert render(got).endswith("options ndots:5\n")


def test_a_pods_ndots_stands_behind_the_engines_embedded_dns() -> None:
    """On a user-defined network (the pods' ``baleine-kube``) the engine adds ndots:0, as moby
    does, only when the container did not set ndots."""
    from baleine.engine.networks.endpoints import embedded_dns_options

    assert embedded_dns_options(["ndots:5"]) == ["ndots:5"]
    assert embedded_dns_options(["timeout:2"]) == ["timeout:2", "ndots:0"]
    assert embedded_dns_options(None) == ["ndots:0"]
