"""The node agent (kubelet) driven by kubectl and the kubernetes Python client: pods run
as Baleine containers, with kubelet's statuses, restarts, back-off, graceful deletion,
admission, and a daemon restart in the middle."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import BUSYBOX_TAR
from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL


@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    with kube_daemon() as k:
        k.daemon.ok("load", "-i", str(BUSYBOX_TAR))
        yield k


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": containers, "terminationGracePeriodSeconds": 2, **spec}})


def box(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", script], **extra}


def phase(k: Kube, name: str) -> str:
    return get_json(k, "pod", name).get("status", {}).get("phase", "")


def in_pod(k: Kube, pod_name: str, container: str, *cmd: str) -> str:
    """Run ``cmd`` in a pod's container through the Docker API (``baleine exec``)."""
    cid = statuses(k, pod_name)[container]["containerID"].split("://", 1)[1]
    r = k.daemon.cli("exec", cid, *cmd)
    return r.stdout if r.returncode == 0 else ""


def statuses(k: Kube, name: str, key: str = "containerStatuses") -> dict[str, Any]:
    return {s["name"]: s for s in get_json(k, "pod", name).get("status", {}).get(key) or []}


def test_two_containers_share_localhost_and_the_pod_is_ready(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("duo", [
        box("server", "echo hello-from-server > /tmp/i; while true; do nc -l -p 8080 < /tmp/i; done"),
        box("client", "while true; do nc 127.0.0.1 8080 > /tmp/got && [ -s /tmp/got ] && cp /tmp/got /got; "
                      "sleep 1; done")]))
    kube.ok("wait", "--for=condition=Ready", "pod/duo", "--timeout=60s")
    obj = get_json(kube, "pod", "duo")
    st = obj["status"]
    assert st["phase"] == "Running" and st["podIP"] and st["podIPs"] == [{"ip": st["podIP"]}]
    assert obj["spec"]["nodeName"]
    types = {c["type"]: c["status"] for c in st["conditions"]}
    assert types == {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "True", "Ready": "True",
                     "PodReadyToStartContainers": "True"}
    for cs in st["containerStatuses"]:
        assert cs["ready"] and cs["started"] and "running" in cs["state"]
        assert cs["containerID"].startswith("baleine://") and cs["imageID"].startswith("sha256:")
    out = wait_for(lambda: in_pod(kube, "duo", "client", "cat", "/got"), 30)
    assert out.strip() == "hello-from-server"
    # the Docker API shows the pod's containers with their labels
    names = kube.daemon.ok("ps", "--filter", "label=io.kubernetes.pod.name=duo", "--format",
                           '{{.Names}} {{.Label "io.kubernetes.container.name"}} '
                           '{{.Label "io.kubernetes.docker.type"}}').splitlines()
    uid = obj["metadata"]["uid"]
    assert sorted(names) == sorted([f"k8s_POD_duo_default_{uid}_0 POD podsandbox",
                                    f"k8s_server_duo_default_{uid}_0 server container",
                                    f"k8s_client_duo_default_{uid}_0 client container"])
    hostname = in_pod(kube, "duo", "server", "hostname").strip()
    assert hostname == "duo"
    hosts = in_pod(kube, "duo", "server", "cat", "/etc/hosts")
    assert re.search(rf"^{re.escape(st['podIP'])}\s+duo", hosts, re.M)
    # ClusterFirst: the cluster's search path, names of Services resolved through the cluster DNS
    resolv = in_pod(kube, "duo", "client", "cat", "/etc/resolv.conf")
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv and "ndots:5" in resolv
    # (the engine's embedded server, 127.0.0.11 on baleine-kube, forwards to the cluster DNS named here;
    # answers are test_kube_dns's business: concurrent daemons on one service range share one server)
    dns_ip = get_json(kube, "svc", "kube-dns", "-n", "kube-system")["spec"]["clusterIP"]
    sandbox = kube.daemon.inspect(f"k8s_POD_duo_default_{obj['metadata']['uid']}_0")
    assert sandbox["HostConfig"]["Dns"] == [dns_ip] and sandbox["Config"]["Image"] == "baleine/pause:3.10"
    # kubectl get -o wide: READY STATUS RESTARTS AGE IP NODE
    wide = kube.ok("get", "pod", "duo", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                               "READINESS", "GATES"]
    row = wide[1].split()
    assert row[:4] == ["duo", "2/2", "Running", "0"] and row[5] == st["podIP"] and row[6] == obj["spec"]["nodeName"]
    assert row[7:] == ["<none>", "<none>"]
    described = kube.ok("describe", "pod", "duo")
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert reason in described


def test_init_containers_run_in_order_to_completion_first(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("inits", [box("app", "sleep 1000")], initContainers=[
        box("first", "sleep 2; echo one"), box("second", "echo two")]))
    wait_for(lambda: "Init:0/2" in kube.ok("get", "pod", "inits"), 30, what="Init:0/2")
    kube.ok("wait", "--for=condition=Ready", "pod/inits", "--timeout=60s")
    inits = get_json(kube, "pod", "inits")["status"]["initContainerStatuses"]
    assert [s["name"] for s in inits] == ["first", "second"]
    first, second = (s["state"]["terminated"] for s in inits)
    assert first["exitCode"] == second["exitCode"] == 0 and first["reason"] == "Completed"
    assert first["finishedAt"] <= second["startedAt"]
    assert all(s["ready"] for s in inits)
    assert kube.ok("get", "pod", "inits", "--no-headers").split()[1:3] == ["1/1", "Running"]


def test_a_crashing_container_restarts_with_back_off(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("crash", [box("crash", "echo boom; exit 1")]))
    obj = wait_for(lambda: (o := get_json(kube, "pod", "crash"))["status"].get("containerStatuses")
                   and o["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
                   == "CrashLoopBackOff" and o, 60, what="CrashLoopBackOff")
    cs = obj["status"]["containerStatuses"][0]
    uid = obj["metadata"]["uid"]
    assert cs["restartCount"] >= 1 and not cs["ready"]
    assert cs["state"]["waiting"]["message"] == (f"back-off 10s restarting failed container=crash "
                                                 f"pod=crash_default({uid})")
    assert cs["lastState"]["terminated"]["exitCode"] == 1 and cs["lastState"]["terminated"]["reason"] == "Error"
    row = kube.ok("get", "pod", "crash", "--no-headers").split()
    assert row[1:4] == ["0/1", "CrashLoopBackOff", str(cs["restartCount"])]
    # the next restart waits for the back-off (10 s), then counts
    before = cs["restartCount"]
    began = time.monotonic()
    wait_for(lambda: statuses(kube, "crash")["crash"]["restartCount"] > before, 40, what="a restart")
    assert time.monotonic() - began > 3
    assert "Back-off restarting failed container crash" in kube.ok("describe", "pod", "crash")
    assert kube.ok("logs", "crash", "--previous").strip() == "boom"
    # the previous container is kept (logs --previous), older ones are removed
    count = statuses(kube, "crash")["crash"]["restartCount"]
    names = kube.daemon.ok("ps", "-a", "--filter", f"label=io.kubernetes.pod.uid={uid}", "--format",
                           "{{.Names}}").split()
    assert sorted(n.rsplit("_", 1)[1] for n in names if n.startswith("k8s_crash_")) == sorted(
        [str(count - 1), str(count)])
    kube.ok("delete", "pod", "crash")


def test_restart_policy_never_and_on_failure_end_the_pod(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("fails", [box("c", "exit 3")], restartPolicy="Never"))
    kube.ok("apply", "-f", "-", input=pod("works", [box("c", "echo done")], restartPolicy="Never"))
    kube.ok("apply", "-f", "-", input=pod("retry", [box("c", "exit 0")], restartPolicy="OnFailure"))
    wait_for(lambda: phase(kube, "fails") == "Failed", 60, what="Failed")
    wait_for(lambda: phase(kube, "works") == "Succeeded", 60, what="Succeeded")
    wait_for(lambda: phase(kube, "retry") == "Succeeded", 60, what="Succeeded (OnFailure)")
    import kubernetes

    api = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kube.kubeconfig))
    failed = api.read_namespaced_pod_status("fails", "default").status
    term = failed.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (3, "Error") and failed.container_statuses[0].restart_count == 0
    ready = {c.type: (c.status, c.reason) for c in failed.conditions}["Ready"]
    assert ready == ("False", "PodCompleted")
    rows = {line.split()[0]: line.split()[2] for line in kube.ok("get", "pods", "--no-headers").splitlines()}
    assert rows["fails"] == "Error" and rows["works"] == "Completed" and rows["retry"] == "Completed"
    kube.ok("delete", "pod", "fails", "works", "retry")


def test_active_deadline_fails_the_pod(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("late", [box("c", "trap 'exit 0' TERM; while true; do sleep 0.2; done")],
                                          activeDeadlineSeconds=3))
    wait_for(lambda: phase(kube, "late") == "Failed", 60, what="Failed")
    st = get_json(kube, "pod", "late")["status"]
    assert st["reason"] == "DeadlineExceeded"
    assert st["message"] == "Pod was active on the node longer than the specified deadline"
    assert "terminated" in st["containerStatuses"][0]["state"]
    time.sleep(2)
    assert statuses(kube, "late")["c"]["restartCount"] == 0
    kube.ok("delete", "pod", "late")


def test_a_pod_that_does_not_fit_stays_pending(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("huge", [box("c", "sleep 1000",
                                                       resources={"requests": {"cpu": "1000"}})]))
    cond = wait_for(lambda: next((c for c in get_json(kube, "pod", "huge").get("status", {}).get("conditions") or []
                                  if c["type"] == "PodScheduled"), None), 30, what="PodScheduled")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable",
                                                                "0/1 nodes are available: 1 Insufficient cpu.")
    obj = get_json(kube, "pod", "huge")
    assert obj["status"]["phase"] == "Pending" and not obj["spec"].get("nodeName")
    assert "FailedScheduling" in kube.ok("describe", "pod", "huge")
    kube.ok("delete", "pod", "huge")
    # room made: a pod waiting for the CPU another holds runs once that one is gone
    cores = int(get_json(kube, "nodes")["items"][0]["status"]["allocatable"]["cpu"])
    kube.ok("apply", "-f", "-", input=pod("holder", [box("c", "sleep 1000",
                                                         resources={"requests": {"cpu": f"{cores * 1000 - 500}m"}})]))
    kube.ok("wait", "--for=condition=Ready", "pod/holder", "--timeout=60s")
    kube.ok("apply", "-f", "-", input=pod("waiter", [box("c", "sleep 1000", resources={"requests": {"cpu": "1"}})]))
    wait_for(lambda: "Insufficient cpu" in json.dumps(get_json(kube, "pod", "waiter").get("status")), 30,
             what="waiter unschedulable")
    kube.ok("delete", "pod", "holder", "--grace-period=1")
    kube.ok("wait", "--for=condition=Ready", "pod/waiter", "--timeout=60s")
    assert "Successfully assigned default/waiter to " in kube.ok("describe", "pod", "waiter")
    kube.ok("delete", "pod", "waiter", "--grace-period=1")


def test_delete_waits_for_the_grace_period(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("stubborn", [box("c", "trap '' TERM; while true; do sleep 1; done")],
                                          terminationGracePeriodSeconds=4))
    kube.ok("wait", "--for=condition=Ready", "pod/stubborn", "--timeout=60s")
    uid = get_json(kube, "pod", "stubborn")["metadata"]["uid"]
    began = time.monotonic()
    kube.ok("delete", "pod", "stubborn", "--wait=false")
    meta = get_json(kube, "pod", "stubborn")["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 4
    assert kube.ok("get", "pod", "stubborn", "--no-headers").split()[2] == "Terminating"
    wait_for(lambda: kube.run("get", "pod", "stubborn").returncode != 0, 30, what="the pod to go")
    assert time.monotonic() - began >= 3.5
    assert kube.daemon.ok("ps", "-aq", "--filter", f"label=io.kubernetes.pod.uid={uid}").strip() == ""
    # a preStop hook runs before the stop signal, within the grace period
    polite = box("c", "trap 'exit 0' TERM; while true; do sleep 0.2; done")
    for name, hook in (("sleeper", {"sleep": {"seconds": 3}}), ("execer", {"exec": {"command": ["sleep", "3"]}})):
        kube.ok("apply", "-f", "-", input=pod(name, [{**polite, "lifecycle": {"preStop": hook}}],
                                              terminationGracePeriodSeconds=30))
        kube.ok("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
        began = time.monotonic()
        kube.ok("delete", "pod", name)
        assert 2.5 <= time.monotonic() - began < 20, name
    # a container that ends on SIGTERM goes at once
    kube.ok("apply", "-f", "-", input=pod("polite", [box("c", "trap 'exit 0' TERM; while true; do sleep 0.2; done")],
                                          terminationGracePeriodSeconds=30))
    kube.ok("wait", "--for=condition=Ready", "pod/polite", "--timeout=60s")
    began = time.monotonic()
    kube.ok("delete", "pod", "polite")
    assert time.monotonic() - began < 15


def test_the_pod_survives_a_daemon_kill_with_the_same_containers(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("steady", [box("c", "sleep 1000")]))
    kube.ok("wait", "--for=condition=Ready", "pod/steady", "--timeout=60s")
    before = statuses(kube, "steady")["c"]
    d = kube.daemon
    orphan = d.ok("run", "-d", "--label", "io.kubernetes.pod.uid=gone", "busybox", "sleep", "1000").strip()
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.proc = None
    d.start()
    kube.wait_ready()
    time.sleep(3)
    kube.ok("wait", "--for=condition=Ready", "pod/steady", "--timeout=60s")
    after = statuses(kube, "steady")["c"]
    assert after["containerID"] == before["containerID"] and after["restartCount"] == before["restartCount"]
    uid = get_json(kube, "pod", "steady")["metadata"]["uid"]
    running = d.ok("ps", "-q", "--filter", f"label=io.kubernetes.pod.uid={uid}").split()
    assert len(running) == 2  # the sandbox and the container, no duplicates
    wait_for(lambda: orphan[:12] not in d.ok("ps", "-aq", "--no-trunc"), 30, what="the orphan to go")
    kube.ok("delete", "pod", "steady", "--grace-period=1")


def test_container_settings_reach_the_engine(kube: Kube) -> None:
    spec = box("main", "", command=None, args=["sleep", "1000"], workingDir="/tmp",
               env=[{"name": "GREETING", "value": "hi"}],
               resources={"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}},
               securityContext={"runAsUser": 1000, "runAsGroup": 2000, "readOnlyRootFilesystem": True,
                                "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]}})
    del spec["command"]
    kube.ok("apply", "-f", "-", input=pod("settings", [spec], hostname="custom",
                                          hostAliases=[{"ip": "192.0.2.9", "hostnames": ["db"]}]))
    kube.ok("wait", "--for=condition=Ready", "pod/settings", "--timeout=60s")
    cid = statuses(kube, "settings")["main"]["containerID"].split("://", 1)[1]
    doc = kube.daemon.inspect(cid)
    hc, cfg = doc["HostConfig"], doc["Config"]
    assert (hc["NanoCpus"], hc["Memory"], hc["ReadonlyRootfs"]) == (500_000_000, 64 * 2**20, True)
    assert hc["CapAdd"] == ["NET_ADMIN"] and hc["CapDrop"] == ["MKNOD"]
    assert hc["NetworkMode"].startswith("container:") and hc["IpcMode"] == hc["NetworkMode"]
    assert cfg["User"] == "1000:2000" and cfg["WorkingDir"] == "/tmp" and cfg["Hostname"] == "custom"
    # args alone replace the image's Cmd (busybox: no Entrypoint, Cmd ["sh"])
    assert doc["Path"] == "sleep" and doc["Args"] == ["1000"]
    assert "GREETING=hi" in cfg["Env"]
    assert in_pod(kube, "settings", "main", "id").startswith("uid=1000 gid=2000")
    assert in_pod(kube, "settings", "main", "hostname").strip() == "custom"
    assert re.search(r"^192\.0\.2\.9\s+db$", in_pod(kube, "settings", "main", "cat", "/etc/hosts"), re.M)
    kube.ok("delete", "pod", "settings", "--grace-period=1")


def test_image_pull_policies(kube: Kube) -> None:
    missing = {"name": "c", "image": "nowhere.invalid/none:1", "imagePullPolicy": "IfNotPresent"}
    never = {"name": "c", "image": "nowhere.invalid/none:1", "imagePullPolicy": "Never"}
    kube.ok("apply", "-f", "-", input=pod("unpullable", [missing]))
    kube.ok("apply", "-f", "-", input=pod("neverpull", [never]))
    reasons = {"ErrImagePull", "ImagePullBackOff"}
    wait_for(lambda: statuses(kube, "unpullable").get("c", {}).get("state", {}).get("waiting", {}).get("reason")
             in reasons, 60, what="ErrImagePull")
    # ContainerCreating comes first, as on a cluster, until the node agent looks at the image.
    waiting = wait_for(lambda: (w := statuses(kube, "neverpull").get("c", {}).get("state", {}).get("waiting"))
                       and w.get("reason") != "ContainerCreating" and w, 60)
    assert waiting == {"reason": "ErrImageNeverPull",
                       "message": 'Container image "nowhere.invalid/none:1" is not present with pull policy of Never'}
    assert phase(kube, "unpullable") == "Pending"
    described = kube.ok("describe", "pod", "unpullable")
    assert 'Pulling image "nowhere.invalid/none:1"' in described and "Error: ErrImagePull" in described
    wait_for(lambda: "ImagePullBackOff" in kube.ok("get", "pod", "unpullable"), 60, what="ImagePullBackOff")
    kube.ok("delete", "pod", "unpullable", "neverpull")


def test_a_new_image_restarts_the_container(kube: Kube) -> None:
    kube.daemon.ok("tag", "busybox", "busybox:renamed")
    kube.ok("apply", "-f", "-", input=pod("swap", [box("c", "sleep 1000")]))
    kube.ok("wait", "--for=condition=Ready", "pod/swap", "--timeout=60s")
    before = statuses(kube, "swap")["c"]["containerID"]
    kube.ok("set", "image", "pod/swap", "c=busybox:renamed")
    after = wait_for(lambda: (s := statuses(kube, "swap")["c"])["containerID"] != before and s.get("ready") and s,
                     60, what="the new container")
    assert after["restartCount"] == 1 and after["image"] == "busybox:renamed"
    assert "definition changed, will be restarted" in kube.ok("describe", "pod", "swap")
    kube.ok("delete", "pod", "swap", "--grace-period=1")


def test_a_dead_sandbox_is_replaced_and_the_containers_restarted(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("reborn", [box("c", "sleep 1000")]))
    kube.ok("wait", "--for=condition=Ready", "pod/reborn", "--timeout=60s")
    uid = get_json(kube, "pod", "reborn")["metadata"]["uid"]
    kube.daemon.ok("kill", f"k8s_POD_reborn_default_{uid}_0")
    wait_for(lambda: statuses(kube, "reborn")["c"]["restartCount"] == 1, 60, what="the restart")
    kube.ok("wait", "--for=condition=Ready", "pod/reborn", "--timeout=60s")
    sandboxes = kube.daemon.ok("ps", "-a", "--filter", f"label=io.kubernetes.pod.uid={uid}", "--filter",
                               "label=io.kubernetes.docker.type=podsandbox", "--format", "{{.Names}} {{.State}}")
    assert sandboxes.split() == [f"k8s_POD_reborn_default_{uid}_1", "running"]
    assert get_json(kube, "pod", "reborn")["status"]["podIP"]
    kube.ok("delete", "pod", "reborn", "--grace-period=1")


def test_an_init_container_prepares_an_empty_dir_for_the_app(kube: Kube) -> None:
    mount = [{"name": "work", "mountPath": "/work"}]
    kube.ok("apply", "-f", "-", input=pod("prepared", [box("app", "cat /work/ready; sleep 1000", volumeMounts=mount)],
                                          initContainers=[box("prepare", "echo prepared-by-init > /work/ready",
                                                              volumeMounts=mount)],
                                          volumes=[{"name": "work", "emptyDir": {}}]))
    kube.ok("wait", "--for=condition=Ready", "pod/prepared", "--timeout=60s")
    assert wait_for(lambda: kube.ok("logs", "prepared", "-c", "app").strip(), 30) == "prepared-by-init"
    kube.ok("delete", "pod", "prepared", "--grace-period=1")


def test_readiness_gates_ready_and_liveness_restarts(kube: Kube) -> None:
    ready_probe = {"exec": {"command": ["test", "-e", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1}
    live_probe = {"exec": {"command": ["test", "!", "-e", "/tmp/sick"]}, "periodSeconds": 1, "failureThreshold": 1}
    kube.ok("apply", "-f", "-", input=pod("probed", [box("c", "sleep 1000", readinessProbe=ready_probe,
                                                         livenessProbe=live_probe)]))
    wait_for(lambda: statuses(kube, "probed").get("c", {}).get("started"), 60, what="the container to start")
    time.sleep(2)
    assert kube.ok("get", "pod", "probed", "--no-headers").split()[1:3] == ["0/1", "Running"]
    assert in_pod(kube, "probed", "c", "touch", "/tmp/ready") == ""
    kube.ok("wait", "--for=condition=Ready", "pod/probed", "--timeout=30s")
    in_pod(kube, "probed", "c", "touch", "/tmp/sick")
    wait_for(lambda: statuses(kube, "probed")["c"]["restartCount"] == 1, 60, what="the liveness restart")
    assert "Container c failed liveness probe, will be restarted" in kube.ok("describe", "pod", "probed")
    # the new container has neither file: alive, and not ready until told
    time.sleep(2)
    assert not statuses(kube, "probed")["c"]["ready"]
    kube.ok("delete", "pod", "probed", "--grace-period=1")


def test_an_out_of_memory_container_is_oom_killed(kube: Kube) -> None:
    hog = box("hog", "head -c 200m /dev/zero | tail", resources={"limits": {"memory": "32Mi"}})
    kube.ok("apply", "-f", "-", input=pod("hog", [hog], restartPolicy="Never"))
    wait_for(lambda: phase(kube, "hog") == "Failed", 60, what="Failed")
    term = statuses(kube, "hog")["hog"]["state"]["terminated"]
    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137
    assert kube.ok("get", "pod", "hog", "--no-headers").split()[2] == "OOMKilled"
    kube.ok("delete", "pod", "hog")


def test_a_host_network_pod_has_the_hosts_address(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=pod("onhost", [box("c", "sleep 1000")], hostNetwork=True))
    kube.ok("wait", "--for=condition=Ready", "pod/onhost", "--timeout=60s")
    st = get_json(kube, "pod", "onhost")["status"]
    assert st["podIP"] == st["hostIP"] and st["hostIP"]
    kube.ok("delete", "pod", "onhost", "--grace-period=1")


def test_post_start_hooks(kube: Kube) -> None:
    hooked = box("c", "sleep 1000", lifecycle={"postStart": {"exec": {"command": ["sh", "-c", "echo hi > /tmp/hi"]}}})
    failing = box("c", "sleep 1000", lifecycle={"postStart": {"exec": {"command": ["false"]}}})
    kube.ok("apply", "-f", "-", input=pod("hooked", [hooked]))
    kube.ok("apply", "-f", "-", input=pod("unhooked", [failing], restartPolicy="Never"))
    kube.ok("wait", "--for=condition=Ready", "pod/hooked", "--timeout=60s")
    assert in_pod(kube, "hooked", "c", "cat", "/tmp/hi").strip() == "hi"
    wait_for(lambda: phase(kube, "unhooked") == "Failed", 60, what="Failed")
    assert "FailedPostStartHook" in kube.ok("describe", "pod", "unhooked")
    kube.ok("delete", "pod", "hooked", "unhooked", "--grace-period=1")


def test_a_pod_whose_owner_goes_is_stopped_gracefully(kube: Kube) -> None:
    kube.ok("create", "configmap", "owner")
    owner = get_json(kube, "configmap", "owner")["metadata"]
    body = json.loads(pod("owned", [box("c", "trap 'exit 0' TERM; while true; do sleep 0.2; done")]))
    body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                            "uid": owner["uid"]}]
    kube.ok("apply", "-f", "-", input=json.dumps(body))
    kube.ok("wait", "--for=condition=Ready", "pod/owned", "--timeout=60s")
    kube.ok("delete", "configmap", "owner")
    wait_for(lambda: kube.run("get", "pod", "owned").returncode != 0, 60, what="the owned pod to go")
    assert "Stopping container c" in json.dumps(get_json(kube, "events"))


def test_a_deployment_runs_real_pods(kube: Kube) -> None:
    template = {"metadata": {"labels": {"app": "real"}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [box("c", "sleep 1000")]}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "real"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "real"}}, "template": template}}
    kube.ok("apply", "-f", "-", input=json.dumps(deployment))
    kube.ok("rollout", "status", "deployment/real", "--timeout=90s")
    rows = [line.split() for line in kube.ok("get", "pods", "-l", "app=real", "--no-headers").splitlines()]
    assert len(rows) == 2 and all(r[1:3] == ["1/1", "Running"] for r in rows)
    kube.ok("scale", "deployment/real", "--replicas=1")
    wait_for(lambda: len(kube.ok("get", "pods", "-l", "app=real", "--no-headers").splitlines()) == 1, 60,
             what="one replica")
    kube.ok("delete", "deployment", "real")
    wait_for(lambda: not kube.ok("get", "pods", "-l", "app=real", "--no-headers").strip(), 60, what="no replica")
    wait_for(lambda: not [n for n in kube.daemon.ok("ps", "-a", "--format",
                                                    '{{.Label "io.kubernetes.pod.name"}}').split()
                          if n.startswith("real-")], 30, what="the replicas' containers to go")


def test_port_forward_reaches_a_server_on_the_pods_loopback(kube: Kube) -> None:
    """kubectl port-forward dials inside the pod's network namespace, as the kubelet
    does: a server listening on 127.0.0.1 only (not on the pod's address) answers."""
    import subprocess
    import urllib.request

    from ..kubehelp import KUBECTL

    kube.ok("apply", "-f", "-", input=pod("loopback", [box(
        "web", "mkdir -p /www && echo only-on-loopback > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www")]))
    kube.ok("wait", "--for=condition=Ready", "pod/loopback", "--timeout=60s")
    proc = subprocess.Popen([KUBECTL, "--kubeconfig", kube.kubeconfig, "port-forward", "pod/loopback", ":8080"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={"HOME": str(kube.home)})
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "Forwarding from 127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:  # noqa: S310 - loopback
            assert r.read().decode().strip() == "only-on-loopback"
    finally:
        proc.terminate()
        proc.wait(10)
        kube.ok("delete", "pod", "loopback", "--grace-period=0")
