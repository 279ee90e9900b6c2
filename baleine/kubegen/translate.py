"""Compose services → Kubernetes objects (Deployments, Services, ConfigMaps, PVCs, ...).

Contract: ``project_objects(project, namespace, images)`` returns ``(objects, warnings)``.
Objects are plain dicts in apply order (ConfigMaps/Secrets/PVCs, Services, Deployments,
Ingresses, HPAs). Every compose field without a translation gives one warning
``service web: field "devices" has no Kubernetes equivalent; dropped`` — never silence.
Choices (documented in docs/DESIGN.md, "kube generate"):
- every service with ``ports`` or ``expose`` (else its image's ``ExposedPorts``) gets a
  Service named after it so cluster DNS names keep working; published ports make it
  ``type: NodePort`` (nodePort = published port when it lies in 30000-32767, else the
  cluster assigns one and a warning says so);
- ``depends_on`` becomes one busybox init container per dependency that waits until the
  dependency's Service answers (``nc -z``); a dependency without ports cannot be waited
  for and is warned about;
- ``env_file`` entries become a ConfigMap ``<service>-env`` used through ``envFrom``.
"""

from __future__ import annotations

import re
from typing import Any

from ..compose import dotenv
from ..compose.normalize import duration_ns
from .names import dns_label

Obj = dict[str, Any]

# Fields the translation reads; any other one is reported.
HANDLED = {
    "image", "command", "entrypoint", "environment", "env_file", "working_dir", "user", "labels", "ports",
    "expose", "deploy", "scale", "cpus", "mem_limit", "mem_reservation", "stop_grace_period", "cap_add",
    "cap_drop", "read_only", "tmpfs", "healthcheck", "depends_on", "volumes", "configs", "secrets",
    "x-baleine-ingress", "x-baleine-autoscale", "networks", "container_name", "hostname", "restart",
    "tty", "stdin_open", "privileged",
}
DEPLOY_HANDLED = {"replicas", "resources", "update_config", "labels", "restart_policy", "mode"}
WAIT_IMAGE = "busybox:1.35"
DEFAULT_VOLUME_SIZE = "1Gi"
SIZE_LABEL = "io.baleine.kube.size"
# Waits until HOST PORT accepts a TCP connection: ``nc -z`` where the busybox has it,
# else a plain connect (nc exits 1 when refused; 0 or killed by timeout once connected).
WAIT_SCRIPT = ('ok() {{ nc -z -w 2 "$1" "$2" </dev/null 2>/dev/null && return 0; '
               'timeout 3 nc -w 2 "$1" "$2" </dev/null >/dev/null 2>&1; rc=$?; [ $rc = 0 ] || [ $rc = 143 ]; }}; '
               'until ok {host} {port}; do echo waiting for {host}:{port}; sleep 1; done')


def project_objects(project: Any, namespace: str = "", images: dict[str, str] | None = None,
                    exposed: dict[str, list[str]] | None = None) -> tuple[list[Obj], list[str]]:
    """The objects for every enabled service of ``project``; ``images`` maps a service's
    image reference to the one to print (a digest reference), ``exposed`` to its image's
    exposed ports (``"5432/tcp"``), the ports of a service that declares none."""
    out = _Out(namespace, images or {})
    ports = {name: _service_ports(svc) or _image_ports((exposed or {}).get(str(svc.get("image")), []))
             for name, svc in project.services.items()}
    for name, svc in project.services.items():
        _service(out, project, name, svc, ports)
    return out.ordered(), out.warnings


def pod_objects(project: Any, name: str, namespace: str = "", images: dict[str, str] | None = None
                ) -> tuple[list[Obj], list[str]]:
    """One Deployment ``name`` (replicas 1) whose pod template runs every service of
    ``project`` as one container (they share the pod's network, as a pod's containers do),
    and one Service for the union of their ports. Volume names are prefixed by their
    container's name so that two containers' volumes never collide."""
    out = _Out(namespace, images or {})
    kname = dns_label(name)
    if kname != name:
        out.warn(name, f"name converted to DNS-1123 label {kname!r}")
    selector = {"app.kubernetes.io/name": kname}
    spec: Obj = {"containers": []}
    ports: dict[tuple[int, str], Obj] = {}
    for cname, svc in project.services.items():
        _unhandled(out, cname, svc)
        container, volumes = _container(out, project, cname, svc)
        prefix = dns_label(cname)
        for v in volumes:
            v["name"] = f"{prefix}-{v['name']}"[:63]
        for m in container.get("volumeMounts") or []:
            m["name"] = f"{prefix}-{m['name']}"[:63]
        spec["containers"].append(container)
        spec.setdefault("volumes", []).extend(volumes)
        for p in _service_ports(svc):
            ports.setdefault((p["target"], p["protocol"]), p)
    if not spec.get("volumes"):
        spec.pop("volumes", None)
    out.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(kname, dict(selector)),
             "spec": {"replicas": 1, "selector": {"matchLabels": dict(selector)},
                      "template": {"metadata": {"labels": dict(selector)}, "spec": spec}}})
    if ports:
        out.add(_k8s_service(out, name, kname, {}, list(ports.values()), selector))
    return out.ordered(), out.warnings


def _unhandled(out: _Out, name: str, svc: Obj) -> None:
    """One warning per compose field the translation drops."""
    for field in sorted(set(svc) - HANDLED):
        out.warn(name, f'field "{field}" has no Kubernetes equivalent; dropped')
    for field in sorted(set(svc.get("deploy") or {}) - DEPLOY_HANDLED):
        out.warn(name, f'field "deploy.{field}" has no Kubernetes equivalent; dropped')


class _Out:
    """Objects and warnings being gathered."""

    def __init__(self, namespace: str, images: dict[str, str]) -> None:
        self.namespace = namespace
        self.images = images
        self.objects: list[Obj] = []
        self.warnings: list[str] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, obj: Obj) -> None:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in self.seen:
            return
        self.seen.add(key)
        if self.namespace:
            obj["metadata"]["namespace"] = self.namespace
        self.objects.append(obj)

    def warn(self, service: str, text: str) -> None:
        self.warnings.append(f"service {service}: {text}")

    def ordered(self) -> list[Obj]:
        rank = {"ConfigMap": 0, "Secret": 0, "PersistentVolumeClaim": 1, "Service": 2, "Deployment": 3,
                "Ingress": 4, "HorizontalPodAutoscaler": 5}
        return sorted(self.objects, key=lambda o: rank.get(o["kind"], 9))


def _meta(name: str, labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name}
    if labels:
        meta["labels"] = labels
    return meta


def _service(out: _Out, project: Any, name: str, svc: Obj, ports: dict[str, list[Obj]]) -> None:
    """Translate one compose service."""
    kname = dns_label(name)
    if kname != name:
        out.warn(name, f"name converted to DNS-1123 label {kname!r}")
    _unhandled(out, name, svc)
    selector = {"app.kubernetes.io/name": kname}
    if project.name:
        selector["app.kubernetes.io/instance"] = dns_label(project.name)
    pod = _pod_spec(out, project, name, svc, ports)
    labels = {**_labels(svc.get("labels")), **selector}
    deployment: Obj = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(kname, labels),
        "spec": {"replicas": _replicas(svc), "selector": {"matchLabels": dict(selector)},
                 "template": {"metadata": {"labels": labels}, "spec": pod}},
    }
    strategy = _strategy((svc.get("deploy") or {}).get("update_config"))
    if strategy:
        deployment["spec"]["strategy"] = strategy
    out.add(deployment)
    if ports[name]:
        out.add(_k8s_service(out, name, kname, svc, ports[name], selector))
    _ingress(out, name, kname, svc.get("x-baleine-ingress"), ports[name])
    _autoscaler(out, name, kname, svc.get("x-baleine-autoscale"))


def _labels(labels: Any) -> dict[str, str]:
    """Compose labels usable as Kubernetes labels (balancer labels of replicas left out)."""
    if not isinstance(labels, dict):
        return {}
    ok = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
    val = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
    return {k: str(v) for k, v in labels.items()
            if not k.startswith("io.baleine.balance") and ok.match(k) and val.match(str(v or ""))}


def _replicas(svc: Obj) -> int:
    deploy = svc.get("deploy") or {}
    if deploy.get("replicas") is not None:
        return int(deploy["replicas"])
    return int(svc.get("scale") or 1)


def _strategy(update: Obj | None) -> Obj | None:
    """update_config → RollingUpdate: start-first surges by ``parallelism`` keeping all
    old pods, stop-first (compose's default) removes ``parallelism`` before adding."""
    if not update:
        return None
    step = int(update.get("parallelism") or 1) or 1
    if update.get("order") == "start-first":
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": step, "maxUnavailable": 0}}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": step}}


def _seconds(value: Any) -> int:
    """A compose duration as whole seconds (at least 1)."""
    if value is None:
        return 0
    return max(1, round(duration_ns(str(value)) / 1e9))


def _pod_spec(out: _Out, project: Any, name: str, svc: Obj, ports: dict[str, list[Obj]]) -> Obj:
    container, volumes = _container(out, project, name, svc)
    spec: Obj = {"containers": [container]}
    init = _waits(out, name, svc.get("depends_on") or {}, ports)
    if init:
        spec["initContainers"] = init
    if volumes:
        spec["volumes"] = volumes
    if svc.get("stop_grace_period") is not None:
        spec["terminationGracePeriodSeconds"] = _seconds(svc["stop_grace_period"])
    if svc.get("hostname"):
        spec["hostname"] = dns_label(svc["hostname"])
    restart = svc.get("restart") or ""
    if restart and restart not in ("always", "unless-stopped"):
        out.warn(name, f'field "restart" value {restart!r} has no Deployment equivalent (pods always restart); dropped')
    return spec


def _container(out: _Out, project: Any, name: str, svc: Obj) -> tuple[Obj, list[Obj]]:
    image = str(svc.get("image") or "")
    if not image:
        out.warn(name, "no image (build only): build and push it, then generate again")
    c: Obj = {"name": dns_label(name), "image": out.images.get(image, image)}
    if svc.get("entrypoint") is not None:
        c["command"] = list(svc["entrypoint"])
    if svc.get("command") is not None:
        c["args"] = list(svc["command"])
    if svc.get("working_dir"):
        c["workingDir"] = svc["working_dir"]
    env, env_from = _environment(out, project, name, svc)
    if env:
        c["env"] = env
    if env_from:
        c["envFrom"] = env_from
    ports = [{"containerPort": p["target"], "protocol": p["protocol"].upper()} for p in _service_ports(svc)]
    if ports:
        c["ports"] = ports
    resources = _resources(svc)
    if resources:
        c["resources"] = resources
    security = _security(out, name, svc)
    if security:
        c["securityContext"] = security
    c.update(_probes(svc.get("healthcheck")))
    if svc.get("tty"):
        c["tty"] = True
    if svc.get("stdin_open"):
        c["stdin"] = True
    mounts, volumes = _volumes(out, project, name, svc)
    if mounts:
        c["volumeMounts"] = mounts
    return c, volumes


def _environment(out: _Out, project: Any, name: str, svc: Obj) -> tuple[list[Obj], list[Obj]]:
    """The service's environment: env_file keys (unchanged by ``environment``) go to a
    ConfigMap ``<service>-env`` read through envFrom, the rest to ``env``."""
    environment = {k: v for k, v in (svc.get("environment") or {}).items() if v is not None}
    from_files: dict[str, str] = {}
    for entry in svc.get("env_file") or []:
        path = entry["path"] if isinstance(entry, dict) else str(entry)
        try:
            from_files.update(dotenv.read(path))
        except OSError:
            continue
    data = {k: str(v) for k, v in from_files.items() if environment.get(k) == v}
    env = [{"name": k, "value": str(v)} for k, v in environment.items() if k not in data]
    env_from: list[Obj] = []
    if data:
        cm = f"{dns_label(name)}-env"
        out.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(cm), "data": data})
        env_from.append({"configMapRef": {"name": cm}})
    return env, env_from


def _resources(svc: Obj) -> Obj:
    res = (svc.get("deploy") or {}).get("resources") or {}
    limits = dict(res.get("limits") or {})
    requests = dict(res.get("reservations") or {})
    if svc.get("cpus"):
        limits.setdefault("cpus", svc["cpus"])
    if svc.get("mem_limit"):
        limits.setdefault("memory", svc["mem_limit"])
    if svc.get("mem_reservation"):
        requests.setdefault("memory", svc["mem_reservation"])
    out: Obj = {}
    for key, src in (("limits", limits), ("requests", requests)):
        q: Obj = {}
        if src.get("cpus"):
            q["cpu"] = f"{round(float(src['cpus']) * 1000)}m"
        if src.get("memory"):
            q["memory"] = str(int(src["memory"]))
        if q:
            out[key] = q
    return out


def _security(out: _Out, name: str, svc: Obj) -> Obj:
    sec: Obj = {}
    user = str(svc.get("user") or "")
    if user:
        uid, _, gid = user.partition(":")
        if uid.isdigit():
            sec["runAsUser"] = int(uid)
            if gid.isdigit():
                sec["runAsGroup"] = int(gid)
        else:
            out.warn(name, f'field "user" {user!r} is not numeric: runAsUser needs a uid; dropped')
    caps: Obj = {}
    if svc.get("cap_add"):
        caps["add"] = [c.upper().removeprefix("CAP_") for c in svc["cap_add"]]
    if svc.get("cap_drop"):
        caps["drop"] = [c.upper().removeprefix("CAP_") for c in svc["cap_drop"]]
    if caps:
        sec["capabilities"] = caps
    if svc.get("read_only"):
        sec["readOnlyRootFilesystem"] = True
    if svc.get("privileged"):
        sec["privileged"] = True
    return sec


def _probes(health: Obj | None) -> Obj:
    """healthcheck → readiness and liveness probes (and a startup probe covering
    start_period): CMD → exec, CMD-SHELL → ``/bin/sh -c``."""
    if not health or health.get("disable"):
        return {}
    test = list(health.get("test") or [])
    if not test or test[0] == "NONE":
        return {}
    if test[0] == "CMD-SHELL":
        command = ["/bin/sh", "-c", " ".join(test[1:])]
    elif test[0] == "CMD":
        command = test[1:]
    else:
        command = ["/bin/sh", "-c", " ".join(test)]
    probe: Obj = {"exec": {"command": command},
                  "periodSeconds": _seconds(health.get("interval") or "30s"),
                  "timeoutSeconds": _seconds(health.get("timeout") or "30s"),
                  "failureThreshold": int(health.get("retries") or 3)}
    probes = {"readinessProbe": dict(probe), "livenessProbe": dict(probe)}
    if health.get("start_period"):
        period = probe["periodSeconds"]
        probes["startupProbe"] = {**probe, "failureThreshold": max(1, -(-_seconds(health["start_period"]) // period))}
    return probes


def _service_ports(svc: Obj) -> list[Obj]:
    """``ports`` and ``expose`` as {target, published, protocol}, one per container port."""
    seen: dict[tuple[int, str], Obj] = {}
    for p in svc.get("ports") or []:
        key = (int(p["target"]), str(p.get("protocol") or "tcp"))
        seen.setdefault(key, {"target": key[0], "protocol": key[1], "published": p.get("published")})
    for e in svc.get("expose") or []:
        port, _, proto = str(e).partition("/")
        lo, _, hi = port.partition("-")
        for n in range(int(lo), int(hi or lo) + 1):
            seen.setdefault((n, proto or "tcp"), {"target": n, "protocol": proto or "tcp", "published": None})
    return list(seen.values())


def _image_ports(exposed: list[str]) -> list[Obj]:
    """An image's ``ExposedPorts`` keys as ports: on a compose network other services reach
    them without ``ports`` or ``expose``, so the cluster gets a Service for them too."""
    out = []
    for key in exposed:
        port, _, proto = key.partition("/")
        if port.isdigit():
            out.append({"target": int(port), "protocol": proto or "tcp", "published": None})
    return out


def _k8s_service(out: _Out, name: str, kname: str, svc: Obj, ports: list[Obj], selector: dict[str, str]) -> Obj:
    published = any(p["published"] for p in ports)
    specs = []
    for p in ports:
        sp: Obj = {"name": f"{p['protocol']}-{p['target']}", "port": p["target"], "targetPort": p["target"],
                   "protocol": p["protocol"].upper()}
        if p["published"]:
            node = int(str(p["published"]).split("-")[0])
            if 30000 <= node <= 32767:
                sp["nodePort"] = node
            else:
                out.warn(name, f"published port {node} is outside the NodePort range 30000-32767: "
                               "the cluster assigns the node port")
        specs.append(sp)
    spec: Obj = {"selector": dict(selector), "ports": specs}
    if published:
        spec["type"] = "NodePort"
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(kname, {"app.kubernetes.io/name": kname}),
            "spec": spec}


def _waits(out: _Out, name: str, depends: Obj, ports: dict[str, list[Obj]]) -> list[Obj]:
    """An init container per dependency waiting for its Service to accept connections;
    ``service_healthy`` is met too since a Service only routes to Ready pods (whose
    readiness probe is the dependency's healthcheck)."""
    init = []
    for dep, cond in depends.items():
        tcp = [p for p in ports.get(dep, []) if p["protocol"] == "tcp"]
        if not tcp:
            out.warn(name, f'depends_on "{dep}": it has no TCP port to wait for; dropped')
            continue
        if (cond or {}).get("condition") == "service_completed_successfully":
            out.warn(name, f'depends_on "{dep}": condition service_completed_successfully becomes a wait '
                           "for its Service")
        host, port = dns_label(dep), tcp[0]["target"]
        init.append({"name": f"wait-{host}"[:63], "image": WAIT_IMAGE,
                     "command": ["/bin/sh", "-c", WAIT_SCRIPT.format(host=host, port=port)]})
    return init


def _volumes(out: _Out, project: Any, name: str, svc: Obj) -> tuple[list[Obj], list[Obj]]:
    mounts: list[Obj] = []
    volumes: list[Obj] = []
    for i, v in enumerate(svc.get("volumes") or []):
        kind, target = v.get("type"), v["target"]
        vname = f"vol-{i}"
        if kind == "volume" and v.get("source"):
            claim = dns_label(v["source"])
            top = (project.volumes or {}).get(v["source"]) or {}
            size = (top.get("labels") or {}).get(SIZE_LABEL, DEFAULT_VOLUME_SIZE)
            out.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta(claim),
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}})
            volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": claim}})
        elif kind == "bind":
            out.warn(name, f"bind mount {v.get('source')} → hostPath: the path must exist on the cluster's nodes")
            volumes.append({"name": vname, "hostPath": {"path": v["source"]}})
        elif kind == "tmpfs" or kind == "volume":
            volumes.append({"name": vname, "emptyDir": {}})
        else:
            out.warn(name, f'volume of type "{kind}" at {target} has no Kubernetes equivalent; dropped')
            continue
        mount: Obj = {"name": vname, "mountPath": target}
        if v.get("read_only"):
            mount["readOnly"] = True
        mounts.append(mount)
    for i, t in enumerate(svc.get("tmpfs") or []):
        vname = f"tmpfs-{i}"
        volumes.append({"name": vname, "emptyDir": {"medium": "Memory"}})
        mounts.append({"name": vname, "mountPath": str(t).split(":")[0]})
    for key, kind in (("configs", "ConfigMap"), ("secrets", "Secret")):
        for i, ref in enumerate(svc.get(key) or []):
            m, vol = _file_object(out, project, name, key, kind, ref, i)
            if m:
                mounts.append(m)
                volumes.append(vol)
    return mounts, volumes


def _file_object(out: _Out, project: Any, name: str, key: str, kind: str, ref: Any, i: int
                 ) -> tuple[Obj | None, Obj]:
    """A compose config/secret as a ConfigMap/Secret with one key, mounted at its path."""
    source = ref["source"] if isinstance(ref, dict) else str(ref)
    top = (getattr(project, key) or {}).get(source) or {}
    default = f"/{source}" if key == "configs" else f"/run/secrets/{source}"
    target = (ref.get("target") if isinstance(ref, dict) else None) or default
    if not target.startswith("/"):
        target = f"/run/secrets/{target}"
    if top.get("file"):
        try:
            with open(top["file"]) as f:
                content = f.read()
        except OSError as e:
            out.warn(name, f"{key[:-1]} {source}: cannot read {top['file']}: {e}; dropped")
            return None, {}
    elif "content" in top:
        content = str(top["content"])
    elif top.get("environment"):
        content = project.environment.get(top["environment"], "")
    else:
        out.warn(name, f"{key[:-1]} {source}: external, create the {kind} yourself")
        content = None
    oname = dns_label(f"{key[:-1]}-{source}")
    filename = target.rsplit("/", 1)[1] or "value"
    if content is not None:
        field = "data" if kind == "ConfigMap" else "stringData"
        out.add({"apiVersion": "v1", "kind": kind, "metadata": _meta(oname), field: {filename: content}})
    vname = f"{key}-{i}"
    source_field = {"configMap": {"name": oname}} if kind == "ConfigMap" else {"secret": {"secretName": oname}}
    return {"name": vname, "mountPath": target, "subPath": filename, "readOnly": True}, {"name": vname,
                                                                                         **source_field}


def _ingress(out: _Out, name: str, kname: str, spec: Any, ports: list[Obj]) -> None:
    """x-baleine-ingress {host, path, tls} (or a list of them) → one Ingress, Prefix paths."""
    if not spec:
        return
    entries = spec if isinstance(spec, list) else [spec]
    if not ports:
        out.warn(name, "x-baleine-ingress needs a port on the service; dropped")
        return
    port = ports[0]["target"]
    rules: list[Obj] = []
    tls: list[Obj] = []
    for e in entries:
        path = {"path": e.get("path") or "/", "pathType": "Prefix",
                "backend": {"service": {"name": kname, "port": {"number": int(e.get("port") or port)}}}}
        rule: Obj = {"http": {"paths": [path]}}
        if e.get("host"):
            rule["host"] = e["host"]
        rules.append(rule)
        if e.get("tls"):
            tls.append({"hosts": [e["host"]] if e.get("host") else [], "secretName": e["tls"]})
    ing: Obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta(kname),
                "spec": {"rules": rules}}
    if tls:
        ing["spec"]["tls"] = tls
    out.add(ing)


def _autoscaler(out: _Out, name: str, kname: str, spec: Any) -> None:
    """x-baleine-autoscale {min, max, cpu, behavior} → HorizontalPodAutoscaler autoscaling/v2."""
    if not spec:
        return
    hpa: Obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta(kname),
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": kname},
                         "minReplicas": int(spec.get("min") or 1), "maxReplicas": int(spec.get("max") or 1)}}
    if spec.get("cpu") is not None:
        hpa["spec"]["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": int(spec["cpu"])}}}]
    if spec.get("behavior"):
        hpa["spec"]["behavior"] = spec["behavior"]
    out.add(hpa)
