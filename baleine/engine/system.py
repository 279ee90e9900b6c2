"""The system backend (``engine.interface.system.SystemBackend``): version, info,
events and disk usage of one engine."""

from __future__ import annotations

import asyncio
import os
import platform
from collections.abc import AsyncIterator, Callable
from typing import Any

from .. import API_VERSION, MIN_API_VERSION, __version__
from ..rules.errors import InvalidParameter
from ..rules.filters import Filters
from ..rules.timestamps import now_rfc3339nano
from .containers import disk_usage
from .events import EventStream
from .interface.system import DiskUsageReport

GIT_COMMIT = "baleine"
DF_TYPES = {"container", "image", "volume", "build-cache"}


def _kernel() -> str:
    return os.uname().release


def _arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


class SystemService:
    """Implements ``SystemBackend`` for one engine, with ``volumes`` (the volumes
    backend) for the volumes' disk usage."""

    def __init__(self, engine: Any, volumes: Any) -> None:
        self.engine = engine
        self.volumes = volumes

    async def version(self) -> dict[str, Any]:
        runtime = self.engine.runtime
        python = "python" + platform.python_version()
        return {
            "Platform": {"Name": "Baleine Engine"},
            "Components": [{"Name": "Engine", "Version": __version__,
                            "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                                        "GitCommit": GIT_COMMIT, "GoVersion": python, "Os": "linux",
                                        "Arch": _arch(), "KernelVersion": _kernel(), "Experimental": "false",
                                        "BuildTime": ""}},
                           {"Name": "runc", "Version": runtime.name, "Details": {"GitCommit": ""}}],
            "Version": __version__,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": GIT_COMMIT,
            "GoVersion": python,
            "Os": "linux",
            "Arch": _arch(),
            "KernelVersion": _kernel(),
            "BuildTime": "",
        }

    async def info(self) -> dict[str, Any]:
        engine = self.engine
        containers = list(engine.containers.by_id.values())
        # A container waiting to be restarted is "running" but counts as stopped (as in docker).
        running = sum(1 for c in containers if c.running and not c.paused and not c.state.get("Restarting"))
        paused = sum(1 for c in containers if c.paused)
        cgroup_v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        images = engine.images.count()
        return {
            "ID": engine.config.extra.get("id", ""),
            "Containers": len(containers),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": len(containers) - running - paused,
            "Images": images,
            "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"],
                             ["Using metacopy", "false"], ["Native Overlay Diff", "true"]],
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                        "Authorization": None, "Log": ["json-file", "local"]},
            "MemoryLimit": True,
            "SwapLimit": os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
            "CpuCfsPeriod": True,
            "CpuCfsQuota": True,
            "CPUShares": True,
            "CPUSet": True,
            "PidsLimit": True,
            "IPv4Forwarding": True,
            "BridgeNfIptables": True,
            "BridgeNfIp6tables": True,
            "Debug": False,
            "NFd": len(os.listdir("/proc/self/fd")),
            "OomKillDisable": not cgroup_v2,
            "NGoroutines": len(asyncio.all_tasks()),
            "SystemTime": now_rfc3339nano(),
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": "2" if cgroup_v2 else "1",
            "NEventsListener": len(engine.events.subscribers),
            "KernelVersion": _kernel(),
            "OperatingSystem": _os_name(),
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": os.uname().machine,
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": engine.distribution.config.index_configs(),
            "NCPU": os.cpu_count() or 1,
            "MemTotal": _mem_total(),
            "GenericResources": None,
            "DockerRootDir": engine.config.data_root,
            "HttpProxy": os.environ.get("HTTP_PROXY", ""),
            "HttpsProxy": os.environ.get("HTTPS_PROXY", ""),
            "NoProxy": os.environ.get("NO_PROXY", ""),
            "Name": os.uname().nodename,
            "Labels": list(engine.config.extra.get("labels") or []),  # --label, daemon.json; SIGHUP reloads them
            "ExperimentalBuild": False,
            "ServerVersion": __version__,
            "Runtimes": {engine.runtime.name: {"path": engine.runtime.path}},
            "DefaultRuntime": engine.runtime.name,
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                      "Error": "", "RemoteManagers": None},
            "LiveRestoreEnabled": True,
            "Isolation": "",
            "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": ""},
            "RuncCommit": {"ID": ""},
            "InitCommit": {"ID": ""},
            "SecurityOptions": ["name=seccomp,profile=builtin"] + (["name=cgroupns"] if cgroup_v2 else []),
            "Warnings": None,
        }

    async def events(self, filters: Filters, since: int | None, until: int | None,
                     closed: Callable[[], bool]) -> AsyncIterator[dict[str, Any]]:
        return EventStream(self.engine.events, filters, since, until, closed)

    async def disk_usage(self, types: set[str] | None) -> DiskUsageReport:
        for t in types or ():
            if t not in DF_TYPES:
                raise InvalidParameter(f"unknown object type: {t}")
        du = await asyncio.to_thread(disk_usage.disk_usage, self.engine, types)
        report = DiskUsageReport()
        if types is None or "image" in types:
            report.layers_size = du.layers_size
            report.images = [(iu.image, iu.containers, iu.shared_size) for iu in du.images]
        if types is None or "container" in types:
            report.containers = list(du.containers)
        if types is None or "volume" in types:
            report.volumes = await self.volumes.usage()
        if types is None or "build-cache" in types:
            builder = getattr(self.engine, "builder", None)
            report.build_cache = await asyncio.to_thread(builder.disk_usage) if builder is not None else []
        return report
