"""What ``compose up``/``down``… show while they work, like docker compose.

On a terminal: a block redrawn in place, a header (``[+] Running 2/3``) and one line
per resource (``Network``, ``Volume``, ``Container``, ``Image``) with its state and
how long it took::

    [+] Running 3/3
     ✔ Network demo_back     Created        0.1s
     ✔ Container demo-db-1   Healthy        5.6s
     ⠿ Container demo-app-1  Starting       0.4s

Elsewhere (``plain``): one line per state change, `` Container demo-db-1  Started``,
on stderr. ``quiet`` prints nothing. Thread-safe.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

#: States after which a resource is done (the others are in progress).
DONE = {"Created", "Started", "Healthy", "Running", "Stopped", "Removed", "Pulled", "Built", "Recreated",
        "Exited", "Killed", "Paused", "Unpaused", "Restarted", "Skipped", "Warning", "Found", "Waiting done"}
ERROR = "Error"
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass
class _Line:
    resource: str
    status: str
    detail: str = ""
    start: float = field(default_factory=time.monotonic)
    end: float | None = None


class Progress:
    """Resource states, drawn as the module docstring says (``mode``: tty, plain, quiet)."""

    def __init__(self, out: TextIO | None = None, mode: str = "auto", title: str = "Running") -> None:
        self.out = out or sys.stderr
        if mode == "auto":
            mode = "tty" if getattr(self.out, "isatty", lambda: False)() else "plain"
        self.mode = mode
        self.title = title
        self.lines: dict[str, _Line] = {}
        self.drawn = 0
        self.lock = threading.RLock()
        self.ticker: threading.Thread | None = None
        self.stopped = threading.Event()

    def event(self, resource: str, status: str, detail: str = "") -> None:
        """``resource`` (``"Container demo-db-1"``) is now in ``status``."""
        with self.lock:
            line = self.lines.get(resource)
            if line is None or (line.end is not None and status not in DONE and status != ERROR):
                if line is None:
                    line = self.lines[resource] = _Line(resource, status, detail)
                else:
                    line.status, line.detail, line.start, line.end = status, detail, time.monotonic(), None
            else:
                line.status, line.detail = status, detail
            if status in DONE or status == ERROR:
                line.end = time.monotonic()
            if self.mode == "plain":
                text = f" {resource}  {status}" + (f" {detail}" if detail else "")
                self.out.write(text + "\n")
                self.out.flush()
            elif self.mode == "tty":
                self._start_ticker()
                self._draw()

    def print(self, text: str) -> None:
        """A message above the block (build output, warnings)."""
        with self.lock:
            if self.mode == "quiet":
                return
            if self.mode == "tty":
                self._clear()
                self.out.write(text.rstrip("\n") + "\n")
                self.drawn = 0
                self._draw()
            else:
                self.out.write(text.rstrip("\n") + "\n")
            self.out.flush()

    def done(self) -> None:
        """Final drawing; the block stays on screen."""
        self.stopped.set()
        if self.ticker is not None:
            self.ticker.join(1)
        with self.lock:
            if self.mode == "tty" and self.lines:
                self._draw()
                self.drawn = 0

    # -- terminal -------------------------------------------------------------------------

    def _start_ticker(self) -> None:
        if self.ticker is None:
            self.ticker = threading.Thread(target=self._tick, daemon=True)
            self.ticker.start()

    def _tick(self) -> None:
        while not self.stopped.wait(0.1):
            with self.lock:
                if self.drawn:
                    self._draw()

    def _clear(self) -> None:
        if self.drawn:
            self.out.write(f"\x1b[{self.drawn}A")
            self.out.write("\x1b[J")

    def render(self, now: float | None = None, width: int = 80) -> list[str]:
        """The block's lines (header first), for the terminal and for tests."""
        now = time.monotonic() if now is None else now
        lines = list(self.lines.values())
        finished = sum(1 for x in lines if x.end is not None)
        out = [f"[+] {self.title} {finished}/{len(lines)}"]
        name_w = max((len(x.resource) for x in lines), default=0)
        frame = _SPINNER[int(now * 10) % len(_SPINNER)]
        for x in lines:
            if x.status == ERROR:
                mark = "✘"
            elif x.end is not None:
                mark = "✔"
            else:
                mark = frame
            elapsed = (x.end or now) - x.start
            text = f"{x.status}" + (f" {x.detail}" if x.detail else "")
            left = f" {mark} {x.resource.ljust(name_w)}  {text}"
            timing = f"{elapsed:.1f}s"
            pad = max(1, width - len(left) - len(timing) - 1)
            out.append(f"{left}{' ' * pad}{timing}")
        return out

    def _draw(self) -> None:
        try:
            import os

            width = os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError, AttributeError):
            width = 80
        lines = self.render(width=width)
        self._clear()
        self.out.write("\n".join(line[:width - 1] for line in lines) + "\n")
        self.out.flush()
        self.drawn = len(lines)
