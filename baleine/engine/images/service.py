"""The images backend (``engine.interface.images.ImagesBackend``) over the image store.

Moby's image rules that are not about storage live here: listing filters, which
image an untag or delete event belongs to, prune and its space accounting, commit
pausing the container. Blocking work (SQLite reads of every image, tar, hashing,
removing layer directories) runs in worker threads; events are published from the
event loop once the work is done.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from ...rules import filters as filters_mod
from ...rules import references
from ...rules.errors import EngineError, InvalidParameter
from ..containers.lifecycle import Lifecycle
from ..containers.records import Containers
from ..events import Events
from ..interface.images import ImageCounts, ImagePruneReport, ListedImage, Writable
from . import archive, commit as commit_mod
from .records import Image, Images, familiar

IMAGE_FILTERS = {"before", "dangling", "label", "reference", "since", "until"}
PRUNE_FILTERS = {"dangling", "label", "until", "label!"}


class ImageService:
    """See the module docstring. ``tmp_dir`` is scratch space for ``save``."""

    def __init__(self, images: Images, containers: Containers, lifecycle: Lifecycle, events: Events,
                 tmp_dir: str) -> None:
        self.images = images
        self.containers = containers
        self.lifecycle = lifecycle
        self.events = events
        self.tmp_dir = tmp_dir

    # -- reading --------------------------------------------------------------------------

    async def list_images(self, filters: filters_mod.Filters, show_all: bool = False, legacy_reference: str = "",
                          with_containers: bool = False) -> list[ListedImage]:
        filters.validate(IMAGE_FILTERS)
        if legacy_reference:
            filters.add("reference", legacy_reference)
        found = await asyncio.to_thread(self._filter, filters, show_all)
        counts: dict[str, int] = {}
        if with_containers:
            for c in self.containers.by_id.values():
                counts[c.doc["Image"]] = counts.get(c.doc["Image"], 0) + 1
        return [ListedImage(img, counts.get(img.id, 0) if with_containers else -1) for img in found]

    def _filter(self, f: filters_mod.Filters, show_all: bool) -> list[Image]:
        """The filtering of ``docker images`` (worker thread: reads every image)."""
        items = self.images.list()
        before = self.images.get(f.get("before")[0]) if f.contains("before") else None
        since = self.images.get(f.get("since")[0]) if f.contains("since") else None
        dangling = f.bool_value("dangling") if f.contains("dangling") else None
        parents = {img.parent for img in items if img.parent}
        out = []
        for img in items:
            is_dangling = not img.tags and not img.digests
            if dangling is not None and dangling != is_dangling:
                continue
            if not show_all and is_dangling and img.id in parents and dangling is None:
                continue  # intermediate images are hidden without -a
            if f.contains("label") and not f.match_kv("label", img.container_config.get("Labels") or {}):
                continue
            if before is not None and img.created_local >= before.created_local:
                continue
            if since is not None and img.created_local <= since.created_local:
                continue
            if f.contains("reference"):
                shown = [t for t in img.tags + img.digests
                         if any(familiar_match(p, familiar(t)) for p in f.get("reference"))]
                if not shown:
                    continue
                img.tags = [t for t in img.tags if t in shown]
                img.digests = [t for t in img.digests if t in shown]
            out.append(img)
        return out

    async def inspect(self, name: str) -> Image:
        return await asyncio.to_thread(self.images.get, name)

    async def history(self, name: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.images.history, name)

    async def counts(self) -> ImageCounts:
        return ImageCounts(await asyncio.to_thread(self.images.count))

    # -- tags and deletion --------------------------------------------------------------

    async def tag(self, name: str, repo: str, tag: str) -> None:
        if not repo:
            raise InvalidParameter("repository name must have at least one component")
        target = f"{repo}:{tag}" if tag else repo
        full = await asyncio.to_thread(self.images.tag, name, target)
        img = await asyncio.to_thread(self.images.get, full)
        self._image_event("tag", img.id, familiar(full), img)

    async def delete(self, name: str, force: bool = False, prune: bool = True) -> list[dict[str, str]]:
        img = await asyncio.to_thread(self.images.get, name)
        # In a thread: deleting the last image of a big layer removes its directory.
        report = await asyncio.to_thread(self.images.delete, name, force, prune)
        for item, image_id in zip(report, event_owners(report, img.id)):
            if "Untagged" in item:
                self._image_event("untag", image_id, image_id, img if image_id == img.id else None)
            elif "Deleted" in item:
                self.events.publish("image", "delete", image_id, {"name": image_id})
        return report

    async def prune(self, filters: filters_mod.Filters) -> ImagePruneReport:
        filters.validate(PRUNE_FILTERS)
        used = {c.doc["Image"] for c in self.containers.by_id.values()}
        report = await asyncio.to_thread(self._prune, filters, used)
        self.events.publish("image", "prune", "", {"reclaimed": str(report.reclaimed)})
        return report

    def _prune(self, f: filters_mod.Filters, used: set[str]) -> ImagePruneReport:
        """Delete the unused images the filters select (worker thread).

        An image's size counts as reclaimed when deleting it removed layers (docker
        counts the image's size, not what it shared with the images that stay).
        """
        only_dangling = f.bool_value("dangling", True) if f.contains("dangling") else True
        deleted: list[dict[str, str]] = []
        reclaimed = 0
        for img in self.images.list():
            if img.id in used or not self.images.exists(img.id):
                continue
            if only_dangling and (img.tags or img.digests):
                continue
            if f.contains("label") and not f.match_labels(img.container_config.get("Labels") or {}):
                continue
            if self.images.children(img.id):
                continue
            before = len(self.images.snapshots.layers())
            try:
                for ref in img.tags + img.digests:
                    deleted.append({"Untagged": familiar(ref)})
                deleted.extend(r for r in self.images.delete(img.id, force=True) if "Deleted" in r)
            except EngineError:
                continue
            if len(self.images.snapshots.layers()) < before:
                reclaimed += img.size
        return ImagePruneReport(deleted, reclaimed)

    # -- archives ---------------------------------------------------------------------------

    async def load(self, stream: BinaryIO) -> list[str]:
        messages: list[str] = []
        loader = archive.Loader(self.images, self.images.content, self.images.snapshots, messages.append)
        lines = await asyncio.to_thread(loader.load, stream)
        loaded: list[str] = []
        for line in lines:
            if line.startswith("Loaded image"):
                try:
                    image_id = await asyncio.to_thread(self.images.resolve_id, line.split(": ", 1)[1])
                except EngineError:
                    continue
                if image_id is not None and image_id not in loaded:
                    loaded.append(image_id)
        for image_id in loaded:
            # One event per image (not per tag), named by its ID, as docker's load sends.
            self._image_event("load", image_id, image_id)
        return lines

    async def save(self, names: list[str], start: Callable[[], Awaitable[Writable]]) -> None:
        if not names:
            raise InvalidParameter("no image names given")
        ids = [(await asyncio.to_thread(self.images.get, name)).id for name in names]  # 404 before any byte
        out = await start()

        def run() -> None:
            archive.save(self.images, self.images.content, self.images.snapshots, names, out,  # type: ignore[arg-type]
                         self.tmp_dir)
            out.flush()

        try:
            await asyncio.to_thread(run)
        except (ConnectionError, RuntimeError):
            return  # the client went away
        for image_id in dict.fromkeys(ids):
            self._image_event("save", image_id, image_id)

    async def import_(self, stream: BinaryIO, repo: str, tag: str, message: str, changes: list[str]) -> Image:
        img = await asyncio.to_thread(commit_mod.import_tarball, self.images, self.images.content,
                                      self.images.snapshots, stream, repo, tag, message, changes)
        self._image_event("import", img.id, img.id, img)
        return img

    async def commit(self, container: str, repo: str, tag: str, comment: str, author: str,
                     changes: list[str], overrides: dict[str, Any], pause: bool = True) -> Image:
        c = self.containers.get(container)
        paused_here = False
        if pause and c.running and not c.paused:
            await self.lifecycle.pause(c)
            paused_here = True
        try:
            img = await asyncio.to_thread(commit_mod.commit, self.images, self.images.content,
                                          self.images.snapshots, c, repo, tag, comment, author, changes, overrides)
        finally:
            if paused_here:
                await self.lifecycle.unpause(c)
        self.events.publish("container", "commit", c.id,
                            self.lifecycle.attributes(c, comment=comment, imageID=img.id,
                                                      imageRef=commit_ref(repo, tag)))
        return img

    # -- events ------------------------------------------------------------------------------

    def _image_event(self, action: str, image_id: str, name: str, img: Image | None = None) -> None:
        """An image event as moby's ``LogImageEvent`` sends it: the image's labels (when it
        still exists) and ``name``, for the image ID."""
        attrs: dict[str, str] = {}
        if img is None:
            try:
                img = self.images.get(image_id)
            except EngineError:
                img = None
        if img is not None:
            attrs.update({k: str(v) for k, v in (img.container_config.get("Labels") or {}).items()})
        attrs["name"] = name
        self.events.publish("image", action, image_id, attrs)


def event_owners(report: list[dict[str, str]], asked: str) -> list[str]:
    """The image ID each report item's event is named by.

    Docker names untag and delete events by the image ID (not the reference). An
    "Untagged" item belongs to the image of the next "Deleted" one (a pruned parent is
    untagged, then deleted), else to the image asked for.
    """
    owners: list[str] = []
    owner = asked
    for item in reversed(report):
        owner = item.get("Deleted") or owner
        owners.append(owner)
    owners.reverse()
    return owners


def familiar_match(pattern: str, familiar: str) -> bool:
    """distribution's FamiliarMatch: Go path.Match against "name:tag" and "name"."""
    rx = re.compile("".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
                            for c in pattern) + r"\Z")
    name = familiar.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return bool(rx.match(familiar) or rx.match(name))


def commit_ref(repo: str, tag: str) -> str:
    """The reference a commit tagged (docker's ``imageRef`` attribute), "" if none."""
    if not repo:
        return ""
    try:
        ref = references.parse(f"{repo}:{tag}" if tag else repo)
    except EngineError:
        return ""
    return ref.with_default_tag().familiar()
