"""The per-container (and per-exec) monitor process.

Run as ``python -I -S monitor.py CONFIG.json``; it imports nothing but the standard
library so that it starts fast and never depends on the daemon's state. It outlives
the daemon: it holds the container's stdio, writes its logs, reaps it and records
its exit status, so containers keep running and logging while the daemon is down.

Normally forked, already warm, from the daemon's zygote (``monitor.py --zygote
SOCKET DAEMON_PID``, see :func:`zygote`): the monitors share its pages copy-on-
write (2 MiB of memory of their own each instead of 7).

Lifecycle
  1. Detach (fork; the parent exits once the control socket listens, so the
     spawner can connect as soon as it has reaped the parent).
  2. Become a child subreaper, so the container's init, orphaned when
     ``runc run -d`` (or ``runc exec -d``) exits, is reparented to us.
  3. At the first ``G`` frame (sent once the daemon has connected the attach
     streams): every client that connected before it is accepted and its hello
     read, so that no output goes out before its readers are known; then
     ``runc run -d`` (container mode) or ``runc exec -d`` (exec mode).
  4. Relay output to the log (container mode) and to attached clients, input
     from clients to the process; resize the terminal on request.
  5. On exit: drain output, ``runc delete`` (container mode), write the exit file,
     tell the clients, exit.

Wire protocol on the Unix socket: frames of ``type (1 byte) | length (4 bytes,
big endian) | payload``. Client to monitor: ``H`` hello (JSON: which of stdin,
stdout, stderr, events to attach), ``I`` stdin bytes, ``C`` close stdin, ``R``
resize ("rows cols"), ``G`` go (start). Monitor to client: ``1`` stdout bytes,
``2`` stderr bytes, ``S`` status (JSON: {"state": "created"|"running"|"exited"|"error",
"pid", "status", "error", "time"}).

A client's departure closes the process's stdin only as dockerd does: without a
TTY, with ``stdin_once`` set, for a client that attached stdin. A terminal stays
open, so that a later attach finds the shell where it was left.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import termios
import time

PR_SET_CHILD_SUBREAPER = 36
PARTIAL = 16 * 1024  # docker splits log messages longer than this
CLIENT_BACKLOG = 64 * 1024 * 1024  # unread output an attached client may leave behind
HELLO_WAIT = 2.0  # how long the go waits for the hellos of clients connected before it


#: Poller events (epoll's own bits).
READ, WRITE = select.EPOLLIN, select.EPOLLOUT


class Key:
    """What ``Poller.select`` reports a ready descriptor with."""

    __slots__ = ("fd", "data")

    def __init__(self, fd: int, data: object) -> None:
        self.fd = fd
        self.data = data


class Poller:
    """The few calls of ``selectors`` the monitor makes, straight on ``select.epoll``.

    Not ``selectors.DefaultSelector``: its machinery, used in a monitor forked from
    the zygote, writes pages the monitor would otherwise share (with the io-free
    file reads below, 0.05 MiB a monitor). As with selectors, a hang-up or an error
    counts as both readable and writable, so that a reader finds its end of file."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._keys: dict[int, Key] = {}

    def register(self, fileobj: int | socket.socket, events: int, data: object) -> None:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        self._epoll.register(fd, events)
        self._keys[fd] = Key(fd, data)

    def modify(self, fileobj: socket.socket, events: int, data: object) -> None:
        fd = fileobj.fileno()
        self._epoll.modify(fd, events)
        self._keys[fd].data = data

    def unregister(self, fileobj: int | socket.socket) -> None:
        """KeyError when not registered (a closed socket: ValueError, as selectors)."""
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        if fd < 0:
            raise ValueError("closed")
        del self._keys[fd]
        try:
            self._epoll.unregister(fd)
        except OSError:
            pass  # closed meanwhile: epoll dropped it already

    def close(self) -> None:
        self._epoll.close()

    def select(self, timeout: float | None) -> list[tuple[Key, int]]:
        ready = []
        for fd, ev in self._epoll.poll(-1 if timeout is None else timeout):
            key = self._keys.get(fd)
            if key is not None:
                events = (ev & (READ | WRITE)) | (READ | WRITE if ev & ~(READ | WRITE) else 0)
                ready.append((key, events))
        return ready


def read_file(path: str) -> bytes:
    """The whole of a small file, through the os module (no io objects: cheaper in a
    forked monitor)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def frame(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack(">I", len(payload)) + payload


def rfc3339nano(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        base += ("." + f"{frac:09d}").rstrip("0")
    return base + "Z"


def runtime_exe(cfg: dict) -> str:
    """What to execute for the runtime: the daemon's sealed copy of it (``sealed.py``),
    inherited as descriptor ``runtime_fd``, when that descriptor is still a memfd
    nobody can write to; else the binary on disk."""
    fd = cfg.get("runtime_fd")
    if isinstance(fd, int):
        try:
            if fcntl.fcntl(fd, fcntl.F_GET_SEALS) & fcntl.F_SEAL_WRITE:
                os.set_inheritable(fd, False)  # the runtime's children need not hold it
                return f"/proc/self/fd/{fd}"
        except OSError:
            pass
    return cfg["runtime"]


def spawn_process(argv: list[str], stdin: int | None = None, stdout: int | None = None,
                  stderr: int | None = None, exe: str | None = None) -> int:
    """Start ``argv`` (from the file ``exe``, else ``argv[0]``) with these descriptors as
    its stdio (None: /dev/null); its pid.

    ``posix_spawn``, not ``subprocess``: subprocess imports threading, whose after-fork
    hook makes every monitor forked from the zygote write 0.45 MiB of pages it would
    otherwise share. Only the three descriptors are inherited (Python opens the rest
    close-on-exec)."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, null if fd is None else fd, target)
                   for target, fd in ((0, stdin), (1, stdout), (2, stderr))]
        # SIGPIPE and SIGXFSZ back to their defaults, as subprocess's restore_signals does:
        # the monitor ignores SIGPIPE, and an ignored signal stays ignored across exec, down
        # to the container's processes.
        return os.posix_spawnp(exe or argv[0], argv, os.environ, file_actions=actions,
                               setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    finally:
        os.close(null)


def wait_exit(pid: int) -> int:
    """Wait for child ``pid``; its exit code (negative: killed by that signal)."""
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def oom_counted(files: list[str]) -> bool:
    """Whether the kernel's OOM killer acted in a cgroup, from its memory.events (v2)
    or memory.oom_control (v1) files: an ``oom_kill`` count above zero."""
    for path in files:
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and int(value) > 0:
                        return True
        except (OSError, ValueError):
            continue
    return False


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` whole. Not fsynced: it must survive the daemon's death, which
    keeps the page cache, and the exec root is a tmpfs that a reboot empties anyway."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.rename(tmp, path)


class JSONLog:
    """Docker's json-file log with size-based rotation (``max_size`` 0 = unlimited)."""

    def __init__(self, path: str, max_size: int, max_file: int) -> None:
        self.path = path
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self.file = open(path, "ab")
        self.size = self.file.tell()
        self.partial = {"stdout": b"", "stderr": b""}

    def write(self, stream: str, data: bytes) -> None:
        buf = self.partial[stream] + data
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            self._emit(stream, buf[: nl + 1])
            buf = buf[nl + 1:]
        while len(buf) >= PARTIAL:
            self._emit(stream, buf[:PARTIAL])
            buf = buf[PARTIAL:]
        self.partial[stream] = buf

    def flush_partial(self) -> None:
        for stream, buf in self.partial.items():
            if buf:
                self._emit(stream, buf)
                self.partial[stream] = b""
        self.file.flush()

    def _emit(self, stream: str, line: bytes) -> None:
        entry = json.dumps({"log": line.decode("utf-8", "replace"), "stream": stream,
                            "time": rfc3339nano(time.time_ns())}, separators=(",", ":")).encode() + b"\n"
        if self.max_size and self.size + len(entry) > self.max_size and self.size > 0:
            self._rotate()
        self.file.write(entry)
        self.file.flush()
        self.size += len(entry)

    def _rotate(self) -> None:
        self.file.close()
        if self.max_file > 1:
            for i in range(self.max_file - 1, 0, -1):
                src = self.path if i == 1 else f"{self.path}.{i - 1}"
                if os.path.exists(src):
                    os.rename(src, f"{self.path}.{i}")
            self.file = open(self.path, "wb")
        else:
            self.file = open(self.path, "wb")
        self.size = 0

    def close(self) -> None:
        self.flush_partial()
        self.file.close()


class Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbuf = b""
        self.outbuf = bytearray()
        self.hello: dict | None = None

    def wants(self, what: str) -> bool:
        return bool(self.hello and self.hello.get(what))


class Monitor:
    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.exec_mode = cfg.get("mode") == "exec"
        self.sel = Poller()
        self.clients: list[Client] = []
        self.state: dict = {"state": "starting"}
        self.pid = 0
        self.status: int | None = None
        self.outputs: dict[int, str] = {}  # fd -> stream name
        self.stdin_fd: int | None = None
        self.stdin_buf = bytearray()
        self.stdin_close_pending = False
        self.master: int | None = None
        self.started = False
        self.served_final = False
        self.log = None
        if cfg.get("log_path"):
            self.log = JSONLog(cfg["log_path"], int(cfg.get("log_max_size") or 0), int(cfg.get("log_max_file") or 1))

    # -- set-up ---------------------------------------------------------------

    def runc(self, *args: str) -> list[str]:
        return [self.cfg["runtime"], "--root", self.cfg["runtime_root"], "--log",
                os.path.join(self.cfg["dir"], "runc.log"), "--log-format", "json", *args]

    def listen(self) -> None:
        path = self.cfg["socket"]
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        os.chmod(path, 0o600)
        self.server.listen(16)
        self.server.setblocking(False)
        self.sel.register(self.server, READ, "accept")

    def setup_stdio(self) -> tuple[int | None, int | None, int | None, str | None]:
        """The stdio to give runc (None: /dev/null), and the console socket path when a
        TTY is used."""
        if self.cfg.get("tty"):
            path = os.path.join(self.cfg["dir"], "console.sock")
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.console.bind(path)
            self.console.listen(1)
            return None, None, None, path
        if self.cfg.get("stdin"):
            r, w = os.pipe()
            self.stdin_fd = w
            os.set_blocking(w, False)
            stdin = r
        else:
            stdin = None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        for fd, name in ((out_r, "stdout"), (err_r, "stderr")):
            os.set_blocking(fd, False)
            self.outputs[fd] = name
            self.sel.register(fd, READ, "output")
        return stdin, out_w, err_w, None

    def spawn(self) -> None:
        """``runc run -d`` (container) or ``runc exec -d`` (exec); sets self.pid.

        Runs at the first "go", once the daemon has connected the attach streams,
        so no output is missed; one runtime invocation instead of create + start
        is the cheapest way to start a container.
        """
        stdin, out_w, err_w, console = self.setup_stdio()
        pid_file = self.cfg["pid_file"]
        if self.exec_mode:
            args = self.runc("exec", "--detach", "--pid-file", pid_file, "--process", self.cfg["process"])
        else:
            args = self.runc("run", "--detach", "--bundle", self.cfg["bundle"], "--pid-file", pid_file)
        if console:
            args += ["--console-socket", console]
        args.append(self.cfg["id"])
        pid = spawn_process(args, stdin, out_w, err_w, runtime_exe(self.cfg))
        for fd in (stdin, out_w, err_w):
            if fd is not None:
                os.close(fd)
        if console:
            self.receive_console(pid)
        rc = wait_exit(pid)
        if rc != 0:
            raise RuntimeError(self.runc_error() or f"runc exited with status {rc}")
        self.pid = int(read_file(pid_file).strip())

    def receive_console(self, runc_pid: int) -> None:
        self.console.settimeout(30)
        try:
            conn, _ = self.console.accept()
        except socket.timeout:
            os.kill(runc_pid, signal.SIGKILL)
            raise RuntimeError("runtime did not send the console")
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        self.console.close()
        if not fds:
            raise RuntimeError("runtime sent no console")
        self.master = fds[0]
        os.set_inheritable(self.master, False)  # SCM_RIGHTS gives it inheritable: not for `runc delete`
        os.set_blocking(self.master, False)
        self.outputs[self.master] = "stdout"
        self.stdin_fd = self.master if self.cfg.get("stdin") else None
        self.sel.register(self.master, READ, "output")
        if self.cfg.get("rows"):
            self.resize(int(self.cfg["rows"]), int(self.cfg["cols"]))

    def runc_error(self) -> str:
        """The last error runc logged, for a clear message."""
        msg = ""
        try:
            with open(os.path.join(self.cfg["dir"], "runc.log")) as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if entry.get("level") in ("error", "fatal"):
                        msg = entry.get("msg", "")
        except OSError:
            pass
        return msg

    # -- events ---------------------------------------------------------------

    def set_state(self, **state: object) -> None:
        self.state = dict(state)
        payload = json.dumps(self.state).encode()
        for c in self.clients:
            if c.wants("events"):
                self.send(c, b"S", payload)
        if state.get("state") in ("exited", "error"):
            self.served_final = any(c.wants("events") for c in self.clients)

    def send(self, c: Client, kind: bytes, payload: bytes) -> None:
        c.outbuf += frame(kind, payload)
        self.flush(c)
        if len(c.outbuf) > CLIENT_BACKLOG and c in self.clients:
            # A client that stopped reading must not make us hold the container's
            # output in memory without end: it is let go (the log keeps everything).
            self.drop(c)

    def flush(self, c: Client) -> None:
        try:
            while c.outbuf:
                n = c.sock.send(c.outbuf)
                del c.outbuf[:n]
        except BlockingIOError:
            pass
        except OSError:
            self.drop(c)
            return
        self.sel.modify(c.sock, READ | (WRITE if c.outbuf else 0), c)

    def drop(self, c: Client) -> None:
        if c not in self.clients:
            return
        self.clients.remove(c)
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        if c.wants("stdin") and self.cfg.get("stdin_once") and not self.cfg.get("tty"):
            self.close_stdin()

    def adopt(self, sock: socket.socket, sent: bytes) -> None:
        """Take the connection the monitor was asked for on as its first client, with
        the frames already ``sent`` on it (an exec's: hello and go, read by run())."""
        sock.setblocking(False)
        c = Client(sock)
        c.inbuf = sent
        self.clients.append(c)
        self.sel.register(sock, READ, c)

    def accept(self) -> bool:
        """Accept one pending connection; False when there was none."""
        try:
            sock, _ = self.server.accept()
        except BlockingIOError:
            return False
        sock.setblocking(False)
        c = Client(sock)
        self.clients.append(c)
        self.sel.register(sock, READ, c)
        return True

    def gather_clients(self) -> None:
        """Accept every pending connection and read the hellos not read yet.

        The daemon connects the attach streams (and sends their hellos) before it
        sends the go, but the go may be read first: without this, output of a
        process that starts at once would find its reader unknown, and be lost.
        """
        while self.accept():
            pass
        deadline = time.monotonic() + HELLO_WAIT
        for c in list(self.clients):
            while c.hello is None and c in self.clients:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([c.sock], [], [], left)[0]:
                    break
                self.on_client(c, READ)

    def on_client(self, c: Client, events: int) -> None:
        if events & WRITE:
            self.flush(c)
        if not events & READ or c not in self.clients:
            return
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop(c)
            return
        c.inbuf += data
        self.take_frames(c)

    def take_frames(self, c: Client) -> None:
        """Act on every whole frame ``c`` has sent."""
        while len(c.inbuf) >= 5 and c in self.clients:
            kind = c.inbuf[:1]
            (n,) = struct.unpack(">I", c.inbuf[1:5])
            if len(c.inbuf) < 5 + n:
                break
            payload, c.inbuf = c.inbuf[5:5 + n], c.inbuf[5 + n:]
            self.on_frame(c, kind, payload)

    def on_frame(self, c: Client, kind: bytes, payload: bytes) -> None:
        if kind == b"H":
            c.hello = json.loads(payload or b"{}")
            if c.wants("events"):
                self.send(c, b"S", json.dumps(self.state).encode())
                if self.state.get("state") in ("exited", "error"):
                    self.served_final = True
        elif kind == b"I":
            # Before the process runs (attach comes before start), keep the input
            # for it; afterwards only while its stdin is open.
            if self.stdin_fd is not None or (not self.pid and self.cfg.get("stdin")):
                self.stdin_buf += payload
                self.write_stdin()
        elif kind == b"C":
            self.close_stdin()
        elif kind == b"R":
            rows, cols = (int(x) for x in payload.split())
            self.resize(rows, cols)
        elif kind == b"G":
            self.go()

    def go(self) -> None:
        if self.started or self.state.get("state") not in ("created",):
            return
        self.started = True
        self.gather_clients()
        try:
            self.spawn()
        except Exception as exc:  # noqa: BLE001 - reported to the daemon
            self.fail(str(exc))
            return
        self.write_stdin()  # what arrived before the start
        self.set_state(state="running", pid=self.pid, time=rfc3339nano(time.time_ns()))
        self.reap()

    def write_stdin(self) -> None:
        if self.stdin_fd is None:
            return
        try:
            while self.stdin_buf:
                n = os.write(self.stdin_fd, self.stdin_buf)
                del self.stdin_buf[:n]
        except BlockingIOError:
            pass
        except OSError:
            self.stdin_buf.clear()
        if self.stdin_close_pending and not self.stdin_buf:
            self.close_stdin()

    def close_stdin(self) -> None:
        if self.stdin_fd is None:
            if not self.pid and self.cfg.get("stdin"):
                self.stdin_close_pending = True  # done once the process runs
            return
        if self.stdin_buf:
            self.stdin_close_pending = True
            return
        if self.stdin_fd == self.master:
            # A terminal has no half-close: send EOF (^D) as a terminal would.
            try:
                os.write(self.master, b"\x04")
            except OSError:
                pass
        else:
            os.close(self.stdin_fd)
        self.stdin_fd = None

    def resize(self, rows: int, cols: int) -> None:
        if self.master is not None:
            try:
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            except OSError:
                pass

    def on_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO on a terminal whose other side is closed
            data = b""
        if not data:
            self.sel.unregister(fd)
            self.outputs.pop(fd)
            if fd == self.master:
                self.stdin_fd = None
                self.master = None
            os.close(fd)
            return
        stream = self.outputs[fd]
        if self.log is not None:
            self.log.write(stream, data)
        kind = b"1" if stream == "stdout" else b"2"
        for c in list(self.clients):
            if c.wants(stream):
                self.send(c, kind, data)

    # -- exit -----------------------------------------------------------------

    def reap(self) -> None:
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid and self.status is None:
                self.status = os.waitstatus_to_exitcode(st)
                if self.status < 0:
                    self.status = 128 - self.status

    def fail(self, message: str) -> None:
        self.status = -1
        write_atomic(self.cfg["exit_file"], json.dumps({"error": message}).encode())
        self.set_state(state="error", error=message)

    def finish(self) -> None:
        deadline = time.monotonic() + 2
        while self.outputs and time.monotonic() < deadline:
            for key, _ in self.sel.select(0.05):
                if key.data == "output":
                    self.on_output(key.fd)
        if self.log is not None:
            self.log.close()
        oom = self.oom_killed()
        now = rfc3339nano(time.time_ns())
        write_atomic(self.cfg["exit_file"], json.dumps({"status": self.status, "time": now, "oom": oom}).encode())
        self.set_state(state="exited", status=self.status, time=now, oom=oom)
        # Streams end now (an exec's client sees its end at once, not after this
        # process's teardown), then a container's runtime state goes: `run --rm`
        # need not wait for that; the daemon waits for this monitor to be gone
        # before starting the container again.
        self.hand_over()
        if not self.exec_mode:
            wait_exit(spawn_process([self.cfg["runtime"], "--root", self.cfg["runtime_root"], "delete",
                                     "--force", self.cfg["id"]], exe=runtime_exe(self.cfg)))

    def hand_over(self) -> None:
        """Send what each client still has to receive, then close its connection."""
        for c in list(self.clients):
            if c.hello is not None and c.outbuf:
                try:
                    c.sock.setblocking(True)
                    c.sock.settimeout(1)
                    c.sock.sendall(c.outbuf)
                    c.outbuf.clear()
                except OSError:
                    pass
            if c.outbuf:
                continue  # an unfinished writer: the main loop keeps trying
            self.clients.remove(c)
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()

    def oom_killed(self) -> bool:
        """Whether the kernel's OOM killer acted in the container's cgroup (read
        before ``runc delete`` removes it)."""
        return oom_counted(self.cfg.get("oom_files") or [])

    def poll_timeout(self) -> float | None:
        """How long the main loop may sleep: for good while the process runs and
        nothing waits on a clock (its exit wakes us through SIGCHLD), so that an idle
        container's monitor never wakes up; half a second while a deadline is pending
        (nobody started us yet, the exit being handed over, input or output left
        for a pipe or a client that was full)."""
        if (self.started and self.status is None and not self.stdin_buf
                and not any(c.outbuf for c in self.clients)):
            return None
        return 0.5

    def dispatch(self, key: Key, events: int) -> None:
        """Handle one ready descriptor of the main loop."""
        if key.data == "accept":
            self.accept()
        elif key.data == "signal":
            try:
                os.read(key.fd, 512)
            except BlockingIOError:
                pass
            self.reap()
        elif key.data == "output":
            self.on_output(key.fd)
        elif isinstance(key.data, Client):
            self.on_client(key.data, events)

    def run(self) -> None:
        """The main loop: returns when the process has exited and been reported."""
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        install_signals(w)
        self.sel.register(r, READ, "signal")
        self.set_state(state="created", pid=0)
        for c in list(self.clients):  # an adopted connection's frames (adopt)
            self.take_frames(c)
        give_up = None
        idle_since = time.monotonic()
        while True:
            if not self.started:
                # A process nobody starts (its daemon or client went away) must not linger.
                if self.clients:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > 60:
                    return
            if self.status is not None and self.status != -1 and self.state.get("state") == "running":
                self.finish()
                give_up = time.monotonic() + 30
            if self.state.get("state") in ("exited", "error"):
                give_up = give_up or time.monotonic() + 30
                pending = any(c.outbuf for c in self.clients)
                if (self.served_final and not pending) or time.monotonic() > give_up:
                    return
            for key, events in self.sel.select(self.poll_timeout()):
                self.dispatch(key, events)
            if self.stdin_buf:
                self.write_stdin()
            if self.started and self.status is None:
                self.reap()


def _on_child(*_: object) -> None:
    """SIGCHLD's handler: nothing, the wake-up descriptor does the work."""


def install_signals(wakeup_fd: int) -> tuple[int, dict[int, object]]:
    """A monitor's signals: SIGCHLD wakes the main loop through ``wakeup_fd``; the
    signals a terminal or a closed reader would send are ignored. Returns what was
    there before (``restore_signals`` puts it back)."""
    previous_fd = signal.set_wakeup_fd(wakeup_fd)
    previous = {signal.SIGCHLD: signal.signal(signal.SIGCHLD, _on_child)}
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        previous[sig] = signal.signal(sig, signal.SIG_IGN)
    return previous_fd, previous


def restore_signals(saved: tuple[int, dict[int, object]]) -> None:
    previous_fd, previous = saved
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    signal.set_wakeup_fd(previous_fd)


def rehearse(scratch: str) -> None:
    """Go once through what every monitor does, in the zygote, before it freezes: a
    config read, a monitor listening, a client's hello and events, output logged and
    sent, an exit written; the only process started is a ``true``. The monitors forked afterwards find
    the interpreter's caches filled and their code specialised (CPython 3.11 rewrites
    a function's bytecode in place as it warms up), and so write fewer of the pages
    they share with the zygote. ``scratch`` is an empty directory; the caller empties it."""
    cfg = {"id": "rehearsal", "dir": scratch, "socket": os.path.join(scratch, "m.sock"),
           "log_path": os.path.join(scratch, "log.json"), "log_max_size": 1 << 20, "log_max_file": 1,
           "exit_file": os.path.join(scratch, "exit.json"), "monitor_pid_file": os.path.join(scratch, "m.pid")}
    path = os.path.join(scratch, "config.json")
    r, w = os.pipe()
    os.set_blocking(w, False)
    restore_signals(install_signals(w))
    for fd in (r, w):
        os.close(fd)
    write_atomic(path, json.dumps(cfg).encode())
    monitor = Monitor(json.loads(read_file(path)))
    monitor.listen()
    write_atomic(cfg["monitor_pid_file"], str(os.getpid()).encode())
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(cfg["socket"])
        client.sendall(frame(b"H", json.dumps({"events": True, "stdout": True, "stderr": True}).encode()))
        monitor.set_state(state="created", pid=0)
        monitor.gather_clients()
        stdin, out_w, err_w, _ = monitor.setup_stdio()
        os.write(out_w, b"rehearsal\n")
        os.write(err_w, b"partial")
        for fd in (out_w, err_w):
            os.close(fd)
        monitor.set_state(state="running", pid=0, time=rfc3339nano(time.time_ns()))
        wait_exit(spawn_process(["true"]))
        monitor.reap()
        while monitor.outputs:
            for key, events in monitor.sel.select(0.5):
                monitor.dispatch(key, events)
        monitor.log.close()
        monitor.status = 0
        write_atomic(cfg["exit_file"], json.dumps({"status": 0, "time": rfc3339nano(time.time_ns()),
                                                   "oom": monitor.oom_killed()}).encode())
        monitor.set_state(state="exited", status=0)
        monitor.flush(monitor.clients[0])
        monitor.hand_over()
    finally:
        client.close()
        for c in monitor.clients:
            c.sock.close()
        monitor.server.close()
        monitor.sel.close()


def _rehearse_in(scratch: str) -> None:
    """``rehearse`` in a directory of its own, made, emptied and removed here; a
    failure is ignored (the rehearsal only makes monitors a little lighter)."""
    try:
        os.mkdir(scratch, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return
    try:
        rehearse(scratch)
    except Exception:  # noqa: BLE001 - an optimisation only: monitors work without it
        pass
    try:
        for name in os.listdir(scratch):
            os.unlink(os.path.join(scratch, name))
        os.rmdir(scratch)
    except OSError:
        pass


def detach(reaper: bool = True) -> None:
    """Fork (the spawner reaps the parent), start a new session, drop the stdio and
    (``reaper``) become a child subreaper, so that the container's processes are
    reparented to us when ``runc`` exits."""
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if reaper:
        subreaper()


_prctl = None  # libc's prctl through ctypes, resolved once (in the zygote: shared)


def subreaper() -> None:
    """Become a child subreaper (not inherited across fork: each monitor sets it)."""
    global _prctl
    if _prctl is None:
        import ctypes

        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    _prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def serve(cfg: dict, monitor: Monitor) -> None:
    write_atomic(cfg["monitor_pid_file"], str(os.getpid()).encode())
    try:
        monitor.run()
    finally:
        try:
            os.unlink(cfg["socket"])
        except OSError:
            pass


def zygote(path: str, daemon_pid: int = 0) -> None:
    """Wait, already started and detached, for the daemon to hand over configs, and
    fork one monitor per config.

    Starting a Python interpreter costs more than everything else in starting a
    container, and an interpreter per container costs several MiB of its own. So
    the daemon keeps one warm process: this one. It has imported everything a
    monitor uses and frozen its objects out of the garbage collector's reach
    (``gc.freeze``), so that each monitor, forked from it, shares its pages copy-
    on-write instead of owning a copy.

    The daemon connects to ``path`` and sends a config's path; a monitor forked for
    it answers "ok" once its own socket listens (or "error …"). ``link CONFIG``
    instead: the monitor keeps that connection as a client after its "ok", and the
    frames the daemon sent after the line right away (an exec's hello and go) start
    the process without waiting for a round trip. Each monitor is
    forked twice and starts a session of its own, so it belongs to neither this
    process nor the daemon and outlives both, as a monitor started alone does. The
    zygote leaves when the daemon that made it is gone or sends "exit".
    """
    import gc

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server.bind(path)
    server.listen(16)
    # Not a subreaper: the monitors, orphaned by their intermediate parent, must go
    # to init (which reaps them), not to this process.
    detach(reaper=False)
    with open(path + ".pid", "w") as f:
        f.write(str(os.getpid()))
    server.settimeout(2)
    global _prctl
    import ctypes

    # Resolved (and called once, PR_GET_CHILD_SUBREAPER into a buffer) here, so that the
    # monitors share what ctypes builds for it: resolving it in each cost 0.1-0.25 MiB.
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
    _prctl(37, ctypes.byref(ctypes.c_int()), 0, 0, 0)

    _rehearse_in(path + ".rehearsal")
    gc.collect()
    gc.freeze()  # what the monitors inherit stays shared: the collector never writes to it
    try:
        while True:
            try:
                conn, _ = server.accept()
            except socket.timeout:
                if daemon_pid and not os.path.exists(f"/proc/{daemon_pid}"):
                    return
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    line, _, sent = conn.recv(4096).partition(b"\n")
                except OSError:
                    continue
                request = line.decode().strip()
                if not request or request == "exit":
                    return
                linked = request.startswith("link ")
                _fork_monitor(server, conn, request[5:] if linked else request, sent if linked else None)
    finally:
        server.close()
        for leftover in (path, path + ".pid"):
            try:
                os.unlink(leftover)
            except OSError:
                pass


def _fork_monitor(server: socket.socket, conn: socket.socket, config_path: str,
                  linked: bytes | None = None) -> None:
    """Fork a monitor for ``config_path`` that answers on ``conn``; return in the zygote
    once the intermediate child (which exits at once) is reaped. ``linked`` (the
    request was ``link CONFIG``): the monitor keeps ``conn`` as its first client,
    these bytes the frames already sent on it."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        server.close()
        if os.fork() != 0:
            os._exit(0)
        os.setsid()
        subreaper()
        try:
            cfg = json.loads(read_file(config_path))
            monitor = Monitor(cfg)
            monitor.listen()
        except Exception as exc:  # noqa: BLE001 - reported to the daemon
            conn.sendall(f"error {exc}\n".encode())
            os._exit(1)
        conn.sendall(b"ok\n")
        if linked is None:
            conn.close()
        else:
            monitor.adopt(conn, linked)
        serve(cfg, monitor)
    finally:
        os._exit(0)


def main() -> None:
    if sys.argv[1] == "--zygote":
        zygote(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
        return
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    monitor = Monitor(cfg)
    monitor.listen()  # before detaching: the spawner connects once the parent exits
    detach()
    serve(cfg, monitor)


if __name__ == "__main__":
    main()
