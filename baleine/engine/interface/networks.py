"""The networks backend. Networks are named by ``ref`` (ID, ID prefix or name);
an unknown one raises ``NotFound``."""

from __future__ import annotations

from typing import Any, Protocol

from ...rules.filters import Filters


class NetworksBackend(Protocol):
    async def list(self, filters: Filters) -> list[dict[str, Any]]:
        """The summaries (``GET /networks``) of the networks ``filters`` selects."""

    async def inspect(self, ref: str, scope: str | None = None) -> dict[str, Any]:
        """Its inspect document; NotFound too when ``scope`` is given and not "local"."""

    async def create(self, body: dict[str, Any]) -> str:
        """Create one from a ``NetworkCreateRequest``; its ID (Conflict if the name is taken)."""

    async def remove(self, ref: str) -> None:
        """Remove it (Forbidden for predefined ones, Conflict while in use)."""

    async def connect(self, ref: str, container_ref: str, endpoint: dict[str, Any] | None) -> None:
        """Connect a container (InvalidParameter if ``container_ref`` is empty)."""

    async def disconnect(self, ref: str, container_ref: str, force: bool) -> None:
        """Disconnect a container (InvalidParameter if ``container_ref`` is empty)."""

    async def prune(self, filters: Filters) -> list[str]:
        """Remove the unused user-defined networks; the names removed."""

    async def balancers(self) -> list[dict[str, Any]]:
        """The balanced groups (``GET /baleine/balancers``; see ``engine/networks/balancer``)."""
