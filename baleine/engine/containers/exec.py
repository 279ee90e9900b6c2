"""Exec instances: extra processes in a running container (``docker exec``).

An exec is created (a record, in memory, as Docker keeps them), then started: its
process description is derived from the container's spec and run by a monitor of
its own in exec mode (``runc exec --detach`` under a subreaper), which relays its
stdio and reports its exit code.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from typing import Any

from ..runtime import bundle
from .records import Container, Containers
from ...rules.errors import Conflict, ExecStartFailed, InvalidParameter, NotFound
from ..events import Events
from ..runtime.runc import MonitorLink, Runtime


@dataclass
class ExecInstance:
    """One exec: its request, and what happened to it."""

    id: str
    container_id: str
    config: dict[str, Any]
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    started: bool = False
    link: MonitorLink | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def key(self) -> str:
        return "e" + self.id[:12]

    def inspect(self) -> dict[str, Any]:
        """``GET /exec/{id}/json``."""
        cfg = self.config
        cmd = cfg.get("Cmd") or []
        return {
            "ID": self.id,
            "Running": self.running,
            "ExitCode": self.exit_code,
            "ProcessConfig": {
                "tty": bool(cfg.get("Tty")),
                "entrypoint": cmd[0] if cmd else "",
                "arguments": cmd[1:],
                "privileged": bool(cfg.get("Privileged")),
                "user": cfg.get("User") or "",
            },
            "OpenStdin": bool(cfg.get("AttachStdin")),
            "OpenStderr": bool(cfg.get("AttachStderr")),
            "OpenStdout": bool(cfg.get("AttachStdout")),
            "CanRemove": False,
            "ContainerID": self.container_id,
            "DetachKeys": cfg.get("DetachKeys") or "",
            "Pid": self.pid,
        }


class Execs:
    """Creates, starts and tracks exec instances."""

    def __init__(self, containers: Containers, runtime: Runtime, events: Events, snapshots_rootfs) -> None:
        self.containers = containers
        self.runtime = runtime
        self.events = events
        self.rootfs = snapshots_rootfs  # Container -> merged rootfs path
        self.by_id: dict[str, ExecInstance] = {}

    def create(self, c: Container, body: dict[str, Any]) -> ExecInstance:
        """Record an exec for a running container (Conflict if not running or paused)."""
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON: expected an object")
        cmd = body.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not cmd:
            raise InvalidParameter("No exec command specified")
        _check_running(c)
        # Its start usually follows at once: the kernel's cgroup lock warms meanwhile.
        self.runtime.warm_cgroup_lock()
        cfg = dict(body)
        cfg["Cmd"] = list(cmd)
        ex = ExecInstance(secrets.token_hex(32), c.id, cfg)
        self.by_id[ex.id] = ex
        ids = c.doc.get("ExecIDs") or []
        c.doc["ExecIDs"] = ids + [ex.id]
        self.events.publish("container", "exec_create: " + _action_command(ex.config["Cmd"]), c.id,
                            _attributes(c, execID=ex.id))
        return ex

    def get(self, exec_id: str) -> ExecInstance:
        ex = self.by_id.get(exec_id)
        if ex is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return ex

    async def start(self, ex: ExecInstance, detach: bool = False, tty: bool | None = None,
                    console_size: list[int] | None = None) -> MonitorLink | None:
        """Start the exec. Returns the stream link (None when detached).

        Conflict if it was already started or its container is not running.
        """
        if ex.started:
            raise Conflict(f"Error: Exec command {ex.id} has already run")
        c = self.containers.get(ex.container_id)
        _check_running(c)
        ex.started = True
        cfg = ex.config
        use_tty = bool(cfg.get("Tty") if tty is None else tty)
        rows, cols = (console_size or cfg.get("ConsoleSize") or [0, 0])[:2] if (console_size or cfg.get("ConsoleSize")) else (0, 0)
        paths = self.runtime.monitor_dir(ex.key)
        os.makedirs(paths.dir, exist_ok=True)
        container_spec = bundle.load(self.runtime.monitor_dir(c.key).dir)
        try:
            proc = bundle.exec_process(container_spec, self.rootfs(c), cfg["Cmd"], cfg.get("Env") or [],
                                       cfg.get("WorkingDir") or "", cfg.get("User") or "", use_tty,
                                       bool(cfg.get("Privileged")), rows or 0, cols or 0)
        except InvalidParameter as err:  # a user or group missing from the image
            self._fail_start(ex, str(err))
            raise ExecStartFailed(str(err)) from None
        process_path = os.path.join(paths.dir, "process.json")
        with open(process_path, "w") as f:
            json.dump(proc, f)
        stdin = bool(cfg.get("AttachStdin")) and not detach
        # The hello and the go travel with the request for the monitor: runc starts as
        # soon as it is forked (the readers below skip its "created").
        hello = {"events": True, "stdin": stdin, "stdout": bool(cfg.get("AttachStdout")) and not detach,
                 "stderr": bool(cfg.get("AttachStderr")) and not detach}
        link = await self.runtime.spawn_started(paths, c.id, hello, mode="exec", process=process_path,
                                                tty=use_tty, stdin=stdin, rows=rows or 0, cols=cols or 0)
        self.events.publish("container", "exec_start: " + _action_command(cfg["Cmd"]), c.id,
                            _attributes(c, execID=ex.id))
        ex.running = True
        ex.link = link
        if detach:
            asyncio.create_task(self._wait_detached(ex, link))
            return None
        return link

    def _fail_start(self, ex: ExecInstance, message: str) -> None:
        """End an exec whose process never started: exit code 126 whatever the cause,
        as dockerd's ContainerExecStart records every start failure."""
        ex.exit_code = 126
        ex.config["_error"] = message
        self.finish(ex)

    def follow(self, ex: ExecInstance) -> None:
        """Its client left an exec that may still run (detach keys, or a stream that
        ended): follow it on a link of our own until it exits, as a detached start."""

        async def reconnect() -> None:
            paths = self.runtime.monitor_dir(ex.key)
            try:
                link = await MonitorLink.connect(paths, events=True)
            except OSError:  # the monitor is gone: the exec is over
                status = (paths.read_exit() or {}).get("status")
                if ex.exit_code is None and isinstance(status, int):
                    ex.exit_code = status
                self.finish(ex)
                return
            await self._wait_detached(ex, link)

        asyncio.get_running_loop().create_task(reconnect())

    async def _wait_detached(self, ex: ExecInstance, link: MonitorLink) -> None:
        while True:
            state = await link.next_state()
            if state is None or self.on_state(ex, state):
                break
        link.close()
        self.finish(ex)

    def on_state(self, ex: ExecInstance, state: dict[str, Any]) -> bool:
        """Record a status frame; True when the exec is over."""
        kind = state.get("state")
        if kind == "running":
            ex.pid = int(state.get("pid") or 0)
            return False
        if kind == "exited":
            ex.exit_code = int(state.get("status") if state.get("status") is not None else 126)
            return True
        if kind == "error":
            # 126 for a missing binary or working directory too: dockerd's deferred
            # clean-up overrides the 127 its translateContainerdStartErr chose.
            msg = state.get("error", "")
            ex.exit_code = 126
            ex.config["_error"] = msg
            return True
        return False

    def finish(self, ex: ExecInstance) -> None:
        """Mark the exec as over (after its stream ended) and clean its files."""
        if ex.exit_code is None:
            ex.exit_code = 126 if not ex.pid else 137
        ex.running = False
        ex.link = None
        ex.done.set()
        _discard(self.runtime.monitor_dir(ex.key).dir)
        c = self.containers.by_id.get(ex.container_id)
        if c is not None:
            # A container's ExecIDs lists the execs that have not exited (docker drops
            # an exec from it at its exit; the exec itself stays inspectable).
            ids = [i for i in (c.doc.get("ExecIDs") or []) if i != ex.id]
            c.doc["ExecIDs"] = ids or None
            self.events.publish("container", "exec_die", c.id,
                                _attributes(c, execID=ex.id, exitCode=str(ex.exit_code)))

    def resize(self, ex: ExecInstance, h: int, w: int) -> None:
        if ex.link is None:
            raise Conflict(f"Exec {ex.id} is not running")
        ex.link.send(b"R", f"{h} {w}".encode())

    def forget_container(self, cid: str) -> None:
        for eid in [e.id for e in self.by_id.values() if e.container_id == cid]:
            del self.by_id[eid]


def _discard(path: str) -> None:
    """Remove an ended exec's monitor directory in a worker thread: rmtree is
    blocking I/O, and nobody waits for it (the exec's files are never read after
    its end, and its ID is never reused), so the client's stream need not wait."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (a synchronous caller): remove it now
        shutil.rmtree(path, ignore_errors=True)
        return
    loop.run_in_executor(None, shutil.rmtree, path, True)


def _check_running(c: Container) -> None:
    """Conflict unless the container runs (not paused, not waiting to restart)."""
    if not c.running:
        raise Conflict(f"container {c.id} is not running")
    if c.paused:
        raise Conflict(f"container {c.id} is paused, unpause the container before exec")
    if c.state.get("Restarting"):
        raise Conflict(f"Container {c.id} is restarting, wait until the container is running")


def _action_command(cmd: list[str]) -> str:
    """The command in docker's exec event actions: entrypoint, a space, the arguments
    (so ``exec_start: ls `` for a command without arguments, as docker prints it)."""
    return cmd[0] + " " + " ".join(cmd[1:])


def _attributes(c: Container, **extra: str) -> dict[str, str]:
    """Container event attributes (moby's LogContainerEventWithAttributes): the
    extra ones, the container's labels, its image and name."""
    attrs = dict(extra)
    attrs.update({k: str(v) for k, v in (c.config.get("Labels") or {}).items()})
    attrs.update(image=c.config.get("Image", ""), name=c.name.lstrip("/"))
    return attrs
