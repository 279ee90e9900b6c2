"""Server-side printing: the ``Table`` kubectl shows (``as=Table;v=v1;g=meta.k8s.io``), columns per kind."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from .ingress import printing as ingress_printing

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj, datetime.datetime], Any]]  # name, type, priority, cell


def parse_time(text: str | None) -> datetime.datetime | None:
    """A Kubernetes timestamp (RFC 3339, with or without fractions: ``eventTime`` is a
    MicroTime) as an aware datetime; None when absent or malformed."""
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        try:
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None


def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration``: ``45s``, ``5m30s``, ``3h``, ``2d5h``, ``400d``, ``3y``."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years = hours // 24 // 365
        days = hours // 24 % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def age(obj: Obj, now: datetime.datetime) -> str:
    created = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    return "<unknown>" if created is None else human_duration((now - created).total_seconds())


def _get(obj: Obj, path: str, default: Any = None) -> Any:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return default if cur is None else cur


def _name(obj: Obj, now: datetime.datetime) -> str:
    return obj["metadata"]["name"]


def _node_status(obj: Obj, now: datetime.datetime) -> str:
    ready = next((c for c in _get(obj, "status.conditions", []) if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    return status + (",SchedulingDisabled" if _get(obj, "spec.unschedulable") else "")


def _node_roles(obj: Obj, now: datetime.datetime) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in _get(obj, "metadata.labels", {}) if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _pod_ready(obj: Obj, now: datetime.datetime) -> str:
    statuses = _get(obj, "status.containerStatuses", [])
    total = len(_get(obj, "spec.containers", []))
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_restarts(obj: Obj, now: datetime.datetime) -> str:
    """``N`` or ``N (5s ago)`` after a restart, as kubectl prints it."""
    statuses = _get(obj, "status.containerStatuses", [])
    count = sum(int(s.get("restartCount", 0)) for s in statuses)
    ends = [parse_time(((s.get("lastState") or {}).get("terminated") or {}).get("finishedAt")) for s in statuses]
    ends = [e for e in ends if e is not None]
    return f"{count} ({human_duration((now - max(ends)).total_seconds())} ago)" if count and ends else str(count)


def _readiness_gates(obj: Obj, now: datetime.datetime) -> str:
    """``<none>`` or ``passed/total`` of ``spec.readinessGates`` (kubectl's READINESS GATES)."""
    gates = [g.get("conditionType") for g in _get(obj, "spec.readinessGates", [])]
    if not gates:
        return "<none>"
    true = {c.get("type") for c in _get(obj, "status.conditions", []) if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g in true)}/{len(gates)}"


def _terminated_reason(t: Obj, prefix: str = "") -> str:
    if t.get("reason"):
        return prefix + t["reason"]
    if t.get("signal"):
        return f"{prefix}Signal:{t['signal']}"
    return f"{prefix}ExitCode:{t.get('exitCode', 0)}"


def _pod_status(obj: Obj, now: datetime.datetime) -> str:
    """kubectl's STATUS of a pod (printPod): Init:N/M, a container's waiting or terminated
    reason (CrashLoopBackOff, Completed, Error...), Terminating, else the phase."""
    reason = _get(obj, "status.reason") or _get(obj, "status.phase", "Unknown")
    inits = _get(obj, "status.initContainerStatuses", [])
    initializing = False
    for i, c in enumerate(inits):
        state = c.get("state") or {}
        if "terminated" in state and state["terminated"].get("exitCode") == 0:
            continue
        initializing = True
        if "terminated" in state:
            reason = _terminated_reason(state["terminated"], "Init:")
        elif (state.get("waiting") or {}).get("reason", "PodInitializing") != "PodInitializing":
            reason = "Init:" + state["waiting"]["reason"]
        else:
            reason = f"Init:{i}/{len(_get(obj, 'spec.initContainers', []))}"
        break
    if not initializing:
        running = False
        for c in reversed(_get(obj, "status.containerStatuses", [])):
            state = c.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif "terminated" in state:
                reason = _terminated_reason(state["terminated"])
            elif "running" in state and c.get("ready"):
                running = True
        if reason == "Completed" and running:
            ready = any(x.get("type") == "Ready" and x.get("status") == "True"
                        for x in _get(obj, "status.conditions", []))
            reason = "Running" if ready else "NotReady"
    if _get(obj, "metadata.deletionTimestamp"):
        reason = "Terminating"
    return reason


def _ports(obj: Obj, now: datetime.datetime) -> str:
    out = []
    for p in _get(obj, "spec.ports", []):
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _external_ip(obj: Obj, now: datetime.datetime) -> str:
    ips = list(_get(obj, "spec.externalIPs", []))
    ips += [i.get("ip") or i.get("hostname") for i in _get(obj, "status.loadBalancer.ingress", [])]
    if _get(obj, "spec.type") == "ExternalName":
        return _get(obj, "spec.externalName", "<none>")
    if not ips:
        return "<pending>" if _get(obj, "spec.type") == "LoadBalancer" else "<none>"
    return ",".join(ips)


def _endpoints(obj: Obj) -> str:
    """``ip:port`` of the ready addresses, three at most then `` + N more...`` (as kubectl's printer)."""
    pairs = [f"{a.get('ip')}:{p.get('port')}" for s in obj.get("subsets") or [] for p in s.get("ports") or [{}]
             for a in s.get("addresses") or []]
    if not pairs:
        return "<none>"
    return ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")


def _job_status(obj: Obj, now: datetime.datetime) -> str:
    for cond in _get(obj, "status.conditions", []):
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed", "Suspended"):
            return cond["type"]
    return "Running"


def _completions(obj: Obj, now: datetime.datetime) -> str:
    """``3/5``; a work queue (no completions): ``1/1``, or ``1/1 of 3`` when parallel."""
    done = _get(obj, "status.succeeded", 0)
    if _get(obj, "spec.completions") is not None:
        return f"{done}/{_get(obj, 'spec.completions')}"
    parallelism = _get(obj, "spec.parallelism", 0)
    return f"{done}/1 of {parallelism}" if parallelism > 1 else f"{done}/1"


def _duration(obj: Obj, now: datetime.datetime) -> str:
    start = parse_time(_get(obj, "status.startTime"))
    if start is None:
        return ""
    end = parse_time(_get(obj, "status.completionTime")) or now
    return human_duration((end - start).total_seconds())


def _last_seen(obj: Obj, now: datetime.datetime) -> str:
    when = parse_time(obj.get("lastTimestamp") or obj.get("eventTime") or _get(obj, "metadata.creationTimestamp"))
    return "<unknown>" if when is None else human_duration((now - when).total_seconds())


def _hpa_targets(obj: Obj, now: datetime.datetime) -> str:
    """kubectl 1.32's ``formatHPAMetrics`` (Resource metrics; ``cpu: 62%/50%``), v1's CPU target too."""
    specs, statuses = _get(obj, "spec.metrics", []) or [], _get(obj, "status.currentMetrics", []) or []
    if not specs and _get(obj, "spec.targetCPUUtilizationPercentage") is not None:
        current = _get(obj, "status.currentCPUUtilizationPercentage")
        return f"cpu: {'<unknown>' if current is None else f'{current}%'}/{obj['spec']['targetCPUUtilizationPercentage']}%"
    if not specs:
        return "<none>"
    shown = []
    for i, spec in enumerate(specs):
        source = spec.get("resource") or spec.get("containerResource") or {}
        target = source.get("target") or {}
        current = ((statuses[i].get("resource") or statuses[i].get("containerResource") or {}).get("current") or {}
                   if len(statuses) > i else {})
        if target.get("averageValue") is not None:
            shown.append(f"{source.get('name')}: {current.get('averageValue', '<unknown>')}/{target['averageValue']}")
        elif target.get("type") == "Value":
            shown.append(f"{current.get('value', '<unknown>')}/{target.get('value')}")
        else:
            now_pct = current.get("averageUtilization")
            goal = target.get("averageUtilization")
            shown.append(f"{source.get('name')}: {'<unknown>' if now_pct is None else f'{now_pct}%'}/"
                         f"{'<auto>' if goal is None else f'{goal}%'}")
    if len(shown) > 2:
        return ", ".join(shown[:2]) + f" + {len(shown) - 2} more..."
    return ", ".join(shown)


def _const(path: str, default: Any = "<none>", fmt: Callable[[Any], Any] = lambda v: v) -> Callable[..., Any]:
    return lambda obj, now: fmt(_get(obj, path, default))


_NAME: Column = ("Name", "string", 0, _name)
_AGE: Column = ("Age", "string", 0, age)

COLUMNS: dict[str, list[Column]] = {
    "Namespace": [_NAME, ("Status", "string", 0, _const("status.phase", "")), _AGE],
    "ConfigMap": [_NAME, ("Data", "string", 0, lambda o, n: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
                  _AGE],
    "Secret": [_NAME, ("Type", "string", 0, _const("type", "")),
               ("Data", "string", 0, lambda o, n: len(o.get("data") or {})), _AGE],
    "ServiceAccount": [_NAME, ("Secrets", "string", 0, lambda o, n: len(o.get("secrets") or [])), _AGE],
    "Node": [_NAME, ("Status", "string", 0, _node_status), ("Roles", "string", 0, _node_roles), _AGE,
             ("Version", "string", 0, _const("status.nodeInfo.kubeletVersion", "")),
             ("Internal-IP", "string", 1, lambda o, n: next((a["address"] for a in _get(o, "status.addresses", [])
                                                              if a.get("type") == "InternalIP"), "<none>")),
             ("OS-Image", "string", 1, _const("status.nodeInfo.osImage", "<unknown>")),
             ("Kernel-Version", "string", 1, _const("status.nodeInfo.kernelVersion", "<unknown>")),
             ("Container-Runtime", "string", 1, _const("status.nodeInfo.containerRuntimeVersion", "<unknown>"))],
    "Pod": [_NAME, ("Ready", "string", 0, _pod_ready), ("Status", "string", 0, _pod_status),
            ("Restarts", "string", 0, _pod_restarts), _AGE,
            ("IP", "string", 1, _const("status.podIP")), ("Node", "string", 1, _const("spec.nodeName")),
            ("Nominated Node", "string", 1, _const("status.nominatedNodeName")),
            ("Readiness Gates", "string", 1, _readiness_gates)],
    "Service": [_NAME, ("Type", "string", 0, _const("spec.type", "")),
                ("Cluster-IP", "string", 0, _const("spec.clusterIP")), ("External-IP", "string", 0, _external_ip),
                ("Port(s)", "string", 0, _ports), _AGE,
                ("Selector", "string", 1, _const("spec.selector", {}, lambda s: ",".join(
                    f"{k}={v}" for k, v in sorted(s.items())) or "<none>"))],
    "Deployment": [_NAME, ("Ready", "string", 0, lambda o, n: f"{_get(o, 'status.readyReplicas', 0)}/"
                                                                f"{_get(o, 'spec.replicas', 0)}"),
                   ("Up-to-date", "integer", 0, _const("status.updatedReplicas", 0)),
                   ("Available", "integer", 0, _const("status.availableReplicas", 0)), _AGE],
    "ReplicaSet": [_NAME, ("Desired", "integer", 0, _const("spec.replicas", 0)),
                   ("Current", "integer", 0, _const("status.replicas", 0)),
                   ("Ready", "integer", 0, _const("status.readyReplicas", 0)), _AGE],
    "Job": [_NAME, ("Status", "string", 0, _job_status),
            ("Completions", "string", 0, _completions),
            ("Duration", "string", 0, _duration), _AGE],
    "CronJob": [_NAME, ("Schedule", "string", 0, _const("spec.schedule", "")),
                ("Timezone", "string", 0, _const("spec.timeZone")),
                ("Suspend", "boolean", 0, _const("spec.suspend", False, lambda v: "True" if v else "False")),
                ("Active", "integer", 0, lambda o, n: len(_get(o, "status.active", []))),
                ("Last Schedule", "string", 0, lambda o, n: human_duration(
                    (n - parse_time(_get(o, "status.lastScheduleTime"))).total_seconds())
                    if _get(o, "status.lastScheduleTime") else "<none>"), _AGE],
    "PersistentVolumeClaim": [_NAME, ("Status", "string", 0, _const("status.phase", "")),
                              ("Volume", "string", 0, _const("spec.volumeName", "")),
                              ("Capacity", "string", 0, _const("status.capacity.storage", "")),
                              ("Access Modes", "string", 0, _const("status.accessModes", [], lambda m: ",".join(
                                  {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                                   "ReadWriteOncePod": "RWOP"}.get(x, x) for x in m))),
                              ("StorageClass", "string", 0, _const("spec.storageClassName", "<unset>")),
                              ("VolumeAttributesClass", "string", 0, _const("spec.volumeAttributesClassName",
                                                                            "<unset>")), _AGE],
    "EndpointSlice": [_NAME, ("AddressType", "string", 0, _const("addressType", "")),
                      ("Ports", "string", 0, lambda o, n: ",".join(str(p.get("port", "")) for p in o.get("ports") or [])
                       or "<unset>"),
                      ("Endpoints", "string", 0, lambda o, n: ",".join(a for e in o.get("endpoints") or []
                                                                        for a in e.get("addresses", [])) or "<unset>"),
                      _AGE],
    "HorizontalPodAutoscaler": [
        _NAME, ("Reference", "string", 0, lambda o, n: f"{_get(o, 'spec.scaleTargetRef.kind', '')}/"
                                                         f"{_get(o, 'spec.scaleTargetRef.name', '')}"),
        ("Targets", "string", 0, _hpa_targets),
        ("MinPods", "string", 0, _const("spec.minReplicas", "<unset>", str)),
        ("MaxPods", "integer", 0, _const("spec.maxReplicas", 0)),
        ("Replicas", "integer", 0, _const("status.currentReplicas", 0)), _AGE],
    "Endpoints": [_NAME, ("Endpoints", "string", 0, lambda o, n: _endpoints(o)), _AGE],
    "Event": [("Last Seen", "string", 0, _last_seen), ("Type", "string", 0, _const("type", "")),
              ("Reason", "string", 0, _const("reason", "")),
              ("Object", "string", 0, lambda o, n: f"{_get(o, 'involvedObject.kind', '').lower()}/"
                                                   f"{_get(o, 'involvedObject.name', '')}"),
              ("Message", "string", 0, _const("message", ""))],
}

COLUMNS["Ingress"] = [_NAME, ("Class", "string", 0, ingress_printing.ingress_class),
                      ("Hosts", "string", 0, ingress_printing.hosts), ("Address", "string", 0, ingress_printing.address),
                      ("Ports", "string", 0, ingress_printing.ports), _AGE]
COLUMNS["IngressClass"] = [_NAME, ("Controller", "string", 0, _const("spec.controller", "")),
                           ("Parameters", "string", 0, ingress_printing.class_parameters), _AGE]

_DESCRIPTIONS = {"Name": "Name must be unique within a namespace.",
                 "Age": "CreationTimestamp is a timestamp representing the server time when this object was created."}


def table(kind: str, objects: list[Obj], resource_version: str, include: str = "Object",
          now: datetime.datetime | None = None, continue_token: str = "") -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``objects``; rows embed the object (``include``: Object, Metadata, None)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    columns = COLUMNS.get(kind, [_NAME, _AGE])
    defs = [{"name": name, "type": typ, "format": "name" if name == "Name" else "", "priority": prio,
             "description": _DESCRIPTIONS.get(name, name)} for name, typ, prio, _ in columns]
    rows = []
    for obj in objects:
        row: Obj = {"cells": [cell(obj, now) for _, _, _, cell in columns]}
        if include == "Object":
            row["object"] = obj
        elif include == "Metadata":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj.get("metadata", {})}
        rows.append(row)
    meta: Obj = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": defs,
            "rows": rows}
