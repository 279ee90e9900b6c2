"""x-baleine-ingress end to end: compose services routed by the daemon's ingress nginx.

A compose project with ``web`` (busybox httpd, 2 balanced replicas) on
``web.example.test/`` and ``api`` (one plain container, ``expose`` only) on
``web.example.test/api``; curl ``--resolve`` against 127.0.0.1 reaches the right
service through nginx on free high ports, over TLS with the fake certificate until
the Secret that ``api``'s ``tls`` names is made, then with it. A container run with
a hand-written ``io.baleine.ingress`` label is routed too (503 while not healthy).
``compose down`` removes the routes and, nothing routing anymore, nginx; a bad
extension is a compose error and nothing is made. Traffic goes only to loopback.
"""
from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import BUSYBOX_TAR, Daemon, Result, _run, baleine_cmd
from ..kubehelp import NEEDS_KUBECTL, Kube, free_port, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL

NGINX = "baleine-ingress-nginx"


def serve(text: str, port: int, sub: str = "") -> str:
    return f"mkdir -p /www{sub} && echo {text} > /www{sub}/index.html && exec httpd -f -p {port} -h /www"


COMPOSE = f"""services:
  web:
    image: busybox
    command: ["sh", "-c", "{serve('web', 80)}"]
    ports: ["80"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
    x-baleine-ingress: {{host: web.example.test}}
  api:
    image: busybox
    command: ["sh", "-c", "{serve('api', 8080, '/api')}"]
    expose: ["8080"]
    stop_grace_period: 1s
    x-baleine-ingress:
      - host: web.example.test
        path: /api
        tls: web-tls
"""

BAD = """services:
  web:
    image: busybox
    command: ["sleep", "60"]
    x-baleine-ingress: {host: web.example.test, path: /}
"""


@dataclass
class Setup:
    kube: Kube
    http: int
    https: int
    root: Path

    @property
    def d(self) -> Daemon:
        return self.kube.daemon


def compose(s: Setup, project: str, file: str, *args: str) -> Result:
    path = s.root / f"{project}.yaml"
    path.write_text(file)
    return _run(baleine_cmd() + ["compose", "-f", str(path), "-p", project, *args], s.d.env(), None, 120, False)


def curl(host: str, port: int, path: str = "/", tls: bool = False, cacert: Path | None = None) -> tuple[int, str]:
    """(status, body) of one request to 127.0.0.1:port as ``host``; (0, error) when it fails.
    Over TLS the certificate is checked against ``cacert``, or not at all (-k)."""
    scheme = "https" if tls else "http"
    verify = ["--cacert", str(cacert)] if cacert is not None else ["-k"]
    r = subprocess.run(["curl", "-sS", *verify, "--max-time", "5", "--resolve", f"{host}:{port}:127.0.0.1",
                        "-w", "\n%{http_code}", f"{scheme}://{host}:{port}{path}"], capture_output=True, text=True)
    if r.returncode != 0:
        return 0, r.stderr
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body.strip()


def answer(s: Setup, host: str, path: str, want: tuple[int, str | None], tls: bool = False) -> None:
    """Wait until the request answers ``want`` (status, body; a None body: any)."""
    got: list[tuple[int, str]] = []
    port = s.https if tls else s.http

    def attempt() -> bool:
        got.append(curl(host, port, path, tls))
        return got[-1][0] == want[0] and want[1] in (None, got[-1][1])
    try:
        wait_for(attempt, 30, interval=0.3, what=f"{want} from {host}{path}")
    except AssertionError:
        raise AssertionError(f"{host}{path}: {got[-3:]}\n{s.d.log()[-3000:]}") from None


def nginx_containers(s: Setup) -> list[str]:
    return s.d.ok("ps", "-aq", "--filter", f"name={NGINX}").split()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, nginx_tar: Path) -> Iterator[Setup]:
    http, https = free_port(), free_port()
    with kube_daemon("--ingress-http-port", str(http), "--ingress-https-port", str(https)) as k:
        k.daemon.ok("load", "-i", str(BUSYBOX_TAR))
        k.daemon.ok("load", "-i", str(nginx_tar), timeout=600)
        yield Setup(k, http, https, tmp_path_factory.mktemp("compose"))


def test_bad_extension_is_an_error_and_nothing_is_made(setup: Setup) -> None:
    r = compose(setup, "bad", BAD, "up", "-d")
    assert r.returncode != 0
    assert "services.web.x-baleine-ingress.port" in r.stderr, r.stderr
    assert setup.d.ok("ps", "-aq", "--filter", "label=com.docker.compose.project=bad").split() == []
    # Nothing routes yet: no nginx.
    assert nginx_containers(setup) == []


def test_compose_routes_by_host_and_path_then_down_removes_them(setup: Setup) -> None:
    s = setup
    r = compose(s, "shop", COMPOSE, "up", "-d")
    assert r.returncode == 0, r.stderr
    labels = json.loads(s.d.ok("inspect", "shop-api-1", "--format", "{{json .Config.Labels}}"))
    assert json.loads(labels["io.baleine.ingress"]) == [
        {"host": "web.example.test", "path": "/api", "port": 8080, "tls": "web-tls"}]
    answer(s, "web.example.test", "/", (200, "web"))
    answer(s, "web.example.test", "/api/", (200, "api"))
    # tls names a Secret that does not exist: served with the default certificate (-k).
    answer(s, "web.example.test", "/api/", (200, "api"), tls=True)
    # Once the Secret exists in "default", it is the host's certificate.
    crt, key = s.root / "tls.crt", s.root / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=web.example.test", "-addext", "subjectAltName=DNS:web.example.test",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    s.kube.ok("create", "secret", "tls", "web-tls", f"--cert={crt}", f"--key={key}")
    wait_for(lambda: curl("web.example.test", s.https, "/api/", True, crt) == (200, "api"), 30,
             what="served with the Secret's certificate")
    # A host nobody routes: the default server's 404.
    assert curl("other.example.test", s.http)[0] == 404

    # A hand-written label on a plain container.
    s.d.ok("run", "-d", "--name", "byhand", "--label",
           'io.baleine.ingress=[{"host":"run.example.test","port":8081}]', "busybox",
           "sh", "-c", serve("byhand", 8081))
    answer(s, "run.example.test", "/", (200, "byhand"))
    s.d.ok("rm", "-f", "byhand")
    # Running but not healthy (yet): routed, with no endpoint, so 503.
    s.d.ok("run", "-d", "--name", "unhealthy", "--health-cmd", "false", "--health-interval", "1s",
           "--label", 'io.baleine.ingress={"host":"sick.example.test","port":8082}', "busybox",
           "sh", "-c", serve("sick", 8082))
    answer(s, "sick.example.test", "/", (503, None))
    s.d.ok("rm", "-f", "unhealthy")
    wait_for(lambda: curl("run.example.test", s.http)[0] == 404, 30, what="run.example.test unrouted")
    assert curl("web.example.test", s.http)[0] == 200

    r = compose(s, "shop", COMPOSE, "down", "-t", "1")
    assert r.returncode == 0, r.stderr
    # Nothing routes anymore: nginx is removed, its ports released.
    wait_for(lambda: nginx_containers(s) == [], 30, what="nginx removed")
    assert curl("web.example.test", s.http)[0] == 0
