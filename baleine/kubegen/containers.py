"""A running container's inspect as a compose-shaped service, so that ``baleine kube
generate NAME`` shares the compose translation. Only what the Engine API reports and
differs from the image's defaults is carried; the image's own Cmd/Entrypoint/Env stay
with the image. A container's ``io.baleine.ingress`` label (its routes through the
ingress proxy) becomes the service's ``x-baleine-ingress``, hence an Ingress."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ..kube.ingress import label as ingress_label

Obj = dict[str, Any]


def service_of(inspect: Obj, image: Obj | None = None) -> tuple[str, Obj]:
    """(service name, compose-shaped service) for a container inspect; ``image`` is the
    image's inspect, used to leave out what the image already says."""
    cfg, host = inspect.get("Config") or {}, inspect.get("HostConfig") or {}
    icfg = (image or {}).get("Config") or {}
    svc: Obj = {"image": cfg.get("Image") or inspect.get("Image")}
    if cfg.get("Entrypoint") and cfg.get("Entrypoint") != icfg.get("Entrypoint"):
        svc["entrypoint"] = list(cfg["Entrypoint"])
    if cfg.get("Cmd") and cfg.get("Cmd") != icfg.get("Cmd"):
        svc["command"] = list(cfg["Cmd"])
    base = set(icfg.get("Env") or [])
    env = dict(e.split("=", 1) for e in cfg.get("Env") or [] if e not in base and "=" in e)
    if env:
        svc["environment"] = env
    if cfg.get("WorkingDir") and cfg.get("WorkingDir") != icfg.get("WorkingDir"):
        svc["working_dir"] = cfg["WorkingDir"]
    if cfg.get("User"):
        svc["user"] = cfg["User"]
    ports = []
    for key, binds in (host.get("PortBindings") or {}).items():
        port, _, proto = key.partition("/")
        for b in binds or [{}]:
            ports.append({"target": int(port), "protocol": proto or "tcp", "published": b.get("HostPort") or None})
    if ports:
        svc["ports"] = ports
    exposed = [k for k in (cfg.get("ExposedPorts") or {}) if k not in (host.get("PortBindings") or {})]
    if exposed:
        svc["expose"] = exposed
    if host.get("NanoCpus"):
        svc["cpus"] = host["NanoCpus"] / 1e9
    if host.get("Memory"):
        svc["mem_limit"] = host["Memory"]
    for src, dst in (("CapAdd", "cap_add"), ("CapDrop", "cap_drop")):
        if host.get(src):
            svc[dst] = list(host[src])
    if host.get("ReadonlyRootfs"):
        svc["read_only"] = True
    if host.get("Privileged"):
        svc["privileged"] = True
    if host.get("Devices"):
        svc["devices"] = host["Devices"]
    if host.get("Tmpfs"):
        svc["tmpfs"] = list(host["Tmpfs"])
    volumes = [{"type": m.get("Type"), "source": m.get("Name") if m.get("Type") == "volume" else m.get("Source"),
                "target": m.get("Destination"), "read_only": not m.get("RW", True)}
               for m in inspect.get("Mounts") or []]
    if volumes:
        svc["volumes"] = volumes
    health = cfg.get("Healthcheck")
    if health and health.get("Test"):
        svc["healthcheck"] = {"test": health["Test"], "interval": f"{health.get('Interval', 0) // 1000}us",
                              "timeout": f"{health.get('Timeout', 0) // 1000}us", "retries": health.get("Retries"),
                              "start_period": f"{health.get('StartPeriod', 0) // 1000}us"}
        for k in ("interval", "timeout", "start_period"):
            if svc["healthcheck"][k] == "0us":
                del svc["healthcheck"][k]
    labels = {k: v for k, v in (cfg.get("Labels") or {}).items() if k not in ((icfg.get("Labels")) or {})}
    _routes(svc, labels.pop(ingress_label.LABEL, None))
    if labels:
        svc["labels"] = labels
    return inspect.get("Name", "").lstrip("/") or inspect["Id"][:12], svc


def _routes(svc: Obj, text: str | None) -> None:
    """The ingress label's routes as ``x-baleine-ingress`` (a bad label, which routes
    nothing on the engine either, gives none); a routed port the container neither
    publishes nor exposes is exposed, so that the Ingress has a Service to name."""
    entries = ingress_label.parse(text)[0] if text else []
    if not entries:
        return
    svc["x-baleine-ingress"] = [e.as_dict() for e in entries]
    known = {p["target"] for p in svc.get("ports") or []}
    known |= {int(e.partition("/")[0]) for e in svc.get("expose") or [] if e.partition("/")[0].isdigit()}
    for port in dict.fromkeys(e.port for e in entries):
        if port not in known:
            svc.setdefault("expose", []).append(f"{port}/tcp")


def project_of(services: dict[str, Obj], name: str = "") -> Any:
    """A stand-in of ``compose.model.Project`` holding the containers' services."""
    return SimpleNamespace(name=name, services=services, volumes={}, configs={}, secrets={}, environment={})
