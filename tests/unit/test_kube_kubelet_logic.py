"""Pure logic of the node agent: back-off, admission, names, the pause image, pod phases."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
import tempfile
from decimal import Decimal

import pytest

from baleine.kube.kubelet import admission, backoff, names, pause, status
from baleine.kube.kubelet.pull import split_image
from baleine.kube.kubelet.status import Slot


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_backoff_first_restart_at_once_then_doubles_to_five_minutes() -> None:
    clock = Clock()
    b = backoff.Backoff(clock=clock)
    assert b.waiting("c", clock.t) == 0
    delays = []
    for _ in range(7):
        b.next("c")
        delays.append(b.delay("c"))
        clock.t += 1
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert b.waiting("c", clock.t) == 300
    assert b.waiting("c", clock.t - 299) == pytest.approx(1)


def test_backoff_resets_after_ten_minutes_untouched() -> None:
    clock = Clock()
    b = backoff.Backoff(clock=clock)
    b.next("c")
    b.next("c")
    clock.t += 601
    assert b.waiting("c", clock.t) == 0
    b.next("c")
    assert b.delay("c") == 10


def test_backoff_durations_print_as_go() -> None:
    assert [backoff.describe(s) for s in (10, 80, 160, 300)] == ["10s", "1m20s", "2m40s", "5m0s"]


def test_quantities() -> None:
    q = admission.quantity
    assert q("100m") == Decimal("0.1") and q("2") == 2 and q("0.5") == Decimal("0.5")
    assert q("128Mi") == 128 * 2**20 and q("1G") == 10**9 and q("1e3") == 1000 and q("16331232Ki") == 16331232 * 1024
    with pytest.raises(ValueError):
        q("12 bananas")


def _pod(cpu: str = "", memory: str = "", init_cpu: str = "", phase: str = "Running") -> dict:
    def c(cpu_: str, mem: str) -> dict:
        req = {k: v for k, v in (("cpu", cpu_), ("memory", mem)) if v}
        return {"name": "c", "resources": {"requests": req}}
    spec = {"containers": [c(cpu, memory), c(cpu, "")]}
    if init_cpu:
        spec["initContainers"] = [c(init_cpu, "")]
    return {"spec": spec, "status": {"phase": phase}}


def test_requests_sum_containers_and_take_the_largest_init() -> None:
    assert admission.pod_requests(_pod("500m", "1Gi"))["cpu"] == 1
    assert admission.pod_requests(_pod("500m", init_cpu="3"))["cpu"] == 3
    limits_only = {"spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "1Mi"}}}]}}
    assert admission.pod_requests(limits_only)["memory"] == 2**20


def test_misfit_messages_as_the_scheduler() -> None:
    node = {"cpu": "2", "memory": "1Gi", "pods": "110"}
    assert admission.misfit(_pod("500m"), node, [_pod("500m")]) is None
    assert admission.misfit(_pod("600m"), node, [_pod("500m")]) == "0/1 nodes are available: 1 Insufficient cpu."
    assert admission.misfit(_pod("600m"), node, [_pod("500m", phase="Succeeded")]) is None
    assert admission.misfit(_pod("2", "2Gi"), node, []) == \
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    assert admission.misfit(_pod(), {**node, "pods": "1"}, [_pod()]) == "0/1 nodes are available: 1 Too many pods."


def test_names_and_labels() -> None:
    pod = {"metadata": {"name": "web", "namespace": "apps", "uid": "u-1"}}
    assert names.container_name(pod, "nginx", 2) == "k8s_nginx_web_apps_u-1_2"
    assert names.labels(pod, "POD", 0)[names.TYPE] == "podsandbox"
    lab = names.labels(pod, "nginx", 3)
    assert lab[names.TYPE] == "container" and names.restart_count_of(lab) == 3


def test_image_references() -> None:
    assert split_image("busybox") == ("busybox", "latest")
    assert split_image("localhost:5000/app:1.2") == ("localhost:5000/app", "1.2")
    assert split_image("nginx@sha256:ab") == ("nginx", "sha256:ab")


def test_the_pause_binary_runs_and_waits_for_a_signal() -> None:
    with tarfile.open(fileobj=io.BytesIO(pause.rootfs_tar())) as tar:
        member = tar.getmember("pause")
        assert member.mode == 0o755
        data = tar.extractfile(member).read()
    assert data == pause.elf() and data[:4] == b"\x7fELF" and len(data) < 200
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pause")
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, stat.S_IRWXU)
        proc = subprocess.Popen([path])
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(0.3)  # it pauses
        proc.terminate()    # not PID 1 here: SIGTERM's default action ends it
        assert proc.wait(5) == -15


def _doc(running: bool, code: int = 0, oom: bool = False) -> dict:
    return {"Id": "abc", "Image": "sha256:1", "State": {
        "Running": running, "Status": "running" if running else "exited", "ExitCode": code, "OOMKilled": oom,
        "StartedAt": "2026-12-04T10:00:00.123456789Z", "FinishedAt": "2026-12-04T10:00:05.5Z"}}


def test_phases_as_kubelet() -> None:
    def p(policy: str, *slots: Slot, init: list[Slot] | None = None) -> str:
        return status.phase({"spec": {"restartPolicy": policy}}, init or [], list(slots), False)
    run, ok, bad = _doc(True), _doc(False, 0), _doc(False, 1)
    assert p("Always", Slot({"name": "a"})) == "Pending"
    assert p("Always", Slot({"name": "a"}, current=run)) == "Running"
    assert p("Never", Slot({"name": "a"}, current=ok), Slot({"name": "b"}, current=bad)) == "Failed"
    assert p("Never", Slot({"name": "a"}, current=ok)) == "Succeeded"
    assert p("OnFailure", Slot({"name": "a"}, current=ok)) == "Succeeded"
    assert p("Always", Slot({"name": "a"}, current=bad, waiting=("CrashLoopBackOff", "x"))) == "Running"
    assert p("Always", Slot({"name": "a"}, current=run), init=[Slot({"name": "i"}, init=True)]) == "Pending"


def test_container_status_shapes() -> None:
    pod = {"metadata": {}, "spec": {"restartPolicy": "Always", "containers": [{"name": "a"}]}}
    crashing = Slot({"name": "a", "image": "busybox"}, current=_doc(False, 137, oom=True), restarts=2,
                    waiting=("CrashLoopBackOff", "back-off 20s"))
    st = status.pod_status(pod, [], [crashing], sandbox_ready=True, pod_ip="10.1.0.2", host_ip="192.0.2.1",
                           start_time="2026-12-04T10:00:00Z")
    cs = st["containerStatuses"][0]
    assert cs["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s"}}
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert cs["lastState"]["terminated"]["finishedAt"] == "2026-12-04T10:00:05Z"
    assert cs["containerID"] == "baleine://abc" and cs["restartCount"] == 2 and not cs["ready"]
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ContainersNotReady" and ready["message"] == "containers with unready status: [a]"
    assert st["podIPs"] == [{"ip": "10.1.0.2"}] and st["qosClass"] == "BestEffort"


def test_kubectl_status_column_of_pods() -> None:
    import datetime

    from baleine.kube.printers import _pod_restarts, _pod_status

    now = datetime.datetime(2026, 12, 4, 10, 1, 0, tzinfo=datetime.timezone.utc)

    def pod(inits: list | None = None, cs: list | None = None, **meta: str) -> dict:
        return {"metadata": meta, "spec": {"initContainers": [{}] * len(inits or [])},
                "status": {"phase": "Running", "initContainerStatuses": inits or [], "containerStatuses": cs or []}}
    waiting = {"state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 3,
               "lastState": {"terminated": {"finishedAt": "2026-12-04T10:00:50Z"}}}
    assert _pod_status(pod(cs=[waiting]), now) == "CrashLoopBackOff"
    assert _pod_restarts(pod(cs=[waiting]), now) == "3 (10s ago)"
    assert _pod_status(pod(inits=[{"state": {"running": {}}}]), now) == "Init:0/1"
    assert _pod_status(pod(inits=[{"state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]), now) == \
        "Init:Error"
    assert _pod_status(pod(cs=[{"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]), now) == \
        "Completed"
    assert _pod_status(pod(cs=[{"state": {"running": {}}, "ready": True}], deletionTimestamp="x"), now) == \
        "Terminating"
