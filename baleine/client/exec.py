"""Exec: ``/containers/{id}/exec`` and ``/exec/...`` (docker-py's ``api/exec_api.py``)."""

from __future__ import annotations

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any

    from .transport import Transport


def _start_body(detach: bool, tty: bool, console_size: tuple[int, int] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"Detach": detach, "Tty": tty}
    if console_size:
        body["ConsoleSize"] = [console_size[0], console_size[1]]
    return body


class Exec:
    """Exec requests to one daemon."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, container: str, config: dict[str, Any]) -> str:
        """``POST /containers/{container}/exec``: the new exec's ID."""
        return self._t.call("POST", f"/containers/{container}/exec", None, config)["Id"]

    def start_detached(self, exec_id: str, tty: bool = False,
                       console_size: tuple[int, int] | None = None) -> None:
        """``POST /exec/{id}/start`` with ``Detach``: returns once the process runs."""
        self._t.call("POST", f"/exec/{exec_id}/start", None, _start_body(True, tty, console_size))

    def start(self, exec_id: str, tty: bool = False,
              console_size: tuple[int, int] | None = None) -> tuple[socket.socket, bytes]:
        """``POST /exec/{id}/start`` upgraded: the raw socket and any bytes already read."""
        return self._t.hijack("POST", f"/exec/{exec_id}/start", None, _start_body(False, tty, console_size))

    def resize(self, exec_id: str, height: int, width: int) -> None:
        """``POST /exec/{id}/resize``."""
        self._t.call("POST", f"/exec/{exec_id}/resize", {"h": height, "w": width})

    def inspect(self, exec_id: str) -> dict[str, Any]:
        """``GET /exec/{id}/json``: its state and ``ExitCode``."""
        return self._t.call("GET", f"/exec/{exec_id}/json")
