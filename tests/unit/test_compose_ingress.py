"""x-baleine-ingress: the label's rules, compose's normalisation, container routes and
their merge with Ingresses (pure)."""
from __future__ import annotations

import base64
import json

import pytest

from baleine.compose import ingress as cingress
from baleine.compose.errors import ComposeError
from baleine.kube.ingress import containers, model, nginx
from baleine.kube.ingress.label import LABEL, Entry, LabelError, check, parse

from .test_kube_ingress_model import CLASS, ingress, rule, service, slice_


# --- the label ------------------------------------------------------------------

def test_check_fills_defaults_and_keeps_tls() -> None:
    assert check({"host": "a.example.test"}, 80) == [Entry("a.example.test", "/", 80)]
    assert check([{"path": "/api", "port": "8080", "tls": "t"}]) == [Entry("", "/api", 8080, "t")]
    assert check({"host": "*.example.test", "port": 1}) == [Entry("*.example.test", "/", 1)]


@pytest.mark.parametrize("raw,field", [
    ({"host": "A_B", "port": 80}, "host"), ({"host": "*.*.x", "port": 80}, "host"),
    ({"path": "api", "port": 80}, "path"), ({"path": "/a b", "port": 80}, "path"),
    ({"port": 0}, "port"), ({"port": 65536}, "port"), ({"port": True}, "port"), ({"port": "x"}, "port"),
    ({}, "port"), ({"port": 80, "weight": 1}, "weight"), ({"port": 80, "tls": "Bad Name"}, "tls"),
    ([{"port": 80}, {"port": -1}], "[1].port"), ([], ""), ("web", ""),
])
def test_check_names_the_field_at_fault(raw: object, field: str) -> None:
    with pytest.raises(LabelError) as info:
        check(raw)
    assert info.value.field == field


def test_parse_is_lenient() -> None:
    assert parse('[{"host":"a.b","port":80}]') == ([Entry("a.b", "/", 80)], "")
    entries, problem = parse("not json")
    assert entries == [] and problem.startswith(LABEL)
    entries, problem = parse('{"port": 99999}')
    assert entries == [] and "port" in problem


# --- compose ----------------------------------------------------------------------

def test_compose_default_port_from_ports_then_expose() -> None:
    svc = {"ports": [{"target": 8080, "protocol": "tcp"}], cingress.EXTENSION: [{"host": "a.b"}, {"path": "/x"}]}
    cingress.apply(svc, "services.web")
    assert json.loads(svc["labels"][LABEL]) == [{"host": "a.b", "path": "/", "port": 8080},
                                                 {"host": "", "path": "/x", "port": 8080}]
    svc = {"expose": ["9000-9002/tcp"], "labels": {"x": "y"}, cingress.EXTENSION: {"tls": "t", "host": "a.b"}}
    cingress.apply(svc, "services.api")
    assert svc["labels"]["x"] == "y"
    assert json.loads(svc["labels"][LABEL]) == [{"host": "a.b", "path": "/", "port": 9000, "tls": "t"}]


def test_compose_errors_name_the_path() -> None:
    with pytest.raises(ComposeError) as info:
        cingress.apply({cingress.EXTENSION: {"host": "a.b"}}, "services.web")
    assert info.value.path == "services.web.x-baleine-ingress.port"
    with pytest.raises(ComposeError) as info:
        cingress.apply({"expose": ["80"], cingress.EXTENSION: [{"path": "/"}, {"path": "x"}]}, "services.web")
    assert info.value.path == "services.web.x-baleine-ingress[1].path"
    svc = {"image": "busybox"}
    cingress.apply(svc, "services.web")
    assert "labels" not in svc


# --- container routes ------------------------------------------------------------------

def doc(name: str, routes: list, *, running: bool = True, health: str | None = None, group: str = "",
        ip: str = "172.18.0.5") -> dict:
    labels = {LABEL: json.dumps(routes)}
    if group:
        labels[containers.BALANCE_LABEL] = group
    state: dict = {"Running": running}
    if health is not None:
        state["Health"] = {"Status": health}
    return {"Name": "/" + name, "Config": {"Labels": labels}, "State": state,
            "NetworkSettings": {"Networks": {"p_default": {"IPAddress": ip}, "other": {"IPAddress": "10.9.9.9"}}}}


def group(name: str, ready: int, port: int = 80) -> dict:
    return {"Name": name, "VirtualIPs": [{"Network": "p_default", "Address": "172.18.0.200"}],
            "Ports": [{"Port": port, "Protocol": "tcp"}], "Ready": ready,
            "Members": [{"Address": "172.18.0.7", "Ready": ready > 0}]}


def test_plain_container_by_its_first_network_address_when_ready() -> None:
    routes, problems = containers.routes([doc("c1", [{"host": "a.b", "port": 80}])], [])
    assert problems == []
    assert [(r.entry.host, r.backend.endpoints) for r in routes] == [("a.b", ("172.18.0.5:80",))]
    for unready in (doc("c1", [{"port": 80}], health="starting"), doc("c1", [{"port": 80}], running=False)):
        assert containers.routes([unready], [])[0][0].backend.endpoints == ()
    assert containers.routes([doc("c1", [{"port": 80}], health="healthy")], [])[0][0].backend.endpoints


def test_balanced_members_share_one_upstream_through_the_vip() -> None:
    docs = [doc(f"p-web-{i}", [{"port": 80}], group="p_web", ip=f"172.18.0.{i}") for i in (1, 2)]
    routes, _ = containers.routes(docs, [group("p_web", 2)])
    assert len(routes) == 1
    assert routes[0].backend.endpoints == ("172.18.0.200:80",)
    assert routes[0].backend.upstream == "_containers-p_web-80"
    assert containers.routes(docs, [group("p_web", 0)])[0][0].backend.endpoints == ()
    # A port the group does not balance: its ready members' own addresses.
    assert containers.routes(docs, [group("p_web", 1, port=81)])[0][0].backend.endpoints == ("172.18.0.7:80",)


def test_bad_label_is_reported_and_routes_nothing() -> None:
    bad = doc("c1", [])
    bad["Config"]["Labels"][LABEL] = "{"
    routes, problems = containers.routes([bad, doc("c2", [{"path": "/x/", "port": 80}])], [])
    assert [r.source for r in routes] == ["c2"] and len(problems) == 1 and "c1" in problems[0]


# --- merged with Ingresses ---------------------------------------------------------------

def tls_secret(name: str) -> dict:
    pem = base64.b64encode(b"-----BEGIN X-----\n").decode()
    return {"metadata": {"name": name, "namespace": "default"}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": pem, "tls.key": pem}}


def test_merge_the_kubernetes_ingress_wins_a_conflict() -> None:
    t = model.build([ingress([rule("a.example.test", ("/", "Prefix", "a"))])], [CLASS], [service("a")],
                    [slice_("a", ("10.0.0.1", True))], [])
    docs = [doc("c1", [{"host": "a.example.test", "port": 80}, {"host": "a.example.test", "path": "/api/",
                                                                 "port": 80}]),
            doc("c2", [{"host": "b.example.test", "port": 80, "tls": "b-tls"}])]
    model.merge(t, containers.routes(docs, [])[0], [tls_secret("b-tls")])
    assert t.containers == ["c1", "c2"]
    assert model.match(t, "a.example.test", "/x").service == "a"  # the Ingress's
    assert model.match(t, "a.example.test", "/api/v1").service == "c1"  # longest prefix
    assert model.match(t, "a.example.test", "/apix").service == "a"
    assert model.match(t, "b.example.test", "/").service == "c2"
    assert t.servers["b.example.test"].tls is not None
    conf, files = nginx.render(t, 80, 443)
    assert "upstream _containers-c1-80" in conf and "location ^~ /api/" in conf and len(files) == 2


def test_merge_missing_tls_secret_gives_the_default_certificate() -> None:
    t = model.build([], [CLASS], [], [], [])
    model.merge(t, containers.routes([doc("c", [{"host": "b.b", "port": 80, "tls": "nope"}])], [])[0], [])
    server = t.servers["b.b"]
    assert server.tls is None and server.tls_secret == "default/nope"
    conf, files = nginx.render(t, 80, 443)
    assert files == {} and "listen 443 ssl;" in conf and nginx.DEFAULT_CERT in conf
