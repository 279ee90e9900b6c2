"""Images: ``/images/...`` (docker-py's ``api/image.py``): list, inspect, tag,
remove, history, save/load/import, pull/push, search, prune.

Pull and push take the ``X-Registry-Auth`` header as prepared by ``client.auth``.
Streamed operations yield the daemon's JSON progress messages; an ``error`` in a
message is the caller's to report (the HTTP status is already 200 by then).
"""

from __future__ import annotations

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, BinaryIO

    from .transport import Response, Transport


class Images:
    """Image requests to one daemon."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, all: bool | None = None, digests: bool | None = None,
             filters: str | None = None) -> list[dict[str, Any]]:
        """``GET /images/json``; ``filters`` is the API's JSON filter map."""
        return self._t.call("GET", "/images/json", {"all": all, "digests": digests, "filters": filters}) or []

    def inspect(self, ref: str) -> dict[str, Any]:
        """``GET /images/{ref}/json``."""
        return self._t.call("GET", f"/images/{ref}/json")

    def history(self, ref: str) -> list[dict[str, Any]]:
        """``GET /images/{ref}/history``, newest layer first."""
        return self._t.call("GET", f"/images/{ref}/history") or []

    def tag(self, ref: str, repo: str, tag: str | None = None) -> None:
        """``POST /images/{ref}/tag``."""
        self._t.call("POST", f"/images/{ref}/tag", {"repo": repo, "tag": tag})

    def remove(self, ref: str, force: bool | None = None, noprune: bool | None = None) -> list[dict[str, str]]:
        """``DELETE /images/{ref}``: ``[{"Untagged": ...} | {"Deleted": ...}]``."""
        return self._t.call("DELETE", f"/images/{ref}", {"force": force, "noprune": noprune}) or []

    def save(self, names: list[str]) -> Response:
        """``GET /images/get``: the open response, a tar of the images."""
        return self._t.stream("GET", "/images/get", {"names": names})

    def load(self, data: BinaryIO, quiet: bool | None = None) -> Iterator[dict[str, Any]]:
        """``POST /images/load`` with the tar ``data`` streamed up."""
        return self._t.json_stream("POST", "/images/load", {"quiet": quiet}, data)

    def import_(self, data: BinaryIO, repo: str | None = None, tag: str | None = None,
                message: str | None = None, changes: list[str] | None = None,
                platform: str | None = None) -> Iterator[dict[str, Any]]:
        """``POST /images/create?fromSrc=-``: an image from a filesystem tarball."""
        params = {"fromSrc": "-", "repo": repo, "tag": tag, "message": message, "changes": changes,
                  "platform": platform}
        return self._t.json_stream("POST", "/images/create", params, data)

    def pull(self, image: str, tag: str | None = None, platform: str | None = None,
             headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """``POST /images/create?fromImage=``; ``tag`` None pulls every tag."""
        params = {"fromImage": image, "tag": tag, "platform": platform}
        return self._t.json_stream("POST", "/images/create", params, headers=headers)

    def push(self, name: str, tag: str | None = None,
             headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """``POST /images/{name}/push``."""
        return self._t.json_stream("POST", f"/images/{name}/push", {"tag": tag}, headers=headers)

    def search(self, term: str, limit: int | None = None, filters: str | None = None) -> list[dict[str, Any]]:
        """``GET /images/search``."""
        return self._t.call("GET", "/images/search", {"term": term, "limit": limit, "filters": filters}) or []

    def prune(self, filters: str | None = None) -> dict[str, Any]:
        """``POST /images/prune``: ``{"ImagesDeleted": [...], "SpaceReclaimed": n}``."""
        return self._t.call("POST", "/images/prune", {"filters": filters}) or {}
