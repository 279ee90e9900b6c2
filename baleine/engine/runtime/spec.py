"""The OCI runtime configuration (``config.json``) of a container.

:func:`build_spec` turns a :class:`SpecInput` (what ``docker run`` flags and
the image decided) into the dict runc 1.1 reads, the way moby's
``daemon/oci_linux.go`` on top of ``oci/defaults.go`` does: Docker's default
mounts, masked and read-only paths, device rules, capabilities and seccomp
profile, then the container's own settings. It reads the container's
/etc/passwd and /etc/group (inside the root filesystem) and a few host facts
(cgroup version, swap accounting, the daemon's own rlimits and capabilities,
/dev for ``--privileged``), but never starts a process or changes anything.

The spec is built by small options applied in order to an empty one, as
containerd's ``oci.SpecOpts`` (``with_process``, ``with_namespaces``,
``with_mounts``, ``with_sysctls``, ``with_devices``, ``with_resources``,
``with_seccomp``, ``with_masked_paths``…; :data:`DEFAULT_OPTS`), each reading
the :class:`SpecContext` settled once (validated input, resolved user and
capabilities, normalised namespace modes).

The result is meant to work on cgroup v1 (including hybrid hosts) and on pure
cgroup v2 hosts; :func:`cgroup2` tells which one this host is.
"""

from __future__ import annotations

import json
import os
import re
import resource
import stat
import tempfile
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from baleine.engine.runtime import capabilities as caps_mod
from baleine.engine.runtime import seccomp as seccomp_mod
from baleine.rules.errors import InvalidParameter
from baleine.engine.runtime.users import ExecUser, resolve_user

OCI_VERSION = "1.0.2-dev"
DEFAULT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
INIT_IN_CONTAINER = "/sbin/docker-init"

# Docker refuses memory limits below this (daemon/daemon_unix.go linuxMinMemory).
MIN_MEMORY = 6 * 1024 * 1024
MIN_CPU_SHARES = 2
MAX_CPU_SHARES = 262144
RLIM_INFINITY = (1 << 64) - 1

#: moby's default masked paths (daemon/pkg/oci/defaults.go); the per-CPU
#: thermal_throttle directories that exist are added at run time.
DEFAULT_MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
)

#: moby's default read-only paths.
DEFAULT_READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

# ulimit names Docker accepts (go-units) → RLIMIT_* numbers on Linux.
_RLIMITS: dict[str, int] = {
    "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6,
    "nofile": 7, "memlock": 8, "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12,
    "nice": 13, "rtprio": 14, "rttime": 15,
}

# Sysctls that belong to the IPC namespace (runc refuses them with --ipc host).
_IPC_SYSCTLS = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                          "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                          "kernel.shm_rmid_forced"})

_CPUSET_RE = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
_DEVICE_RULE_RE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")


@dataclass
class Mount:
    """A mount the caller adds: a user volume or bind, or the /etc/hostname,
    /etc/hosts and /etc/resolv.conf files the engine prepared.

    A ``bind`` mount without options is ``["rbind", "rprivate"]`` (read-write,
    like Docker's); one whose options lack "bind"/"rbind" gets "rbind" first.
    Other types are passed through as given.
    """

    destination: str
    source: str
    type: str = "bind"
    options: list[str] = field(default_factory=list)


@dataclass
class SpecInput:
    """Everything :func:`build_spec` needs about one container.

    Sizes are bytes, CPU values are Docker's (``nano_cpus`` in 1e-9 CPUs,
    ``cpu_quota``/``cpu_period`` in µs). Zero means "not set" for resources.
    ``ulimits`` are Docker's ``[{"Name": "nofile", "Soft": 1024, "Hard": 2048}]``.
    Namespaces: ``network_ns`` None = new one, "host" = the host's, a path = join
    it (``network_shared`` marks a path that is another container's, where
    Docker's default network sysctls are left alone); ``ipc_mode`` "private"
    (or "shareable"/""), "none", "host", or a namespace path; ``pid_mode`` and
    ``uts_mode`` "", "host" or a namespace path (pid only); ``cgroupns_mode``
    "" (Docker's default: private on cgroup v2, host on v1), "private", "host".
    ``seccomp`` is "default", "unconfined", a path to a profile, or the
    profile's JSON text itself. ``devices`` are Docker device mappings
    (``{"PathOnHost", "PathInContainer", "CgroupPermissions"}`` or the CLI's
    "host[:container][:rwm]" strings). ``network_ns`` None also serves
    ``--network none`` (an empty new namespace) and bridge networks the engine
    wires up after creation. ``open_stdin`` and ``stop_signal`` have no place
    in the OCI configuration and are ignored here (the engine uses them).
    """

    rootfs: str
    args: list[str]
    env: list[str] = field(default_factory=list)
    cwd: str = "/"
    user: str = ""
    group_add: list[str] = field(default_factory=list)
    hostname: str = ""
    domainname: str = ""
    tty: bool = False
    open_stdin: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    readonly_rootfs: bool = False
    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int | None = None
    oom_score_adj: int = 0
    sysctls: dict[str, str] = field(default_factory=dict)
    ulimits: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    network_ns: str | None = None
    network_shared: bool = False
    ipc_mode: str = "private"
    pid_mode: str = ""
    uts_mode: str = ""
    cgroupns_mode: str = ""
    cgroups_path: str = ""
    seccomp: str | None = "default"
    no_new_privileges: bool = False
    apparmor: str | None = None
    init_path: str | None = None
    shm_size: int = DEFAULT_SHM_SIZE
    tmpfs: dict[str, str] = field(default_factory=dict)
    stop_signal: int | None = None
    devices: list[Any] = field(default_factory=list)
    device_cgroup_rules: list[str] = field(default_factory=list)
    masked_paths: list[str] | None = None
    readonly_paths: list[str] | None = None
    annotations: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- host facts


def cgroup2() -> bool:
    """Whether this host runs the unified cgroup v2 hierarchy alone."""
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def swap_accounting(v2: bool) -> bool:
    """Whether memory+swap limits can be set here (Docker's SwapLimit)."""
    if not v2:
        return os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
    own = ""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            for line in f:
                if line.startswith("0::"):
                    own = line[3:].strip()
    except OSError:
        pass
    candidates = [os.path.join("/sys/fs/cgroup", own.lstrip("/"))] if own.strip("/") else []
    try:
        candidates += [e.path for e in os.scandir("/sys/fs/cgroup") if e.is_dir()]
    except OSError:
        pass
    return any(os.path.exists(os.path.join(c, "memory.swap.max")) for c in candidates)


def _in_user_namespace() -> bool:
    try:
        with open("/proc/self/uid_map", encoding="ascii") as f:
            fields = f.read().split()
    except OSError:
        return False
    return fields[:3] != ["0", "0", "4294967295"]


def _sysctl_exists(name: str) -> bool:
    return os.path.exists(os.path.join("/proc/sys", name.replace(".", "/")))


def _parse_cpu_list(text: str) -> list[int]:
    out: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def default_masked_paths() -> list[str]:
    """moby's masked paths plus each possible CPU's thermal_throttle directory
    that exists on this host."""
    paths = list(DEFAULT_MASKED_PATHS)
    try:
        with open("/sys/devices/system/cpu/possible", encoding="ascii") as f:
            cpus = _parse_cpu_list(f.read())
    except (OSError, ValueError):
        cpus = []
    for cpu in cpus:
        p = f"/sys/devices/system/cpu/cpu{cpu}/thermal_throttle"
        if os.path.exists(p):
            paths.append(p)
    return paths


# --------------------------------------------------------------------------- env


def replace_or_append_env(defaults: list[str], overrides: list[str]) -> list[str]:
    """moby's ``ReplaceOrAppendEnvValues``: ``KEY=v`` replaces the default of the
    same key or is appended; a bare ``KEY`` removes the default."""
    env = list(defaults)
    index = {e.split("=", 1)[0]: i for i, e in enumerate(env)}
    for value in overrides:
        key, sep, _ = value.partition("=")
        if not sep:
            if key in index:
                env[index[key]] = ""
            continue
        if key in index:
            env[index[key]] = value
        else:
            env.append(value)
    return [e for e in env if e != ""]


# --------------------------------------------------------------------------- mounts

# mount(8) flag options: name → (collision key, …). Options sharing a key
# override each other; every propagation mode shares one key.
_FLAG_KEYS: dict[str, str] = {}
for _key, _names in {
    "ro": ("ro", "rw"), "suid": ("suid", "nosuid"), "dev": ("dev", "nodev"),
    "exec": ("exec", "noexec"), "sync": ("sync", "async"), "dirsync": ("dirsync",),
    "remount": ("remount",), "mand": ("mand", "nomand"), "atime": ("atime", "noatime"),
    "diratime": ("diratime", "nodiratime"), "bind": ("bind",), "rbind": ("rbind",),
    "relatime": ("relatime", "norelatime"), "strictatime": ("strictatime", "nostrictatime"),
    "propagation": ("private", "rprivate", "shared", "rshared", "slave", "rslave",
                    "unbindable", "runbindable"),
}.items():
    for _n in _names:
        _FLAG_KEYS[_n] = _key
_TMPFS_DATA = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})


def merge_tmpfs_options(options: list[str]) -> list[str]:
    """moby's ``mount.MergeTmpfsOptions``: later options win over earlier ones of
    the same kind (``exec`` over ``noexec``, the last ``size=``), order kept.

    Raises InvalidParameter for an option tmpfs does not take.
    """
    seen: set[str] = set()
    out: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        if option in _FLAG_KEYS:
            key = "flag:" + _FLAG_KEYS[option]
        else:
            name, sep, _ = option.partition("=")
            if not sep or name not in _TMPFS_DATA:
                parts = " ".join(json.dumps(p) for p in option.split("=", 1))
                raise InvalidParameter(f"invalid tmpfs option [{parts}]")
            key = "data:" + name
        if key not in seen:
            seen.add(key)
            out.insert(0, option)
    return out


def _mount(destination: str, type_: str, source: str, options: list[str]) -> dict[str, Any]:
    return {"destination": destination, "type": type_, "source": source, "options": options}


def _default_mounts(shm_size: int) -> list[dict[str, Any]]:
    """moby's default mounts, /dev/shm sized."""
    return [
        _mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        _mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        _mount("/dev/pts", "devpts", "devpts",
               ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        _mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        _mount("/sys/fs/cgroup", "cgroup", "cgroup", ["ro", "nosuid", "noexec", "nodev"]),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        _mount("/dev/shm", "tmpfs", "shm",
               ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"]),
    ]


def _user_mount(m: Mount) -> dict[str, Any]:
    if not m.destination.startswith("/"):
        raise InvalidParameter(
            f"invalid mount config: mount path must be absolute: {m.destination!r}")
    options = list(m.options)
    if m.type == "bind":
        if not m.source.startswith("/"):
            raise InvalidParameter(
                f"invalid mount config: bind source path must be absolute: {m.source!r}")
        if not options:
            options = ["rbind", "rprivate"]
        elif "bind" not in options and "rbind" not in options:
            options.insert(0, "rbind")
    return _mount(os.path.normpath(m.destination), m.type, m.source, options)


def _tmpfs_mount(destination: str, data: str) -> dict[str, Any]:
    if not destination.startswith("/"):
        raise InvalidParameter(
            f'invalid mount config for type "tmpfs": invalid mount path: '
            f"'{destination}' mount path must be absolute")
    options = ["noexec", "nosuid", "nodev", "rprivate"]
    if data:
        options += data.split(",")
    return _mount(os.path.normpath(destination), "tmpfs", "tmpfs", merge_tmpfs_options(options))


def _depth(path: str) -> int:
    return os.path.normpath(path).count("/")


# --------------------------------------------------------------------------- devices


def device_from_path(path: str) -> dict[str, Any] | None:
    """The OCI device entry for the device node at ``path`` (not following a
    final symlink), or None when ``path`` is no block/char device."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISBLK(st.st_mode):
        kind = "b"
    elif stat.S_ISCHR(st.st_mode):
        kind = "c"
    else:
        return None
    return {"path": path, "type": kind, "major": os.major(st.st_rdev),
            "minor": os.minor(st.st_rdev), "fileMode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid, "gid": st.st_gid}


def host_devices(path: str = "/dev") -> list[dict[str, Any]]:
    """Every device node under ``path`` as containerd's ``HostDevices`` lists them
    (skipping pts, shm, fd, mqueue, console and symlinks)."""
    out: list[dict[str, Any]] = []
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return out
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            if e.name in ("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"):
                continue
            out.extend(host_devices(e.path))
        elif e.name != "console":
            dev = device_from_path(e.path)
            if dev is not None:
                out.append(dev)
    return out


def _parse_device_mapping(d: Any) -> tuple[str, str, str]:
    if isinstance(d, dict):
        host = d.get("PathOnHost", "")
        ctr = d.get("PathInContainer") or host
        perms = d.get("CgroupPermissions") or "rwm"
    elif isinstance(d, str):
        parts = d.split(":")
        host = parts[0]
        ctr, perms = host, "rwm"
        if len(parts) == 2:
            if re.fullmatch(r"[rwm]{1,3}", parts[1]):
                perms = parts[1]
            else:
                ctr = parts[1]
        elif len(parts) == 3:
            ctr, perms = parts[1], parts[2]
        elif len(parts) > 3:
            raise InvalidParameter(f"invalid device specification: {d}")
    else:
        raise InvalidParameter(f"invalid device specification: {d!r}")
    if not re.fullmatch(r"[rwm]{1,3}", perms):
        raise InvalidParameter(f"invalid device mode: {perms}")
    return host, ctr, perms


def devices_from_path(host: str, ctr: str, perms: str) -> tuple[list[dict], list[dict]]:
    """moby's ``DevicesFromPath``: the device at ``host`` (or every device under
    the directory ``host``) placed at ``ctr``, with a cgroup rule allowing
    ``perms`` for each. Raises InvalidParameter when nothing is found."""
    resolved = os.path.realpath(host) if os.path.islink(host) else host
    devs: list[dict] = []
    dev = device_from_path(resolved)
    if dev is not None:
        dev["path"] = ctr
        devs.append(dev)
    elif os.path.isdir(resolved):
        for dirpath, dirnames, filenames in os.walk(resolved):
            dirnames.sort()
            for name in sorted(filenames + dirnames):
                full = os.path.join(dirpath, name)
                child = device_from_path(full)
                if child is not None:
                    child["path"] = full.replace(resolved, ctr, 1)
                    devs.append(child)
    if not devs:
        # lstat's error when there is nothing there (the docker CLI exits 127 on
        # "no such file or directory", as for a missing binary), else runc's.
        reason = "not a device node" if os.path.lexists(resolved) else "no such file or directory"
        raise InvalidParameter(
            f"error gathering device information while adding custom device {json.dumps(host)}: {reason}")
    rules = [{"allow": True, "type": d["type"], "major": d["major"], "minor": d["minor"],
              "access": perms} for d in devs]
    return devs, rules


def parse_device_cgroup_rule(rule: str) -> dict[str, Any]:
    """A ``--device-cgroup-rule`` ("c 1:3 rwm", "a") as an OCI device rule."""
    text = "a *:* rwm" if rule == "a" else rule
    m = _DEVICE_RULE_RE.match(text)
    if not m:
        raise InvalidParameter(f"invalid device cgroup rule format: '{rule}'")
    return {"allow": True, "type": m.group(1),
            "major": -1 if m.group(2) == "*" else int(m.group(2)),
            "minor": -1 if m.group(3) == "*" else int(m.group(3)),
            "access": m.group(4)}


def _default_device_rules() -> list[dict[str, Any]]:
    """Docker's device cgroup rules: deny all, then the basic devices, deny fuse."""
    rules: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
    for major, minor in ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)):
        rules.append({"allow": True, "type": "c", "major": major, "minor": minor,
                      "access": "rwm"})
    rules.append({"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"})
    return rules


# --------------------------------------------------------------------------- resources


def _validate_resources(inp: SpecInput) -> None:
    """Docker's checks of memory and CPU settings, in its words."""
    if inp.memory < 0 or inp.memory_reservation < 0:
        raise InvalidParameter("invalid memory value: must be positive")
    if inp.memory and inp.memory < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if inp.memory_swap > 0 and inp.memory == 0:
        raise InvalidParameter(
            "You should always set the Memory limit when using Memoryswap limit, see usage")
    if inp.memory > 0 and inp.memory_swap > 0 and inp.memory_swap < inp.memory:
        raise InvalidParameter(
            "Minimum memoryswap limit should be larger than memory limit, see usage")
    if inp.memory > 0 and inp.memory_reservation > 0 and inp.memory < inp.memory_reservation:
        raise InvalidParameter(
            "Minimum memory limit can not be less than memory reservation limit, see usage")
    if inp.memory_reservation and inp.memory_reservation < MIN_MEMORY:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    if inp.nano_cpus and inp.cpu_period:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if inp.nano_cpus and inp.cpu_quota:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    ncpu = os.cpu_count() or 1
    if inp.nano_cpus < 0 or inp.nano_cpus > ncpu * 10**9:
        raise InvalidParameter(
            f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
    if inp.cpu_period and not 1000 <= inp.cpu_period <= 1000000:
        raise InvalidParameter(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if 0 < inp.cpu_quota < 1000:
        raise InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if inp.cpu_shares < 0:
        raise InvalidParameter("shares: invalid argument")
    for name, value in (("cpus", inp.cpuset_cpus), ("mems", inp.cpuset_mems)):
        if value and not _CPUSET_RE.match(value):
            raise InvalidParameter(f"Invalid value {value} for cpuset {name}")
    if inp.cpuset_cpus:
        try:
            with open("/sys/devices/system/cpu/online", encoding="ascii") as f:
                online = set(_parse_cpu_list(f.read()))
        except (OSError, ValueError):
            online = set()
        wanted = set(_parse_cpu_list(inp.cpuset_cpus))
        if online and not wanted <= online:
            available = ",".join(str(c) for c in sorted(online))
            raise InvalidParameter(
                f"Requested CPUs are not available - requested {inp.cpuset_cpus}, "
                f"available: {available}")
    if inp.shm_size < 0:
        raise InvalidParameter("SHM size can not be less than 0")
    if not -1000 <= inp.oom_score_adj <= 1000:
        raise InvalidParameter(
            f"Invalid value {inp.oom_score_adj}, range for oom score adj is [-1000, 1000]")


def _resources(inp: SpecInput, v2: bool) -> dict[str, Any]:
    """``linux.resources`` without devices (moby's WithResources)."""
    memory: dict[str, int] = {}
    if inp.memory > 0:
        memory["limit"] = inp.memory
    if inp.memory_reservation > 0:
        memory["reservation"] = inp.memory_reservation
    swap = inp.memory_swap
    if inp.memory > 0 and swap == 0:
        swap = 2 * inp.memory  # Docker's default: as much swap as memory
    if swap > 0 and swap_accounting(v2):
        memory["swap"] = swap
    cpu: dict[str, Any] = {}
    if inp.cpu_shares > 0:
        cpu["shares"] = min(max(inp.cpu_shares, MIN_CPU_SHARES), MAX_CPU_SHARES)
    if inp.cpuset_cpus:
        cpu["cpus"] = inp.cpuset_cpus
    if inp.cpuset_mems:
        cpu["mems"] = inp.cpuset_mems
    if inp.nano_cpus > 0:
        period = 100000  # 100ms in µs, as Docker
        cpu["period"] = period
        cpu["quota"] = inp.nano_cpus * period // 10**9
    if inp.cpu_period:
        cpu["period"] = inp.cpu_period
    if inp.cpu_quota:
        cpu["quota"] = inp.cpu_quota
    res: dict[str, Any] = {"memory": memory, "cpu": cpu}
    if inp.pids_limit is not None:
        # Docker takes 0 and negative values as "unlimited"; runc wants -1.
        res["pids"] = {"limit": inp.pids_limit if inp.pids_limit > 0 else -1}
    return res


def _rlimits(ulimits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Docker ulimits → OCI rlimits, each clamped to the daemon's own hard limit
    (raising it would need CAP_SYS_RESOURCE, which runc may not have)."""
    out: list[dict[str, Any]] = []
    for ul in ulimits:
        name = str(ul.get("Name", ul.get("name", "")))
        soft = _rlim(ul.get("Soft", ul.get("soft", 0)))
        hard = _rlim(ul.get("Hard", ul.get("hard", 0)))
        if name not in _RLIMITS:
            raise InvalidParameter(f"invalid ulimit type: {name}")
        if soft > hard:
            raise InvalidParameter(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
        try:
            _, own_hard = resource.getrlimit(_RLIMITS[name])
        except (OSError, ValueError):
            own_hard = resource.RLIM_INFINITY
        own = RLIM_INFINITY if own_hard in (resource.RLIM_INFINITY, -1) else own_hard
        hard = min(hard, own)
        soft = min(soft, hard)
        out.append({"type": "RLIMIT_" + name.upper(), "hard": hard, "soft": soft})
    return out


def _rlim(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidParameter(f"invalid ulimit value: {v!r}")
    return RLIM_INFINITY if v < 0 else v


# --------------------------------------------------------------------------- seccomp


def _seccomp(inp: SpecInput, bounding: list[str]) -> dict[str, Any] | None:
    """moby's setSeccomp: nothing when privileged or unconfined."""
    choice = inp.seccomp
    if inp.privileged or choice is None or choice == "unconfined":
        return None
    if choice in ("", "default", "builtin"):
        return seccomp_mod.default_profile(bounding)
    if choice.lstrip().startswith("{"):
        return seccomp_mod.load_profile(choice, bounding)
    try:
        with open(choice, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise InvalidParameter(f"opening seccomp profile ({choice}) failed: {e}") from None
    return seccomp_mod.load_profile(text, bounding)


# --------------------------------------------------------------------------- spec


def _namespace_path(kind: str, value: str) -> str:
    if not value.startswith("/"):
        raise InvalidParameter(f"invalid {kind} mode: {value}")
    return value


@dataclass
class SpecContext:
    """What the options share about one container, settled before any runs.

    ``user`` is resolved first because capabilities depend on it being root;
    the namespace modes are normalised once (``ipc`` "" means "private").
    """

    inp: SpecInput
    v2: bool
    user: ExecUser
    cap_list: list[str]
    pid_private: bool
    uts_private: bool
    ipc: str

    @classmethod
    def of(cls, inp: SpecInput, v2: bool) -> SpecContext:
        """Validate ``inp`` (command, working directory, resources) and resolve its
        user and capabilities; raises InvalidParameter with Docker's wording."""
        if not inp.args:
            raise InvalidParameter("No command specified")
        if not inp.cwd.startswith("/"):
            raise InvalidParameter(
                f"the working directory '{inp.cwd}' is invalid, it needs to be an absolute path")
        _validate_resources(inp)
        user = resolve_user(inp.rootfs, inp.user, inp.group_add)
        cap_list = caps_mod.tweak(inp.cap_add, inp.cap_drop, inp.privileged)
        return cls(inp, v2, user, cap_list, inp.pid_mode in ("", "private"), inp.uts_mode in ("", "private"),
                   inp.ipc_mode or "private")

    @property
    def with_init(self) -> bool:
        """Whether docker-init runs as PID 1 (only in a private PID namespace)."""
        return bool(self.inp.init_path) and self.pid_private


#: A step of the spec's construction (containerd's ``oci.SpecOpts``): changes the
#: spec in place, raises InvalidParameter for a setting it refuses.
SpecOpt = Callable[[dict[str, Any], SpecContext], None]


def with_process(spec: dict[str, Any], ctx: SpecContext) -> None:
    """The process: user, arguments (behind docker-init), environment, capabilities,
    rlimits and the other per-process settings."""
    inp, user = ctx.inp, ctx.user
    gids = list(dict.fromkeys([user.gid, *user.additional_gids]))
    args = [INIT_IN_CONTAINER, "--", *inp.args] if ctx.with_init else list(inp.args)
    process: dict[str, Any] = {
        "terminal": inp.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": gids},
        "args": args,
        "env": _environment(inp, user.home),
        "cwd": inp.cwd,
        "capabilities": _capabilities(ctx.cap_list, user.uid == 0),
    }
    if inp.ulimits:
        process["rlimits"] = _rlimits(inp.ulimits)
    if inp.no_new_privileges:
        process["noNewPrivileges"] = True
    if inp.apparmor:
        process["apparmorProfile"] = inp.apparmor
    process["oomScoreAdj"] = inp.oom_score_adj
    spec["process"] = process


def _environment(inp: SpecInput, home: str) -> list[str]:
    defaults = ["PATH=" + DEFAULT_PATH_ENV]
    if inp.hostname:
        defaults.append("HOSTNAME=" + inp.hostname)
    if inp.tty:
        defaults.append("TERM=xterm")
    env = replace_or_append_env(defaults, inp.env)
    if not any(e == "HOME" or e.startswith("HOME=") for e in inp.env):
        env.append("HOME=" + home)
    return env


def _capabilities(cap_list: list[str], root: bool) -> dict[str, list[str]]:
    if root:
        return {"bounding": cap_list, "effective": list(cap_list), "permitted": list(cap_list)}
    # As execve would: a non-root process starts with no effective caps.
    return {"bounding": cap_list}


def with_root(spec: dict[str, Any], ctx: SpecContext) -> None:
    """The root filesystem, read-only with ``--read-only``."""
    spec["root"] = {"path": ctx.inp.rootfs, "readonly": ctx.inp.readonly_rootfs}


def with_hostname(spec: dict[str, Any], ctx: SpecContext) -> None:
    """The hostname, in a private UTS namespace only."""
    if ctx.uts_private and ctx.inp.hostname:
        spec["hostname"] = ctx.inp.hostname


def with_namespaces(spec: dict[str, Any], ctx: SpecContext) -> None:
    """New or joined namespaces per the container's modes (host ones are left out)."""
    inp = ctx.inp
    namespaces: list[dict[str, str]] = [{"type": "mount"}]
    net = inp.network_ns
    if net is None:
        namespaces.append({"type": "network"})
    elif net != "host":
        namespaces.append({"type": "network", "path": _namespace_path("network", net)})
    if ctx.uts_private:
        namespaces.append({"type": "uts"})
    elif inp.uts_mode != "host":
        raise InvalidParameter(f"invalid UTS mode: {inp.uts_mode}")
    if ctx.pid_private:
        namespaces.append({"type": "pid"})
    elif inp.pid_mode != "host":
        namespaces.append({"type": "pid", "path": _namespace_path("PID", inp.pid_mode)})
    if ctx.ipc in ("private", "shareable", "none"):
        namespaces.append({"type": "ipc"})
    elif ctx.ipc != "host":
        namespaces.append({"type": "ipc", "path": _namespace_path("IPC", ctx.ipc)})
    cgroupns = inp.cgroupns_mode or ("private" if ctx.v2 else "host")
    if cgroupns == "private":
        namespaces.append({"type": "cgroup"})
    elif cgroupns != "host":
        raise InvalidParameter(f"invalid cgroup namespace mode: {inp.cgroupns_mode}")
    _linux(spec)["namespaces"] = namespaces


def with_mounts(spec: dict[str, Any], ctx: SpecContext) -> None:
    """Docker's default mounts, minus those the user's replace, then the user's
    (parents first); read-only and privileged adjustments (moby's WithMounts)."""
    inp = ctx.inp
    default_mounts = _default_mounts(inp.shm_size or DEFAULT_SHM_SIZE)
    if ctx.with_init:
        default_mounts.append(_mount(INIT_IN_CONTAINER, "bind", inp.init_path or "", ["bind", "ro"]))
    user_mounts = [_user_mount(m) for m in inp.mounts]
    user_mounts += [_tmpfs_mount(dest, data) for dest, data in inp.tmpfs.items()]
    if ctx.ipc == "host" and not any(m["destination"] == "/dev/shm" for m in user_mounts):
        user_mounts.append(_mount("/dev/shm", "bind", "/dev/shm", ["rbind", "rprivate"]))
    user_mounts.sort(key=lambda m: _depth(m["destination"]))  # parents first, stable
    user_dests = {m["destination"] for m in user_mounts}
    mount_dev = "/dev" in user_dests
    mounts: list[dict[str, Any]] = []
    for m in default_mounts:
        dest = m["destination"]
        if dest in user_dests or (mount_dev and dest.startswith("/dev/")):
            continue
        if dest == "/dev/shm" and ctx.ipc == "none":
            continue
        mounts.append(m)
    mounts.extend(user_mounts)
    if inp.readonly_rootfs:
        for m in mounts:
            if m["destination"] in ("/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"):
                continue
            if m["destination"] not in user_dests and "ro" not in m["options"]:
                m["options"].append("ro")
    if inp.privileged:
        for m in mounts:
            if m["destination"] == "/sys" or m["type"] == "cgroup":
                m["options"] = [o for o in m["options"] if o != "ro"]
    spec["mounts"] = mounts


def with_sysctls(spec: dict[str, Any], ctx: SpecContext) -> None:
    """Docker's defaults for a private network, then the user's (refused in a host
    namespace they would change)."""
    inp, net = ctx.inp, ctx.inp.network_ns
    sysctl: dict[str, str] = {}
    if net != "host" and not inp.network_shared:
        if not _in_user_namespace() and _sysctl_exists("net.ipv4.ping_group_range"):
            sysctl["net.ipv4.ping_group_range"] = "0 2147483647"
        if _sysctl_exists("net.ipv4.ip_unprivileged_port_start"):
            sysctl["net.ipv4.ip_unprivileged_port_start"] = "0"
    if inp.domainname and ctx.uts_private:
        # No OCI 1.0 field; this sysctl has the effect of setdomainname(2).
        sysctl["kernel.domainname"] = inp.domainname
    for key, value in inp.sysctls.items():
        if net == "host" and key.startswith("net."):
            raise InvalidParameter(f"sysctl {json.dumps(key)} not allowed in host network namespace")
        if ctx.ipc == "host" and (key in _IPC_SYSCTLS or key.startswith("fs.mqueue.")):
            raise InvalidParameter(f"sysctl {json.dumps(key)} is not allowed in the hosts ipc namespace")
        if not ctx.uts_private and key in ("kernel.hostname", "kernel.domainname"):
            raise InvalidParameter(f"sysctl {json.dumps(key)} is not allowed in the hosts uts namespace")
        sysctl[key] = str(value)
    _linux(spec)["sysctl"] = sysctl


def with_devices(spec: dict[str, Any], ctx: SpecContext) -> None:
    """Device nodes and the device cgroup rules (moby's WithDevices): every host
    device when privileged, else the defaults plus the requested ones."""
    inp = ctx.inp
    devices: list[dict[str, Any]] = []
    if inp.privileged:
        devices.extend(host_devices())
        for d in inp.devices:
            host, ctr, _ = _parse_device_mapping(d)
            if host != ctr:
                devices.extend(devices_from_path(host, ctr, "rwm")[0])
        device_rules: list[dict[str, Any]] = [{"allow": True, "access": "rwm"}]
    else:
        device_rules = _default_device_rules()
        for d in inp.devices:
            devs, rules = devices_from_path(*_parse_device_mapping(d))
            devices.extend(devs)
            device_rules.extend(rules)
        device_rules.extend(parse_device_cgroup_rule(r) for r in inp.device_cgroup_rules)
    linux = _linux(spec)
    linux["devices"] = devices
    linux.setdefault("resources", {})["devices"] = device_rules


def with_resources(spec: dict[str, Any], ctx: SpecContext) -> None:
    """Memory, CPU and pids limits, and the cgroup path."""
    linux = _linux(spec)
    linux.setdefault("resources", {}).update(_resources(ctx.inp, ctx.v2))
    if ctx.inp.cgroups_path:
        linux["cgroupsPath"] = ctx.inp.cgroups_path


def with_seccomp(spec: dict[str, Any], ctx: SpecContext) -> None:
    """The seccomp profile (none when privileged or unconfined)."""
    seccomp = _seccomp(ctx.inp, ctx.cap_list)
    if seccomp is not None:
        _linux(spec)["seccomp"] = seccomp


def with_masked_paths(spec: dict[str, Any], ctx: SpecContext) -> None:
    """Masked and read-only /proc and /sys paths: Docker's defaults unless
    privileged or given."""
    inp = ctx.inp
    masked = inp.masked_paths
    readonly = inp.readonly_paths
    if masked is None and not inp.privileged:
        masked = default_masked_paths()
    if readonly is None and not inp.privileged:
        readonly = list(DEFAULT_READONLY_PATHS)
    if masked:
        _linux(spec)["maskedPaths"] = list(masked)
    if readonly:
        _linux(spec)["readonlyPaths"] = list(readonly)


def with_annotations(spec: dict[str, Any], ctx: SpecContext) -> None:
    """The container's annotations, when it has some."""
    if ctx.inp.annotations:
        spec["annotations"] = dict(ctx.inp.annotations)


#: Docker's construction, in the order its checks run (the first invalid
#: setting met is the one reported).
DEFAULT_OPTS: tuple[SpecOpt, ...] = (
    with_process, with_namespaces, with_mounts, with_sysctls, with_devices, with_resources, with_seccomp,
    with_masked_paths, with_root, with_hostname, with_annotations,
)

# config.json's key order, as Docker writes it (readers do not care; diffs do).
_SPEC_ORDER = ("ociVersion", "process", "root", "hostname", "mounts", "linux", "annotations")
_LINUX_ORDER = ("sysctl", "resources", "cgroupsPath", "namespaces", "seccomp", "devices", "maskedPaths",
                "readonlyPaths")


def _linux(spec: dict[str, Any]) -> dict[str, Any]:
    return spec.setdefault("linux", {})


def _ordered(d: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    out = {k: d[k] for k in order if k in d}
    out.update((k, v) for k, v in d.items() if k not in out)
    return out


def build_spec(inp: SpecInput, *, cgroup_v2: bool | None = None,
               opts: tuple[SpecOpt, ...] = DEFAULT_OPTS) -> dict[str, Any]:
    """The OCI runtime-spec 1.0.2 ``config.json`` for ``inp``, as Docker builds it.

    ``opts`` are applied in order to an empty spec (:data:`DEFAULT_OPTS` by
    default). ``cgroup_v2`` overrides the host's cgroup version (tests). Reads
    the container's passwd/group files inside ``inp.rootfs`` and, when asked
    for, a seccomp profile file. Raises InvalidParameter for any invalid
    setting (unknown user or capability, bad mode, bad resource value, …),
    with Docker's wording where Docker has one.
    """
    ctx = SpecContext.of(inp, cgroup2() if cgroup_v2 is None else cgroup_v2)
    spec: dict[str, Any] = {"ociVersion": OCI_VERSION}
    for opt in opts:
        opt(spec, ctx)
    if "linux" in spec:
        resources = spec["linux"].get("resources")
        if resources is not None and "devices" in resources:
            spec["linux"]["resources"] = _ordered(resources, ("devices",))
        spec["linux"] = _ordered(spec["linux"], _LINUX_ORDER)
    return _ordered(spec, _SPEC_ORDER)


def write_config(bundle: str, spec: dict[str, Any]) -> str:
    """Write ``spec`` as ``<bundle>/config.json`` atomically (temporary file in
    the same directory, then rename) and return the file's path."""
    path = os.path.join(bundle, "config.json")
    fd, tmp = tempfile.mkstemp(prefix=".config.", suffix=".json", dir=bundle)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(spec, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
