"""The web dashboard (``--ui-addr``): access control with plain HTTP, then the pages in a real
browser (Debian's chromium driven by Playwright, no browser download).

Screenshots of every page go to the test's temporary directory; set
``BALEINE_UI_SCREENSHOTS=<dir>`` to keep them (docs/ui/ holds a few for the README).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import BUSYBOX_TAR, Daemon, baleine_cmd, destroy_daemon, new_daemon

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REGISTRY_PORT: int | None = None  # set by the fixture: the daemon's built-in registry


@pytest.fixture(scope="module")
def ui_daemon() -> Iterator[tuple[Daemon, str]]:
    """A daemon serving the dashboard on a free loopback port, and a registry (for pulls
    from the page), with busybox; (daemon, base URL)."""
    global REGISTRY_PORT
    port, REGISTRY_PORT = _free_port(), _free_port()
    # The slow-callback watch measures wall-clock time; here a headless Chromium shares the
    # machine's two cores with the daemon and can preempt it mid-callback, so this daemon
    # is held to 0.3 s rather than the suite's 0.1 s (what it streams is still checked:
    # test_fast_logs_freeze_neither_the_page_nor_the_daemon).
    d = new_daemon(extra_args=["--ui-addr", f"127.0.0.1:{port}", "--registry-addr", f"127.0.0.1:{REGISTRY_PORT}",
                               "--debug-slow-callback", "0.3"])
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        yield d, f"127.0.0.1:{port}"
    finally:
        destroy_daemon(d)


def request(addr: str, method: str, path: str, headers: dict[str, str] | None = None,
            body: bytes | None = None) -> http.client.HTTPResponse:
    """One plain HTTP request, redirects not followed; the body is read."""
    conn = http.client.HTTPConnection(addr, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    resp.data = resp.read()  # type: ignore[attr-defined]
    conn.close()
    return resp


def login_token(d: Daemon) -> str:
    return (d.data_root / "ui" / "token").read_text().strip()


def login(addr: str, d: Daemon) -> tuple[str, str]:
    """(Cookie header value, CSRF token) of a fresh session."""
    resp = request(addr, "GET", f"/?token={login_token(d)}")
    assert resp.status == 303
    cookies = {}
    for header in resp.headers.get_all("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return "; ".join(f"{k}={v}" for k, v in cookies.items()), cookies["baleine_csrf"]


ROUTES = ["/", "/static/app.js", "/static/index.html", "/engine/_ping", "/engine/containers/json",
          "/engine/v1.47/images/json", "/engine/events", "/ui/terminal/abc", "/ui/compose/logs?project=x",
          "/nothing-here"]


def test_the_token_file_is_root_only(ui_daemon: tuple[Daemon, str]) -> None:
    d, _ = ui_daemon
    path = d.data_root / "ui" / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(login_token(d)) >= 32


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_is_401_without_a_session(ui_daemon: tuple[Daemon, str], path: str) -> None:
    d, addr = ui_daemon
    for method in ("GET", "POST"):
        resp = request(addr, method, path)
        assert resp.status == 401, (method, path, resp.status)
        assert b"baleine_" not in resp.data and login_token(d).encode() not in resp.data
    forged = request(addr, "GET", path, {"Cookie": "baleine_session=abc.9999999999.deadbeef"})
    assert forged.status == 401


def test_a_wrong_token_is_401(ui_daemon: tuple[Daemon, str]) -> None:
    _, addr = ui_daemon
    resp = request(addr, "GET", "/?token=not-the-token")
    assert resp.status == 401 and not resp.headers.get_all("Set-Cookie")


def test_the_token_url_sets_the_session_and_drops_the_token(ui_daemon: tuple[Daemon, str]) -> None:
    d, addr = ui_daemon
    resp = request(addr, "GET", f"/?token={login_token(d)}&x=1")
    assert resp.status == 303
    assert resp.headers["Location"] == "/?x=1"
    cookies = resp.headers.get_all("Set-Cookie")
    session = next(c for c in cookies if c.startswith("baleine_session="))
    csrf = next(c for c in cookies if c.startswith("baleine_csrf="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf
    cookie, _ = login(addr, d)
    page = request(addr, "GET", "/", {"Cookie": cookie})
    assert page.status == 200 and b"/static/app.js" in page.data
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert request(addr, "GET", "/static/app.js", {"Cookie": cookie}).status == 200
    api = request(addr, "GET", "/engine/containers/json?all=1", {"Cookie": cookie})
    assert api.status == 200 and isinstance(json.loads(api.data), list)
    assert request(addr, "GET", "/engine/v1.47/version", {"Cookie": cookie}).headers["Api-Version"]


def test_cross_origin_requests_are_refused(ui_daemon: tuple[Daemon, str]) -> None:
    d, addr = ui_daemon
    cookie, csrf = login(addr, d)
    for headers in ({"Origin": "http://evil.example"}, {"Origin": f"http://{addr}.evil.example"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        for method, path in (("GET", "/engine/containers/json"), ("GET", "/"),
                             ("POST", "/engine/containers/create"), ("GET", "/ui/terminal/abc")):
            resp = request(addr, method, path, {"Cookie": cookie, "X-CSRF-Token": csrf, **headers})
            assert resp.status == 403, (headers, method, path, resp.status)
    # The login URL too: a cross-site page cannot log a victim in with a token it knows.
    assert request(addr, "GET", f"/?token={login_token(d)}", {"Sec-Fetch-Site": "cross-site"}).status == 403
    assert request(addr, "GET", "/engine/_ping", {"Cookie": cookie, "Origin": f"http://{addr}"}).status == 200


def test_state_changes_need_the_csrf_token_and_same_origin(ui_daemon: tuple[Daemon, str], name: str) -> None:
    d, addr = ui_daemon
    cookie, csrf = login(addr, d)
    body = json.dumps({"Image": "busybox", "Cmd": ["true"]}).encode()
    path = f"/engine/containers/create?name={name}"
    base = {"Cookie": cookie, "Content-Type": "application/json"}
    for headers in ({"Origin": f"http://{addr}"}, {"Origin": f"http://{addr}", "X-CSRF-Token": "x" * 64},
                    {"X-CSRF-Token": csrf}):  # no Origin nor Sec-Fetch-Site: not proven same-origin
        assert request(addr, "POST", path, {**base, **headers}, body).status == 403, headers
    assert d.docker("inspect", name).returncode != 0
    ok = request(addr, "POST", path, {**base, "X-CSRF-Token": csrf, "Origin": f"http://{addr}"}, body)
    assert ok.status == 201, ok.data
    removed = request(addr, "DELETE", f"/engine/containers/{name}",
                      {"Cookie": cookie, "X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-origin"})
    assert removed.status == 204
    # Another session's CSRF token does not fit this session.
    _, other = login(addr, d)
    assert request(addr, "POST", path, {**base, "X-CSRF-Token": other, "Origin": f"http://{addr}"}, body).status == 403


def test_baleine_ui_prints_the_login_url(ui_daemon: tuple[Daemon, str]) -> None:
    d, addr = ui_daemon
    env = {**d.env(), "BROWSER": ""}
    env.pop("DISPLAY", None)
    r = subprocess.run(baleine_cmd() + ["ui", "--data-root", str(d.data_root), "--no-browser"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"http://{addr}/?token={login_token(d)}"
    off = subprocess.run(baleine_cmd() + ["ui", "--data-root", str(d.root / "nowhere"), "--no-browser"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert off.returncode != 0 and "--ui-addr" in off.stderr and "token=" not in off.stdout


# --- In a real browser ---------------------------------------------------------------------------

def _shot(page, tmp_path: Path, name: str) -> None:  # noqa: ANN001 - playwright Page
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    keep = os.environ.get("BALEINE_UI_SCREENSHOTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(path, keep)


@pytest.fixture
def browser_page(ui_daemon: tuple[Daemon, str]):  # noqa: ANN201 - playwright Page
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            yield page
        finally:
            browser.close()


def test_the_dashboard_in_a_browser(ui_daemon: tuple[Daemon, str], browser_page, tmp_path: Path,
                                    name: str) -> None:
    from playwright.sync_api import expect

    d, addr = ui_daemon
    page = browser_page
    client = d.api()
    page.goto(f"http://{addr}/?token={login_token(d)}")
    assert "token" not in page.url  # the token left the address bar
    expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
    expect(page.locator('[data-count="total"] strong')).to_be_visible()
    _shot(page, tmp_path, "overview")

    page.goto(f"http://{addr}/#/containers")
    expect(page.locator("table.list")).to_be_visible()
    c = client.containers.run("busybox", ["sh", "-c", "i=0; while true; do echo line-$i; echo err-$i >&2; "
                                                      "i=$((i+1)); sleep 0.3; done"], name=name, detach=True,
                               environment={"API_TOKEN": "hunter2", "GREETING": "hello"})
    try:
        row = page.locator(f'tr[data-name="{name}"]')
        expect(row).to_have_attribute("data-state", "running", timeout=1_000)  # live, from /events
        _shot(page, tmp_path, "containers")
        row.locator('button[data-action="stop"]').click()
        expect(row).to_have_attribute("data-state", "exited", timeout=20_000)
        assert client.containers.get(name).status == "exited"
        row.locator('button[data-action="start"]').click()
        expect(row).to_have_attribute("data-state", "running", timeout=10_000)
        assert client.containers.get(name).status == "running"
        expect(row.locator("td").nth(4)).to_contain_text(re.compile(r"\d+\.\d% · \d"), timeout=15_000)  # CPU · memory

        page.goto(f"http://{addr}/#/containers/{c.id}/logs")
        logs = page.locator("pre.logs")
        expect(logs.locator(".line.stdout").first).to_be_visible(timeout=10_000)
        expect(logs.locator(".line.stderr").first).to_be_visible()
        # A line written now, through the container's own stdout, shows up live.
        marker = f"marker-{time.time_ns()}"
        client.containers.get(name).exec_run(["sh", "-c", f"echo {marker} > /proc/1/fd/1"])
        expect(logs.locator(".line.stdout", has_text=marker)).to_have_count(1, timeout=2_000)
        _shot(page, tmp_path, "logs")

        page.goto(f"http://{addr}/#/containers/{c.id}/stats")
        plot = page.locator(".plot")
        expect(plot).not_to_have_attribute("data-points", "0", timeout=10_000)
        first = int(plot.get_attribute("data-points"))
        page.wait_for_function("n => +document.querySelector('.plot').dataset.points > n", arg=first + 1,
                               timeout=10_000)
        _shot(page, tmp_path, "stats")

        page.goto(f"http://{addr}/#/containers/{c.id}/terminal")
        expect(page.locator("p.note")).to_contain_text("Connected", timeout=10_000)
        page.locator(".term").click()
        page.keyboard.type("echo hi\n")
        # The output line alone (the echoed command line is "... echo hi").
        expect(page.locator(".xterm-rows > div", has_text=re.compile(r"^hi\s*$"))).to_have_count(1, timeout=10_000)
        page.keyboard.type("echo done-$((40+2))\n")
        expect(page.locator(".xterm-rows")).to_contain_text("done-42", timeout=10_000)
        _shot(page, tmp_path, "terminal")

        page.goto(f"http://{addr}/#/containers/{c.id}/inspect")
        env = page.locator("ul.env")
        expect(env).to_contain_text("GREETING=hello")
        expect(env).to_contain_text("API_TOKEN=••••••")  # secret-looking values are masked
        assert "hunter2" not in page.content()

        page.goto(f"http://{addr}/#/volumes")
        page.get_by_label("Name").fill(f"{name}-vol")
        page.get_by_role("button", name="Create").click()
        vol_row = page.locator(f'tr[data-name="{name}-vol"]')
        expect(vol_row).to_be_visible(timeout=5_000)
        vol_row.locator('button[data-action="remove"]').click()
        page.locator('dialog[open] button[data-confirm="yes"]').click()  # destructive: asks first
        expect(vol_row).to_have_count(0, timeout=5_000)
        assert not [v for v in client.volumes.list() if v.name == f"{name}-vol"]
        page.goto(f"http://{addr}/#/images")
        ref = f"127.0.0.1:{REGISTRY_PORT}/ui-pull:{name[-6:]}"
        d.ok("tag", "busybox", ref)
        d.ok("push", ref)
        d.ok("rmi", ref)
        page.get_by_label("Image to pull").fill(ref)
        page.get_by_role("button", name="Pull").click()
        progress = page.locator("ul.progress")
        expect(progress).to_contain_text(re.compile(r"Pull complete|Already exists"), timeout=20_000)  # per layer
        expect(progress).to_contain_text("Status:", timeout=20_000)
        expect(page.locator(f'tr[data-name~="{ref}"]')).to_be_visible(timeout=5_000)
        busybox = page.locator('tr[data-name~="busybox:latest"]')
        busybox.locator("summary").click()
        expect(busybox.locator("table.history tr").first).to_be_visible(timeout=5_000)  # layers and history
        for route in ("images", "networks", "volumes"):
            page.goto(f"http://{addr}/#/{route}")
            expect(page.locator("h1")).to_be_visible()
            _shot(page, tmp_path, route)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"http://{addr}/#/containers")
        expect(page.locator(f'tr[data-name="{name}"]')).to_be_visible()
        _shot(page, tmp_path, "containers-phone")
    finally:
        c.remove(force=True)


def test_compose_projects_in_a_browser(ui_daemon: tuple[Daemon, str], browser_page, tmp_path: Path,
                                       name: str) -> None:
    """Containers grouped by their compose labels; "Stop all" stops the project's containers."""
    from playwright.sync_api import expect

    d, addr = ui_daemon
    page, client = browser_page, d.api()
    project = f"p{name[-6:]}"
    made = [client.containers.run("busybox", ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"],
                                  name=f"{project}-{svc}-1", detach=True,
                                  labels={"com.docker.compose.project": project,
                                          "com.docker.compose.service": svc})
            for svc in ("web", "db")]
    try:
        page.goto(f"http://{addr}/?token={login_token(d)}")
        page.goto(f"http://{addr}/#/compose")
        section = page.locator(f'section[data-project="{project}"]')
        expect(section.locator("tbody tr")).to_have_count(2, timeout=5_000)
        expect(section).to_contain_text("web")
        expect(section).to_contain_text("db")
        _shot(page, tmp_path, "compose")
        section.locator('button[data-bulk="stop"]').click()
        for c in made:
            expect(section.locator(f'tr[data-name="{c.name}"]')).to_contain_text("exited", timeout=20_000)
            assert client.containers.get(c.id).status == "exited"
    finally:
        for c in made:
            c.remove(force=True)


def test_a_balanced_service_shows_its_group_port(ui_daemon: tuple[Daemon, str], browser_page, name: str) -> None:
    """Replicas of a balanced service publish nothing themselves: the page shows the group's
    published port and how many replicas are ready."""
    from playwright.sync_api import expect

    d, addr = ui_daemon
    page, client = browser_page, d.api()
    project, port = f"b{name[-6:]}", _free_port()
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": "web",
              "io.baleine.balance": f"{project}_web", "io.baleine.balance.ports": f"{port}:80"}
    made = [client.containers.run("busybox", ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"],
                                  name=f"{project}-web-{n}", detach=True, labels=labels) for n in (1, 2)]
    try:
        page.goto(f"http://{addr}/?token={login_token(d)}")
        page.goto(f"http://{addr}/#/compose")
        section = page.locator(f'section[data-project="{project}"]')
        expect(section.locator("tbody tr")).to_have_count(2, timeout=5_000)
        expect(section.locator(".balanced").first).to_contain_text("balanced: 2/2 ready", timeout=5_000)
        expect(section.locator(f'a[href$=":{port}/"]').first).to_contain_text(f"{port}→80")
    finally:
        for c in made:
            c.remove(force=True)


COMPOSE_FILE = """services:
  web:
    image: busybox:1.35
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo hello from web; sleep 0.3; done"]
    depends_on: [db]
  db:
    image: busybox:1.35
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo hello from db >&2; sleep 0.3; done"]
"""


def test_compose_up_logs_and_down_from_the_page(ui_daemon: tuple[Daemon, str], browser_page, tmp_path: Path,
                                                name: str) -> None:
    """A compose file pasted into the page comes up (both services), their logs show
    interleaved with one colour per service, and Down removes containers and network."""
    from playwright.sync_api import expect

    d, addr = ui_daemon
    page, client = browser_page, d.api()
    project = f"up{name[-6:]}"
    try:
        page.goto(f"http://{addr}/?token={login_token(d)}")
        page.goto(f"http://{addr}/#/compose")
        form = page.locator("form.compose-new")
        form.get_by_label("Project name").fill(project)
        form.get_by_label("Compose file").fill(COMPOSE_FILE)
        form.locator('button[data-action="up"]').click()
        section = page.locator(f'section[data-project="{project}"]')
        expect(section.locator("tbody tr")).to_have_count(2, timeout=30_000)
        expect(section.locator('tr[data-name="%s-web-1"]' % project)).to_contain_text("running", timeout=10_000)
        states = {c.name: c.status for c in client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})}
        assert states == {f"{project}-web-1": "running", f"{project}-db-1": "running"}, states
        section.locator('button[data-bulk="logs"]').click()
        logs = page.locator(f'ol[data-logs="{project}"]')
        expect(logs.locator('li[data-service="web"]').first).to_contain_text("hello from web", timeout=10_000)
        expect(logs.locator('li[data-service="db"]').first).to_contain_text("hello from db", timeout=10_000)
        web_color = logs.locator('li[data-service="web"] span.svc').first.get_attribute("style")
        db_color = logs.locator('li[data-service="db"] span.svc').first.get_attribute("style")
        assert web_color != db_color
        _shot(page, tmp_path, "compose-logs")
        section.locator('button[data-bulk="down"]').click()
        page.locator('dialog[open] button[data-confirm="yes"]').click()
        expect(section).to_have_count(0, timeout=30_000)
        assert client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"}) == []
        assert client.networks.list(names=[f"{project}_default"]) == []
    finally:
        for c in client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"}):
            c.remove(force=True)
        for n in client.networks.list(names=[f"{project}_default"]):
            n.remove()


def test_compose_routes_refuse_bad_input(ui_daemon: tuple[Daemon, str]) -> None:
    d, addr = ui_daemon
    cookie, csrf = login(addr, d)
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": f"http://{addr}", "Content-Type": "application/json"}
    for body, wanted in ((b"[]", "JSON object"), (b'{"project": "Bad Name"}', "invalid project name"),
                         (b'{"project": "nofile"}', "no compose file is known"),
                         (b'{"project": "broken", "yaml": "services: [1, 2"}', "")):
        resp = request(addr, "POST", "/ui/compose/up", headers, body)
        text = resp.data.decode()  # type: ignore[attr-defined]
        assert resp.status == 400, (body, resp.status, text)
        assert wanted in text, text


def test_the_page_reconnects_when_the_daemon_restarts(ui_daemon: tuple[Daemon, str], browser_page,
                                                      name: str) -> None:
    """The session survives a restart (signed, not stored) and the page picks up where it was."""
    from playwright.sync_api import expect

    d, addr = ui_daemon
    page = browser_page
    page.goto(f"http://{addr}/?token={login_token(d)}")
    page.goto(f"http://{addr}/#/containers")
    expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
    d.stop()
    expect(page.locator("#conn")).to_have_text("reconnecting…", timeout=10_000)
    d.start()
    expect(page.locator("#conn")).to_have_text("live", timeout=15_000)
    client = d.api()
    c = client.containers.run("busybox", ["sleep", "300"], name=name, detach=True)
    try:
        expect(page.locator(f'tr[data-name="{name}"]')).to_have_attribute("data-state", "running", timeout=2_000)
    finally:
        c.remove(force=True)


def test_https_with_a_certificate(tmp_path: Path) -> None:
    """--ui-tlscert/--ui-tlskey: the dashboard speaks HTTPS and its cookies are Secure."""
    import asyncio
    import ssl

    from aiohttp import web

    from baleine.ui.server import make_ui_app, start_ui

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = _free_port()

    def fetch(path: str) -> http.client.HTTPResponse:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ssl._create_unverified_context())
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp

    async def scenario() -> None:
        app = make_ui_app(web.Application(), str(tmp_path), "unix:///nonexistent", secure=True)
        runner = await start_ui(app, f"127.0.0.1:{port}", str(tmp_path), str(cert), str(key))
        try:
            assert (await asyncio.to_thread(fetch, "/")).status == 401
            token = (tmp_path / "ui" / "token").read_text().strip()
            resp = await asyncio.to_thread(fetch, f"/?token={token}")
            assert resp.status == 303
            assert all("Secure" in c for c in resp.headers.get_all("Set-Cookie"))
            assert (tmp_path / "ui" / "url").read_text().strip() == f"https://127.0.0.1:{port}/"
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_fast_logs_freeze_neither_the_page_nor_the_daemon(ui_daemon: tuple[Daemon, str], browser_page,
                                                          name: str) -> None:
    """`yes` into the log: the page keeps answering, keeps a bounded number of lines, the API answers."""
    from playwright.sync_api import expect

    d, addr = ui_daemon
    page, client = browser_page, d.api()
    c = client.containers.run("busybox", ["sh", "-c", "sleep 1; yes | head -n 100000; echo the-end; sleep 300"],
                              name=name, detach=True)
    try:
        page.goto(f"http://{addr}/?token={login_token(d)}")
        page.goto(f"http://{addr}/#/containers/{c.id}/logs")
        worst_page = worst_api = 0.0
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            page.evaluate("document.querySelectorAll('pre.logs .line').length")
            worst_page = max(worst_page, time.monotonic() - t0)
            t0 = time.monotonic()
            assert request(addr, "GET", "/engine/_ping", {"Cookie": _cookie(page)}).status == 200
            worst_api = max(worst_api, time.monotonic() - t0)
            time.sleep(0.2)
        expect(page.locator("pre.logs")).to_contain_text("the-end", timeout=30_000)
        assert page.locator("pre.logs .line").count() <= 5000  # bounded: the oldest lines leave the page
        assert worst_page < 2.0, worst_page
        assert worst_api < 2.0, worst_api
    finally:
        c.remove(force=True)


def _cookie(page) -> str:  # noqa: ANN001 - playwright Page
    return "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
