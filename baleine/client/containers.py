"""Containers: ``/containers/...`` and ``/commit`` (docker-py's ``api/container.py``).

Query parameters left as ``None`` are not sent, so the daemon applies its defaults.
Errors raise ``APIError``; an unreachable daemon ``ConnectionFailed``.
"""

from __future__ import annotations

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator
    from typing import Any, BinaryIO

    from .transport import Response, Transport


def _path(ref: str, action: str = "") -> str:
    return f"/containers/{ref}/{action}" if action else f"/containers/{ref}"


class Containers:
    """Container requests to one daemon."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, all: bool | None = None, size: bool | None = None, limit: int | None = None,
             filters: str | None = None) -> list[dict[str, Any]]:
        """``GET /containers/json``; ``filters`` is the API's JSON filter map."""
        return self._t.call("GET", "/containers/json",
                            {"all": all, "size": size, "limit": limit, "filters": filters}) or []

    def create(self, config: dict[str, Any], name: str | None = None,
               platform: str | None = None) -> dict[str, Any]:
        """``POST /containers/create``: ``{"Id": ..., "Warnings": [...]}``."""
        return self._t.call("POST", "/containers/create", {"name": name, "platform": platform}, config)

    def inspect(self, ref: str, size: bool | None = None) -> dict[str, Any]:
        """``GET /containers/{ref}/json``."""
        return self._t.call("GET", _path(ref, "json"), {"size": size})

    def start(self, ref: str) -> None:
        """``POST /containers/{ref}/start`` (a started container is not an error)."""
        self._t.call("POST", _path(ref, "start"))

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        """``POST /containers/{ref}/stop``; ``timeout`` in seconds before SIGKILL."""
        self._t.call("POST", _path(ref, "stop"), {"t": timeout, "signal": signal})

    def restart(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        """``POST /containers/{ref}/restart``."""
        self._t.call("POST", _path(ref, "restart"), {"t": timeout, "signal": signal})

    def kill(self, ref: str, signal: str | None = None) -> None:
        """``POST /containers/{ref}/kill``."""
        self._t.call("POST", _path(ref, "kill"), {"signal": signal})

    def remove(self, ref: str, force: bool | None = None, volumes: bool | None = None,
               link: bool | None = None) -> None:
        """``DELETE /containers/{ref}``; ``volumes`` removes its anonymous volumes."""
        self._t.call("DELETE", _path(ref), {"force": force, "v": volumes, "link": link})

    def pause(self, ref: str) -> None:
        """``POST /containers/{ref}/pause``."""
        self._t.call("POST", _path(ref, "pause"))

    def unpause(self, ref: str) -> None:
        """``POST /containers/{ref}/unpause``."""
        self._t.call("POST", _path(ref, "unpause"))

    def wait(self, ref: str, condition: str | None = None) -> dict[str, Any]:
        """``POST /containers/{ref}/wait`` until the condition: ``{"StatusCode": ...}``."""
        return self._t.call("POST", _path(ref, "wait"), {"condition": condition})

    def wait_response(self, ref: str, condition: str | None = None) -> Response:
        """``POST /containers/{ref}/wait`` returned as soon as its head arrives, so the
        wait is registered before the container starts; read the body for the status."""
        return self._t.stream("POST", _path(ref, "wait"), {"condition": condition})

    def rename(self, ref: str, name: str) -> None:
        """``POST /containers/{ref}/rename``."""
        self._t.call("POST", _path(ref, "rename"), {"name": name})

    def changes(self, ref: str) -> list[dict[str, Any]]:
        """``GET /containers/{ref}/changes``: ``[{"Path": ..., "Kind": 0|1|2}]``."""
        return self._t.call("GET", _path(ref, "changes")) or []

    def top(self, ref: str, ps_args: str | None = None) -> dict[str, Any]:
        """``GET /containers/{ref}/top``: ``{"Titles": [...], "Processes": [[...]]}``."""
        return self._t.call("GET", _path(ref, "top"), {"ps_args": ps_args})

    def update(self, ref: str, resources: dict[str, Any]) -> dict[str, Any]:
        """``POST /containers/{ref}/update``: ``{"Warnings": [...]}``."""
        return self._t.call("POST", _path(ref, "update"), None, resources) or {}

    def resize(self, ref: str, height: int, width: int) -> None:
        """``POST /containers/{ref}/resize`` (the TTY's size)."""
        self._t.call("POST", _path(ref, "resize"), {"h": height, "w": width})

    def logs(self, ref: str, stdout: bool = True, stderr: bool = True, follow: bool | None = None,
             tail: str | None = None, timestamps: bool | None = None, since: str | None = None,
             until: str | None = None, details: bool | None = None) -> Response:
        """``GET /containers/{ref}/logs``: the open response (multiplexed unless TTY)."""
        params = {"stdout": stdout, "stderr": stderr, "follow": follow, "tail": tail,
                  "timestamps": timestamps, "since": since, "until": until, "details": details}
        return self._t.stream("GET", _path(ref, "logs"), params)

    def attach(self, ref: str, stdin: bool, stdout: bool = True, stderr: bool = True,
               logs: bool | None = None, detach_keys: str | None = None) -> tuple[socket.socket, bytes]:
        """``POST /containers/{ref}/attach?stream=1`` upgraded: the raw socket and any
        bytes already read past the response head."""
        params = {"stream": True, "stdin": stdin, "stdout": stdout, "stderr": stderr, "logs": logs,
                  "detachKeys": detach_keys}
        return self._t.hijack("POST", _path(ref, "attach"), params)

    def stats(self, ref: str, stream: bool = True, one_shot: bool | None = None) -> Iterator[dict[str, Any]]:
        """``GET /containers/{ref}/stats``: one JSON object per sample."""
        return self._t.json_stream("GET", _path(ref, "stats"), {"stream": stream, "one-shot": one_shot})

    def export(self, ref: str) -> Response:
        """``GET /containers/{ref}/export``: the open response, a tar of the filesystem."""
        return self._t.stream("GET", _path(ref, "export"))

    def stat_path(self, ref: str, path: str) -> Response:
        """``HEAD /containers/{ref}/archive``: the ``X-Docker-Container-Path-Stat`` header."""
        return self._t.stream("HEAD", _path(ref, "archive"), {"path": path})

    def get_archive(self, ref: str, path: str) -> Response:
        """``GET /containers/{ref}/archive``: the open response, a tar of ``path``."""
        return self._t.stream("GET", _path(ref, "archive"), {"path": path})

    def put_archive(self, ref: str, path: str, data: bytes | BinaryIO,
                    no_overwrite_dir_non_dir: bool | None = None, copy_uid_gid: bool | None = None) -> None:
        """``PUT /containers/{ref}/archive``: extract the tar ``data`` into ``path``
        (the flags travel as ``true``, the docker CLI's spelling, when set)."""
        params = {"path": path, "noOverwriteDirNonDir": "true" if no_overwrite_dir_non_dir else None,
                  "copyUIDGID": "true" if copy_uid_gid else None}
        self._t.call("PUT", _path(ref, "archive"), params, data)

    def commit(self, ref: str, repo: str | None = None, tag: str | None = None, message: str | None = None,
               author: str | None = None, pause: bool | None = None, changes: list[str] | None = None,
               config: dict[str, Any] | None = None) -> dict[str, Any]:
        """``POST /commit``: an image from the container's changes, ``{"Id": ...}``."""
        params = {"container": ref, "repo": repo, "tag": tag, "comment": message, "author": author,
                  "pause": pause, "changes": changes}
        return self._t.call("POST", "/commit", params, config if config is not None else {})

    def prune(self, filters: str | None = None) -> dict[str, Any]:
        """``POST /containers/prune``: ``{"ContainersDeleted": [...], "SpaceReclaimed": n}``."""
        return self._t.call("POST", "/containers/prune", {"filters": filters}) or {}
