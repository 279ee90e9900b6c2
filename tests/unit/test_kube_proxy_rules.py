"""The proxy's pure parts: Services and slices reduced to Service ports (``model``),
and the iptables rules rendered from them (``rules``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from baleine.engine.networks import daemon_tag as engine_tag
from baleine.kube.proxy import kernel, rules
from baleine.kube.proxy.model import Endpoint, ServicePort, service_ports

TAG = "abcd1234"


def svc(name: str, **spec: object) -> dict:
    base = {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                                 "targetPort": 8080}]}
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {**base, **spec}}


def slice_(service: str, *eps: tuple[str, dict], port_name: str = "http") -> dict:
    return {"metadata": {"name": f"{service}-x", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "ports": [{"name": port_name, "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": cond} for ip, cond in eps]}


READY = {"ready": True, "serving": True, "terminating": False}
NOT_READY = {"ready": False, "serving": False, "terminating": False}
DRAINING = {"ready": False, "serving": True, "terminating": True}


def test_the_tag_is_the_engine_firewalls() -> None:
    assert kernel.daemon_tag("/tmp/some/root") == engine_tag("/tmp/some/root")


def test_service_ports_take_endpoints_of_their_port_name_and_skip_headless_and_external_names() -> None:
    services = [svc("web"), svc("headless", clusterIP="None"), svc("ext", type="ExternalName", clusterIP=""),
                svc("np", type="NodePort", clusterIP="10.96.0.21",
                    ports=[{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"}])]
    slices = [slice_("web", ("10.0.0.2", READY), ("10.0.0.3", NOT_READY)),
              slice_("web", ("10.0.0.4", READY), port_name="other"), slice_("headless", ("10.0.0.2", READY))]
    ports = service_ports(services, slices)
    assert [p.name for p in ports] == ["np", "web"]
    web = ports[1]
    assert [(e.ip, e.ready) for e in web.endpoints] == [("10.0.0.2", True), ("10.0.0.3", False)]
    assert [e.ip for e in web.usable()] == ["10.0.0.2"]
    assert ports[0].node_port == 30080 and ports[0].endpoints == ()


def test_terminating_serving_endpoints_take_over_only_when_none_is_ready() -> None:
    sp = ServicePort("d", "s", "", "TCP", "10.96.0.9", 80,
                     endpoints=(Endpoint("10.0.0.2", 80, False, True, True), Endpoint("10.0.0.3", 80)))
    assert [e.ip for e in sp.usable()] == ["10.0.0.3"]
    sp = ServicePort("d", "s", "", "TCP", "10.96.0.9", 80, endpoints=(Endpoint("10.0.0.2", 80, False, True, True),
                                                                        Endpoint("10.0.0.4", 80, False, False)))
    assert [e.ip for e in sp.usable()] == ["10.0.0.2"]


def test_affinity_timeout_defaults_to_three_hours() -> None:
    assert service_ports([svc("a", sessionAffinity="ClientIP")], [])[0].affinity_seconds == 10800
    assert service_ports([svc("a", sessionAffinity="ClientIP", sessionAffinityConfig={
        "clientIP": {"timeoutSeconds": 60}})], [])[0].affinity_seconds == 60


def three() -> ServicePort:
    return ServicePort("default", "web", "http", "TCP", "10.96.0.20", 80, 30080, True, 0,
                       tuple(Endpoint(f"10.0.0.{i}", 8080) for i in (2, 3, 4)))


def test_each_endpoint_gets_one_nth_of_new_connections() -> None:
    text = rules.render(TAG, [three()], "192.0.2.2")
    chain = rules.service_chain(TAG, three())
    picks = [line for line in text.splitlines() if line.startswith(f"-A {chain} ") and "-> " in line]
    probs = [float(m.group(1)) if (m := re.search(r"--probability (\S+)", p)) else 1.0 for p in picks]
    assert probs == pytest.approx([1 / 3, 1 / 2, 1.0])
    share, left = [], 1.0
    for p in probs:
        share.append(left * p)
        left -= left * p
    assert share == pytest.approx([1 / 3] * 3)
    for ep in three().endpoints:
        assert f"-j DNAT --to-destination {ep.ip}:8080" in text
        assert f"-A {rules.endpoint_chain(TAG, three(), ep)} -s {ep.ip}/32 -j BKUBE-{TAG}-MARK" in text  # hairpin


def test_cluster_ip_nodeport_and_ingress_jump_to_the_service_chain() -> None:
    text = rules.render(TAG, [three()], "192.0.2.2")
    chain = rules.service_chain(TAG, three())
    assert re.search(rf"-A BKUBE-{TAG}-SERVICES .*-d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j {chain}$", text, re.M)
    assert re.search(rf"-A BKUBE-{TAG}-SERVICES .*-d 192.0.2.2/32 -p tcp -m tcp --dport 80 -j {chain}$", text, re.M)
    assert re.search(rf"-A BKUBE-{TAG}-NODEPORTS .*--dport 30080 -j BKUBE-{TAG}-MARK$", text, re.M)
    assert re.search(rf"-A BKUBE-{TAG}-NODEPORTS .*--dport 30080 -j {chain}$", text, re.M)
    services = [line for line in text.splitlines() if line.startswith(f"-A BKUBE-{TAG}-SERVICES")]
    assert services[-1].endswith(f"--dst-type LOCAL -j BKUBE-{TAG}-NODEPORTS")
    assert "REJECT" not in text


def test_no_usable_endpoint_rejects_instead_of_dnat() -> None:
    sp = ServicePort("default", "empty", "", "UDP", "10.96.0.30", 53, 30053,
                     endpoints=(Endpoint("10.0.0.2", 53, ready=False, serving=False),))
    text = rules.render(TAG, [sp])
    nat, filt = text.split("*filter")
    assert "10.96.0.30" not in nat and "DNAT" not in nat
    assert "-d 10.96.0.30/32 -p udp -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable" in filt
    assert "--dst-type LOCAL -p udp -m udp --dport 30053 -j REJECT" in filt


def test_affinity_checks_recent_lists_before_choosing() -> None:
    sp = ServicePort("default", "web", "", "TCP", "10.96.0.20", 80, affinity_seconds=60,
                     endpoints=(Endpoint("10.0.0.2", 80), Endpoint("10.0.0.3", 80)))
    chain = rules.service_chain(TAG, sp)
    lines = [line for line in rules.render(TAG, [sp]).splitlines() if line.startswith(f"-A {chain}")]
    checks = [i for i, line in enumerate(lines) if "--rcheck --seconds 60 --reap" in line]
    picks = [i for i, line in enumerate(lines) if "->" in line]
    assert len(checks) == 2 and max(checks) < min(picks)
    assert rules.render(TAG, [sp]).count("--rsource --set") == 2


def test_stale_chains_are_flushed_and_deleted_wanted_ones_kept() -> None:
    keep = rules.service_chain(TAG, three())
    text = rules.render(TAG, [three()], stale=frozenset({keep, f"BKUBE-{TAG}-SOLD", f"BKUBE-{TAG}-FILTER"}))
    assert f":BKUBE-{TAG}-SOLD - [0:0]" in text and f"-X BKUBE-{TAG}-SOLD" in text
    assert f"-X {keep}" not in text and f"-X BKUBE-{TAG}-FILTER" not in text


def test_chain_names_fit_iptables() -> None:
    text = rules.render("ffffffff", [three()], "192.0.2.2")
    names = [line[1:].split()[0] for line in text.splitlines() if line.startswith(":")]
    assert names and all(len(n) <= 28 for n in names)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("iptables-restore"), reason="needs iptables as root")
def test_the_rules_are_accepted_by_iptables_restore() -> None:
    sp = ServicePort("default", "web", "", "TCP", "10.96.0.20", 80, affinity_seconds=60,
                     endpoints=(Endpoint("10.0.0.2", 80),))
    empty = ServicePort("default", "none", "", "SCTP", "10.96.0.21", 80, 30001)
    text = rules.render(TAG, [three(), sp, empty], "192.0.2.2")
    proc = subprocess.run(["iptables-restore", "--test", "--noflush"], input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_udp_conntrack_entries_cleared_when_endpoints_come_or_go() -> None:
    from baleine.kube.proxy.model import stale_udp_flows

    def dns(*ips: str) -> ServicePort:
        return ServicePort("kube-system", "kube-dns", "dns", "UDP", "10.96.0.10", 53, 30053,
                           endpoints=tuple(Endpoint(ip, 53) for ip in ips))
    tcp = ServicePort("kube-system", "kube-dns", "dns-tcp", "TCP", "10.96.0.10", 53)
    assert stale_udp_flows([dns()], [dns("10.0.0.2"), tcp]) == [
        ["--orig-dst", "10.96.0.10", "--orig-port-dst", "53"], ["--orig-port-dst", "30053"]]
    assert stale_udp_flows([dns("10.0.0.2", "10.0.0.3")], [dns("10.0.0.3")]) == [
        ["--orig-dst", "10.96.0.10", "--dst-nat", "10.0.0.2"], ["--orig-port-dst", "30053", "--dst-nat", "10.0.0.2"]]
    assert stale_udp_flows([dns("10.0.0.2")], [dns("10.0.0.2", "10.0.0.3")]) == []


def test_external_ips_are_answered_like_the_cluster_ip() -> None:
    ports = service_ports([svc("web", externalIPs=["198.51.100.7"])], [slice_("web", ("10.0.0.2", READY))])
    assert ports[0].external_ips == ("198.51.100.7",)
    text = rules.render(TAG, ports)
    chain = rules.service_chain(TAG, ports[0])
    assert re.search(rf"-d 198.51.100.7/32 -p tcp -m tcp --dport 80 -j BKUBE-{TAG}-MARK$", text, re.M)
    assert re.search(rf"-d 198.51.100.7/32 -p tcp -m tcp --dport 80 -j {chain}$", text, re.M)
    empty = service_ports([svc("web", externalIPs=["198.51.100.7"])], [])
    assert "-d 198.51.100.7/32 -p tcp -m tcp --dport 80 -j REJECT" in rules.render(TAG, empty)
