"""Watch fan-out: every committed change becomes an event, kept in a window for ``?resourceVersion=N``.

Events carry the object as committed (its ``metadata.resourceVersion`` is the
event's). A watch from a resourceVersion older than the window is told ``410
Gone`` (``Expired``), as kube-apiserver does when etcd compacted it away.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Any

WINDOW = 4096


@dataclass(frozen=True)
class Event:
    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    rv: int
    object: dict[str, Any]


class TooOld(Exception):
    """The requested resourceVersion left the event window."""


class Hub:
    """Publishes events to subscribers; remembers the last ``WINDOW`` of them."""

    def __init__(self, start_rv: int = 0) -> None:
        self._events: collections.deque[Event] = collections.deque(maxlen=WINDOW)
        self._queues: set[asyncio.Queue[Event | None]] = set()
        self._oldest = start_rv  # events after this rv are all in the window

    def publish(self, event: Event) -> None:
        if len(self._events) == WINDOW:
            self._oldest = self._events[0].rv
        self._events.append(event)
        for q in self._queues:
            q.put_nowait(event)

    def subscribe(self, since: int) -> tuple[list[Event], asyncio.Queue[Event | None]]:
        """Events after ``since`` still in the window, and a queue of the ones to come."""
        if since < self._oldest:
            raise TooOld(since)
        backlog = [e for e in self._events if e.rv > since]
        q: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues.add(q)
        return backlog, q

    def unsubscribe(self, q: asyncio.Queue[Event | None]) -> None:
        self._queues.discard(q)

    def close(self) -> None:
        """End every watch (the server stops)."""
        for q in self._queues:
            q.put_nowait(None)
