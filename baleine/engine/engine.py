"""The engine: every subsystem wired together over one data root and exec root.

``Engine.open`` recovers the store after any crash (unfinished writes, orphan
layers and container directories), then re-adopts the containers whose monitors
are still running. Nothing in here knows about HTTP.

The services over the engine (distribution, build) are not made here: the daemon
wires them with what they need (``baleine.daemon.wiring``) and sets them as
``distribution`` and ``builder``. Layers and blobs have one collector, ``gc``, whose
roots are the images, the containers and whatever the services register.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

from .containers.records import Containers
from .images.content import ContentStore
from .events import Events
from .gc import GarbageCollector, Roots
from .containers.exec import Execs
from .containers.health import Health
from .images.records import Images
from .containers.lifecycle import Lifecycle, Settings
from .containers.mountpoints import MountPoints
from .networks.balancer import Balancer
from .networks.manager import NetSettings, Networks
from .runtime.runc import Runtime
from .images.snapshots import Snapshots
from .store import Store
from .volumes.local import Volumes

log = logging.getLogger("baleine.engine")


@dataclass
class EngineConfig:
    """What ``baleine daemon`` was told."""

    data_root: str = "/var/lib/baleine"
    exec_root: str = "/run/baleine"
    runtime: str = "runc"
    cgroup_parent: str = "baleine"
    log_max_size: int = 0
    log_max_file: int = 1
    container_monitor: str = "python"  # or "conmon" (runtime/conmon.py)
    extra: dict[str, object] = field(default_factory=dict)


class Engine:
    """Owns the store and the subsystems; the API layer talks to these attributes."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        root = config.data_root
        for sub in ("content", "overlay", "containers", "tmp"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        os.makedirs(config.exec_root, exist_ok=True)
        self.store = Store(os.path.join(root, "baleine.db"))
        self.content = ContentStore(os.path.join(root, "content"))
        self.snapshots = Snapshots(os.path.join(root, "overlay"), self.store)
        self.gc = GarbageCollector(self.snapshots, self.content)
        self.images = Images(self.store, self.content, self.snapshots, self.gc)
        self.containers = Containers(self.store, os.path.join(root, "containers"))
        self.events = Events()
        self.runtime = Runtime(config.runtime, config.exec_root)
        if config.container_monitor == "conmon":
            from .runtime.conmon import ConmonMonitor

            self.runtime.container_monitor = ConmonMonitor(self.runtime)
        self.lifecycle = Lifecycle(self.containers, self.images, self.snapshots, self.runtime, self.events,
                                   Settings(root, config.exec_root, config.cgroup_parent,
                                            config.log_max_size, config.log_max_file))
        self.execs = Execs(self.containers, self.runtime, self.events, self.rootfs)
        # Health checks follow the lifecycle through its on_started/on_exited hooks.
        self.health = Health(self.lifecycle, self.execs)
        self.images.containers_using = self.containers.using_image
        self.gc.add_roots("images", self.images.roots)
        self.gc.add_roots("containers", lambda: Roots(layers=self.containers.top_layers()))
        # Networks and mounts are the lifecycle's network and volumes hooks.
        self.networks = Networks(self.store, self.containers, self.events,
                                 NetSettings.from_options(root, config.exec_root, config.extra))
        # Balanced groups: VIPs, held ports and rules of labelled replicas (drained before signals).
        self.balancer = Balancer(self.networks.records, self.containers, self.networks.ports, self.events, root,
                                 self.networks.settings.iptables)
        self.networks.directory.virtual = self.balancer.resolve
        self.lifecycle.before_signal.append(self.balancer.drain)
        self.balancer.restart_hook = self.lifecycle.restart
        self.volumes = Volumes(self.store, os.path.join(root, "volumes"), self.events)
        self.mountpoints = MountPoints(self.volumes, self.containers)
        self.lifecycle.network = self.networks
        self.lifecycle.volumes = self.mountpoints
        self.lifecycle.on_exited.append(self.mountpoints.on_exited)
        # Exec records live as long as their container (docker drops them with it).
        self.lifecycle.on_removed.append(lambda c: self.execs.forget_container(c.id))
        # Set by the daemon's wiring (baleine.daemon.wiring), which makes them.
        self.distribution: Any = None
        self.builder: Any = None

    @property
    def tmp_dir(self) -> str:
        """Scratch space on the data root's filesystem (emptied at start-up)."""
        return os.path.join(self.config.data_root, "tmp")

    def rootfs(self, c) -> str:  # noqa: ANN001 - Container
        """The merged root filesystem path of a container (mounted while it runs)."""
        return self.snapshots.rw_paths(c.private["rw"])[2]

    async def open(self) -> None:
        """Recover from whatever a crash left, then re-adopt running containers."""
        self.events.loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.recover)
        await self.networks.open()
        await self.balancer.open()  # its VIPs taken back before any container starts
        self.runtime.stop_standby()  # those of a previous daemon
        await self.lifecycle.adopt()
        self.health.resume()  # the re-adopted containers' checks
        self.runtime.prepare_standby()

    def recover(self) -> None:
        """Discard unfinished writes and orphans (blocking; start-up only)."""
        removed = self.content.clean_ingest()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        os.makedirs(self.tmp_dir, exist_ok=True)
        live_rw = {c.private["rw"] for c in self.containers.by_id.values()}
        orphans = self.snapshots.collect_garbage(live_rw)
        stray = self.gc.collect(sweep=True).blobs
        keys = {c.key for c in self.containers.by_id.values()}
        for name in os.listdir(self.config.exec_root):
            path = os.path.join(self.config.exec_root, name)
            if name in keys or name in ("runc", "standby", "netns") or not os.path.isdir(path):
                continue
            if name.startswith("e") and os.path.exists(os.path.join(path, "m.sock")):
                continue  # an exec still running under its monitor
            shutil.rmtree(path, ignore_errors=True)
        for name in os.listdir(self.containers.root):
            if name not in self.containers.by_id:
                shutil.rmtree(os.path.join(self.containers.root, name), ignore_errors=True)
        self.volumes.recover(self.mountpoints.running_users())
        if removed or orphans or stray:
            log.info("recovery: %d unfinished blobs, %d orphan layer dirs, %d stray blobs removed",
                     removed, len(orphans), len(stray))

    async def close(self) -> None:
        await self.balancer.close()
        await self.lifecycle.shutdown()
        await self.networks.close()
        self.runtime.stop_standby()
        if self.distribution is not None:
            await self.distribution.close()
        self.store.close()
