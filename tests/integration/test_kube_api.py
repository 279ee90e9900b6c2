"""The built-in Kubernetes API server driven by real clients: kubectl 1.32 and the kubernetes Python client."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import Daemon, destroy_daemon
from ..kubehelp import KUBECTL, NEEDS_KUBECTL, Kube, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL

@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    with kube_daemon() as k:
        yield k


def manifest(name: str, namespace: str, data: dict[str, str], **extra: object) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "namespace": namespace}, "data": data, **extra})


def test_kubeconfig_is_private_and_anonymous_requests_are_refused(kube: Kube) -> None:
    assert os.stat(kube.kubeconfig).st_mode & 0o777 == 0o600
    r = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                        f"https://127.0.0.1:{kube.port}/api/v1/namespaces"], capture_output=True, text=True,
                       timeout=30)
    assert r.stdout == "401"
    # baleine kube config prints the same file, finding the data root through the daemon.
    assert kube.daemon.ok("kube", "config").strip() == Path(kube.kubeconfig).read_text().strip()


def test_system_namespaces_and_the_node(kube: Kube) -> None:
    out = kube.ok("get", "ns")
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]
    for ns in ("default", "kube-system", "kube-public"):
        assert any(line.split()[:2] == [ns, "Active"] for line in out.splitlines())
    nodes = kube.ok("get", "nodes").splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert nodes[1].split()[1] == "Ready"
    node = json.loads(kube.ok("get", "nodes", "-o", "json"))["items"][0]
    assert int(node["status"]["capacity"]["cpu"]) == os.cpu_count()
    assert kube.ok("get", "sa", "-n", "kube-system", "-o", "name").split() == ["serviceaccount/default"]
    assert "this namespace may not be deleted" in kube.fails("delete", "ns", "kube-system")
    svc = kube.ok("get", "svc", "kubernetes", "-n", "default").splitlines()[1].split()
    cidr = (kube.daemon.data_root / "kube" / "service-cidr").read_text().strip()  # 10.96.0.0/12 unless taken
    assert svc[:5] == ["kubernetes", "ClusterIP", cidr.split("/")[0][:-1] + "1", "<none>", "443/TCP"]


def test_configmaps_apply_get_and_watch(kube: Kube) -> None:
    assert kube.ok("create", "ns", "apps1").strip() == "namespace/apps1 created"
    cm = manifest("web", "apps1", {"k": "v"})
    assert kube.ok("apply", "-f", "-", input=cm).strip() == "configmap/web created"
    assert kube.ok("apply", "-f", "-", input=cm).strip() == "configmap/web unchanged"
    assert kube.ok("apply", "-f", "-", input=manifest("web", "apps1", {"k": "v2"})).strip() == \
        "configmap/web configured"
    obj = json.loads(kube.ok("get", "cm", "web", "-n", "apps1", "-o", "json"))
    assert obj["data"] == {"k": "v2"} and obj["metadata"]["generation"] >= 1 and obj["metadata"]["uid"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]
    assert "k: v2" in kube.ok("get", "cm", "web", "-n", "apps1", "-o", "yaml")
    table = kube.ok("get", "cm", "-n", "apps1").splitlines()
    assert table[0].split() == ["NAME", "DATA", "AGE"] and table[1].split()[:2] == ["web", "1"]
    assert kube.ok("get", "configmaps", "-n", "apps1", "--field-selector", "metadata.name=web", "-o",
                   "name").strip() == "configmap/web"
    env = {**os.environ, "HOME": str(kube.home)}
    # Server-side printing over a watch: kubectl prints a row per event (Table objects in the stream).
    watch = subprocess.Popen([KUBECTL, "--kubeconfig", kube.kubeconfig, "get", "cm", "-n", "apps1", "-w",
                              "--request-timeout=20s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        rows = [watch.stdout.readline().split() for _ in range(2)]
        assert rows[0] == ["NAME", "DATA", "AGE"] and rows[1][:2] == ["web", "1"]
        kube.ok("patch", "cm", "web", "-n", "apps1", "-p", '{"data":{"seen":"yes"}}')
        assert watch.stdout.readline().split()[:2] == ["web", "2"]  # bounded by --request-timeout
    finally:
        watch.kill()
        watch.wait()


def test_bad_manifests_are_refused_and_nothing_is_created(kube: Kube) -> None:
    unknown = manifest("strict", "default", {"a": "b"}, bogus=1)
    err = kube.fails("apply", "-f", "-", input=unknown)
    assert 'strict decoding error: unknown field "bogus"' in err
    err = kube.fails("apply", "-f", "-", input=manifest("Bad_Name", "default", {}))
    assert 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' in err
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
                  "spec": {"replicas": -1, "selector": {"matchLabels": {"a": "b"}},
                           "template": {"metadata": {"labels": {"a": "b"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    err = kube.fails("apply", "-f", "-", input=json.dumps(deployment))
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in err
    assert kube.ok("get", "cm,deploy", "-n", "default", "-o", "name").strip() == ""
    assert "doesn't have a resource type" in kube.fails("get", "frobnicators")


def test_a_list_applies_and_is_validated_against_the_v2_schema(kube: Kube) -> None:
    """kubectl validates a List against /openapi/v2 in protobuf (nothing else): valid items
    are created, an unknown field is kubectl's validation error and nothing is created."""
    items = [json.loads(manifest(f"listed-{i}", "default", {"i": str(i)})) for i in range(2)]
    out = kube.ok("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    assert "configmap/listed-0 created" in out and "configmap/listed-1 created" in out
    bad = json.loads(manifest("listed-bad", "default", {}, bogus=1))
    err = kube.fails("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [bad]}))
    assert 'unknown field "bogus" in io.k8s.api.core.v1.ConfigMap' in err
    assert kube.run("get", "configmap", "listed-bad").returncode != 0


def test_replace_with_a_stale_resource_version_conflicts(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=manifest("racy", "default", {"n": "1"}))
    old = kube.ok("get", "cm", "racy", "-o", "json")
    kube.ok("patch", "cm", "racy", "--type=merge", "-p", '{"data":{"n":"2"}}')
    err = kube.fails("replace", "-f", "-", input=old)
    assert "the object has been modified; please apply your changes to the latest version" in err
    assert json.loads(kube.ok("get", "cm", "racy", "-o", "json"))["data"] == {"n": "2"}


def test_deleting_a_namespace_deletes_its_content_and_owner_dependents(kube: Kube) -> None:
    kube.ok("create", "ns", "doomed")
    kube.ok("apply", "-f", "-", input=manifest("a", "doomed", {}))
    owner = json.loads(kube.ok("get", "cm", "a", "-n", "doomed", "-o", "json"))["metadata"]
    dependent = manifest("b", "doomed", {}, )
    dep = json.loads(dependent)
    dep["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "a",
                                           "uid": owner["uid"]}]
    kube.ok("apply", "-f", "-", input=json.dumps(dep))
    kube.ok("delete", "cm", "a", "-n", "doomed")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and kube.ok("get", "cm", "-n", "doomed", "-o", "name").strip():
        time.sleep(0.2)
    assert kube.ok("get", "cm", "-n", "doomed", "-o", "name").strip() == ""
    kube.ok("apply", "-f", "-", input=manifest("c", "doomed", {}))
    assert kube.ok("delete", "ns", "doomed", "--timeout=30s").strip() == 'namespace "doomed" deleted'
    assert "not found" in kube.fails("get", "ns", "doomed")
    assert kube.ok("get", "cm", "-A", "--field-selector", "metadata.namespace=doomed", "-o", "name").strip() == ""


def test_server_side_apply_and_secrets(kube: Kube) -> None:
    out = kube.ok("apply", "--server-side", "-f", "-", input=manifest("ssa", "default", {"a": "1"}))
    assert out.strip() == "configmap/ssa serverside-applied"
    managed = json.loads(kube.ok("get", "cm", "ssa", "-o", "json", "--show-managed-fields"))["metadata"]
    assert managed["managedFields"][0]["manager"] == "kubectl"
    kube.ok("apply", "--server-side", "-f", "-", input=manifest("ssa", "default", {"b": "2"}))
    assert json.loads(kube.ok("get", "cm", "ssa", "-o", "json"))["data"] == {"b": "2"}
    kube.ok("create", "secret", "generic", "s1", "--from-literal=p=q")
    line = kube.ok("get", "secret", "s1").splitlines()[1].split()
    assert line[:3] == ["s1", "Opaque", "1"]
    bad = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s2"}, "data": {"x": "%%%"}}
    assert "illegal base64 data" in kube.fails("apply", "-f", "-", input=json.dumps(bad))


def test_typed_creates_tables_and_pagination(kube: Kube) -> None:
    # kubectl's typed clients post protobuf: create deployment, create configmap.
    kube.ok("create", "ns", "typed")
    kube.ok("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "--port=80", "-n", "typed")
    dep = json.loads(kube.ok("get", "deploy", "web", "-n", "typed", "-o", "json"))
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert dep["spec"]["replicas"] == 2 and dep["spec"]["strategy"]["type"] == "RollingUpdate"
    assert container["image"] == "nginx:1.27" and container["imagePullPolicy"] == "IfNotPresent"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    rows = kube.ok("get", "deploy", "-n", "typed").splitlines()
    assert rows[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1].split()[0] == "web" and rows[1].split()[1].endswith("/2")
    # the deployment controller makes its ReplicaSet, whose pods are the up-to-date ones
    wait_for(lambda: kube.ok("get", "deploy", "-n", "typed").splitlines()[1].split()[2] == "2", what="UP-TO-DATE 2")
    kube.ok("create", "job", "once", "--image=busybox", "-n", "typed", "--", "echo", "hi")
    kube.ok("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "-n", "typed", "--", "date")
    job = json.loads(kube.ok("get", "job", "once", "-n", "typed", "-o", "json"))["spec"]
    assert job["backoffLimit"] == 6 and job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    cron = kube.ok("get", "cronjob", "tick", "-n", "typed").splitlines()[1].split()
    assert cron[:6] == ["tick", "*/5", "*", "*", "*", "*"]
    kube.ok("create", "service", "nodeport", "front", "--tcp=80:8080", "-n", "typed")
    svc = json.loads(kube.ok("get", "svc", "front", "-n", "typed", "-o", "json"))["spec"]
    assert svc["type"] == "NodePort" and svc["clusterIP"].startswith("10.") and svc["selector"] == {"app": "front"}
    assert svc["ports"][0]["targetPort"] == 8080 and 30000 <= svc["ports"][0]["nodePort"] <= 32767
    for i in range(3):
        kube.ok("create", "configmap", f"page{i}", f"--from-literal=k={i}", "-n", "typed")
    names = kube.ok("get", "cm", "-n", "typed", "--chunk-size=1", "-o", "name").split()
    assert names == ["configmap/page0", "configmap/page1", "configmap/page2"]
    raw = json.loads(kube.ok("get", "--raw", "/api/v1/namespaces/typed/configmaps?limit=2"))
    assert len(raw["items"]) == 2 and raw["metadata"]["continue"]
    assert "NotFound" in kube.fails("get", "--raw", "/api/v1/frobnicators")
    assert "NotFound" in kube.fails("get", "--raw", "/api/v1/namespaces/typed/configmaps/page0/status")
    patched = json.loads(kube.ok("patch", "deploy", "web", "-n", "typed", "--subresource=status", "--type=merge",
                                 "-p", '{"status":{"readyReplicas":1},"spec":{"replicas":9}}', "-o", "json"))
    assert patched["status"]["readyReplicas"] == 1 and patched["spec"]["replicas"] == 2  # status only
    dep = json.loads(kube.ok("get", "deploy", "web", "-n", "typed", "-o", "json"))
    assert dep["spec"]["replicas"] == 2


def test_python_client_create_list_watch(kube: Kube) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    api_client = kubernetes.config.new_client_from_config(config_file=kube.kubeconfig)
    core = kubernetes.client.CoreV1Api(api_client)
    body = kubernetes.client.V1ConfigMap(metadata=kubernetes.client.V1ObjectMeta(name="py", labels={"from": "py"}),
                                         data={"a": "b"})
    created = core.create_namespaced_config_map("default", body)
    listed = core.list_namespaced_config_map("default", label_selector="from=py")
    assert [c.metadata.name for c in listed.items] == ["py"]
    events = kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default",
                                             resource_version=created.metadata.resource_version,
                                             timeout_seconds=10)
    core.patch_namespaced_config_map("py", "default", {"data": {"a": "c"}})
    event = next(events)
    assert event["type"] == "MODIFIED" and event["object"].data == {"a": "c"}
    api_client.close()


def test_objects_survive_a_restart(kube: Kube) -> None:
    kube.ok("apply", "-f", "-", input=manifest("durable", "default", {"x": "y"}))
    before = json.loads(kube.ok("get", "cm", "durable", "-o", "json"))["metadata"]
    kube.daemon.stop()
    kube.daemon.start()
    kube.wait_ready()
    after = json.loads(kube.ok("get", "cm", "durable", "-o", "json"))["metadata"]
    assert after["uid"] == before["uid"] and after["resourceVersion"] == before["resourceVersion"]
    kube.ok("patch", "cm", "durable", "-p", '{"data":{"x":"z"}}')
    newer = json.loads(kube.ok("get", "cm", "durable", "-o", "json"))["metadata"]
    assert int(newer["resourceVersion"]) > int(before["resourceVersion"])


def test_an_address_given_but_taken_stops_the_daemon(kube: Kube) -> None:
    root = Path(tempfile.mkdtemp(prefix="bt-", dir="/tmp"))
    os.chmod(root, 0o755)
    d = Daemon(root=root, host=f"unix://{root}/d.sock", cgroup_parent=f"baleine-test-{root.name}",
               extra_args=["--ip-forward=false", "--dns", "127.0.0.1", "--registry-hub", "none",
                           "--kube-addr", f"127.0.0.1:{kube.port}"])
    try:
        try:
            d.start()  # the Engine API may answer before the Kubernetes API fails
        except RuntimeError:
            pass
        assert d.proc is not None and d.proc.wait(60) == 1
        assert f"cannot serve the Kubernetes API on 127.0.0.1:{kube.port}" in d.log()
        assert not (d.data_root / "kube" / "kubeconfig").exists()  # nothing written for a taken address
    finally:
        destroy_daemon(d)
