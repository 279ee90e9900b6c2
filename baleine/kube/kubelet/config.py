"""A pod's container as an engine container: the ``ContainerCreate`` body.

Contract: :func:`create_body` translates one container of the pod spec (command
and args against the image's Entrypoint/Cmd, workingDir, env, resources,
securityContext, mounts) into the body the containers backend takes, joined to
the sandbox's network and IPC namespaces, with hostname and DNS of the pod.
The environment and the command line are ``env.py``'s (Kubernetes' rules,
``$(VAR)`` expansion, ``valueFrom``); an ``env.EnvError`` is raised as is.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import env, names, sandbox
from .admission import quantity

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]
#: The container's ``ports`` as JSON, the label dockershim kept kubelet's annotation in
#: (``baleine kube generate pod/NAME`` reads it back through the Engine API).
PORTS_LABEL = "annotation.io.kubernetes.container.ports"


def _resources(container: Obj) -> Obj:
    res = container.get("resources") or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    out: Obj = {}
    if "cpu" in limits:
        out["NanoCpus"] = int(quantity(limits["cpu"]) * Decimal(10**9))
    if "memory" in limits:
        out["Memory"] = int(quantity(limits["memory"]))
    if "cpu" in requests:
        out["CpuShares"] = max(2, int(quantity(requests["cpu"]) * 1024))
    return out


def _security(pod: Obj, container: Obj) -> tuple[str, Obj]:
    """(User, HostConfig fields) from the pod's and the container's securityContext."""
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    csc = container.get("securityContext") or {}
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    gid = csc.get("runAsGroup", psc.get("runAsGroup"))
    user = "" if uid is None else str(uid) if gid is None else f"{uid}:{gid}"
    hc: Obj = {}
    if csc.get("readOnlyRootFilesystem"):
        hc["ReadonlyRootfs"] = True
    if csc.get("privileged"):
        hc["Privileged"] = True
    caps = csc.get("capabilities") or {}
    if caps.get("add"):
        hc["CapAdd"] = list(caps["add"])
    if caps.get("drop"):
        hc["CapDrop"] = list(caps["drop"])
    groups = psc.get("supplementalGroups")
    if groups:
        hc["GroupAdd"] = [str(g) for g in groups]
    return user, hc


def create_body(ctx: Context, pod: Obj, container: Obj, image_config: Obj, sandbox_id: str, restart_count: int,
                init: bool, mounts: list[Obj]) -> Obj:
    """The ``ContainerCreate`` body of ``container`` (see the module's contract)."""
    entrypoint, cmd = env.command_line(container, image_config)
    user, security = _security(pod, container)
    host_config: Obj = {"NetworkMode": f"container:{sandbox_id}", "IpcMode": f"container:{sandbox_id}",
                        "RestartPolicy": {"Name": "no"}, "Mounts": mounts, **_resources(container), **security,
                        **sandbox.dns_settings(ctx, pod)}
    body: Obj = {"Image": container["image"], "Env": env.container_env(ctx, pod, container),
                 "Labels": names.labels(pod, container["name"], restart_count, init),
                 "Tty": bool(container.get("tty")), "OpenStdin": bool(container.get("stdin")),
                 "StdinOnce": bool(container.get("stdinOnce")), "AttachStdin": False,
                 "HostConfig": host_config}
    if container.get("ports"):
        body["Labels"][PORTS_LABEL] = json.dumps(container["ports"], separators=(",", ":"))
    if not sandbox.host_network(pod):
        body["Hostname"] = sandbox.hostname(pod)
    aliases = [f"{name}:{alias['ip']}" for alias in (pod.get("spec") or {}).get("hostAliases") or []
               for name in alias.get("hostnames") or []]
    if aliases:
        host_config["ExtraHosts"] = aliases  # spec.hostAliases: lines of /etc/hosts
    if entrypoint is not None:
        body["Entrypoint"] = entrypoint
    if cmd is not None:
        body["Cmd"] = cmd
    if container.get("workingDir"):
        body["WorkingDir"] = container["workingDir"]
    if user:
        body["User"] = user
    return body
