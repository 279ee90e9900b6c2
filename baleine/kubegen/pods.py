"""A Kubernetes pod's Baleine containers as one group of compose-shaped services, so that
``baleine kube generate pod/NAME -n NS`` emits one Deployment (replicas 1) whose pod
template has all the pod's app containers, like ``podman kube generate`` of a pod.

Contracts (pure; the CLI lists and inspects containers through the Engine API):

- :func:`parse_target` reads a TARGET the way kubectl does: ``pod/NAME`` (also ``pods/``,
  ``po/``) names a pod of the namespace given by ``-n`` (``default`` without it); any other
  TARGET is a container.
- :func:`pod_of` tells from a container's labels which pod it belongs to (``None``: none).
- :func:`app_containers` picks, among the inspects of a pod's containers, its app containers
  (``io.kubernetes.docker.type=container``, not init containers, not the sandbox), one per
  container name — the latest restart — in the order the node agent first created them
  (the pod spec's order).
- :func:`service_of` is :func:`baleine.kubegen.containers.service_of` for such a container,
  minus what the node agent added and a cluster adds again: the ``io.kubernetes.*`` labels,
  the Service link variables (``X_SERVICE_HOST``, ``X_SERVICE_PORT*``, ``X_PORT*``, for each
  ``X`` that has a ``X_SERVICE_HOST``), and the pod's volume directories (made under the
  data root's ``kube/pods/<uid>/volumes``: they become an emptyDir and a warning says the
  source is not carried); its service name is the container's name in the pod. Its ports
  are the pod spec's ``ports`` (the ``annotation.io.kubernetes.container.ports`` label, as
  dockershim kept it) when the label is there, else what the container exposes;
  ``CpuShares`` becomes a CPU request. Init containers are left out (:func:`init_containers`
  names them for a warning).
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import containers

Obj = dict[str, Any]

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
CONTAINER_NAME = "io.kubernetes.container.name"
RESTART_COUNT = "io.kubernetes.container.restartCount"
TYPE = "io.kubernetes.docker.type"
INIT = "io.baleine.kube.init"
# The pod spec's ``ports`` of a container, as JSON (set by baleine/kube/kubelet/config.py).
PORTS = "annotation.io.kubernetes.container.ports"
POD_PREFIXES = ("pod/", "pods/", "po/")
# <data-root>/kube/pods/<uid>/volumes/<plugin>/<name>: a pod volume prepared by the node agent.
_POD_VOLUME = re.compile(r"/kube/pods/[^/]+/volumes/([^/]+)/([^/]+)")


def parse_target(target: str, namespace: str) -> tuple[str, str] | None:
    """(namespace, pod name) when ``target`` names a pod (``pod/NAME``), else None."""
    for prefix in POD_PREFIXES:
        if target.startswith(prefix) and target[len(prefix):]:
            return namespace or "default", target[len(prefix):]
    return None


def pod_of(labels: dict[str, str] | None) -> tuple[str, str] | None:
    """(namespace, pod name) of a pod's container (sandbox included), from its labels."""
    labels = labels or {}
    if labels.get(POD_NAME) and labels.get(TYPE):
        return labels.get(POD_NAMESPACE) or "default", labels[POD_NAME]
    return None


def pod_filters(namespace: str, name: str) -> dict[str, list[str]]:
    """The Engine API ``filters`` listing the containers (app and init) of pod ``namespace/name``."""
    return {"label": [f"{POD_NAME}={name}", f"{POD_NAMESPACE}={namespace}", f"{TYPE}=container"]}


def _restarts(labels: dict[str, str]) -> int:
    try:
        return int(labels.get(RESTART_COUNT, "0"))
    except ValueError:
        return 0


def _instant(created: Any) -> tuple[str, str]:
    """A sortable key of an inspect's ``Created`` (RFC 3339 in UTC, up to nanoseconds,
    trailing zeros of the fraction trimmed as Go prints them)."""
    text = str(created or "")
    whole, _, rest = text.partition(".")
    digits = re.match(r"\d*", rest).group()  # type: ignore[union-attr]
    return whole.rstrip("Z"), digits.ljust(9, "0")


def app_containers(inspects: list[Obj]) -> list[Obj]:
    """The latest container of each app container of a pod, in first-creation order (the
    node agent creates them one after the other in the pod spec's order); ``inspects``
    are the containers' ``GET /containers/{id}/json``."""
    latest: dict[str, Obj] = {}
    first: dict[str, tuple[str, str]] = {}
    for c in inspects:
        labels = (c.get("Config") or {}).get("Labels") or {}
        if labels.get(TYPE) != "container" or labels.get(INIT) == "true" or not labels.get(CONTAINER_NAME):
            continue
        name = labels[CONTAINER_NAME]
        created = _instant(c.get("Created"))
        first[name] = min(first.get(name, created), created)
        if name not in latest or _restarts(labels) >= _restarts((latest[name].get("Config") or {}).get("Labels") or {}):
            latest[name] = c
    return [latest[n] for n in sorted(latest, key=lambda n: (first[n], n))]


def init_containers(inspects: list[Obj]) -> list[str]:
    """Names of the pod's init containers (not carried: the Engine API does not tell
    their order or what they must complete)."""
    names = {((c.get("Config") or {}).get("Labels") or {}).get(CONTAINER_NAME) for c in inspects
             if ((c.get("Config") or {}).get("Labels") or {}).get(INIT) == "true"}
    return sorted(n for n in names if n)


def _without_service_links(env: dict[str, str]) -> dict[str, str]:
    """``env`` without the variables the node agent derives from Services."""
    hosts = {k[:-len("_SERVICE_HOST")] for k in env if k.endswith("_SERVICE_HOST")}

    def derived(key: str) -> bool:
        return any(key == f"{h}_SERVICE_HOST" or key.startswith(f"{h}_SERVICE_PORT") or key == f"{h}_PORT"
                   or key.startswith(f"{h}_PORT_") for h in hosts)
    return {k: v for k, v in env.items() if not derived(k)}


def _declared_ports(text: str | None) -> list[str] | None:
    """``PORT/proto`` of each entry of the ports label; None without a readable label."""
    try:
        ports = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(ports, list):
        return None
    return [f"{int(p['containerPort'])}/{str(p.get('protocol') or 'TCP').lower()}"
            for p in ports if isinstance(p, dict) and p.get("containerPort")]


def service_of(inspect: Obj, image: Obj | None = None) -> tuple[str, Obj, list[str]]:
    """(container name in the pod, compose-shaped service, warnings) for a pod container."""
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    _, svc = containers.service_of(inspect, image)
    name = labels.get(CONTAINER_NAME) or inspect.get("Name", "").lstrip("/")
    warnings: list[str] = []
    kept = {k: v for k, v in (svc.pop("labels", None) or {}).items()
            if not k.removeprefix("annotation.").startswith("io.kubernetes.") and k != INIT}
    if kept:
        svc["labels"] = kept
    declared = _declared_ports(labels.get(PORTS))
    if declared is not None:  # the pod spec's ports, rather than those the image exposes
        svc.pop("expose", None)
        if declared:
            svc["expose"] = declared
    shares = (inspect.get("HostConfig") or {}).get("CpuShares")
    if shares and shares > 2:  # requests.cpu, as the node agent set it (1024 shares a CPU)
        svc.setdefault("deploy", {}).setdefault("resources", {})["reservations"] = {"cpus": round(shares / 1024, 3)}
    env = _without_service_links(svc.pop("environment", None) or {})
    if env:
        svc["environment"] = env
    volumes = []
    for v in svc.pop("volumes", None) or []:
        m = _POD_VOLUME.search(str(v.get("source") or "")) if v.get("type") == "bind" else None
        if m:
            plugin, vol = m.groups()
            if plugin != "kubernetes.io~empty-dir":
                warnings.append(f"service {name}: pod volume {vol!r} ({plugin.split('~')[-1]}) at {v['target']} "
                                "becomes an emptyDir: its source is not carried")
            v = {"type": "tmpfs", "target": v["target"], "read_only": v.get("read_only", False)}
        volumes.append(v)
    if volumes:
        svc["volumes"] = volumes
    return name, svc, warnings
