"""New images from a container's writable layer (``commit``) or from a tarball
(``import``), with Dockerfile-style ``--change`` instructions applied to the config.

Both are blocking (tar work): run them in a worker thread.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, BinaryIO

from . import layers, references
from .containers import Container
from .content import ContentStore
from .errors import InvalidParameter
from .images import Image, Images, new_config
from .snapshots import Snapshots
from .timestamps import now_rfc3339nano
from .unpack import unpack_blob

CHANGE_COMMANDS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR",
                   "STOPSIGNAL", "HEALTHCHECK", "SHELL")


def _json_or_shell(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            value = json.loads(rest)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        except ValueError:
            pass
    return ["/bin/sh", "-c", rest]


def _pairs(rest: str, what: str) -> dict[str, str]:
    words = shlex.split(rest)
    out: dict[str, str] = {}
    if words and "=" not in words[0]:
        if len(words) < 2:
            raise InvalidParameter(f"{what} requires two arguments")
        return {words[0]: rest.split(None, 1)[1].strip()}
    for w in words:
        k, sep, v = w.partition("=")
        if not sep or not k:
            raise InvalidParameter(f"{what} names can not be blank" if not k else f"Syntax error - can't find = in \"{w}\". Must be of the form: name=value")
        out[k] = v
    return out


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Apply ``--change`` instructions to an image's ``config`` section (in place)."""
    for line in changes or []:
        line = line.strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        cmd = word.upper()
        if cmd not in CHANGE_COMMANDS:
            raise InvalidParameter(f"{word} is not a valid change command")
        if cmd == "CMD":
            config["Cmd"] = _json_or_shell(rest)
        elif cmd == "ENTRYPOINT":
            config["Entrypoint"] = _json_or_shell(rest)
        elif cmd == "ENV":
            env = config.get("Env") or []
            for k, v in _pairs(rest, "ENV").items():
                env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
            config["Env"] = env
        elif cmd == "LABEL":
            labels = config.get("Labels") or {}
            labels.update(_pairs(rest, "LABEL"))
            config["Labels"] = labels
        elif cmd == "EXPOSE":
            ports = config.get("ExposedPorts") or {}
            for p in rest.split():
                ports[p if "/" in p else p + "/tcp"] = {}
            config["ExposedPorts"] = ports
        elif cmd == "VOLUME":
            vols = config.get("Volumes") or {}
            for v in (_json_or_shell(rest) if rest.strip().startswith("[") else rest.split()):
                vols[v] = {}
            config["Volumes"] = vols
        elif cmd == "USER":
            config["User"] = rest.strip()
        elif cmd == "WORKDIR":
            config["WorkingDir"] = rest.strip()
        elif cmd == "ONBUILD":
            config["OnBuild"] = (config.get("OnBuild") or []) + [rest.strip()]
        elif cmd == "STOPSIGNAL":
            config["StopSignal"] = rest.strip()
        elif cmd == "SHELL":
            config["Shell"] = _json_or_shell(rest)
        elif cmd == "HEALTHCHECK":
            if rest.strip().upper() == "NONE":
                config["Healthcheck"] = {"Test": ["NONE"]}
            else:
                _, _, c = rest.partition("CMD")
                config["Healthcheck"] = {"Test": ["CMD-SHELL", c.strip()]}
    return config


def _history_entry(created_by: str, comment: str = "", author: str = "", empty: bool = False) -> dict[str, Any]:
    h: dict[str, Any] = {"created": now_rfc3339nano(), "created_by": created_by}
    if author:
        h["author"] = author
    if comment:
        h["comment"] = comment
    if empty:
        h["empty_layer"] = True
    return h


def _tags(repo: str, tag: str) -> list[str]:
    if not repo:
        if tag:
            raise InvalidParameter("tag without repository")
        return []
    ref = references.parse(repo if not tag else f"{repo}:{tag}")
    if ref.digest:
        raise InvalidParameter("cannot commit or import to a digest reference")
    return [str(ref.with_default_tag())]


def commit(images: Images, content: ContentStore, snapshots: Snapshots, c: Container, repo: str = "",
           tag: str = "", comment: str = "", author: str = "", changes: list[str] | None = None,
           overrides: dict[str, Any] | None = None) -> Image:
    """Record the container's changes as a new image on top of its own."""
    tags = _tags(repo, tag)
    base = images._load(c.doc["Image"]) if images.exists(c.doc["Image"]) else None
    upper = snapshots.rw_paths(c.private["rw"])[0]
    top = c.private.get("top", "")
    lowers = snapshots.container_lowers(c.private["rw"], top)
    with content.writer() as w:
        diff_id = layers.diff_tar(upper, lowers, _WriterIO(w))
        blob = w.commit()
    layer = unpack_blob(content, snapshots, blob, "application/vnd.oci.image.layer.v1.tar", top, diff_id)
    cfg = new_config(base.config if base else None)
    container_cfg = json.loads(json.dumps(c.config))
    container_cfg.pop("Image", None)
    for k, v in (overrides or {}).items():
        if v not in (None, "", [], {}):
            container_cfg[k] = v
    container_cfg["Image"] = c.doc["Image"]
    apply_changes(container_cfg, changes or [])
    cfg["config"] = container_cfg
    cfg["container"] = c.id
    cfg["created"] = now_rfc3339nano()
    if author:
        cfg["author"] = author
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    cfg["rootfs"]["diff_ids"] = list(cfg["rootfs"].get("diff_ids") or []) + [layer.diff_id]
    cmd = list(c.config.get("Entrypoint") or []) + list(c.config.get("Cmd") or [])
    cfg["history"] = list(cfg.get("history") or []) + [_history_entry(" ".join(cmd), comment, author)]
    cfg.pop("container_config", None)
    cfg.pop("docker_version", None)
    return images.create(cfg, parent=c.doc["Image"] if base else "", tags=tags)


class _WriterIO:
    """File-like adapter over a content Writer."""

    def __init__(self, w) -> None:  # noqa: ANN001 - content.Writer
        self.w = w

    def write(self, data: bytes) -> int:
        self.w.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def import_tarball(images: Images, content: ContentStore, snapshots: Snapshots, src: BinaryIO,
                   repo: str = "", tag: str = "", message: str = "", changes: list[str] | None = None,
                   source_name: str = "-", platform_os: str = "linux") -> Image:
    """A one-layer image from a (possibly compressed) root filesystem tarball."""
    tags = _tags(repo, tag)
    with content.writer() as w:
        while chunk := src.read(1 << 20):
            w.write(chunk)
        blob = w.commit()
    layer = unpack_blob(content, snapshots, blob, "", "")
    cfg = new_config()
    container_cfg: dict[str, Any] = {}
    apply_changes(container_cfg, changes or [])
    cfg["config"] = container_cfg
    cfg["created"] = now_rfc3339nano()
    cfg["rootfs"]["diff_ids"] = [layer.diff_id]
    cfg["history"] = [_history_entry("", message or f"Imported from {source_name}")]
    return images.create(cfg, tags=tags)
