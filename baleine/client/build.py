"""Build: ``/build`` and ``/build/prune`` (docker-py's ``api/build.py``).

The request body is the build context as a tar (``client.build_context``).
"""

from __future__ import annotations

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, BinaryIO

    from .transport import Transport


class Build:
    """Build requests to one daemon."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def build(self, context: BinaryIO | bytes, params: dict[str, Any],
              headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """``POST /build``: the progress messages. ``params`` are the API's query
        parameters (``t``, ``dockerfile``, ``buildargs``... as the API spells them:
        the builder has too many to mirror one by one)."""
        return self._t.json_stream("POST", "/build", params, context, headers)

    def prune(self, all: bool | None = None, filters: str | None = None,
              keep_storage: int | None = None) -> dict[str, Any]:
        """``POST /build/prune``: ``{"CachesDeleted": [...], "SpaceReclaimed": n}``."""
        return self._t.call("POST", "/build/prune",
                            {"all": all, "filters": filters, "keep-storage": keep_storage}) or {}
