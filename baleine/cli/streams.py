"""Terminal and stream plumbing for attach, run and exec: raw mode, stdin copying,
demultiplexing stdout/stderr frames, and window-size propagation."""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import sys
# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def terminal_size() -> tuple[int, int] | None:
    """(rows, cols) of the controlling terminal on stdout, or None."""
    for fd in (1, 0, 2):
        try:
            size = os.get_terminal_size(fd)
            return size.lines, size.columns
        except OSError:
            continue
    return None


class RawTerminal:
    """Put stdin's terminal in raw mode for the duration of a ``with`` block."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and os.isatty(0)
        self.saved: Any = None

    def __enter__(self) -> "RawTerminal":
        if self.enabled:
            import termios
            import tty

            self.saved = termios.tcgetattr(0)
            tty.setraw(0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, self.saved)


class Demuxer:
    """Splits Docker's multiplexed frames into stdout and stderr writes."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes, out: Callable[[int, bytes], None]) -> None:
        self.buf += data
        while len(self.buf) >= 8:
            stream, size = struct.unpack(">BxxxL", self.buf[:8])
            if len(self.buf) < 8 + size:
                return
            out(stream, self.buf[8:8 + size])
            self.buf = self.buf[8 + size:]


def write_stream(stream: int, data: bytes) -> None:
    target = sys.stderr.buffer if stream == 2 else sys.stdout.buffer
    target.write(data)
    target.flush()


def pump(sock: socket.socket, initial: bytes, tty: bool, send_stdin: bool,
         on_resize: Callable[[int, int], None] | None = None, close_on_eof: bool = True) -> None:
    """Relay until the daemon closes the stream.

    Output: raw with a TTY, demultiplexed otherwise. Input (when ``send_stdin``):
    stdin is copied to the socket; at its end the socket is half-closed so the
    process sees EOF while output keeps flowing.
    """
    demux = Demuxer()

    def output(data: bytes) -> None:
        if tty:
            write_stream(1, data)
        else:
            demux.feed(data, write_stream)

    if initial:
        output(initial)
    if on_resize is not None and tty:
        def handler(*_: object) -> None:
            size = terminal_size()
            if size:
                on_resize(*size)

        signal.signal(signal.SIGWINCH, handler)
    stdin_open = send_stdin
    with RawTerminal(tty and send_stdin):
        while True:
            fds = [sock] + ([0] if stdin_open else [])
            try:
                ready, _, _ = select.select(fds, [], [])
            except InterruptedError:
                continue
            if sock in ready:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    break
                output(data)
            if 0 in ready and stdin_open:
                data = os.read(0, 65536)
                if not data:
                    stdin_open = False
                    if close_on_eof:
                        try:
                            sock.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    continue
                try:
                    sock.sendall(data)
                except OSError:
                    stdin_open = False
    sock.close()
