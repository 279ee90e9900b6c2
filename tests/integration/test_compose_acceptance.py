"""Issue 10's compose acceptance: the founding infrastructure (an application built
from the project, three replicas behind one published port, reading and writing
``postgres:15``) rolled to a new configuration under a steady load with no failed
request, rolled back when the new configuration's healthcheck fails, and autoscaled
by ``x-baleine-autoscale`` under a CPU-bound load (loopback and the test's own
containers only).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator

import pytest
import yaml

from .. import loadgen
from ..conftest import Daemon
from ..networking import free_port
from .test_compose import Project
from .test_founding_case import python_libs

APP = '''
import http.server, json, os, signal, threading, time
import pg8000.native

VERSION = os.environ.get("APP_VERSION", "1")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        if self.path.startswith("/burn/"):  # CPU for the autoscaler: N ms of work
            end = time.process_time() + int(self.path[6:]) / 1000
            while time.process_time() < end:
                pass
            body = {"version": VERSION}
        else:
            con = pg8000.native.Connection("postgres", host="db", password=os.environ["DB_PASSWORD"])
            try:
                con.run("CREATE TABLE IF NOT EXISTS hits (id serial PRIMARY KEY, v text)")
                con.run("INSERT INTO hits (v) VALUES (:v)", v=VERSION)
                count = con.run("SELECT count(*) FROM hits")[0][0]
            finally:
                con.close()
            body = {"version": VERSION, "hits": count}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass

server = http.server.ThreadingHTTPServer(("", 8000), Handler)
server.daemon_threads = False  # server_close() waits for the requests under way
# A graceful stop (PID 1 has no default action for SIGTERM): no new connection, the
# requests under way answered, then exit.
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
open("/tmp/listening", "w").close()  # what the healthcheck looks for: no process of its own to start
server.serve_forever()
server.server_close()
'''

DOCKERFILE = """FROM python:3.11-slim
ARG VERSION=1
ENV APP_VERSION=$VERSION
COPY libs /srv/libs
COPY app.py /srv/app.py
ENV PYTHONPATH=/srv/libs
CMD ["python3", "/srv/app.py"]
"""


def compose_file(port: int, version: str, broken: bool = False, autoscale: bool = False) -> str:
    """The project: ``app`` × 3 (start-first rollouts, rollback on failure; each version
    an image of its own, built by ``compose up``) and ``db``."""
    extension = ("    x-baleine-autoscale: {min: 3, max: 4, cpu: 50, behavior: "
                 "{scaleDown: {stabilizationWindowSeconds: 3}}}\n") if autoscale else ""
    return f"""services:
  app:
    build: {{context: ./app, args: {{VERSION: "{version}"}}}}
    image: accept-app:{version}
    ports: ["127.0.0.1:{port}:8000"]
    environment:
      BROKEN: "{'yes' if broken else ''}"
      DB_PASSWORD: secret
    healthcheck:
      test: ["CMD-SHELL", "test -z \\"$$BROKEN\\" && test -e /tmp/listening"]
      interval: 1s
      timeout: 5s
      retries: 2
      start_period: 20s
      start_interval: 200ms
    stop_grace_period: 2s
    depends_on:
      db: {{condition: service_healthy}}
    deploy:
      replicas: 3
      resources: {{reservations: {{cpus: "0.05"}}}}
      update_config: {{parallelism: 1, order: start-first, monitor: 2s, failure_action: rollback}}
      rollback_config: {{parallelism: 0, order: stop-first, monitor: 1s}}
{extension}  db:
    image: postgres:15
    environment: {{POSTGRES_PASSWORD: secret}}
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres -h 127.0.0.1"]
      interval: 500ms
      retries: 120
"""


class Load(loadgen.Load):
    """GETs ``path`` on the published port every ``interval`` seconds in a thread;
    ``versions`` counts the answers by the app's version."""

    def __init__(self, port: int, path: str = "/", interval: float = 0.05) -> None:
        url = f"http://127.0.0.1:{port}{path}"

        def fetch() -> str:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return json.loads(resp.read())["version"]

        super().__init__(fetch, interval)

    @property
    def versions(self) -> Counter[str]:
        return Counter(self.seen)


@pytest.fixture(scope="module")
def project(bookworm_daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("acceptance")
    p = Project(bookworm_daemon, root, "accept")
    p.published = free_port()  # type: ignore[attr-defined]
    (root / "app").mkdir()
    python_libs(root / "app" / "libs")
    (root / "app" / "app.py").write_text(APP)
    (root / "app" / "Dockerfile").write_text(DOCKERFILE)
    try:
        yield p
    finally:
        p.cleanup()


def app_versions(p: Project) -> dict[str, str]:
    """Running app replicas' names → their APP_VERSION (one the autoscaler removes
    meanwhile is left out)."""
    out = {}
    for c in p.containers(all=False):
        if c["Labels"].get("com.docker.compose.service") != "app":
            continue
        try:
            env = p.inspect(c["Id"])["Config"]["Env"]
        except AssertionError:  # gone between the list and the inspect
            continue
        out[c["Names"][0].lstrip("/")] = next(e.split("=", 1)[1] for e in env if e.startswith("APP_VERSION="))
    return out


def group(p: Project) -> dict:
    api = p.d.api()
    try:
        groups = api.api._result(api.api._get(api.api._url("/baleine/balancers")), True)
    finally:
        api.close()
    return next(g for g in groups if g["Name"] == f"{p.name}_app")


def wait_for(what, test, timeout: float):  # noqa: ANN001, ANN201
    """``test()``'s first true value; ``what`` (or ``what()``) names it on a timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = test()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what() if callable(what) else what}"
        time.sleep(0.3)


def test_rolled_under_load_then_rolled_back(project: Project) -> None:
    p = project
    p.write(compose_file(p.published, "1"))
    p.ok("up", "-d", "--wait", timeout=600)
    port = p.published
    assert set(app_versions(p).values()) == {"1"} and len(app_versions(p)) == 3
    # The group's published port, whichever replica is asked about.
    assert p.ok("port", "--index", "2", "app", "8000").strip() == f"127.0.0.1:{port}"

    # A new image, rolled one replica at a time while requests keep coming.
    p.write(compose_file(p.published, "2"))
    with Load(port) as load:
        time.sleep(1)
        p.ok("up", "-d", timeout=300)
        time.sleep(1)
    assert load.failures == [], load.failures[:5]
    assert load.versions.get("1") and load.versions.get("2"), load.versions
    assert sorted(app_versions(p).values()) == ["2", "2", "2"]

    # An image and configuration whose healthcheck fails: rolled back to version 2, still serving.
    p.write(compose_file(p.published, "3", broken=True))
    with Load(port) as load:
        r = p.compose("up", "-d", timeout=300)
    assert r.returncode != 0
    assert re.search(r"roll(ed)? ?back", r.stderr, re.I), r.stderr
    assert load.failures == [], load.failures[:5]
    assert "3" not in load.versions, load.versions
    assert sorted(app_versions(p).values()) == ["2", "2", "2"]


def test_autoscaled_under_load(project: Project) -> None:
    p = project
    p.write(compose_file(p.published, "2", autoscale=True))
    p.ok("up", "-d", "--wait", timeout=300)
    port = p.published
    wait_for(lambda: f"3 ready replicas ({group(p)})", lambda: group(p)["Ready"] == 3 and group(p).get("Autoscale"), 60)
    # Two clients asking for 100 ms of CPU each, back to back: over a core against
    # 3 × 0.05 requested, well above the 50 % target.
    with Load(port, "/burn/100", 0.01) as load, Load(port, "/burn/100", 0.01) as load2:
        wait_for(lambda: f"a 4th replica ({group(p)['Autoscale']})", lambda: len(app_versions(p)) == 4, 60)
        status = group(p)["Autoscale"]
    assert load.failures == load2.failures == [], (load.failures + load2.failures)[:5]
    assert status["Max"] == 4 and status["TargetCPU"] == 50
    wait_for(lambda: f"back to 3 replicas ({group(p)['Autoscale']})", lambda: len(app_versions(p)) == 3, 60)

    # The same project as manifests for a cluster: checked, the extension an HPA.
    r = p.d.cli("kube", "generate", "-f", str(p.file), "-p", p.name)
    assert r.returncode == 0, r.stderr
    kinds = [(doc["kind"], doc["metadata"]["name"]) for doc in yaml.safe_load_all(r.stdout) if doc]
    assert ("Deployment", "app") in kinds and ("Deployment", "db") in kinds and ("Service", "db") in kinds
    assert ("HorizontalPodAutoscaler", "app") in kinds, kinds
