"""Routes from containers labelled ``io.baleine.ingress`` (compose's ``x-baleine-ingress``
or a hand-written label, see :mod:`.label`) → backends of the routing table (pure).

Inputs are container inspect documents (the running ones carrying the label) and
the engine's balanced groups (``GET /baleine/balancers``'s shape). Contract:

- A container of a balanced group (label ``io.baleine.balance=<group>``) is routed
  through its group: one upstream per group and port, the group's virtual address
  (its first VIP) and the container port when the group balances that port, else
  the ready members' own addresses; no endpoint (nginx answers 503) while the
  group has no ready member. Readiness is the balancer's.
- Any other container is its own upstream: its address on its first network
  (the one listed first in ``NetworkSettings.Networks``) and the port, only while
  it runs and, when it has a healthcheck, is healthy.
- Routes are keyed by (host, path): the first container (by name) that claims one
  keeps it; a label that does not parse routes nothing and is reported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .label import LABEL, Entry, parse
from .model import Backend

Obj = dict[str, Any]
BALANCE_LABEL = "io.baleine.balance"
#: The namespace of container backends: not a DNS label, so no Kubernetes upstream can clash.
NAMESPACE = "_containers"


@dataclass(frozen=True)
class ContainerRoute:
    """A Prefix route of ``entry.host`` and ``entry.path`` to ``backend``; ``source`` names
    the container (or group) that asked for it."""

    entry: Entry
    backend: Backend
    source: str


def _labels(doc: Obj) -> dict[str, str]:
    return (doc.get("Config") or {}).get("Labels") or {}


def _ready(doc: Obj) -> bool:
    state = doc.get("State") or {}
    if not state.get("Running") or state.get("Paused") or state.get("Restarting"):
        return False
    health = state.get("Health")
    return health is None or health.get("Status") in (None, "", "healthy")


def _address(doc: Obj) -> str:
    for net in ((doc.get("NetworkSettings") or {}).get("Networks") or {}).values():
        if (net or {}).get("IPAddress"):
            return str(net["IPAddress"])
    return ""


def _group_endpoints(group: Obj | None, port: int) -> tuple[str, ...]:
    if group is None or not group.get("Ready"):
        return ()
    vips = [v["Address"] for v in group.get("VirtualIPs") or [] if v.get("Address")]
    balanced = any(int(p.get("Port") or 0) == port and (p.get("Protocol") or "tcp") == "tcp"
                   for p in group.get("Ports") or [])
    if vips and balanced:
        return (f"{vips[0]}:{port}",)
    return tuple(sorted(f"{m['Address']}:{port}" for m in group.get("Members") or []
                        if m.get("Ready") and m.get("Address")))


def routes(containers: list[Obj], balancers: list[Obj]) -> tuple[list[ContainerRoute], list[str]]:
    """The routes of the labelled containers (see the module's docstring), and problems
    to log (bad labels)."""
    groups = {g.get("Name"): g for g in balancers}
    out: dict[tuple[str, str], ContainerRoute] = {}
    problems: list[str] = []
    for doc in sorted(containers, key=lambda d: str(d.get("Name") or "")):
        text = _labels(doc).get(LABEL)
        if text is None:
            continue
        name = str(doc.get("Name") or "").lstrip("/")
        entries, problem = parse(text)
        if problem:
            problems.append(f"container {name}: {problem}")
        group = _labels(doc).get(BALANCE_LABEL)
        for e in entries:
            if group:
                backend = Backend(NAMESPACE, group, str(e.port), _group_endpoints(groups.get(group), e.port))
                source = group
            else:
                addr = _address(doc)
                ready = _ready(doc) and addr
                backend = Backend(NAMESPACE, name, str(e.port), (f"{addr}:{e.port}",) if ready else ())
                source = name
            out.setdefault((e.host, normal_path(e.path)), ContainerRoute(e, backend, source))
    return list(out.values()), problems


def normal_path(path: str) -> str:
    """A Prefix path as the model keeps it: ``/foo/`` is ``/foo`` element-wise."""
    return path.rstrip("/") or "/"
