"""``baleine stats``: live resource usage, computed as docker/cli's
``stats_helpers.go`` (CPU, memory without cache, block and network I/O), redrawn in
place while streaming; with no names, follows container events to add and drop rows."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from ..client import APIError
from . import formatting
from .context import CLIError, Context, Parser
from .usage import api_message


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
                entry.set_error(api_message(exc))
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
    from .. import gotemplate

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
        except gotemplate.TemplateError as exc:
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
