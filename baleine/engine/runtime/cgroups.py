"""Reading a container's resource usage from its cgroup, on cgroup v1 or v2 hosts.

Where: runc puts a container in ``<cgroup-parent>/<container-id>`` (the bundle's
``cgroupsPath``). On a cgroup v1 host (``/sys/fs/cgroup/cgroup.controllers`` absent)
each controller has its own hierarchy, ``/sys/fs/cgroup/<controller>/<parent>/<id>``
(``cpu`` and ``cpuacct`` may be one mount, ``cpu,cpuacct``); on a v2 host there is one,
``/sys/fs/cgroup/<parent>/<id>``.

What: the counters containerd's cgroup libraries read for moby's stats —
v1: ``cpuacct.usage``, ``cpuacct.usage_percpu``, ``cpuacct.stat``, ``cpu.stat``,
``memory.usage_in_bytes`` / ``max_usage_in_bytes`` / ``failcnt`` / ``limit_in_bytes``,
``memory.stat``, ``blkio.*_recursive`` (falling back to ``blkio.throttle.*`` when the
CFQ files hold nothing), ``pids.current`` / ``pids.max``; v2: ``cpu.stat``,
``memory.current`` / ``memory.max`` / ``memory.stat`` / ``memory.events``, ``io.stat``,
``pids.current`` / ``pids.max``. :class:`CgroupStats` holds them raw; turning them into
Docker's stats JSON is :mod:`baleine.engine.containers.stats`' job.

The parsers are pure functions of file contents (tested without a cgroup); only
:func:`read` touches the filesystem. It is blocking: call it in a thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

CGROUP_ROOT = "/sys/fs/cgroup"

#: ``CLK_TCK``: cpuacct.stat counts in these ticks; Linux fixes USER_HZ at 100.
CLOCK_TICKS = 100
NS_PER_SEC = 1_000_000_000

#: v1 controllers stats need, with the mount directory names they may have.
V1_CONTROLLERS: dict[str, tuple[str, ...]] = {
    "cpuacct": ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"),
    "cpu": ("cpu", "cpu,cpuacct", "cpuacct,cpu"),
    "memory": ("memory",),
    "blkio": ("blkio",),
    "pids": ("pids",),
}

#: The blkio files containerd reads on v1 (file suffix -> Docker's field), CFQ first.
BLKIO_CFQ_FILES: dict[str, str] = {
    "sectors_recursive": "sectors_recursive",
    "io_service_bytes_recursive": "io_service_bytes_recursive",
    "io_serviced_recursive": "io_serviced_recursive",
    "io_queued_recursive": "io_queue_recursive",
    "io_service_time_recursive": "io_service_time_recursive",
    "io_wait_time_recursive": "io_wait_time_recursive",
    "io_merged_recursive": "io_merged_recursive",
    "time_recursive": "io_time_recursive",
}
BLKIO_THROTTLE_FILES: dict[str, str] = {
    "throttle.io_serviced": "io_serviced_recursive",
    "throttle.io_service_bytes": "io_service_bytes_recursive",
}


class CgroupGone(Exception):
    """The container's cgroup does not exist (it is not running, or just exited)."""


@dataclass
class CgroupStats:
    """Raw counters of one cgroup (see the module docstring for their sources).

    CPU times are nanoseconds; memory sizes bytes. ``memory_limit`` is None when
    unlimited (v2 ``max``); on v1 it is the kernel's huge "unlimited" value.
    ``blkio`` maps Docker's blkio field names to ``{"major", "minor", "op", "value"}``
    entries. ``pids_limit`` is 0 when unlimited.
    """

    version: int
    cpu_total: int = 0
    cpu_percpu: list[int] = field(default_factory=list)
    cpu_user: int = 0
    cpu_system: int = 0
    throttle_periods: int = 0
    throttled_periods: int = 0
    throttled_time: int = 0
    memory_usage: int = 0
    memory_max_usage: int = 0
    memory_failcnt: int = 0
    memory_limit: int | None = None
    memory_stat: dict[str, int] = field(default_factory=dict)
    blkio: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    pids_current: int = 0
    pids_limit: int = 0


# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------


def is_v2(root: str = CGROUP_ROOT) -> bool:
    """Whether the host runs the unified (v2) hierarchy alone."""
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


def v1_dir(controller: str, parent: str, cid: str, root: str = CGROUP_ROOT,
           exists: object = os.path.isdir) -> str:
    """The v1 directory of ``controller`` for container ``cid`` under ``parent``.

    The first candidate mount name (``cpuacct``, then ``cpu,cpuacct``...) whose
    container directory exists wins; the first candidate otherwise. ``exists`` is
    injectable for tests.
    """
    candidates = V1_CONTROLLERS.get(controller, (controller,))
    paths = [os.path.join(root, name, parent.strip("/"), cid) for name in candidates]
    for path in paths:
        if exists(path):  # type: ignore[operator]
            return path
    return paths[0]


def v2_dir(parent: str, cid: str, root: str = CGROUP_ROOT) -> str:
    """The v2 directory of container ``cid`` under ``parent``."""
    return os.path.join(root, parent.strip("/"), cid)


# ---------------------------------------------------------------------------
# Parsers (pure)
# ---------------------------------------------------------------------------


def parse_int(text: str) -> int:
    """A single number file (``memory.usage_in_bytes``); ``max`` reads as 0."""
    text = text.strip()
    if not text or text == "max":
        return 0
    return int(text)


def parse_limit(text: str) -> int | None:
    """A limit file: a number, or None for ``max`` (v2's "unlimited")."""
    text = text.strip()
    if not text or text == "max":
        return None
    return int(text)


def parse_flat_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (``memory.stat``, ``cpu.stat``, ``cpuacct.stat``, ``memory.events``)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_percpu(text: str) -> list[int]:
    """``cpuacct.usage_percpu``: nanoseconds per CPU, space separated."""
    return [int(v) for v in text.split()]


def parse_blkio_v1(text: str) -> list[dict[str, object]]:
    """A v1 blkio file, as containerd reads it: ``MAJ:MIN Op value`` lines, or
    ``MAJ:MIN value`` (``time_recursive``, ``sectors_recursive``; op ``""``).
    ``Total`` lines and malformed ones are skipped."""
    out: list[dict[str, object]] = []
    for line in text.splitlines():
        parts = line.replace(":", " ").split()
        if len(parts) not in (3, 4):
            continue
        op = parts[2] if len(parts) == 4 else ""
        try:
            out.append({"major": int(parts[0]), "minor": int(parts[1]), "op": op, "value": int(parts[-1])})
        except ValueError:
            continue
    return out


def parse_io_stat(text: str) -> list[dict[str, object]]:
    """v2 ``io.stat`` as moby reports it: a ``read`` and a ``write`` entry (bytes)
    per device line ``MAJ:MIN rbytes=.. wbytes=.. rios=.. ...``."""
    out: list[dict[str, object]] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        major, sep, minor = parts[0].partition(":")
        if not sep:
            continue
        fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        try:
            maj, mino = int(major), int(minor)
            out.append({"major": maj, "minor": mino, "op": "read", "value": int(fields.get("rbytes", 0))})
            out.append({"major": maj, "minor": mino, "op": "write", "value": int(fields.get("wbytes", 0))})
        except ValueError:
            continue
    return out


def parse_proc_stat(text: str, clock_ticks: int = CLOCK_TICKS) -> tuple[int, int]:
    """``/proc/stat`` → (host CPU time in nanoseconds, number of online CPUs).

    As moby's ``getSystemCPUUsage``: the first seven fields of the ``cpu`` line
    (user nice system idle iowait irq softirq), in clock ticks, converted to
    nanoseconds; CPUs are the ``cpuN`` lines.
    """
    usage = 0
    ncpu = 0
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "cpu":
            if len(parts) < 8:
                raise ValueError("invalid number of cpu fields")
            ticks = sum(int(v) for v in parts[1:8])
            usage = ticks * NS_PER_SEC // clock_ticks
        elif parts[0].startswith("cpu") and len(parts[0]) > 3:
            ncpu += 1
    return usage, ncpu


def parse_meminfo_total(text: str) -> int:
    """``MemTotal`` of ``/proc/meminfo`` in bytes (0 if absent)."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2:
                return int(parts[1]) * 1024
    return 0


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, ProcessLookupError):
        return None
    except OSError:
        return None


def read(parent: str, cid: str, root: str = CGROUP_ROOT, v2: bool | None = None) -> CgroupStats:
    """Counters of container ``cid``'s cgroup under ``parent`` (blocking).

    Raises :class:`CgroupGone` when the cgroup does not exist. Individual files
    that are missing (a controller not enabled) leave their fields at zero.
    """
    if v2 is None:
        v2 = is_v2(root)
    return _read_v2(v2_dir(parent, cid, root)) if v2 else _read_v1(parent, cid, root)


def _read_v1(parent: str, cid: str, root: str) -> CgroupStats:
    mem = v1_dir("memory", parent, cid, root)
    acct = v1_dir("cpuacct", parent, cid, root)
    if not os.path.isdir(mem) and not os.path.isdir(acct):
        raise CgroupGone(cid)
    s = CgroupStats(version=1)
    text = _read(os.path.join(acct, "cpuacct.usage"))
    if text is not None:
        s.cpu_total = parse_int(text)
    text = _read(os.path.join(acct, "cpuacct.usage_percpu"))
    if text is not None:
        s.cpu_percpu = parse_percpu(text)
    text = _read(os.path.join(acct, "cpuacct.stat"))
    if text is not None:
        ticks = parse_flat_keyed(text)
        s.cpu_user = ticks.get("user", 0) * NS_PER_SEC // CLOCK_TICKS
        s.cpu_system = ticks.get("system", 0) * NS_PER_SEC // CLOCK_TICKS
    text = _read(os.path.join(v1_dir("cpu", parent, cid, root), "cpu.stat"))
    if text is not None:
        cpu = parse_flat_keyed(text)
        s.throttle_periods = cpu.get("nr_periods", 0)
        s.throttled_periods = cpu.get("nr_throttled", 0)
        s.throttled_time = cpu.get("throttled_time", 0)
    for name, attr in (("memory.usage_in_bytes", "memory_usage"), ("memory.max_usage_in_bytes", "memory_max_usage"),
                       ("memory.failcnt", "memory_failcnt")):
        text = _read(os.path.join(mem, name))
        if text is not None:
            setattr(s, attr, parse_int(text))
    text = _read(os.path.join(mem, "memory.limit_in_bytes"))
    if text is not None:
        s.memory_limit = parse_limit(text)
    text = _read(os.path.join(mem, "memory.stat"))
    if text is not None:
        s.memory_stat = parse_flat_keyed(text)
    s.blkio = _read_blkio_v1(v1_dir("blkio", parent, cid, root))
    pids = v1_dir("pids", parent, cid, root)
    text = _read(os.path.join(pids, "pids.current"))
    if text is not None:
        s.pids_current = parse_int(text)
    text = _read(os.path.join(pids, "pids.max"))
    if text is not None:
        s.pids_limit = parse_int(text)
    return s


def _read_blkio_v1(path: str) -> dict[str, list[dict[str, object]]]:
    """containerd's order: the CFQ files; if they hold no entry, the throttle files."""
    out: dict[str, list[dict[str, object]]] = {name: [] for name in BLKIO_CFQ_FILES.values()}
    if os.path.exists(os.path.join(path, "blkio.io_serviced_recursive")):
        total = 0
        for suffix, name in BLKIO_CFQ_FILES.items():
            text = _read(os.path.join(path, "blkio." + suffix)) or ""
            out[name] = parse_blkio_v1(text)
            total += len(out[name])
        if total:
            return out
    for suffix, name in BLKIO_THROTTLE_FILES.items():
        out[name] = parse_blkio_v1(_read(os.path.join(path, "blkio." + suffix)) or "")
    return out


def _read_v2(path: str) -> CgroupStats:
    if not os.path.isdir(path):
        raise CgroupGone(path)
    s = CgroupStats(version=2)
    text = _read(os.path.join(path, "cpu.stat"))
    if text is not None:
        cpu = parse_flat_keyed(text)
        s.cpu_total = cpu.get("usage_usec", 0) * 1000
        s.cpu_user = cpu.get("user_usec", 0) * 1000
        s.cpu_system = cpu.get("system_usec", 0) * 1000
        s.throttle_periods = cpu.get("nr_periods", 0)
        s.throttled_periods = cpu.get("nr_throttled", 0)
        s.throttled_time = cpu.get("throttled_usec", 0) * 1000
    text = _read(os.path.join(path, "memory.current"))
    if text is not None:
        s.memory_usage = parse_int(text)
    text = _read(os.path.join(path, "memory.max"))
    if text is not None:
        s.memory_limit = parse_limit(text)
    text = _read(os.path.join(path, "memory.stat"))
    if text is not None:
        s.memory_stat = parse_flat_keyed(text)
    text = _read(os.path.join(path, "memory.events"))
    if text is not None:
        s.memory_failcnt = parse_flat_keyed(text).get("oom", 0)
    text = _read(os.path.join(path, "io.stat"))
    s.blkio = {"io_service_bytes_recursive": parse_io_stat(text or "")}
    text = _read(os.path.join(path, "pids.current"))
    if text is not None:
        s.pids_current = parse_int(text)
    text = _read(os.path.join(path, "pids.max"))
    if text is not None:
        s.pids_limit = parse_int(text)
    return s
