"""Docker's container stats (``GET /containers/{id}/stats``): samples and streams.

A sample is Docker's ``StatsJSON`` built from the container's cgroup counters
(:mod:`baleine.engine.runtime.cgroups`), the host's ``/proc/stat`` (``system_cpu_usage``,
``online_cpus``) and, for a container with a network namespace of its own, its
interfaces (``/proc/<pid>/net/dev``, loopback excluded). The JSON follows moby's
``statsV1``/``statsV2`` field by field, including Go's ``omitempty`` rules and key
order, so that clients computing CPU % (``precpu_stats`` is the previous sample)
and memory usage (``usage`` minus ``total_inactive_file``/``inactive_file``) get what
they get from Docker.

:func:`stats_stream` is the endpoint's behaviour (moby ``daemon.ContainerStats``):

* not running and ``stream=false``: one all-zero frame with name and ID;
* ``one-shot``: one sample, no ``precpu_stats``;
* ``stream=false``: two samples a second apart, the second one sent (so CPU %
  can be computed from a single response);
* streaming: a sample every second; while the container is stopped nothing is
  sent; the stream ends when the container is removed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..runtime import cgroups
from .records import Container
from ...rules.timestamps import ZERO_TIME, format_rfc3339nano_ns

#: Seconds between samples, as moby's stats collector.
INTERVAL = 1.0

#: memory_stats.stats keys on cgroup v1 (moby statsV1), from memory.stat.
V1_MEMORY_KEYS = (
    "cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout", "pgfault",
    "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
    "hierarchical_memory_limit", "hierarchical_memsw_limit", "total_cache", "total_rss", "total_rss_huge",
    "total_mapped_file", "total_dirty", "total_writeback", "total_pgpgin", "total_pgpgout", "total_pgfault",
    "total_pgmajfault", "total_inactive_anon", "total_active_anon", "total_inactive_file", "total_active_file",
    "total_unevictable",
)

#: memory_stats.stats keys on cgroup v2 (moby statsV2), from memory.stat.
V2_MEMORY_KEYS = (
    "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty", "file_writeback",
    "anon_thp", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
    "slab_reclaimable", "slab_unreclaimable", "pgfault", "pgmajfault", "workingset_refault",
    "workingset_activate", "workingset_nodereclaim", "pgrefill", "pgscan", "pgsteal", "pgactivate",
    "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc",
)

#: The blkio fields of Docker's BlkioStats, in its order.
BLKIO_FIELDS = (
    "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
    "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive",
)

_NET_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors",
               "tx_dropped")


# ---------------------------------------------------------------------------
# Pure assembly
# ---------------------------------------------------------------------------


def empty_cpu() -> dict[str, Any]:
    """A zero ``CPUStats`` as Go marshals it (omitempty fields left out)."""
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def cpu_stats(cg: cgroups.CgroupStats, system_usage: int, online_cpus: int) -> dict[str, Any]:
    """``cpu_stats`` of a sample (per-CPU usage only on cgroup v1, as Docker)."""
    usage: dict[str, Any] = {"total_usage": cg.cpu_total}
    if cg.version == 1 and cg.cpu_percpu:
        usage["percpu_usage"] = list(cg.cpu_percpu)
    usage["usage_in_kernelmode"] = cg.cpu_system
    usage["usage_in_usermode"] = cg.cpu_user
    out: dict[str, Any] = {"cpu_usage": usage}
    if system_usage:
        out["system_cpu_usage"] = system_usage
    if online_cpus:
        out["online_cpus"] = online_cpus
    out["throttling_data"] = {"periods": cg.throttle_periods, "throttled_periods": cg.throttled_periods,
                              "throttled_time": cg.throttled_time}
    return out


def memory_stats(cg: cgroups.CgroupStats, machine_memory: int) -> dict[str, Any]:
    """``memory_stats``: usage, max_usage and failcnt (v1), the raw stats map, and the
    limit, which is the machine's memory when the cgroup's is larger (unlimited)."""
    keys = V1_MEMORY_KEYS if cg.version == 1 else V2_MEMORY_KEYS
    raw = {k: cg.memory_stat.get(k, 0) for k in sorted(keys)}  # Go sorts map keys
    if cg.version == 1:
        limit = cg.memory_stat.get("hierarchical_memory_limit", cg.memory_limit or 0)
    else:
        limit = cg.memory_limit if cg.memory_limit is not None else 2**64 - 1
    if machine_memory and limit > machine_memory:
        limit = machine_memory
    out: dict[str, Any] = {}
    if cg.memory_usage:
        out["usage"] = cg.memory_usage
    if cg.version == 1 and cg.memory_max_usage:
        out["max_usage"] = cg.memory_max_usage
    out["stats"] = raw
    if cg.memory_failcnt:
        out["failcnt"] = cg.memory_failcnt
    if limit:
        out["limit"] = limit
    return out


def blkio_stats(cg: cgroups.CgroupStats) -> dict[str, Any]:
    """``blkio_stats``: every field on v1 (``[]`` when empty, as moby copies them);
    only ``io_service_bytes_recursive`` on v2 (``null`` when no device was used)."""
    out: dict[str, Any] = {}
    for name in BLKIO_FIELDS:
        entries = cg.blkio.get(name)
        if cg.version == 1:
            out[name] = list(entries or [])
        else:
            out[name] = list(entries) if entries else None
    return out


def pids_stats(cg: cgroups.CgroupStats) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cg.pids_current:
        out["current"] = cg.pids_current
    if cg.pids_limit:
        out["limit"] = cg.pids_limit
    return out


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    """``/proc/<pid>/net/dev`` → Docker's ``networks`` (per interface, ``lo`` excluded)."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        name = name.strip()
        if not sep or not name or name == "lo":
            continue
        v = rest.split()
        if len(v) < 16:
            continue
        try:
            rx = [int(x) for x in v[0:4]]
            tx = [int(x) for x in v[8:12]]
        except ValueError:
            continue
        out[name] = dict(zip(_NET_FIELDS, rx + tx))
    return out


def frame(name: str, cid: str, read_ns: int, cg: cgroups.CgroupStats, system_usage: int, online_cpus: int,
          machine_memory: int, networks: dict[str, dict[str, int]] | None = None,
          previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """One ``StatsJSON`` object, keys in Docker's order.

    ``previous`` is the previous frame of the same stream: its ``read`` and
    ``cpu_stats`` become this one's ``preread`` and ``precpu_stats`` (zero when None).
    """
    out: dict[str, Any] = {
        "read": format_rfc3339nano_ns(read_ns),
        "preread": previous["read"] if previous else ZERO_TIME,
        "pids_stats": pids_stats(cg),
        "blkio_stats": blkio_stats(cg),
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_stats(cg, system_usage, online_cpus),
        "precpu_stats": previous["cpu_stats"] if previous else empty_cpu(),
        "memory_stats": memory_stats(cg, machine_memory),
        "name": name,
        "id": cid,
    }
    if networks:
        out["networks"] = networks
    return out


def empty_frame(name: str, cid: str) -> dict[str, Any]:
    """What Docker answers for a container that is not running (``stream=false``)."""
    return {
        "read": ZERO_TIME, "preread": ZERO_TIME, "pids_stats": {},
        "blkio_stats": {name_: None for name_ in BLKIO_FIELDS}, "num_procs": 0, "storage_stats": {},
        "cpu_stats": empty_cpu(), "precpu_stats": empty_cpu(), "memory_stats": {}, "name": name, "id": cid,
    }


# ---------------------------------------------------------------------------
# Sampling a live container
# ---------------------------------------------------------------------------


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def machine_memory() -> int:
    """The host's memory in bytes (the limit shown for unlimited containers)."""
    return cgroups.parse_meminfo_total(_read_text("/proc/meminfo") or "")


def system_cpu() -> tuple[int, int]:
    """(host CPU time in ns, online CPUs) from /proc/stat; (0, 0) if unreadable."""
    try:
        return cgroups.parse_proc_stat(_read_text("/proc/stat") or "")
    except ValueError:
        return 0, 0


def sample(c: Container, cgroup_parent: str, previous: dict[str, Any] | None = None,
           memory_total: int | None = None) -> dict[str, Any] | None:
    """A frame for running container ``c`` (blocking), or None if its cgroup is gone."""
    read_ns = time.time_ns()
    try:
        cg = cgroups.read(cgroup_parent, c.id)
    except cgroups.CgroupGone:
        return None
    system_usage, online = system_cpu()
    networks = None
    pid = int(c.state.get("Pid") or 0)
    if pid and c.host_config.get("NetworkMode") != "host":
        text = _read_text(f"/proc/{pid}/net/dev")
        if text:
            networks = parse_net_dev(text)
    return frame(c.name, c.id, read_ns, cg, system_usage, online,
                 machine_memory() if memory_total is None else memory_total, networks, previous)


async def stats_stream(c: Container, cgroup_parent: str, *, stream: bool, one_shot: bool,
                       exists: Callable[[], bool], closed: Callable[[], bool] = lambda: False,
                       interval: float = INTERVAL) -> AsyncIterator[dict[str, Any]]:
    """The frames ``GET /containers/{id}/stats`` sends (see the module docstring).

    ``exists`` tells whether the container still exists (the stream ends when it
    does not); ``closed`` whether the client went away.
    """
    memory_total = await asyncio.to_thread(machine_memory)
    live = c.running and not c.state.get("Restarting")
    if not stream:
        if not live:
            yield empty_frame(c.name, c.id)
            return
        first = await asyncio.to_thread(sample, c, cgroup_parent, None, memory_total)
        if one_shot or first is None:
            yield first if first is not None else empty_frame(c.name, c.id)
            return
        await asyncio.sleep(interval)
        second = await asyncio.to_thread(sample, c, cgroup_parent, first, memory_total) if c.running else None
        # The container stopped meanwhile: the sample we have is still the truth.
        yield second if second is not None else first
        return
    previous: dict[str, Any] | None = None
    while exists() and not closed():
        if c.running:
            current = await asyncio.to_thread(sample, c, cgroup_parent, previous, memory_total)
            if current is not None:
                previous = current
                yield current
        else:
            previous = None  # a restarted container starts a new series, as its counters do
        await asyncio.sleep(interval)
