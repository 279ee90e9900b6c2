"""New images from a container's writable layer (``commit``) or from a tarball
(``import``), with Dockerfile-style ``--change`` instructions applied to the config.

Both are blocking (tar work): run them in a worker thread. Each holds a collector
lease on its new blob and layer until the image recording them exists.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from ...filesystem import layers
from ...rules import references
from ..containers.records import Container
from .content import ContentStore
from ...rules.errors import InvalidParameter
from .records import Image, Images, new_config
from .snapshots import Snapshots
from ...rules.timestamps import now_rfc3339nano
from .unpack import chain_of, unpack_blob

def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Apply ``--change`` instructions to an image's ``config`` section (in place).

    Each change is a Dockerfile line, parsed and applied by the builder's code
    (``baleine.build.metadata``): one parser for every instruction. Raises
    InvalidParameter ("X is not a valid change command", parse errors).
    """
    from ...build.metadata import apply_changes as apply

    return apply(config, changes)


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
    upper = snapshots.upper(c.private["rw"])
    top = c.private.get("top", "")
    lowers = snapshots.container_lowers(c.private["rw"], top)
    with images.gc.lease("commit") as lease:
        with content.writer() as w:
            diff_id = layers.diff_tar(upper, lowers, w)
            lease.add_blob(w.digest)
            blob = w.commit()
        lease.add_layer(chain_of(top, diff_id))
        layer = unpack_blob(content, snapshots, blob, "application/vnd.oci.image.layer.v1.tar", top, diff_id)
        return images.create(_commit_config(base, c, layer.diff_id, comment, author, changes, overrides),
                             parent=c.doc["Image"] if base else "", tags=tags)


def _commit_config(base: Image | None, c: Container, diff_id: str, comment: str, author: str,
                   changes: list[str] | None, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The committed image's config: the base image's, with the container's settings."""
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
    cfg["rootfs"]["diff_ids"] = list(cfg["rootfs"].get("diff_ids") or []) + [diff_id]
    cmd = list(c.config.get("Entrypoint") or []) + list(c.config.get("Cmd") or [])
    cfg["history"] = list(cfg.get("history") or []) + [_history_entry(" ".join(cmd), comment, author)]
    cfg.pop("container_config", None)
    cfg.pop("docker_version", None)
    return cfg


def import_tarball(images: Images, content: ContentStore, snapshots: Snapshots, src: BinaryIO,
                   repo: str = "", tag: str = "", message: str = "", changes: list[str] | None = None,
                   source_name: str = "-", platform_os: str = "linux") -> Image:
    """A one-layer image from a (possibly compressed) root filesystem tarball."""
    tags = _tags(repo, tag)
    with images.gc.lease("import") as lease:
        with content.writer() as w:
            while chunk := src.read(1 << 20):
                w.write(chunk)
            lease.add_blob(w.digest)
            blob = w.commit()
        layer = unpack_blob(content, snapshots, blob, "", "")
        lease.add_layer(layer.chain_id)
        return images.create(_import_config(layer.diff_id, message, changes, source_name), tags=tags)


def _import_config(diff_id: str, message: str, changes: list[str] | None, source_name: str) -> dict[str, Any]:
    """An imported image's config: one layer, the ``--change`` settings."""
    cfg = new_config()
    container_cfg: dict[str, Any] = {}
    apply_changes(container_cfg, changes or [])
    cfg["config"] = container_cfg
    cfg["created"] = now_rfc3339nano()
    cfg["rootfs"]["diff_ids"] = [diff_id]
    cfg["history"] = [_history_entry("", message or f"Imported from {source_name}")]
    return cfg
