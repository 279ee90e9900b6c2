"""Running one step per service in dependency order, independent ones at once, as
``docker compose`` does (its ``InDependencyOrder`` / ``InReverseDependencyOrder``).

Contract of :func:`in_dependency_order`: ``step(name)`` runs for every name, in a
pool of at most ``limit`` threads, once every name it waits for (``waits_for(name)``,
restricted to ``names``) has finished *successfully*; names with nothing to wait
for start together. When a step raises, no further step starts, the running ones
are waited for, and the first exception is raised again. The limit comes from
``COMPOSE_PARALLEL_LIMIT`` when set (as docker compose reads it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

DEFAULT_LIMIT = 16


def parallel_limit() -> int:
    """``COMPOSE_PARALLEL_LIMIT`` (a positive integer) or :data:`DEFAULT_LIMIT`."""
    try:
        value = int(os.environ.get("COMPOSE_PARALLEL_LIMIT", ""))
    except ValueError:
        return DEFAULT_LIMIT
    return value if value > 0 else DEFAULT_LIMIT


def in_dependency_order(names: Iterable[str], waits_for: Callable[[str], Iterable[str]],
                        step: Callable[[str], None], limit: int | None = None) -> None:
    """Run ``step`` for each of ``names`` once what it waits for is done (see the module's contract)."""
    todo = list(dict.fromkeys(names))
    wanted = set(todo)
    blockers = {n: {d for d in waits_for(n) if d in wanted and d != n} for n in todo}
    done: set[str] = set()
    running: dict[Future[None], str] = {}
    failure: BaseException | None = None
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=max(1, limit or parallel_limit()),
                            thread_name_prefix="compose") as pool:
        while todo or running:
            if failure is None:
                for name in [n for n in todo if blockers[n] <= done]:
                    todo.remove(name)
                    running[pool.submit(step, name)] = name
            if not running:
                if todo and failure is None:
                    raise RuntimeError(f"dependency cycle among {sorted(todo)}")  # callers check cycles first
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                name = running.pop(fut)
                exc = fut.exception()
                with lock:
                    if exc is not None and failure is None:
                        failure = exc
                    elif exc is None:
                        done.add(name)
            if failure is not None:
                todo.clear()
    if failure is not None:
        raise failure


def in_reverse_dependency_order(names: Iterable[str], waits_for: Callable[[str], Iterable[str]],
                                step: Callable[[str], None], limit: int | None = None) -> None:
    """Like :func:`in_dependency_order`, dependents first: a name's step runs once every
    name that waits for it is done (stopping a project)."""
    names = list(dict.fromkeys(names))
    dependents: dict[str, set[str]] = {n: set() for n in names}
    for n in names:
        for d in waits_for(n):
            if d in dependents and d != n:
                dependents[d].add(n)
    in_dependency_order(names, lambda n: dependents[n], step, limit)
