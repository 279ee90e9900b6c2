"""The volumes backend (local driver). Volumes are named by name; an unknown one
raises ``NotFound``. Volumes are answered as Docker's ``Volume`` documents."""

from __future__ import annotations

from typing import Any, Protocol

from ...rules.filters import Filters


class VolumesBackend(Protocol):
    async def list(self, filters: Filters) -> list[dict[str, Any]]:
        """The volumes ``filters`` selects (``dangling`` counts container references)."""

    async def create(self, name: str | None, driver: str, driver_opts: dict[str, str] | None,
                     labels: dict[str, str] | None) -> dict[str, Any]:
        """Create one (anonymous when ``name`` is None); returns it, or the existing
        one of that name."""

    async def inspect(self, name: str) -> dict[str, Any]:
        """The volume."""

    async def update(self, name: str) -> None:
        """Always InvalidParameter (only cluster volumes can be updated), NotFound first."""

    async def remove(self, name: str, force: bool) -> None:
        """Remove it; Conflict while a container uses it (unless ``force``)."""

    async def usage(self) -> list[dict[str, Any]]:
        """Every volume with its ``UsageData`` (size, containers referring to it)."""

    async def prune(self, filters: Filters) -> dict[str, Any]:
        """Remove unused volumes (anonymous ones only unless ``all``; ``label``
        filters): ``{"VolumesDeleted", "SpaceReclaimed"}``."""
