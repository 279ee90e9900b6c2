"""Slow callbacks of a test daemon: the daemon runs with asyncio's debug mode
(``--debug-slow-callback``, see ``baleine.daemon.slowcallbacks``) and logs every callback
that held its event loop too long as one line::

    2026-12-04 07:00:00,000 WARNING baleine.loop: slow callback: <Task ...> took 0.123 s (cpu 0.118 s)

The fixtures (``tests/conftest.py``) read the daemon's log at teardown and fail
the test or session that owned the daemon, naming each such callback.

A callback fails the test when the loop thread spent the threshold in CPU time
on it, or when it took :data:`WALL_LIMIT` on the wall clock whatever the CPU: a
callback that took long only because the machine gave the thread no core (two
cores, a test suite, Chromium) is listed as a warning, not a failure.

``BALEINE_LOOP_CHECK=0`` turns the failure into a pytest warning (still listed in
pytest's output); the threshold is ``BALEINE_LOOP_THRESHOLD`` seconds (0.1;
``0`` runs the daemons without asyncio's debug mode at all, to compare timings).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

THRESHOLD = float(os.environ.get("BALEINE_LOOP_THRESHOLD") or 0.1)
WALL_LIMIT = float(os.environ.get("BALEINE_LOOP_WALL_LIMIT") or 1.0)
ENFORCED = os.environ.get("BALEINE_LOOP_CHECK", "1") not in ("0", "false", "no", "")

_LINE = re.compile(r"slow callback: (?P<what>.*) took (?P<seconds>\d+(?:\.\d+)?) s"
                   r"(?: \(cpu (?P<cpu>\d+(?:\.\d+)?) s\))?\s*$")


@dataclass(frozen=True)
class SlowCallback:
    """One callback that held the loop: what asyncio says it was, and for how long."""

    what: str
    seconds: float
    cpu: float | None = None

    @property
    def blocking(self) -> bool:
        """Whether this callback fails its test (see the module's docstring); with no
        CPU figure, the wall time decides."""
        if self.cpu is None:
            return self.seconds >= THRESHOLD
        return self.cpu >= THRESHOLD or self.seconds >= WALL_LIMIT

    def __str__(self) -> str:
        cpu = "" if self.cpu is None else f" (cpu {self.cpu:.3f} s)"
        return f"{self.seconds:.3f} s{cpu}: {self.what}"


def slow_callbacks(log_text: str) -> list[SlowCallback]:
    """Every ``slow callback: … took N s`` line of a daemon's log, in order."""
    out = []
    for line in log_text.splitlines():
        m = _LINE.search(line)
        if m:
            out.append(SlowCallback(m["what"], float(m["seconds"]), float(m["cpu"]) if m["cpu"] else None))
    return out


def report(owner: str, found: list[SlowCallback]) -> str:
    """The failure message: who owned the daemon and each callback, longest first."""
    lines = [f"the daemon of {owner} blocked its event loop {len(found)} time(s) "
             f"(>= {THRESHOLD:.3f} s of CPU or {WALL_LIMIT:.3f} s; BALEINE_LOOP_CHECK=0 to only warn):"]
    lines += [f"  {cb}" for cb in sorted(found, key=lambda cb: -cb.seconds)]
    return "\n".join(lines)
