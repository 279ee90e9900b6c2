"""Disk usage: container layer sizes, image sharing, ``docker system df`` and
``docker container prune``.

Sizes are Docker's: a container's ``SizeRw`` is the size of its writable layer
(moby's ``directory.Size``: regular files, symlinks and the like, each inode
counted once, directories not counted); ``SizeRootFs`` adds its image's size; an
image's ``SharedSize`` is the part of its layers that other listed images use too;
``LayersSize`` is the size of every layer some image uses.

Blocking (walks directories): call the functions in a thread, except
:func:`prune_containers`, which is a coroutine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from typing import Any

from .records import Container
from ...rules.errors import Conflict, EngineError, InvalidParameter, NotFound
from ...rules.filters import Filters
from ...rules.timestamps import parse_rfc3339, parse_since

log = logging.getLogger("baleine.disk_usage")

PRUNE_FILTERS = {"label", "label!", "until"}


def directory_size(path: str) -> int:
    """moby's ``directory.Size``: bytes of everything below ``path`` but directories,
    hard links counted once. Entries vanishing meanwhile are skipped."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode) or st.st_size == 0:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += st.st_size
    return total


def container_sizes(engine: Any, c: Container) -> tuple[int, int]:
    """(``SizeRw``, ``SizeRootFs``) of a container."""
    upper = engine.snapshots.rw_paths(c.private["rw"])[0]
    rw = directory_size(upper)
    base = 0
    try:
        base = engine.images.get(c.doc["Image"]).size
    except EngineError:  # the image was removed with --force
        pass
    return rw, rw + base


@dataclass
class ImageUsage:
    """An image in ``system df``: the record, its shared size and container count."""

    image: Any
    shared_size: int = 0
    containers: int = 0


@dataclass
class DiskUsage:
    """What ``GET /system/df`` reports, before shaping to JSON."""

    layers_size: int = 0
    images: list[ImageUsage] = field(default_factory=list)
    containers: list[tuple[Container, int, int]] = field(default_factory=list)  # (c, SizeRw, SizeRootFs)


def listed_images(engine: Any) -> list[Any]:
    """Images as ``docker images`` lists them by default (untagged parents hidden)."""
    items = engine.images.list()
    parents = {img.parent for img in items if img.parent}
    return [img for img in items if img.tags or img.digests or img.id not in parents]


def image_usage(engine: Any) -> tuple[int, list[ImageUsage]]:
    """(``LayersSize``, the listed images with their shared sizes and container counts)."""
    images = listed_images(engine)
    counts: dict[str, int] = {}
    for c in engine.containers.by_id.values():
        counts[c.doc.get("Image", "")] = counts.get(c.doc.get("Image", ""), 0) + 1
    refs: dict[str, int] = {}
    for img in images:
        for chain_id in img.chain_ids:
            refs[chain_id] = refs.get(chain_id, 0) + 1
    sizes: dict[str, int] = {}
    used: set[str] = set()
    for img in engine.images.list():
        used.update(img.chain_ids)
    for chain_id in used:
        layer = engine.snapshots.get(chain_id)
        sizes[chain_id] = layer.size if layer is not None else 0
    out = []
    for img in images:
        shared = sum(sizes.get(cid, 0) for cid in img.chain_ids if refs.get(cid, 0) > 1)
        out.append(ImageUsage(img, shared, counts.get(img.id, 0)))
    return sum(sizes.values()), out


def disk_usage(engine: Any, types: set[str] | None = None) -> DiskUsage:
    """Compute ``system df`` for the requested ``types`` ("image", "container"; all
    when None)."""
    du = DiskUsage()
    if types is None or "image" in types:
        du.layers_size, du.images = image_usage(engine)
    if types is None or "container" in types:
        for c in engine.containers.list():
            rw, root = container_sizes(engine, c)
            du.containers.append((c, rw, root))
    return du


def prune_until(f: Filters, now: float | None = None) -> float | None:
    """The ``until`` filter as unix seconds (None when absent); InvalidParameter if bad."""
    if not f.contains("until"):
        return None
    values = f.get("until")
    if len(values) > 1:
        raise InvalidParameter("more than one until filter specified")
    return parse_since(values[0], time.time() if now is None else now)


def prune_candidates(containers: list[Container], f: Filters, now: float | None = None) -> list[Container]:
    """The containers ``container prune`` removes: not running (nor paused or
    restarting), created before ``until``, matching the label filters."""
    f.validate(PRUNE_FILTERS)
    until = prune_until(f, now)
    out = []
    for c in containers:
        if c.running or c.status in ("restarting", "removing") or c.restart_task is not None:
            continue
        if until is not None:
            try:
                if parse_rfc3339(c.doc["Created"]) > until:
                    continue
            except ValueError:
                continue
        if not f.match_labels(c.config.get("Labels") or {}):
            continue
        out.append(c)
    return out


_prune_running = False


async def prune_containers(engine: Any, f: Filters) -> dict[str, Any]:
    """``POST /containers/prune``: remove the stopped containers ``f`` selects.

    Returns ``{"ContainersDeleted": [ids] or None, "SpaceReclaimed": bytes}``
    and publishes a ``prune`` event. Conflict if a prune is already running.
    """
    global _prune_running
    if _prune_running:
        raise Conflict("a prune operation is already running")
    _prune_running = True
    try:
        deleted: list[str] = []
        reclaimed = 0
        for c in prune_candidates(engine.containers.list(), f):
            size = (await asyncio.to_thread(container_sizes, engine, c))[0]
            try:
                await engine.lifecycle.remove(c, force=False, volumes=False)
            except (Conflict, NotFound, EngineError) as exc:
                log.warning("failed to prune container %s: %s", c.id[:12], exc)
                continue
            reclaimed += size
            deleted.append(c.id)
    finally:
        _prune_running = False
    engine.events.publish("container", "prune", "", {"reclaimed": str(reclaimed)})
    return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}
