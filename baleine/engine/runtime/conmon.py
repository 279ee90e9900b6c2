"""conmon (Podman's and CRI-O's C monitor) as the monitor of containers (opt-in).

Selected by the daemon flag ``--container-monitor conmon``; execs keep the Python
monitor. ``ConmonMonitor`` offers the lifecycle what the Python monitor offers
(``dir``/``spawn``/``connect``), and ``ConmonLink`` speaks to the lifecycle as a
``MonitorLink`` does (frames ``1``/``2``/``S`` out, ``I``/``C``/``R``/``G`` in), so
the lifecycle has one seam and no monitor-kind conditions.

How conmon is driven (as podman's libpod/oci_conmon_linux.go does):
  * ``spawn``: ``conmon --api-version 1 -c ID -u ID -r RUNC --runtime-arg --root
    --runtime-arg ROOT -b DIR --full-attach --persist-dir DIR -p DIR/pid -P
    DIR/conmon.pid -l k8s-file:LOG [-t] [-i] [--leave-stdin-open]`` with
    ``_OCI_SYNCPIPE``; conmon double-forks, runs ``runc create`` and writes
    ``{"data": PID}`` (or ``{"data": -1, "message": ...}``) on the sync pipe. So,
    unlike the Python monitor, it needs the bundle before it is spawned
    (``spawns_before_bundle`` is False).
  * ``G``: the daemon runs ``runc start`` and writes the ``started`` marker (the
    state a re-adopting daemon reads).
  * Streams: the attach socket ``DIR/attach`` (SOCK_SEQPACKET); conmon's packets
    begin with a pipe byte (2 stdout, 3 stderr); what a client writes goes to the
    container's stdin, its ``shutdown(SHUT_WR)`` closes it (unless
    ``--leave-stdin-open``, given when ``StdinOnce`` is unset, as dockerd).
  * Resize: ``"1 ROWS COLS\\n"`` on the ``DIR/ctl`` FIFO.
  * Exit: conmon writes the status (exit code, or 128+signal) to ``DIR/exit`` and
    closes the attach sockets; the events link then reads it, checks the cgroup's
    OOM count, deletes the runtime state and reports ``S exited``. A daemon that
    was down reads ``DIR/exit`` at adoption (``ConmonPaths.read_exit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import time
from typing import Any

from ...rules.errors import EngineError, InvalidParameter
from ...rules.timestamps import format_rfc3339nano_ns
from .monitor import oom_counted
from .runc import InDir, MonitorPaths, Runtime, StateFrames, pid_file_alive, read_pid

PACKET = 8192 + 1  # conmon's attach buffer plus its pipe byte
STDOUT_PIPE, STDERR_PIPE = 2, 3
SYNC_TIMEOUT = 60.0  # runc create on a loaded machine


def available() -> str | None:
    """The conmon binary, or None."""
    return shutil.which("conmon")


class ConmonPaths(MonitorPaths):
    """Files of one conmon-monitored container (its bundle directory)."""

    attach = InDir("attach")
    ctl = InDir("ctl")
    status_file = InDir("exit")  # conmon's --persist-dir exit file
    started = InDir("started")
    monitor_pid_file = InDir("conmon.pid")
    meta = InDir("conmon.json")
    served = InDir("attach")

    def read_meta(self) -> dict[str, Any]:
        try:
            with open(self.meta) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def read_exit(self) -> dict[str, Any] | None:
        """The exit conmon recorded: {"status", "time", "oom"}, or None."""
        try:
            with open(self.status_file) as f:
                status = int(f.read().strip() or "-1")
            when = os.stat(self.status_file).st_mtime
        except (OSError, ValueError):
            return None
        oom = os.path.exists(os.path.join(self.dir, "oom")) or \
            oom_counted(self.read_meta().get("oom_files") or [])
        return {"status": 255 if status < 0 else status, "time": format_rfc3339nano_ns(int(when * 1e9)), "oom": oom}

    async def stop_unstarted(self, timeout: float = 2) -> None:
        """Kill a conmon whose container was never started (its runtime state is
        deleted at the next spawn)."""
        pid = read_pid(self.monitor_pid_file)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for path in (self.attach, self.monitor_pid_file):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


class ConmonMonitor:
    """Runs containers under conmon; the lifecycle's ``monitor`` when selected."""

    spawns_before_bundle = False  # conmon runs `runc create` at once: bundle first

    def __init__(self, runtime: Runtime, binary: str | None = None) -> None:
        path = binary or available()
        if path is None:
            raise EngineError("container monitor 'conmon' requested but conmon is not installed")
        self.binary = path
        self.runtime = runtime

    def dir(self, key: str) -> ConmonPaths:
        return ConmonPaths(self.runtime.monitor_dir(key).dir)

    def check_log_config(self, log_config: dict[str, Any], default_max_file: int) -> None:
        """conmon writes one k8s-file log (read back by containers/logs.py), truncated
        at max-size, never rotated into numbered files: refuse what would be ignored."""
        driver = log_config.get("Type") or "json-file"
        if driver not in ("json-file", "none"):
            raise InvalidParameter(f'logging driver "{driver}" is not supported by the conmon container monitor '
                                   '(json-file and none are)')
        opts = log_config.get("Config") or {}
        if int(opts.get("max-file") or default_max_file or 1) > 1:
            raise InvalidParameter("log opt max-file is not supported by the conmon container monitor "
                                   "(it keeps one file, truncated at max-size)")
        if opts.get("compress") not in (None, "", "false"):
            raise InvalidParameter("log opt compress is not supported by the conmon container monitor")

    async def spawn(self, paths: MonitorPaths, cid: str, *, tty: bool = False, stdin: bool = False,
                    stdin_once: bool = False, log_path: str | None = None, log_max_size: int = 0,
                    oom_files: list[str] | None = None, **_: Any) -> None:
        """Start conmon on the bundle in ``paths.dir``; return once the container is
        created (``runc create`` done), or raise EngineError with runc's message."""
        assert isinstance(paths, ConmonPaths)
        for stale in (paths.status_file, paths.started, paths.attach, paths.ctl, paths.monitor_pid_file,
                      paths.pid_file, os.path.join(paths.dir, "oom")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        if os.path.exists(os.path.join(self.runtime.root, cid)):
            await self.runtime.delete(cid)  # the stopped state of a run whose daemon was away
        with open(paths.meta, "w") as f:
            json.dump({"cid": cid, "oom_files": oom_files or [], "tty": tty}, f)
        args = ["--api-version", "1", "-c", cid, "-u", cid, "-n", cid, "-r", self.runtime.path,
                "--runtime-arg", "--root", "--runtime-arg", self.runtime.root, "-b", paths.dir,
                "--full-attach", "--persist-dir", paths.dir, "-p", paths.pid_file,
                "-P", paths.monitor_pid_file, "--log-level", "error", "--no-sync-log",
                "-l", "k8s-file:" + (log_path or os.devnull)]
        if log_max_size > 0:
            args += ["--log-size-max", str(log_max_size)]
        if tty:
            args.append("-t")
        if stdin:
            args.append("-i")
            if not stdin_once:
                args.append("--leave-stdin-open")
        r, w = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                self.binary, *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, pass_fds=(w,), env={**os.environ, "_OCI_SYNCPIPE": str(w)},
                start_new_session=True, cwd=paths.dir)  # conmon writes its legacy "oom" file in its cwd
        except BaseException:
            os.close(r)
            os.close(w)
            raise
        os.close(w)
        try:
            _, err = await proc.communicate()  # the first process exits once forked
            if proc.returncode:
                raise EngineError(f"conmon failed: {err.decode().strip()}")
            answer = await asyncio.wait_for(asyncio.to_thread(_read_all, r), SYNC_TIMEOUT)
        finally:
            os.close(r)
        data = _sync_message(answer)
        if int(data.get("data", -1)) < 0:
            raise EngineError(runtime_message(str(data.get("message") or ""))
                              or "conmon: the container could not be created")

    async def connect(self, paths: MonitorPaths, stdin: bool = False, stdout: bool = False,
                      stderr: bool = False, events: bool = False) -> "ConmonLink":
        """A link to the container's attach socket carrying the chosen streams;
        ``events``: also the state frames (created/running/exited)."""
        assert isinstance(paths, ConmonPaths)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_NONBLOCK)
        try:
            await asyncio.get_running_loop().sock_connect(sock, paths.attach)
        except OSError:
            sock.close()
            raise
        link = ConmonLink(self.runtime, paths, sock, stdout=stdout, stderr=stderr, events=events)
        link.begin()
        return link


def _read_all(fd: int) -> bytes:
    """Blocking: the sync pipe's first message (conmon keeps it open while it lives)."""
    out = b""
    while not out.endswith(b"}") and not out.endswith(b"}\n"):
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        out += chunk
    return out


def _sync_message(raw: bytes) -> dict[str, Any]:
    for line in raw.decode(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            return json.loads(line)
    return {"data": -1, "message": "conmon exited before creating the container"}


def runtime_message(text: str) -> str:
    """runc's error as conmon relays it (a logrus line, ``time=... level=error
    msg="..."``), without the decorations."""
    match = re.search(r'msg="((?:[^"\\]|\\.)*)"', text)
    if match is None:
        return text.strip()
    return match.group(1).encode().decode("unicode_escape", errors="replace").strip()


class ConmonLink(StateFrames):
    """A ``MonitorLink`` look-alike over conmon's attach socket (see the module doc)."""

    def __init__(self, runtime: Runtime, paths: ConmonPaths, sock: socket.socket, *,
                 stdout: bool, stderr: bool, events: bool) -> None:
        self.runtime = runtime
        self.paths = paths
        self.sock = sock
        self.want = {STDOUT_PIPE: b"1" if stdout else None, STDERR_PIPE: b"2" if stderr else None}
        self.events = events
        self.frames: asyncio.Queue[tuple[bytes, bytes] | None] = asyncio.Queue()
        self.writes: asyncio.Queue[tuple[bytes, bytes] | None] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = False

    def begin(self) -> None:
        if self.events:
            self._state("running" if os.path.exists(self.paths.started) else "created", pid=self._pid())
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(self._pump()), loop.create_task(self._writer())]

    def _pid(self) -> int:
        return read_pid(self.paths.pid_file)

    def _state(self, state: str, **fields: Any) -> None:
        self.frames.put_nowait((b"S", json.dumps({"state": state, **fields}).encode()))

    async def _pump(self) -> None:
        """Output packets to frames; at the end of the stream, the exit (events link)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.sock_recv(self.sock, PACKET)
            except OSError:
                data = b""
            if not data:
                break
            kind = self.want.get(data[0])
            if kind is not None and len(data) > 1:
                self.frames.put_nowait((kind, data[1:]))
        if self.events and not self.closed:
            self._state("exited", **await self._exit())
        self.frames.put_nowait(None)

    async def _exit(self) -> dict[str, Any]:
        """conmon closes its sockets just before it writes the exit file: wait for the
        file (bounded: conmon may have been killed), then delete the runtime's state."""
        deadline = time.monotonic() + 10
        state = self.paths.read_exit()
        while state is None and time.monotonic() < deadline:
            gone = not pid_file_alive(self.paths.monitor_pid_file)
            await asyncio.sleep(0.005)
            state = self.paths.read_exit()
            if gone:
                break  # it exited (or was killed) before the last look: nothing more will come
        cid = self.paths.read_meta().get("cid")
        if cid:
            await self.runtime.delete(cid)
        return state or {"status": 255, "time": format_rfc3339nano_ns(time.time_ns()), "oom": False}

    async def _writer(self) -> None:
        """Input, in order: stdin bytes, close, resize, go; after ``close()`` what was
        sent before it is still delivered, then the socket is closed."""
        loop = asyncio.get_running_loop()
        try:
            while (item := await self.writes.get()) is not None:
                kind, payload = item
                try:
                    if kind == b"I":
                        await loop.sock_sendall(self.sock, payload)
                    elif kind == b"C":
                        self.sock.shutdown(socket.SHUT_WR)
                    elif kind == b"R":
                        rows, cols = payload.decode().split()
                        await asyncio.to_thread(_write_ctl, self.paths.ctl, f"1 {rows} {cols}\n")
                    elif kind == b"G":
                        await self._go()
                except (OSError, ValueError):
                    continue
        finally:
            self.sock.close()

    async def _go(self) -> None:
        cid = self.paths.read_meta().get("cid", "")
        try:
            await self.runtime.start(cid)
        except EngineError as exc:
            self._state("error", error=str(exc))
            return
        with open(self.paths.started, "w") as f:
            f.write("1")
        self._state("running", pid=self._pid())

    # -- the MonitorLink interface ----------------------------------------------------

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        if not self.closed:
            self.writes.put_nowait((kind, payload))

    async def drain(self) -> None:
        return None

    async def read(self) -> tuple[bytes, bytes] | None:
        item = await self.frames.get()
        if item is None:
            self.frames.put_nowait(None)  # stay at the end for later readers
        return item

    def close(self) -> None:
        """Stop reading; the writer delivers what was sent, then closes the socket."""
        if self.closed:
            return
        self.closed = True
        self.writes.put_nowait(None)
        if self.tasks and self.tasks[0] is not asyncio.current_task():
            self.tasks[0].cancel()
        self.frames.put_nowait(None)


def _write_ctl(path: str, line: str) -> None:
    """Blocking (briefly): a resize on conmon's control FIFO."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
