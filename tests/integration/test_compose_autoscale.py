"""x-baleine-autoscale against a real daemon (``--hpa-sync-period 1s``): a busybox
httpd service reserving 0.1 CPU scales up under a bounded busy loop run inside its
first replica, the new replicas serve through the group's published port, and it
scales back to one after the load stops and the (shortened) stabilisation window.
A file without a CPU request is refused before anything is made. Traffic goes only
to loopback."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import BUSYBOX_TAR, Daemon, _run, baleine_cmd, destroy_daemon, new_daemon
from ..networking import free_port

SERVE = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"
#: the load: one busy shell in the first replica, for a bounded time
LOAD_SECONDS = 12


def compose_file(port: int) -> str:
    return f"""services:
  web:
    image: busybox
    command: ["sh", "-c", "{SERVE}"]
    ports: ["{port}:80"]
    stop_grace_period: 1s
    deploy:
      resources:
        reservations:
          cpus: "0.1"
    x-baleine-autoscale:
      min: 1
      max: 3
      cpu: 50
      behavior:
        scaleDown:
          stabilizationWindowSeconds: 3
"""


@pytest.fixture(scope="module")
def d() -> Iterator[Daemon]:
    dm = new_daemon(extra_args=["--hpa-sync-period", "1s"])
    try:
        dm.ok("load", "-i", str(BUSYBOX_TAR))
        yield dm
    finally:
        destroy_daemon(dm, "test_compose_autoscale")


def compose(d: Daemon, root: Path, *args: str):  # noqa: ANN201 - conftest.Result
    return _run(baleine_cmd() + ["compose", "-f", str(root / "compose.yaml"), "-p", "as1", *args],
                d.env(), None, 120, False)


def group(d: Daemon) -> dict:
    api = d.api()
    try:
        groups = api.api._result(api.api._get(api.api.base_url + "/baleine/balancers"), True)
    finally:
        api.close()
    return next((g for g in groups if g["Name"] == "as1_web"), {})


def wait_group(d: Daemon, test, what: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        g = group(d)
        if g and test(g):
            return g
        assert time.monotonic() < deadline, f"{what}: {g}"
        time.sleep(0.3)


def running(g: dict) -> int:
    return sum(1 for m in g["Members"] if m["State"] == "running")


def hit(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        return r.read().decode().strip()


def test_scales_up_under_load_and_back(d: Daemon, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "compose.yaml").write_text(compose_file(port))
    r = compose(d, tmp_path, "up", "-d")
    assert r.returncode == 0, r.stderr
    try:
        g = wait_group(d, lambda g: g.get("Autoscale") and g["Ready"] == 1, "one ready replica, autoscaled", 20)
        assert g["Autoscale"]["Min"] == 1 and g["Autoscale"]["Max"] == 3 and g["Autoscale"]["TargetCPU"] == 50
        time.sleep(3)  # idle: a few syncs measure ~0 % and keep one replica
        g = group(d)
        assert len(g["Members"]) == 1 and g["Autoscale"]["LastScale"] == "", g
        assert g["Autoscale"]["CurrentCPU"] is not None and g["Autoscale"]["CurrentCPU"] < 50, g
        since = str(int(time.time()))
        d.ok("exec", "-d", "as1-web-1", "timeout", str(LOAD_SECONDS), "sh", "-c", "while :; do :; done")
        loaded = time.monotonic()
        g = wait_group(d, lambda g: running(g) > 1 and g["Autoscale"]["LastScale"], "scaled up under load", 8)
        assert g["Autoscale"]["CurrentCPU"] > 50 and g["Autoscale"]["Desired"] > 1, g
        g = wait_group(d, lambda g: g["Ready"] == 3, "3 ready replicas (max)", 15)
        assert {m["Name"] for m in g["Members"]} == {"as1-web-1", "as1-web-2", "as1-web-3"}
        assert time.monotonic() - loaded < LOAD_SECONDS, "the load ended before the group reached max"
        assert len(compose(d, tmp_path, "ps", "-q").stdout.split()) == 3
        # A later `up` keeps the engine's count (not the file's 1), as an HPA-managed
        # Deployment applied again keeps its own.
        r = compose(d, tmp_path, "up", "-d")
        assert r.returncode == 0, r.stderr
        assert len(compose(d, tmp_path, "ps", "-q").stdout.split()) == 3, r.stderr
        events = d.ok("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter",
                      "event=autoscale", "--format", "{{.Actor.Attributes.group}} {{.Actor.Attributes.from}}")
        assert events.split("\n")[0].strip() == "as1_web 1", events
        seen = {hit(port) for _ in range(30)}  # every replica answers its hostname behind the one port
        assert len(seen) > 1, seen
        g = wait_group(d, lambda g: len(g["Members"]) == 1, "back to one replica after the load and the window",
                       LOAD_SECONDS + 20)
        assert g["Members"][0]["Name"] == "as1-web-1" and g["Autoscale"]["Desired"] == 1, g
        assert time.monotonic() - loaded > LOAD_SECONDS + 2, "scaled down before the load ended and the window"
        assert hit(port)
    finally:
        compose(d, tmp_path, "down", "-t", "1")


def test_no_cpu_request_refused(d: Daemon, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(compose_file(free_port()).replace('cpus: "0.1"', 'memory: 64M'))
    r = compose(d, tmp_path, "up", "-d")
    assert r.returncode != 0
    assert "x-baleine-autoscale" in r.stderr and "deploy.resources.reservations.cpus" in r.stderr, r.stderr
    assert d.ok("ps", "-aq", "--filter", "label=com.docker.compose.project=as1").split() == []
