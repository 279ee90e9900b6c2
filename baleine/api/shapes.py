"""Docker's JSON shapes for containers and images (list summaries, inspect), and the
list filters. Pure translation from engine records; no side effects."""

from __future__ import annotations

import copy
import time
from typing import Any

from ..rules import filters as filters_mod
from ..engine.images import layers
from ..engine.containers.records import Container
from ..rules.errors import InvalidParameter
from ..engine.images.records import Image
from ..rules.timestamps import ZERO_TIME, parse_rfc3339
from ..rules.units import human_duration


def _ago(ts: str) -> str:
    try:
        t = parse_rfc3339(ts)
    except ValueError:
        return ""
    return human_duration(max(0.0, time.time() - t))


def status_text(c: Container) -> str:
    """The STATUS column docker computes in the daemon ("Up 5 seconds", "Exited (0) …")."""
    st = c.state
    status = c.status
    if status == "removing":
        return "Removal In Progress"
    if status == "dead":
        return "Dead"
    if st.get("Restarting") or status == "restarting":
        return f"Restarting ({st.get('ExitCode', 0)}) {_ago(st.get('FinishedAt', ''))} ago"
    if c.running:
        text = f"Up {_ago(st.get('StartedAt', ''))}"
        health = (st.get("Health") or {}).get("Status")
        if c.paused:
            text += " (Paused)"
        elif health == "starting":
            text += " (health: starting)"
        elif health in ("healthy", "unhealthy"):
            text += f" ({health})"
        return text
    if st.get("FinishedAt") and st.get("FinishedAt") != ZERO_TIME:
        return f"Exited ({st.get('ExitCode', 0)}) {_ago(st['FinishedAt'])} ago"
    return "Created"


def command_text(c: Container) -> str:
    argv = [c.doc.get("Path", "")] + list(c.doc.get("Args") or [])
    return " ".join(a for a in argv if a is not None)


def _created_unix(ts: str) -> int:
    try:
        return int(parse_rfc3339(ts))
    except ValueError:
        return 0


def container_summary(engine: Any, c: Container, size: bool = False) -> dict[str, Any]:
    """One item of ``GET /containers/json``."""
    hc = c.host_config
    net = c.doc.get("NetworkSettings") or {}
    out: dict[str, Any] = {
        "Id": c.id,
        "Names": [c.name],
        "Image": c.config.get("Image", ""),
        "ImageID": c.doc.get("Image", ""),
        "Command": command_text(c),
        "Created": _created_unix(c.doc["Created"]),
        "Ports": list(net.get("_PortsList") or []),
        "Labels": c.config.get("Labels") or {},
        "State": c.status,
        "Status": status_text(c),
        "HostConfig": {"NetworkMode": hc.get("NetworkMode", "bridge")},
        "NetworkSettings": {"Networks": copy.deepcopy(net.get("Networks") or {})},
        "Mounts": copy.deepcopy(c.doc.get("Mounts") or []),
    }
    if size:
        rw, root = container_sizes(engine, c)
        out["SizeRw"], out["SizeRootFs"] = rw, root
    return out


def container_sizes(engine: Any, c: Container) -> tuple[int, int]:
    """(size of the writable layer, total size including the image), as ``system df``
    and ``container prune`` count them (engine.disk_usage)."""
    from ..engine.containers.disk_usage import container_sizes as sizes

    return sizes(engine, c)


def container_inspect(engine: Any, c: Container, size: bool = False) -> dict[str, Any]:
    """``GET /containers/{id}/json``."""
    doc = c.public()
    doc.pop("NetworkingConfig", None)
    net = doc.get("NetworkSettings") or {}
    net.pop("_PortsList", None)
    doc["NetworkSettings"] = {
        "Bridge": "", "SandboxID": net.get("SandboxID", ""), "SandboxKey": net.get("SandboxKey", ""),
        "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": net.get("Ports") or {}, "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "EndpointID": net.get("EndpointID", ""), "Gateway": net.get("Gateway", ""),
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": net.get("IPAddress", ""),
        "IPPrefixLen": net.get("IPPrefixLen", 0), "IPv6Gateway": "", "MacAddress": net.get("MacAddress", ""),
        "Networks": net.get("Networks") or {},
    }
    state = doc["State"]
    if state.get("Health") is None:
        state.pop("Health", None)
    rw, merged, upper = engine.snapshots.rw_paths(c.private["rw"])[0], engine.rootfs(c), None
    work = engine.snapshots.rw_paths(c.private["rw"])[1]
    del upper
    top = c.private.get("top", "")
    try:
        lowers = engine.snapshots.lowers(top) if top else []
    except Exception:  # noqa: BLE001
        lowers = []
    doc["GraphDriver"] = {"Name": "overlay2", "Data": {
        "LowerDir": ":".join(lowers), "MergedDir": merged, "UpperDir": rw, "WorkDir": work}}
    if doc.get("ExecIDs") == []:
        doc["ExecIDs"] = None
    if size:
        doc["SizeRw"], doc["SizeRootFs"] = container_sizes(engine, c)
    return doc


def container_changes(engine: Any, c: Container) -> list[dict[str, Any]] | None:
    upper = engine.snapshots.rw_paths(c.private["rw"])[0]
    lowers = engine.snapshots.container_lowers(c.private["rw"], c.private.get("top", ""))
    changes = layers.changes(upper, lowers)
    return [{"Path": ch.path, "Kind": ch.kind} for ch in changes] or None


def _status_matches(c: Container, wanted: list[str]) -> bool:
    for s in wanted:
        if s not in ("created", "restarting", "running", "removing", "paused", "exited", "dead"):
            raise InvalidParameter(f"invalid filter 'status={s}'")
    return c.status in wanted


def filter_containers(engine: Any, items: list[Container], f: filters_mod.Filters,
                      show_all: bool) -> list[Container]:
    """moby's container list filtering (all, status, id, name, label, ancestor, exited,
    before/since, health, expose/publish, volume, network)."""
    if f.contains("status") or f.contains("exited") or f.contains("health"):
        show_all = True
    before = since = None
    if f.contains("before"):
        before = engine.containers.get(f.get("before")[0])
    if f.contains("since"):
        since = engine.containers.get(f.get("since")[0])
    ancestors: set[str] = set()
    for a in f.get("ancestor") if f.contains("ancestor") else []:
        try:
            ancestors.add(engine.images.get(a).id)
        except Exception:  # noqa: BLE001 - unknown ancestors match nothing
            continue
    out = []
    for c in items:
        if not show_all and not c.running:
            continue
        if f.contains("status") and not _status_matches(c, f.get("status")):
            continue
        if f.contains("id") and not any(c.id.startswith(v) for v in f.get("id")):
            continue
        if f.contains("name") and not f.match("name", c.name):
            continue
        if f.contains("label") and not f.match_kv("label", c.config.get("Labels") or {}):
            continue
        if f.contains("exited"):
            if c.running or c.status == "created" or str(c.state.get("ExitCode")) not in f.get("exited"):
                continue
        if f.contains("health"):
            h = (c.state.get("Health") or {}).get("Status", "none")
            if h not in f.get("health"):
                continue
        if f.contains("ancestor") and c.doc["Image"] not in ancestors and not any(
                c.config.get("Image") == a for a in f.get("ancestor")):
            continue
        if before is not None and c.doc["Created"] >= before.doc["Created"]:
            continue
        if since is not None and c.doc["Created"] <= since.doc["Created"]:
            continue
        if f.contains("volume") and not any(
                m.get("Name") in f.get("volume") or m.get("Destination") in f.get("volume")
                for m in c.doc.get("Mounts") or []):
            continue
        if f.contains("network") and not any(
                n in f.get("network") or (v or {}).get("NetworkID") in f.get("network")
                for n, v in ((c.doc.get("NetworkSettings") or {}).get("Networks") or {}).items()):
            continue
        if f.contains("expose") and not any(p in (c.config.get("ExposedPorts") or {})
                                            or p + "/tcp" in (c.config.get("ExposedPorts") or {})
                                            for p in f.get("expose")):
            continue
        out.append(c)
    return out


# -- images ------------------------------------------------------------------------------


def _familiar(ref: str) -> str:
    from ..rules import references

    try:
        return references.parse(ref).familiar()
    except InvalidParameter:
        return ref


def image_summary(img: Image, containers: int = -1) -> dict[str, Any]:
    """One item of ``GET /images/json``."""
    return {
        "Id": img.id,
        "ParentId": img.parent,
        "RepoTags": [_familiar(t) for t in img.tags],
        "RepoDigests": [_familiar(d) for d in img.digests],
        "Created": _created_unix(img.config.get("created") or ""),
        "Size": img.size,
        "SharedSize": -1,
        "VirtualSize": img.size,
        "Labels": img.container_config.get("Labels") or {},
        "Containers": containers,
    }


def image_inspect(img: Image) -> dict[str, Any]:
    """``GET /images/{name}/json``."""
    cfg = img.config
    out = {
        "Id": img.id,
        "RepoTags": [_familiar(t) for t in img.tags],
        "RepoDigests": [_familiar(d) for d in img.digests],
        "Parent": img.parent,
        "Comment": _last_comment(cfg),
        "Created": cfg.get("created") or "",
        "DockerVersion": cfg.get("docker_version", ""),
        "Author": cfg.get("author", ""),
        "Config": _image_config(cfg.get("config")),
        "Architecture": cfg.get("architecture", "amd64"),
        "Os": cfg.get("os", "linux"),
        "Size": img.size,
        "VirtualSize": img.size,
        "GraphDriver": {"Name": "overlay2", "Data": None},
        "RootFS": {"Type": "layers", "Layers": img.diff_ids},
        "Metadata": {"LastTagTime": ZERO_TIME},
    }
    if cfg.get("variant"):
        out["Variant"] = cfg["variant"]
    if cfg.get("container"):
        out["Container"] = cfg["container"]
    if cfg.get("container_config"):
        out["ContainerConfig"] = _image_config(cfg.get("container_config"))
    return out


def _image_config(c: dict[str, Any] | None) -> dict[str, Any]:
    c = dict(c or {})
    defaults = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
                "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
                "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
                "OnBuild": None, "Labels": None}
    for k, v in defaults.items():
        c.setdefault(k, v)
    return c


def _last_comment(cfg: dict[str, Any]) -> str:
    hist = cfg.get("history") or []
    return (hist[-1].get("comment") or "") if hist else ""
