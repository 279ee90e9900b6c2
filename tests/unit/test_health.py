"""Health check helpers: config validation, probe commands, output capture."""

from __future__ import annotations

import pytest

from baleine.engine.containers.records import Container
from baleine.rules.errors import InvalidParameter
from baleine.engine.containers.health import LimitedBuffer, probe_command, validate_healthcheck


def _container(hc: dict | None, shell: list[str] | None = None) -> Container:
    return Container({"Id": "x" * 64, "Config": {"Healthcheck": hc, "Shell": shell}, "State": {}})


def test_probe_command() -> None:
    assert probe_command(_container({"Test": ["CMD", "curl", "-f", "x"]})) == ["curl", "-f", "x"]
    assert probe_command(_container({"Test": ["CMD-SHELL", "exit 1"]})) == ["/bin/sh", "-c", "exit 1"]
    assert probe_command(_container({"Test": ["CMD-SHELL", "x"]}, ["/bin/bash", "-ec"])) == ["/bin/bash", "-ec", "x"]
    for hc in (None, {}, {"Test": []}, {"Test": ["NONE"]}, {"Test": ["WHAT", "x"]}, {"Interval": 5}):
        assert probe_command(_container(hc)) is None


def test_validate() -> None:
    validate_healthcheck(None)
    validate_healthcheck({"Test": ["CMD", "true"], "Interval": 0, "Timeout": 1_000_000, "Retries": 0})
    with pytest.raises(InvalidParameter, match="Interval in Healthcheck cannot be less than 1ms"):
        validate_healthcheck({"Interval": 999_999})
    with pytest.raises(InvalidParameter, match="StartInterval in Healthcheck cannot be less than 1ms"):
        validate_healthcheck({"StartInterval": 10})
    with pytest.raises(InvalidParameter, match="Retries in Healthcheck cannot be negative"):
        validate_healthcheck({"Retries": -1})


def test_limited_buffer() -> None:
    b = LimitedBuffer()
    b.write(b"a" * 4000)
    b.write(b"b" * 200)
    assert b.text() == "a" * 4000 + "b" * 96 + "..."
    small = LimitedBuffer()
    small.write(b"ok\xff\n")
    assert small.text() == "ok\ufffd\n"
