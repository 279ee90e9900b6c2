"""A container's OCI bundle: its Config and HostConfig translated into config.json.

``spec_input`` is the translation (pure but for reading the rootfs' passwd files);
``write`` writes the bundle; ``exec_process`` derives an exec's ``process`` object
from the container's spec.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from typing import Any

from . import capabilities, spec as ocispec, users
from ...rules import signals
from ..containers.records import Container
from ...rules.errors import InvalidParameter

INIT_CANDIDATES = ("/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/libexec/docker/docker-init")


def init_binary() -> str | None:
    """A static init for ``--init`` (Debian's tini-static), or None."""
    for path in INIT_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("tini-static")


def spec_input(c: Container, rootfs: str, extra_mounts: list[ocispec.Mount],
               netns: str | None, cgroup_parent: str, pid_ns: str = "") -> ocispec.SpecInput:
    """SpecInput for a container whose root filesystem is mounted at ``rootfs``;
    ``pid_ns``: the path of the PID namespace to join (``--pid container:X``)."""
    cfg, hc = c.config, c.host_config
    argv = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    init_path = None
    if hc.get("Init"):
        init_path = init_binary()
        if init_path is None:
            raise InvalidParameter("--init requires an init binary (install Debian's tini package)")
    stop = cfg.get("StopSignal")
    tmpfs = dict(hc.get("Tmpfs") or {})
    return ocispec.SpecInput(
        rootfs=rootfs,
        args=argv,
        env=list(cfg.get("Env") or []),
        cwd=cfg.get("WorkingDir") or "/",
        user=cfg.get("User") or "",
        group_add=list(hc.get("GroupAdd") or []),
        hostname=cfg.get("Hostname") or "",
        domainname=cfg.get("Domainname") or "",
        tty=bool(cfg.get("Tty")),
        open_stdin=bool(cfg.get("OpenStdin")),
        cap_add=list(hc.get("CapAdd") or []),
        cap_drop=list(hc.get("CapDrop") or []),
        privileged=bool(hc.get("Privileged")),
        readonly_rootfs=bool(hc.get("ReadonlyRootfs")),
        memory=int(hc.get("Memory") or 0),
        memory_swap=int(hc.get("MemorySwap") or 0),
        memory_reservation=int(hc.get("MemoryReservation") or 0),
        nano_cpus=int(hc.get("NanoCpus") or 0),
        cpu_shares=int(hc.get("CpuShares") or 0),
        cpu_quota=int(hc.get("CpuQuota") or 0),
        cpu_period=int(hc.get("CpuPeriod") or 0),
        cpuset_cpus=hc.get("CpusetCpus") or "",
        cpuset_mems=hc.get("CpusetMems") or "",
        pids_limit=hc.get("PidsLimit") or None,
        oom_score_adj=int(hc.get("OomScoreAdj") or 0),
        sysctls=dict(hc.get("Sysctls") or {}),
        ulimits=list(hc.get("Ulimits") or []),
        mounts=extra_mounts,
        network_ns=netns,
        ipc_mode="host" if hc.get("IpcMode") == "host" else "private",
        pid_mode=pid_ns or ("host" if hc.get("PidMode") == "host" else ""),
        uts_mode="host" if hc.get("UTSMode") == "host" else "",
        cgroups_path=f"/{cgroup_parent}/{c.id}",
        seccomp=_seccomp_opt(hc.get("SecurityOpt") or []),
        no_new_privileges=any(o in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true")
                              for o in hc.get("SecurityOpt") or []),
        init_path=init_path,
        shm_size=int(hc.get("ShmSize") or ocispec.DEFAULT_SHM_SIZE),
        tmpfs=tmpfs,
        stop_signal=signals.parse_signal(stop) if stop else None,
        devices=list(hc.get("Devices") or []),
        device_cgroup_rules=list(hc.get("DeviceCgroupRules") or []),
        masked_paths=hc.get("MaskedPaths"),
        readonly_paths=hc.get("ReadonlyPaths"),
    )


def _seccomp_opt(opts: list[str]) -> str | None:
    for opt in opts:
        key, sep, value = opt.partition("=" if "=" in opt else ":")
        if key == "seccomp":
            if value == "unconfined":
                return "unconfined"
            try:
                with open(value) as f:
                    return f.read()
            except OSError as exc:
                raise InvalidParameter(f"opening seccomp profile ({value}) failed: {exc.strerror}") from None
    return "default"


def write(bundle_dir: str, inp: ocispec.SpecInput) -> dict[str, Any]:
    """Write ``config.json`` into ``bundle_dir``; return the spec."""
    os.makedirs(bundle_dir, exist_ok=True)
    spec = ocispec.build_spec(inp)
    ocispec.write_config(bundle_dir, spec)
    return spec


def load(bundle_dir: str) -> dict[str, Any]:
    with open(os.path.join(bundle_dir, "config.json")) as f:
        return json.load(f)


def exec_process(container_spec: dict[str, Any], rootfs: str, cmd: list[str], env: list[str],
                 workdir: str, user: str, tty: bool, privileged: bool, rows: int = 0,
                 cols: int = 0) -> dict[str, Any]:
    """The ``process`` for ``runc exec``: the container's, with the exec's overrides."""
    proc = copy.deepcopy(container_spec["process"])
    proc["args"] = cmd
    proc["terminal"] = tty
    proc["env"] = ocispec.replace_or_append_env(proc.get("env") or [], env)
    if tty and not any(e.startswith("TERM=") for e in proc["env"]):
        proc["env"].append("TERM=xterm")
    if workdir:
        proc["cwd"] = workdir
    if user:
        u = users.resolve_user(rootfs, user, [])
        proc["user"] = {"uid": u.uid, "gid": u.gid, "additionalGids": [u.gid] + list(u.additional_gids)}
    if privileged:
        caps = capabilities.tweak([], [], True)
        proc["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
    if rows and cols:
        proc["consoleSize"] = {"height": rows, "width": cols}
    else:
        proc.pop("consoleSize", None)
    return proc
