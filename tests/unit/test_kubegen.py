"""The compose → Kubernetes translation of ``baleine kube generate`` (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baleine.compose import loader
from baleine.kubegen import check, containers, translate
from baleine.kubegen.names import dns_label

COMPOSE = """
services:
  Web_App:
    image: nginx:1.27
    entrypoint: ["/docker-entrypoint.sh"]
    command: ["nginx", "-g", "daemon off;"]
    ports: ["30080:80"]
    expose: ["9000"]
    environment: {MODE: prod}
    env_file: app.env
    working_dir: /srv
    user: "1000:1000"
    labels: {tier: front}
    stop_grace_period: 20s
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    read_only: true
    tmpfs: [/run]
    devices: ["/dev/null:/dev/x"]
    deploy:
      replicas: 3
      update_config: {parallelism: 2, order: start-first}
      resources: {limits: {cpus: "0.5", memory: 128M}, reservations: {cpus: "0.25", memory: 64M}}
    healthcheck: {test: ["CMD", "curl", "-f", "http://localhost"], interval: 5s, timeout: 2s, retries: 4,
                  start_period: 20s}
    volumes: ["data:/data", "./site:/usr/share/nginx/html:ro"]
    configs: [{source: conf, target: /etc/app/app.conf}]
    secrets: [token]
    depends_on: {db: {condition: service_healthy}}
    x-baleine-ingress: {host: shop.example.com, path: /, tls: shop-tls}
    x-baleine-autoscale: {min: 2, max: 5, cpu: 70}
  db:
    image: busybox
    expose: ["5432"]
    healthcheck: {test: ["CMD-SHELL", "nc -z localhost 5432"]}
volumes:
  data: {labels: {io.baleine.kube.size: 5Gi}}
configs:
  conf: {content: "key=value"}
secrets:
  token: {file: ./token.txt}
"""


def _generate(tmp_path: Path) -> tuple[dict[tuple[str, str], Any], list[str]]:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "app.env").write_text("FROM_FILE=1\n")
    (tmp_path / "token.txt").write_text("s3cret")
    project = loader.load(loader.Options(files=[str(tmp_path / "compose.yaml")], project_name="shop",
                                         environ={}))
    objects, warnings = translate.project_objects(project, "prod", {"nginx:1.27": "nginx@sha256:" + "a" * 64})
    assert check.check_all(objects, "1.32") == []
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}, warnings


def test_deployment_carries_every_translated_field(tmp_path: Path) -> None:
    objs, _ = _generate(tmp_path)
    d = objs[("Deployment", "web-app")]
    assert d["metadata"]["namespace"] == "prod"
    assert d["spec"]["replicas"] == 3
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0}}
    pod = d["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 20
    c = pod["containers"][0]
    assert c["image"] == "nginx@sha256:" + "a" * 64
    assert c["command"] == ["/docker-entrypoint.sh"] and c["args"] == ["nginx", "-g", "daemon off;"]
    assert c["workingDir"] == "/srv"
    assert c["env"] == [{"name": "MODE", "value": "prod"}]
    assert c["envFrom"] == [{"configMapRef": {"name": "web-app-env"}}]
    assert c["resources"] == {"limits": {"cpu": "500m", "memory": str(128 << 20)},
                              "requests": {"cpu": "250m", "memory": str(64 << 20)}}
    assert c["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000, "readOnlyRootFilesystem": True,
                                    "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}
    assert c["readinessProbe"] == {"exec": {"command": ["curl", "-f", "http://localhost"]}, "periodSeconds": 5,
                                   "timeoutSeconds": 2, "failureThreshold": 4}
    assert c["livenessProbe"] == c["readinessProbe"]
    assert c["startupProbe"]["failureThreshold"] == 4  # 20 s of start period at 5 s
    assert d["spec"]["template"]["metadata"]["labels"]["tier"] == "front"
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: vols[m["name"]] for m in c["volumeMounts"]}
    assert mounts["/data"]["persistentVolumeClaim"] == {"claimName": "data"}
    assert "hostPath" in mounts["/usr/share/nginx/html"]
    assert mounts["/run"]["emptyDir"] == {"medium": "Memory"}
    assert mounts["/etc/app/app.conf"]["configMap"] == {"name": "config-conf"}
    assert mounts["/run/secrets/token"]["secret"] == {"secretName": "secret-token"}
    init = pod["initContainers"][0]
    assert init["name"] == "wait-db" and "until ok db 5432;" in init["command"][-1]


def test_side_objects(tmp_path: Path) -> None:
    objs, _ = _generate(tmp_path)
    assert objs[("ConfigMap", "web-app-env")]["data"] == {"FROM_FILE": "1"}
    assert objs[("ConfigMap", "config-conf")]["data"] == {"app.conf": "key=value"}
    assert objs[("Secret", "secret-token")]["stringData"] == {"token": "s3cret"}
    pvc = objs[("PersistentVolumeClaim", "data")]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "5Gi"
    web = objs[("Service", "web-app")]["spec"]
    assert web["type"] == "NodePort"
    assert [(p["port"], p.get("nodePort")) for p in web["ports"]] == [(80, 30080), (9000, None)]
    db = objs[("Service", "db")]["spec"]
    assert "type" not in db and db["ports"][0]["port"] == 5432  # ClusterIP: the name db keeps resolving
    ing = objs[("Ingress", "web-app")]["spec"]
    assert ing["rules"][0]["host"] == "shop.example.com"
    assert ing["rules"][0]["http"]["paths"][0]["pathType"] == "Prefix"
    assert ing["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    hpa = objs[("HorizontalPodAutoscaler", "web-app")]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_every_dropped_field_and_conversion_is_said(tmp_path: Path) -> None:
    _, warnings = _generate(tmp_path)
    assert 'service Web_App: field "devices" has no Kubernetes equivalent; dropped' in warnings
    assert any("Web_App: name converted" in w and "web-app" in w for w in warnings)
    assert any("bind mount" in w and "hostPath" in w for w in warnings)


def test_stop_first_update_and_names() -> None:
    assert translate._strategy({"parallelism": 1}) == {"type": "RollingUpdate",
                                                        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert dns_label("My_Service.v2") == "my-service-v2"


def test_checks_catch_what_the_api_server_refuses() -> None:
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "Bad_Name"},
           "spec": {"selector": {"matchLabels": {"a": "1"}},
                    "template": {"metadata": {"labels": {"a": "2"}}, "spec": {"containers": [{"name": "c",
                                                                                            "image": "x"}]}}}}
    problems = check.check_all([bad], "1.32")
    assert any("DNS-1123" in p for p in problems) and any("selector" in p for p in problems)
    unknown = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "bogus": 1}
    assert check.check_all([unknown], "1.32")


def test_container_inspect_becomes_a_service() -> None:
    inspect = {"Name": "/web", "Id": "f" * 64, "Image": "sha256:" + "b" * 64,
               "Config": {"Image": "busybox", "Cmd": ["httpd", "-f"], "Env": ["PATH=/bin", "A=1"],
                          "ExposedPorts": {"80/tcp": {}}},
               "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "30081"}]}, "Devices": [{"PathOnHost": "/x"}]},
               "Mounts": [{"Type": "volume", "Name": "v", "Destination": "/v", "RW": True}]}
    name, svc = containers.service_of(inspect, {"Config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}})
    objects, warnings = translate.project_objects(containers.project_of({name: svc}))
    assert check.check_all(objects, "1.32") == []
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {("Deployment", "web"), ("Service", "web"), ("PersistentVolumeClaim", "v")} <= kinds
    c = [o for o in objects if o["kind"] == "Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == ["httpd", "-f"] and c["env"] == [{"name": "A", "value": "1"}]
    assert 'service web: field "devices" has no Kubernetes equivalent; dropped' in warnings
