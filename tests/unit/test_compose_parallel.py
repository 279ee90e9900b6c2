"""Steps in dependency order with independent ones at once (compose up/down)."""

from __future__ import annotations

import threading
import time

import pytest

from baleine.compose import parallel

DEPS = {"web": ["api"], "api": ["db", "cache"], "db": [], "cache": [], "worker": ["db"]}


def run(order_fn, names, deps, fail: str = "", delay: float = 0.05):
    started: list[str] = []
    finished: list[str] = []
    active: set[str] = set()
    overlap = []
    lock = threading.Lock()

    def step(name: str) -> None:
        with lock:
            started.append(name)
            active.add(name)
            overlap.append(len(active))
        time.sleep(delay)
        with lock:
            active.discard(name)
            finished.append(name)
        if name == fail:
            raise ValueError(f"{name} failed")

    order_fn(names, lambda n: deps.get(n, []), step)
    return started, finished, max(overlap)


def test_dependencies_finish_before_their_dependents_start_and_the_rest_overlaps() -> None:
    started, finished, peak = run(parallel.in_dependency_order, list(DEPS), DEPS)
    assert sorted(started) == sorted(DEPS)
    for name, deps in DEPS.items():
        for d in deps:
            assert finished.index(d) < started.index(name), (d, name)
    assert peak >= 2  # db and cache (and worker after db) ran together


def test_reverse_order_stops_dependents_first() -> None:
    started, finished, _ = run(parallel.in_reverse_dependency_order, list(DEPS), DEPS)
    for name, deps in DEPS.items():
        for d in deps:
            assert finished.index(name) < started.index(d), (name, d)


def test_a_failure_stops_what_has_not_started_and_is_raised() -> None:
    with pytest.raises(ValueError, match="db failed"):
        started, _, _ = run(parallel.in_dependency_order, list(DEPS), DEPS, fail="db")
    started: list[str] = []
    with pytest.raises(ValueError):
        parallel.in_dependency_order(list(DEPS), lambda n: DEPS[n],
                                     lambda n: started.append(n) or (_ for _ in ()).throw(ValueError(n))
                                     if n == "db" else time.sleep(0.05))
    assert "api" not in started and "web" not in started and "worker" not in started


def test_names_outside_the_set_are_not_waited_for_and_the_limit_holds(monkeypatch) -> None:
    started, _, _ = run(parallel.in_dependency_order, ["web"], DEPS)
    assert started == ["web"]
    monkeypatch.setenv("COMPOSE_PARALLEL_LIMIT", "1")
    _, _, peak = run(parallel.in_dependency_order, list(DEPS), DEPS, delay=0.01)
    assert peak == 1
