"""``baleine build`` and ``baleine builder prune``.

``build`` takes docker's flags and a context: a directory (sent as a tar, with
``.dockerignore`` applied and the Dockerfile and ``.dockerignore`` always
included, as the docker CLI does; a Dockerfile outside the context is added
under a private name), ``-`` (a tar on stdin, or a Dockerfile on stdin with an
empty context), or a directory with ``-f -`` (the Dockerfile from stdin).

Output: ``--progress=plain`` prints the builder's classic stream as it comes;
``tty`` (the default on a terminal) keeps one line per step with its status —
cached, running with its latest output lines, done in N s — then the image ID
and tags; ``quiet`` / ``-q`` prints only the image ID. A failed step reports its
exit code and last output lines on stderr, and the command exits with that code
(1 for other errors), as docker does.
"""

from __future__ import annotations

import os
import sys
import time

# Annotations only; base64 and threading are imported where used (the CLI's start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

from ..client.transport import json_dumps
from .context import CLIError, Context, Parser
from .usage import flag_error

BUILD_USAGE = "[OPTIONS] PATH | URL | -"


def build_parser() -> Parser:
    """``build``'s flags (``--rm`` is given its value by :func:`_bare_rm` when alone)."""
    p = Parser("build", BUILD_USAGE, "Build an image from a Dockerfile")
    p.add_argument("path", nargs="?")
    p.add_argument("-t", "--tag", action="append", default=[], help="Name and optionally a tag (name:tag)")
    p.add_argument("-f", "--file", default="", help="Name of the Dockerfile (default: PATH/Dockerfile)")
    p.add_argument("--build-arg", action="append", default=[], help="Set build-time variables")
    p.add_argument("--target", default="", help="Set the target build stage to build")
    p.add_argument("--no-cache", action="store_true", help="Do not use cache when building the image")
    p.add_argument("--pull", action="store_true", help="Always attempt to pull a newer version of the image")
    p.add_argument("--label", action="append", default=[], help="Set metadata for an image")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the build output and print image ID on success")
    p.add_argument("--iidfile", default="", help="Write the image ID to the file")
    p.add_argument("--network", default="", help="Set the networking mode for the RUN instructions during build")
    p.add_argument("--platform", default="", help="Set platform if server is multi-platform capable")
    p.add_argument("--progress", default="auto", help="Set type of progress output (auto, plain, tty, quiet)")
    p.add_argument("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    p.add_argument("--secret", action="append", default=[], help="Secret to expose to the build (id=x,src=path)")
    p.add_argument("--rm", default="true", help="Remove intermediate containers")
    p.add_argument("--force-rm", action="store_true", help="Always remove intermediate containers")
    p.add_argument("-m", "--memory", default="", help="Memory limit")
    p.add_argument("--memory-swap", default="", help="Swap limit equal to memory plus swap")
    p.add_argument("-c", "--cpu-shares", type=int, default=0, help="CPU shares (relative weight)")
    p.add_argument("--cpu-period", type=int, default=0, help="Limit the CPU CFS period")
    p.add_argument("--cpu-quota", type=int, default=0, help="Limit the CPU CFS quota")
    p.add_argument("--cpuset-cpus", default="", help="CPUs in which to allow execution")
    p.add_argument("--shm-size", default="", help="Size of /dev/shm")
    p.add_argument("--cache-from", action="append", default=[], help="Images to consider as cache sources")
    return p


def build(ctx: Context, argv: list[str]) -> int:
    p = build_parser()
    o = p.parse_args(_bare_rm(argv))
    if not o.path:
        raise CLIError(f'"baleine build" requires exactly 1 argument.\nSee \'baleine build --help\'.\n\n'
                       f"Usage:  baleine build {BUILD_USAGE}\n\nBuild an image from a Dockerfile", 1)
    progress = "quiet" if o.quiet else o.progress
    if progress not in ("auto", "plain", "tty", "quiet", "rawjson"):
        raise CLIError(f'invalid value "{o.progress}" for --progress: use auto, plain, tty, quiet or rawjson', 125)
    if progress == "auto":
        progress = "tty" if sys.stderr.isatty() and os.environ.get("TERM") != "dumb" else "plain"
    if progress == "tty" and not sys.stderr.isatty():
        progress = "plain"
    params: dict[str, Any] = {"t": o.tag, "q": o.quiet or progress == "quiet", "nocache": o.no_cache,
                              "pull": o.pull, "rm": _bool_flag(o.rm, "--rm"), "forcerm": o.force_rm}
    if o.target:
        params["target"] = o.target
    if o.network:
        params["networkmode"] = o.network
    if o.platform:
        params["platform"] = o.platform
    if o.add_host:
        params["extrahosts"] = o.add_host
    if o.build_arg:
        params["buildargs"] = json_dumps(_build_args(o.build_arg))
    if o.label:
        params["labels"] = json_dumps(_labels(o.label))
    if o.cache_from:
        params["cachefrom"] = json_dumps(o.cache_from)
    for flag, name in ((o.memory, "memory"), (o.memory_swap, "memswap"), (o.shm_size, "shmsize")):
        if flag:
            params[name] = _bytes(flag, name)
    for value, name in ((o.cpu_shares, "cpushares"), (o.cpu_period, "cpuperiod"), (o.cpu_quota, "cpuquota")):
        if value:
            params[name] = value
    if o.cpuset_cpus:
        params["cpusetcpus"] = o.cpuset_cpus
    headers = {"Content-Type": "application/x-tar"}
    if progress == "tty":
        headers["X-Baleine-Progress"] = "1"
    if o.secret:
        headers["X-Baleine-Build-Secrets"] = _secrets(o.secret)
    body, dockerfile = _context(o.path, o.file)
    params["dockerfile"] = dockerfile
    with body:
        if progress == "tty":
            renderer: _Renderer = _TTYRenderer(sys.stderr)
        elif progress in ("quiet",):
            renderer = _QuietRenderer()
        elif progress == "rawjson":
            renderer = _RawRenderer()
        else:
            renderer = _PlainRenderer()
        image_id = ""
        try:
            with ctx.api(code=1):
                for msg in ctx.client.build.build(body, params, headers):
                    if msg.get("aux") and isinstance(msg["aux"], dict) and msg["aux"].get("ID"):
                        image_id = msg["aux"]["ID"]
                    if msg.get("error") or msg.get("errorDetail"):
                        renderer.close()
                        detail = msg.get("errorDetail") or {}
                        message = msg.get("error") or detail.get("message", "")
                        renderer.failed(message, (msg.get("baleine") or {}).get("tail") or [])
                        # Like docker: a failed RUN's exit code becomes ours.
                        raise CLIError("", int(detail.get("code") or 1))
                    renderer.message(msg)
        finally:
            renderer.close()
    if not image_id:
        raise CLIError("the build ended without an image ID", 1)
    if o.iidfile:
        with open(o.iidfile, "w") as f:
            f.write(image_id)
    renderer.done(image_id, o.tag)
    return 0


def _bare_rm(argv: list[str]) -> list[str]:
    """``--rm`` is a boolean flag (pflag's): alone it means true and never takes the
    next word (``build --rm .`` builds ``.``); ``--rm=false`` turns it off."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--rm":
            out[i] = "--rm=true"
    return out


def _bool_flag(value: str, flag: str) -> bool:
    """A boolean flag's value as Go's ``strconv.ParseBool`` reads it (pflag's error otherwise)."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise flag_error("build", flag, value, f'strconv.ParseBool: parsing "{value}": invalid syntax')


def _context(path: str, dockerfile: str) -> tuple[BinaryIO, str]:
    """The request body and the Dockerfile's name in it (``client.build_context``)."""
    from ..client.build_context import BuildContextError, prepare

    try:
        return prepare(path, dockerfile)
    except BuildContextError as exc:
        raise CLIError(exc.message, 1) from None


def _build_args(values: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for v in values:
        key, sep, value = v.partition("=")
        # "--build-arg NAME" takes the value from the environment, as docker does.
        out[key] = value if sep else os.environ.get(key)
    return out


def _labels(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        key, _, value = v.partition("=")
        out[key] = value
    return out


def _bytes(value: str, name: str) -> int:
    from ..rules.units import parse_bytes

    try:
        return parse_bytes(value)
    except Exception:  # noqa: BLE001 - any parse error is a flag error
        raise CLIError(f'invalid argument "{value}" for "--{name}" flag', 125) from None


def _secrets(values: list[str]) -> str:
    """``id=x,src=path`` (or ``id=x,env=VAR``) flags → the header carrying them."""
    import base64

    out: dict[str, str] = {}
    for v in values:
        fields = dict(f.partition("=")[::2] for f in v.split(","))
        sid = fields.get("id", "")
        src = fields.get("src") or fields.get("source") or ""
        env = fields.get("env", "")
        if not sid:
            sid = os.path.basename(src) if src else env
        if not sid:
            raise CLIError(f"invalid secret {v!r}: id is required", 125)
        if env:
            data = os.environ.get(env, "").encode()
        else:
            try:
                with open(src or sid, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise CLIError(f"failed to read secret {sid}: {exc.strerror}", 1) from None
        out[sid] = base64.b64encode(data).decode()
    return base64.b64encode(json_dumps(out).encode()).decode()


# -- output -------------------------------------------------------------------------------


class _Renderer:
    def message(self, msg: dict[str, Any]) -> None:
        raise NotImplementedError

    def failed(self, message: str, tail: list[str]) -> None:
        print(message, file=sys.stderr)

    def done(self, image_id: str, tags: list[str]) -> None:
        pass

    def close(self) -> None:
        pass


class _PlainRenderer(_Renderer):
    """The classic stream, as ``DOCKER_BUILDKIT=0 docker build`` prints it."""

    def message(self, msg: dict[str, Any]) -> None:
        text = msg.get("stream")
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()


class _RawRenderer(_Renderer):
    def message(self, msg: dict[str, Any]) -> None:
        sys.stdout.write(json_dumps(msg) + "\n")


class _QuietRenderer(_Renderer):
    def message(self, msg: dict[str, Any]) -> None:
        pass

    def done(self, image_id: str, tags: list[str]) -> None:
        print(image_id)


class _StepView:
    def __init__(self, number: int, total: int, text: str, stage: str) -> None:
        self.number = number
        self.total = total
        self.text = text
        self.stage = stage
        self.started = time.monotonic()
        self.ended: float | None = None
        self.cached = False
        self.lines: list[str] = []
        self.partial = ""

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started


class _TTYRenderer(_Renderer):
    """Per-step status lines on a terminal, redrawn in place (no dependency: ANSI codes)."""

    LIVE_LINES = 6

    def __init__(self, out: Any) -> None:
        import threading

        self.out = out
        self.steps: dict[int, _StepView] = {}
        self.order: list[int] = []
        self.printed: set[int] = set()
        self.live_height = 0
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.total = 0
        self.width = _term_width()
        self.ticker = threading.Thread(target=self._tick, daemon=True)
        self.ticker.start()

    def _tick(self) -> None:
        while not self.stop.wait(0.1):
            with self.lock:
                self._redraw()

    def message(self, msg: dict[str, Any]) -> None:
        ev = msg.get("baleine")
        with self.lock:
            if not ev:
                text = msg.get("stream") or ""
                # The classic summary lines are replaced by done()'s.
                if text.strip() and not text.startswith("Successfully "):
                    self._print_above(text.rstrip("\n"))
                return
            kind = ev.get("type")
            n = ev.get("step", 0)
            if kind == "step":
                self.total = ev["total"]
                if n not in self.steps:
                    self.steps[n] = _StepView(n, ev["total"], ev["text"], ev.get("stage", ""))
                    self.order.append(n)
            elif kind == "cached" and n in self.steps:
                self.steps[n].cached = True
            elif kind == "output" and n in self.steps:
                st = self.steps[n]
                buf = st.partial + ev["text"].replace("\r\n", "\n").replace("\r", "\n")
                lines = buf.split("\n")
                st.partial = lines.pop()
                st.lines.extend(lines)
                del st.lines[:-50]
            elif kind == "step-done" and n in self.steps:
                self.steps[n].ended = time.monotonic()
            elif kind == "message":
                text = ev.get("text", "")
                if text.strip():
                    self._print_above(text.rstrip("\n"))
            self._flush_finished()
            self._redraw()

    def _line(self, st: _StepView) -> str:
        label = f"[{st.number}/{st.total}] {st.text}"
        if st.ended is not None:
            status = "CACHED" if st.cached else f"DONE {st.elapsed:.1f}s"
            color = "\x1b[34m" if st.cached else "\x1b[32m"
        else:
            status = f"{st.elapsed:.1f}s"
            color = "\x1b[33m"
        room = max(10, self.width - len(status) - 4)
        label = label.replace("\n", " ")
        if len(label) > room:
            label = label[:room - 1] + "…"
        return f"{color}=> {label.ljust(room)} {status}\x1b[0m"

    def _print_above(self, text: str) -> None:
        self._clear_live()
        for line in text.split("\n"):
            self.out.write(line[:self.width] + "\n")
        self.out.flush()

    def _flush_finished(self) -> None:
        # Finished steps at the head of the order are printed once, above the live area.
        self._clear_live()
        for n in self.order:
            st = self.steps[n]
            if n in self.printed:
                continue
            if st.ended is None:
                break
            self.out.write(self._line(st) + "\n")
            self.printed.add(n)
        self.out.flush()

    def _clear_live(self) -> None:
        if self.live_height:
            self.out.write(f"\x1b[{self.live_height}A\x1b[J")
            self.live_height = 0

    def _redraw(self) -> None:
        if self.stop.is_set() and self.live_height == 0:
            return
        self._clear_live()
        lines: list[str] = []
        for n in self.order:
            if n in self.printed:
                continue
            st = self.steps[n]
            lines.append(self._line(st))
            if st.ended is None:
                tail = st.lines[-self.LIVE_LINES:] + ([st.partial] if st.partial else [])
                for t in tail[-self.LIVE_LINES:]:
                    lines.append("\x1b[2m   " + t[:self.width - 4] + "\x1b[0m")
        elapsed = time.monotonic() - self.start
        done = len([n for n in self.order if self.steps[n].ended is not None])
        lines.append(f"\x1b[1mBuilding {elapsed:.1f}s ({done}/{self.total or '?'})\x1b[0m")
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        self.live_height = len(lines)

    def failed(self, message: str, tail: list[str]) -> None:
        with self.lock:
            self._clear_live()
            running = [self.steps[n] for n in self.order if self.steps[n].ended is None]
            for st in running:
                self.out.write(f"\x1b[31m=> ERROR {st.text[:self.width - 12]}\x1b[0m\n")
                lines = tail or st.lines[-10:]
                for t in lines[-10:]:
                    self.out.write("   " + t + "\n")
            self.out.flush()
        print(message, file=sys.stderr)

    def done(self, image_id: str, tags: list[str]) -> None:
        elapsed = time.monotonic() - self.start
        self.out.write(f"\x1b[1mBuilt {image_id} in {elapsed:.1f}s\x1b[0m\n")
        for t in tags:
            last = t.rsplit("/", 1)[-1]
            self.out.write(f"Tagged {t if ':' in last or '@' in last else t + ':latest'}\n")
        self.out.flush()

    def close(self) -> None:
        with self.lock:
            if self.stop.is_set():
                return
            self.stop.set()
            self._clear_live()
            for n in self.order:
                if n not in self.printed and self.steps[n].ended is not None:
                    self.out.write(self._line(self.steps[n]) + "\n")
                    self.printed.add(n)
            self.out.flush()


def _term_width() -> int:
    try:
        return max(40, os.get_terminal_size(sys.stderr.fileno()).columns)
    except OSError:
        return 100


# -- builder prune ------------------------------------------------------------------------


def prune(ctx: Context, argv: list[str]) -> int:
    p = Parser("builder prune", "[OPTIONS]", "Remove build cache")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused build cache, not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (e.g. \"until=24h\")")
    p.add_argument("--keep-storage", default="", help="Amount of disk space to keep for cache")
    o = p.parse_args(argv)
    if not o.force:
        question = ("WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] "
                    if o.all else
                    "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ")
        sys.stdout.write(question)
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    keep = _bytes(o.keep_storage, "keep-storage") if o.keep_storage else None
    filters = None
    if o.filter:
        f: dict[str, dict[str, bool]] = {}
        for item in o.filter:
            k, _, v = item.partition("=")
            f.setdefault(k, {})[v] = True
        filters = json_dumps(f)
    with ctx.api():
        result = ctx.client.build.prune(all=o.all, filters=filters, keep_storage=keep)
    from .formatting import human_size

    deleted = result.get("CachesDeleted") or []
    if deleted:
        print("Deleted build cache objects:")
        for d in deleted:
            print(d[:25])
        print()
    print(f"Total reclaimed space: {human_size(result.get('SpaceReclaimed') or 0)}")
    return 0
