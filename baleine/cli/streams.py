"""Terminal and stream plumbing for attach, run and exec: raw mode, stdin copying,
demultiplexing stdout/stderr frames, window-size propagation, and detach keys.

Detach keys, as the docker CLI handles them: the sequence is the ``--detach-keys``
option, else ``detachKeys`` in the client's config.json, else ctrl-p,ctrl-q; it is
passed to the daemon and also watched for on our side, but only when stdin is a
terminal (without a TTY, stdin is data and every byte goes through).
"""

from __future__ import annotations

import os
import select
import struct
import sys
# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable
    from typing import Any


DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p,ctrl-q


def configured_detach_keys(option: str | None) -> str | None:
    """The detach-keys spec to use: the option, else config.json's ``detachKeys``
    (None when neither is set: the daemon's default applies)."""
    if option:
        return option
    from ..client.credentials import CredentialsError, load_config

    try:
        keys = load_config().get("detachKeys")
    except CredentialsError:
        return None
    return keys if isinstance(keys, str) and keys else None


def parse_detach_keys(spec: str | None) -> bytes:
    """The bytes of a spec such as ``ctrl-p,ctrl-q`` or ``ctrl-a,x``; the default
    sequence when the spec is empty or invalid (the docker CLI falls back the same way)."""
    from ..rules.detachkeys import parse
    from ..rules.errors import InvalidParameter

    try:
        return parse(spec)
    except InvalidParameter:
        return DEFAULT_DETACH_KEYS


class DetachWatch:
    """Finds the detach sequence in typed input, across reads.

    ``feed`` returns the bytes to send on; ``detached`` is set once the whole
    sequence was typed, the last key of which is kept back (as the docker CLI does):
    the daemon, which holds back the prefix, never passes the sequence on.
    """

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.matched = 0
        self.detached = False

    def feed(self, data: bytes) -> bytes:
        for i, b in enumerate(data):
            if b == self.keys[self.matched]:
                self.matched += 1
                if self.matched == len(self.keys):
                    self.detached = True
                    return data[:i]
            else:
                self.matched = 1 if b == self.keys[0] else 0
        return data


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
         on_resize: Callable[[int, int], None] | None = None, close_on_eof: bool = True,
         detach_keys: str | None = None) -> bool:
    """Relay until the daemon closes the stream, or the user detaches.

    Output: raw with a TTY, demultiplexed otherwise. Input (when ``send_stdin``):
    stdin is copied to the socket; at its end the socket is half-closed so the
    process sees EOF while output keeps flowing. With a TTY and stdin on a
    terminal, typing the detach sequence (``detach_keys``, a spec; the default
    when None) ends the relay. Returns True when the user detached.
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
        import signal  # only for a terminal: signal's import builds its enums (CPU at start-up)

        def handler(*_: object) -> None:
            size = terminal_size()
            if size:
                on_resize(*size)

        signal.signal(signal.SIGWINCH, handler)
    stdin_open = send_stdin
    watch = DetachWatch(parse_detach_keys(detach_keys)) if tty and send_stdin and os.isatty(0) else None
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
                        import socket  # only now: its import costs the CLI's start-up

                        try:
                            sock.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    continue
                if watch is not None:
                    data = watch.feed(data)
                try:
                    if data:
                        sock.sendall(data)
                except OSError:
                    stdin_open = False
                if watch is not None and watch.detached:
                    break
    sock.close()
    return watch is not None and watch.detached
