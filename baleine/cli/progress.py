"""Rendering Docker's JSON progress stream (pull, push) as the docker CLI does.

On a terminal every layer id gets its own line, rewritten in place as its progress
changes (cursor movements, like docker's ``jsonmessage``); elsewhere only the
status changes are printed, one line each, and progress bars are skipped.
Standard library only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TextIO


class StreamError(Exception):
    """The stream carried an error message."""


def _size(n: float) -> str:
    units = ["B", "kB", "MB", "GB", "TB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.3g}{units[i]}"


def bar(current: int, total: int, width: int) -> str:
    """``[=====>     ]  12.3MB/45.6MB`` fitted to ``width`` columns."""
    if total <= 0:
        return _size(current)
    sizes = f"{_size(current)}/{_size(total)}"
    room = max(10, min(50, width - max(15, len(sizes)) - 4))
    filled = int(room * min(1.0, current / total))
    arrow = "=" * max(0, filled - 1) + (">" if filled else "")
    return f"[{arrow}{' ' * (room - len(arrow))}] {sizes:>15}"


class Display:
    """Feeds messages to a terminal or a plain stream (see module docstring)."""

    def __init__(self, out: TextIO | None = None, tty: bool | None = None, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.quiet = quiet
        self.lines: dict[str, int] = {}  # id -> line index among the live lines
        self.aux: list[dict[str, Any]] = []

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 80

    def feed(self, msg: dict[str, Any]) -> None:
        if msg.get("error") or msg.get("errorDetail"):
            raise StreamError(msg.get("error") or (msg.get("errorDetail") or {}).get("message", ""))
        if "aux" in msg:
            self.aux.append(msg["aux"])
            return
        if self.quiet:
            return
        status = msg.get("status", "")
        id_ = msg.get("id")
        detail = msg.get("progressDetail")
        if not self.tty:
            if detail and detail.get("total") and detail.get("current") is not None and \
                    status in ("Downloading", "Extracting", "Pushing"):
                return  # no bars off a terminal, as docker
            self.out.write(f"{id_}: {status}\n" if id_ else f"{status}\n")
            self.out.flush()
            return
        if id_ and detail is not None:
            if id_ not in self.lines:
                self.lines[id_] = len(self.lines)
                self.out.write("\n")
            diff = len(self.lines) - self.lines[id_]
            text = f"{id_}: {status}"
            if detail.get("total"):
                text += " " + bar(int(detail.get("current") or 0), int(detail["total"]), self._width() - len(text) - 2)
            text = text[: self._width() - 1]
            self.out.write(f"\x1b[{diff}A\x1b[2K\r{text}\x1b[{diff}B\r")
        else:
            self.lines = {}
            self.out.write(f"{id_}: {status}\n" if id_ else f"{status}\n")
        self.out.flush()

    def run(self, messages: Iterable[dict[str, Any]]) -> None:
        """Display a whole stream; StreamError on an error message."""
        for msg in messages:
            self.feed(msg)
