"""Ingress validation, routing model and nginx rendering (pure)."""
from __future__ import annotations

import base64

from baleine.kube.ingress import model, nginx
from baleine.kube.ingress.validation import validate
from baleine.kube.validation import validate as validate_kind

CLASS = {"metadata": {"name": "baleine-nginx",
                      "annotations": {model.DEFAULT_CLASS_ANNOTATION: "true"}},
         "spec": {"controller": model.CONTROLLER}}
OTHER = {"metadata": {"name": "other"}, "spec": {"controller": "example.com/other"}}


def svc_backend(name: str, port: int = 80) -> dict:
    return {"service": {"name": name, "port": {"number": port}}}


def ingress(rules: list, name: str = "ing", cls: str | None = None, tls: list | None = None,
            created: str = "2026-01-01T00:00:00Z", default: dict | None = None) -> dict:
    spec: dict = {"rules": rules}
    if cls:
        spec["ingressClassName"] = cls
    if tls:
        spec["tls"] = tls
    if default:
        spec["defaultBackend"] = default
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": created}, "spec": spec}


def rule(host: str, *paths: tuple[str, str, str]) -> dict:
    return {"host": host, "http": {"paths": [
        {"path": p, "pathType": t, "backend": svc_backend(s)} for p, t, s in paths]}}


def service(name: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


def slice_(name: str, *ips: tuple[str, bool]) -> dict:
    return {"metadata": {"name": name + "-x", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip, ready in ips]}


def table(ings: list, classes: list | None = None, secrets: list | None = None) -> model.Table:
    names = ("a", "b", "foo", "bar", "def")
    return model.build(ings, classes if classes is not None else [CLASS],
                       [service(n) for n in names],
                       [slice_(n, (f"10.0.0.{i + 1}", True), ("10.0.9.9", False)) for i, n in enumerate(names)],
                       secrets or [])


def served(t: model.Table, host: str, path: str) -> str | None:
    b = model.match(t, host, path)
    return b.service if b else None


# --- validation ---------------------------------------------------------------

def test_valid_ingress_passes() -> None:
    assert validate(ingress([rule("a.example.test", ("/", "Prefix", "a"))])) == []
    assert validate(ingress([rule("*.example.test", ("/x", "Exact", "a"))])) == []


def test_bad_path_type_is_unsupported() -> None:
    causes = validate(ingress([rule("a.example.test", ("/", "Regex", "a"))]))
    assert [c.field for c in causes] == ["spec.rules[0].http.paths[0].pathType"]
    assert causes[0].reason == "FieldValueNotSupported"
    assert '"Exact", "ImplementationSpecific", "Prefix"' in causes[0].message


def test_missing_path_type_relative_path_and_bad_hosts() -> None:
    ing = ingress([rule("a.example.test", ("foo", "Prefix", "a")), rule("*.*.example.test"),
                   rule("A_B")])
    ing["spec"]["rules"][0]["http"]["paths"].append({"path": "/x", "backend": svc_backend("a")})
    fields = [c.field for c in validate(ing)]
    assert "spec.rules[0].http.paths[0].path" in fields
    assert "spec.rules[0].http.paths[1].pathType" in fields
    assert "spec.rules[1].host" in fields and "spec.rules[2].host" in fields


def test_backend_service_and_resource_not_both() -> None:
    b = {"service": {"name": "a", "port": {"number": 80}}, "resource": {"kind": "Bucket", "name": "x"}}
    ing = ingress([{"host": "a.test", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": b}]}}])
    assert [c.field for c in validate(ing)] == ["spec.rules[0].http.paths[0].backend"]
    b = {"service": {"name": "a", "port": {}}}
    ing["spec"]["rules"][0]["http"]["paths"][0]["backend"] = b
    assert [c.field for c in validate(ing)] == ["spec.rules[0].http.paths[0].backend.service.port"]


def test_hooked_into_kind_validation() -> None:
    causes = validate_kind("Ingress", ingress([rule("a.test", ("/", "Bogus", "a"))]))
    assert any(c.field.endswith("pathType") for c in causes)
    assert validate_kind("IngressClass", {"metadata": {"name": "x"}, "spec": {}})


# --- the model -------------------------------------------------------------------

def test_prefix_is_element_wise() -> None:
    t = table([ingress([rule("h.test", ("/foo", "Prefix", "foo"))])])
    assert served(t, "h.test", "/foo") == "foo"
    assert served(t, "h.test", "/foo/") == "foo"
    assert served(t, "h.test", "/foo/bar") == "foo"
    assert served(t, "h.test", "/foobar") is None


def test_trailing_slash_prefix_and_exact() -> None:
    t = table([ingress([rule("h.test", ("/foo/", "Prefix", "foo"), ("/bar", "Exact", "bar"))])])
    assert served(t, "h.test", "/foo") == "foo"
    assert served(t, "h.test", "/bar") == "bar"
    assert served(t, "h.test", "/bar/") is None


def test_longest_match_and_exact_wins_tie() -> None:
    t = table([ingress([rule("h.test", ("/", "Prefix", "a"), ("/foo", "Prefix", "foo"),
                             ("/foo/bar", "ImplementationSpecific", "bar"), ("/foo", "Exact", "b"))])])
    assert served(t, "h.test", "/foo") == "b"
    assert served(t, "h.test", "/foo/x") == "foo"
    assert served(t, "h.test", "/foo/bar/baz") == "bar"
    assert served(t, "h.test", "/other") == "a"


def test_wildcard_host_matches_one_label() -> None:
    t = table([ingress([rule("*.example.test", ("/", "Prefix", "a")), rule("x.example.test", ("/", "Prefix", "b"))])])
    assert served(t, "y.example.test", "/") == "a"
    assert served(t, "x.example.test", "/") == "b"
    assert served(t, "a.b.example.test", "/") is None
    assert served(t, "example.test", "/") is None


def test_only_ready_endpoints_and_class_selection() -> None:
    t = table([ingress([rule("a.test", ("/", "Prefix", "a"))])])
    assert model.match(t, "a.test", "/").endpoints == ("10.0.0.1:8080",)
    assert table([ingress([rule("a.test", ("/", "Prefix", "a"))], cls="other")], [CLASS, OTHER]).ingresses == []
    not_default = {**CLASS, "metadata": {"name": "baleine-nginx"}}
    assert table([ingress([rule("a.test", ("/", "Prefix", "a"))])], [not_default]).ingresses == []
    assert table([ingress([rule("a.test", ("/", "Prefix", "a"))], cls="baleine-nginx")], [not_default]).ingresses


def test_oldest_ingress_wins_conflicts_and_default_backend() -> None:
    old = ingress([rule("h.test", ("/", "Prefix", "a"))], name="old", created="2026-01-01T00:00:00Z",
                  default=svc_backend("def"))
    new = ingress([rule("h.test", ("/", "Prefix", "b"), ("/x", "Prefix", "b"))], name="new",
                  created="2026-02-01T00:00:00Z")
    t = table([new, old])
    assert served(t, "h.test", "/") == "a" and served(t, "h.test", "/x") == "b"
    assert served(t, "nowhere.test", "/") == "def"


def test_tls_from_secret_and_missing_secret_is_a_problem() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\ny\n-----END PRIVATE KEY-----\n"
    secret = {"metadata": {"name": "tls-a", "namespace": "default"}, "type": "kubernetes.io/tls",
              "data": {"tls.crt": base64.b64encode(pem.encode()).decode(),
                       "tls.key": base64.b64encode(key.encode()).decode()}}
    ing = ingress([rule("a.test", ("/", "Prefix", "a")), rule("b.test", ("/", "Prefix", "b"))],
                  tls=[{"hosts": ["a.test"], "secretName": "tls-a"}, {"hosts": ["b.test"], "secretName": "nope"}])
    t = table([ing], secrets=[secret])
    assert t.servers["a.test"].tls == (pem, key)
    assert t.servers["b.test"].tls is None and t.servers["b.test"].tls_secret == "default/nope"
    assert [(p.name, p.reason) for p in t.problems] == [("ing", "Sync")]
    assert "default/nope" in t.problems[0].message
    conf, files = nginx.render(t, 8080, 8443)
    assert sorted(files.values()) == sorted([pem, key])
    b_block = conf.split("server_name b.test;")[1].split("server {")[0]
    assert "listen 8443 ssl;" in b_block and nginx.DEFAULT_CERT in b_block


# --- nginx rendering -----------------------------------------------------------------

def test_render_locations_upstreams_and_503() -> None:
    t = model.build([ingress([rule("h.test", ("/foo", "Prefix", "a"), ("/x", "Exact", "b"))])], [CLASS],
                    [service("a"), service("b")], [slice_("a", ("10.0.0.1", True)), slice_("b", ("10.0.0.2", False))],
                    [])
    conf, _ = nginx.render(t, 80, 443)
    assert "location = /foo {" in conf and "location ^~ /foo/ {" in conf
    assert "upstream default-a-80 {\n        server 10.0.0.1:8080 max_fails=0;\n        keepalive 32;" in conf
    assert "upstream default-b-80" not in conf
    x_block = conf.split("location = /x {")[1].split("}")[0]
    assert "return 503;" in x_block
    assert "listen 80 default_server;" in conf and "listen 443 ssl default_server;" in conf
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf


def test_render_wildcard_is_one_label_regex() -> None:
    t = table([ingress([rule("*.example.test", ("/", "Prefix", "a"))])])
    conf, _ = nginx.render(t, 80, 443)
    assert "server_name ~^[^.]+\\.example\\.test$;" in conf
