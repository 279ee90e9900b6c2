"""The founding document's case: a web application and its database, the database
reachable only by the application, its data outliving the containers.

``postgres:15`` runs on a private network with a named volume; the application
(``python:3.11-slim`` with pg8000, a pure-Python PostgreSQL client, mounted in)
is on that network and on the default bridge and publishes its port on
127.0.0.1. The host reaches the application, the application reaches the
database by name, a container on another network can neither resolve nor
reach the database, the database publishes nothing; both containers are
removed and recreated and the data is still there.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import Daemon
from ..networking import kernel_state, settled_state

APP = '''
import http.server, json, time
import pg8000.native

def connect():
    for _ in range(120):
        try:
            return pg8000.native.Connection("postgres", host="db", password="secret", database="postgres")
        except Exception:
            time.sleep(0.5)
    raise SystemExit("no database")

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        con = connect()
        con.run("CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY, path text)")
        if self.path != "/list":
            con.run("INSERT INTO visits (path) VALUES (:p)", p=self.path)
        body = json.dumps([r[0] for r in con.run("SELECT path FROM visits ORDER BY id")]).encode()
        con.close()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("", 8000), Handler).serve_forever()
'''


def python_libs(dest: Path) -> None:
    """Copy pg8000 and everything it requires (pure Python) where the app container can
    import them: the installed files of each distribution in its dependency closure."""
    import re

    dest.mkdir(parents=True, exist_ok=True)
    todo, seen = ["pg8000"], set()
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        dist = importlib.metadata.distribution(name)
        for f in dist.files or []:
            src = Path(str(dist.locate_file(f)))
            if src.is_file() and "__pycache__" not in f.parts and not str(f).startswith(".."):
                target = dest / f
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)
        for req in dist.requires or []:
            if ";" in req and "extra" in req.split(";", 1)[1]:
                continue  # optional extras are not needed
            todo.append(re.split(r"[ <>=!~;\[(]", req, 1)[0])


def get(url: str, timeout: float = 90) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return json.loads(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except OSError:
        return True


@pytest.fixture
def case(bookworm_daemon: Daemon, name: str):
    d = bookworm_daemon
    names = {"private": f"{name}-private", "elsewhere": f"{name}-elsewhere", "volume": f"{name}-pgdata",
             "db": f"{name}-db", "app": f"{name}-app"}
    yield names
    d.cli("rm", "-f", names["db"], names["app"])
    d.cli("network", "rm", names["private"], names["elsewhere"])
    d.cli("volume", "rm", names["volume"])


def start_pair(d: Daemon, n: dict[str, str], libs: Path, app_dir: Path) -> int:
    d.ok("run", "-d", "--name", n["db"], "--network", n["private"], "--network-alias", "db",
         "-e", "POSTGRES_PASSWORD=secret", "-v", f"{n['volume']}:/var/lib/postgresql/data", "postgres:15")
    d.ok("run", "-d", "--name", n["app"], "--network", n["private"], "-p", "127.0.0.1::8000",
         "-v", f"{libs}:/libs:ro", "-v", f"{app_dir}:/app:ro", "-e", "PYTHONPATH=/libs",
         "python:3.11-slim", "python3", "/app/app.py")
    d.ok("network", "connect", "bridge", n["app"])
    return int(d.ok("port", n["app"], "8000").rsplit(":", 1)[1])


def test_web_app_and_its_database(bookworm_daemon: Daemon, case: dict[str, str]) -> None:
    d, n = bookworm_daemon, case
    libs, app_dir = d.root / "applibs", d.root / "app"
    python_libs(libs)
    app_dir.mkdir(exist_ok=True)
    (app_dir / "app.py").write_text(APP)
    d.ok("network", "create", n["private"])
    d.ok("volume", "create", n["volume"])

    port = start_pair(d, n, libs, app_dir)
    assert d.ok("port", n["app"]) == f"8000/tcp -> 127.0.0.1:{port}"
    # The host reaches the app on 127.0.0.1:<port>; the app reaches the database by name.
    assert get(f"http://127.0.0.1:{port}/first") == ["/first"]
    db = d.inspect(n["db"])
    db_ip = db["NetworkSettings"]["Networks"][n["private"]]["IPAddress"]
    resolved = d.ok("exec", n["app"], "python3", "-c", "import socket; print(socket.gethostbyname('db'))")
    assert resolved == db_ip
    app_nets = d.inspect(n["app"])["NetworkSettings"]["Networks"]
    assert set(app_nets) == {n["private"], "bridge"}

    # A container on another network can neither resolve nor connect to the database.
    d.ok("network", "create", n["elsewhere"])
    probe = ("nslookup db >/dev/null 2>&1 && echo resolved; nslookup {db} >/dev/null 2>&1 && echo resolved; "
             "nc -w 2 {ip} 5432 </dev/null && echo connected; true").format(db=n["db"], ip=db_ip)
    for network in (n["elsewhere"], "bridge"):
        out = d.cli("run", "--rm", "--network", network, "busybox", "sh", "-c", probe).stdout
        assert "resolved" not in out and "connected" not in out, network

    # The database publishes nothing: from the host, the data is only reachable through the app.
    assert db["NetworkSettings"]["Ports"] == {"5432/tcp": None}
    assert d.ok("port", n["db"]) == ""
    assert not any(db_ip in rule for rule in kernel_state(d)["dnat"])
    assert refused("127.0.0.1", 5432)

    # Remove both, recreate both: the data is still there.
    d.ok("rm", "-f", n["app"], n["db"])
    port = start_pair(d, n, libs, app_dir)
    assert get(f"http://127.0.0.1:{port}/second") == ["/first", "/second"]
    d.ok("rm", "-f", n["app"], n["db"])
    state = settled_state(d)
    assert state["netns"] == [] and state["dnat"] == [] and state["veths"] == []
