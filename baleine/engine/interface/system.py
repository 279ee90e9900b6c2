"""The system backend: the daemon's identity (version, info), its event stream and
its disk usage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...rules.filters import Filters


@dataclass
class DiskUsageReport:
    """``GET /system/df``'s data; a kind not asked for is None.

    ``images``: (image record, number of containers, shared size); ``containers``:
    (container record, rw size, rootfs size); ``volumes``: Volume documents with
    their ``UsageData``; ``build_cache``: BuildCache documents.
    """

    layers_size: int = 0
    images: list[tuple[Any, int, int]] | None = None
    containers: list[tuple[Any, int, int]] | None = None
    volumes: list[dict[str, Any]] | None = None
    build_cache: list[dict[str, Any]] | None = field(default=None)


class SystemBackend(Protocol):
    async def version(self) -> dict[str, Any]:
        """``GET /version``."""

    async def info(self) -> dict[str, Any]:
        """``GET /info``."""

    async def events(self, filters: Filters, since: int | None, until: int | None,
                     closed: Callable[[], bool]) -> AsyncIterator[dict[str, Any]]:
        """The events ``filters`` selects: those buffered between ``since`` and ``until``
        (unix ns) when either is given, then the live ones until ``until``; subscribed
        on return, unsubscribed when the iterator is closed or ends, or ``closed()``."""

    async def disk_usage(self, types: set[str] | None) -> DiskUsageReport:
        """What images, containers, volumes and the build cache use (only ``types``,
        among container, image, volume, build-cache, when given: InvalidParameter for
        another)."""
