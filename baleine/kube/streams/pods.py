"""Which pod and which Baleine container a streaming request is about, and the
refusals the API server and the kubelet give before any stream opens.

A pod's containers are found by the labels the node agent puts on them
(``io.kubernetes.pod.namespace``/``name``/``uid``, ``io.kubernetes.container.name``,
``io.kubernetes.docker.type=container``); the instance of a container is the one
with the highest ``io.kubernetes.container.restartCount``, the previous one is the
next below it. Every refusal raises :class:`APIError` with Kubernetes' wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...rules.filters import Filters
from ..client import Client
from ..kubelet.names import CONTAINER_NAME, POD_NAME, POD_NAMESPACE, POD_UID, RESTART_COUNT, TYPE
from ..status import APIError, not_found

if TYPE_CHECKING:
    from ...engine.interface.containers import Container  # the record the interface hands out
    from ..manager import Context
    from ..server import Target

Obj = dict[str, Any]


def get_pod(ctx: Context, target: Target) -> Obj:
    """The pod named by the request; 404 ``pods "x" not found``."""
    pod = Client(ctx.registry).get("pods", target.namespace or "", target.name)
    if pod is None:
        raise not_found("pods", "", target.name)
    return pod


def container_name(pod: Obj, requested: str) -> str:
    """The container a request means, as kube-apiserver's ``validateContainer``:
    ``requested`` if the pod has it (init and ephemeral containers count), the
    only container when none is named; else 400. (kubectl names one itself,
    from the ``kubectl.kubernetes.io/default-container`` annotation or the first.)"""
    spec = pod.get("spec") or {}
    names = [c.get("name", "") for key in ("initContainers", "containers", "ephemeralContainers")
             for c in spec.get(key) or []]
    name = pod["metadata"]["name"]
    if requested:
        if requested not in names:
            raise APIError(400, f"container {requested} is not valid for pod {name}")
        return requested
    containers = spec.get("containers") or []
    if len(containers) == 1:
        return containers[0].get("name", "")
    if not containers:
        raise APIError(400, f"pod {name} does not have a container")
    raise APIError(400, f"a container name must be specified for pod {name}, choose one of: "
                        f"[{' '.join(c.get('name', '') for c in containers)}]")


def refuse_completed(pod: Obj, verb: str) -> None:
    """exec and attach refuse pods that have finished (400, the API server's wording)."""
    phase = (pod.get("status") or {}).get("phase", "")
    if phase in ("Succeeded", "Failed"):
        raise APIError(400, f"cannot {verb} a container in a completed pod; current phase is {phase}")


def _restart_count(c: Container) -> int:
    try:
        return int((c.config.get("Labels") or {}).get(RESTART_COUNT, "0"))
    except ValueError:
        return 0


async def instances(ctx: Context, pod: Obj, name: str) -> list[Container]:
    """The Baleine containers of the pod's container ``name``, oldest instance first."""
    assert ctx.backends is not None and ctx.backends.containers is not None
    meta = pod["metadata"]
    labels = [f"{POD_NAMESPACE}={meta.get('namespace', '')}", f"{POD_NAME}={meta['name']}",
              f"{CONTAINER_NAME}={name}", f"{TYPE}=container"]
    if meta.get("uid"):
        labels.append(f"{POD_UID}={meta['uid']}")
    views = await ctx.backends.containers.list(Filters({"label": labels}), show_all=True, limit=0, size=False)
    return sorted((v.container for v in views), key=_restart_count)


def _status_of(pod: Obj, name: str) -> Obj | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for s in status.get(key) or []:
            if s.get("name") == name:
                return s
    return None


def _not_started(pod: Obj, name: str) -> APIError:
    """Why a container without an instance has no logs, in the kubelet's words."""
    pod_name = pod["metadata"]["name"]
    state = (_status_of(pod, name) or {}).get("state") or {"waiting": {"reason": "ContainerCreating"}}
    if "terminated" in state:
        return APIError(400, f'container "{name}" in pod "{pod_name}" is terminated')
    reason = (state.get("waiting") or {}).get("reason", "")
    if reason == "ErrImagePull":
        return APIError(400, f'container "{name}" in pod "{pod_name}" is waiting to start: image can\'t be pulled')
    if reason == "ImagePullBackOff":
        return APIError(400, f'container "{name}" in pod "{pod_name}" is waiting to start: '
                             f'trying and failing to pull image')
    if reason:
        return APIError(400, f'container "{name}" in pod "{pod_name}" is waiting to start: {reason}')
    return APIError(400, f'container "{name}" in pod "{pod_name}" is waiting to start - no logs yet')


async def log_container(ctx: Context, pod: Obj, name: str, previous: bool) -> Container:
    """The instance whose logs ``pods/log`` reads: the current one, or the one
    before it with ``previous``; 400 as the kubelet says when there is none."""
    found = await instances(ctx, pod, name)
    if previous:
        if len(found) < 2:
            raise APIError(400, f'previous terminated container "{name}" in pod "{pod["metadata"]["name"]}" '
                                f'not found')
        return found[-2]
    if not found:
        raise _not_started(pod, name)
    return found[-1]


async def running_container(ctx: Context, pod: Obj, name: str) -> Container:
    """The running instance exec and attach reach; 400 ``container not found`` else
    (the kubelet's words)."""
    found = await instances(ctx, pod, name)
    if not found or not found[-1].running:
        raise APIError(400, f'container not found ("{name}")')
    return found[-1]


async def sandbox_pid(ctx: Context, pod: Obj) -> int:
    """The process of the pod's running sandbox (its network namespace), 0 when none runs."""
    assert ctx.backends is not None and ctx.backends.containers is not None
    meta = pod["metadata"]
    labels = [f"{POD_NAMESPACE}={meta.get('namespace', '')}", f"{POD_NAME}={meta['name']}", f"{TYPE}=podsandbox"]
    if meta.get("uid"):
        labels.append(f"{POD_UID}={meta['uid']}")
    views = await ctx.backends.containers.list(Filters({"label": labels}), show_all=False, limit=0, size=False)
    for view in views:
        pid = int((view.container.state or {}).get("Pid") or 0)
        if pid:
            return pid
    return 0
