"""System endpoints: /_ping, /version, /info, /events, /system/df."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time

from aiohttp import web

from .. import API_VERSION, MIN_API_VERSION, __version__
from ..rules import filters as filters_mod
from ..rules.errors import InvalidParameter
from ..rules import references
from ..rules.timestamps import get_timestamp, now_rfc3339nano, parse_timestamps
from .server import Router, _api_headers, client_gone, engine_of, json_response

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
    return json_response({
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
    # A container waiting to be restarted is "running" but counts as stopped (as in docker).
    running = sum(1 for c in containers if c.running and not c.paused and not c.state.get("Restarting"))
    paused = sum(1 for c in containers if c.paused)
    cgroup_v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    images = engine.images.count()
    return json_response({
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


#: the filters moby's events filter looks at (others are ignored, as by docker)
NAME_FILTERS = ("daemon", "container", "plugin", "volume", "network", "node", "service", "secret", "config")
#: event filter values that make every "event" value a prefix (moby #25798)
FUZZY_EVENTS = {"health_status", "exec_create", "exec_start"}


def _strip_tag(image: str) -> str:
    """The repository of a reference, familiar (``busybox:1.35`` → ``busybox``)."""
    try:
        return references.parse(image).familiar_name
    except InvalidParameter:
        return image


def _event_matches(msg: dict, f: filters_mod.Filters) -> bool:
    """moby's ``events.Filter.Include``.

    ``type``, ``scope``, ``event``: exact (``event`` by prefix when one of its values
    is health_status, exec_create or exec_start, so that those match "health_status:
    healthy"...); ``container``, ``volume``, ``network``, ...: prefix of the actor's ID
    or of its name; ``image``: exact ID, name (image events) or image (container
    events), with or without tag; ``label``: ``k`` or ``k=v`` among the attributes.
    """
    actor = msg.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    actor_id = actor.get("ID", "")
    action = msg.get("Action", "")
    if FUZZY_EVENTS & set(f.get("event")):
        if not f.fuzzy_match("event", action):
            return False
    elif not f.exact_match("event", action):
        return False
    if not f.exact_match("type", msg.get("Type", "")):
        return False
    if f.contains("scope") and not f.exact_match("scope", msg.get("scope", "")):
        return False
    for kind in NAME_FILTERS:
        if f.contains(kind) and not (f.fuzzy_match(kind, actor_id) or f.fuzzy_match(kind, attrs.get("name", ""))):
            return False
    if f.contains("image"):
        image_name = attrs.get("name" if msg.get("Type") == "image" else "image", "")
        if not any(f.exact_match("image", v) for v in (actor_id, image_name, _strip_tag(actor_id),
                                                          _strip_tag(image_name))):
            return False
    if f.contains("label") and not f.match_kv("label", attrs):
        return False
    return True


def _event_time(value: str | None, now: float) -> int | None:
    """A ``since``/``until`` query value as unix nanoseconds (None when absent).

    The API takes docker's ``<seconds>[.<nanoseconds>]``; durations and dates are
    also accepted (relative to the daemon's clock), as the CLI sends them resolved.
    """
    if not value:
        return None
    sec, nsec = parse_timestamps(get_timestamp(value, now))
    return sec * 1_000_000_000 + nsec


async def events(request: web.Request) -> web.StreamResponse:
    """``GET /events`` (moby's getEvents): the buffered events between ``since`` and
    ``until`` (when either is given), then the live ones until ``until`` (forever
    without it; not at all when ``until`` is past). 400 if ``until`` < ``since``."""
    engine = engine_of(request)
    now = time.time()
    since = _event_time(request.query.get("since"), now)
    until = _event_time(request.query.get("until"), now)
    if until is not None and since is not None and until < since:
        raise InvalidParameter(f"`since` time ({request.query.get('since')}) cannot be after `until` time "
                               f"({request.query.get('until')})")
    f = filters_mod.parse(request.query.get("filters"))
    # Subscribe and snapshot the history together (no await in between): every event
    # is then either in the snapshot or in the queue, never in both, never in neither.
    queue = engine.events.subscribe()
    buffered: list[dict] = []
    if since is not None or until is not None:
        low = since or 0
        buffered = [m for m in engine.events.history
                    if m["timeNano"] >= low and (until is None or m["timeNano"] <= until) and _event_matches(m, f)]
    only_past = until is not None and until < time.time_ns()
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    try:
        await resp.prepare(request)
        for msg in buffered:
            await resp.write(json.dumps(msg).encode() + b"\n")
        while not only_past:
            timeout = None if until is None else (until - time.time_ns()) / 1e9
            if timeout is not None and timeout <= 0:
                break
            try:
                # Wake up now and then: aiohttp does not cancel handlers whose client left.
                msg = await asyncio.wait_for(queue.get(), 1.0 if timeout is None else min(timeout, 1.0))
            except asyncio.TimeoutError:
                if client_gone(request):
                    break
                continue
            if until is not None and msg["timeNano"] > until:
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
