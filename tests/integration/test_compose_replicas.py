"""Compose services with replicas as balanced groups: one VIP per network, one
published port, balanced in the kernel (engine/networks/balancer.py), against a
real daemon, real busybox httpd replicas answering their hostname, and the
``baleine compose`` CLI. Traffic goes only to loopback and the test's containers."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from baleine.engine.networks import daemon_tag

from ..conftest import BUSYBOX_TAR, Daemon, _run, baleine_cmd, destroy_daemon, new_daemon
from ..networking import free_port

SERVE = ("mkdir -p /www && hostname > /www/index.html && echo ok > /www/ok && "
         "exec httpd -f -p 80 -h /www")


def compose_file(port: int, replicas: int = 3, restart: str = "") -> str:
    return f"""services:
  web:
    image: busybox
    command: ["sh", "-c", "{SERVE}"]
    ports: ["{port}:80"]
    # httpd is PID 1 and ignores SIGTERM: without this every stop (scale down,
    # stop under load) waits the default 10 s before the KILL.
    stop_grace_period: 1s
    deploy:
      replicas: {replicas}
{restart}    healthcheck:
      test: ["CMD", "test", "-f", "/www/ok"]
      interval: 1s
      timeout: 2s
      retries: 1
  client:
    image: busybox
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def d() -> Iterator[Daemon]:
    dm = new_daemon()
    try:
        dm.ok("load", "-i", str(BUSYBOX_TAR))
        yield dm
    finally:
        destroy_daemon(dm, "test_compose_replicas")


class Proj:
    def __init__(self, d: Daemon, root: Path, name: str) -> None:
        self.d, self.root, self.name = d, root, name

    def ok(self, *args: str, timeout: float = 120) -> str:
        r = _run(baleine_cmd() + ["compose", "-f", str(self.root / "compose.yaml"), "-p", self.name, *args],
                 self.d.env(), None, timeout, False)
        assert r.returncode == 0, f"compose {args}: {r.stderr}\n{r.stdout}"
        return r.stdout


def balancers(d: Daemon) -> list[dict]:
    api = d.api()
    try:
        return api.api._result(api.api._get(api.api.base_url + "/baleine/balancers"), True)
    finally:
        api.close()


def group(d: Daemon, name: str) -> dict:
    return next(g for g in balancers(d) if g["Name"] == name)


def wait_ready(d: Daemon, name: str, n: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        g = next((g for g in balancers(d) if g["Name"] == name), None)
        if g and g["Ready"] == n and len([m for m in g["Members"] if m["State"] == "running"]) == n:
            return g
        assert time.monotonic() < deadline, f"group {name} not {n} ready: {g}"
        time.sleep(0.3)


def hit(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        return r.read().decode().strip()


def hostnames(d: Daemon, project: str) -> dict[str, str]:
    """hostname → container name of the project's web replicas."""
    out = {}
    for line in d.ok("ps", "-q", "--filter", f"label=com.docker.compose.project={project}",
                     "--filter", "label=com.docker.compose.service=web").split():
        info = d.inspect(line)
        out[info["Config"]["Hostname"]] = info["Name"].lstrip("/")
    return out


def kernel(d: Daemon) -> tuple[str, str]:
    tag = daemon_tag(str(d.data_root))
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    addrs = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    return "\n".join(line for line in rules.splitlines() if f"BALB-{tag}" in line), addrs


def test_replicas_behind_one_port(d: Daemon, tmp_path: Path) -> None:
    port = free_port()
    p = Proj(d, tmp_path, "rep1")
    (tmp_path / "compose.yaml").write_text(compose_file(port, restart="""      restart_policy:
        condition: on-failure
        delay: 1s
        max_attempts: 3
"""))
    try:
        p.ok("up", "-d")
        g = wait_ready(d, "rep1_web", 3)
        assert len(g["VirtualIPs"]) == 1 and g["Ports"][0]["HostPort"] == port
        vip = g["VirtualIPs"][0]["Address"]
        hosts = hostnames(d, "rep1")
        # The replicas publish nothing of their own: the group does.
        for name in hosts.values():
            assert not d.inspect(name)["HostConfig"]["PortBindings"]
        # The daemon holds the group's host port, as for any published port.
        with socket.socket() as s, pytest.raises(OSError):
            s.bind(("0.0.0.0", port))
        seen = {hit(port) for _ in range(60)}
        assert seen == set(hosts), seen

        # DNS from another service: the service name is the VIP, tasks.web the replicas.
        client = "rep1-client-1"
        out = d.ok("exec", client, "nslookup", "web")
        assert vip in out and not any(d.inspect(n)["NetworkSettings"]["Networks"]["rep1_default"]["IPAddress"]
                                      in out for n in hosts.values()), out
        tasks = d.ok("exec", client, "nslookup", "tasks.web")
        for n in hosts.values():
            assert d.inspect(n)["NetworkSettings"]["Networks"]["rep1_default"]["IPAddress"] in tasks, tasks
        assert set(d.ok("exec", client, "wget", "-qO-", "http://web/").split()) <= set(hosts)
        # A replica reaching its own group (hairpin), itself included.
        me = sorted(hosts.values())[0]
        got = d.ok("exec", me, "sh", "-c", "for i in $(seq 20); do wget -qO- http://web/; done").split()
        assert len(got) == 20 and set(got) <= set(hosts)
        assert d.inspect(me)["Config"]["Hostname"] in got

        # An unhealthy replica gets no traffic, then is restarted per restart_policy.
        sick = hosts and sorted(hosts.values())[1]
        sick_host = next(h for h, n in hosts.items() if n == sick)
        started = d.inspect(sick)["State"]["StartedAt"]
        d.ok("exec", sick, "rm", "/www/ok")
        deadline = time.monotonic() + 15
        while next(m for m in group(d, "rep1_web")["Members"] if m["Name"] == sick)["Ready"]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        if d.inspect(sick)["State"]["StartedAt"] == started:
            assert sick_host not in {hit(port) for _ in range(30)}
        deadline = time.monotonic() + 20
        while d.inspect(sick)["State"]["StartedAt"] == started:
            assert time.monotonic() < deadline, "the unhealthy replica was not restarted"
            time.sleep(0.3)
        wait_ready(d, "rep1_web", 3)

        # A paused replica leaves the ready set, and comes back when thawed.
        d.ok("pause", sick)
        assert not next(m for m in group(d, "rep1_web")["Members"] if m["Name"] == sick)["Ready"]
        d.ok("unpause", sick)
        wait_ready(d, "rep1_web", 3)

        # Scale up and down, the balancer following.
        p.ok("scale", "web=5")
        wait_ready(d, "rep1_web", 5)
        assert len({hit(port) for _ in range(100)}) == 5
        p.ok("scale", "web=1")
        g = wait_ready(d, "rep1_web", 1)
        assert [m["Name"] for m in g["Members"]] == ["rep1-web-1"]
        assert {hit(port) for _ in range(5)} == {d.inspect("rep1-web-1")["Config"]["Hostname"]}
    finally:
        p.ok("down", "-t", "0")
    # The balancer follows the removals' events: settled within moments.
    deadline = time.monotonic() + 5
    while (state := kernel(d))[0] or f" {vip}/32 " in state[1]:
        assert time.monotonic() < deadline, state[0]  # chains and jumps go with the last group
        time.sleep(0.1)
    assert not any(g["Name"] == "rep1_web" for g in balancers(d))
    # The host port is free again.
    with socket.socket() as s:
        s.bind(("0.0.0.0", port))


def test_restart_and_rolling_stop_under_load(d: Daemon, tmp_path: Path) -> None:
    port = free_port()
    p = Proj(d, tmp_path, "rep2")
    (tmp_path / "compose.yaml").write_text(compose_file(port))
    try:
        p.ok("up", "-d")
        wait_ready(d, "rep2_web", 3)
        vip = group(d, "rep2_web")["VirtualIPs"][0]["Address"]
        d.stop()
        d.start()
        g = wait_ready(d, "rep2_web", 3)
        assert g["VirtualIPs"][0]["Address"] == vip
        assert len({hit(port) for _ in range(60)}) == 3

        # Stopping a replica under a steady load (20/s): no request fails.
        failures: list[str] = []
        done = threading.Event()

        def load() -> None:
            while not done.is_set():
                try:
                    hit(port)
                except (OSError, urllib.error.URLError) as exc:
                    failures.append(str(exc))
                time.sleep(0.05)

        t = threading.Thread(target=load)
        t.start()
        try:
            time.sleep(1)
            d.ok("stop", "rep2-web-2")
            time.sleep(1)
            d.ok("start", "rep2-web-2")
            wait_ready(d, "rep2_web", 3)
            d.ok("stop", "rep2-web-3")
            time.sleep(1)
        finally:
            done.set()
            t.join()
        assert failures == []
        # No ready member: refused at once, not a hang.
        d.ok("stop", "rep2-web-1", "rep2-web-2")
        t0 = time.monotonic()
        with pytest.raises((OSError, urllib.error.URLError)):
            hit(port)
        assert time.monotonic() - t0 < 2
        assert json.dumps(group(d, "rep2_web")["Ready"]) == "0"
    finally:
        p.ok("down", "-t", "0")
