"""The pure parts of rolling-update execution (baleine.compose.rolling): which
containers are kept old replicas, the health window, and one monitor verdict."""

from __future__ import annotations

from typing import Any

from baleine.compose.rolling import _health_window, _verdict, is_replaced, kept_name
from baleine.compose.runner import Container

NS = 1_000_000_000
CID = "0123456789abcdef" * 4


def container(name: str, cid: str = CID) -> Container:
    return Container.from_summary({"Id": cid, "Names": ["/" + name], "Labels": {}, "State": "running"})


def test_replaced_containers_are_named_after_their_own_id() -> None:
    c = container("demo-web-1")
    assert not is_replaced(c)
    assert kept_name(c) == "0123456789ab_demo-web-1"
    assert is_replaced(container(kept_name(c)))
    # Another container's ID as a prefix is a name like any other.
    assert not is_replaced(container("0123456789ab_demo-web-1", cid="f" * 64))


def info(running: bool = True, health: str | None = None, output: str = "", exit_code: int = 0,
         healthcheck: dict[str, Any] | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"Running": running, "ExitCode": exit_code}
    if health:
        state["Health"] = {"Status": health, "Log": [{"Output": output}]}
    return {"State": state, "Config": {"Healthcheck": healthcheck} if healthcheck else {}}


def test_health_window() -> None:
    assert _health_window(info()) is None
    assert _health_window(info(healthcheck={"Test": ["NONE"]})) is None
    hc = {"Test": ["CMD", "true"], "Interval": NS // 2, "Timeout": 2 * NS, "Retries": 2, "StartPeriod": 3 * NS}
    assert _health_window(info(healthcheck=hc)) == 3 + 2 * 2.5 + 1
    # Docker's defaults: 30 s interval and timeout, 3 retries.
    assert _health_window(info(healthcheck={"Test": ["CMD", "true"]})) == 3 * 60 + 1


def test_verdict_without_healthcheck_is_the_monitor() -> None:
    assert _verdict(info(), 0.5, 1.0, None) == (False, None)
    assert _verdict(info(), 1.0, 1.0, None) == (True, None)
    assert _verdict(info(running=False, exit_code=3), 0.2, 1.0, None) == (True, "exited with code 3")


def test_verdict_with_healthcheck() -> None:
    # Healthy early: still watched for the whole monitor.
    assert _verdict(info(health="healthy"), 0.5, 1.0, 5.0) == (False, None)
    assert _verdict(info(health="healthy"), 1.0, 1.0, 5.0) == (True, None)
    # Not healthy yet after the monitor: waits as long as the healthcheck needs to decide.
    assert _verdict(info(health="starting"), 2.0, 1.0, 5.0) == (False, None)
    assert _verdict(info(health="starting"), 5.0, 1.0, 5.0) == (True, "not healthy within 5.0s")
    assert _verdict(info(health="unhealthy", output="nope\n"), 0.3, 1.0, 5.0) == (True, "unhealthy: nope")
