"""``baleine compose`` end to end against a real daemon, and the real docker-compose 1.29
against Baleine's socket.

The founding document's infrastructure as a compose file: an application built from a
Dockerfile in the project (python:3.11-slim with pg8000, a pure-Python PostgreSQL
client, copied into the build context) that reads and writes ``postgres:15`` over the
PostgreSQL protocol; the database on an internal back-end network with a named
volume and a healthcheck that the application's ``depends_on: service_healthy`` waits
for; the application's port published on 127.0.0.1. Only loopback and the test's own
containers are ever contacted.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import Daemon, Result, _run, baleine_cmd
from ..registries import baleine_registry# noqa: F401 - a fixture
from .test_founding_case import python_libs
from .test_networks import kernel_state

APP = '''
import http.server, json, os
import pg8000.native

def db():
    return pg8000.native.Connection("postgres", host=os.environ["DB_HOST"], password=os.environ["DB_PASSWORD"])

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        con = db()
        try:
            con.run("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, text text)")
            if self.path.startswith("/add/"):
                con.run("INSERT INTO notes (text) VALUES (:t)", t=self.path[len("/add/"):])
            rows = [r[0] for r in con.run("SELECT text FROM notes ORDER BY id")]
            server = con.run("SHOW server_version")[0][0]
        finally:
            con.close()
        body = json.dumps({"notes": rows, "server": server}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("app:", fmt % args, flush=True)

print("app listening on 8000", flush=True)
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
'''

DOCKERFILE = """FROM python:3.11-slim
WORKDIR /srv
COPY libs /srv/libs
COPY app.py /srv/app.py
ENV PYTHONPATH=/srv/libs
EXPOSE 8000
CMD ["python3", "/srv/app.py"]
"""

COMPOSE = """services:
  app:
    build: ./app
    ports: ["127.0.0.1::8000"]
    environment:
      DB_HOST: db
      DB_PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD in .env}
    depends_on:
      db:
        condition: service_healthy
    networks: [front, back]
  db:
    image: postgres:15
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
    volumes: [pgdata:/var/lib/postgresql/data]
    networks: [back]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres -h 127.0.0.1"]
      interval: 1s
      timeout: 5s
      retries: 120
networks:
  front: {}
  back:
    internal: true
volumes:
  pgdata: {}
"""


class Project:
    """A compose project directory for one test, and ways to run compose on it."""

    def __init__(self, d: Daemon, root: Path, name: str) -> None:
        self.d = d
        self.root = root
        self.name = name

    @property
    def file(self) -> Path:
        return self.root / "compose.yaml"

    def write(self, text: str, name: str = "compose.yaml") -> None:
        (self.root / name).write_text(text)

    def compose(self, *args: str, timeout: float = 300, input: str | None = None) -> Result:
        argv = baleine_cmd() + ["compose", "-f", str(self.file), "-p", self.name, *args]
        return _run(argv, self.d.env(), input, timeout, False)

    def ok(self, *args: str, timeout: float = 300) -> str:
        r = self.compose(*args, timeout=timeout)
        assert r.returncode == 0, f"compose {' '.join(args)} failed ({r.returncode}):\n{r.stderr}\n{r.stdout}"
        return r.stdout

    def containers(self, all: bool = True) -> list[dict]:  # noqa: A002
        api = self.d.api()
        try:
            return api.api.containers(all=all, filters={"label": f"com.docker.compose.project={self.name}"})
        finally:
            api.close()

    def inspect(self, name: str) -> dict:
        return self.d.inspect(name)

    def networks(self) -> list[str]:
        return [n for n in self.d.ok("network", "ls", "--format", "{{.Name}}").split() if n.startswith(self.name)]

    def volumes(self) -> list[str]:
        return [v for v in self.d.ok("volume", "ls", "--format", "{{.Name}}").split() if v.startswith(self.name)]

    def port(self, service: str, port: int) -> int:
        return int(self.ok("port", service, str(port)).strip().rsplit(":", 1)[1])

    def cleanup(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "-t", "0", "--rmi", "local", timeout=120)
        ids = [c["Id"] for c in self.containers()]
        if ids:
            self.d.cli("rm", "-f", *ids)
        for n in self.networks():
            self.d.cli("network", "rm", n)
        for v in self.volumes():
            self.d.cli("volume", "rm", "-f", v)


@pytest.fixture
def project(bookworm_daemon: Daemon, tmp_path: Path, name: str) -> Iterator[Project]:
    proj = Project(bookworm_daemon, tmp_path, re.sub(r"[^a-z0-9_-]", "", name.lower())[-30:].lstrip("_-"))
    try:
        yield proj
    finally:
        proj.cleanup()


def get(url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return json.loads(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def founding_project(p: Project) -> None:
    (p.root / "app").mkdir()
    python_libs(p.root / "app" / "libs")
    (p.root / "app" / "app.py").write_text(APP)
    (p.root / "app" / "Dockerfile").write_text(DOCKERFILE)
    p.write("DB_PASSWORD=secret\n", ".env")
    p.write(COMPOSE)


def test_founding_infrastructure(project: Project) -> None:
    p, d = project, project.d
    founding_project(p)
    before = kernel_state(d)

    r = p.compose("up", "-d", "--wait")
    assert r.returncode == 0, r.stderr
    # Progress off a terminal: one plain line per state change.
    for line in (f" Network {p.name}_back  Created", f" Volume {p.name}_pgdata  Created",
                 " Service app  Built", f" Container {p.name}-db-1  Healthy", f" Container {p.name}-app-1  Started"):
        assert line in r.stderr.splitlines(), r.stderr
    # The app waited for the database to be healthy before starting.
    lines = r.stderr.splitlines()
    assert lines.index(f" Container {p.name}-db-1  Healthy") < lines.index(f" Container {p.name}-app-1  Starting")

    port = p.port("app", 8000)
    first = get(f"http://127.0.0.1:{port}/add/first")
    assert first["notes"] == ["first"] and first["server"].startswith("15.")

    # Names and labels as docker compose makes them.
    db = p.inspect(f"{p.name}-db-1")
    app = p.inspect(f"{p.name}-app-1")
    labels = db["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == p.name
    assert labels["com.docker.compose.service"] == "db"
    assert labels["com.docker.compose.container-number"] == "1"
    assert labels["com.docker.compose.oneoff"] == "False"
    assert re.fullmatch(r"[0-9a-f]{64}", labels["com.docker.compose.config-hash"])
    assert labels["com.docker.compose.version"]
    assert labels["com.docker.compose.project.config_files"] == str(p.file)
    assert app["Config"]["Image"] == f"{p.name}-app"
    assert set(db["NetworkSettings"]["Networks"]) == {f"{p.name}_back"}
    assert set(app["NetworkSettings"]["Networks"]) == {f"{p.name}_back", f"{p.name}_front"}
    assert "db" in db["NetworkSettings"]["Networks"][f"{p.name}_back"]["Aliases"]
    assert db["Mounts"][0]["Name"] == f"{p.name}_pgdata"
    net = json.loads(d.ok("network", "inspect", f"{p.name}_back"))[0]
    assert net["Internal"] is True
    assert net["Labels"]["com.docker.compose.network"] == "back"
    assert net["Labels"]["com.docker.compose.project"] == p.name
    vol = json.loads(d.ok("volume", "inspect", f"{p.name}_pgdata"))[0]
    assert vol["Labels"]["com.docker.compose.volume"] == "pgdata"
    assert db["State"]["Health"]["Status"] == "healthy"

    # ps and logs.
    ps = p.ok("ps")
    assert ps.splitlines()[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    assert f"{p.name}-db-1" in ps and "(healthy)" in ps and f"127.0.0.1:{port}->8000/tcp" in ps
    assert sorted(p.ok("ps", "--services").split()) == ["app", "db"]
    assert len(p.ok("ps", "-q").split()) == 2
    rows = [json.loads(line) for line in p.ok("ps", "--format", "json").splitlines()]
    assert {r["Service"] for r in rows} == {"app", "db"} and all(r["State"] == "running" for r in rows)
    logs = p.ok("logs", "db")
    assert re.search(rf"^{p.name}-db-1 +\| .*database system is ready to accept connections", logs, re.M), logs
    assert f"{p.name}-app-1 | app listening on 8000" in p.ok("logs", "--tail", "5", "app")

    # up again: nothing changed, nothing recreated.
    ids = {c["Names"][0]: c["Id"] for c in p.containers()}
    assert len(ids) == 2
    r = p.compose("up", "-d")
    assert r.returncode == 0, r.stderr
    assert {c["Names"][0]: c["Id"] for c in p.containers()} == ids
    assert f" Container {p.name}-db-1  Running" in r.stderr

    # down keeps the volume; up finds the data again.
    r = p.compose("down")
    assert r.returncode == 0, r.stderr
    assert p.containers() == [] and p.networks() == []
    assert p.volumes() == [f"{p.name}_pgdata"]
    p.ok("up", "-d", "--wait")
    port = p.port("app", 8000)
    assert get(f"http://127.0.0.1:{port}/add/second")["notes"] == ["first", "second"]

    # A configuration change recreates only the service that changed.
    ids = {c["Names"][0].lstrip("/"): c["Id"] for c in p.containers()}
    p.write(COMPOSE.replace("      DB_HOST: db\n", "      DB_HOST: db\n      MODE: changed\n"))
    r = p.compose("up", "-d", "--wait")
    assert r.returncode == 0, r.stderr
    now = {c["Names"][0].lstrip("/"): c["Id"] for c in p.containers()}
    assert now[f"{p.name}-db-1"] == ids[f"{p.name}-db-1"]
    assert now[f"{p.name}-app-1"] != ids[f"{p.name}-app-1"]
    assert f" Container {p.name}-app-1  Recreated" in r.stderr
    port = p.port("app", 8000)
    assert get(f"http://127.0.0.1:{port}/")["notes"] == ["first", "second"]

    # down -v leaves nothing of the project: containers, networks, volumes, veths, NAT rules.
    r = p.compose("down", "-v")
    assert r.returncode == 0, r.stderr
    assert p.containers() == [] and p.networks() == [] and p.volumes() == []
    after = kernel_state(d)
    assert after["veths"] == before["veths"] and after["bridges"] == before["bridges"]
    assert after["dnat"] == before["dnat"] and after["netns"] == before["netns"]
    assert not any(str(port) in rule for rule in after["dnat"])


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed")
def test_docker_compose_1_29(project: Project) -> None:
    """The real docker-compose 1.29 (Python, docker-py) runs the same file against Baleine."""
    p, d = project, project.d
    founding_project(p)
    env = d.env()

    def dc(*args: str, timeout: float = 300) -> Result:
        return _run(["docker-compose", "-f", str(p.file), "-p", p.name, "--no-ansi", *args], env, None, timeout,
                    False)

    r = dc("up", "-d")
    assert r.returncode == 0, r.stderr + r.stdout
    assert f"Creating {p.name}_db_1" in r.stderr and f"Creating {p.name}_app_1" in r.stderr
    # docker-compose 1.29 honours service_healthy: the app came up once the database was healthy.
    assert p.inspect(f"{p.name}_db_1")["State"]["Health"]["Status"] == "healthy"
    r = dc("ps")
    assert r.returncode == 0, r.stderr
    assert re.search(rf"{p.name}_db_1 .* Up \(healthy\)", r.stdout), r.stdout
    assert re.search(rf"{p.name}_app_1 .* Up .*127\.0\.0\.1:\d+->8000/tcp", r.stdout), r.stdout
    port = int(dc("port", "app", "8000").stdout.strip().rsplit(":", 1)[1])
    assert get(f"http://127.0.0.1:{port}/add/from-1.29")["notes"] == ["from-1.29"]
    r = dc("logs", "db")
    assert r.returncode == 0, r.stderr
    assert "database system is ready to accept connections" in r.stdout
    assert f"{p.name}_db_1" in r.stdout or "db_1" in r.stdout
    # Our compose recognises what docker-compose made (same labels).
    assert sorted(p.ok("ps", "--services").split()) == ["app", "db"]
    r = dc("down", "-v")
    assert r.returncode == 0, r.stderr
    assert p.containers() == [] and p.networks() == [] and p.volumes() == []


BAD_INPUT = [
    ("yaml", "services:\n  web:\n    image: busybox\n    command: [sleep, 100\n", "yaml: line"),
    ("schema", "services:\n  web:\n    image: busybox\n    ports:\n      - 80\n      - {target: 80, bogus: 1}\n",
     ":6: services.web.ports[1].bogus: additional property 'bogus' is not allowed"),
    ("variable", "services:\n  web:\n    image: busybox\n    environment:\n      TOKEN: ${TOKEN_UNSET:?the token is required}\n",
     "services.web.environment.TOKEN: required variable TOKEN_UNSET is missing a value: the token is required"),
    ("cycle", "services:\n  web:\n    image: busybox\n    depends_on: [api]\n  api:\n    image: busybox\n"
              "    depends_on: [web]\nvolumes:\n  data: {}\n", "dependency cycle detected: api -> web -> api"),
    ("network", "services:\n  web:\n    image: busybox\n    networks: [front, back]\nnetworks:\n  front: {}\n",
     ":4: services.web.networks: service 'web' refers to undefined network back"),
]


@pytest.mark.parametrize("kind,text,message", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_creates_nothing(project: Project, kind: str, text: str, message: str) -> None:
    p = project
    p.write(text)
    for command in (("up", "-d"), ("config",), ("run", "--rm", "web", "true")):
        r = p.compose(*command)
        assert r.returncode == 1, (command, r.stdout, r.stderr)
        assert str(p.file) in r.stderr, r.stderr
        assert message in r.stderr, r.stderr
        assert r.stdout == ""
    assert p.containers() == [] and p.networks() == [] and p.volumes() == []


BUSYBOX = """services:
  init:
    image: busybox
    command: sh -c "echo initialised > /shared/state; echo init done"
    volumes: [shared:/shared]
  db:
    image: busybox
    command: sh -c "sleep 1; touch /tmp/ready; echo db up; exec sleep 1000"
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ready]
      interval: 500ms
      retries: 60
  web:
    image: busybox
    command: httpd -f -v -p 80 -h /shared
    stop_signal: SIGKILL
    ports: ["127.0.0.1::80"]
    volumes: [shared:/shared]
    environment: ["GREETING=${GREETING:-hello}"]
    depends_on:
      init: {condition: service_completed_successfully}
      db: {condition: service_healthy, restart: true}
  worker:
    image: busybox
    command: sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"
    scale: 2
  tool:
    image: busybox
    profiles: [tools]
    command: echo tool
volumes:
  shared: {}
"""


def test_commands_on_a_busybox_project(project: Project) -> None:
    p, d = project, project.d
    p.write(BUSYBOX)
    # config: normalised, interpolated, profiles applied.
    cfg = json.loads(p.ok("config", "--format", "json"))
    assert sorted(cfg["services"]) == ["db", "init", "web", "worker"]
    assert cfg["services"]["web"]["environment"] == {"GREETING": "hello"}
    assert cfg["services"]["web"]["depends_on"]["db"] == {"condition": "service_healthy", "restart": True,
                                                          "required": True}
    assert "tool" in p.ok("--profile", "tools", "config", "--services").split()
    assert re.fullmatch(r"web [0-9a-f]{64}\n", p.ok("config", "--hash", "web"))
    assert "name: " + p.name in p.ok("config")

    r = p.compose("up", "-d")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    web_start = lines.index(f" Container {p.name}-web-1  Starting")
    assert lines.index(f" Container {p.name}-init-1  Exited") < web_start
    assert lines.index(f" Container {p.name}-db-1  Healthy") < web_start
    names = sorted(c["Names"][0].lstrip("/") for c in p.containers())
    assert names == [f"{p.name}-{s}" for s in ("db-1", "init-1", "web-1", "worker-1", "worker-2")]
    port = p.port("web", 80)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=10) as resp:
        assert resp.read() == b"initialised\n"

    # ps: running by default, all with -a; formats.
    assert len(p.ok("ps", "-q").split()) == 4
    assert len(p.ok("ps", "-a", "-q").split()) == 5
    assert p.ok("ps", "-a", "--format", "{{.Service}}:{{.State}}", "init").strip() == "init:exited"
    assert p.ok("ps", "--status", "exited", "--format", "{{.Name}}").split() == [f"{p.name}-init-1"]

    # logs: one prefix per container, padded, colourless off a terminal; -t and --tail.
    logs = p.ok("logs", "init", "db")
    assert f"{p.name}-init-1 | init done" in logs
    assert f"{p.name}-db-1   | db up" in logs
    stamped = p.ok("logs", "-t", "--tail", "1", "init")
    assert re.match(rf"{p.name}-init-1 \| \d{{4}}-\d\d-\d\dT[\d:.]+Z init done", stamped), stamped
    assert "\x1b[" not in logs
    assert p.ok("logs", "--no-log-prefix", "init").strip() == "init done"
    coloured = p.ok("--ansi", "always", "logs", "init", "db")
    assert "\x1b[36m" in coloured and "\x1b[33m" in coloured  # one colour per service
    assert p.ok("version", "--short").strip()

    # exec and run.
    assert p.ok("exec", "-T", "web", "sh", "-c", "echo $GREETING from $(hostname)").strip().startswith("hello from")
    assert p.compose("exec", "-T", "web", "sh", "-c", "exit 7").returncode == 7
    r = p.compose("run", "--rm", "-T", "-e", "EXTRA=1", "--no-deps", "web", "sh", "-c",
                  "echo $GREETING $EXTRA; cat /shared/state; exit 3")
    assert r.returncode == 3, r.stderr
    assert r.stdout.splitlines()[-2:] == ["hello 1", "initialised"]
    assert len(p.ok("ps", "-a", "-q").split()) == 5  # the one-off container is gone
    r = p.compose("run", "-T", "--service-ports", "-d", "--no-deps", "web")
    assert r.returncode == 0, r.stderr
    oneoff = r.stdout.strip()
    assert oneoff.startswith(f"{p.name}-web-run-")
    info = d.inspect(oneoff)
    assert info["Config"]["Labels"]["com.docker.compose.oneoff"] == "True"
    d.ok("rm", "-f", oneoff)

    # scale up and down.
    r = p.compose("up", "-d", "--scale", "worker=3", "--no-deps", "worker")
    assert r.returncode == 0, r.stderr
    assert len([c for c in p.containers(all=False) if c["Labels"]["com.docker.compose.service"] == "worker"]) == 3
    p.ok("up", "-d", "--no-deps", "worker")
    workers = [c for c in p.containers() if c["Labels"]["com.docker.compose.service"] == "worker"]
    assert sorted(c["Labels"]["com.docker.compose.container-number"] for c in workers) == ["1", "2"]

    # --force-recreate recreates; a dependency recreated restarts its `restart: true` dependents.
    web_id = d.inspect(f"{p.name}-web-1")["Id"]
    r = p.compose("up", "-d", "--force-recreate", "--no-deps", "db")
    assert r.returncode == 0, r.stderr
    assert f" Container {p.name}-db-1  Recreated" in r.stderr
    assert d.inspect(f"{p.name}-web-1")["Id"] == web_id
    p.ok("up", "-d")
    assert d.inspect(f"{p.name}-web-1")["Id"] == web_id

    # stop, start, restart, kill, pause, unpause, top, port, images, ls.
    p.ok("stop", "worker")
    assert {c["State"] for c in p.containers() if c["Labels"]["com.docker.compose.service"] == "worker"} == {"exited"}
    p.ok("start", "worker")
    assert {c["State"] for c in p.containers() if c["Labels"]["com.docker.compose.service"] == "worker"} == {"running"}
    p.ok("restart", "-t", "1", "worker")
    p.ok("pause", "worker")
    assert {c["State"] for c in p.containers() if c["Labels"]["com.docker.compose.service"] == "worker"} == {"paused"}
    p.ok("unpause", "worker")
    top = p.ok("top", "worker")
    assert f"{p.name}-worker-1" in top and "PID" in top
    assert p.ok("port", "web", "80").strip() == f"127.0.0.1:{port}"
    images = p.ok("images")
    assert images.splitlines()[0].split() == ["CONTAINER", "REPOSITORY", "TAG", "IMAGE", "ID", "SIZE"]
    assert f"{p.name}-web-1" in images and "busybox" in images
    ls = _run(baleine_cmd() + ["compose", "ls"], d.env(), None, 60, False).stdout
    assert re.search(rf"^{p.name} +exited\(1\), running\(4\) +{re.escape(str(p.file))}$", ls, re.M), ls
    assert p.name in _run(baleine_cmd() + ["compose", "ls", "-q"], d.env(), None, 60, False).stdout.split()
    p.ok("kill", "worker")
    assert {c["State"] for c in p.containers() if c["Labels"]["com.docker.compose.service"] == "worker"} == {"exited"}
    r = p.compose("rm", "-f", "worker")
    assert r.returncode == 0, r.stderr
    assert not [c for c in p.containers() if c["Labels"]["com.docker.compose.service"] == "worker"]

    # Orphans: a service removed from the file is reported, then removed on request.
    p.write(BUSYBOX.replace("  tool:\n", "  gone:\n    image: busybox\n    command: sleep 1000\n"
                            "    stop_signal: SIGKILL\n  tool:\n"))
    p.ok("up", "-d", "--no-deps", "gone")
    p.write(BUSYBOX)
    r = p.compose("up", "-d", "--no-deps", "worker")
    assert "Found orphan containers" in r.stderr and f"{p.name}-gone-1" in r.stderr
    r = p.compose("down", "--remove-orphans", "-t", "0")
    assert r.returncode == 0, r.stderr
    assert p.containers() == []
    assert p.volumes() == [f"{p.name}_shared"]
    p.ok("down", "-v")
    assert p.volumes() == [] and p.networks() == []


ABORT = """services:
  quick:
    image: busybox
    command: sh -c "echo quick finishing; exit 4"
  slow:
    image: busybox
    command: sh -c "trap 'exit 0' TERM; echo slow running; while true; do sleep 0.2; done"
"""


def test_attached_up(project: Project) -> None:
    p = project
    p.write(ABORT)
    r = p.compose("up", "--abort-on-container-exit", "-t", "2", timeout=120)
    assert r.returncode == 4, r.stderr + r.stdout
    assert f"{p.name}-quick-1 | quick finishing" in r.stdout
    assert f"{p.name}-quick-1 exited with code 4" in r.stdout
    assert "Aborting on container exit..." in r.stdout
    assert {c["State"] for c in p.containers()} == {"exited"}
    followed = p.compose("logs", "-f", "quick", timeout=60)  # ends with the (stopped) container's log
    assert followed.returncode == 0 and followed.stdout.strip() == f"{p.name}-quick-1 | quick finishing"
    r = p.compose("up", "--exit-code-from", "slow", "-t", "2", timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
    p.write(ABORT.replace("while true; do sleep 0.2; done", "exit 0"))
    r = p.compose("up", timeout=120)  # no abort: returns once every container has stopped
    assert r.returncode == 0, r.stderr + r.stdout
    assert f"{p.name}-slow-1 exited with code 0" in r.stdout


def test_up_failures(project: Project) -> None:
    p = project
    p.write("services:\n  db:\n    image: busybox\n    command: sh -c 'exit 2'\n"
            "  web:\n    image: busybox\n    command: 'true'\n    depends_on:\n"
            "      db: {condition: service_completed_successfully}\n")
    r = p.compose("up", "-d")
    assert r.returncode == 1
    assert "service 'db' didn't complete successfully: exit 2" in r.stderr
    assert [c["Names"][0].lstrip("/") for c in p.containers()] == [f"{p.name}-db-1"]
    p.write("services:\n  db:\n    image: busybox\n    command: sleep 100\n"
            "  web:\n    image: busybox\n    depends_on:\n      db: {condition: service_healthy}\n")
    r = p.compose("up", "-d", "-t", "0")
    assert r.returncode == 1 and f"container {p.name}-db-1 has no healthcheck configured" in r.stderr
    p.write("services:\n  web:\n    image: no-such-image-here:1\n    pull_policy: never\n")
    r = p.compose("up", "-d")
    assert r.returncode == 1 and "no-such-image-here:1" in r.stderr


OPTIONS = """services:
  api:
    image: busybox
    command: httpd -f -p 8080 -h /www
    stop_signal: SIGKILL
    hostname: api-host
    user: "1000:1000"
    working_dir: /www
    read_only: true
    init: true
    cap_drop: [NET_RAW]
    tmpfs: [/www]
    extra_hosts: ["registry.local:127.0.0.9"]
    labels: {team: backend}
    restart: unless-stopped
    stop_grace_period: 3s
    deploy:
      resources:
        limits: {memory: 64m, cpus: "0.5"}
    logging:
      driver: json-file
      options: {max-size: 1m}
    networks:
      back:
        ipv4_address: 10.231.7.20
        aliases: [backend, api.internal]
  probe:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    env_file: [probe.env]
    networks: [back, outside]
    volumes:
      - type: bind
        source: ./data
        target: /data
        read_only: true
      - type: volume
        target: /anon
networks:
  back:
    ipam:
      config: [{subnet: 10.231.7.0/24}]
  outside:
    external: true
    name: ${OUTSIDE_NET}
"""


def test_service_options_reach_the_engine(project: Project) -> None:
    p, d = project, project.d
    outside = f"{p.name}-ext"
    d.ok("network", "create", outside)
    try:
        (p.root / "data").mkdir()
        (p.root / "data" / "hello.txt").write_text("from the host\n")
        p.write("FROM_ENV_FILE=yes\n", "probe.env")
        p.write(f"OUTSIDE_NET={outside}\n", ".env")
        p.write(OPTIONS)
        r = p.compose("up", "-d")
        assert r.returncode == 0, r.stderr
        assert f"Network {outside}" not in r.stderr  # external: used, never created
        api = p.inspect(f"{p.name}-api-1")
        cfg, host = api["Config"], api["HostConfig"]
        assert cfg["Hostname"] == "api-host" and cfg["User"] == "1000:1000" and cfg["WorkingDir"] == "/www"
        assert cfg["Labels"]["team"] == "backend"
        assert host["ReadonlyRootfs"] is True and host["Init"] is True and host["CapDrop"] == ["NET_RAW"]
        assert host["ExtraHosts"] == ["registry.local:127.0.0.9"]
        assert host["RestartPolicy"]["Name"] == "unless-stopped"
        assert host["Memory"] == 64 * 1024 * 1024 and host["NanoCpus"] == 500_000_000
        assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
        assert cfg["StopTimeout"] == 3
        back = api["NetworkSettings"]["Networks"][f"{p.name}_back"]
        assert back["IPAddress"] == "10.231.7.20"
        assert {"api", "backend", "api.internal"} <= set(back["Aliases"])
        probe = f"{p.name}-probe-1"
        info = p.inspect(probe)
        assert set(info["NetworkSettings"]["Networks"]) == {f"{p.name}_back", outside}
        assert "FROM_ENV_FILE=yes" in info["Config"]["Env"]
        # The service name and the aliases resolve on the shared network; the bind is read-only.
        for alias in ("api", "backend", "api.internal"):
            out = d.ok("exec", probe, "nslookup", alias)
            assert "10.231.7.20" in out, (alias, out)
        assert d.ok("exec", probe, "cat", "/data/hello.txt") == "from the host"
        assert d.cli("exec", probe, "touch", "/data/x").returncode != 0
        assert d.ok("exec", f"{p.name}-api-1", "cat", "/etc/hosts").count("registry.local") == 1
        r = p.compose("down", "-v")
        assert r.returncode == 0, r.stderr
        assert outside in d.ok("network", "ls", "--format", "{{.Name}}").split()  # external: kept
    finally:
        p.cleanup()
        d.cli("network", "rm", outside)


def test_build_push_pull(project: Project, baleine_registry) -> None:  # noqa: ANN001 - tests.registries.Registry
    """build, push to a registry on loopback (Baleine's own), remove, pull back, run; --rmi."""
    p, d = project, project.d
    ref = f"127.0.0.1:{baleine_registry.port}/{p.name}/app:1"
    (p.root / "app").mkdir()
    (p.root / "app" / "hello.txt").write_text("built by compose\n")
    (p.root / "app" / "Dockerfile").write_text("FROM busybox\nARG GREETING=none\nCOPY hello.txt /hello.txt\n"
                                               "RUN echo \"$GREETING\" > /greeting\nCMD [\"cat\", \"/hello.txt\"]\n")
    p.write(f"services:\n  app:\n    image: {ref}\n    build:\n      context: ./app\n"
            f"      args: {{GREETING: from-compose}}\n  local:\n    build: ./app\n")
    r = p.compose("build")
    assert r.returncode == 0, r.stderr
    assert "Step 1/5 : FROM busybox" in r.stderr and " Service app  Built" in r.stderr
    assert d.ok("run", "--rm", ref, "cat", "/greeting") == "from-compose"
    assert d.ok("image", "inspect", "--format", "{{.Id}}", f"{p.name}-local")
    r = p.compose("push", "app")
    assert r.returncode == 0, r.stderr
    assert f" Image {ref}  Pushed" in r.stderr
    d.ok("rmi", ref)
    r = p.compose("pull", "app")
    assert r.returncode == 0, r.stderr
    assert f" Image {ref}  Pulled" in r.stderr
    r = p.compose("run", "--rm", "-T", "app")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("built by compose")
    p.ok("up", "-d", "--no-build")
    r = p.compose("down", "--rmi", "local")
    assert r.returncode == 0, r.stderr
    assert d.cli("image", "inspect", f"{p.name}-local").returncode != 0  # built without a name: removed
    assert d.cli("image", "inspect", ref).returncode == 0  # named by the file: kept with "local"
    p.ok("down", "--rmi", "all")
    assert d.cli("image", "inspect", ref).returncode != 0
