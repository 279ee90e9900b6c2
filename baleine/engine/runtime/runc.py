"""The OCI runtime (runc) and the monitors that run containers and execs.

``Runtime.spawn`` writes a monitor config next to the bundle and starts a monitor
process (``monitor.py``), which detaches; ``MonitorLink`` is an asyncio connection
to a monitor's socket speaking the frame protocol documented in ``monitor.py``.
Other runtime operations (kill, pause, resume, ps) call the runtime binary directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from ...rules.errors import Conflict, EngineError, InvalidParameter, NotFound
from . import sealed
from .cgroup_lock import LockWarmer

MONITOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "monitor.py")


class InDir:
    """A file of a monitor's directory, read as an attribute: ``dir``/``name``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, paths: Any, owner: type | None = None) -> Any:
        return self if paths is None else os.path.join(paths.dir, self.name)


def read_pid(path: str) -> int:
    """The pid a pid file holds (0: none, or unreadable)."""
    try:
        with open(path) as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def pid_file_alive(path: str) -> bool:
    """Whether the process a pid file names exists."""
    pid = read_pid(path)
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@dataclass
class MonitorPaths:
    """Files of one monitor in its runtime directory."""

    dir: str

    socket = InDir("m.sock")
    exit_file = InDir("exit.json")
    pid_file = InDir("pid")
    monitor_pid_file = InDir("monitor.pid")
    config = InDir("monitor.json")
    #: What exists while the monitor serves (a recycled pid would not hold it).
    served = socket

    def read_exit(self) -> dict[str, Any] | None:
        try:
            with open(self.exit_file) as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return None

    async def stop_unstarted(self, timeout: float = 2) -> None:
        """End a monitor that was never told to go (the start failed before "G"): it
        would idle for a minute, and the next start waits for it to be gone.

        Its pid file comes just after its socket listens (which is when its spawn
        returned), so it is waited for, up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while not (pid := read_pid(self.monitor_pid_file)) and time.monotonic() <= deadline:
            await asyncio.sleep(0.002)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        # SIGKILL skips its clean-up; a zombie would still look alive with its socket.
        for path in (self.socket, self.monitor_pid_file):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def monitor_alive(self) -> bool:
        return pid_file_alive(self.monitor_pid_file) and os.path.exists(self.served)


class StateFrames:
    """``next_state`` over a link's ``read()`` (frames ``(kind, payload)``, None at the
    end): the monitor links' common part."""

    async def read(self) -> tuple[bytes, bytes] | None:
        raise NotImplementedError

    async def next_state(self) -> dict[str, Any] | None:
        """Skip output frames until a status frame; None at end of stream."""
        while True:
            item = await self.read()
            if item is None:
                return None
            if item[0] == b"S":
                return json.loads(item[1])


def _frame(kind: bytes, payload: bytes = b"") -> bytes:
    """One frame of the monitor protocol: kind, big-endian length, payload."""
    return kind + struct.pack(">I", len(payload)) + payload


class MonitorLink(StateFrames):
    """One connection to a monitor. ``read()`` yields frames until the monitor closes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, paths: MonitorPaths, **hello: bool) -> "MonitorLink":
        reader, writer = await asyncio.open_unix_connection(paths.socket, limit=1 << 20)
        link = cls(reader, writer)
        link.send(b"H", json.dumps(hello).encode())
        return link

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        if not self.writer.is_closing():
            self.writer.write(_frame(kind, payload))

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            pass

    async def read(self) -> tuple[bytes, bytes] | None:
        """The next frame, or None when the monitor has closed the connection."""
        try:
            head = await self.reader.readexactly(5)
            (n,) = struct.unpack(">I", head[1:])
            payload = await self.reader.readexactly(n) if n else b""
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return head[:1], payload

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class PythonMonitor:
    """The default monitor of containers (``monitor.py``): what the lifecycle asks
    of a monitor kind (``conmon.ConmonMonitor`` is the other)."""

    spawns_before_bundle = True  # it runs the bundle only at "G"

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime

    def dir(self, key: str) -> MonitorPaths:
        return self.runtime.monitor_dir(key)

    def check_log_config(self, log_config: dict[str, Any], default_max_file: int) -> None:
        """Refuse (InvalidParameter) what this monitor cannot log: monitor.py logs all."""

    async def spawn(self, paths: MonitorPaths, cid: str, **options: Any) -> None:
        await self.runtime.spawn(paths, cid, mode="container", bundle=paths.dir, **options)

    async def connect(self, paths: MonitorPaths, **hello: bool) -> MonitorLink:
        return await MonitorLink.connect(paths, **hello)


class Runtime:
    """The runtime binary and where its state and the monitors live."""

    def __init__(self, name: str, exec_root: str) -> None:
        path = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if path is None:
            raise EngineError(f"runtime {name!r} not found in PATH")
        self.name = name
        self.path = path
        # Run from a sealed copy made once (``sealed.py``): runc skips copying itself
        # at every container start and exec.
        self.sealed_fd = sealed.seal(path)
        self.cgroup_lock = LockWarmer()
        self.exec_root = exec_root
        self.root = os.path.join(exec_root, "runc")
        os.makedirs(self.root, exist_ok=True)
        self.python = sys.executable
        self.standby_dir = os.path.join(exec_root, "standby")
        os.makedirs(self.standby_dir, exist_ok=True)
        self._standby: asyncio.Task[str | None] | None = None
        # The monitor of containers (execs always use monitor.py); the engine may
        # replace it by conmon.ConmonMonitor.
        self.container_monitor: Any = PythonMonitor(self)

    @property
    def exe(self) -> str:
        """What to execute for the runtime from this process (argv[0] stays ``path``)."""
        return self.path if self.sealed_fd is None else sealed.exe(self.sealed_fd)

    @property
    def inherited(self) -> tuple[int, ...]:
        """The descriptors a monitor or the zygote inherits from the daemon (``pass_fds``)."""
        return () if self.sealed_fd is None else (self.sealed_fd,)

    def warm_cgroup_lock(self) -> None:
        """Say a process will soon be moved into a container's cgroups (a start, an
        exec): the kernel's migration lock is warmed meanwhile (``cgroup_lock.py``)."""
        self.cgroup_lock.warm()

    def monitor_dir(self, key: str) -> MonitorPaths:
        """Runtime directory for a container or exec ``key`` (kept short: socket paths are limited)."""
        return MonitorPaths(os.path.join(self.exec_root, key))

    async def spawn(self, paths: MonitorPaths, cid: str, **options: Any) -> None:
        """Start a monitor (``options``: ``write_config``'s); return once its socket listens."""
        self.write_config(paths, cid, **options)
        answered = await self._ask_standby(paths.config.encode() + b"\n")
        if answered is not None:
            answered.close()
            return
        await self._spawn_alone(paths)

    async def spawn_started(self, paths: MonitorPaths, cid: str, hello: dict[str, bool],
                            **options: Any) -> MonitorLink:
        """Start a monitor and its process at once, with a link attached as ``hello``
        asks: an exec's start. From the zygote the request, the hello and the go go
        out together on one connection, which the monitor keeps as that link, so
        ``runc`` starts right after the fork, without a round trip to the daemon."""
        self.warm_cgroup_lock()
        self.write_config(paths, cid, **options)
        first = _frame(b"H", json.dumps(hello).encode()) + _frame(b"G")
        # No second try with a monitor of our own once the request went out: the one
        # forked may have started the process already.
        answered = await self._ask_standby(b"link " + paths.config.encode() + b"\n" + first, retry=False)
        if answered is not None:
            return answered
        await self._spawn_alone(paths)
        link = await MonitorLink.connect(paths, **hello)
        link.send(b"G")
        return link

    def write_config(self, paths: MonitorPaths, cid: str, *, mode: str, bundle: str = "", process: str = "",
                     tty: bool = False, stdin: bool = False, stdin_once: bool = False,
                     log_path: str | None = None, log_max_size: int = 0, log_max_file: int = 1,
                     rows: int = 0, cols: int = 0, oom_files: list[str] | None = None) -> None:
        """Write the monitor's config (``monitor.py`` reads it) in a fresh directory."""
        os.makedirs(paths.dir, exist_ok=True)
        for stale in (paths.exit_file, paths.pid_file, paths.monitor_pid_file):
            try:
                os.unlink(stale)
            except FileNotFoundError:
                pass
        cfg = {
            "mode": mode, "id": cid, "dir": paths.dir, "runtime": self.path, "runtime_root": self.root,
            "runtime_fd": self.sealed_fd,
            "bundle": bundle, "process": process, "tty": tty, "stdin": stdin, "stdin_once": stdin_once,
            "log_path": log_path, "log_max_size": log_max_size, "log_max_file": log_max_file,
            "socket": paths.socket, "exit_file": paths.exit_file, "pid_file": paths.pid_file,
            "monitor_pid_file": paths.monitor_pid_file, "rows": rows, "cols": cols,
            "oom_files": oom_files or [],
        }
        with open(paths.config, "w") as f:
            json.dump(cfg, f)

    async def _spawn_alone(self, paths: MonitorPaths) -> None:
        """No standby ready: start a monitor now, forked from a thread (a fork of the daemon
        can take longer than the loop may be held); it returns once detached."""
        proc = await asyncio.to_thread(
            subprocess.run, [self.python, "-I", "-S", MONITOR, paths.config],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
            pass_fds=self.inherited)
        if proc.returncode != 0:
            raise EngineError(f"monitor failed to start: {proc.stderr.decode().strip()}")

    # -- the monitor zygote ------------------------------------------------------------
    # Starting a Python interpreter is the slowest part of starting a container and an
    # interpreter per container is the largest part of its memory, so one warm process
    # (monitor.zygote) is started ahead of need and forks each container's monitor.

    def prepare_standby(self) -> None:
        """Start the zygote in the background unless it runs or is coming."""
        if self._standby is None:
            self._standby = asyncio.get_running_loop().create_task(self._start_zygote())

    async def _start_zygote(self) -> str | None:
        path = os.path.join(self.standby_dir, os.urandom(6).hex() + ".sock")
        # In a thread: forking a daemon of this size is not free, and the zygote's
        # first process returns as soon as it has detached.
        try:
            proc = await asyncio.to_thread(
                subprocess.run, [self.python, "-I", "-S", MONITOR, "--zygote", path, str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, pass_fds=self.inherited)
        except OSError:
            return None
        return path if proc.returncode == 0 else None

    async def _ask_standby(self, request: bytes, retry: bool = True) -> MonitorLink | None:
        """Have the zygote fork a monitor for ``request`` (a config's path and a newline,
        see ``monitor.zygote``); the open connection once the monitor answered "ok".
        None when no zygote is ready (it is started, and the caller starts a monitor
        of its own), or (``retry``) when the request got no answer; EngineError when
        the monitor failed."""
        task = self._standby
        if task is None or not task.done():
            self.prepare_standby()
            return None
        path = None if task.cancelled() else task.result()
        if path is None:
            self._standby = None
            self.prepare_standby()
            return None
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=1 << 20)
        except OSError:  # the zygote is gone (killed): start another for next time
            self._standby = None
            self.prepare_standby()
            return None
        link = MonitorLink(reader, writer)
        try:
            writer.write(request)
            await writer.drain()
            answer = (await asyncio.wait_for(reader.readline(), 10)).decode().strip()
        except (OSError, asyncio.TimeoutError):
            answer = ""
        if answer == "ok":
            return link
        link.close()
        if not answer and retry:
            return None  # the fork failed before answering: start a monitor of our own
        if not answer:
            raise EngineError("monitor failed to start: no answer from the monitor's zygote")
        raise EngineError(f"monitor failed to start: {answer[len('error '):]}")

    def _release(self, path: str) -> None:
        """Tell a zygote nobody needs it (it exits; the monitors it forked do not)."""
        import socket

        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                s.connect(path)
                s.sendall(b"exit\n")
        except OSError:
            pass

    def stop_standby(self) -> None:
        """Dismiss every zygote (daemon shutdown and start-up)."""
        if self._standby is not None:
            task, self._standby = self._standby, None
            if task.done() and not task.cancelled() and task.result():
                self._release(task.result())
            else:
                task.cancel()
        for name in os.listdir(self.standby_dir):
            if name.endswith(".sock"):
                self._release(os.path.join(self.standby_dir, name))

    async def command(self, *args: str, **kwargs: Any) -> asyncio.subprocess.Process:
        """``runtime --root ROOT ARGS…`` started (``kwargs`` go to the subprocess)."""
        return await asyncio.create_subprocess_exec(self.path, "--root", self.root, *args,
                                                    executable=self.exe, **kwargs)

    async def _run(self, *args: str) -> tuple[int, str, str]:
        proc = await self.command(*args, stdin=asyncio.subprocess.DEVNULL,
                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()

    async def kill(self, cid: str, sig: int, all_processes: bool = False) -> None:
        """Send a signal to the container's init (or all its processes)."""
        args = ["kill"] + (["--all"] if all_processes else []) + [cid, str(sig)]
        rc, _, err = await self._run(*args)
        if rc != 0:
            if "not running" in err or "does not exist" in err or "process already finished" in err:
                raise Conflict(f"Container {cid} is not running")
            raise EngineError(f"cannot kill container {cid}: {_runc_msg(err)}")

    async def start(self, cid: str) -> None:
        """``runc start``: run the user process of a created container (EngineError with
        runc's message when it cannot)."""
        rc, _, err = await self._run("start", cid)
        if rc != 0:
            raise EngineError(_runc_msg(err) if err.strip() else "runc start failed")

    async def pause(self, cid: str) -> None:
        rc, _, err = await self._run("pause", cid)
        if rc != 0:
            raise EngineError(f"cannot pause container {cid}: {_runc_msg(err)}")

    async def resume(self, cid: str) -> None:
        rc, _, err = await self._run("resume", cid)
        if rc != 0:
            raise EngineError(f"cannot unpause container {cid}: {_runc_msg(err)}")

    async def pids(self, cid: str) -> list[int]:
        rc, out, err = await self._run("ps", "--format", "json", cid)
        if rc != 0:
            raise Conflict(f"Container {cid} is not running") if "not running" in err else \
                EngineError(_runc_msg(err))
        return json.loads(out or "[]") or []

    async def delete(self, cid: str) -> None:
        await self._run("delete", "--force", cid)

    async def state(self, cid: str) -> dict[str, Any] | None:
        rc, out, _ = await self._run("state", cid)
        return json.loads(out) if rc == 0 else None

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        proc = await self.command("update", "--resources", "-", cid, stdin=asyncio.subprocess.PIPE,
                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate(json.dumps(resources).encode())
        if proc.returncode != 0:
            raise InvalidParameter(f"cannot update container {cid}: {_runc_msg(err.decode())}")


def _runc_msg(err: str) -> str:
    """runc's error line without its log decorations."""
    for line in reversed(err.strip().splitlines()):
        if line.strip():
            return line.strip()
    return "runtime error"


__all__ = ["InDir", "MonitorLink", "MonitorPaths", "PythonMonitor", "Runtime", "NotFound", "StateFrames",
           "pid_file_alive", "read_pid"]
