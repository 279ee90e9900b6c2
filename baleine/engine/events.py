"""The event bus behind ``/events`` and ``docker events``.

Events are kept in memory (the last ``HISTORY`` of them, for ``--since``) and pushed
to subscribers' queues. ``publish`` is safe to call from worker threads.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

HISTORY = 1000


class Events:
    """Publish/subscribe of Docker-shaped event messages."""

    def __init__(self) -> None:
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str] | None = None) -> None:
        """Record and fan out one event (thread-safe)."""
        now = time.time_ns()
        attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
        msg: dict[str, Any] = {
            "Type": type_,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": attrs},
            "scope": "local",
            "time": now // 1_000_000_000,
            "timeNano": now,
        }
        if type_ in ("container", "image"):
            # The pre-1.22 fields docker-py and old clients still read.
            msg["status"] = action
            msg["id"] = actor_id
            if "image" in attrs and type_ == "container":
                msg["from"] = attrs["image"]
        loop = self.loop
        if loop is not None and loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._deliver(msg)
            else:
                loop.call_soon_threadsafe(self._deliver, msg)
        else:
            self._deliver(msg)

    def _deliver(self, msg: dict[str, Any]) -> None:
        self.history.append(msg)
        for q in list(self.subscribers):
            q.put_nowait(msg)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self.subscribers.discard(q)

    def since(self, t: float) -> list[dict[str, Any]]:
        """Past events at or after unix time ``t``."""
        return [m for m in self.history if m["timeNano"] >= t * 1e9]
