"""Reading containers' json-file logs (the monitor writes them; see monitor.JSONLog),
and the k8s-file logs conmon writes in their place (``runtime/conmon.py``): a line
``TIMESTAMP stdout|stderr F|P text`` (P: the message goes on, no newline). A line's
first byte tells the formats apart (``{`` or a digit).

Files: ``<log>`` is the current file, ``<log>.1`` … ``<log>.N`` older ones. A reader
returns entries oldest first, filtered by time and tail, and when following keeps
reading across rotations until the container stops. A follower sleeps until inotify
says the log's directory changed (``logwake``), so a line reaches it within
milliseconds; every ``POLL`` seconds it looks anyway (the container's end, a system
without inotify).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from ...rules.errors import InvalidParameter
from ...rules.timestamps import format_rfc3339nano_ns, parse_rfc3339, parse_rfc3339_ns
from . import logwake

POLL = 0.1


@dataclass
class LogEntry:
    """One message: ``data`` includes its trailing newline unless it was partial."""

    stream: str
    data: bytes
    time: str
    #: ``docker logs --details``'s prefix (``k=v,… ``); set by the reader when asked
    details: bytes = b""


def log_files(path: str) -> list[str]:
    """Existing log files of a container, oldest first."""
    rotated = []
    i = 1
    while os.path.exists(f"{path}.{i}"):
        rotated.append(f"{path}.{i}")
        i += 1
    files = list(reversed(rotated))
    if os.path.exists(path):
        files.append(path)
    return files


def _parse(line: bytes) -> LogEntry | None:
    if line[:1] != b"{":
        return _parse_k8s(line)
    try:
        d = json.loads(line)
        return LogEntry(d.get("stream", "stdout"), d.get("log", "").encode("utf-8", "surrogateescape"), d.get("time", ""))
    except (ValueError, AttributeError):
        return None  # a torn last line during a crash: skip it


def _parse_k8s(line: bytes) -> LogEntry | None:
    """A conmon k8s-file line; its local-offset time is given back in UTC, as docker's."""
    parts = line.split(b" ", 3)
    if len(parts) < 3 or parts[1] not in (b"stdout", b"stderr"):
        return None
    try:
        when = format_rfc3339nano_ns(parse_rfc3339_ns(parts[0].decode()))
    except (InvalidParameter, UnicodeDecodeError):
        return None
    text = parts[3] if len(parts) == 4 else b""
    return LogEntry(parts[1].decode(), text if parts[2] == b"P" else text + b"\n", when)


def _keep(entry: LogEntry, since: float | None, until: float | None) -> bool:
    if since is None and until is None:
        return True
    try:
        t = parse_rfc3339(entry.time)
    except ValueError:
        return True
    if since is not None and t < since:
        return False
    if until is not None and t > until:
        return False
    return True


def _read_file(name: str, since: float | None, until: float | None) -> list[LogEntry]:
    out = []
    try:
        with open(name, "rb") as f:
            for line in f:
                entry = _parse(line)
                if entry is not None and _keep(entry, since, until):
                    out.append(entry)
    except FileNotFoundError:
        pass
    return out


def _parse_lines(data: bytes, since: float | None, until: float | None) -> list[LogEntry]:
    return [e for line in data.split(b"\n") if line and (e := _parse(line)) is not None and _keep(e, since, until)]


def read_existing(path: str, since: float | None = None, until: float | None = None,
                  tail: int | None = None) -> list[LogEntry]:
    """Entries already written, oldest first; ``tail`` keeps only the last N."""
    out: deque[LogEntry] | list[LogEntry] = deque(maxlen=tail) if tail is not None else []
    if tail == 0:
        return []
    for name in log_files(path):
        out.extend(_read_file(name, since, until))
    return list(out)


# How much a follower handles before it lets other callbacks run: the consumer writes
# every entry to a client, so a slice is bounded in entries as well as in bytes.
_SLICE = 16 << 10
_BATCH = 100


async def follow(path: str, running: Callable[[], bool], since: float | None = None,
                 until: float | None = None, tail: int | None = None) -> AsyncIterator[LogEntry]:
    """Existing entries, then new ones as they are written, until ``running()`` is false."""
    # Before the first read, so that no write slips by; not for a plain read (nothing to wait for).
    wake = logwake.subscribe(os.path.dirname(path) or ".") if running() else None
    entries = _follow(path, running, since, until, tail, wake)
    try:
        async for entry in entries:
            yield entry
    finally:
        await entries.aclose()  # closes its file now, not when collected
        if wake is not None:
            wake.close()


async def _follow(path: str, running: Callable[[], bool], since: float | None, until: float | None,
                  tail: int | None, wake: logwake.Wake | None) -> AsyncIterator[LogEntry]:
    # History and live follow share one open file, so that nothing written in
    # between is lost or repeated: older files are read by name, the current one
    # through ``f`` up to where following starts.
    f = _open(path)
    history: deque[LogEntry] | list[LogEntry] = deque(maxlen=tail) if tail is not None else []
    if f is not None:
        rotated = [p for p in log_files(path) if p != path]
        for name in rotated:
            history.extend(await asyncio.to_thread(_read_file, name, since, until))
        data = await asyncio.to_thread(f.read)  # may be large (a container printing fast): not on the loop
        cut = data.rfind(b"\n") + 1
        f.seek(cut)
        history.extend(await asyncio.to_thread(_parse_lines, data[:cut], since, until))
    if tail != 0:
        for n, entry in enumerate(history, 1):
            yield entry
            if n % _BATCH == 0:
                await asyncio.sleep(0)  # a long history must not hold the loop either
    pending = b""
    while True:
        alive = running()
        if wake is not None:
            wake.event.clear()  # what is written from here on wakes the wait below
        if f is None:
            f = _open(path)
            pending = b""
        if f is not None:
            chunk = f.read(_SLICE)  # small slices: the loop parses them between other requests
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    entry = _parse(line)
                    if entry is not None and _keep(entry, since, until):
                        yield entry
                await asyncio.sleep(0)  # a fast writer must not hold the loop: let other requests run
                continue
            if _rotated(f, path):
                # Several rotations may have happened since the last look: go on
                # with the file that came right after this one, not the newest.
                nxt = _successor(f, path)
                f.close()
                f = nxt
                pending = b""
                continue
        if not alive:
            break
        if wake is not None:
            await wake.wait(POLL)
        else:
            await asyncio.sleep(POLL)
    if f is not None:
        f.close()


def _open(path: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def _successor(f, path: str):
    """The open log file written right after ``f`` (None: reopen the current one).

    Files are matched by inode, since rotation renames them. When ``f`` was rotated
    out of existence altogether, what came after it is the oldest file left.
    """
    try:
        ino = os.fstat(f.fileno()).st_ino
    except OSError:
        return None
    for _ in range(3):  # a rotation racing with the listing: try again
        files = log_files(path)
        inodes = []
        for name in files:
            try:
                inodes.append(os.stat(name).st_ino)
            except FileNotFoundError:
                inodes.append(None)
        nxt = files[inodes.index(ino) + 1] if ino in inodes and inodes.index(ino) + 1 < len(files) else (
            files[0] if files and ino not in inodes else None)
        if nxt is None:
            return None
        g = _open(nxt)
        if g is not None and os.fstat(g.fileno()).st_ino == inodes[files.index(nxt)]:
            return g
        if g is not None:
            g.close()
    return None


def _rotated(f, path: str) -> bool:
    try:
        return os.fstat(f.fileno()).st_ino != os.stat(path).st_ino
    except FileNotFoundError:
        return True
