"""A steady load for zero-downtime tests: one call after another, in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Load:
    """Calls ``fetch()`` every ``interval`` seconds in a thread while the ``with`` block
    runs: ``seen`` holds what the calls returned, ``failures`` why the others failed
    (any exception counts: a dropped connection, a bad answer)."""

    def __init__(self, fetch: Callable[[], Any], interval: float = 0.05) -> None:
        self.fetch, self.interval = fetch, interval
        self.seen: list[Any] = []
        self.failures: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            try:
                self.seen.append(self.fetch())
            except Exception as exc:  # noqa: BLE001 - every failure counts
                self.failures.append(repr(exc))
            self._done.wait(self.interval)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(30)
