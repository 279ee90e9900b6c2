"""The balanced groups' pure parts: labels (engine/networks/balancerules.py), the
rules they render, and compose's choice of a balanced group (compose/balance.py)."""

from __future__ import annotations

import re

import pytest

from baleine.compose import balance, yamlfile
from baleine.compose.model import Project
from baleine.compose.normalize import normalize_service
from baleine.engine.networks import balancerules as br
from baleine.rules.balancing import probability, spread
from baleine.rules.errors import InvalidParameter


@pytest.mark.parametrize("text,expected", [
    ("80", br.PortSpec(80)),
    ("53/udp", br.PortSpec(53, "udp")),
    ("8080:80", br.PortSpec(80, "tcp", "", 8080)),
    ("127.0.0.1:8080:80/tcp", br.PortSpec(80, "tcp", "127.0.0.1", 8080)),
    (":80", br.PortSpec(80)),
])
def test_ports_label(text: str, expected: br.PortSpec) -> None:
    assert br.parse_port(text) == expected
    assert br.parse_port(br.format_port(expected)) == expected


@pytest.mark.parametrize("text", ["x", "0", "70000", "1:2:3:4", "80/icmp", "nothost:80:80", "[::1]:80:80"])
def test_bad_ports_label(text: str) -> None:
    with pytest.raises(InvalidParameter):
        br.parse_port(text)


def test_restart_label() -> None:
    assert br.parse_restart("") is None
    assert br.parse_restart("none") is None
    assert br.parse_restart("any") == br.RestartSpec("any", 0, 5.0, 0.0)
    r = br.parse_restart("on-failure;max_attempts=3;delay=500ms;window=2m")
    assert r == br.RestartSpec("on-failure", 3, 0.5, 120.0)
    assert br.parse_restart(br.format_restart(r)) == r
    for bad in ("always", "any;max_attempts=x", "any;delay=-1", "any;colour=red"):
        with pytest.raises(InvalidParameter):
            br.parse_restart(bad)


def test_spread_gives_each_target_one_nth() -> None:
    rules = spread("C", [("a", "A"), ("b", "B"), ("c", "C3")])
    probs = [re.search(r"--probability (\S+)", r) for r in rules]
    assert [float(p.group(1)) if p else 1.0 for p in probs] == pytest.approx([1 / 3, 1 / 2, 1.0])
    assert probability(4) == "0.2500000000"


def frontend(targets: list[str]) -> br.Frontend:
    return br.Frontend("p_web", br.parse_port("8080:80"), {"net1": "10.1.0.200"},
                       {"net1": [br.Target(ip) for ip in targets]}, "net1")


def test_render_dnats_vip_and_host_port_to_ready_members() -> None:
    text = br.render("abcd1234", [frontend(["10.1.0.2", "10.1.0.3"])])
    nat = text.split("*filter")[0]
    assert "-d 10.1.0.200/32 -p tcp -m tcp --dport 80 -j BALB-abcd1234-G" in nat
    assert "-m addrtype --dst-type LOCAL -p tcp -m tcp --dport 8080 -j BALB-abcd1234-G" in nat
    assert nat.count("--to-destination 10.1.0.2:80") == 2 and nat.count("--to-destination 10.1.0.3:80") == 2
    assert "-A BALB-abcd1234-POST -m mark --mark 0x10000/0x10000 -j MASQUERADE" in nat
    assert "REJECT" not in text


def test_render_rejects_without_ready_member_and_drops_stale_chains() -> None:
    text = br.render("abcd1234", [frontend([])], frozenset({"BALB-abcd1234-GOLD", "BALB-abcd1234-SVC"}))
    filt = text.split("*filter")[1]
    assert "-d 10.1.0.200/32 -p tcp -m tcp --dport 80 -j REJECT" in filt
    assert "--dport 8080 -j REJECT" in filt
    assert "-X BALB-abcd1234-GOLD" in text and "-X BALB-abcd1234-SVC" not in text
    assert "DNAT" not in text


def test_render_binds_one_host_address() -> None:
    f = br.Frontend("g", br.parse_port("127.0.0.1:9000:80"), {}, {"n": [br.Target("10.0.0.5")]}, "n")
    assert "-d 127.0.0.1/32 -p tcp -m tcp --dport 9000 -j BALB-t-G" in br.render("t", [f])


def project(text: str) -> Project:
    services = {name: normalize_service(name, spec, {}, "/proj")
                for name, spec in yamlfile.load(text, "x")[0]["services"].items()}
    return Project(name="p", working_dir="/proj", config_files=["/proj/compose.yaml"], services=services)


def test_compose_balanced_when_replicated_with_ports() -> None:
    p = project("""services:
  web: {image: x, ports: ["8080:80", "9090/udp"], deploy: {replicas: 3, restart_policy: {condition: on-failure,
        max_attempts: 2, delay: 2s, window: 10s}}}
  one: {image: x, ports: ["80"]}
  vip: {image: x, deploy: {endpoint_mode: vip}}
  rr: {image: x, ports: ["80"], deploy: {replicas: 3, endpoint_mode: dnsrr}}
""")
    web = p.services["web"]
    assert balance.is_balanced(web, 3) and balance.is_balanced(web, 1)  # the file says 3
    assert not balance.is_balanced(p.services["one"], 1) and balance.is_balanced(p.services["one"], 2)
    assert balance.is_balanced(p.services["vip"], 1) and not balance.is_balanced(p.services["rr"], 3)
    assert balance.labels(p, "web") == {br.LABEL: "p_web", br.LABEL_PORTS: "8080:80,9090/udp",
                                        br.LABEL_RESTART: "on-failure;max_attempts=2;delay=2;window=10"}
    assert balance.stale({}, p, "web", 3) and not balance.stale(balance.labels(p, "web"), p, "web", 3)
    assert not balance.stale({"other": "x"}, p, "one", 1)
