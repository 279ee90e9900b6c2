"""Rollout policy parsing and batch plans (baleine.compose.rollout): pure logic."""

from __future__ import annotations

import pytest

from baleine.compose.errors import ComposeError
from baleine.compose.rollout import (Batch, UpdatePolicy, failed_too_much, floor_replicas, parse_policy,
                                     peak_replicas, plan, service_policies)

WHERE = "services.web.deploy.update_config"


def test_defaults_are_swarms() -> None:
    p = parse_policy(None, WHERE)
    assert p == UpdatePolicy(parallelism=1, delay_ns=0, order="stop-first", failure_action="pause",
                             monitor_ns=5_000_000_000, max_failure_ratio=0.0)


def test_all_fields_parsed() -> None:
    p = parse_policy({"parallelism": 2, "delay": "1m30s", "order": "start-first", "failure_action": "rollback",
                      "monitor": "500ms", "max_failure_ratio": 0.5}, WHERE)
    assert (p.parallelism, p.delay_ns, p.order, p.failure_action, p.monitor_ns, p.max_failure_ratio) == \
        (2, 90_000_000_000, "start-first", "rollback", 500_000_000, 0.5)


def test_bare_number_duration_is_seconds() -> None:
    assert parse_policy({"delay": 2}, WHERE).delay_ns == 2_000_000_000


@pytest.mark.parametrize("raw, path", [
    ({"order": "sideways"}, WHERE + ".order"),
    ({"failure_action": "panic"}, WHERE + ".failure_action"),
    ({"parallelism": -1}, WHERE + ".parallelism"),
    ({"parallelism": "many"}, WHERE + ".parallelism"),
    ({"delay": "soon"}, WHERE + ".delay"),
    ({"monitor": "-1s"}, WHERE + ".monitor"),
    ({"max_failure_ratio": 1.5}, WHERE + ".max_failure_ratio"),
    ({"max_failure_ratio": -0.1}, WHERE + ".max_failure_ratio"),
    ({"max_failure_ratio": "half"}, WHERE + ".max_failure_ratio"),
])
def test_bad_values_name_their_path(raw: dict[str, object], path: str) -> None:
    with pytest.raises(ComposeError) as info:
        parse_policy(raw, WHERE)
    assert info.value.path == path
    assert path in str(info.value)


def test_service_policies_validate_rollback_too() -> None:
    svc = {"deploy": {"update_config": {"parallelism": 3}, "rollback_config": {"order": "nope"}}}
    with pytest.raises(ComposeError) as info:
        service_policies("web", svc)
    assert info.value.path == "services.web.deploy.rollback_config.order"
    up, back = service_policies("web", {"deploy": {"update_config": {"parallelism": 3}}})
    assert up.parallelism == 3 and back == UpdatePolicy()


@pytest.mark.parametrize("parallelism, expected", [
    (1, [(1,), (2,), (3,), (4,), (5,)]),
    (2, [(1, 2), (3, 4), (5,)]),
    (5, [(1, 2, 3, 4, 5)]),
    (7, [(1, 2, 3, 4, 5)]),
    (0, [(1, 2, 3, 4, 5)]),
])
def test_plan_batches_by_parallelism(parallelism: int, expected: list[tuple[int, ...]]) -> None:
    batches = plan([5, 3, 1, 4, 2], UpdatePolicy(parallelism=parallelism))
    assert [b.numbers for b in batches] == expected


def test_plan_of_nothing_is_empty() -> None:
    assert plan([], UpdatePolicy()) == []


def test_order_bounds_running_replicas() -> None:
    start_first = plan([1, 2, 3], UpdatePolicy(parallelism=2, order="start-first"))
    assert all(b.start_first for b in start_first)
    assert [peak_replicas(3, b) for b in start_first] == [5, 4]
    assert [floor_replicas(3, b) for b in start_first] == [3, 3]
    stop_first = plan([1, 2, 3], UpdatePolicy(parallelism=2))
    assert [peak_replicas(3, b) for b in stop_first] == [3, 3]
    assert [floor_replicas(3, b) for b in stop_first] == [1, 2]
    assert stop_first[0] == Batch((1, 2), "stop-first")


@pytest.mark.parametrize("failed, total, ratio, expected", [
    (0, 3, 0.0, False),
    (1, 3, 0.0, True),
    (1, 3, 0.34, False),
    (2, 3, 0.34, True),
    (3, 3, 1.0, False),
    (1, 0, 0.0, False),
])
def test_failure_ratio(failed: int, total: int, ratio: float, expected: bool) -> None:
    assert failed_too_much(failed, total, UpdatePolicy(max_failure_ratio=ratio)) is expected


def test_normalize_rejects_bad_policy_with_its_path() -> None:
    from baleine.compose.normalize import normalize_service

    raw = {"image": "busybox", "deploy": {"replicas": 3, "update_config": {"parallelism": 2, "order": "last"}}}
    with pytest.raises(ComposeError) as info:
        normalize_service("web", raw, {}, "/tmp")
    assert info.value.path == "services.web.deploy.update_config.order"
    good = {"image": "busybox", "deploy": {"rollback_config": {"max_failure_ratio": 0.2, "monitor": "1s"}}}
    assert normalize_service("web", good, {}, "/tmp")["deploy"]["rollback_config"]["monitor"] == "1s"
