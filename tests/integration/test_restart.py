"""Restart policies, as docker applies them: on-failure[:N], always, unless-stopped,
the backoff, the "restarting" state, manual stops cancelling restarts, `docker
restart`/`start` resetting RestartCount, AutoRemove, and the policies applied again
when the daemon starts (after SIGKILL or SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from ..conftest import BUSYBOX_TAR, DOCKER, Daemon


def wait_for(check: Callable[[], Any], timeout: float = 15, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")


def state(d: Daemon, name: str) -> dict[str, Any]:
    info = d.inspect(name)
    st = dict(info["State"])
    st["RestartCount"] = info["RestartCount"]
    return st


def events(d: Daemon, since: str, name: str) -> list[str]:
    out = d.ok("events", "--since", since, "--until", str(time.time()), "--filter", f"container={name}",
               "--format", "{{.Action}}")
    return [line for line in out.splitlines() if not line.startswith("exec_")]


def test_on_failure_restarts_n_times(daemon: Daemon, name: str) -> None:
    since = str(time.time() - 1)
    daemon.ok("run", "-d", "--name", name, "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")
    try:
        st = wait_for(lambda: (s := state(daemon, name))["Status"] == "exited" and s["RestartCount"] == 2 and s,
                      what="two restarts then exited")
        assert st["ExitCode"] == 3 and not st["Running"] and not st["Restarting"]
        time.sleep(1)  # and it stays so
        st = state(daemon, name)
        assert st["Status"] == "exited" and st["RestartCount"] == 2
        # Policy restarts are "start" events (docker sends "restart" only for `docker restart`).
        assert events(daemon, since, name) == ["create", "start", "die", "start", "die", "start", "die"]
    finally:
        daemon.cli("rm", "-f", name)


def test_on_failure_ignores_success(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "--restart", "on-failure", "busybox", "true")
    try:
        wait_for(lambda: state(daemon, name)["Status"] == "exited", what="exited")
        time.sleep(0.5)
        st = state(daemon, name)
        assert st["Status"] == "exited" and st["RestartCount"] == 0
    finally:
        daemon.cli("rm", "-f", name)


def test_always_restarts_after_exit_0_and_stop_prevents_it(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", "sleep 0.3")
    try:
        wait_for(lambda: state(daemon, name)["RestartCount"] >= 2, what="restarted twice")
        wait_for(lambda: state(daemon, name)["Status"] == "running", what="running")
        daemon.ok("stop", "-t", "1", name)
        st = state(daemon, name)
        assert st["Status"] == "exited" and not st["Restarting"]
        count = st["RestartCount"]
        time.sleep(1.2)
        st = state(daemon, name)
        assert st["Status"] == "exited" and st["RestartCount"] == count
    finally:
        daemon.cli("rm", "-f", name)


def test_kill_prevents_restart(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "--restart", "always", "busybox", "sleep", "300")
    try:
        daemon.ok("kill", name)
        time.sleep(1)
        st = state(daemon, name)
        assert st["Status"] == "exited" and st["ExitCode"] == 137 and st["RestartCount"] == 0
    finally:
        daemon.cli("rm", "-f", name)


def test_unless_stopped_restarts_until_stopped(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "--restart", "unless-stopped", "busybox", "sh", "-c", "sleep 0.2")
    try:
        wait_for(lambda: state(daemon, name)["RestartCount"] >= 1, what="restarted")
        r = daemon.cli("stop", "-t", "1", name)
        assert r.returncode == 0, r.stderr
        time.sleep(1)
        assert state(daemon, name)["Status"] == "exited"
    finally:
        daemon.cli("rm", "-f", name)


def test_restarting_state_backoff_and_stop(daemon: Daemon, name: str) -> None:
    """Between an exit and its restart the container is "restarting" (Running too, as
    docker shows it); the delay doubles; stop (or kill) then cancels the restart."""
    daemon.ok("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", "exit 1")
    try:
        # The backoff reaches 0.8s, then 1.6s: long enough to catch "restarting".
        st = wait_for(lambda: (s := state(daemon, name))["RestartCount"] >= 4 and s["Status"] == "restarting" and s,
                      what="restarting", interval=0.02)
        assert st["Running"] and st["Restarting"] and st["ExitCode"] == 1 and st["Pid"] == 0
        ps = daemon.ok("ps", "--filter", f"name={name}", "--format", "{{.Status}}")
        assert ps.startswith("Restarting (1)")
        # A restarting container can neither be started, attached to, paused, nor removed without force.
        assert "cannot remove container" in daemon.cli("rm", name).stderr
        assert daemon.cli("pause", name).returncode != 0
        r = daemon.cli("exec", name, "true")
        assert r.returncode != 0 and "is restarting" in r.stderr
        count = state(daemon, name)["RestartCount"]
        t0 = time.monotonic()
        daemon.ok("stop", name)
        assert time.monotonic() - t0 < 5  # nothing to signal: no 10 s timeout
        st = state(daemon, name)
        assert st["Status"] == "exited" and not st["Running"] and not st["Restarting"]
        time.sleep(2)
        st = state(daemon, name)
        assert st["Status"] == "exited" and st["RestartCount"] == count
    finally:
        daemon.cli("rm", "-f", name)


def test_backoff_doubles(daemon: Daemon, name: str) -> None:
    """100ms, 200ms, 400ms, 800ms...: five restarts take about 1.5s, not 0.5s."""
    client = daemon.api()
    t0 = time.monotonic()
    c = client.containers.run("busybox", ["sh", "-c", "exit 2"], name=name, detach=True,
                              restart_policy={"Name": "on-failure", "MaximumRetryCount": 5})
    try:
        wait_for(lambda: (c.reload() or True) and c.attrs["RestartCount"] == 5 and c.status == "exited",
                 what="five restarts", timeout=20)
        elapsed = time.monotonic() - t0
        assert 1.4 < elapsed < 8, elapsed
    finally:
        c.remove(force=True)


def test_rm_force_cancels_restart(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", "exit 1")
    wait_for(lambda: state(daemon, name)["RestartCount"] >= 3, what="restarts")
    daemon.ok("rm", "-f", name)
    assert daemon.cli("inspect", name).returncode != 0


def test_manual_start_and_restart_reset_restart_count(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "--restart", "on-failure:1", "busybox", "sh", "-c", "sleep 0.5; exit 1")
    try:
        wait_for(lambda: (s := state(daemon, name))["Status"] == "exited" and s["RestartCount"] == 1,
                 what="one restart")
        daemon.ok("start", name)
        assert state(daemon, name)["RestartCount"] == 0
        wait_for(lambda: (s := state(daemon, name))["Status"] == "exited" and s["RestartCount"] == 1,
                 what="one restart again")
        since = str(time.time())
        daemon.ok("start", name)
        wait_for(lambda: state(daemon, name)["RestartCount"] == 1, what="counting again")
        wait_for(lambda: state(daemon, name)["Status"] == "running", what="running")
        daemon.ok("restart", "-t", "1", name)
        st = state(daemon, name)
        assert st["RestartCount"] == 0 and st["Status"] == "running"
        assert "restart" in events(daemon, since, name)
    finally:
        daemon.cli("rm", "-f", name)


def test_restart_event_sequence(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "300")
    try:
        since = str(time.time())
        daemon.ok("restart", "-t", "1", name)
        # sleep as PID 1 ignores SIGTERM: SIGKILL follows after the timeout, as with docker.
        assert events(daemon, since, name) == ["kill", "kill", "die", "stop", "start", "restart"]
        out = daemon.ok("events", "--since", since, "--until", str(time.time()), "--filter", f"container={name}",
                        "--filter", "event=kill", "--format", "{{.Actor.Attributes.signal}}")
        assert out.splitlines() == ["15", "9"]
    finally:
        daemon.cli("rm", "-f", name)


def test_auto_remove(daemon: Daemon, name: str) -> None:
    """--rm: removed when it exits — but not by the stop of a `restart`; removed too
    when it fails to start."""
    daemon.ok("run", "-d", "--rm", "--name", name, "busybox", "sleep", "300")
    daemon.ok("restart", "-t", "1", name)
    assert state(daemon, name)["Status"] == "running"
    daemon.ok("stop", "-t", "1", name)
    wait_for(lambda: daemon.cli("inspect", name).returncode != 0, what="removed")
    daemon.ok("create", "--rm", "--name", name, "busybox", "/no/such/command")
    r = daemon.cli("start", name)
    assert r.returncode != 0
    wait_for(lambda: daemon.cli("inspect", name).returncode != 0, what="removed after a failed start")
    r = daemon.cli("run", "-d", "--rm", "--restart", "always", "busybox", "true")
    assert r.returncode != 0 and ("--restart" in r.stderr or "restart policy" in r.stderr)


def test_policy_validation(daemon: Daemon, name: str) -> None:
    import docker

    client = daemon.api()
    for policy, message in (
            ({"Name": "always", "MaximumRetryCount": 3},
             "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
            ({"Name": "always", "MaximumRetryCount": -1},
             "maximum retry count can only be used with 'on-failure' and cannot be negative"),
            ({"Name": "on-failure", "MaximumRetryCount": -1},
             "invalid restart policy: maximum retry count cannot be negative"),
            ({"Name": "sometimes"}, "invalid restart policy: unknown policy 'sometimes'")):
        with pytest.raises(docker.errors.APIError) as err:
            client.containers.create("busybox", ["true"], name=name, restart_policy=policy)
        assert err.value.status_code == 400 and message in str(err.value), err.value
    # An empty name is "no" (what clients before v25 send), whatever the count.
    c = client.containers.create("busybox", ["true"], name=name, restart_policy={"Name": "", "MaximumRetryCount": 2})
    try:
        assert c.attrs["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    finally:
        c.remove()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_policies_after_daemon_restart(fresh_daemon: Daemon, sig: int) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("run", "-d", "--name", "always-up", "--restart", "always", "busybox", "sleep", "300")
    d.ok("run", "-d", "--name", "always-dies", "--restart", "always", "busybox", "sleep", "300")
    d.ok("run", "-d", "--name", "always-stopped", "--restart", "always", "busybox", "sleep", "300")
    d.ok("run", "-d", "--name", "unless-up", "--restart", "unless-stopped", "busybox", "sleep", "300")
    d.ok("run", "-d", "--name", "unless-dies", "--restart", "unless-stopped", "busybox", "sleep", "300")
    d.ok("run", "-d", "--name", "unless-stopped", "--restart", "unless-stopped", "busybox", "sleep", "300")
    d.ok("run", "-d", "--name", "failing", "--restart", "on-failure:1", "busybox", "sh", "-c", "sleep 0.3; exit 4")
    d.ok("run", "-d", "--name", "plain-dies", "busybox", "sleep", "300")
    d.ok("create", "--name", "never-started", "--restart", "always", "busybox", "sleep", "300")
    d.ok("stop", "-t", "1", "always-stopped", "unless-stopped")
    wait_for(lambda: (s := state(d, "failing"))["Status"] == "exited" and s["RestartCount"] == 1,
             what="on-failure done")
    up_pid = state(d, "always-up")["Pid"]
    dying = {n: state(d, n)["Pid"] for n in ("always-dies", "unless-dies", "plain-dies")}
    d.stop(sig)
    for pid in dying.values():  # they die while no daemon watches
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    d.start()

    def running(n: str) -> bool:
        return state(d, n)["Status"] == "running"

    st = state(d, "always-up")
    assert st["Status"] == "running" and st["Pid"] == up_pid  # re-adopted, not restarted
    for n in ("always-dies", "unless-dies"):
        wait_for(lambda: running(n), what=f"{n} restarted")
        assert state(d, n)["Pid"] != dying[n]
    # docker starts `always` containers at daemon start even if they were stopped by
    # hand; not `unless-stopped` ones.
    wait_for(lambda: running("always-stopped"), what="always-stopped started")
    time.sleep(0.5)
    assert state(d, "unless-stopped")["Status"] == "exited"
    assert state(d, "plain-dies")["Status"] == "exited" and state(d, "plain-dies")["ExitCode"] == 137
    assert state(d, "failing")["Status"] == "exited"  # its retries are used up
    assert state(d, "never-started")["Status"] == "created"
    # The re-adopted container's policy still works.
    pid = state(d, "always-up")["Pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: (s := state(d, "always-up"))["Status"] == "running" and s["Pid"] != pid,
             what="re-adopted container restarted")
    assert state(d, "always-up")["RestartCount"] == 1
    d.ok("stop", "-t", "1", "always-up")
    time.sleep(0.5)
    assert state(d, "always-up")["Status"] == "exited"


def test_restarting_when_the_daemon_dies(fresh_daemon: Daemon) -> None:
    """A container caught between an exit and its restart is restarted at the next start."""
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("run", "-d", "--name", "loop", "--restart", "always", "busybox", "sh", "-c", "exit 1")
    wait_for(lambda: (s := state(d, "loop"))["RestartCount"] >= 5 and s["Status"] == "restarting" and s,
             what="restarting", interval=0.02)
    d.stop(signal.SIGKILL)
    d.start()
    wait_for(lambda: state(d, "loop")["RestartCount"] >= 1, what="restarts again")
    d.ok("rm", "-f", "loop")


@pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")
def test_docker_cli_restart_policy(daemon: Daemon, name: str) -> None:
    r = daemon.docker("run", "-d", "--name", name, "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 5")
    assert r.returncode == 0, r.stderr
    try:
        wait_for(lambda: daemon.docker("inspect", "-f", "{{.State.Status}} {{.RestartCount}}", name).out
                 == "exited 2", what="exited 2")
        info = json.loads(daemon.docker("inspect", name).out)[0]
        assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
        assert info["State"]["ExitCode"] == 5
    finally:
        daemon.docker("rm", "-f", name)
