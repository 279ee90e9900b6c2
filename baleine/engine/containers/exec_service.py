"""The exec backend (``engine.interface.exec.ExecBackend``) over ``Execs``."""

from __future__ import annotations

from typing import Any

from ...rules import detachkeys as detach_keys
from ..interface.exec import ExecSession


class ExecService:
    """Implements ``ExecBackend`` for one engine (its ``containers`` and ``execs``)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        # Attached execs by ID until their relay ends: their container may be removed
        # (and its execs forgotten) meanwhile, and they must still be finished.
        self._attached: dict[str, Any] = {}
        self._over: set[str] = set()  # attached execs whose process has ended

    async def create(self, container_ref: str, body: dict[str, Any]) -> str:
        c = self.engine.containers.get(container_ref)
        if body.get("DetachKeys"):
            detach_keys.parse(body["DetachKeys"])
        return self.engine.execs.create(c, body).id

    async def inspect(self, exec_id: str) -> dict[str, Any]:
        return self.engine.execs.get(exec_id).inspect()

    async def start_detached(self, exec_id: str, *, tty: bool, console_size: Any) -> None:
        execs = self.engine.execs
        await execs.start(execs.get(exec_id), detach=True, tty=tty, console_size=console_size)

    async def start_attached(self, exec_id: str, *, tty: bool, console_size: Any) -> ExecSession:
        execs = self.engine.execs
        ex = execs.get(exec_id)
        link = await execs.start(ex, detach=False, tty=tty, console_size=console_size)
        assert link is not None  # attached starts always have their streams
        # Detach keys only mean something on a terminal.
        self._attached[ex.id] = ex
        keys = detach_keys.parse(ex.config.get("DetachKeys")) if ex.config.get("Tty") else b""
        return ExecSession(ex.id, link, bool(ex.config.get("AttachStdin")), keys)

    def _instance(self, exec_id: str) -> Any:
        return self._attached.get(exec_id) or self.engine.execs.get(exec_id)

    def on_state(self, exec_id: str, state: dict[str, Any]) -> None:
        if self.engine.execs.on_state(self._instance(exec_id), state):
            self._over.add(exec_id)

    async def failure(self, exec_id: str) -> str | None:
        return self._instance(exec_id).config.get("_error") or None

    async def finish(self, exec_id: str) -> None:
        ex = self._attached.pop(exec_id, None) or self.engine.execs.get(exec_id)
        if exec_id in self._over:
            self._over.discard(exec_id)
            self.engine.execs.finish(ex)
        else:  # the client left (detached) before the process ended
            self.engine.execs.follow(ex)

    async def resize(self, exec_id: str, height: int, width: int) -> None:
        execs = self.engine.execs
        execs.resize(execs.get(exec_id), height, width)
