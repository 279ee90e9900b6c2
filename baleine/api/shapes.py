"""Docker's JSON shapes for containers and images (list summaries, inspect). Pure
translation from engine records and views; no side effects, no domain rules."""

from __future__ import annotations

import time
from typing import Any

from ..engine.containers.records import Container
from ..engine.interface.containers import ContainerView
from ..rules.errors import InvalidParameter
from ..engine.images.records import Image
from ..rules.timestamps import ZERO_TIME, parse_rfc3339
from ..rules.units import human_duration


def _ago(ts: str) -> str:
    try:
        t = parse_rfc3339(ts)
    except (ValueError, InvalidParameter):
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
    except (ValueError, InvalidParameter):  # absent (optional in OCI) or malformed: unknown
        return 0


def container_summary(view: ContainerView) -> dict[str, Any]:
    """One item of ``GET /containers/json`` (with SizeRw/SizeRootFs when the view has sizes).

    The item shares the container's nested values (networks, mounts, labels): callers
    encode it before their next ``await`` and never change it. Copying them cost a
    sixth of a 100-container list."""
    c = view.container
    hc = c.host_config
    net = c.doc.get("NetworkSettings") or {}
    out: dict[str, Any] = {
        "Id": c.id,
        "Names": [c.name],
        "Image": view.image or c.config.get("Image", ""),
        "ImageID": c.doc.get("Image", ""),
        "Command": command_text(c),
        "Created": _created_unix(c.doc["Created"]),
        "Ports": list(net.get("_PortsList") or []),
        "Labels": c.config.get("Labels") or {},
        "State": c.status,
        "Status": status_text(c),
        "HostConfig": {"NetworkMode": hc.get("NetworkMode", "bridge")},
        "NetworkSettings": {"Networks": net.get("Networks") or {}},
        "Mounts": c.doc.get("Mounts") or [],
    }
    if view.sizes is not None:
        out["SizeRw"], out["SizeRootFs"] = view.sizes
    return out


def container_inspect(view: ContainerView) -> dict[str, Any]:
    """``GET /containers/{id}/json`` (with SizeRw/SizeRootFs when the view has sizes)."""
    c = view.container
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
    doc["GraphDriver"] = view.graph_driver
    if doc.get("ExecIDs") == []:
        doc["ExecIDs"] = None
    if view.sizes is not None:
        doc["SizeRw"], doc["SizeRootFs"] = view.sizes
    return doc


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
