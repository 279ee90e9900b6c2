"""``docker update``: change a container's resources and restart policy.

As moby's ``ContainerUpdate``: the request body (a ``Resources`` object plus
``RestartPolicy``) is validated like the resources of a new container
(:func:`validate`, InvalidParameter), then merged into the stored HostConfig
field by field, a zero value meaning "unchanged" (:func:`merge`, moby's
``UpdateContainer``; conflicts are Conflict). A running container gets the new
limits at once through ``runc update`` (:func:`runtime_resources`, moby's
``toContainerdResources``); a stopped one when it next starts. If the runtime
refuses, the previous HostConfig is kept.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

from .records import Container
from ...rules.errors import Conflict, EngineError, InvalidParameter

MIN_MEMORY = 6 * 1024 * 1024

#: Resources fields an update may change (moby's UpdateContainer), in its order.
UPDATABLE = ("BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems",
             "Memory", "MemorySwap", "MemoryReservation", "KernelMemory", "CpuRealtimePeriod",
             "CpuRealtimeRuntime", "PidsLimit")

_INT_FIELDS = ("BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "Memory", "MemorySwap",
               "MemoryReservation", "KernelMemory", "CpuRealtimePeriod", "CpuRealtimeRuntime")
_CPUSET_RE = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(f"invalid {key}: must be an integer")
    return value


def parse_cpu_list(text: str) -> set[int]:
    """``0-2,4`` → {0, 1, 2, 4} (ValueError when malformed)."""
    out: set[int] = set()
    text = text.strip()
    if not text:
        return out
    if not _CPUSET_RE.match(text):
        raise ValueError(text)
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _online(path: str) -> set[int] | None:
    try:
        with open(path, encoding="ascii") as f:
            return parse_cpu_list(f.read())
    except (OSError, ValueError):
        return None


def validate(body: dict[str, Any], ncpu: int | None = None, online_cpus: set[int] | None = None,
             online_mems: set[int] | None = None) -> list[str]:
    """moby's checks of an update's resources (``verifyPlatformContainerResources``
    with ``update=true``) and restart policy; returns warnings.

    ``ncpu``/``online_*`` default to the host's. Raises InvalidParameter with
    Docker's messages.
    """
    if not isinstance(body, dict):
        raise InvalidParameter("invalid JSON: expected an object")
    v = {k: _int(body, k) for k in _INT_FIELDS}
    if v["Memory"] and v["Memory"] < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if v["Memory"] > 0 and v["MemorySwap"] > 0 and v["MemorySwap"] < v["Memory"]:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage")
    if 0 < v["MemoryReservation"] < MIN_MEMORY:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    if v["Memory"] > 0 and v["MemoryReservation"] > 0 and v["Memory"] < v["MemoryReservation"]:
        raise InvalidParameter("Minimum memory limit can not be less than memory reservation limit, see usage")
    if v["NanoCpus"] > 0 and v["CpuPeriod"] > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if v["NanoCpus"] > 0 and v["CpuQuota"] > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    ncpu = ncpu or os.cpu_count() or 1
    if v["NanoCpus"] < 0 or v["NanoCpus"] > ncpu * 10**9:
        raise InvalidParameter(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
    if v["CpuPeriod"] and not 1000 <= v["CpuPeriod"] <= 1000000:
        raise InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if 0 < v["CpuQuota"] < 1000:
        raise InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if v["BlkioWeight"] and not 10 <= v["BlkioWeight"] <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")
    for key, what, nodes, path in (("CpusetCpus", "cpus", online_cpus, "/sys/devices/system/cpu/online"),
                                   ("CpusetMems", "mems", online_mems, "/sys/devices/system/node/online")):
        value = body.get(key) or ""
        if not value:
            continue
        try:
            wanted = parse_cpu_list(str(value))
        except ValueError:
            raise InvalidParameter(f"Invalid value {value} for cpuset {what}") from None
        available = nodes if nodes is not None else _online(path)
        if available is not None and not wanted <= available:
            label = "CPUs" if what == "cpus" else "memory nodes"
            raise InvalidParameter(f"Requested {label} are not available - requested {value}, available: "
                                   + ",".join(str(n) for n in sorted(available)))
    pids = body.get("PidsLimit")
    if pids is not None and (isinstance(pids, bool) or not isinstance(pids, int)):
        raise InvalidParameter("invalid PidsLimit: must be an integer")
    policy = body.get("RestartPolicy") or {}
    if not isinstance(policy, dict):
        raise InvalidParameter("invalid RestartPolicy: must be an object")
    name = policy.get("Name") or ""
    retries = policy.get("MaximumRetryCount") or 0
    if name in ("always", "unless-stopped", "no"):
        if retries:
            msg = "invalid restart policy: maximum retry count can only be used with 'on-failure'"
            raise InvalidParameter(msg + (" and cannot be negative" if retries < 0 else ""))
    elif name == "on-failure":
        if retries < 0:
            raise InvalidParameter("invalid restart policy: maximum retry count cannot be negative")
    elif name:
        raise InvalidParameter(f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
                               "'on-failure', or 'unless-stopped'")
    return []


def effective_swap(hc: dict[str, Any]) -> int:
    """The memory+swap limit in force: Docker stores twice the memory limit when a
    container is created with ``--memory`` alone, and so behaves as if it had."""
    swap = int(hc.get("MemorySwap") or 0)
    memory = int(hc.get("Memory") or 0)
    if swap == 0 and memory > 0:
        return 2 * memory
    return swap


def merge(hc: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A new HostConfig: ``hc`` with the non-zero fields of the update ``body``.

    Raises Conflict with moby's message for conflicting CPU settings, a memory
    limit above the memory+swap limit in force, or a restart policy on an
    auto-removed container.
    """
    out = copy.deepcopy(hc)
    new = {k: _int(body, k) for k in _INT_FIELDS}
    if new["NanoCpus"] > 0 and (hc.get("CpuPeriod") or 0) > 0:
        raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
    if new["NanoCpus"] > 0 and (hc.get("CpuQuota") or 0) > 0:
        raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
    if new["CpuPeriod"] > 0 and (hc.get("NanoCpus") or 0) > 0:
        raise Conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
    if new["CpuQuota"] > 0 and (hc.get("NanoCpus") or 0) > 0:
        raise Conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
    for key in ("BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota"):
        if new[key]:
            out[key] = new[key]
    for key in ("CpusetCpus", "CpusetMems"):
        if body.get(key):
            out[key] = body[key]
    if new["Memory"]:
        swap = effective_swap(hc)
        if swap > 0 and new["Memory"] > swap and new["MemorySwap"] == 0:
            raise Conflict("Memory limit should be smaller than already set memoryswap limit, update the "
                           "memoryswap at the same time")
        out["MemorySwap"] = swap  # what Docker would have stored at create
        out["Memory"] = new["Memory"]
    for key in ("MemorySwap", "MemoryReservation", "KernelMemory", "CpuRealtimePeriod", "CpuRealtimeRuntime"):
        if new[key]:
            out[key] = new[key]
    if body.get("PidsLimit") is not None:
        pids = int(body["PidsLimit"])
        out["PidsLimit"] = pids if pids > 0 else 0
    policy = body.get("RestartPolicy") or {}
    if policy.get("Name"):
        if hc.get("AutoRemove") and policy["Name"] != "no":
            raise Conflict("Restart policy cannot be updated because AutoRemove is enabled for the container")
        out["RestartPolicy"] = {"Name": policy["Name"], "MaximumRetryCount": int(policy.get("MaximumRetryCount") or 0)}
    return out


def runtime_resources(hc: dict[str, Any], pids_changed: bool = True) -> dict[str, Any]:
    """OCI ``LinuxResources`` for ``runc update`` from a HostConfig (moby's
    ``toContainerdResources``): zero values mean "leave as is" to runc."""
    res: dict[str, Any] = {}
    if hc.get("BlkioWeight"):
        res["blockIO"] = {"weight": int(hc["BlkioWeight"])}
    cpu: dict[str, Any] = {}
    if hc.get("CpusetCpus"):
        cpu["cpus"] = hc["CpusetCpus"]
    if hc.get("CpusetMems"):
        cpu["mems"] = hc["CpusetMems"]
    if hc.get("CpuShares"):
        cpu["shares"] = int(hc["CpuShares"])
    period = quota = 0
    if hc.get("NanoCpus"):
        period = 100000  # 100 ms, as Docker
        quota = int(hc["NanoCpus"]) * period // 10**9
    if quota == 0 and hc.get("CpuQuota"):
        quota = int(hc["CpuQuota"])
    if period == 0 and hc.get("CpuPeriod"):
        period = int(hc["CpuPeriod"])
    cpu["period"] = period
    cpu["quota"] = quota
    res["cpu"] = cpu
    memory: dict[str, Any] = {}
    if hc.get("Memory"):
        memory["limit"] = int(hc["Memory"])
    if hc.get("MemoryReservation"):
        memory["reservation"] = int(hc["MemoryReservation"])
    if int(hc.get("MemorySwap") or 0) > 0:
        memory["swap"] = int(hc["MemorySwap"])
    res["memory"] = memory
    if pids_changed and hc.get("PidsLimit") is not None:
        pids = int(hc["PidsLimit"])
        # The API takes 0 and negative values for "unlimited"; runc wants -1.
        res["pids"] = {"limit": pids if pids > 0 else -1}
    return res


async def update(lifecycle: Any, c: Container, body: dict[str, Any]) -> list[str]:
    """Apply an update body to ``c`` (see the module docstring); return warnings.

    Raises InvalidParameter for invalid values, Conflict (prefixed "Cannot update
    container <id>: ") for conflicting ones or a container being removed, and
    EngineError when the runtime refuses the new limits.
    """
    warnings = validate(body)
    async with c.lock:
        if c.status in ("removing", "dead"):
            raise Conflict(f"Cannot update container {c.id}: container is marked for removal and cannot be "
                           "\"update\"")
        try:
            new = merge(c.host_config, body)
        except Conflict as exc:
            raise Conflict(f"Cannot update container {c.id}: {exc}") from None
        old = c.doc["HostConfig"]
        c.doc["HostConfig"] = new
        if c.running and not c.state.get("Restarting"):
            try:
                await lifecycle.runtime.update(c.id, runtime_resources(new, body.get("PidsLimit") is not None))
            except EngineError as exc:
                c.doc["HostConfig"] = old
                msg = str(exc)
                prefix = f"cannot update container {c.id}: "
                if msg.lower().startswith(prefix):
                    msg = msg[len(prefix):]
                raise EngineError(f"Cannot update container {c.id}: {msg}") from None
        lifecycle.containers.save(c)
    lifecycle.events.publish("container", "update", c.id, lifecycle.attributes(c))
    return warnings
