"""How a pod's containers are named and labelled, as dockershim named them.

Contract: a pod's container is ``k8s_<container>_<pod>_<namespace>_<uid>_<restartCount>``
(``POD`` for the sandbox) and carries the ``io.kubernetes.*`` labels below, so that
the agent finds a pod's containers again after a daemon restart by its uid alone,
and ``baleine ps`` shows them as ``docker ps`` shows a kubelet's.
"""

from __future__ import annotations

from typing import Any

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
RESTART_COUNT = "io.kubernetes.container.restartCount"
TYPE = "io.kubernetes.docker.type"
#: Marks an init container (the agent needs it to tell them from app containers on adoption).
INIT = "io.baleine.kube.init"
SANDBOX = "POD"
SANDBOX_TYPE = "podsandbox"
CONTAINER_TYPE = "container"


def container_name(pod: dict[str, Any], container: str, restart_count: int) -> str:
    """The engine's name of ``container`` (``POD``: the sandbox) of ``pod`` at ``restart_count``."""
    meta = pod["metadata"]
    return f"k8s_{container}_{meta['name']}_{meta.get('namespace', 'default')}_{meta['uid']}_{restart_count}"


def labels(pod: dict[str, Any], container: str, restart_count: int, init: bool = False) -> dict[str, str]:
    """The labels of ``container`` (``POD``: the sandbox) of ``pod``."""
    meta = pod["metadata"]
    out = {POD_NAME: meta["name"], POD_NAMESPACE: meta.get("namespace", "default"), POD_UID: meta["uid"],
           CONTAINER_NAME: container, RESTART_COUNT: str(restart_count),
           TYPE: SANDBOX_TYPE if container == SANDBOX else CONTAINER_TYPE}
    if init:
        out[INIT] = "true"
    return out


def restart_count_of(labels_: dict[str, str]) -> int:
    """The restart count a container's labels record (0 when unreadable)."""
    try:
        return int(labels_.get(RESTART_COUNT, "0"))
    except ValueError:
        return 0
