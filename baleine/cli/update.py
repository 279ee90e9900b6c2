"""``baleine update``: change a container's resources and restart policy (docker/cli 28's
flags and pflag errors; sends a Resources object)."""

from __future__ import annotations

import sys
from typing import Any

from .context import CLIError, Context, Parser
from .usage import SUPPRESS, args_error, flag_error


UPDATE_USAGE = "[OPTIONS] CONTAINER [CONTAINER...]"


def _parse_restart(value: str) -> dict[str, Any]:
    """docker/cli ``opts.ParseRestartPolicy``."""
    name, sep, count = value.partition(":")
    if sep and not name:
        raise CLIError("invalid restart policy format: no policy provided before colon", 1)
    policy: dict[str, Any] = {"Name": name, "MaximumRetryCount": 0}
    if count:
        try:
            policy["MaximumRetryCount"] = int(count)
        except ValueError:
            raise CLIError("invalid restart policy format: maximum retry count must be an integer", 1) from None
    return policy


def update(ctx: Context, argv: list[str]) -> int:
    p = Parser("update", UPDATE_USAGE, "Update configuration of one or more containers")
    a = p.add_argument
    a("--blkio-weight", help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)")
    a("--cpu-period", help="Limit CPU CFS (Completely Fair Scheduler) period")
    a("--cpu-quota", help="Limit CPU CFS (Completely Fair Scheduler) quota")
    a("--cpu-rt-period", help="Limit the CPU real-time period in microseconds")
    a("--cpu-rt-runtime", help="Limit the CPU real-time runtime in microseconds")
    a("-c", "--cpu-shares", help="CPU shares (relative weight)")
    a("--cpus", help="Number of CPUs")
    a("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    a("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    a("-m", "--memory", help="Memory limit")
    a("--memory-reservation", help="Memory soft limit")
    a("--memory-swap", help="Swap limit equal to memory plus swap: -1 to enable unlimited swap")
    a("--pids-limit", help="Tune container pids limit (set -1 for unlimited)")
    a("--restart", help="Restart policy to apply when a container exits")
    a("--kernel-memory", help=SUPPRESS)
    a("containers", nargs="*", metavar="CONTAINER")
    o = p.parse_args(argv)
    if not o.containers:
        raise args_error("update", UPDATE_USAGE, "at least 1 argument", "See")
    from ..rules.errors import InvalidParameter
    from ..rules.units import parse_bytes, parse_cpus

    def integer(flag: str, value: str | None, bits: int = 64, unsigned: bool = False) -> int:
        if value is None:
            return 0
        kind = "ParseUint" if unsigned else "ParseInt"
        try:
            n = int(value, 10)
        except ValueError:
            raise flag_error("update", flag, value, f'strconv.{kind}: parsing "{value}": invalid syntax') from None
        lo, hi = (0, 2**bits - 1) if unsigned else (-(2**(bits - 1)), 2**(bits - 1) - 1)
        if not lo <= n <= hi:
            raise flag_error("update", flag, value, f'strconv.{kind}: parsing "{value}": value out of range')
        return n

    def size(flag: str, value: str | None, swap: bool = False) -> int:
        if value is None:
            return 0
        if swap and value == "-1":
            return -1
        try:
            return parse_bytes(value)
        except InvalidParameter as exc:
            raise flag_error("update", flag, value, exc) from None

    given = [k for k, v in vars(o).items() if k != "containers" and v is not None]
    if not given:
        raise CLIError("you must provide one or more flags when using this command", 1)
    if o.kernel_memory is not None:
        print("Flag --kernel-memory has been deprecated, and no longer supported by the kernel", file=sys.stderr)
    nano = 0
    if o.cpus is not None:
        try:
            nano = parse_cpus(o.cpus)
        except InvalidParameter as exc:
            raise flag_error("update", "--cpus", o.cpus, exc) from None
    pids = integer("--pids-limit", o.pids_limit)
    body: dict[str, Any] = {
        "BlkioWeight": integer("--blkio-weight", o.blkio_weight, 16, unsigned=True),
        "CpusetCpus": o.cpuset_cpus or "",
        "CpusetMems": o.cpuset_mems or "",
        "CpuShares": integer("-c, --cpu-shares", o.cpu_shares),
        "Memory": size("-m, --memory", o.memory),
        "MemoryReservation": size("--memory-reservation", o.memory_reservation),
        "MemorySwap": size("--memory-swap", o.memory_swap, swap=True),
        "CpuPeriod": integer("--cpu-period", o.cpu_period),
        "CpuQuota": integer("--cpu-quota", o.cpu_quota),
        "CpuRealtimePeriod": integer("--cpu-rt-period", o.cpu_rt_period),
        "CpuRealtimeRuntime": integer("--cpu-rt-runtime", o.cpu_rt_runtime),
        "NanoCpus": nano,
        # docker sends no pids limit for 0: "unchanged"
        "PidsLimit": pids if pids != 0 else None,
        "RestartPolicy": _parse_restart(o.restart) if o.restart else {"Name": "", "MaximumRetryCount": 0},
    }
    warnings: list[str] = []
    errors: list[str] = []
    for name in o.containers:
        try:
            with ctx.api():
                result = ctx.client.containers.update(name, body)
            print(name)
            warnings.extend(result.get("Warnings") or [])
        except CLIError as exc:
            errors.append(exc.message)
    if warnings:
        print("\n".join(warnings))
    if errors:
        raise CLIError("\n".join(errors), 1)
    return 0
