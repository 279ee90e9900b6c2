"""The volumes backend (``engine.interface.volumes.VolumesBackend``) over the local
volume records and the mount points (who uses what)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from ...rules.errors import InvalidParameter
from ...rules.filters import Filters
from ..containers.disk_usage import directory_size
from .local import Volume

PRUNE_FILTERS = {"label", "label!", "all"}


def volume_doc(v: Volume) -> dict[str, Any]:
    """Docker's ``Volume`` shape (a copy: callers may change it)."""
    return copy.deepcopy(v.doc)


class VolumesService:
    """Implements ``VolumesBackend`` for one engine (its ``volumes``, ``mountpoints``)."""

    def __init__(self, engine: Any) -> None:
        self.volumes = engine.volumes
        self.mountpoints = engine.mountpoints

    async def list(self, filters: Filters) -> list[dict[str, Any]]:
        return [volume_doc(v) for v in self.volumes.filter(filters, self.mountpoints.referenced())]

    async def create(self, name: str | None, driver: str, driver_opts: dict[str, str] | None,
                     labels: dict[str, str] | None) -> dict[str, Any]:
        return volume_doc(await asyncio.to_thread(self.volumes.create, name, driver, driver_opts, labels))

    async def inspect(self, name: str) -> dict[str, Any]:
        return volume_doc(self.volumes.get(name))

    async def update(self, name: str) -> None:
        self.volumes.get(name)
        raise InvalidParameter("volume update is only supported for cluster volumes")

    async def remove(self, name: str, force: bool) -> None:
        users = self.mountpoints.users_of(name)
        await asyncio.to_thread(self.volumes.remove, name, users, force)

    async def usage(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._usage)

    def _usage(self) -> list[dict[str, Any]]:
        out = []
        for v in self.volumes.list():
            doc = volume_doc(v)
            doc["UsageData"] = {"Size": directory_size(v.path), "RefCount": len(self.mountpoints.users_of(v.name))}
            out.append(doc)
        return out

    async def prune(self, filters: Filters) -> dict[str, Any]:
        filters.validate(PRUNE_FILTERS)
        everything = filters.bool_value("all")
        referenced = self.mountpoints.referenced()
        deleted, space = [], 0
        for v in self.volumes.list():
            if v.name in referenced or (not everything and not v.anonymous):
                continue
            if not filters.match_labels(v.doc.get("Labels") or {}):
                continue
            size = await asyncio.to_thread(self.volumes.size, v)
            await asyncio.to_thread(self.volumes.remove, v.name, self.mountpoints.users_of(v.name))
            deleted.append(v.name)
            space += size
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": space}
