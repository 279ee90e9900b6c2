"""System endpoints: /_ping, /version, /info, /events, /system/df."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time

from aiohttp import web

from .. import API_VERSION, MIN_API_VERSION, __version__
from ..engine import filters as filters_mod
from ..engine.errors import InvalidParameter
from ..engine.timestamps import now_rfc3339nano, parse_since
from .server import Router, _api_headers, engine_of

GIT_COMMIT = "baleine"


async def ping(request: web.Request) -> web.Response:
    headers = _api_headers()
    headers.update({"Builder-Version": "1", "Cache-Control": "no-cache, no-store, must-revalidate",
                    "Pragma": "no-cache", "Swarm": "inactive"})
    if request.method == "HEAD":
        return web.Response(status=200, headers=headers)
    return web.Response(text="OK", headers=headers)


def _kernel() -> str:
    return os.uname().release


async def version(request: web.Request) -> web.Response:
    engine = engine_of(request)
    return web.json_response({
        "Platform": {"Name": "Baleine Engine"},
        "Components": [{"Name": "Engine", "Version": __version__,
                        "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                                    "GitCommit": GIT_COMMIT, "GoVersion": "python" + platform.python_version(),
                                    "Os": "linux", "Arch": _arch(), "KernelVersion": _kernel(),
                                    "Experimental": "false", "BuildTime": ""}},
                       {"Name": "runc", "Version": engine.runtime.name, "Details": {"GitCommit": ""}}],
        "Version": __version__,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": GIT_COMMIT,
        "GoVersion": "python" + platform.python_version(),
        "Os": "linux",
        "Arch": _arch(),
        "KernelVersion": _kernel(),
        "BuildTime": "",
    })


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


async def info(request: web.Request) -> web.Response:
    engine = engine_of(request)
    containers = list(engine.containers.by_id.values())
    running = sum(1 for c in containers if c.running and not c.paused)
    paused = sum(1 for c in containers if c.paused)
    cgroup_v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    images = engine.store.one("SELECT COUNT(*) AS n FROM images")["n"]
    return web.json_response({
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
        "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {},
                           "Mirrors": []},
        "NCPU": os.cpu_count() or 1,
        "MemTotal": _mem_total(),
        "GenericResources": None,
        "DockerRootDir": engine.config.data_root,
        "HttpProxy": os.environ.get("HTTP_PROXY", ""),
        "HttpsProxy": os.environ.get("HTTPS_PROXY", ""),
        "NoProxy": os.environ.get("NO_PROXY", ""),
        "Name": os.uname().nodename,
        "Labels": [],
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
    })


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


EVENT_FILTERS = {"container", "event", "image", "label", "type", "volume", "network", "daemon", "plugin",
                 "node", "service", "secret", "config", "scope"}


def _event_matches(msg: dict, f: filters_mod.Filters) -> bool:
    actor = msg.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    if f.contains("type") and msg.get("Type") not in f.get("type"):
        return False
    if f.contains("event"):
        action = msg.get("Action", "")
        if not any(action == e or action.split(":", 1)[0] == e for e in f.get("event")):
            return False
    if f.contains("container"):
        if msg.get("Type") != "container":
            return False
        if not any(actor.get("ID", "").startswith(v) or attrs.get("name") == v for v in f.get("container")):
            return False
    if f.contains("image"):
        if not any(attrs.get("image") == v or actor.get("ID") == v or attrs.get("name") == v
                   for v in f.get("image")):
            return False
    if f.contains("label") and not f.match_kv("label", attrs):
        return False
    for kind in ("volume", "network"):
        if f.contains(kind) and (msg.get("Type") != kind or not any(
                actor.get("ID") == v or attrs.get("name") == v for v in f.get(kind))):
            return False
    return True


async def events(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    now = time.time()
    try:
        since = parse_since(request.query["since"], now) if request.query.get("since") else None
        until = parse_since(request.query["until"], now) if request.query.get("until") else None
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from None
    f = filters_mod.parse(request.query.get("filters"))
    f.validate(EVENT_FILTERS)
    queue = engine.events.subscribe()
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    try:
        await resp.prepare(request)
        if since is not None:
            for msg in engine.events.since(since):
                if (until is None or msg["timeNano"] <= until * 1e9) and _event_matches(msg, f):
                    await resp.write(json.dumps(msg).encode() + b"\n")
        while True:
            timeout = None if until is None else max(0.0, until - time.time())
            if until is not None and timeout == 0:
                break
            try:
                msg = await asyncio.wait_for(queue.get(), timeout)
            except asyncio.TimeoutError:
                break
            if until is not None and msg["timeNano"] > until * 1e9:
                break
            if _event_matches(msg, f):
                await resp.write(json.dumps(msg).encode() + b"\n")
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        engine.events.unsubscribe(queue)
    return resp


def register(router: Router) -> None:
    router.get("/_ping", ping)
    router.get("/version", version)
    router.get("/info", info)
    router.get("/events", events)
