"""Rolling updates of a replicated compose service (compose/rolling.py) against a
real daemon, busybox httpd replicas answering their configuration's version, the
``baleine compose`` CLI, and a steady load on the published port (loopback only)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .. import loadgen
from ..conftest import BUSYBOX_TAR, Daemon, Result, _run, baleine_cmd, destroy_daemon, new_daemon
from ..networking import free_port

# httpd under a shell that exits at once on SIGTERM (after the engine drained the replica).
SERVE = ("mkdir -p /www && echo $$V > /www/index.html && echo ok > /www/ok; "
         "trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait")


def compose_file(port: int, version: str, order: str = "start-first", action: str = "pause",
                 probe: str = "/www/ok", replicas: int = 3, update: str = "parallelism: 1",
                 monitor: str = "1s", health: bool = True) -> str:
    check = f"""    healthcheck:
      test: ["CMD", "test", "-f", "{probe}"]
      interval: 0.5s
      timeout: 2s
      retries: 1
""" if health else ""
    return f"""services:
  web:
    image: busybox
    command: ["sh", "-c", "{SERVE}"]
    environment:
      V: "{version}"
    ports: ["{port}:80"]
    stop_grace_period: 1s
    deploy:
      replicas: {replicas}
      update_config: {{{update}, order: {order}, monitor: {monitor}, failure_action: {action}}}
      rollback_config: {{parallelism: 0, order: stop-first, monitor: 1s}}
{check}"""


@pytest.fixture(scope="module")
def d() -> Iterator[Daemon]:
    dm = new_daemon()
    try:
        dm.ok("load", "-i", str(BUSYBOX_TAR))
        yield dm
    finally:
        destroy_daemon(dm, "test_compose_rollout")


class Proj:
    def __init__(self, d: Daemon, root: Path, name: str) -> None:
        self.d, self.root, self.name, self.port = d, root, name, free_port()

    def write(self, version: str, **kw: Any) -> None:
        (self.root / "compose.yaml").write_text(compose_file(self.port, version, **kw))

    def run(self, *args: str) -> Result:
        return _run(baleine_cmd() + ["compose", "--progress", "plain", "-f", str(self.root / "compose.yaml"),
                                     "-p", self.name, *args], self.d.env(), None, 120, False)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, f"compose {args}: {r.stderr}\n{r.stdout}"
        return r.stderr

    def replicas(self) -> dict[str, dict]:
        """name → inspect of every container of the project (kept old ones included)."""
        ids = self.d.ok("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}").split()
        return {(info := self.d.inspect(i))["Name"].lstrip("/"): info for i in ids}

    def versions(self) -> dict[str, str]:
        """replica name → its V, for the running replicas."""
        return {n: next(e[2:] for e in i["Config"]["Env"] if e.startswith("V=")) for n, i in self.replicas().items()
                if i["State"]["Running"]}

    def ready(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            infos = self.replicas().values()
            if sum(1 for i in infos if (i["State"].get("Health") or {}).get("Status") == "healthy") == n:
                return
            assert time.monotonic() < deadline, f"{self.name}: not {n} healthy replicas"
            time.sleep(0.3)

    def hit(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5) as r:
            return r.read().decode().strip()


def Load(p: Proj) -> loadgen.Load:  # noqa: N802 - reads as the class it makes
    """~20 requests a second to the project's published port, in a thread."""
    return loadgen.Load(p.hit)


def test_start_first_rollout_under_load(d: Daemon, tmp_path: Path) -> None:
    p = Proj(d, tmp_path, "roll1")
    p.write("1")
    try:
        p.ok("up", "-d")
        p.ready(3)
        before = {n: i["Id"] for n, i in p.replicas().items()}
        p.write("2")
        with Load(p) as load:
            time.sleep(0.5)
            t0 = time.monotonic()
            err = p.ok("up", "-d")
            took = time.monotonic() - t0
            time.sleep(0.5)
        assert load.failures == [], load.failures
        assert len(load.seen) > 20 and {"1", "2"} <= set(load.seen)
        # One replica at a time (parallelism 1), each monitored: at least 3 monitors long.
        assert took >= 3, took
        assert err.count("Recreated") == 3 and "Container roll1-web-2  Healthy" in err, err
        after = p.replicas()
        assert sorted(after) == ["roll1-web-1", "roll1-web-2", "roll1-web-3"]  # old ones removed
        assert all(after[n]["Id"] != before[n] for n in after)
        assert set(p.versions().values()) == {"2"}
        assert {p.hit() for _ in range(10)} == {"2"}
    finally:
        p.ok("down", "-t", "0")


def test_start_first_without_healthcheck_loses_no_request(d: Daemon, tmp_path: Path) -> None:
    """Every replica at once, judged as soon as it runs (monitor 0s, no healthcheck): the
    old ones stop only once the balancer counts the new ones (bounded wait), so no
    request fails."""
    p = Proj(d, tmp_path, "roll2")
    kw: dict[str, Any] = {"replicas": 2, "update": "parallelism: 0", "monitor": "0s", "health": False}
    p.write("1", **kw)
    try:
        p.ok("up", "-d")
        deadline = time.monotonic() + 20
        while True:  # both replicas answer behind the port
            try:
                if {p.hit() for _ in range(6)} == {"1"}:
                    break
            except (OSError, urllib.error.URLError):
                pass
            assert time.monotonic() < deadline, "the service never answered"
            time.sleep(0.2)
        with Load(p) as load:
            time.sleep(0.5)
            p.write("2", **kw)
            p.ok("up", "-d")
            time.sleep(0.5)
        assert load.failures == [], load.failures
        assert set(p.versions().values()) == {"2"} and {"1", "2"} <= set(load.seen)
    finally:
        p.ok("down", "-t", "0")


def test_failed_health_rolls_back(d: Daemon, tmp_path: Path) -> None:
    p = Proj(d, tmp_path, "roll3")
    p.write("1", action="rollback")
    try:
        p.ok("up", "-d")
        p.ready(3)
        before = {n: i["Id"] for n, i in p.replicas().items()}
        p.write("2", action="rollback", probe="/www/nope")
        r = p.run("up", "-d")
        assert r.returncode != 0
        assert "service 'web'" in r.stderr and "roll3-web-1 unhealthy" in r.stderr and "rolled back" in r.stderr, \
            r.stderr
        # The old replicas themselves run again, under their names; the failed one is gone.
        assert {n: i["Id"] for n, i in p.replicas().items()} == before
        assert set(p.versions().values()) == {"1"}
        p.ready(3)
        assert {p.hit() for _ in range(10)} == {"1"}
        ps = p.run("ps", "-a", "--format", "{{.Name}}").stdout
        assert sorted(ps.split()) == ["roll3-web-1", "roll3-web-2", "roll3-web-3"], ps
    finally:
        p.ok("down", "-t", "0")
    assert p.replicas() == {}


def test_failed_health_pauses_then_stop_first(d: Daemon, tmp_path: Path) -> None:
    p = Proj(d, tmp_path, "roll4")
    p.write("1", order="stop-first")
    try:
        p.ok("up", "-d")
        p.ready(3)
        p.write("2", order="stop-first", probe="/www/nope")
        r = p.run("up", "-d")
        assert r.returncode != 0
        assert "update paused" in r.stderr and "roll4-web-1 unhealthy" in r.stderr, r.stderr
        # Partly updated: the failed replica stays on the new configuration, the others serve the old one.
        assert p.versions() == {"roll4-web-1": "2", "roll4-web-2": "1", "roll4-web-3": "1"}
        assert len(p.replicas()) == 3
        assert {p.hit() for _ in range(10)} == {"1"}
        ps = dict(line.split(" ", 1) for line in p.run("ps", "--format", "{{.Name}} {{.Status}}").stdout.splitlines())
        assert sorted(ps) == ["roll4-web-1", "roll4-web-2", "roll4-web-3"], ps
        assert "(unhealthy)" in ps["roll4-web-1"] and "(healthy)" in ps["roll4-web-2"], ps
        # Fixing the file and running up again finishes the rollout, stop-first: never more than 3 replicas.
        p.write("3", order="stop-first")
        peak, done = [0], threading.Event()

        def count() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], len(d.ok("ps", "-q", "--filter", "label=com.docker.compose.project=roll4")
                                            .split()))
                time.sleep(0.1)

        t = threading.Thread(target=count)
        t.start()
        try:
            p.ok("up", "-d")
        finally:
            done.set()
            t.join()
        assert 0 < peak[0] <= 3, peak
        assert sorted(p.versions().items()) == [(f"roll4-web-{n}", "3") for n in (1, 2, 3)]
        assert len(p.replicas()) == 3
    finally:
        p.ok("down", "-t", "0")
