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
import contextlib
import copy
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..runtime import bundle, spec as ocispec
from . import etcfiles, links
from .createchecks import (check_log_opts, check_net_mode, check_pid_mode, check_platform,
                           check_security_opts, create_warnings)
from .records import Container, Containers, build_document, check_types, merge_config
from ...rules.errors import Conflict, EngineError, InvalidParameter, NotFound, NotModified
from ..events import Events
from .health import validate_healthcheck
from .workdir import make_working_dir
from ..images.records import Images
from .restarts import RestartManager, policy_error
from ..runtime.runc import MonitorLink, MonitorPaths, Runtime
from ...rules.signals import parse_signal, validate_signal
from ..images.snapshots import Snapshots
from ...rules.timestamps import ZERO_TIME, now_rfc3339nano, parse_rfc3339
from ...rules.units import parse_bytes

log = logging.getLogger("baleine.lifecycle")

RESTART_POLICIES = ("", "no", "always", "on-failure", "unless-stopped")
#: the --add-host address that stands for the default bridge's gateway
HOST_GATEWAY = "host-gateway"


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
        self.monitor = runtime.container_monitor  # the monitor kind's one seam
        self.events = events
        self.settings = settings
        self.shutting_down = False
        #: hooks other subsystems register: called with the container after start / exit
        self.on_started: list[Any] = []
        self.on_exited: list[Any] = []
        self.on_removed: list[Any] = []
        #: awaited with (container, signal or None for a pause) before a stop, kill or
        #: pause is signalled (the balancer takes the container out of its group first)
        self.before_signal: list[Any] = []
        #: network setup hook: returns (netns path or None or "host", extra SpecInput mounts)
        self.network = None
        self.volumes = None
        #: moby's per-container restart managers (runtime only: a daemon restart or a
        #: manual start gets a fresh one, with the backoff starting over)
        self.restart_managers: dict[str, RestartManager] = {}
        #: containers a ``remove`` is working on
        self.removals: set[str] = set()

    # -- create -----------------------------------------------------------------

    def create(self, body: dict[str, Any], name: str | None,
               platform: str | None = None, cid: str | None = None) -> tuple[Container, list[str]]:
        """Create a container from a ``POST /containers/create`` body; return it and warnings.
        ``platform`` (``os/arch[/variant]``): NotFound when the image is for another.
        ``cid``: the ID to give it (a build step's, see :meth:`create_exited`)."""
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON: expected an object")
        check_types(body)
        check_net_mode(body)
        image_ref = body.get("Image") or ""
        if not image_ref:
            raise InvalidParameter("No image was specified: config.Image must not be empty")
        image = self.images.get(image_ref)
        check_platform(image_ref, image.config, platform)
        host_config = normalize_host_config(body.get("HostConfig") or {})
        self.monitor.check_log_config(host_config["LogConfig"], self.settings.log_max_file)
        validate_healthcheck(body.get("Healthcheck"))
        user_cfg = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
        config = merge_config(user_cfg, image.container_config)
        config["Image"] = image_ref
        full_name = self.containers.check_name(name) if name else self.containers.unique_random_name()
        self._register_links(host_config, full_name)
        cid = cid or self.containers.new_id()
        if not config.get("Hostname"):
            config["Hostname"] = cid[:12]
        if host_config.get("NetworkMode") == "host" and not body.get("Hostname"):
            config["Hostname"] = os.uname().nodename
        warnings = create_warnings(body) + validate_resources(host_config)
        rw = self.snapshots.new_key()
        self.snapshots.prepare(rw, image.top_layer, init=True)
        cdir = os.path.join(self.containers.root, cid)
        try:
            os.makedirs(cdir)
            log_path = os.path.join(cdir, f"{cid}-json.log")
            doc = build_document(cid, full_name, config, host_config, image, image_ref, cid[:12], rw,
                                 log_path, cdir)
            doc["NetworkingConfig"] = body.get("NetworkingConfig")
            c = self.containers.add(doc)
        except BaseException:
            self.snapshots.remove(rw)
            shutil.rmtree(cdir, ignore_errors=True)
            raise
        for hook in (self.network, self.volumes):
            if hook is not None:
                try:
                    hook.on_create(c, image)
                except BaseException:
                    self._destroy(c)
                    raise
        self.events.publish("container", "create", c.id, self.attributes(c))
        return c, warnings

    def create_exited(self, body: dict[str, Any], cid: str, upper: str, code: int,
                      started_at: str, error: str = "") -> Container:
        """What the classic builder keeps of a failed RUN: a container made as
        :meth:`create` makes it (random name, ID ``cid``) whose writable layer is the
        directory ``upper`` (moved in: changes over the image's layers with the init
        layer below, as a build's RUN work area holds them), exited with ``code``;
        or, with the runtime's ``error``, one whose process never started (left
        "created" with that error and its code, as a failed start leaves one).
        Nothing is left of the container when this raises."""
        c, _ = self.create(body, None, cid=cid)
        try:
            dest = self.snapshots.upper(c.private["rw"])
            os.rmdir(dest)
            os.rename(upper, dest)
            if error:
                c.state.update(ExitCode=start_failure_code(error), Error=error)
            else:
                c.state.update(Status="exited", ExitCode=code, StartedAt=started_at, FinishedAt=now_rfc3339nano())
            self.containers.save(c)
        except BaseException:
            self._destroy(c)
            raise
        return c

    def attributes(self, c: Container, **extra: Any) -> dict[str, str]:
        """Event attributes as docker sends them (LogContainerEventWithAttributes): the
        extra ones, then the labels, then image and name (which win over both)."""
        attrs = {k: str(v) for k, v in extra.items()}
        attrs.update({k: str(v) for k, v in (c.config.get("Labels") or {}).items()})
        attrs.update(image=c.config.get("Image", ""), name=c.name.lstrip("/"))
        return attrs

    # -- start ------------------------------------------------------------------

    async def start(self, c: Container) -> None:
        """Start a created or exited container by hand (``POST /containers/{id}/start``).

        A manual start resets ``RestartCount``, the restart backoff and the "stopped by
        hand" mark, as docker's does. Raises NotModified if it is already running (or
        restarting), Conflict if paused, being removed or dead; an error of the runtime
        if the process cannot start — and then a container with AutoRemove is removed.
        """
        failed: EngineError | None = None
        async with c.lock:
            self._check_startable(c)
            try:
                await self._start_locked(c, reset=True)
            except EngineError as exc:
                failed = exc
        if failed is not None:
            if c.host_config.get("AutoRemove") and c.id in self.containers.by_id:
                await self._auto_remove(c)
            raise failed

    def _check_startable(self, c: Container) -> None:
        """moby's ``validateState`` for a manual start."""
        # Paused first: a paused container is also running, and must be thawed, not started.
        if c.paused:
            raise Conflict("cannot start a paused container, try unpause instead")
        if c.running:
            raise NotModified(f"container {c.id} is already running")
        if c.status in ("removing", "dead"):
            raise Conflict("container is marked for removal and cannot be started")

    async def _start_locked(self, c: Container, reset: bool) -> None:
        """Launch the process (``c.lock`` held). ``reset``: a manual start (see ``start``),
        not the restart policy's."""
        paths = self.monitor.dir(c.key)
        await self._wait_monitor_gone(paths)
        if reset:
            self.reset_restart_manager(c, reset_count=True)
            c.private["manual_stop"] = False
        try:
            await self._launch(c, paths)
        except BaseException as exc:
            await self._cleanup_failed_start(c, paths, exc)
            raise
        # A `docker restart` is over once its start succeeded (AutoRemove applies again).
        c.private.pop("manual_restart", None)
        self.containers.save(c)
        self.events.publish("container", "start", c.id, self.attributes(c))
        for hook in self.on_started:
            hook(c)

    def restart_manager(self, c: Container) -> RestartManager:
        """The container's restart manager, created on first use from its policy and
        ``RestartCount`` (moby's ``Container.RestartManager``)."""
        rm = self.restart_managers.get(c.id)
        if rm is None:
            rm = RestartManager(c.host_config.get("RestartPolicy") or {}, int(c.doc.get("RestartCount") or 0))
            self.restart_managers[c.id] = rm
        # The policy may have been changed (docker update --restart) since.
        rm.policy = c.host_config.get("RestartPolicy") or {}
        return rm

    def reset_restart_manager(self, c: Container, reset_count: bool) -> None:
        """Drop the restart manager (cancelling it), optionally zeroing ``RestartCount``."""
        rm = self.restart_managers.pop(c.id, None)
        if rm is not None:
            rm.cancel()
        if reset_count:
            c.doc["RestartCount"] = 0

    @staticmethod
    async def _wait_monitor_gone(paths: MonitorPaths, timeout: float = 10) -> None:
        """Wait for the monitor of a previous run to finish (it deletes the runtime's
        state of the container after reporting the exit)."""
        deadline = time.monotonic() + timeout
        while paths.monitor_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    async def _launch(self, c: Container, paths: MonitorPaths) -> None:
        # The monitor starts while the rootfs, network and bundle are made: it needs none
        # of them before "G" (runc reads the bundle then), and its hand-off is ~5 ms.
        # (conmon runs `runc create` at once: it is spawned once the bundle is written.)
        early = self.monitor.spawns_before_bundle
        self.runtime.warm_cgroup_lock()  # runc will move the container's init (cgroup_lock.py)
        spawning = asyncio.create_task(self._spawn_monitor(c, paths)) if early else None
        try:
            await self._prepare_bundle(c, paths)
        except BaseException:
            if spawning is not None:
                await asyncio.gather(spawning, return_exceptions=True)
                if not spawning.cancelled() and spawning.exception() is None:
                    await paths.stop_unstarted()
            raise
        await (spawning if spawning is not None else self._spawn_monitor(c, paths))
        link = await self.monitor.connect(paths, events=True)
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
        await self._attaches_settled(waiting)
        self.runtime.warm_cgroup_lock()
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
        c.private["started_mono"] = time.monotonic()
        self.containers.save(c)
        if state.get("state") == "exited":
            c.watcher = asyncio.create_task(self._handle_exit(c, state))
        else:
            c.watcher = asyncio.create_task(self._watch(c, link))

    async def _prepare_bundle(self, c: Container, paths: MonitorPaths) -> None:
        """Mount the rootfs and wire the network side by side (neither needs the other;
        a failure of either is raised once both are over, rootfs first, and the failed
        start's clean-up undoes both), then write /etc files and ``config.json``."""
        hc = c.host_config
        netns, net_mounts = None, []
        mode = hc.get("NetworkMode") or "default"
        mounting = asyncio.to_thread(self._mount_rootfs, c)
        if self.network is not None:
            done = await asyncio.gather(mounting, self.network.prepare(c), return_exceptions=True)
            for result in done:
                if isinstance(result, BaseException):
                    raise result
            rootfs, netns = done
        else:
            rootfs = await mounting
            netns = "host" if mode == "host" else None
        cdir = os.path.join(self.containers.root, c.id)
        host_net = netns == "host"
        link_hosts, link_env = self._links(c)
        etcfiles.write_all(cdir, c.config.get("Hostname", ""), c.config.get("Domainname", ""),
                           etcfiles.hosts_text(c.config.get("Hostname", ""), c.config.get("Domainname", ""),
                                               c.private.get("ip"), link_hosts + self._extra_hosts(hc), host_net),
                           # The network hook may choose the servers (127.0.0.11 on user networks).
                           etcfiles.resolv_text((c.private.get("resolv") or {}).get("Dns", hc.get("Dns")),
                                                hc.get("DnsSearch"),
                                                (c.private.get("resolv") or {}).get("DnsOptions", hc.get("DnsOptions")),
                                                host_net))
        mounts = [ocispec.Mount("/etc/resolv.conf", c.doc["ResolvConfPath"], "bind", ["rbind", "rprivate"]),
                  ocispec.Mount("/etc/hostname", c.doc["HostnamePath"], "bind", ["rbind", "rprivate"]),
                  ocispec.Mount("/etc/hosts", c.doc["HostsPath"], "bind", ["rbind", "rprivate"])]
        if self.volumes is not None:
            mounts = await self.volumes.mounts(c, rootfs) + mounts
        inp = bundle.spec_input(c, rootfs, mounts + net_mounts, netns, self.settings.cgroup_parent,
                                self._pid_namespace(hc))
        inp.env = link_env + inp.env  # the container's own variables win, as in dockerd
        await asyncio.to_thread(bundle.write, paths.dir, inp)

    def _mount_rootfs(self, c: Container) -> str:
        """Blocking: mount the container's rootfs and make its working directory."""
        rootfs = self.snapshots.mount_rw(c.private["rw"], c.private.get("top", ""))
        make_working_dir(rootfs, c.config.get("WorkingDir") or "")
        return rootfs

    async def _spawn_monitor(self, c: Container, paths: MonitorPaths) -> None:
        """Start the container's monitor (it runs the bundle at "G")."""
        hc = c.host_config
        log_cfg = hc.get("LogConfig") or {}
        opts = log_cfg.get("Config") or {}
        max_size = parse_bytes(opts["max-size"]) if opts.get("max-size") else self.settings.log_max_size
        max_file = int(opts.get("max-file") or self.settings.log_max_file or 1)
        log_path = c.doc["LogPath"] if (log_cfg.get("Type") or "json-file") in ("json-file", "local") else None
        await self.monitor.spawn(paths, c.id, tty=bool(c.config.get("Tty")),
                                 stdin=bool(c.config.get("OpenStdin")), stdin_once=bool(c.config.get("StdinOnce")),
                                 log_path=log_path, log_max_size=max_size, log_max_file=max_file,
                                 rows=(hc.get("ConsoleSize") or [0, 0])[0], cols=(hc.get("ConsoleSize") or [0, 0])[1],
                                 oom_files=oom_files(self.settings.cgroup_parent, c.id))

    @staticmethod
    async def _attaches_settled(waiting: list[asyncio.Future[None]], bound: float = 10) -> None:
        """Return once each attach session that waited for this start is connected to
        the monitor or gave up (its client left): woken by the sessions themselves, not
        polled. The bound is only a safety net, long enough for a loaded machine
        (output would be lost)."""
        events = [f.settled.wait() for f in waiting  # type: ignore[attr-defined]
                  if not f.cancelled() and not f.settled.is_set()]  # type: ignore[attr-defined]
        if events:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*events), bound)

    def _pid_namespace(self, hc: dict[str, Any]) -> str:
        """The PID namespace ``--pid container:X`` joins ("" for the other modes):
        X's, which must be running (dockerd's getPIDContainer and its errors)."""
        mode = hc.get("PidMode") or ""
        if not mode.startswith("container:"):
            return ""
        ref = mode.split(":", 1)[1]
        try:
            other = self.containers.get(ref)
        except NotFound as exc:
            raise InvalidParameter(str(exc)) from None
        if other.state.get("Restarting"):
            raise Conflict(f"container {other.id} is restarting, wait until the container is running")
        if not other.running or not other.state.get("Pid"):
            raise Conflict(f"container {other.id} is not running")
        return f"/proc/{other.state['Pid']}/ns/pid"

    def _register_links(self, hc: dict[str, Any], linker: str) -> None:
        """Check the linked containers exist and store the links as dockerd shows them
        (``/linked:/linker/alias``); only on the default bridge, as in dockerd."""
        if not hc.get("Links") or (hc.get("NetworkMode") or "default") not in ("default", "bridge"):
            return
        stored = []
        for entry in hc["Links"]:
            name, alias = links.parse(entry)
            try:
                child = self.containers.get(name)
            except NotFound as e:
                raise InvalidParameter(f"could not get container for {name}: {e}") from None
            stored.append(links.stored_form(f"{child.name}:{alias}", linker))
        hc["Links"] = stored

    def _links(self, c: Container) -> tuple[list[str], list[str]]:
        """The hosts entries and the variables of ``HostConfig.Links``; a link to a
        missing or stopped container fails the start, as in dockerd."""
        hosts: list[str] = []
        env: list[str] = []
        if (c.host_config.get("NetworkMode") or "default") not in ("default", "bridge"):
            return hosts, env  # user networks: the link is a DNS alias of the network's
        for entry in c.host_config.get("Links") or []:
            name, alias = links.parse(entry)
            try:
                child = self.containers.get(name)
            except NotFound:
                raise NotFound(f"could not get container for {name}") from None
            if not child.state.get("Running"):
                raise InvalidParameter(f"Cannot link to a non running container: {child.name} AS {c.name}/{alias}")
            ip = child.private.get("ip") or ""
            if ip:
                hosts.append(links.hosts_entry(alias, child.config.get("Hostname") or child.id[:12],
                                               child.name.lstrip("/"), ip))
            env += links.env(alias, c.name, ip, child.config.get("ExposedPorts"), child.config.get("Env") or [])
        return hosts, env

    def _extra_hosts(self, hc: dict[str, Any]) -> list[str]:
        """``ExtraHosts`` with the special address ``host-gateway`` replaced by the
        default bridge's gateway (dockerd's default --host-gateway-ip)."""
        out = []
        for entry in hc.get("ExtraHosts") or []:
            sep = ":" if ":" in entry else "="
            name, _, addr = entry.partition(sep)
            if addr == HOST_GATEWAY:
                gateway = self.network.host_gateway() if self.network is not None else None
                if gateway is None:
                    raise InvalidParameter("unable to derive the IP value for host-gateway")
                entry = f"{name}{sep}{gateway}"
            out.append(entry)
        return out

    async def _cleanup_failed_start(self, c: Container, paths: MonitorPaths, exc: BaseException) -> None:
        msg = str(exc)
        code = start_failure_code(msg)
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
            state = self.monitor.dir(c.key).read_exit() or {"status": 255}
            state["state"] = "exited"
        await self._handle_exit(c, state)

    async def _handle_exit(self, c: Container, state: dict[str, Any]) -> None:
        """Record an exit reported by the monitor and apply the restart policy (moby's
        ``handleContainerExit``).

        The container becomes "restarting" (still ``Running``, as docker has it, with
        ``RestartCount`` counted now) when its policy restarts it, else "exited". Then:
        the die event (exitCode, execDuration), exit waiters, ``on_exited`` hooks, and
        the delayed restart — or the removal of an AutoRemove container (not when the
        exit is the stop of a ``docker restart``).
        """
        code = state.get("status")
        if code is None or code < 0:
            code = 255 if code is None else 128
        oom = bool(state.get("oom"))
        finished = state.get("time") or now_rfc3339nano()
        async with c.lock:
            c.link = None
            if c.health_task is not None:
                c.health_task.cancel()
                c.health_task = None
            # Independent, and both on the way of `run --rm`'s answer: side by side.
            await asyncio.gather(asyncio.to_thread(self.snapshots.unmount_rw, c.private["rw"]),
                                 *([self.network.release(c)] if self.network is not None else []))
            execution = _elapsed(c.state.get("StartedAt"), finished)
            manually = self.shutting_down or bool(c.private.get("manual_stop"))
            restart, delay = self.restart_manager(c).should_restart(code, manually, execution)
            c.state.update(Status="restarting" if restart else "exited", Running=restart, Paused=False,
                           Restarting=restart, Pid=0, ExitCode=code, OOMKilled=oom, FinishedAt=finished,
                           Error=state.get("error", ""))
            if restart:
                c.doc["RestartCount"] = int(c.doc.get("RestartCount") or 0) + 1
            self.containers.save(c)
        if oom:
            self.events.publish("container", "oom", c.id, self.attributes(c))
        self.events.publish("container", "die", c.id,
                            self.attributes(c, exitCode=code, execDuration=int(execution)))
        self._notify_exit(c, code)
        for hook in self.on_exited:
            hook(c)
        if restart:
            c.restart_task = asyncio.create_task(self._restart_later(c, delay, code))
        elif c.host_config.get("AutoRemove") and not c.private.get("manual_restart"):
            await self._auto_remove(c)

    def _notify_exit(self, c: Container, code: int) -> None:
        """Wake the exit waiters (``wait``, ``stop``...) with the exit status."""
        result = {"StatusCode": code, "Error": None}
        waiters, c.exit_waiters = c.exit_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(result)

    async def _auto_remove(self, c: Container) -> None:
        """Remove an AutoRemove container that is done (errors are only logged)."""
        if c.id in self.removals:
            return  # a removal request is already on it
        try:
            await self.remove(c, force=True, volumes=True)
        except NotFound:
            pass
        except EngineError as exc:
            log.warning("could not remove %s: %s", c.id[:12], exc)

    async def _restart_later(self, c: Container, delay: float, code: int) -> None:
        """The restart policy's restart, after the backoff ``delay`` (seconds).

        If the restart is cancelled meanwhile (stop, kill, rm -f) or the start fails,
        the container is stopped for good with its last exit status (``code``). At
        daemon shutdown it is left "restarting", for ``adopt`` to apply the policy.
        """
        try:
            await asyncio.sleep(delay)
            async with c.lock:
                if self.restart_manager(c).canceled or not c.state.get("Restarting") or \
                        c.id not in self.containers.by_id:
                    raise asyncio.CancelledError
                await self._start_locked(c, reset=False)
        except asyncio.CancelledError:
            if not self.shutting_down:
                self._restart_ended(c, code)
        except Exception as exc:  # noqa: BLE001 - whatever failed, the container must not stay "restarting"
            log.warning("restart of %s failed: %s", c.id[:12], exc)
            self._restart_ended(c, code)
        finally:
            # A quick exit of the restarted process may already have scheduled the next one.
            if c.restart_task is asyncio.current_task():
                c.restart_task = None

    def _restart_ended(self, c: Container, code: int) -> None:
        """A pending restart did not happen: the container is stopped (moby's SetStopped)."""
        if c.id not in self.containers.by_id or not c.state.get("Restarting"):
            return
        c.state.update(Status="exited", Running=False, Restarting=False, Paused=False, Pid=0, ExitCode=code)
        self.containers.save(c)
        self._notify_exit(c, code)

    async def _cancel_restart(self, c: Container) -> None:
        """Cancel the restart manager and a pending restart, and wait until it is over.

        When this returns the container is either stopped or (if the restart won the
        race) running again; callers check which.
        """
        self.restart_manager(c).cancel()
        task = c.restart_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if c.state.get("Restarting") and c.restart_task is None:
            # No task to end it (the daemon restarted meanwhile): stop it here.
            self._restart_ended(c, int(c.state.get("ExitCode") or 0))

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

        NotModified if it is not running. A negative timeout waits forever. A container
        waiting to be restarted by its policy is simply not restarted (no signal, no
        kill event, as in docker). Events: kill, (die), stop.
        """
        if not c.running:
            raise NotModified(f"container {c.id} is already stopped")
        stop_sig = validate_signal(sig or c.config.get("StopSignal") or "SIGTERM")
        if timeout is None:
            timeout = c.config.get("StopTimeout")
            timeout = 10 if timeout is None else int(timeout)
        self._stopped_by_hand(c, stop_sig)
        if c.state.get("Restarting"):
            await self._cancel_restart(c)
        if not c.running:
            self.events.publish("container", "stop", c.id, self.attributes(c))
            return
        await self._before_signal(c, stop_sig)
        c.stopping = True
        try:
            try:
                await self._signal(c, stop_sig)
            except Conflict:
                pass
            if c.paused:
                await self.runtime.resume(c.id)
            result = await self.wait_exit(c, None if timeout < 0 else timeout)
            if result is None:
                self._stopped_by_hand(c, signal.SIGKILL)
                try:
                    await self._signal(c, signal.SIGKILL)
                except Conflict:
                    pass
                await self.wait_exit(c, None)
        finally:
            c.stopping = False
        self.events.publish("container", "stop", c.id, self.attributes(c))

    def _stopped_by_hand(self, c: Container, sig: int) -> None:
        """What signalling a container by hand means to its restart policy (moby's
        ``killWithSignal``): it counts as a manual stop (for ``unless-stopped`` and
        after a daemon restart), and the restart manager is cancelled — no more
        restarts, even for ``always`` — when the signal is SIGKILL or the container's
        stop signal (any signal if the container sets none)."""
        stop_signal = c.config.get("StopSignal")
        if sig == signal.SIGKILL or not stop_signal or parse_signal(stop_signal) == sig:
            self.restart_manager(c).cancel()
        if not self.shutting_down:
            c.private["manual_stop"] = True
            self.containers.save(c)

    async def _before_signal(self, c: Container, sig: int | None) -> None:
        for hook in self.before_signal:
            await hook(c, sig)

    async def _signal(self, c: Container, sig: int) -> None:
        self.events.publish("container", "kill", c.id, self.attributes(c, signal=sig))
        await self.runtime.kill(c.id, sig)

    async def kill(self, c: Container, sig: str | None = None) -> None:
        """Send a signal (default SIGKILL, then wait up to 10 s for the exit).

        Conflict if the container is not running. For a container waiting to be
        restarted nothing is signalled: the restart is cancelled if the signal would
        have stopped it (see ``_stopped_by_hand``).
        """
        number = validate_signal(sig or "SIGKILL")
        if not c.running:
            raise Conflict(f"Cannot kill container: {c.id[:12]}: Container {c.id} is not running")
        self._stopped_by_hand(c, number)
        if c.state.get("Restarting"):
            if not self.restart_manager(c).canceled:
                return
            await self._cancel_restart(c)
            if not c.running:
                return
        await self._before_signal(c, number)
        await self._signal(c, number)
        if c.paused and self.restart_manager(c).canceled:
            # The signal is delivered once thawed (docker unpauses what it kills).
            try:
                await self.runtime.resume(c.id)
            except EngineError:
                pass
        if number == signal.SIGKILL:
            await self.wait_exit(c, 10)

    async def restart(self, c: Container, timeout: int | None = None, sig: str | None = None) -> None:
        """``docker restart``: stop if running (without AutoRemove removing it), then a
        manual start (RestartCount back to 0). Events: kill, die, stop, start, restart."""
        if c.running:
            c.private["manual_restart"] = True
            await self.stop(c, timeout, sig)
        await self.start(c)
        self.events.publish("container", "restart", c.id, self.attributes(c))

    async def pause(self, c: Container) -> None:
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        if c.paused:
            raise Conflict(f"Container {c.id} is already paused")
        if c.state.get("Restarting"):
            raise Conflict(f"Container {c.id} is restarting, wait until the container is running")
        await self._before_signal(c, None)
        # Recorded before freezing: a daemon killed meanwhile restarts with the
        # container shown paused (adopt then reads the freezer's actual state).
        c.state.update(Paused=True, Status="paused")
        self.containers.save(c)
        try:
            await self.runtime.pause(c.id)
        except BaseException:
            c.state.update(Paused=False, Status="running")
            self.containers.save(c)
            raise
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
        """Remove a container (killing it first with ``force``; a pending restart is
        cancelled). Conflict if it runs (or is restarting) and ``force`` is not set."""
        if c.running:
            if not force:
                if c.paused:
                    raise Conflict(f"cannot remove container \"{c.name}\": container is paused and must be "
                                   "unpaused first")
                word = "restarting" if c.state.get("Restarting") else "running"
                raise Conflict(f"cannot remove container \"{c.name}\": container is {word}: stop the container "
                               "before removing or force remove")
        if c.status == "removing" or c.id in self.removals:
            raise Conflict(f"removal of container {c.id[:12]} is already in progress")
        # Claimed before the kill: the exit it causes must not AutoRemove the container
        # under our feet (moby's RemovalInProgress).
        self.removals.add(c.id)
        try:
            if c.running:
                self._stopped_by_hand(c, signal.SIGKILL)
                if c.state.get("Restarting"):
                    await self._cancel_restart(c)
            if c.running:
                try:
                    if c.paused:
                        await self.runtime.resume(c.id)
                    await self._signal(c, signal.SIGKILL)
                except Conflict:
                    pass
                await self.wait_exit(c, 15)
            if c.id not in self.containers.by_id:
                raise NotFound(f"No such container: {c.id}")
            async with c.lock:
                c.state["Status"] = "removing"
                if c.watcher is not None and not c.watcher.done() and c.link is not None:
                    c.link.close()
                await asyncio.to_thread(self._destroy, c)
                if self.volumes is not None:
                    await self.volumes.on_remove(c, volumes)
        finally:
            self.removals.discard(c.id)
        self.restart_managers.pop(c.id, None)
        for hook in self.on_removed:
            hook(c)
        self.events.publish("container", "destroy", c.id, self.attributes(c))
        result = {"StatusCode": c.state.get("ExitCode", 0), "Error": None}
        for fut in c.remove_waiters + c.exit_waiters:
            if not fut.done():
                fut.set_result(result)
        c.remove_waiters, c.exit_waiters = [], []

    def _destroy(self, c: Container) -> None:
        """Forget a container and delete its files (blocking).

        Its directories are moved into the data root's scratch space and deleted in
        the background: removal (and ``run --rm``) need not wait for that, and
        start-up recovery empties the scratch space after a crash.
        """
        self.containers.forget(c)
        self.snapshots.unmount_rw(c.private["rw"])
        trash = os.path.join(self.settings.data_root, "tmp", "trash-" + c.id[:16])
        os.makedirs(trash, exist_ok=True)
        for path in (os.path.join(self.snapshots.root, c.private["rw"]), os.path.join(self.containers.root, c.id)):
            try:
                os.rename(path, os.path.join(trash, os.path.basename(path)))
            except FileNotFoundError:
                pass
        threading.Thread(target=shutil.rmtree, args=(trash, True), name="baleine-trash", daemon=True).start()
        shutil.rmtree(self.monitor.dir(c.key).dir, ignore_errors=True)
        if not self.images.exists(c.doc.get("Image", "")):
            # Its image was deleted while it lived (rmi -f): its layers may be unused now.
            self.images.collect_layers()

    # -- attach ---------------------------------------------------------------------

    async def attach_link(self, c: Container, stdin: bool, stdout: bool, stderr: bool) -> MonitorLink:
        """A monitor connection carrying the chosen streams of the container.

        For a container not started yet this waits for its start and connects before
        the process runs, so no output is missed. Conflict if it has stopped, or is
        waiting to be restarted.
        """
        if c.state.get("Restarting"):
            raise Conflict(f"container {c.id} is restarting, wait until the container is running")
        if not c.running:
            if c.status not in ("created", "exited", "restarting") and not c.restart_task:
                raise Conflict("You cannot attach to a stopped container, start it first")
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            # `settled` tells the start that this attach is connected or gave up.
            fut.settled = asyncio.Event()  # type: ignore[attr-defined]
            c.pending_attach.append(fut)
            try:
                await fut
                link = await self.monitor.connect(self.monitor.dir(c.key), stdin=stdin, stdout=stdout,
                                                 stderr=stderr)
                await link.drain()
            finally:
                fut.settled.set()  # type: ignore[attr-defined]
            return link
        return await self.monitor.connect(self.monitor.dir(c.key), stdin=stdin, stdout=stdout,
                                         stderr=stderr)

    # -- recovery -------------------------------------------------------------------

    async def adopt(self) -> None:
        """After a daemon start (moby's ``restore``): reconnect to live monitors, record
        the exits that happened meanwhile, then apply restart policies.

        A container whose process ended while the daemon was away is marked exited
        (no die event, as docker). Then any container that was started before and
        whose policy says so is started again — ``always`` even if stopped by hand,
        ``unless-stopped`` unless stopped by hand, ``on-failure`` after a failure with
        retries left — as a manual start (RestartCount back to 0). AutoRemove
        containers that are not running are removed.
        """
        for c in list(self.containers.by_id.values()):
            c.stopping = False
            paths = self.monitor.dir(c.key)
            if c.status == "removing":
                await asyncio.to_thread(self._destroy, c)
                continue
            if c.running or c.status in ("running", "paused", "restarting"):
                state = None
                link = None
                if paths.monitor_alive():
                    try:
                        link = await self.monitor.connect(paths, events=True)
                        state = await link.next_state()
                    except OSError:
                        link, state = None, None
                    if state and state.get("state") == "running" and link is not None:
                        c.link = link
                        c.watcher = asyncio.create_task(self._watch(c, link))
                        await self._sync_paused(c)
                        continue
                    if link is not None:
                        link.close()
                if not state or state.get("state") not in ("exited", "error"):
                    state = paths.read_exit() or {"status": 255}
                if "error" in state and "status" not in state:
                    state["status"] = 128
                await self._record_exit(c, state)
            rm = RestartManager(c.host_config.get("RestartPolicy") or {}, int(c.doc.get("RestartCount") or 0))
            restart, _ = rm.should_restart(int(c.state.get("ExitCode") or 0), bool(c.private.get("manual_stop")),
                                           _elapsed(c.state.get("StartedAt"), c.state.get("FinishedAt") or ""))
            if restart and c.state.get("StartedAt") not in (None, "", ZERO_TIME):
                try:
                    await self.start(c)
                except EngineError as exc:
                    log.warning("could not restart %s: %s", c.id[:12], exc)
            elif c.host_config.get("AutoRemove"):
                await self._auto_remove(c)

    async def _sync_paused(self, c: Container) -> None:
        """Take a live container's Paused from its freezer (runc's state), which a
        daemon killed during a pause or a commit may have left unrecorded or stale."""
        st = await self.runtime.state(c.id)
        if not st or st.get("status") not in ("running", "paused"):
            return
        paused = st["status"] == "paused"
        if paused != c.paused:
            c.state.update(Paused=paused, Status="paused" if paused else "running")
            self.containers.save(c)

    async def _record_exit(self, c: Container, state: dict[str, Any]) -> None:
        """Mark a container whose process is gone as exited, quietly (for ``adopt``)."""
        code = state.get("status")
        if code is None or code < 0:
            code = 255 if code is None else 128
        async with c.lock:
            await asyncio.to_thread(self.snapshots.unmount_rw, c.private["rw"])
            if self.network is not None:
                await self.network.release(c)
            c.state.update(Status="exited", Running=False, Paused=False, Restarting=False, Pid=0, ExitCode=code,
                           OOMKilled=bool(state.get("oom")), FinishedAt=state.get("time") or now_rfc3339nano(),
                           Error=state.get("error", ""))
            self.containers.save(c)
        for hook in self.on_exited:
            hook(c)

    async def shutdown(self) -> None:
        """Stop watching (containers keep running under their monitors)."""
        self.shutting_down = True
        for c in self.containers.by_id.values():
            for task in (c.watcher, c.restart_task, c.health_task):
                if task is not None:
                    task.cancel()
            if c.link is not None:
                c.link.close()


def _elapsed(started: str | None, finished: str) -> float:
    """Seconds between two RFC 3339 times (0 when either is unknown or zero)."""
    if not started or started == ZERO_TIME:
        return 0.0
    try:
        return max(0.0, parse_rfc3339(finished) - parse_rfc3339(started))
    except ValueError:
        return 0.0


def oom_files(parent: str, cid: str) -> list[str]:
    """Where the kernel counts OOM kills for a container's cgroup (v2, then v1)."""
    if ocispec.cgroup2():
        return [f"/sys/fs/cgroup/{parent}/{cid}/memory.events"]
    return [f"/sys/fs/cgroup/memory/{parent}/{cid}/memory.oom_control"]


def start_failure_code(msg: str) -> int:
    """The exit code dockerd records when a process cannot start (127: not found,
    126: not executable, else 128)."""
    low = msg.lower()
    if "executable file not found" in low or "no such file or directory" in low:
        return 127
    if "permission denied" in low:
        return 126
    return 128


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


#: Every HostConfig field ``docker inspect`` shows, with docker's zero values.
HOST_CONFIG_DEFAULTS: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "PortBindings": {}, "AutoRemove": False, "VolumeDriver": "",
    "VolumesFrom": None, "ConsoleSize": [0, 0], "CapAdd": None, "CapDrop": None, "Cgroup": "",
    "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private",
    "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False, "PublishAllPorts": False,
    "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864,
    "Runtime": "runc", "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "",
    "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
    "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
    "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": [],
    "DeviceCgroupRules": None, "DeviceRequests": None, "MemoryReservation": 0, "MemorySwap": 0,
    "MemorySwappiness": None, "OomKillDisable": None, "PidsLimit": None, "Ulimits": [], "CpuCount": 0,
    "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": None,
    "ReadonlyPaths": None, "Init": None,
}


def normalize_host_config(hc: dict[str, Any]) -> dict[str, Any]:
    """Validate a HostConfig and fill docker's defaults (InvalidParameter if malformed)."""
    if not isinstance(hc, dict):
        raise InvalidParameter("HostConfig must be an object")
    out = dict(hc)
    policy = out.get("RestartPolicy") or {}
    name = policy.get("Name") or ""
    error = policy_error(policy)
    if error:
        raise InvalidParameter(error)
    if out.get("AutoRemove") and name not in ("", "no"):
        raise InvalidParameter("can't create 'AutoRemove' container with restart policy")
    # An empty name (clients before v25) means "no", whatever count came with it.
    count = int(policy.get("MaximumRetryCount") or 0) if name else 0
    out["RestartPolicy"] = {"Name": name or "no", "MaximumRetryCount": count}
    mode = out.get("NetworkMode") or "bridge"
    if mode == "default":
        mode = "bridge"
    out["NetworkMode"] = mode
    log_cfg = out.get("LogConfig") or {}
    out["LogConfig"] = {"Type": log_cfg.get("Type") or "json-file", "Config": log_cfg.get("Config") or {}}
    check_log_opts(out["LogConfig"]["Type"], out["LogConfig"]["Config"])
    if out["LogConfig"]["Type"] not in ("json-file", "local", "none"):
        raise InvalidParameter(f"logging driver \"{out['LogConfig']['Type']}\" is not supported")
    check_security_opts(out.get("SecurityOpt"))
    check_pid_mode(out.get("PidMode"))
    for key in ("CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "Links",
                "SecurityOpt", "Binds", "VolumesFrom", "Devices", "Ulimits", "Mounts"):
        if out.get(key) is None:
            out[key] = None if key not in ("Dns", "DnsOptions", "DnsSearch") else []
    for key in ("Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuPeriod",
                "CpuQuota", "ShmSize"):
        value = out.get(key)
        if value is not None and not isinstance(value, int):
            raise InvalidParameter(f"invalid {key}: must be an integer")
    if not out.get("ShmSize"):
        out["ShmSize"] = 67108864  # 0 (what the docker CLI sends) means the default too
    for key, default in HOST_CONFIG_DEFAULTS.items():
        if out.get(key) is None and default is not None:
            out[key] = copy.deepcopy(default)
        out.setdefault(key, None)
    if not out.get("IpcMode"):
        out["IpcMode"] = "private"
    if not out.get("CgroupnsMode"):
        out["CgroupnsMode"] = "private" if ocispec.cgroup2() else "host"
    if not out.get("Runtime"):
        out["Runtime"] = "runc"
    if out.get("Memory") and not out.get("MemorySwap") and ocispec.swap_accounting(ocispec.cgroup2()):
        out["MemorySwap"] = 2 * out["Memory"]  # docker's default: as much swap as memory
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
