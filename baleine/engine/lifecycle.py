"""Container lifecycle: create, start, stop, kill, pause, wait, remove, exit handling.

State machine (``State.Status``): created → running ⇄ paused; running → exited
(or → restarting → running under a restart policy); any → removing → gone. Every
transition is persisted before it is announced (events, waiters).

A running container is watched through its monitor's event stream
(``MonitorLink``); when the daemon restarts, ``adopt`` reconnects to monitors
that are still alive and records the exits of those that ended meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass
from typing import Any

from . import bundle, etcfiles, spec as ocispec
from .containers import Container, Containers, build_document, merge_config
from .errors import Conflict, EngineError, InvalidParameter, NotFound, NotModified
from .events import Events
from .images import Images
from .runtime import MonitorLink, MonitorPaths, Runtime
from .signals import parse_signal
from .snapshots import Snapshots
from .timestamps import ZERO_TIME, now_rfc3339nano
from .units import parse_bytes

log = logging.getLogger("baleine.lifecycle")

RESTART_POLICIES = ("", "no", "always", "on-failure", "unless-stopped")


@dataclass
class Settings:
    """Daemon-wide settings the lifecycle needs."""

    data_root: str
    exec_root: str
    cgroup_parent: str = "baleine"
    log_max_size: int = 0
    log_max_file: int = 1


class Lifecycle:
    """Creates and runs containers (see module docstring)."""

    def __init__(self, containers: Containers, images: Images, snapshots: Snapshots, runtime: Runtime,
                 events: Events, settings: Settings) -> None:
        self.containers = containers
        self.images = images
        self.snapshots = snapshots
        self.runtime = runtime
        self.events = events
        self.settings = settings
        self.shutting_down = False
        #: hooks other subsystems register: called with the container after start / exit
        self.on_started: list[Any] = []
        self.on_exited: list[Any] = []
        #: network setup hook: returns (netns path or None or "host", extra SpecInput mounts)
        self.network = None
        self.volumes = None

    # -- create -----------------------------------------------------------------

    def create(self, body: dict[str, Any], name: str | None) -> tuple[Container, list[str]]:
        """Create a container from a ``POST /containers/create`` body; return it and warnings."""
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON: expected an object")
        image_ref = body.get("Image") or ""
        if not image_ref:
            raise InvalidParameter("No image was specified: config.Image must not be empty")
        image = self.images.get(image_ref)
        host_config = normalize_host_config(body.get("HostConfig") or {})
        user_cfg = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
        config = merge_config(user_cfg, image.container_config)
        config["Image"] = image_ref
        full_name = self.containers.check_name(name) if name else self.containers.unique_random_name()
        cid = self.containers.new_id()
        if not config.get("Hostname"):
            config["Hostname"] = cid[:12]
        if host_config.get("NetworkMode") == "host" and not body.get("Hostname"):
            config["Hostname"] = os.uname().nodename
        warnings = validate_resources(host_config)
        rw = self.snapshots.create_rw()
        cdir = os.path.join(self.containers.root, cid)
        try:
            os.makedirs(cdir)
            log_path = os.path.join(cdir, f"{cid}-json.log")
            doc = build_document(cid, full_name, config, host_config, image, image_ref, cid[:12], rw,
                                 log_path, cdir)
            doc["NetworkingConfig"] = body.get("NetworkingConfig")
            c = self.containers.add(doc)
        except BaseException:
            self.snapshots.remove_rw(rw)
            shutil.rmtree(cdir, ignore_errors=True)
            raise
        if self.volumes is not None:
            try:
                self.volumes.on_create(c, image)
            except BaseException:
                self._destroy(c)
                raise
        self.events.publish("container", "create", c.id, self.attributes(c))
        return c, warnings

    def attributes(self, c: Container, **extra: Any) -> dict[str, str]:
        """Event attributes: name, image and labels (as docker sends them)."""
        attrs = {k: str(v) for k, v in (c.config.get("Labels") or {}).items()}
        attrs.update(name=c.name.lstrip("/"), image=c.config.get("Image", ""))
        attrs.update({k: str(v) for k, v in extra.items()})
        return attrs

    # -- start ------------------------------------------------------------------

    async def start(self, c: Container) -> None:
        """Start a created or exited container; NotModified if already running."""
        async with c.lock:
            await self._start_locked(c)

    async def _start_locked(self, c: Container) -> None:
        if c.running:
            raise NotModified(f"container {c.id} is already running")
        if c.status == "removing":
            raise Conflict(f"container {c.id} is marked for removal and cannot be started")
        if c.status == "dead":
            raise Conflict(f"container {c.id} is marked as dead and cannot be started")
        paths = self.runtime.monitor_dir(c.key)
        try:
            await self._launch(c, paths)
        except BaseException as exc:
            await self._cleanup_failed_start(c, paths, exc)
            raise
        self.events.publish("container", "start", c.id, self.attributes(c))
        for hook in self.on_started:
            hook(c)

    async def _launch(self, c: Container, paths: MonitorPaths) -> None:
        rootfs = await asyncio.to_thread(self.snapshots.mount_rw, c.private["rw"], c.private.get("top", ""))
        hc = c.host_config
        netns, net_mounts = None, []
        mode = hc.get("NetworkMode") or "default"
        if self.network is not None:
            netns = await self.network.prepare(c)
        elif mode == "host":
            netns = "host"
        cdir = os.path.join(self.containers.root, c.id)
        host_net = netns == "host"
        etcfiles.write_all(cdir, c.config.get("Hostname", ""), c.config.get("Domainname", ""),
                           etcfiles.hosts_text(c.config.get("Hostname", ""), c.config.get("Domainname", ""),
                                               c.private.get("ip"), hc.get("ExtraHosts"), host_net),
                           etcfiles.resolv_text(hc.get("Dns"), hc.get("DnsSearch"), hc.get("DnsOptions"),
                                                host_net))
        mounts = [ocispec.Mount("/etc/resolv.conf", c.doc["ResolvConfPath"], "bind", ["rbind", "rprivate"]),
                  ocispec.Mount("/etc/hostname", c.doc["HostnamePath"], "bind", ["rbind", "rprivate"]),
                  ocispec.Mount("/etc/hosts", c.doc["HostsPath"], "bind", ["rbind", "rprivate"])]
        if self.volumes is not None:
            mounts = await self.volumes.mounts(c, rootfs) + mounts
        inp = bundle.spec_input(c, rootfs, mounts + net_mounts, netns, self.settings.cgroup_parent)
        await asyncio.to_thread(bundle.write, paths.dir, inp)
        log_cfg = hc.get("LogConfig") or {}
        opts = log_cfg.get("Config") or {}
        max_size = parse_bytes(opts["max-size"]) if opts.get("max-size") else self.settings.log_max_size
        max_file = int(opts.get("max-file") or self.settings.log_max_file or 1)
        log_path = c.doc["LogPath"] if (log_cfg.get("Type") or "json-file") in ("json-file", "local") else None
        await self.runtime.spawn(paths, c.id, mode="container", bundle=paths.dir, tty=bool(c.config.get("Tty")),
                                 stdin=bool(c.config.get("OpenStdin")), stdin_once=bool(c.config.get("StdinOnce")),
                                 log_path=log_path, log_max_size=max_size, log_max_file=max_file,
                                 rows=(hc.get("ConsoleSize") or [0, 0])[0], cols=(hc.get("ConsoleSize") or [0, 0])[1],
                                 oom_files=oom_files(self.settings.cgroup_parent, c.id))
        link = await MonitorLink.connect(paths, events=True)
        state = await link.next_state()
        while state is not None and state.get("state") == "starting":
            state = await link.next_state()
        if state is None or state.get("state") != "created":
            link.close()
            raise _start_error(state)
        # Attach sessions waiting for this start connect now, before the process runs.
        waiting, c.pending_attach = c.pending_attach, []
        for fut in waiting:
            if not fut.done():
                fut.set_result(None)
        await asyncio.sleep(0)
        for _ in range(200):
            if all(getattr(f, "connected", True) for f in waiting):
                break
            await asyncio.sleep(0.005)
        link.send(b"G")
        state = await link.next_state()
        if state is None or state.get("state") not in ("running", "exited"):
            link.close()
            raise _start_error(state)
        c.link = link
        st = c.state
        st.update(Status="running", Running=True, Paused=False, Restarting=False, OOMKilled=False, Dead=False,
                  Pid=int(state.get("pid") or 0), ExitCode=0, Error="", StartedAt=now_rfc3339nano(),
                  FinishedAt=ZERO_TIME if not st.get("FinishedAt") else st["FinishedAt"])
        c.private["manual_stop"] = False
        c.private["started_mono"] = time.monotonic()
        self.containers.save(c)
        if state.get("state") == "exited":
            c.watcher = asyncio.create_task(self._handle_exit(c, state))
        else:
            c.watcher = asyncio.create_task(self._watch(c, link))

    async def _cleanup_failed_start(self, c: Container, paths: MonitorPaths, exc: BaseException) -> None:
        msg = str(exc)
        code = 128
        low = msg.lower()
        if "executable file not found" in low or "no such file or directory" in low:
            code = 127
        elif "permission denied" in low:
            code = 126
        await self.runtime.delete(c.id)
        if self.network is not None:
            await self.network.release(c)
        await asyncio.to_thread(self.snapshots.unmount_rw, c.private["rw"])
        c.state.update(Error=msg, ExitCode=code, Running=False, Pid=0)
        if c.state.get("Status") not in ("exited",):
            c.state["Status"] = "created" if c.state.get("StartedAt") == ZERO_TIME else "exited"
        self.containers.save(c)
        self.events.publish("container", "die", c.id, self.attributes(c, exitCode=code))

    # -- watching and exits -----------------------------------------------------------

    async def _watch(self, c: Container, link: MonitorLink) -> None:
        state: dict[str, Any] | None = None
        while True:
            state = await link.next_state()
            if state is None or state.get("state") in ("exited", "error"):
                break
        link.close()
        if self.shutting_down:
            return
        if state is None:
            # The monitor vanished without a word: read what it left, if anything.
            state = MonitorPaths(self.runtime.monitor_dir(c.key).dir).read_exit() or {"status": 255}
            state["state"] = "exited"
        await self._handle_exit(c, state)

    async def _handle_exit(self, c: Container, state: dict[str, Any]) -> None:
        code = state.get("status")
        if code is None or code < 0:
            code = 255 if code is None else 128
        oom = bool(state.get("oom"))
        async with c.lock:
            c.link = None
            if c.health_task is not None:
                c.health_task.cancel()
                c.health_task = None
            await asyncio.to_thread(self.snapshots.unmount_rw, c.private["rw"])
            if self.network is not None:
                await self.network.release(c)
            c.state.update(Status="exited", Running=False, Paused=False, Restarting=False, Pid=0,
                           ExitCode=code, OOMKilled=oom, FinishedAt=state.get("time") or now_rfc3339nano(),
                           Error=state.get("error", ""))
            self.containers.save(c)
        if oom:
            self.events.publish("container", "oom", c.id, self.attributes(c))
        self.events.publish("container", "die", c.id, self.attributes(c, exitCode=code))
        result = {"StatusCode": code, "Error": None}
        waiters, c.exit_waiters = c.exit_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(result)
        for hook in self.on_exited:
            hook(c)
        if self._should_restart(c, code):
            c.restart_task = asyncio.create_task(self._restart_later(c))
        elif c.host_config.get("AutoRemove"):
            try:
                await self.remove(c, force=True, volumes=True)
            except NotFound:
                pass

    def _should_restart(self, c: Container, code: int) -> bool:
        if self.shutting_down or c.private.get("manual_stop") or c.stopping:
            return False
        policy = c.host_config.get("RestartPolicy") or {}
        name = policy.get("Name") or "no"
        if name in ("always", "unless-stopped"):
            return True
        if name == "on-failure" and code != 0:
            limit = int(policy.get("MaximumRetryCount") or 0)
            return limit == 0 or c.doc.get("RestartCount", 0) < limit
        return False

    async def _restart_later(self, c: Container) -> None:
        """Restart after docker's backoff: 100 ms doubling, reset after 10 s of running."""
        ran = time.monotonic() - c.private.get("started_mono", 0)
        delay = c.private.get("backoff", 0.1)
        delay = 0.1 if ran > 10 else min(delay * 2, 60.0) if c.doc.get("RestartCount", 0) else 0.1
        c.private["backoff"] = delay
        c.state.update(Status="restarting", Restarting=True)
        self.containers.save(c)
        try:
            await asyncio.sleep(delay)
            if c.private.get("manual_stop") or c.id not in self.containers.by_id:
                c.state.update(Status="exited", Restarting=False)
                self.containers.save(c)
                return
            c.doc["RestartCount"] = c.doc.get("RestartCount", 0) + 1
            await self.start(c)
            self.events.publish("container", "restart", c.id, self.attributes(c))
        except asyncio.CancelledError:
            c.state.update(Status="exited", Restarting=False)
            self.containers.save(c)
            raise
        except EngineError as exc:
            log.warning("restart of %s failed: %s", c.id[:12], exc)
            c.state.update(Status="exited", Restarting=False)
            self.containers.save(c)
        finally:
            c.restart_task = None

    # -- stop, kill, restart, pause ---------------------------------------------------------

    async def wait_exit(self, c: Container, timeout: float | None) -> dict[str, Any] | None:
        """Wait for the running container to exit; None on timeout."""
        if not c.running:
            return {"StatusCode": c.state.get("ExitCode", 0), "Error": None}
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        c.exit_waiters.append(fut)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            return None

    async def stop(self, c: Container, timeout: int | None = None, sig: str | None = None) -> None:
        """Signal the container (its stop signal), SIGKILL after ``timeout`` seconds.

        NotModified if it is not running. A negative timeout waits forever.
        """
        if c.restart_task is not None:
            c.private["manual_stop"] = True
            c.restart_task.cancel()
            self.containers.save(c)
        if not c.running:
            raise NotModified(f"container {c.id} is already stopped")
        stop_sig = parse_signal(sig or c.config.get("StopSignal") or "SIGTERM")
        if timeout is None:
            timeout = c.config.get("StopTimeout")
            timeout = 10 if timeout is None else int(timeout)
        c.private["manual_stop"] = True
        c.stopping = True
        self.containers.save(c)
        try:
            try:
                await self._signal(c, stop_sig)
            except Conflict:
                pass
            if c.paused:
                await self.runtime.resume(c.id)
            result = await self.wait_exit(c, None if timeout < 0 else timeout)
            if result is None:
                try:
                    await self._signal(c, signal.SIGKILL)
                except Conflict:
                    pass
                await self.wait_exit(c, None)
        finally:
            c.stopping = False
        self.events.publish("container", "stop", c.id, self.attributes(c))

    async def _signal(self, c: Container, sig: int) -> None:
        self.events.publish("container", "kill", c.id, self.attributes(c, signal=sig))
        await self.runtime.kill(c.id, sig)

    async def kill(self, c: Container, sig: str | None = None) -> None:
        """Send a signal (default SIGKILL); Conflict if the container is not running."""
        number = parse_signal(sig or "SIGKILL")
        if not c.running:
            raise Conflict(f"Cannot kill container: {c.id[:12]}: Container {c.id} is not running")
        if number in (signal.SIGKILL, parse_signal(c.config.get("StopSignal") or "SIGTERM")):
            c.private["manual_stop"] = True
            self.containers.save(c)
        await self._signal(c, number)
        if number == signal.SIGKILL:
            await self.wait_exit(c, 10)

    async def restart(self, c: Container, timeout: int | None = None, sig: str | None = None) -> None:
        if c.running:
            await self.stop(c, timeout, sig)
        await self.start(c)
        self.events.publish("container", "restart", c.id, self.attributes(c))

    async def pause(self, c: Container) -> None:
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        if c.paused:
            raise Conflict(f"Container {c.id} is already paused")
        await self.runtime.pause(c.id)
        c.state.update(Paused=True, Status="paused")
        self.containers.save(c)
        self.events.publish("container", "pause", c.id, self.attributes(c))

    async def unpause(self, c: Container) -> None:
        if not c.paused:
            raise Conflict(f"Container {c.id} is not paused")
        await self.runtime.resume(c.id)
        c.state.update(Paused=False, Status="running")
        self.containers.save(c)
        self.events.publish("container", "unpause", c.id, self.attributes(c))

    # -- wait -----------------------------------------------------------------------

    async def wait(self, c: Container, condition: str = "not-running") -> dict[str, Any]:
        """``POST /containers/{id}/wait``: block until the condition; return the status."""
        if condition not in ("not-running", "next-exit", "removed", ""):
            raise InvalidParameter(f"invalid condition: {condition!r}")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        if condition == "removed":
            c.remove_waiters.append(fut)
        elif condition == "next-exit" or c.running or c.state.get("Restarting") or c.restart_task:
            c.exit_waiters.append(fut)
        else:
            return {"StatusCode": c.state.get("ExitCode", 0), "Error": None}
        return await fut

    # -- remove ---------------------------------------------------------------------

    async def remove(self, c: Container, force: bool = False, volumes: bool = False) -> None:
        """Remove a container (killing it first with ``force``)."""
        if c.restart_task is not None:
            c.private["manual_stop"] = True
            c.restart_task.cancel()
        if c.running:
            if not force:
                if c.paused:
                    raise Conflict(f"cannot remove container \"{c.name}\": container is paused and must be "
                                   "unpaused first")
                raise Conflict(f"cannot remove container \"{c.name}\": container is running: stop the container "
                               "before removing or force remove")
            c.private["manual_stop"] = True
            try:
                if c.paused:
                    await self.runtime.resume(c.id)
                await self._signal(c, signal.SIGKILL)
            except Conflict:
                pass
            await self.wait_exit(c, 15)
        if c.status == "removing":
            raise Conflict(f"removal of container {c.id[:12]} is already in progress")
        if c.id not in self.containers.by_id:
            raise NotFound(f"No such container: {c.id}")
        async with c.lock:
            c.state["Status"] = "removing"
            if c.watcher is not None and not c.watcher.done() and c.link is not None:
                c.link.close()
            await asyncio.to_thread(self._destroy, c)
            if self.volumes is not None:
                await self.volumes.on_remove(c, volumes)
        self.events.publish("container", "destroy", c.id, self.attributes(c))
        result = {"StatusCode": c.state.get("ExitCode", 0), "Error": None}
        for fut in c.remove_waiters + c.exit_waiters:
            if not fut.done():
                fut.set_result(result)
        c.remove_waiters, c.exit_waiters = [], []

    def _destroy(self, c: Container) -> None:
        """Forget a container and delete its files (blocking)."""
        self.containers.forget(c)
        self.snapshots.remove_rw(c.private["rw"])
        shutil.rmtree(os.path.join(self.containers.root, c.id), ignore_errors=True)
        shutil.rmtree(self.runtime.monitor_dir(c.key).dir, ignore_errors=True)
        self.images.collect_layers()

    # -- attach ---------------------------------------------------------------------

    async def attach_link(self, c: Container, stdin: bool, stdout: bool, stderr: bool) -> MonitorLink:
        """A monitor connection carrying the chosen streams of the container.

        For a container not started yet this waits for its start and connects before
        the process runs, so no output is missed. Conflict if it has stopped.
        """
        if not c.running:
            if c.status not in ("created", "exited", "restarting") and not c.restart_task:
                raise Conflict("You cannot attach to a stopped container, start it first")
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            fut.connected = False  # type: ignore[attr-defined]
            c.pending_attach.append(fut)
            await fut
            try:
                link = await MonitorLink.connect(self.runtime.monitor_dir(c.key), stdin=stdin, stdout=stdout,
                                                 stderr=stderr)
                await link.drain()
            finally:
                fut.connected = True  # type: ignore[attr-defined]
            return link
        return await MonitorLink.connect(self.runtime.monitor_dir(c.key), stdin=stdin, stdout=stdout,
                                         stderr=stderr)

    # -- recovery -------------------------------------------------------------------

    async def adopt(self) -> None:
        """After a daemon start: reconnect to live monitors, record exits, apply policies."""
        for c in list(self.containers.by_id.values()):
            c.stopping = False
            paths = self.runtime.monitor_dir(c.key)
            if c.status == "removing":
                await asyncio.to_thread(self._destroy, c)
                continue
            if c.running or c.status in ("running", "paused", "restarting"):
                state = None
                if paths.monitor_alive():
                    try:
                        link = await MonitorLink.connect(paths, events=True)
                        state = await link.next_state()
                    except OSError:
                        link, state = None, None
                    if state and state.get("state") == "running" and link is not None:
                        c.link = link
                        c.watcher = asyncio.create_task(self._watch(c, link))
                        continue
                    if link is not None:
                        link.close()
                if not state or state.get("state") not in ("exited", "error"):
                    state = paths.read_exit() or {"status": 255}
                if "error" in state and "status" not in state:
                    state["status"] = 128
                c.state["Running"] = True  # so that exit handling runs its course
                await self._handle_exit(c, state)
            elif (c.host_config.get("RestartPolicy") or {}).get("Name") == "always" or (
                    (c.host_config.get("RestartPolicy") or {}).get("Name") == "unless-stopped"
                    and not c.private.get("manual_stop") and c.status == "exited"
                    and c.state.get("StartedAt") != ZERO_TIME):
                if c.status == "exited" and not c.private.get("manual_stop"):
                    try:
                        await self.start(c)
                    except EngineError as exc:
                        log.warning("could not restart %s: %s", c.id[:12], exc)

    async def shutdown(self) -> None:
        """Stop watching (containers keep running under their monitors)."""
        self.shutting_down = True
        for c in self.containers.by_id.values():
            for task in (c.watcher, c.restart_task, c.health_task):
                if task is not None:
                    task.cancel()
            if c.link is not None:
                c.link.close()


def oom_files(parent: str, cid: str) -> list[str]:
    """Where the kernel counts OOM kills for a container's cgroup (v2, then v1)."""
    if ocispec.cgroup2():
        return [f"/sys/fs/cgroup/{parent}/{cid}/memory.events"]
    return [f"/sys/fs/cgroup/memory/{parent}/{cid}/memory.oom_control"]


def _start_error(state: dict[str, Any] | None) -> EngineError:
    if state is None:
        return EngineError("the container's monitor exited unexpectedly")
    msg = state.get("error") or f"container process failed to start ({state.get('state')})"
    full = f"failed to create task for container: OCI runtime create failed: {msg}: unknown"
    low = msg.lower()
    if "executable file not found" in low or "no such file or directory" in low or \
            "permission denied" in low or "not a directory" in low:
        return InvalidParameter(full)
    return EngineError(full)


def normalize_host_config(hc: dict[str, Any]) -> dict[str, Any]:
    """Validate a HostConfig and fill docker's defaults (InvalidParameter if malformed)."""
    if not isinstance(hc, dict):
        raise InvalidParameter("HostConfig must be an object")
    out = dict(hc)
    policy = out.get("RestartPolicy") or {}
    name = policy.get("Name") or ""
    if name not in RESTART_POLICIES:
        raise InvalidParameter(f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
                               "'on-failure', or 'unless-stopped'")
    if name != "on-failure" and policy.get("MaximumRetryCount"):
        raise InvalidParameter(f"invalid restart policy: maximum retry count can only be used with 'on-failure'")
    if int(policy.get("MaximumRetryCount") or 0) < 0:
        raise InvalidParameter("invalid restart policy: maximum retry count cannot be negative")
    if out.get("AutoRemove") and name not in ("", "no"):
        raise InvalidParameter("can't create 'AutoRemove' container with restart policy")
    out["RestartPolicy"] = {"Name": name or "no", "MaximumRetryCount": int(policy.get("MaximumRetryCount") or 0)}
    mode = out.get("NetworkMode") or "bridge"
    if mode == "default":
        mode = "bridge"
    out["NetworkMode"] = mode
    log_cfg = out.get("LogConfig") or {}
    out["LogConfig"] = {"Type": log_cfg.get("Type") or "json-file", "Config": log_cfg.get("Config") or {}}
    if out["LogConfig"]["Type"] not in ("json-file", "local", "none"):
        raise InvalidParameter(f"logging driver \"{out['LogConfig']['Type']}\" is not supported")
    for key in ("CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "Links",
                "SecurityOpt", "Binds", "VolumesFrom", "Devices", "Ulimits", "Mounts"):
        if out.get(key) is None:
            out[key] = None if key not in ("Dns", "DnsOptions", "DnsSearch") else []
    for key in ("Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuPeriod",
                "CpuQuota", "ShmSize"):
        value = out.get(key)
        if value is not None and not isinstance(value, int):
            raise InvalidParameter(f"invalid {key}: must be an integer")
    if out.get("ShmSize") is None:
        out["ShmSize"] = 67108864
    out.setdefault("PidsLimit", None)
    out.setdefault("Privileged", False)
    out.setdefault("ReadonlyRootfs", False)
    out.setdefault("PortBindings", {})
    out.setdefault("IpcMode", "private")
    out.setdefault("PidMode", "")
    out.setdefault("Cgroup", "")
    out.setdefault("CgroupnsMode", "host" if not ocispec.cgroup2() else "private")
    out.setdefault("Runtime", "runc")
    out.setdefault("ConsoleSize", [0, 0])
    out.setdefault("Isolation", "")
    out.setdefault("MaskedPaths", None)
    out.setdefault("ReadonlyPaths", None)
    if out["ConsoleSize"] is None:
        out["ConsoleSize"] = [0, 0]
    for mount in out.get("Mounts") or []:
        if not isinstance(mount, dict) or not mount.get("Target"):
            raise InvalidParameter("invalid mount config: Target must not be empty")
    return out


def validate_resources(hc: dict[str, Any]) -> list[str]:
    """Docker's create-time resource checks; returns warnings, raises on errors."""
    warnings: list[str] = []
    mem = hc.get("Memory") or 0
    if mem and mem < 6 * 1024 * 1024:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    swap = hc.get("MemorySwap") or 0
    if mem and swap and swap != -1 and swap < mem:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage")
    if hc.get("NanoCpus") and (hc.get("CpuQuota") or hc.get("CpuPeriod")):
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    ncpu = os.cpu_count() or 1
    if (hc.get("NanoCpus") or 0) > ncpu * 1_000_000_000:
        raise InvalidParameter(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs "
                               "available")
    if (hc.get("NanoCpus") or 0) < 0:
        raise InvalidParameter("Range of CPUs is from 0.01 to %d.00" % ncpu)
    return warnings
