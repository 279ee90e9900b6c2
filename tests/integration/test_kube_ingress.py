"""Ingress end to end: real Deployments, real nginx run by the daemon, kubectl and curl.

Two Deployments (busybox httpd answering its own name) behind two Services; an
Ingress routes ``a.example.test/`` and ``b.example.test/api`` (Prefix), TLS for
``a`` from a ``kubernetes.io/tls`` Secret made here; curl ``--resolve`` reaches
each backend through the daemon's nginx on free high ports.
"""
from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import BUSYBOX_TAR
from ..kubehelp import NEEDS_KUBECTL, Kube, free_port, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL


@dataclass
class Setup:
    kube: Kube
    http: int
    https: int
    cert: Path


def deployment(name: str) -> dict:
    script = (f"mkdir -p /www/api && echo {name} > /www/index.html && echo {name}-api > /www/api/x.txt"
              " && exec httpd -f -p 8080 -h /www")
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                         {"name": "web", "image": "busybox", "command": ["sh", "-c", script],
                          "ports": [{"containerPort": 8080}],
                          "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}}}


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}


def ingress(b_path: str = "/api", tls_secret: str = "tls-a") -> dict:
    def path(p: str, svc: str) -> dict:
        return {"path": p, "pathType": "Prefix",
                "backend": {"service": {"name": svc, "port": {"number": 80}}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
            "spec": {"ingressClassName": "nginx",
                     "tls": [{"hosts": ["a.example.test"], "secretName": tls_secret}],
                     "rules": [{"host": "a.example.test", "http": {"paths": [path("/", "a")]}},
                               {"host": "b.example.test", "http": {"paths": [path(b_path, "b")]}}]}}


def make_cert(tmp: Path) -> tuple[Path, Path]:
    crt, key = tmp / "tls.crt", tmp / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=a.example.test", "-addext", "subjectAltName=DNS:a.example.test",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return crt, key


def curl(url: str, host: str, port: int, cacert: Path | None = None) -> tuple[int, str]:
    """(status, body) of one request to 127.0.0.1:port as ``host``; (0, error) when it fails."""
    args = ["curl", "-sS", "--max-time", "5", "--resolve", f"{host}:{port}:127.0.0.1",
            "-w", "\n%{http_code}"]
    if cacert is not None:
        args += ["--cacert", str(cacert)]
    r = subprocess.run([*args, url], capture_output=True, text=True)
    if r.returncode != 0:
        return 0, r.stderr
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body.strip()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, nginx_tar: Path) -> Iterator[Setup]:
    http, https = free_port(), free_port()
    with kube_daemon("--ingress-http-port", str(http), "--ingress-https-port", str(https)) as k:
        d = k.daemon
        d.ok("load", "-i", str(BUSYBOX_TAR))
        d.ok("load", "-i", str(nginx_tar), timeout=600)
        crt, key = make_cert(tmp_path_factory.mktemp("tls"))
        k.ok("create", "secret", "tls", "tls-a", f"--cert={crt}", f"--key={key}")
        for name in ("a", "b"):
            k.ok("apply", "-f", "-", input=json.dumps(deployment(name)))
            k.ok("apply", "-f", "-", input=json.dumps(service(name)))
        # No Ingress yet: no nginx container, no port held.
        assert d.ok("ps", "-aq", "--filter", "name=baleine-ingress-nginx").split() == []
        assert curl(f"http://a.example.test:{http}/", "a.example.test", http)[0] == 0
        k.ok("apply", "-f", "-", input=json.dumps(ingress()))
        yield Setup(k, http, https, crt)


def answer(s: Setup, url: str, host: str, want: tuple[int, str], tls: bool = False) -> None:
    port = s.https if tls else s.http
    cacert = s.cert if tls else None
    got: list[tuple[int, str]] = []

    def attempt() -> bool:
        got.append(curl(url.format(port=port), host, port, cacert))
        return got[-1] == want
    try:
        wait_for(attempt, 60, interval=0.3, what=f"{want} from {url}")
    except AssertionError:
        raise AssertionError(f"{url} as {host}: {got[-3:]}\n{s.kube.daemon.log()[-3000:]}") from None


def test_default_class_and_routes_by_host_and_path(setup: Setup) -> None:
    k = setup.kube
    cls = get_json(k, "ingressclass", "nginx")
    assert cls["spec"]["controller"] == "baleine.io/ingress-nginx"
    assert cls["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    answer(setup, "http://a.example.test:{port}/", "a.example.test", (200, "a"))
    answer(setup, "https://a.example.test:{port}/", "a.example.test", (200, "a"), tls=True)
    answer(setup, "http://b.example.test:{port}/api/x.txt", "b.example.test", (200, "b-api"))
    assert curl(f"http://b.example.test:{setup.http}/apix", "b.example.test", setup.http)[0] == 404
    assert curl(f"http://b.example.test:{setup.http}/", "b.example.test", setup.http)[0] == 404
    ing = wait_for(lambda: get_json(k, "ingress", "web").get("status", {}).get("loadBalancer", {}).get("ingress"),
                   30, what="status.loadBalancer")
    assert ing[0]["ip"]
    out = k.ok("get", "ingress", "web")
    assert out.split("\n")[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert "a.example.test,b.example.test" in out and "80, 443" in out


def test_scale_to_zero_gives_503_and_back(setup: Setup) -> None:
    k = setup.kube
    k.ok("scale", "deployment", "b", "--replicas=0")
    wait_for(lambda: curl(f"http://b.example.test:{setup.http}/api/x.txt", "b.example.test", setup.http)[0] == 503,
             60, what="503 once b has no ready endpoint")
    k.ok("scale", "deployment", "b", "--replicas=1")
    answer(setup, "http://b.example.test:{port}/api/x.txt", "b.example.test", (200, "b-api"))


def test_updating_the_ingress_changes_routing(setup: Setup) -> None:
    k = setup.kube
    k.ok("apply", "-f", "-", input=json.dumps(ingress(b_path="/")))
    answer(setup, "http://b.example.test:{port}/", "b.example.test", (200, "b"))
    k.ok("apply", "-f", "-", input=json.dumps(ingress()))
    wait_for(lambda: curl(f"http://b.example.test:{setup.http}/", "b.example.test", setup.http)[0] == 404, 30,
             what="404 once / is routed no more")


def test_invalid_path_type_is_422_and_nothing_stored(setup: Setup) -> None:
    k = setup.kube
    bad = ingress()
    bad["metadata"]["name"] = "bad"
    bad["spec"]["rules"][0]["http"]["paths"][0]["pathType"] = "Regex"
    err = k.fails("create", "-f", "-", input=json.dumps(bad))
    assert 'The Ingress "bad" is invalid' in err
    assert "spec.rules[0].http.paths[0].pathType: Unsupported value: \"Regex\"" in err
    assert k.run("get", "ingress", "bad").returncode != 0


def test_missing_tls_secret_is_an_event_and_default_certificate(setup: Setup) -> None:
    k = setup.kube
    body = ingress(tls_secret="nope")
    body["metadata"]["name"] = "nosecret"
    body["spec"]["rules"] = [{"host": "c.example.test", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "a", "port": {"number": 80}}}}]}}]
    body["spec"]["tls"] = [{"hosts": ["c.example.test"], "secretName": "nope"}]
    k.ok("create", "-f", "-", input=json.dumps(body))

    def warned() -> bool:
        events = get_json(k, "events", "--field-selector", "involvedObject.name=nosecret")["items"]
        return any(e["type"] == "Warning" and "default/nope" in e["message"] for e in events)
    wait_for(warned, 30, what="a Warning event for the missing secret")

    def served() -> subprocess.CompletedProcess[str] | None:
        # The event is sent before nginx reloads: wait for the host to be served.
        r = subprocess.run(["curl", "-sSk", "--max-time", "5", "--resolve",
                            f"c.example.test:{setup.https}:127.0.0.1", "-v", f"https://c.example.test:{setup.https}/"],
                           capture_output=True, text=True)
        return r if r.stdout.strip() == "a" else None
    r = wait_for(served, 30, what="c.example.test served over HTTPS")
    assert "Kubernetes Ingress Controller Fake Certificate" in r.stderr
    k.ok("delete", "ingress", "nosecret")



def test_daemon_restart_adopts_the_nginx_container(setup: Setup) -> None:
    """After a restart the same container serves again (re-adopted, not duplicated)."""
    k, d = setup.kube, setup.kube.daemon
    before = d.ok("ps", "-aq", "--filter", "name=baleine-ingress-nginx").split()
    assert len(before) == 1
    d.stop()
    d.start()
    k.wait_ready()
    answer(setup, "http://a.example.test:{port}/", "a.example.test", (200, "a"))
    assert d.ok("ps", "-aq", "--filter", "name=baleine-ingress-nginx").split() == before


def test_no_ingress_left_removes_nginx(setup: Setup) -> None:
    """The last Ingress deleted: nginx goes, its ports are released (not a 404 server)."""
    k, d = setup.kube, setup.kube.daemon
    k.ok("delete", "ingress", "web")
    wait_for(lambda: d.ok("ps", "-aq", "--filter", "name=baleine-ingress-nginx").split() == [], 30,
             what="nginx removed")
    assert curl(f"http://a.example.test:{setup.http}/", "a.example.test", setup.http)[0] == 0
