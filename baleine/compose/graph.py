"""The services' dependency graph (``depends_on``, with what ``links``,
``network_mode: service:x`` and ``volumes_from`` imply): cycles, start order, the
dependencies and dependents of a set of services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ComposeError


def dependencies(services: Mapping[str, dict[str, Any]], name: str) -> list[str]:
    """The services ``name`` depends on that exist in ``services``, in declaration order."""
    return [d for d in (services[name].get("depends_on") or {}) if d in services]


def find_cycle(services: Mapping[str, dict[str, Any]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, …, a]``, or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for dep in dependencies(services, name):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(services):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


def check_cycles(services: Mapping[str, dict[str, Any]]) -> None:
    """Raise ComposeError("dependency cycle detected: a -> b -> a") if there is one."""
    cycle = find_cycle(services)
    if cycle:
        raise ComposeError("dependency cycle detected: " + " -> ".join(cycle),
                           path=f"services.{cycle[0]}.depends_on")


def start_order(services: Mapping[str, dict[str, Any]], names: Iterable[str] | None = None) -> list[str]:
    """``names`` (default: all) and their transitive dependencies, dependencies first;
    ties in alphabetical order so that runs are reproducible. Assumes no cycle."""
    wanted = with_dependencies(services, names if names is not None else services)
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for dep in sorted(dependencies(services, name)):
            visit(dep)
        order.append(name)

    for name in sorted(wanted):
        visit(name)
    return order


def levels(services: Mapping[str, dict[str, Any]], names: Iterable[str]) -> list[list[str]]:
    """``names`` grouped so that each group depends only on earlier groups."""
    names = list(names)
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            deps = [d for d in dependencies(services, name) if d in names]
            depth[name] = 1 + max((level(d) for d in deps), default=-1)
        return depth[name]

    out: dict[int, list[str]] = {}
    for name in names:
        out.setdefault(level(name), []).append(name)
    return [sorted(out[k]) for k in sorted(out)]


def with_dependencies(services: Mapping[str, dict[str, Any]], names: Iterable[str]) -> set[str]:
    """``names`` and everything they depend on, transitively."""
    out: set[str] = set()
    todo = [n for n in names if n in services]
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        todo.extend(dependencies(services, name))
    return out


def dependents(services: Mapping[str, dict[str, Any]], names: Iterable[str]) -> set[str]:
    """``names`` and every service that depends on them, transitively."""
    out = set(names)
    changed = True
    while changed:
        changed = False
        for svc in services:
            if svc not in out and any(d in out for d in dependencies(services, svc)):
                out.add(svc)
                changed = True
    return out
