"""Issue 10's acceptance for ``baleine kube generate``: the manifests of a compose project
(2 replicas, a healthcheck, a published port, a named volume, an env_file, a
``service_healthy`` dependency), of a running container and of a two-container pod validate, apply with kubectl
to Baleine's own Kubernetes API, and serve the same app; an untranslatable field is
listed on stderr."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ..conftest import BUSYBOX_TAR
from ..registries import baleine_registry  # noqa: F401 - a fixture
from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL

COMPOSE = """
services:
  web:
    image: busybox:1.35
    command: ["sh", "-c", "echo $$MSG > /www/index.html && exec httpd -f -p 8080 -h /www"]
    env_file: app.env
    ports: ["8080:8080"]
    volumes: ["site:/www"]
    devices: ["/dev/null:/dev/nothing"]
    stop_grace_period: 1s
    deploy: {replicas: 2}
    healthcheck: {test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/"], interval: 1s, retries: 3}
    depends_on: {db: {condition: service_healthy}}
  db:
    image: busybox:1.35
    command: ["sh", "-c", "mkdir -p /d && echo db > /d/index.html && exec httpd -f -p 5432 -h /d"]
    expose: ["5432"]
    stop_grace_period: 1s
    healthcheck: {test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5432/"], interval: 1s}
volumes:
  site: {}
"""


@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    with kube_daemon() as k:
        k.daemon.ok("load", "-i", str(BUSYBOX_TAR))
        yield k


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - our own ClusterIP / loopback
        return r.read().decode().strip()


def answers(k: Kube, service: str, port: int, want: str) -> None:
    """The Service answers ``want`` on its ClusterIP and on its NodePort (127.0.0.1) when it has one."""
    spec = get_json(k, "service", service)["spec"]
    wait_for(lambda: fetch(f"http://{spec['clusterIP']}:{port}/") == want, timeout=60, interval=0.5,
             what=f"{want} behind {service}'s ClusterIP")
    if spec.get("type") == "NodePort":
        node = spec["ports"][0]["nodePort"]
        wait_for(lambda: fetch(f"http://127.0.0.1:{node}/") == want, timeout=30, interval=0.5,
                 what=f"{want} behind {service}'s NodePort {node}")


def test_compose_project_generates_applies_and_serves(kube: Kube, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "app.env").write_text("MSG=hello-from-compose\n")
    r = kube.daemon.cli("kube", "generate", "-f", str(tmp_path / "compose.yaml"), "--project-name", "shop")
    assert r.returncode == 0, r.stderr
    assert 'warning: service web: field "devices" has no Kubernetes equivalent; dropped' in r.stderr
    docs = [d for d in yaml.safe_load_all(r.out) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Deployment", "web"), ("Deployment", "db"), ("Service", "web"), ("Service", "db"),
            ("ConfigMap", "web-env"), ("PersistentVolumeClaim", "site")} <= kinds
    kube.ok("apply", "-f", "-", input=r.out)
    kube.ok("rollout", "status", "deployment/db", "--timeout=90s")
    kube.ok("rollout", "status", "deployment/web", "--timeout=90s")
    pods = get_json(kube, "pods", "-l", "app.kubernetes.io/name=web")["items"]
    assert len(pods) == 2
    assert pods[0]["spec"]["initContainers"][0]["name"] == "wait-db"
    answers(kube, "web", 8080, "hello-from-compose")


def test_running_container_round_trips(kube: Kube) -> None:
    kube.daemon.ok("run", "-d", "--name", "solo", "-p", "8080", "busybox:1.35", "sh", "-c",
                   "mkdir -p /w && echo solo-here > /w/index.html && exec httpd -f -p 8080 -h /w")
    r = kube.daemon.cli("kube", "generate", "--format", "json", "solo")
    assert r.returncode == 0, r.stderr
    assert "no registry digest" in r.stderr  # a loaded image has no RepoDigest: the tag is used, said
    items = json.loads(r.out)["items"]
    deployment = next(o for o in items if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.35"
    kube.ok("apply", "-f", "-", input=r.out)
    kube.ok("rollout", "status", "deployment/solo", "--timeout=90s")
    answers(kube, "solo", 8080, "solo-here")


def test_invalid_output_prints_nothing(kube: Kube, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        # a port compose takes but no Service may have (a bad x-baleine-autoscale is refused at load)
        "services:\n  x:\n    image: busybox\n    expose: [\"70000\"]\n")
    r = kube.daemon.cli("kube", "generate", "-f", str(tmp_path / "compose.yaml"))
    assert r.returncode == 1 and r.out == ""
    assert "Service/x" in r.stderr and "70000" in r.stderr


def test_push_pins_the_image_by_digest(kube: Kube, tmp_path: Path, baleine_registry) -> None:  # noqa: ANN001, F811
    ref = f"127.0.0.1:{baleine_registry.port}/gen/busybox:1"
    kube.daemon.ok("tag", "busybox:1.35", ref)
    (tmp_path / "compose.yaml").write_text(f"services:\n  app:\n    image: {ref}\n")
    r = kube.daemon.cli("kube", "generate", "--push", "-f", str(tmp_path / "compose.yaml"))
    assert r.returncode == 0, r.stderr
    assert "no registry digest" not in r.stderr
    image = next(d for d in yaml.safe_load_all(r.out) if d["kind"] == "Deployment")[
        "spec"]["template"]["spec"]["containers"][0]["image"]
    digests = json.loads(kube.daemon.ok("image", "inspect", "--format", "{{json .RepoDigests}}", ref))
    assert image.startswith(f"127.0.0.1:{baleine_registry.port}/gen/busybox@sha256:") and image in digests


POD = """
apiVersion: v1
kind: Pod
metadata: {name: duo, namespace: gen-src}
spec:
  terminationGracePeriodSeconds: 1
  initContainers: [{name: setup, image: "busybox:1.35", command: ["true"]}]
  containers:
  - name: web
    image: busybox:1.35
    command: ["sh", "-c", "mkdir -p /w && echo $MSG > /w/index.html && exec httpd -f -p 8080 -h /w"]
    env: [{name: MSG, value: duo-here}]
    ports: [{containerPort: 8080}]
  - name: side
    image: busybox:1.35
    command: ["sh", "-c", "mkdir -p /s && echo side-here > /s/index.html && exec httpd -f -p 9090 -h /s"]
    ports: [{containerPort: 9090}]
"""


def test_pod_generates_one_deployment_and_runs_again(kube: Kube) -> None:
    kube.ok("create", "namespace", "gen-src")
    kube.ok("apply", "-f", "-", input=POD)
    kube.ok("wait", "-n", "gen-src", "--for=condition=Ready", "pod/duo", "--timeout=90s")
    sandbox = kube.daemon.ok("ps", "-q", "--filter", "label=io.kubernetes.pod.name=duo",
                             "--filter", "label=io.kubernetes.container.name=web").split()
    assert len(sandbox) == 1
    alone = kube.daemon.cli("kube", "generate", sandbox[0])  # one container of the pod: said so
    assert alone.returncode == 0, alone.stderr
    assert "is container 'web' of pod gen-src/duo" in alone.stderr and "pod/duo -n gen-src" in alone.stderr

    assert kube.daemon.cli("kube", "generate", "pod/duo").returncode == 1  # not in the default namespace
    r = kube.daemon.cli("kube", "generate", "pod/duo", "-n", "gen-src")
    assert r.returncode == 0, r.stderr
    assert "warning: pod gen-src/duo: init container 'setup' is not carried" in r.stderr
    docs = [d for d in yaml.safe_load_all(r.out) if d]
    assert [(d["kind"], d["metadata"]["name"], d["metadata"]["namespace"]) for d in docs] == [
        ("Service", "duo", "gen-src"), ("Deployment", "duo", "gen-src")]
    service, deployment = docs
    spec = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 1
    assert [c["name"] for c in spec["containers"]] == ["web", "side"]
    web = spec["containers"][0]
    assert web["env"] == [{"name": "MSG", "value": "duo-here"}]  # no Service link variables
    assert [p["port"] for p in service["spec"]["ports"]] == [8080, 9090]

    # Renamed, into another namespace: it runs again and its one Service reaches both containers.
    kube.ok("create", "namespace", "gen-dst")
    for d in docs:
        d["metadata"]["name"], d["metadata"]["namespace"] = "duo2", "gen-dst"
        d["metadata"]["labels"] = {"app.kubernetes.io/name": "duo2"}
        d["spec"]["selector"] = ({"matchLabels": {"app.kubernetes.io/name": "duo2"}} if d["kind"] == "Deployment"
                                 else {"app.kubernetes.io/name": "duo2"})
    deployment["spec"]["template"]["metadata"]["labels"] = {"app.kubernetes.io/name": "duo2"}
    kube.ok("apply", "-f", "-", input="---\n".join(yaml.safe_dump(d) for d in docs))
    kube.ok("rollout", "status", "-n", "gen-dst", "deployment/duo2", "--timeout=90s")
    ip = get_json(kube, "-n", "gen-dst", "service", "duo2")["spec"]["clusterIP"]
    wait_for(lambda: fetch(f"http://{ip}:8080/") == "duo-here", timeout=60, interval=0.5, what="web behind duo2")
    wait_for(lambda: fetch(f"http://{ip}:9090/") == "side-here", timeout=30, interval=0.5, what="side behind duo2")
