"""Compose services as balanced groups (the engine's ``io.baleine.balance`` labels).

A service runs as a balanced group — its replicas behind one virtual address per
network and its published ports, balanced by the engine in the kernel (see
``baleine/engine/networks/balancer.py``) — when it says
``deploy.endpoint_mode: vip`` explicitly, or when it runs more than one replica
(``deploy.replicas``, ``scale``, ``--scale``, ``compose scale``) and publishes
ports (a service the file gives several replicas stays balanced when scaled
down to one). Its replicas then get no ``PortBindings`` of their own but the group's
labels: the group ``<project>_<service>``, its ports in compose's short syntax,
and ``deploy.restart_policy`` (which the engine applies to a replica whose
healthcheck keeps failing). A single replica without ``deploy`` is a plain
container, as with docker compose. ``endpoint_mode: dnsrr`` never balances.
"""

from __future__ import annotations

from typing import Any

from ..engine.networks.balancerules import (LABEL, LABEL_PORTS, LABEL_RESTART, PortSpec, RestartSpec,
                                            format_port, format_restart)
from . import autoscale
from .model import Project
from .normalize import scale_of


def is_balanced(svc: dict[str, Any], replicas: int) -> bool:
    """Whether ``svc`` run with ``replicas`` containers is a balanced group: a service
    the file gives several replicas stays one when scaled down to one."""
    mode = (svc.get("deploy") or {}).get("endpoint_mode")
    if mode == "dnsrr":
        return False
    if mode == "vip":
        return True
    if svc.get(autoscale.EXTENSION):  # the engine's autoscaler scales balanced groups
        return True
    return max(replicas, scale_of(svc)) > 1 and bool(svc.get("ports"))


def group_name(project: Project, service: str) -> str:
    return f"{project.name}_{service}"


def _ports(svc: dict[str, Any]) -> list[str]:
    out = []
    for p in svc.get("ports") or []:
        published = str(p.get("published") or "")
        lo = published.partition("-")[0]
        out.append(format_port(PortSpec(int(p["target"]), p.get("protocol", "tcp") or "tcp",
                                        p.get("host_ip", "") or "", int(lo) if lo else 0)))
    return out


def _seconds(value: Any) -> float:
    if value in (None, ""):
        return 0.0
    from .normalize import duration_ns

    return duration_ns(value) / 1e9


def _restart(svc: dict[str, Any]) -> str:
    policy = (svc.get("deploy") or {}).get("restart_policy")
    if not policy:
        return ""
    cond = policy.get("condition") or "any"
    if cond == "none":
        return ""
    delay = policy.get("delay")
    return format_restart(RestartSpec(cond, int(policy.get("max_attempts") or 0),
                                      _seconds(delay) if delay not in (None, "") else 5.0,
                                      _seconds(policy.get("window"))))


def labels(project: Project, service: str) -> dict[str, str]:
    """The group labels of ``service``'s replicas."""
    svc = project.services[service]
    out = {LABEL: group_name(project, service), LABEL_PORTS: ",".join(_ports(svc))}
    restart = _restart(svc)
    if restart:
        out[LABEL_RESTART] = restart
    out.update(autoscale.labels(svc))
    return out


def stale(container_labels: dict[str, str], project: Project, service: str, replicas: int) -> bool:
    """Whether a replica was made for the other mode (or other group labels) and must be recreated."""
    want = labels(project, service) if is_balanced(project.services[service], replicas) else {}
    have = {k: v for k, v in container_labels.items() if k in (LABEL, LABEL_PORTS, LABEL_RESTART)}
    have.update({k: v for k, v in container_labels.items() if k == autoscale.LABEL_AUTOSCALE})
    return have != want
