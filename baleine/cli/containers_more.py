"""Container commands: top, stats, port, cp, export, update.

Output, flags, errors and exit codes follow docker/cli 28: ``top`` prints ps'
table (tabwriter min width 20); ``stats`` computes CPU and memory like
``stats_helpers.go`` and redraws in place while streaming; ``cp`` implements the
client half of ``docker cp`` (moby ``pkg/archive`` copy rules: trailing ``/.``,
renaming, creating the destination) on top of the archive endpoints; ``port``
reads inspect's ``NetworkSettings.Ports``; ``export`` refuses a terminal;
``update`` sends a Resources object.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import stat
import sys
import threading
import time
from typing import Any, BinaryIO

from ..client import APIError
from . import formatting
from .context import CLIError, Context, Parser

# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _args_error(command: str, usage: str, what: str, run_or_see: str = "Run") -> CLIError:
    """docker/cli's positional-argument errors (cli/required.go), exit status 1."""
    return CLIError(f"baleine: 'baleine {command}' requires {what}\n\nUsage:  baleine {command} {usage}\n\n"
                    f"{run_or_see} 'baleine {command} --help' for more information", 1)


def _flag_error(command: str, flag: str, value: str, err: object) -> CLIError:
    """pflag's error for a flag value it cannot parse (exit status 125)."""
    return CLIError(f'invalid argument "{value}" for "{flag}" flag: {err}\nSee \'baleine {command} --help\'.', 125)


def _go_errno(err: OSError) -> str:
    """An OSError's text as Go prints syscall errors ("no such file or directory")."""
    text = err.strerror or str(err)
    return text[:1].lower() + text[1:]


def _api_message(exc: APIError) -> str:
    return f"Error response from daemon: {exc.message}"


# ---------------------------------------------------------------------------
# top
# ---------------------------------------------------------------------------

TOP_USAGE = "CONTAINER [ps OPTIONS]"


def top(ctx: Context, argv: list[str]) -> int:
    """``baleine top CONTAINER [ps OPTIONS]``: flags end at the container name, so
    everything after it goes to ps."""
    if argv and argv[0] in ("-h", "--help"):
        Parser("top", TOP_USAGE, "Display the running processes of a container").parse_args(["--help"])
    if argv and argv[0].startswith("-") and argv[0] != "-":
        Parser("top", TOP_USAGE).parse_args([argv[0]])  # docker's "unknown flag" error
    if not argv:
        raise _args_error("top", TOP_USAGE, "at least 1 argument", "See")
    name, ps_args = argv[0], argv[1:]
    with ctx.api():
        result = ctx.client.containers.top(name, " ".join(ps_args) if ps_args else None)
    lines = ["\t".join(result.get("Titles") or [])]
    lines += ["\t".join(proc) for proc in result.get("Processes") or []]
    sys.stdout.write(formatting.tabwrite("\n".join(lines) + "\n", minwidth=20, padding=3))
    return 0


# ---------------------------------------------------------------------------
# port
# ---------------------------------------------------------------------------

PORT_USAGE = "CONTAINER [PRIVATE_PORT[/PROTO]]"


def natural_less(a: str, b: str) -> bool:
    """fvbommel/sortorder ``NaturalLess``: digit runs compare as numbers."""
    i = j = 0
    while i < len(a) and j < len(b):
        ca, cb = a[i], b[j]
        da, db = ca.isdigit() and ca.isascii(), cb.isdigit() and cb.isascii()
        if da != db:
            return da
        if not da:
            if ca != cb:
                return ca.encode() < cb.encode()
            i += 1
            j += 1
            continue
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        nz_a, nz_b = i, j
        while i < len(a) and a[i].isdigit() and a[i].isascii():
            i += 1
        while j < len(b) and b[j].isdigit() and b[j].isascii():
            j += 1
        if i - nz_a != j - nz_b:
            return i - nz_a < j - nz_b
        if a[nz_a:i] != b[nz_b:j]:
            return a[nz_a:i] < b[nz_b:j]
        if nz_a != nz_b:
            return nz_a < nz_b
    return len(a) < len(b)


def _natural_sorted(items: list[str]) -> list[str]:
    return sorted(items, key=functools.cmp_to_key(lambda x, y: -1 if natural_less(x, y) else
                                                  (1 if natural_less(y, x) else 0)))


def _join_host_port(host: str, port: str) -> str:
    """Go's ``net.JoinHostPort``: IPv6 addresses in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parse_uint16(text: str) -> str | None:
    """Go's ``strconv.ParseUint(s, 10, 16)`` error text, or None when valid."""
    if not text or not text.isascii() or not text.isdigit():
        return f'strconv.ParseUint: parsing "{text}": invalid syntax'
    if int(text) > 65535:
        return f'strconv.ParseUint: parsing "{text}": value out of range'
    return None


def port(ctx: Context, argv: list[str]) -> int:
    p = Parser("port", PORT_USAGE, "List port mappings or a specific mapping for the container")
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    o = p.parse_args(argv)
    if not 1 <= len(o.args) <= 2:
        raise _args_error("port", PORT_USAGE, "at least 1 and at most 2 arguments")
    name = o.args[0]
    with ctx.api():
        info = ctx.client.containers.inspect(name)
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    out: list[str] = []
    if len(o.args) == 2:
        spec = o.args[1]
        number, _, proto = spec.partition("/")
        err = _parse_uint16(number)
        if err:
            raise CLIError(f"Error: invalid port ({number}): {err}", 1)
        frontends = ports.get(f"{number}/{proto or 'tcp'}")
        if not frontends:
            raise CLIError(f"Error: No public port '{spec}' published for {name}", 1)
        out = [_join_host_port(f.get("HostIp", ""), f.get("HostPort", "")) for f in frontends]
    else:
        for private, frontends in ports.items():
            for f in frontends or []:
                out.append(f"{private} -> {_join_host_port(f.get('HostIp', ''), f.get('HostPort', ''))}")
    if out:
        print("\n".join(_natural_sorted(out)))
    return 0


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------


def validate_output_path(path: str) -> None:
    """docker/cli ``ValidateOutputPath``: the directory must exist, and the path,
    if it exists, must be a directory or a regular file. Raises CLIError."""
    from ..rules.copypaths import go_clean, go_dir

    directory = go_dir(go_clean(path))
    if directory not in ("", ".") and not os.path.exists(directory):
        raise CLIError(f'invalid output path: directory "{directory}" does not exist', 1)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as err:
        raise CLIError(f"stat {path}: {_go_errno(err)}", 1) from None
    # Only devices are refused: Go never marks a Linux file "irregular", so FIFOs
    # and sockets pass docker's check.
    if stat.S_ISBLK(st.st_mode) or stat.S_ISCHR(st.st_mode):
        raise CLIError(f'invalid output path: "{path}" must be a directory or a regular file: got a device', 1)


def validate_destination(path: str) -> None:
    """moby/sys atomicwriter's checks of an output file (``export -o``): its
    directory must exist, and the path be a regular file or nothing. CLIError."""
    if not path:
        raise CLIError("file name is empty", 1)
    directory = os.path.dirname(path)
    if directory not in ("", ".", ".."):
        try:
            st = os.stat(directory)
        except OSError as err:
            raise CLIError(f"invalid output path: stat {directory}: {_go_errno(err)}", 1) from None
        if not stat.S_ISDIR(st.st_mode):
            raise CLIError(f"invalid output path: stat {directory}: not a directory", 1)
    try:
        mode = os.lstat(path).st_mode  # as os.Rename sees it: links are not followed
    except FileNotFoundError:
        return
    except OSError as err:
        raise CLIError(f"failed to stat output path: lstat {path}: {_go_errno(err)}", 1) from None
    if stat.S_ISREG(mode) and not mode & 0o7000:
        return
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link directly"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device file"), (stat.S_ISBLK, "a block device file")):
        if test(mode):
            raise CLIError(f"cannot write to {what}", 1)
    what = "a setuid file" if mode & stat.S_ISUID else "a setgid file" if mode & stat.S_ISGID else "a sticky bit file"
    raise CLIError(f"cannot write to {what}", 1)


def write_atomically(path: str, resp: Any) -> None:
    """atomicwriter: write to ``.tmp-<name>`` beside ``path``, make it 0600, and
    rename it over ``path`` once something was written; remove it otherwise."""
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path), dir=directory)
    written = False
    try:
        with os.fdopen(fd, "wb") as f:
            while chunk := resp.read1(1 << 20):
                f.write(chunk)
                written = True
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        if written:
            os.rename(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def export(ctx: Context, argv: list[str]) -> int:
    p = Parser("export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive")
    p.add_argument("-o", "--output", default="", help="Write to a file, instead of STDOUT")
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    o = p.parse_args(argv)
    if len(o.args) != 1:
        raise _args_error("export", "[OPTIONS] CONTAINER", "1 argument")
    if not o.output and sys.stdout.isatty():
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1)
    if o.output:
        try:
            validate_destination(o.output)
        except CLIError as exc:
            raise CLIError(f"failed to export container: {exc.message}", 1) from None
    with ctx.api():
        resp = ctx.client.containers.export(o.args[0])
    if o.output:
        write_atomically(o.output, resp)
        return 0
    out = sys.stdout.buffer
    while chunk := resp.read1(1 << 20):
        out.write(chunk)
    out.flush()
    return 0


# ---------------------------------------------------------------------------
# update
# ---------------------------------------------------------------------------

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
    a("--kernel-memory", help=argparse.SUPPRESS)
    a("containers", nargs="*", metavar="CONTAINER")
    o = p.parse_args(argv)
    if not o.containers:
        raise _args_error("update", UPDATE_USAGE, "at least 1 argument", "See")
    from ..rules.errors import InvalidParameter
    from ..rules.units import parse_bytes, parse_cpus

    def integer(flag: str, value: str | None, bits: int = 64, unsigned: bool = False) -> int:
        if value is None:
            return 0
        kind = "ParseUint" if unsigned else "ParseInt"
        try:
            n = int(value, 10)
        except ValueError:
            raise _flag_error("update", flag, value, f'strconv.{kind}: parsing "{value}": invalid syntax') from None
        lo, hi = (0, 2**bits - 1) if unsigned else (-(2**(bits - 1)), 2**(bits - 1) - 1)
        if not lo <= n <= hi:
            raise _flag_error("update", flag, value, f'strconv.{kind}: parsing "{value}": value out of range')
        return n

    def size(flag: str, value: str | None, swap: bool = False) -> int:
        if value is None:
            return 0
        if swap and value == "-1":
            return -1
        try:
            return parse_bytes(value)
        except InvalidParameter as exc:
            raise _flag_error("update", flag, value, exc) from None

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
            raise _flag_error("update", "--cpus", o.cpus, exc) from None
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


# ---------------------------------------------------------------------------
# stats
# ---------------------------------------------------------------------------


def calculate_cpu_percent_unix(previous: dict[str, Any], current: dict[str, Any]) -> float:
    """docker/cli ``calculateCPUPercentUnix``."""
    cpu_delta = float((current.get("cpu_usage") or {}).get("total_usage", 0)) - float(
        (previous.get("cpu_usage") or {}).get("total_usage", 0))
    system_delta = float(current.get("system_cpu_usage", 0)) - float(previous.get("system_cpu_usage", 0))
    online = float(current.get("online_cpus", 0))
    if online == 0.0:
        online = float(len((current.get("cpu_usage") or {}).get("percpu_usage") or []))
    if system_delta > 0.0 and cpu_delta > 0.0:
        return (cpu_delta / system_delta) * online * 100.0
    return 0.0


def calculate_mem_usage_no_cache(mem: dict[str, Any]) -> float:
    """docker/cli ``calculateMemUsageUnixNoCache``: usage minus inactive file pages."""
    usage = int(mem.get("usage", 0))
    stats = mem.get("stats") or {}
    v = stats.get("total_inactive_file")
    if v is not None and v < usage:
        return float(usage - v)
    v = stats.get("inactive_file", 0)
    if v < usage:
        return float(usage - v)
    return float(usage)


def calculate_block_io(blkio: dict[str, Any]) -> tuple[int, int]:
    """docker/cli ``calculateBlockIO``: bytes read and written."""
    read = write = 0
    for entry in blkio.get("io_service_bytes_recursive") or []:
        op = entry.get("op") or ""
        if op[:1] in ("r", "R"):
            read += int(entry.get("value", 0))
        elif op[:1] in ("w", "W"):
            write += int(entry.get("value", 0))
    return read, write


def calculate_network(networks: dict[str, Any] | None) -> tuple[float, float]:
    rx = tx = 0.0
    for v in (networks or {}).values():
        rx += float(v.get("rx_bytes", 0))
        tx += float(v.get("tx_bytes", 0))
    return rx, tx


class StatsEntry:
    """One container's line of ``docker stats`` (formatter_stats.go ``Stats``)."""

    def __init__(self, container: str) -> None:
        self.container = container
        self.lock = threading.Lock()
        self.name = ""
        self.id = ""
        self.cpu = self.memory = self.memory_limit = self.memory_percent = 0.0
        self.net_rx = self.net_tx = self.block_read = self.block_write = 0.0
        self.pids = 0
        self.invalid = False
        self.error: str | None = None

    def set_from(self, v: dict[str, Any]) -> None:
        """SetStatistics from one stats JSON object."""
        mem = v.get("memory_stats") or {}
        usage = calculate_mem_usage_no_cache(mem)
        limit = float(mem.get("limit", 0))
        rx, tx = calculate_network(v.get("networks"))
        br, bw = calculate_block_io(v.get("blkio_stats") or {})
        with self.lock:
            self.name, self.id = v.get("name", ""), v.get("id", "")
            self.cpu = calculate_cpu_percent_unix(v.get("precpu_stats") or {}, v.get("cpu_stats") or {})
            self.memory, self.memory_limit = usage, limit
            self.memory_percent = usage / limit * 100.0 if limit else 0.0
            self.net_rx, self.net_tx, self.block_read, self.block_write = rx, tx, float(br), float(bw)
            self.pids = int((v.get("pids_stats") or {}).get("current", 0))
            self.invalid = False

    def set_error(self, message: str | None, reset: bool = False) -> None:
        with self.lock:
            self.error = message
            if message is not None:
                self.invalid = True
            if reset:
                self.cpu = self.memory = self.memory_limit = self.memory_percent = 0.0
                self.net_rx = self.net_tx = self.block_read = self.block_write = 0.0
                self.pids = 0

    def row(self, trunc: bool) -> dict[str, str]:
        """The template fields (formatter_stats.go ``statsContext``)."""
        with self.lock:
            invalid = self.invalid
            return {
                "Container": self.container,
                "Name": self.name[1:] if len(self.name) > 1 else "--",
                "ID": self.id[:12] if trunc else self.id,
                "CPUPerc": "--" if invalid else formatting.format_percentage(self.cpu),
                "MemUsage": "-- / --" if invalid else
                formatting.bytes_size(self.memory) + " / " + formatting.bytes_size(self.memory_limit),
                "MemPerc": "--" if invalid else formatting.format_percentage(self.memory_percent),
                "NetIO": "--" if invalid else formatting.human_size(self.net_rx, 3) + " / "
                + formatting.human_size(self.net_tx, 3),
                "BlockIO": "--" if invalid else formatting.human_size(self.block_read, 3) + " / "
                + formatting.human_size(self.block_write, 3),
                "PIDs": "--" if invalid else str(self.pids),
            }


class StatsCollector:
    """The containers being watched, each with a collecting thread (stats_helpers.go)."""

    def __init__(self, ctx: Context, stream: bool) -> None:
        self.ctx = ctx
        self.stream = stream
        self.lock = threading.Lock()
        self.entries: list[StatsEntry] = []
        self.pending: list[threading.Event] = []  # one per entry until its first result

    def add(self, container: str) -> None:
        with self.lock:
            if any(e.container == container for e in self.entries):
                return
            entry = StatsEntry(container)
            first = threading.Event()
            self.entries.append(entry)
            self.pending.append(first)
        threading.Thread(target=self._collect, args=(entry, first), daemon=True).start()

    def remove(self, container: str) -> None:
        with self.lock:
            self.entries = [e for e in self.entries if e.container != container]

    def snapshot(self) -> list[StatsEntry]:
        with self.lock:
            return list(self.entries)

    def wait_first(self) -> None:
        with self.lock:
            pending = list(self.pending)
        for ev in pending:
            ev.wait()

    def _collect(self, entry: StatsEntry, first: threading.Event) -> None:
        import queue

        updates: queue.Queue[bool] = queue.Queue()  # True: a result; False: the stream ended

        def reader() -> None:
            try:
                for obj in self.ctx.client.containers.stats(entry.container, stream=self.stream):
                    entry.set_from(obj)
                    entry.set_error(None)
                    updates.put(True)
                    if not self.stream:
                        return
                entry.set_error("EOF")
            except APIError as exc:
                entry.set_error(_api_message(exc))
            except Exception as exc:  # noqa: BLE001 - shown like docker's collection errors
                entry.set_error(str(exc))
            updates.put(False)

        threading.Thread(target=reader, daemon=True).start()
        # As docker: each wait is 2 s; without news the line is zeroed and marked
        # invalid ("timeout waiting for stats"). The first outcome, whatever it
        # is, releases the wait for first results.
        while True:
            try:
                ok = updates.get(timeout=2.0)
            except queue.Empty:
                entry.set_error("timeout waiting for stats", reset=True)
                first.set()
                if not self.stream:
                    return
                continue
            first.set()
            if not ok or not self.stream:
                return


def _stats_events(ctx: Context, collector: StatsCollector, show_all: bool, started: threading.Event) -> None:
    """Follow container events: start (and create with -a) add, die removes (without -a)."""
    try:
        events = ctx.client.system.events(filters=json.dumps({"type": {"container": True}}))
        started.set()
        for ev in events:
            action = ev.get("Action") or ev.get("status") or ""
            cid = ((ev.get("Actor") or {}).get("ID") or ev.get("id") or "")[:12]
            if not cid:
                continue
            if action == "start" or (action == "create" and show_all):
                collector.add(cid)
            elif action == "die" and not show_all:
                collector.remove(cid)
    except Exception:  # noqa: BLE001 - the table keeps going without events
        started.set()


def stats(ctx: Context, argv: list[str]) -> int:
    p = Parser("stats", "[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("--no-stream", action="store_true", help="Disable streaming stats and only pull the first result")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate output")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    o = p.parse_args(argv)
    from . import templates

    collector = StatsCollector(ctx, stream=not o.no_stream)
    show_all = not o.containers
    if show_all:
        started = threading.Event()
        threading.Thread(target=_stats_events, args=(ctx, collector, o.all, started), daemon=True).start()
        started.wait(5)
        with ctx.api():
            listed = ctx.client.containers.list(all=o.all)
        for c in listed:
            collector.add(c["Id"][:12])
        collector.wait_first()
    else:
        for name in o.containers:
            collector.add(name)
        collector.wait_first()
        errors = [e.error for e in collector.snapshot() if e.error]
        if errors:
            raise CLIError("\n".join(errors), 1)
    out = sys.stdout
    while True:
        rows = [e.row(not o.no_trunc) for e in collector.snapshot()]
        try:
            text = formatting.format_list(o.format, rows, formatting.STATS_HEADERS, formatting.DEFAULT_STATS_FORMAT)
        except templates.TemplateError as exc:
            raise CLIError(f"template parsing error: {exc}", 1) from None
        if o.no_stream:
            out.write(text)
            out.flush()
            return 0
        out.write(redraw(text))
        out.flush()
        if not rows and not show_all:
            return 0
        time.sleep(0.5)


def redraw(text: str) -> str:
    """docker 28's in-place redraw of a streamed table: cursor home and the table,
    then the same lines again each followed by " ESC[K" (erase to end of line), and
    ESC[J (erase below: the table may have shrunk)."""
    first = "\033[H" + text
    return first + "".join(line + " \033[K\n" for line in first.split("\n")) + "\033[J"


# ---------------------------------------------------------------------------
# cp
# ---------------------------------------------------------------------------

CP_USAGE = "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tbaleine cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"
_MODE_DIR = 1 << 31
_MODE_SYMLINK = 1 << 27
_MODE_DEVICE = 1 << 26
_MODE_IRREGULAR = 1 << 19


def split_cp_arg(arg: str) -> tuple[str, str]:
    """docker/cli ``splitCpArg``: ``CONTAINER:PATH``, unless the argument is an
    absolute path or starts with ``.`` (``./file:name``)."""
    if arg.startswith("/"):
        return "", arg
    ctr, sep, path = arg.partition(":")
    if not sep or ctr.startswith("."):
        return "", arg
    return ctr, path


def resolve_local_path(path: str) -> str:
    """Absolute, cleaned, with the trailing ``/`` or ``/.`` of ``path`` kept."""
    from ..rules.copypaths import go_clean, preserve_trailing_dot_or_separator

    return preserve_trailing_dot_or_separator(go_clean(os.path.join(os.getcwd(), path)), path)


def eval_symlinks(path: str) -> str:
    """Go's ``filepath.EvalSymlinks``: every link resolved; CLIError like Go's
    ``lstat <path>: no such file or directory`` for a missing component."""
    from ..rules.copypaths import go_clean

    parts = [p for p in go_clean(path).split("/") if p]
    current = "/"
    for comp in parts:
        candidate = os.path.join(current, comp)
        try:
            os.lstat(candidate)
        except OSError as err:
            raise CLIError(f"lstat {candidate}: {_go_errno(err)}", 1) from None
        current = os.path.realpath(candidate)
    return go_clean(current)


def copy_info_source_path(path: str, follow_link: bool) -> Any:
    """moby ``CopyInfoSourcePath`` (with ``ResolveHostSourcePath``)."""
    from ..rules.copypaths import CopyInfo, go_base, go_split, get_rebase_name, has_trailing_separator

    if follow_link:
        resolved, rebase = get_rebase_name(path, eval_symlinks(path))
    else:
        dir_part, base = go_split(path)
        resolved_dir = eval_symlinks(dir_part or ".")
        resolved = resolved_dir.rstrip("/") + "/" + base
        rebase = go_base(path) if has_trailing_separator(path) and go_base(path) != go_base(resolved) else ""
    try:
        st = os.lstat(resolved)
    except OSError as err:
        raise CLIError(f"lstat {resolved}: {_go_errno(err)}", 1) from None
    return CopyInfo(resolved, True, stat.S_ISDIR(st.st_mode), rebase)


def copy_info_destination_path(path: str) -> Any:
    """moby ``CopyInfoDestinationPath``: the destination with symlinks followed
    (its parent must exist)."""
    from ..rules.copypaths import CopyInfo, go_join, split_path_dir_entry

    original = path
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise CLIError(f"lstat {path}: {_go_errno(err)}", 1) from None
    n = 0
    while st is not None and stat.S_ISLNK(st.st_mode):
        if n > 10:
            raise CLIError(f"too many symlinks in {original}", 1)
        n += 1
        target = os.readlink(path)
        if not target.startswith("/"):
            target = go_join(split_path_dir_entry(path)[0], target)
        path = target
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
    if st is None:
        parent = split_path_dir_entry(path)[0]
        try:
            pst = os.stat(parent)
        except OSError as err:
            raise CLIError(f"stat {parent}: {_go_errno(err)}", 1) from None
        if not stat.S_ISDIR(pst.st_mode):
            raise CLIError("not a directory", 1)
        return CopyInfo(path)
    return CopyInfo(path, True, stat.S_ISDIR(st.st_mode))


class _Counter:
    """A reader counting the bytes that go through it (for the summary line)."""

    def __init__(self, src: Any) -> None:
        self.src = src
        self.total = 0

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n) if n is None or n >= 0 else self.src.read()
        self.total += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


def _pipe_from(produce: Any) -> tuple[BinaryIO, list[BaseException]]:
    """A reader of what ``produce(writer)`` writes in a thread (errors land in the list)."""
    r, w = os.pipe()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with os.fdopen(w, "wb") as out:
                produce(out)
        except BrokenPipeError:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported by the reader's side
            errors.append(exc)

    threading.Thread(target=run, daemon=True).start()
    return os.fdopen(r, "rb"), errors


def rebase_archive(src: Any, renames: list[tuple[str, str]]) -> BinaryIO:
    """moby ``RebaseArchiveEntries`` (applied for each (old, new) in turn): entry
    names, and hard link targets, get their first ``old`` replaced by ``new``."""
    import tarfile

    from ..rules.copypaths import rebase_name

    def produce(out: BinaryIO) -> None:
        with tarfile.open(fileobj=src, mode="r|") as tin, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tout:
            for member in tin:
                for old, new in renames:
                    member.name = rebase_name(member.name, old, new)
                    if member.islnk():
                        member.linkname = rebase_name(member.linkname, old, new)
                tout.addfile(member, tin.extractfile(member) if member.isreg() else None)

    reader, _ = _pipe_from(produce)
    return reader


def _local_error(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename}: {_go_errno(exc)}" if exc.filename else _go_errno(exc)
    return str(exc)


def _container_stat(ctx: Context, container: str, path: str) -> dict[str, Any]:
    """``HEAD /containers/{id}/archive``: the decoded X-Docker-Container-Path-Stat."""
    resp = ctx.client.containers.stat_path(container, path)
    try:
        return _decode_stat(resp.headers.get("x-docker-container-path-stat"))
    finally:
        resp.close()


def _decode_stat(header: str | None) -> dict[str, Any]:
    if not header:
        return {}
    try:
        return json.loads(base64.b64decode(header))
    except ValueError:
        return {}


def _untar_local(content: Any, dest_dir: str) -> None:
    """Extract into a local directory as docker's client does: no chown to the
    archive's owners (files belong to the caller), no directory/non-directory
    replacement."""
    from ..engine.images import layers
    from ..rules.errors import EngineError

    try:
        layers.untar_into(content, dest_dir, owner=(os.getuid(), os.getgid()), no_overwrite_dir_non_dir=True)
    except EngineError as exc:
        raise CLIError(str(exc), 1) from None


def _copy_from_container(ctx: Context, container: str, src_path: str, dst_path: str, follow: bool,
                         quiet: bool) -> int:
    from ..rules.copypaths import (CopyError, CopyInfo, go_join, get_rebase_name, prepare_archive_copy,
                                    split_path_dir_entry)

    if dst_path != "-":
        dst_path = resolve_local_path(dst_path)
    validate_output_path(dst_path)
    rebase = ""
    if follow:
        try:
            with ctx.api():
                st = _container_stat(ctx, container, src_path)
        except CLIError:
            st = {}
        if st and int(st.get("mode", 0)) & _MODE_SYMLINK:
            target = st.get("linkTarget", "")
            if not target.startswith("/"):
                target = go_join(split_path_dir_entry(src_path)[0], target)
            src_path, rebase = get_rebase_name(src_path, target)
    with ctx.api():
        resp = ctx.client.containers.get_archive(container, src_path)
    st = _decode_stat(resp.headers.get("x-docker-container-path-stat"))
    if dst_path == "-":
        out = sys.stdout.buffer
        while chunk := resp.read1(1 << 20):
            out.write(chunk)
        out.flush()
        return 0
    src_info = CopyInfo(src_path, True, bool(int(st.get("mode", 0)) & _MODE_DIR), rebase)
    counter = _Counter(resp)
    content: Any = counter
    renames: list[tuple[str, str]] = []
    if rebase:
        renames.append((split_path_dir_entry(src_path)[1], rebase))
    dst_info = copy_info_destination_path(dst_path)
    try:
        dst_dir, prepared = prepare_archive_copy(src_info, dst_info)
    except CopyError as exc:
        raise CLIError(str(exc), 1) from None
    if prepared:
        renames.append(prepared)
    if renames:
        content = rebase_archive(content, renames)
    _untar_local(content, dst_dir)
    if not quiet:
        # docker 28 means to draw a progress line on stderr, but its terminal test
        # never succeeds there: only this summary shows.
        print(f"Successfully copied {formatting.human_size(counter.total, 3)} to {dst_path}", file=sys.stderr)
    return 0


def _copy_to_container(ctx: Context, container: str, src_path: str, dst_path: str, follow: bool,
                       copy_uid_gid: bool, quiet: bool) -> int:
    from ..engine.images import layers
    from ..rules.copypaths import CopyError, CopyInfo, go_join, prepare_archive_copy, split_path_dir_entry

    if src_path != "-":
        src_path = resolve_local_path(src_path)
    dst_info = CopyInfo(dst_path)
    st: dict[str, Any] = {}
    try:
        with ctx.api():
            st = _container_stat(ctx, container, dst_path)
            if int(st.get("mode", 0)) & _MODE_SYMLINK:
                target = st.get("linkTarget", "")
                if not target.startswith("/"):
                    target = go_join(split_path_dir_entry(dst_path)[0], target)
                dst_info.path = target
                st = {}
                st = _container_stat(ctx, container, target)
    except CLIError as exc:
        # Docker goes on (the parent may exist); a missing container fails the same way below.
        if "No such container" in exc.message:
            raise CLIError(exc.message, 1) from None
    mode = int(st.get("mode", 0))
    if mode & _MODE_DEVICE or mode & _MODE_IRREGULAR:
        kind = "got a device" if mode & _MODE_DEVICE else "got an irregular file"
        raise CLIError(f'destination "{container}:{dst_path}" must be a directory or a regular file: {kind}', 1)
    if st:
        dst_info.exists, dst_info.is_dir = True, bool(mode & _MODE_DIR)
    counter: _Counter
    tar_errors: list[BaseException] = []
    if src_path == "-":
        if not dst_info.is_dir:
            raise CLIError(f'destination "{container}:{dst_path}" must be a directory', 1)
        resolved_dst = dst_info.path
        counter = _Counter(sys.stdin.buffer)
    else:
        src_info = copy_info_source_path(src_path, follow)
        try:
            resolved_dst, rename = prepare_archive_copy(src_info, dst_info)
        except CopyError as exc:
            raise CLIError(str(exc), 1) from None
        src_dir, src_base = split_path_dir_entry(src_info.path)
        # The archive's top entry gets its final name directly (moby rebases it
        # after the fact; the result is the same).
        top = rename[1] if rename else (src_info.rebase_name or src_base)
        include = src_base

        def produce(out: BinaryIO) -> None:
            layers.tar_directory(src_dir, out, include, arcname="." if top == "/" else top)

        reader, tar_errors = _pipe_from(produce)
        counter = _Counter(reader)
    with ctx.api():
        try:
            ctx.client.containers.put_archive(container, resolved_dst, counter, no_overwrite_dir_non_dir=True,
                                              copy_uid_gid=copy_uid_gid)
        finally:
            if tar_errors:  # what broke the archive explains the failure best
                raise CLIError(_local_error(tar_errors[0]), 1)
    if not quiet:
        print(f"Successfully copied {formatting.human_size(counter.total, 3)} to {container}:{dst_info.path}",
              file=sys.stderr)
    return 0


def cp(ctx: Context, argv: list[str]) -> int:
    p = Parser("cp", CP_USAGE, "Copy files/folders between a container and the local filesystem")
    p.add_argument("-a", "--archive", action="store_true", help="Archive mode (copy all uid/gid information)")
    p.add_argument("-L", "--follow-link", action="store_true", help="Always follow symbol link in SRC_PATH")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="Suppress progress output during copy. Progress output is automatically suppressed if no "
                        "terminal is attached")
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    o = p.parse_args(argv)
    if len(o.args) != 2:
        raise _args_error("cp", CP_USAGE, "2 arguments")
    src, dst = o.args
    if src == "":
        raise CLIError("source can not be empty", 1)
    if dst == "":
        raise CLIError("destination can not be empty", 1)
    quiet = o.quiet or not sys.stdout.isatty()
    src_ctr, src_path = split_cp_arg(src)
    dst_ctr, dst_path = split_cp_arg(dst)
    if src_ctr and dst_ctr:
        raise CLIError("copying between containers is not supported", 1)
    if src_ctr:
        return _copy_from_container(ctx, src_ctr, src_path, dst_path, o.follow_link, quiet)
    if dst_ctr:
        return _copy_to_container(ctx, dst_ctr, src_path, dst_path, o.follow_link, o.archive, quiet)
    raise CLIError("must specify at least one container source", 1)
