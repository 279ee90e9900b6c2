"""Crash-loop back-off, as the kubelet's ``flowcontrol.Backoff`` keyed by container.

Contract (Kubernetes 1.32): a container that exits is restarted at once the first
time; afterwards a restart waits until ``finished + delay`` where the delay starts
at 10 s and doubles at each restart up to 300 s. An entry not touched for twice
the maximum (10 min, i.e. the container ran that long) starts again from 10 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

INITIAL = 10.0
MAXIMUM = 300.0


@dataclass
class _Entry:
    delay: float
    updated: float


class Backoff:
    """Per-key delays (see the module's contract); ``clock`` is monotonic seconds."""

    def __init__(self, initial: float = INITIAL, maximum: float = MAXIMUM,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.initial, self.maximum, self.clock = initial, maximum, clock
        self._entries: dict[str, _Entry] = {}

    def _live(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and self.clock() - entry.updated > 2 * self.maximum:
            del self._entries[key]
            return None
        return entry

    def waiting(self, key: str, finished: float) -> float:
        """Seconds left before ``key``, which exited at ``finished``, may restart (0: now)."""
        entry = self._live(key)
        if entry is None:
            return 0.0
        return max(0.0, finished + entry.delay - self.clock())

    def delay(self, key: str) -> float:
        """The current delay of ``key`` (what the CrashLoopBackOff message says)."""
        entry = self._live(key)
        return entry.delay if entry is not None else self.initial

    def next(self, key: str) -> None:
        """Record a restart of ``key``: the next delay doubles (or starts at ``initial``)."""
        entry = self._live(key)
        now = self.clock()
        if entry is None:
            self._entries[key] = _Entry(self.initial, now)
        else:
            entry.delay, entry.updated = min(entry.delay * 2, self.maximum), now

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)


def describe(seconds: float) -> str:
    """A delay as Go's ``time.Duration`` prints it (``10s``, ``2m40s``, ``5m0s``)."""
    s = int(seconds)
    return f"{s}s" if s < 60 else f"{s // 60}m{s % 60}s"
