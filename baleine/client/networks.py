"""Networks: ``/networks/...`` (docker-py's ``api/network.py``)."""

from __future__ import annotations

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .transport import Transport


class Networks:
    """Network requests to one daemon."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, config: dict[str, Any]) -> dict[str, Any]:
        """``POST /networks/create``: ``{"Id": ..., "Warning": ...}``."""
        return self._t.call("POST", "/networks/create", None, config)

    def list(self, filters: str | None = None) -> list[dict[str, Any]]:
        """``GET /networks``; ``filters`` is the API's JSON filter map."""
        return self._t.call("GET", "/networks", {"filters": filters}) or []

    def inspect(self, ref: str) -> dict[str, Any]:
        """``GET /networks/{ref}``."""
        return self._t.call("GET", f"/networks/{ref}")

    def remove(self, ref: str) -> None:
        """``DELETE /networks/{ref}``."""
        self._t.call("DELETE", f"/networks/{ref}")

    def connect(self, ref: str, container: str, endpoint_config: dict[str, Any] | None = None) -> None:
        """``POST /networks/{ref}/connect``."""
        self._t.call("POST", f"/networks/{ref}/connect", None,
                     {"Container": container, "EndpointConfig": endpoint_config})

    def disconnect(self, ref: str, container: str, force: bool = False) -> None:
        """``POST /networks/{ref}/disconnect``."""
        self._t.call("POST", f"/networks/{ref}/disconnect", None, {"Container": container, "Force": force})

    def prune(self, filters: str | None = None) -> dict[str, Any]:
        """``POST /networks/prune``: ``{"NetworksDeleted": [...]}``."""
        return self._t.call("POST", "/networks/prune", {"filters": filters}) or {}

    def balancers(self) -> list[dict[str, Any]]:
        """``GET /baleine/balancers``: the balanced groups (Baleine's own endpoint)."""
        return self._t.call("GET", "/baleine/balancers") or []
