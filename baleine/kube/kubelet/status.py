"""A pod's status as the kubelet reports it, computed from what the agent knows.

Contract: :func:`pod_status` maps the state of a pod's containers (one
:class:`Slot` per container of the spec: its current and previous engine
container documents, its restart count, why it waits, its probes' verdicts) to
``status``: ``phase`` (kubelet's ``getPhase``), the conditions (PodScheduled,
PodReadyToStartContainers, Initialized, ContainersReady, Ready, with transition
times kept while unchanged), ``podIP(s)``, ``hostIP(s)``, ``startTime``,
``initContainerStatuses`` and ``containerStatuses`` (``containerID``
``baleine://<id>``, ``imageID``, state waiting/running/terminated with Kubernetes'
reasons, ``lastState``, ``ready``, ``started``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
ZERO = "0001-01-01T00:00:00Z"


@dataclass
class Slot:
    """One container of the pod spec as the agent tracks it."""

    spec: Obj
    init: bool = False
    current: Obj | None = None       # the engine's inspect document of the current container
    previous: Obj | None = None      # the one before (lastState, ``logs --previous``)
    restarts: int = 0
    waiting: tuple[str, str] | None = None  # (reason, message) when it cannot run now
    ready: bool | None = None        # the readiness probe's verdict (None: no probe)
    started: bool | None = None      # the startup probe's verdict (None: no probe)
    extra: Obj = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def running(self) -> bool:
        return bool(self.current and (self.current.get("State") or {}).get("Running"))

    @property
    def exited(self) -> bool:
        """It ran and ended (a created container that never started is not exited)."""
        state = (self.current or {}).get("State") or {}
        return bool(self.current) and not state.get("Running") and state.get("Status") in ("exited", "dead")

    @property
    def exit_code(self) -> int:
        return int(((self.current or {}).get("State") or {}).get("ExitCode") or 0)


def stamp(docker_time: str | None) -> str | None:
    """Docker's RFC 3339 with nanoseconds as Kubernetes' seconds (None for the zero time)."""
    if not docker_time or docker_time.startswith("0001-"):
        return None
    return docker_time[:19] + "Z"


def _terminated(doc: Obj) -> Obj:
    state = doc.get("State") or {}
    code = int(state.get("ExitCode") or 0)
    reason = "OOMKilled" if state.get("OOMKilled") else "Completed" if code == 0 else "Error"
    out = {"exitCode": code, "reason": reason, "startedAt": stamp(state.get("StartedAt")),
           "finishedAt": stamp(state.get("FinishedAt")), "containerID": f"baleine://{doc['Id']}"}
    return out


def _container_status(slot: Slot, default_waiting: str) -> Obj:
    doc = slot.current
    spec = slot.spec
    status: Obj = {"name": slot.name, "image": spec.get("image", ""), "imageID": "", "restartCount": slot.restarts,
                   "ready": False, "started": False, "lastState": {}}
    last = slot.previous if slot.previous is not None else None
    if doc is not None:
        status["containerID"] = f"baleine://{doc['Id']}"
        status["imageID"] = doc.get("Image", "")
    if slot.waiting is not None:
        reason, message = slot.waiting
        status["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        if doc is not None and slot.exited:
            last = doc
    elif doc is not None and slot.running:
        status["state"] = {"running": {"startedAt": stamp((doc.get("State") or {}).get("StartedAt"))}}
        status["started"] = slot.started is not False
        status["ready"] = status["started"] and slot.ready is not False and not slot.init
    elif doc is not None and slot.exited:
        status["state"] = {"terminated": _terminated(doc)}
    else:
        status["state"] = {"waiting": {"reason": default_waiting}}
    if last is not None and last is not doc and (last.get("State") or {}).get("Status") in ("exited", "dead"):
        status["lastState"] = {"terminated": _terminated(last)}
    elif last is doc and doc is not None and slot.waiting is not None:
        status["lastState"] = {"terminated": _terminated(doc)}
    return status


def phase(pod: Obj, init: list[Slot], apps: list[Slot], init_failed: bool) -> str:
    """kubelet's ``getPhase`` over the slots."""
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    if init_failed:
        return "Failed"
    if any(not (s.exited and s.exit_code == 0) for s in init):
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for s in apps:
        if s.running and s.waiting is None:
            running += 1
        elif s.exited and s.waiting is None:
            stopped += 1
            succeeded += s.exit_code == 0
        elif s.waiting is not None and s.current is not None and s.exited:
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Running" if policy == "OnFailure" else "Failed"
    return "Pending"


def _condition(old: list[Obj], kind: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = "True" if ok else "False"
    prior = next((c for c in old if c.get("type") == kind), None)
    since = prior.get("lastTransitionTime") if prior and prior.get("status") == status else now
    cond: Obj = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
    if not ok and reason:
        cond["reason"] = reason
        if message:
            cond["message"] = message
    return cond


def pod_status(pod: Obj, init: list[Slot], apps: list[Slot], *, sandbox_ready: bool, pod_ip: str, host_ip: str,
               start_time: str, init_failed: bool = False, failure: tuple[str, str] | None = None) -> Obj:
    """The pod's ``status`` (see the module's contract); ``failure`` (reason, message)
    fails the pod as a whole (``DeadlineExceeded``)."""
    old = pod.get("status") or {}
    old_conditions = old.get("conditions") or []
    the_phase = "Failed" if failure is not None else phase(pod, init, apps, init_failed)
    pending_init = [s.name for s in init if not (s.exited and s.exit_code == 0)]
    initialized = not pending_init
    init_statuses = [_container_status(s, "PodInitializing") for s in init]
    for st, s in zip(init_statuses, init):
        st["ready"] = s.exited and s.exit_code == 0  # a completed init container is ready, as kubelet says
    default_waiting = "ContainerCreating" if initialized else "PodInitializing"
    app_statuses = [_container_status(s, default_waiting) for s in apps]
    unready = [st["name"] for st in app_statuses if not st["ready"]]
    terminal = the_phase in ("Succeeded", "Failed")
    ready_reason = "PodCompleted" if terminal else "ContainersNotReady"
    ready_message = "" if terminal else f"containers with unready status: [{' '.join(unready)}]"
    conditions = [
        _condition(old_conditions, "PodReadyToStartContainers", sandbox_ready),
        _condition(old_conditions, "Initialized", initialized, "PodCompleted" if terminal and not pending_init
                   else "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(pending_init)}]"),
        _condition(old_conditions, "Ready", not unready and not terminal, ready_reason, ready_message),
        _condition(old_conditions, "ContainersReady", not unready and not terminal, ready_reason, ready_message),
        _condition(old_conditions, "PodScheduled", True),
    ]
    status: Obj = {"phase": the_phase, "conditions": conditions, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                   "startTime": start_time, "containerStatuses": app_statuses, "qosClass": old.get("qosClass")
                   or qos_class(pod)}
    if failure is not None:
        status["reason"], status["message"] = failure
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if init:
        status["initContainerStatuses"] = init_statuses
    return status


def qos_class(pod: Obj) -> str:
    """Guaranteed (limits = requests for cpu and memory everywhere), BestEffort (nothing asked) or Burstable."""
    containers = (pod.get("spec") or {}).get("containers") or []
    asked = [(c.get("resources") or {}) for c in containers]
    if not any(r.get("limits") or r.get("requests") for r in asked):
        return "BestEffort"
    for r in asked:
        limits = r.get("limits") or {}
        requests = r.get("requests") or limits
        if not all(k in limits and requests.get(k) == limits[k] for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"
