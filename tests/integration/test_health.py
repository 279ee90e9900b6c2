"""Health checks: probes run in the container with docker's timing and rules,
State.Health, health_status events, the health filter and status text, and the
checks surviving a daemon restart. Intervals are sub-second to keep this fast."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from ..conftest import BUSYBOX_TAR, DOCKER, Daemon

FAST = ["--health-interval", "200ms", "--health-timeout", "2s"]


def wait_for(check: Callable[[], Any], timeout: float = 15, interval: float = 0.1, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")


def health(d: Daemon, name: str) -> dict[str, Any] | None:
    return d.inspect(name)["State"].get("Health")


def status_is(d: Daemon, name: str, wanted: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        h = health(d, name)
        return h if h and h["Status"] == wanted else None
    return check


def test_unhealthy_then_healthy(daemon: Daemon, name: str) -> None:
    """A failing CMD-SHELL check turns the container unhealthy after Retries
    failures; a success makes it healthy again, with events, ps filter and status."""
    since = str(time.time() - 1)
    daemon.ok("run", "-d", "--name", name, "--label", "hc=1", *FAST, "--health-retries", "2",
              "--health-cmd", "test -f /tmp/ok && echo fine || { echo missing >&2; exit 3; }",
              "busybox", "sleep", "300")
    try:
        h = health(daemon, name)
        # "starting" until probes have run (on a busy machine one may already have).
        assert h is not None and (h["Status"], h["FailingStreak"]) == ("starting", 0) or h["Log"]
        h = wait_for(status_is(daemon, name, "unhealthy"), what="unhealthy")
        assert h["FailingStreak"] >= 2
        assert 2 <= len(h["Log"]) <= 5
        entry = h["Log"][-1]
        assert entry["ExitCode"] == 3 and entry["Output"] == "missing\n"
        assert entry["Start"] <= entry["End"]
        assert "(unhealthy)" in daemon.ok("ps", "--filter", f"name={name}", "--format", "{{.Status}}")
        assert daemon.ok("ps", "-q", "--filter", "health=unhealthy", "--filter", f"name={name}")
        assert not daemon.ok("ps", "-q", "--filter", "health=healthy", "--filter", f"name={name}")
        # The log keeps the last five results only.
        wait_for(lambda: len(health(daemon, name)["Log"]) == 5, what="five results")
        daemon.ok("exec", name, "touch", "/tmp/ok")
        h = wait_for(status_is(daemon, name, "healthy"), what="healthy")
        assert h["FailingStreak"] == 0
        assert h["Log"][-1]["ExitCode"] == 0 and h["Log"][-1]["Output"] == "fine\n"
        assert "(healthy)" in daemon.ok("ps", "--filter", f"name={name}", "--format", "{{.Status}}")
        assert daemon.ok("ps", "-q", "--filter", "health=healthy", "--filter", f"name={name}")
        # health_status events, each once per change, with the container's attributes.
        out = daemon.ok("events", "--since", since, "--until", str(time.time()), "--filter", f"container={name}",
                        "--filter", "event=health_status", "--format", "{{json .}}")
        events = [json.loads(line) for line in out.splitlines()]
        assert [e["Action"] for e in events] == ["health_status: unhealthy", "health_status: healthy"]
        assert events[0]["Actor"]["Attributes"]["hc"] == "1"
        assert events[0]["Actor"]["Attributes"]["name"] == name
        # Probes are execs, with docker's exec events (and a container's ExecIDs only
        # lists running execs).
        out = daemon.ok("events", "--since", since, "--until", str(time.time()), "--filter", f"container={name}",
                        "--filter", "event=exec_die", "--format", "{{.Action}} {{.Actor.Attributes.exitCode}}")
        assert "exec_die 3" in out.splitlines() and "exec_die 0" in out.splitlines()
        assert len(daemon.inspect(name)["ExecIDs"] or []) <= 1  # at most the probe in flight
    finally:
        daemon.cli("rm", "-f", name)


def test_cmd_form_output_and_truncation(daemon: Daemon, name: str) -> None:
    """``CMD`` runs an argv (no shell); output beyond 4096 bytes is cut with "..."."""
    client = daemon.api()
    c = client.containers.run("busybox", ["sleep", "300"], name=name, detach=True,
                              healthcheck={"Test": ["CMD", "echo", "from", "argv"], "Interval": 200_000_000})
    big = f"{name}-big"
    c2 = client.containers.run("busybox", ["sleep", "300"], name=big, detach=True,
                               healthcheck={"Test": ["CMD-SHELL", "yes | head -c 5000"],
                                            "Interval": 200_000_000})
    try:
        h = wait_for(status_is(daemon, name, "healthy"), what="healthy")
        assert h["Log"][-1]["Output"] == "from argv\n"
        h = wait_for(status_is(daemon, big, "healthy"), what="healthy")
        out = h["Log"][-1]["Output"]
        assert out == ("y\n" * 2500)[:4096] + "..."
        # docker-py sees the same state.
        c.reload()
        assert c.attrs["State"]["Health"]["Status"] == "healthy"
    finally:
        for x in (c, c2):
            x.remove(force=True)


def test_missing_command_is_a_failure(daemon: Daemon, name: str) -> None:
    """A probe that cannot start counts as a failure (ExitCode -1, the runtime's error)."""
    client = daemon.api()
    c = client.containers.run("busybox", ["sleep", "300"], name=name, detach=True,
                              healthcheck={"Test": ["CMD", "/no/such/probe"], "Interval": 200_000_000,
                                           "Retries": 1})
    try:
        h = wait_for(status_is(daemon, name, "unhealthy"), what="unhealthy")
        assert h["Log"][-1]["ExitCode"] == -1
        assert "/no/such/probe" in h["Log"][-1]["Output"]
    finally:
        c.remove(force=True)


def test_timeout_kills_the_probe(daemon: Daemon, name: str) -> None:
    """A probe longer than the timeout is killed and fails with docker's message."""
    daemon.ok("run", "-d", "--name", name, "--health-interval", "200ms", "--health-timeout", "300ms",
              "--health-retries", "1", "--health-cmd", "echo started; sleep 7", "busybox", "sleep", "300")
    try:
        h = wait_for(status_is(daemon, name, "unhealthy"), what="unhealthy")
        entry = h["Log"][0]
        assert entry["ExitCode"] == -1
        assert entry["Output"] == "Health check exceeded timeout (300ms): started\n"
        # The timed-out probes were killed: no `sleep 7` piles up in the container.
        time.sleep(0.5)
        procs = daemon.ok("exec", name, "ps", "-o", "args")
        assert procs.count("sleep 7") <= 1, procs
    finally:
        daemon.cli("rm", "-f", name)


def test_start_period(daemon: Daemon, name: str) -> None:
    """Failures within the start period do not count (the status stays "starting"),
    the start interval paces the probes there; afterwards they count."""
    daemon.ok("run", "-d", "--name", name, "--health-interval", "400ms", "--health-start-period", "2s",
              "--health-start-interval", "100ms", "--health-retries", "1", "--health-cmd", "exit 1",
              "busybox", "sleep", "300")
    try:
        time.sleep(1.2)
        h = health(daemon, name)
        assert h["Status"] == "starting" and h["FailingStreak"] == 0
        # 100ms apart rather than 400ms: more than 3 probes in 1.2s.
        assert len(h["Log"]) >= 4
        h = wait_for(status_is(daemon, name, "unhealthy"), what="unhealthy", timeout=10)
        assert h["FailingStreak"] >= 1
    finally:
        daemon.cli("rm", "-f", name)


def test_success_ends_start_period(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "--health-interval", "200ms", "--health-start-period", "60s",
              "--health-start-interval", "100ms", "--health-cmd", "true", "busybox", "sleep", "300")
    try:
        wait_for(status_is(daemon, name, "healthy"), what="healthy", timeout=5)
    finally:
        daemon.cli("rm", "-f", name)


def test_image_healthcheck_merge_and_none(daemon: Daemon, name: str) -> None:
    """An image's HEALTHCHECK applies; flags override parts of it; --no-healthcheck
    (Test NONE) disables it; a container without a check has no State.Health."""
    client = daemon.api()
    base = client.containers.create("busybox", ["true"], name=f"{name}-base")
    repo = f"hc-image-{name.lower()}"
    base.commit(repository=repo, tag="v1",
                conf={"Healthcheck": {"Test": ["CMD-SHELL", "exit 1"], "Interval": 200_000_000, "Retries": 1}})
    base.remove()
    names = [f"{name}-img", f"{name}-flags", f"{name}-none", f"{name}-plain"]
    try:
        daemon.ok("run", "-d", "--name", names[0], f"{repo}:v1", "sleep", "300")
        daemon.ok("run", "-d", "--name", names[1], "--health-cmd", "true", f"{repo}:v1", "sleep", "300")
        daemon.ok("run", "-d", "--name", names[2], "--no-healthcheck", f"{repo}:v1", "sleep", "300")
        daemon.ok("run", "-d", "--name", names[3], "busybox", "sleep", "300")
        wait_for(status_is(daemon, names[0], "unhealthy"), what="image check")
        # The flag replaced the test; the image's interval still applies.
        cfg = daemon.inspect(names[1])["Config"]["Healthcheck"]
        assert cfg["Test"] == ["CMD-SHELL", "true"] and cfg["Interval"] == 200_000_000
        wait_for(status_is(daemon, names[1], "healthy"), what="flag check")
        time.sleep(0.5)
        assert daemon.inspect(names[2])["Config"]["Healthcheck"]["Test"] == ["NONE"]
        assert health(daemon, names[2]) is None
        assert health(daemon, names[3]) is None
        assert daemon.ok("ps", "-q", "--filter", "health=none", "--filter", f"name={names[3]}")
        assert "(health" not in daemon.ok("ps", "--filter", f"name={names[2]}", "--format", "{{.Status}}")
    finally:
        daemon.cli("rm", "-f", *names)
        daemon.cli("rmi", f"{repo}:v1")


def test_checks_stop_with_the_container_and_restart_with_it(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, *FAST, "--health-cmd", "true", "busybox", "sleep", "300")
    try:
        wait_for(status_is(daemon, name, "healthy"), what="healthy")
        daemon.ok("stop", "-t", "1", name)
        h = health(daemon, name)
        # Docker's rule: a stopped container's health is "unhealthy" (no event).
        assert h["Status"] == "unhealthy"
        count = len(h["Log"])
        last = h["Log"][-1]["End"]
        time.sleep(0.8)
        h = health(daemon, name)
        assert h["Log"][-1]["End"] == last and len(h["Log"]) == count
        daemon.ok("start", name)
        h = health(daemon, name)
        assert h["Status"] in ("starting", "healthy") and h["FailingStreak"] == 0
        wait_for(status_is(daemon, name, "healthy"), what="healthy again")
    finally:
        daemon.cli("rm", "-f", name)


def test_paused_container_is_not_probed(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, *FAST, "--health-cmd", "true", "busybox", "sleep", "300")
    try:
        wait_for(status_is(daemon, name, "healthy"), what="healthy")
        daemon.ok("pause", name)
        time.sleep(0.3)
        last = health(daemon, name)["Log"][-1]["End"]
        time.sleep(0.8)
        assert health(daemon, name)["Log"][-1]["End"] == last
        daemon.ok("unpause", name)
        wait_for(lambda: health(daemon, name)["Log"][-1]["End"] != last, what="probes again")
    finally:
        daemon.cli("rm", "-f", name)


def test_invalid_healthcheck_is_refused(daemon: Daemon, name: str) -> None:
    import docker

    client = daemon.api()
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.create("busybox", ["true"], name=name,
                                 healthcheck={"Test": ["CMD", "true"], "Interval": 1000})
    assert err.value.status_code == 400
    assert "Interval in Healthcheck cannot be less than 1ms" in str(err.value)
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.create("busybox", ["true"], name=name, healthcheck={"Test": ["CMD", "true"], "Retries": -1})
    assert "Retries in Healthcheck cannot be negative" in str(err.value)


def test_health_resumes_after_daemon_restart(fresh_daemon: Daemon) -> None:
    """Re-adopted containers resume their checks (from "starting", as docker)."""
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("run", "-d", "--name", "hc", *FAST, "--health-cmd", "test -f /tmp/ok", "--health-retries", "1",
         "busybox", "sleep", "300")
    wait_for(status_is(d, "hc", "unhealthy"), what="unhealthy")
    d.stop(signal.SIGKILL)
    d.start()
    h = health(d, "hc")
    assert h["Status"] in ("starting", "unhealthy")
    d.ok("exec", "hc", "touch", "/tmp/ok")
    h = wait_for(status_is(d, "hc", "healthy"), what="healthy after restart")
    assert h["Log"][-1]["ExitCode"] == 0
    d.ok("rm", "-f", "hc")


@pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")
def test_docker_cli_health(daemon: Daemon, name: str) -> None:
    r = daemon.docker("run", "-d", "--name", name, "--health-cmd", "true", "--health-interval", "200ms",
                      "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    try:
        wait_for(lambda: daemon.docker("inspect", "-f", "{{.State.Health.Status}}", name).out == "healthy",
                 what="healthy via docker")
        out = daemon.docker("ps", "--filter", "health=healthy", "--filter", f"name={name}",
                            "--format", "{{.Names}} {{.Status}}").out
        assert out.startswith(f"{name} Up") and out.endswith("(healthy)")
    finally:
        daemon.docker("rm", "-f", name)
