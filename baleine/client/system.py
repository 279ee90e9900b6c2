"""The daemon itself: version, info, events, df, auth (docker-py's ``api/daemon.py``)."""

from __future__ import annotations

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from .transport import Transport


class System:
    """Daemon-wide requests."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def version(self) -> dict[str, Any]:
        """``GET /version``."""
        return self._t.call("GET", "/version")

    def info(self) -> dict[str, Any]:
        """``GET /info``."""
        return self._t.call("GET", "/info")

    def df(self) -> dict[str, Any]:
        """``GET /system/df``: disk usage of images, containers, volumes, build cache."""
        return self._t.call("GET", "/system/df")

    def events(self, since: str | None = None, until: str | None = None,
               filters: str | None = None) -> Iterator[dict[str, Any]]:
        """``GET /events``: one message per event, until ``until`` or forever."""
        return self._t.json_stream("GET", "/events", {"since": since, "until": until, "filters": filters})

    def auth(self, config: dict[str, Any]) -> dict[str, Any]:
        """``POST /auth``: check credentials with a registry (``Status``, ``IdentityToken``)."""
        return self._t.call("POST", "/auth", None, config) or {}
