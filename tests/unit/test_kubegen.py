"""The compose → Kubernetes translation of ``baleine kube generate`` (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baleine.compose import loader
from baleine.kubegen import check, containers, pods, translate
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


def test_container_ingress_label_becomes_an_ingress() -> None:
    label = '[{"host":"web.example.test","path":"/","port":8080,"tls":"web-tls"},{"path":"/api","port":8080}]'
    inspect = {"Name": "/web", "Id": "f" * 64, "Image": "sha256:" + "b" * 64,
               "Config": {"Image": "busybox", "Labels": {"io.baleine.ingress": label, "tier": "front"}},
               "HostConfig": {}}
    name, svc = containers.service_of(inspect, None)
    assert svc["expose"] == ["8080/tcp"] and svc["labels"] == {"tier": "front"}
    objects, _ = translate.project_objects(containers.project_of({name: svc}))
    assert check.check_all(objects, "1.32") == []
    ing = [o for o in objects if o["kind"] == "Ingress"][0]
    assert ing["metadata"]["name"] == "web"
    assert ing["spec"]["tls"] == [{"hosts": ["web.example.test"], "secretName": "web-tls"}]
    rules = [(r.get("host"), r["http"]["paths"][0]["path"], r["http"]["paths"][0]["backend"]["service"])
             for r in ing["spec"]["rules"]]
    assert rules == [("web.example.test", "/", {"name": "web", "port": {"number": 8080}}),
                     (None, "/api", {"name": "web", "port": {"number": 8080}})]
    service = [o for o in objects if o["kind"] == "Service"][0]
    assert [p["port"] for p in service["spec"]["ports"]] == [8080]
    bad = {**inspect, "Config": {"Image": "busybox", "Labels": {"io.baleine.ingress": "{not json"}}}
    assert "x-baleine-ingress" not in containers.service_of(bad, None)[1]


# --- pods (``baleine kube generate pod/NAME``) ------------------------------------------

def _listed(name: str, restarts: int, created: int, kind: str = "container", init: bool = False) -> dict[str, Any]:
    labels = {pods.POD_NAME: "web", pods.POD_NAMESPACE: "shop", pods.CONTAINER_NAME: name,
              pods.RESTART_COUNT: str(restarts), pods.TYPE: kind}
    if init:
        labels[pods.INIT] = "true"
    return {"Id": f"{name}-{restarts}", "Config": {"Labels": labels},
            "Created": f"2026-12-04T14:05:01.{created}Z" if created else "2026-12-04T14:05:01Z"}


def test_pod_targets_read_like_kubectl() -> None:
    assert pods.parse_target("pod/web", "") == ("default", "web")
    assert pods.parse_target("pods/web", "shop") == ("shop", "web")
    assert pods.parse_target("po/web", "shop") == ("shop", "web")
    assert pods.parse_target("web", "shop") is None
    assert pods.parse_target("pod/", "shop") is None


def test_pod_of_reads_the_labels() -> None:
    assert pods.pod_of(_listed("app", 0, 1)["Config"]["Labels"]) == ("shop", "web")
    assert pods.pod_of({"io.kubernetes.pod.name": "web"}) is None  # not made by the node agent
    assert pods.pod_of(None) is None


def test_app_containers_groups_latest_restart_in_creation_order() -> None:
    # 14:05:01.1 < .15 (Go trims a fraction's trailing zeros) < .2; a whole second is earliest
    listed = [_listed("sidecar", 0, 15), _listed("app", 1, 2), _listed("app", 0, 1), _listed("POD", 0, 0, "podsandbox"),
              _listed("setup", 0, 0, init=True), _listed("app", 2, 3), _listed("first", 0, 0)]
    got = pods.app_containers(listed)
    assert [c["Id"] for c in got] == ["first-0", "app-2", "sidecar-0"]


def _pod_inspect(name: str, port: str | None) -> dict[str, Any]:
    env = ["PATH=/bin", "MODE=x", "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443",
           "KUBERNETES_SERVICE_PORT_HTTPS=443", "KUBERNETES_PORT=tcp://10.96.0.1:443",
           "KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO=tcp", "APP_PORT=8080"]
    return {"Id": name * 4, "Name": f"/k8s_{name}_web_shop_uid_0",
            "Config": {"Image": "busybox:1.35", "Env": env, "Cmd": ["sh", "-c", name],
                       "Labels": {**_listed(name, 0, 1)["Config"]["Labels"], "tier": "front"},
                       "ExposedPorts": {port: {}} if port else {}},
            "HostConfig": {"NetworkMode": "container:abc"},
            "Mounts": [{"Type": "bind", "Source": "/var/lib/baleine/kube/pods/u1/volumes/kubernetes.io~empty-dir/scratch",
                        "Destination": "/scratch", "RW": True},
                       {"Type": "bind", "Source": "/var/lib/baleine/kube/pods/u1/volumes/kubernetes.io~configmap/conf",
                        "Destination": "/etc/conf", "RW": False}]}


def test_pod_container_service_drops_what_the_node_agent_added() -> None:
    name, svc, warnings = pods.service_of(_pod_inspect("app", "8080/tcp"), {"Config": {"Env": ["PATH=/bin"]}})
    assert name == "app"
    assert svc["environment"] == {"MODE": "x", "APP_PORT": "8080"}
    assert svc["labels"] == {"tier": "front"}
    assert svc["volumes"] == [{"type": "tmpfs", "target": "/scratch", "read_only": False},
                              {"type": "tmpfs", "target": "/etc/conf", "read_only": True}]
    assert warnings == ["service app: pod volume 'conf' (configmap) at /etc/conf becomes an emptyDir: "
                        "its source is not carried"]


def test_pod_objects_one_deployment_all_containers_one_service() -> None:
    services = {}
    for name, port in (("app", "8080/tcp"), ("metrics", "9100/tcp")):
        cname, svc, _ = pods.service_of(_pod_inspect(name, port), None)
        services[cname] = svc
    objects, _ = translate.pod_objects(containers.project_of(services, "web"), "web", "shop")
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [("Service", "web"), ("Deployment", "web")]
    deployment = objects[1]
    assert deployment["spec"]["replicas"] == 1 and deployment["metadata"]["namespace"] == "shop"
    spec = deployment["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["app", "metrics"]
    assert len({v["name"] for v in spec["volumes"]}) == 4  # each container's volumes named apart
    assert {m["name"] for c in spec["containers"] for m in c["volumeMounts"]} == {v["name"] for v in spec["volumes"]}
    assert [p["port"] for p in objects[0]["spec"]["ports"]] == [8080, 9100]
    assert objects[0]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert check.check_all(objects, "1.32") == []


def test_pod_container_ports_are_the_pod_specs() -> None:
    inspect = _pod_inspect("app", "80/tcp")  # the image exposes 80; the pod declares 8080 and 53/UDP
    inspect["Config"]["Labels"][pods.PORTS] = '[{"name":"http","containerPort":8080,"protocol":"TCP"},' \
                                             '{"containerPort":53,"protocol":"UDP"}]'
    _, svc, _ = pods.service_of(inspect, None)
    assert svc["expose"] == ["8080/tcp", "53/udp"]
    assert pods.PORTS not in svc["labels"]
    inspect["Config"]["Labels"][pods.PORTS] = "not json"
    assert pods.service_of(inspect, None)[1]["expose"] == ["80/tcp"]


def test_pod_init_containers_named_and_cpu_request_carried() -> None:
    listed = [_listed("app", 0, 1), _listed("setup", 0, 0, init=True), _listed("setup", 1, 2, init=True)]
    assert pods.init_containers(listed) == ["setup"]
    inspect = _pod_inspect("app", None)
    inspect["HostConfig"]["CpuShares"] = 256  # requests.cpu 250m
    _, svc, _ = pods.service_of(inspect, None)
    objects, _ = translate.pod_objects(containers.project_of({"app": svc}, "web"), "web")
    assert objects[0]["spec"]["template"]["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "250m"}}


def test_image_exposed_ports_give_a_service() -> None:
    from baleine.kubegen import translate

    project = type("P", (), {"services": {"db": {"image": "postgres:15"}}, "name": "p"})()
    objects, _ = translate.project_objects(project, "", {}, {"postgres:15": ["5432/tcp"]})
    services = [o for o in objects if o["kind"] == "Service"]
    assert [(s["metadata"]["name"], s["spec"]["ports"][0]["port"]) for s in services] == [("db", 5432)]
    objects, _ = translate.project_objects(project, "", {}, {})
    assert not [o for o in objects if o["kind"] == "Service"]
