"""The exec backend: processes run inside a running container (``docker exec``).
Exec instances are named by ID; an unknown one raises ``NotFound``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class ExecSession:
    """A started, attached exec: its monitor ``link`` and how to relay it."""

    id: str
    link: Any
    stdin: bool
    detach_keys: bytes


class ExecBackend(Protocol):
    async def create(self, container_ref: str, body: dict[str, Any]) -> str:
        """A new exec of an ``ExecConfig`` body in the container; its ID. Conflict if
        the container is not running, InvalidParameter for bad detach keys."""

    async def inspect(self, exec_id: str) -> dict[str, Any]:
        """``GET /exec/{id}/json``."""

    async def start_detached(self, exec_id: str, *, tty: bool, console_size: Any) -> None:
        """Start it in the background (Conflict if already started)."""

    async def start_attached(self, exec_id: str, *, tty: bool, console_size: Any) -> ExecSession:
        """Start it and return its streams; call ``on_state`` with each state the
        monitor reports and ``finish`` once the relay is over."""

    def on_state(self, exec_id: str, state: dict[str, Any]) -> None:
        """Record a state report of the exec's monitor (exit code, pid)."""

    async def failure(self, exec_id: str) -> str | None:
        """The error that kept the exec's process from starting, if any."""

    async def finish(self, exec_id: str) -> None:
        """End an attached exec once its relay is over: finished (``exec_die``) if its
        process has ended, else followed in the background (the client detached)."""

    async def resize(self, exec_id: str, height: int, width: int) -> None:
        """Resize its TTY."""
