"""moby's event filter and event stream (baleine.engine.events)."""

from __future__ import annotations

import asyncio
import time

import pytest

from baleine.engine.events import Events, EventStream, matches
from baleine.rules.filters import Filters


def _msg(type_: str, action: str, actor: str, **attrs: str) -> dict:
    events = Events()
    events.publish(type_, action, actor, attrs)
    return events.history[-1]


START = _msg("container", "start", "abc123", name="web", image="busybox:1.36", tier="front")
HEALTH = _msg("container", "health_status: healthy", "abc123", name="web", image="busybox")
PULL = _msg("image", "pull", "sha256:ff", name="alpine:3.19")


@pytest.mark.parametrize(("filters", "msg", "expected"), [
    ({}, START, True),
    ({"type": ["container"]}, START, True),
    ({"type": ["image"]}, START, False),
    ({"event": ["start"]}, START, True),
    ({"event": ["sta"]}, START, False),
    ({"event": ["health_status"]}, HEALTH, True),  # moby #25798: prefix then
    ({"container": ["abc"]}, START, True),
    ({"container": ["we"]}, START, True),
    ({"container": ["xyz"]}, START, False),
    ({"image": ["busybox"]}, START, True),  # the tag is stripped
    ({"image": ["busybox:1.36"]}, START, True),
    ({"image": ["alpine"]}, PULL, True),
    ({"image": ["alpine"]}, START, False),
    ({"label": ["tier=front"]}, START, True),
    ({"label": ["tier=back"]}, START, False),
    ({"scope": ["local"]}, START, True),
    ({"scope": ["swarm"]}, START, False),
])
def test_matches_as_moby(filters: dict, msg: dict, expected: bool) -> None:
    assert matches(msg, Filters(filters)) is expected


def test_stream_replays_history_then_live_until_closed() -> None:
    async def run() -> list[str]:
        events = Events()
        events.loop = asyncio.get_running_loop()
        events.publish("container", "create", "c1")
        events.publish("network", "create", "n1")
        closed = False
        stream = EventStream(events, Filters({"type": ["container"]}), 0, None, lambda: closed)
        assert len(events.subscribers) == 1  # subscribed when made, before any await
        events.publish("container", "start", "c1")
        seen = [(await stream.__anext__())["Action"], (await stream.__anext__())["Action"]]
        closed = True
        async for _ in stream:  # ends at the next wake-up
            pass
        assert not events.subscribers
        return seen

    assert asyncio.run(run()) == ["create", "start"]


def test_stream_with_past_until_replays_only() -> None:
    async def run() -> list[str]:
        events = Events()
        events.loop = asyncio.get_running_loop()
        events.publish("container", "create", "c1")
        stream = EventStream(events, Filters(), None, time.time_ns(), lambda: False)
        events.publish("container", "start", "c1")
        out = [m["Action"] async for m in stream]
        assert not events.subscribers
        return out

    assert asyncio.run(run()) == ["create"]
