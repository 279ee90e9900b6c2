"""Log streams of several containers, merged line by line, each line prefixed with its
container's name (padded to the longest) and a colour per service, as docker compose
prints them: ``demo-db-1   | database system is ready``."""

from __future__ import annotations

import struct
import sys
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from ..client import APIError, Client, ConnectionFailed

# docker compose's rotation: cyan, yellow, green, magenta, blue, then the bright ones.
COLORS = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"]


def color_for(index: int) -> str:
    return COLORS[index % len(COLORS)]


class LogPrinter:
    """Writes prefixed lines to ``out`` (binary), one lock for all streams so that lines
    never interleave."""

    def __init__(self, out: BinaryIO | None = None, color: bool = True, prefix: bool = True,
                 width: int = 0) -> None:
        self.out = out or sys.stdout.buffer
        self.color = color
        self.prefix = prefix
        self.width = width
        self.lock = threading.Lock()
        self.colors: dict[str, str] = {}

    def _prefix(self, name: str, service: str) -> bytes:
        if not self.prefix:
            return b""
        text = f"{name.ljust(self.width)} | "
        if self.color:
            code = self.colors.setdefault(service, color_for(len(self.colors)))
            text = f"\x1b[{code}m{text}\x1b[0m"
        return text.encode()

    def line(self, name: str, service: str, data: bytes) -> None:
        """One line (with its newline or not) from container ``name``."""
        if not data.endswith(b"\n"):
            data += b"\n"
        with self.lock:
            self.out.write(self._prefix(name, service) + data)
            self.out.flush()

    def message(self, text: str) -> None:
        """A line of compose's own (``demo-web-1 exited with code 0``)."""
        with self.lock:
            self.out.write(text.encode() + b"\n")
            self.out.flush()

    def stream(self, client: Client, container: dict[str, Any], params: dict[str, Any],
               on_end: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Copy one container's logs (``client.containers.logs`` with ``params`` as its
        keyword arguments: stdout, stderr, follow, tail, timestamps, since, until) until
        they end; then call ``on_end(container)``. Blocking: run it in a thread."""
        name = container["Name"]
        service = container["Service"]
        buffers = {1: b"", 2: b""}

        def emit(stream: int, chunk: bytes) -> None:
            buf = buffers.get(stream, b"") + chunk
            *lines, rest = buf.split(b"\n")
            for ln in lines:
                self.line(name, service, ln + b"\n")
            buffers[stream] = rest

        try:
            resp = client.containers.logs(container["Id"], **params)
        except (APIError, ConnectionFailed):
            if on_end:
                on_end(container)
            return
        pending = b""
        try:
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                if container.get("Tty"):
                    emit(1, chunk)
                    continue
                pending += chunk
                while len(pending) >= 8:
                    stream, size = struct.unpack(">BxxxL", pending[:8])
                    if len(pending) < 8 + size:
                        break
                    emit(stream, pending[8:8 + size])
                    pending = pending[8 + size:]
        except OSError:
            pass
        finally:
            resp.close()
        for stream, rest in buffers.items():
            if rest:
                self.line(name, service, rest)
        if on_end:
            on_end(container)


def follow_all(printer: LogPrinter, client: Client, containers: list[dict[str, Any]], params: dict[str, Any],
               on_end: Callable[[dict[str, Any]], None] | None = None) -> list[threading.Thread]:
    """One daemon thread per container streaming its logs; returns the threads."""
    threads = []
    for c in containers:
        t = threading.Thread(target=printer.stream, args=(client, c, params, on_end), daemon=True)
        t.start()
        threads.append(t)
    return threads
