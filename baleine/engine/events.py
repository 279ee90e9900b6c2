"""The event bus behind ``/events`` and ``docker events``.

Events are kept in memory (the last ``HISTORY`` of them, for ``--since``) and pushed
to subscribers' queues. ``publish`` is safe to call from worker threads.
``matches`` is moby's event filter, ``EventStream`` what ``/events`` answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..rules import references
from ..rules.errors import InvalidParameter
from ..rules.filters import Filters

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


# -- filtering (moby's events.Filter) ---------------------------------------------------

#: the filters moby's events filter looks at (others are ignored, as by docker)
NAME_FILTERS = ("daemon", "container", "plugin", "volume", "network", "node", "service", "secret", "config")
#: event filter values that make every "event" value a prefix (moby #25798)
FUZZY_EVENTS = {"health_status", "exec_create", "exec_start"}


def _strip_tag(image: str) -> str:
    """The repository of a reference, familiar (``busybox:1.35`` → ``busybox``)."""
    try:
        return references.parse(image).familiar_name
    except InvalidParameter:
        return image


def matches(msg: dict[str, Any], f: Filters) -> bool:
    """moby's ``events.Filter.Include``.

    ``type``, ``scope``, ``event``: exact (``event`` by prefix when one of its values
    is health_status, exec_create or exec_start, so that those match "health_status:
    healthy"...); ``container``, ``volume``, ``network``, ...: prefix of the actor's ID
    or of its name; ``image``: exact ID, name (image events) or image (container
    events), with or without tag; ``label``: ``k`` or ``k=v`` among the attributes.
    """
    actor = msg.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    actor_id = actor.get("ID", "")
    action = msg.get("Action", "")
    if FUZZY_EVENTS & set(f.get("event")):
        if not f.fuzzy_match("event", action):
            return False
    elif not f.exact_match("event", action):
        return False
    if not f.exact_match("type", msg.get("Type", "")):
        return False
    if f.contains("scope") and not f.exact_match("scope", msg.get("scope", "")):
        return False
    for kind in NAME_FILTERS:
        if f.contains(kind) and not (f.fuzzy_match(kind, actor_id) or f.fuzzy_match(kind, attrs.get("name", ""))):
            return False
    if f.contains("image"):
        image_name = attrs.get("name" if msg.get("Type") == "image" else "image", "")
        if not any(f.exact_match("image", v) for v in (actor_id, image_name, _strip_tag(actor_id),
                                                          _strip_tag(image_name))):
            return False
    if f.contains("label") and not f.match_kv("label", attrs):
        return False
    return True


class EventStream:
    """moby's getEvents over ``events``: the buffered events ``f`` selects between
    ``since`` and ``until`` (unix ns; when either is given), then the live ones until
    ``until`` (forever without it; none when it is past), ending when ``closed()``.

    It subscribes when made (not when first iterated), so that an event published
    once the caller has answered is never missed; ``aclose`` unsubscribes.
    """

    def __init__(self, events: Events, f: Filters, since: int | None, until: int | None,
                 closed: Callable[[], bool]) -> None:
        self.events, self.filters, self.until, self.closed = events, f, until, closed
        # Subscribe and snapshot the history together (no await in between): every
        # event is then either in the snapshot or in the queue, never in both or neither.
        self.queue = events.subscribe()
        buffered: list[dict[str, Any]] = []
        if since is not None or until is not None:
            low = since or 0
            buffered = [m for m in events.history
                        if m["timeNano"] >= low and (until is None or m["timeNano"] <= until) and matches(m, f)]
        self.buffered = deque(buffered)
        self.done = until is not None and until < time.time_ns()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self.buffered:
            return self.buffered.popleft()
        msg = None if self.done else await self._next_live()
        if msg is None:
            self.done = True
            await self.aclose()
            raise StopAsyncIteration
        return msg

    async def _next_live(self) -> dict[str, Any] | None:
        """The next live event selected, None once past ``until`` or closed."""
        until = self.until
        while True:
            timeout = None if until is None else (until - time.time_ns()) / 1e9
            if timeout is not None and timeout <= 0:
                return None
            try:
                # Wake up now and then: the reader may be gone without telling.
                msg = await asyncio.wait_for(self.queue.get(), 1.0 if timeout is None else min(timeout, 1.0))
            except asyncio.TimeoutError:
                if self.closed():
                    return None
                continue
            if until is not None and msg["timeNano"] > until:
                return None
            if matches(msg, self.filters):
                return msg

    async def aclose(self) -> None:
        self.events.unsubscribe(self.queue)
