"""Volumes: ``/volumes/...`` (docker-py's ``api/volume.py``)."""

from __future__ import annotations

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .transport import Transport


class Volumes:
    """Volume requests to one daemon."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, config: dict[str, Any]) -> dict[str, Any]:
        """``POST /volumes/create``: the volume."""
        return self._t.call("POST", "/volumes/create", None, config)

    def list(self, filters: str | None = None) -> dict[str, Any]:
        """``GET /volumes``: ``{"Volumes": [...], "Warnings": [...]}``."""
        return self._t.call("GET", "/volumes", {"filters": filters}) or {}

    def inspect(self, name: str) -> dict[str, Any]:
        """``GET /volumes/{name}``."""
        return self._t.call("GET", f"/volumes/{name}")

    def remove(self, name: str, force: bool | None = None) -> None:
        """``DELETE /volumes/{name}``."""
        self._t.call("DELETE", f"/volumes/{name}", {"force": force})

    def prune(self, filters: str | None = None, all: bool | None = None) -> dict[str, Any]:
        """``POST /volumes/prune``: ``{"VolumesDeleted": [...], "SpaceReclaimed": n}``."""
        return self._t.call("POST", "/volumes/prune", {"filters": filters, "all": all}) or {}
