"""Docker's JSON progress messages (``jsonmessage``), as pull and push stream them.

Each message is one JSON object: ``{"status": ..., "id": <short id>, "progressDetail":
{"current": n, "total": m}, "progress": "[==>  ] 1MB/2MB"}``, an error
``{"errorDetail": {"message": ...}, "error": ...}``, or an ``aux`` result. The docker
CLI draws its bars from ``progressDetail``; ``progress`` is the pre-rendered text
that old clients print. Pure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]
Sink = Callable[[Message], None]


def human_size(n: float) -> str:
    """Decimal sizes as go-units ``HumanSize`` (``1.23MB``)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.4g}{units[i]}"


def bar(current: int, total: int, width: int = 50) -> str:
    """The text of a progress bar, as Docker's ``JSONProgress.String`` renders it."""
    if total <= 0:
        return f"{human_size(current):>8}"
    pct = min(1.0, current / total)
    filled = int(width * pct)
    arrow = "=" * max(0, filled - 1) + (">" if filled else "")
    return f"[{arrow}{' ' * (width - len(arrow))}] {human_size(current):>8}/{human_size(total)}"


def status(text: str, id_: str | None = None) -> Message:
    """A plain status line (``Pulling from x``, ``Digest: …``), optionally with an id."""
    if id_ is None:
        return {"status": text}
    return {"status": text, "id": id_}


def update(text: str, id_: str) -> Message:
    """A layer's new state (``Pull complete``): with an empty ``progressDetail``, as Docker
    sends it, so that clients redraw that layer's line in place."""
    return {"status": text, "progressDetail": {}, "id": id_}


def progress(text: str, id_: str, current: int, total: int) -> Message:
    return {"status": text, "progressDetail": {"current": current, "total": total},
            "progress": bar(current, total), "id": id_}


def error(message: str) -> Message:
    return {"errorDetail": {"message": message}, "error": message}


def aux(data: dict[str, Any]) -> Message:
    return {"progressDetail": {}, "aux": data}


class Throttle:
    """Rate-limits progress updates per id (Docker sends at most one per 100 ms)."""

    def __init__(self, sink: Sink, interval: float = 0.1) -> None:
        self.sink = sink
        self.interval = interval
        self._last: dict[str, float] = {}

    def __call__(self, text: str, id_: str, current: int, total: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last.get(id_, 0.0) < self.interval and current < total:
            return
        self._last[id_] = now
        self.sink(progress(text, id_, current, total))
