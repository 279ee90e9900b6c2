"""Container commands: ps, start, stop, restart, kill, rm, logs, attach, wait, pause,
unpause, rename, diff, commit, inspect, prune (top, stats, port, cp, export, update:
in their own modules)."""

from __future__ import annotations

import sys
import time

# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

from ..client import APIError
from ..client.transport import json_loads
from .context import CLIError, Context, Parser

# The template engine (gotemplate), the table formatting and the stream pumps are
# imported by the functions that use them: ``ps -q``, ``stop``, ``rm``, ``start`` need
# none of them, and every module costs the CLI's start-up.


class Row(dict):
    """A formatter row: dict fields, plus docker's ``.Label "key"`` method."""

    def __init__(self, fields: dict[str, Any], labels: dict[str, str] | None = None) -> None:
        super().__init__(fields)
        self.labels = labels or {}

    def Label(self, name: str) -> str:  # noqa: N802 - Go method name
        return self.labels.get(name, "")


def _image_column(image: str, image_id: str, trunc: bool) -> str:
    """docker/cli's ``ContainerContext.Image``: ``<no image>`` when empty; truncated, an
    image named by its ID is the short ID and a digest reference loses its digest."""
    from . import formatting

    if not image:
        return "<no image>"
    if trunc:
        short = formatting.truncate_id(image)
        if image_id and formatting.truncate_id(image_id) == short:
            return short
        if "@" in image:
            return image.split("@", 1)[0]
    return image


def _container_row(c: dict[str, Any], trunc: bool, now: float) -> Row:
    from .. import gotemplate
    from . import formatting

    cid = c["Id"] if not trunc else c["Id"][:12]
    command = c.get("Command", "")
    if trunc:
        command = formatting.ellipsis(command, 20)
    names = [n.lstrip("/") for n in c.get("Names") or []]
    if trunc:
        names = [n for n in names if "/" not in n][:1] or names[:1]
    labels = c.get("Labels") or {}
    created = c.get("Created", 0)
    size = ""
    if "SizeRw" in c:
        size = formatting.human_size(c.get("SizeRw") or 0)
        if c.get("SizeRootFs"):
            size += f" (virtual {formatting.human_size(c['SizeRootFs'])})"
    mounts = []
    for m in c.get("Mounts") or []:
        name = m.get("Name") or m.get("Source", "")
        mounts.append(formatting.ellipsis(name, 15) if trunc else name)
    row = Row({
        "Command": gotemplate.go_quote(command),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
        "ID": cid,
        "Image": _image_column(c.get("Image", ""), c.get("ImageID", ""), trunc),
        "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
        "LocalVolumes": str(sum(1 for m in c.get("Mounts") or [] if m.get("Driver") == "local")),
        "Mounts": ",".join(mounts),
        "Names": ",".join(names),
        "Networks": ",".join(sorted((c.get("NetworkSettings") or {}).get("Networks") or {})),
        "Ports": formatting.ports_string(c.get("Ports") or []),
        "RunningFor": formatting.human_duration(max(0.0, now - created)) + " ago",
        "Size": size,
        "State": c.get("State", ""),
        "Status": c.get("Status", ""),
    }, labels)
    return row


def _print_rows(fmt: str | None, rows: list[Row], headers: dict[str, str], default: str) -> None:
    from .. import gotemplate
    from . import formatting

    try:
        out = formatting.format_list(fmt, rows, headers, default)
    except gotemplate.TemplateError as exc:
        raise CLIError(f"template parsing error: {exc}", 1) from None
    sys.stdout.write(out)


def ps(ctx: Context, argv: list[str]) -> int:
    p = Parser("ps", "[OPTIONS]", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("-n", "--last", type=int, default=-1, help="Show n last created containers (includes all states)")
    p.add_argument("-l", "--latest", action="store_true", help="Show the latest created container (includes all states)")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    o = p.parse_args(argv)
    limit = (1 if o.latest else o.last) if o.last > 0 or o.latest else None
    filters = None
    if o.filter:
        from ..rules.filters import from_cli

        try:
            filters = from_cli(o.filter).to_json()
        except Exception as exc:  # noqa: BLE001
            raise CLIError(str(exc), 125) from None
    with ctx.api():
        items = ctx.client.containers.list(all=o.all or o.last > 0 or o.latest, size=o.size, limit=limit,
                                           filters=filters)
    if o.quiet and not o.format:
        for c in items:
            print(c["Id"] if o.no_trunc else c["Id"][:12])
        return 0
    from . import formatting

    now = time.time()
    rows = [_container_row(c, not o.no_trunc, now) for c in items]
    default = formatting.DEFAULT_CONTAINER_FORMAT + ("\t{{.Size}}" if o.size else "")
    if o.quiet:
        default = "{{.ID}}"
    _print_rows(o.format, rows, formatting.CONTAINER_HEADERS, default)
    return 0


def _simple(command: str, usage: str, desc: str) -> Parser:
    p = Parser(command, usage, desc)
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def start(ctx: Context, argv: list[str]) -> int:
    p = Parser("start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers")
    p.add_argument("-a", "--attach", action="store_true", help="Attach STDOUT/STDERR and forward signals")
    p.add_argument("-i", "--interactive", action="store_true", help="Attach container's STDIN")
    p.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    o = p.parse_args(argv)
    if o.attach or o.interactive:
        if len(o.containers) > 1:
            raise CLIError("you cannot start and attach multiple containers at once", 1)
        return _start_attached(ctx, o.containers[0], o.interactive, o.detach_keys)
    status = 0
    for name in o.containers:
        try:
            with ctx.api():
                ctx.client.containers.start(name)
            print(name)
        except CLIError as exc:
            print(exc.message, file=sys.stderr)
            status = 1
    if status:
        print("Error: failed to start containers: " + ", ".join(o.containers), file=sys.stderr)
    return status


def _start_attached(ctx: Context, name: str, interactive: bool, detach_keys: str | None) -> int:
    from .streams import configured_detach_keys, pump, terminal_size

    with ctx.api():
        info = ctx.client.containers.inspect(name)
    cfg = info["Config"]
    tty = bool(cfg.get("Tty"))
    stdin = interactive and bool(cfg.get("OpenStdin"))
    detach_keys = configured_detach_keys(detach_keys)
    with ctx.api():
        sock, initial = ctx.client.containers.attach(name, stdin, detach_keys=detach_keys or None)
        wait_resp = ctx.client.containers.wait_response(name, "next-exit")
        ctx.client.containers.start(name)
    _resize_cb = _resizer(ctx, name) if tty else None
    if tty and _resize_cb:
        size = terminal_size()
        if size:
            _resize_cb(*size)
    if pump(sock, initial, tty, stdin, _resize_cb, detach_keys=detach_keys):
        return 0  # detached: the container runs on
    try:
        return int(json_loads(wait_resp.read() or b"{}").get("StatusCode", 0))
    except (ValueError, OSError):
        return 0


def _resizer(ctx: Context, container: str):  # noqa: ANN202
    def resize(h: int, w: int) -> None:
        try:
            ctx.client.containers.resize(container, h, w)
        except Exception:  # noqa: BLE001 - best effort
            pass

    return resize


def _stop_like(ctx: Context, argv: list[str], command: str, desc: str) -> int:
    p = Parser(command, "[OPTIONS] CONTAINER [CONTAINER...]", desc)
    p.add_argument("-t", "--time", "--timeout", dest="time", type=int, default=None,
                   help="Seconds to wait before killing the container")
    p.add_argument("-s", "--signal", default=None, help="Signal to send to the container")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    o = p.parse_args(argv)
    action = ctx.client.containers.stop if command == "stop" else ctx.client.containers.restart
    return ctx.each(o.containers, lambda n: action(n, timeout=o.time, signal=o.signal or None))


def stop(ctx: Context, argv: list[str]) -> int:
    return _stop_like(ctx, argv, "stop", "Stop one or more running containers")


def restart(ctx: Context, argv: list[str]) -> int:
    return _stop_like(ctx, argv, "restart", "Restart one or more containers")


def kill(ctx: Context, argv: list[str]) -> int:
    p = Parser("kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers")
    p.add_argument("-s", "--signal", default=None, help="Signal to send to the container")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    o = p.parse_args(argv)
    return ctx.each(o.containers, lambda n: ctx.client.containers.kill(n, signal=o.signal or None))


def rm(ctx: Context, argv: list[str]) -> int:
    p = Parser("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers")
    p.add_argument("-f", "--force", action="store_true", help="Force the removal of a running container (uses SIGKILL)")
    p.add_argument("-v", "--volumes", action="store_true", help="Remove anonymous volumes associated with the container")
    p.add_argument("-l", "--link", action="store_true", help="Remove the specified link")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    o = p.parse_args(argv)
    return ctx.each(o.containers, lambda n: ctx.client.containers.remove(n, force=o.force, volumes=o.volumes,
                                                                          link=o.link))


def pause(ctx: Context, argv: list[str]) -> int:
    o = _simple("pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers").parse_args(argv)
    return ctx.each(o.containers, lambda n: ctx.client.containers.pause(n))


def unpause(ctx: Context, argv: list[str]) -> int:
    o = _simple("unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers").parse_args(argv)
    return ctx.each(o.containers, lambda n: ctx.client.containers.unpause(n))


def wait(ctx: Context, argv: list[str]) -> int:
    o = _simple("wait", "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes").parse_args(argv)
    return ctx.each(o.containers, lambda n: ctx.client.containers.wait(n)["StatusCode"])


def rename(ctx: Context, argv: list[str]) -> int:
    p = Parser("rename", "CONTAINER NEW_NAME", "Rename a container")
    p.add_argument("container")
    p.add_argument("new_name")
    o = p.parse_args(argv)
    with ctx.api():
        ctx.client.containers.rename(o.container, o.new_name)
    return 0


def diff(ctx: Context, argv: list[str]) -> int:
    p = Parser("diff", "CONTAINER", "Inspect changes to files or directories on a container's filesystem")
    p.add_argument("container")
    o = p.parse_args(argv)
    with ctx.api():
        changes = ctx.client.containers.changes(o.container)
    for ch in changes:
        print(f"{'CAD'[ch['Kind']]} {ch['Path']}")
    return 0


def commit(ctx: Context, argv: list[str]) -> int:
    p = Parser("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes")
    p.add_argument("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    p.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    p.add_argument("-m", "--message", default="", help="Commit message")
    p.add_argument("-p", "--pause", default="true", nargs="?", const="true", help="Pause container during commit")
    p.add_argument("container")
    p.add_argument("reference", nargs="?")
    o = p.parse_args(argv)
    repo = tag = None
    if o.reference:
        ref = o.reference
        repo, tag = ref, ""
        last = ref.rsplit("/", 1)[-1]
        if "@" not in ref and ":" in last:
            repo, tag = ref.rsplit(":", 1)
    with ctx.api():
        result = ctx.client.containers.commit(o.container, repo, tag, message=o.message, author=o.author,
                                              pause=o.pause.lower() not in ("false", "0"), changes=o.change)
    print(result["Id"])
    return 0


def logs(ctx: Context, argv: list[str]) -> int:
    from .streams import Demuxer, write_stream

    p = Parser("logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container")
    p.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    p.add_argument("-n", "--tail", default="all", help='Number of lines to show from the end of the logs (default "all")')
    p.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    p.add_argument("--since", default="", help="Show logs since timestamp or relative (e.g. 42m)")
    p.add_argument("--until", default="", help="Show logs before a timestamp or relative (e.g. 42m)")
    p.add_argument("--details", action="store_true", help="Show extra details provided to logs")
    p.add_argument("container")
    o = p.parse_args(argv)
    with ctx.api():
        info = ctx.client.containers.inspect(o.container)
    now = time.time()
    from ..rules.timestamps import get_timestamp

    try:
        since = get_timestamp(o.since, now) if o.since else None
        until = get_timestamp(o.until, now) if o.until else None
    except Exception as exc:  # noqa: BLE001
        raise CLIError(f"invalid value for \"since\": {exc}", 1) from None
    with ctx.api():
        resp = ctx.client.containers.logs(o.container, follow=o.follow, tail=o.tail, timestamps=o.timestamps,
                                          since=since, until=until, details=o.details or None)
    tty = bool(info["Config"].get("Tty"))
    demux = Demuxer()
    try:
        while True:
            chunk = resp.read1(65536)
            if not chunk:
                break
            if tty:
                write_stream(1, chunk)
            else:
                demux.feed(chunk, write_stream)
    except KeyboardInterrupt:
        return 0
    return 0


def attach(ctx: Context, argv: list[str]) -> int:
    from .streams import configured_detach_keys, pump, terminal_size

    p = Parser("attach", "[OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container")
    p.add_argument("--no-stdin", action="store_true", help="Do not attach STDIN")
    p.add_argument("--sig-proxy", default="true", help="Proxy all received signals to the process")
    p.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    p.add_argument("container")
    o = p.parse_args(argv)
    with ctx.api():
        info = ctx.client.containers.inspect(o.container)
    if not info["State"].get("Running"):
        raise CLIError("You cannot attach to a stopped container, start it first", 1)
    if info["State"].get("Paused"):
        raise CLIError("You cannot attach to a paused container, unpause it first", 1)
    tty = bool(info["Config"].get("Tty"))
    stdin = not o.no_stdin and bool(info["Config"].get("OpenStdin"))
    if tty and stdin and not sys.stdin.isatty():
        raise CLIError("the input device is not a TTY", 1)
    detach_keys = configured_detach_keys(o.detach_keys)
    with ctx.api():
        wait_resp = ctx.client.containers.wait_response(o.container, "next-exit")
        sock, initial = ctx.client.containers.attach(o.container, stdin, detach_keys=detach_keys or None)
    resize = _resizer(ctx, o.container) if tty else None
    if resize:
        size = terminal_size()
        if size:
            resize(*size)
    if pump(sock, initial, tty, stdin, resize, close_on_eof=bool(info["Config"].get("StdinOnce")),
            detach_keys=detach_keys):
        print("read escape sequence", file=sys.stderr)
        return 0
    # The stream ends a moment before the daemon records the exit: wait for it.
    try:
        return int(json_loads(wait_resp.read() or b"{}").get("StatusCode", 0))
    except (ValueError, OSError):
        with ctx.api():
            return int(ctx.client.containers.inspect(o.container)["State"].get("ExitCode", 0))


#: the fields of inspect's objects that are Go maps (a missing key prints <no value>);
#: every other object is a Go struct, whose missing fields are template errors
_GO_MAPS = frozenset({"Labels", "Volumes", "ExposedPorts", "Networks", "Ports", "Sysctls", "PortBindings",
                      "Tmpfs", "StorageOpt", "Annotations", "Data", "Options", "Containers", "Status",
                      "DriverOpts", "UsageData"})


def go_values(value: Any, key: str = "", parent: str = "") -> Any:
    """Inspect JSON as the docker CLI's templates see it: objects are structs
    (``gotemplate.Struct``: ``{{.Nope}}`` is "map has no entry for key") but for the
    fields that are maps in Go (labels, options, networks, ...)."""
    from .. import gotemplate

    if isinstance(value, dict):
        is_map = key in _GO_MAPS or (key == "Config" and parent == "LogConfig")
        if is_map:
            return {k: go_values(v, "", key) for k, v in value.items()}
        return gotemplate.Struct({k: go_values(v, k, key) for k, v in value.items()})
    if isinstance(value, list):
        return [go_values(v, "", key) for v in value]
    return value


def print_inspect(objs: list[Any], fmt: str | None) -> None:
    """docker inspect output: an indented JSON array, or one template line per object
    (a field the object lacks is a template error, exit 1, as with the docker CLI)."""
    if fmt:
        from .. import gotemplate

        try:
            t = gotemplate.compile(fmt, funcs=gotemplate.INSPECT_FUNCS)
            for obj in objs:
                sys.stdout.write(t.render(go_values(obj)) + "\n")
        except gotemplate.TemplateError as exc:
            raise CLIError(f"template parsing error: {exc}", 1) from None
        return
    from .indentjson import dumps  # json.dumps' text without the json package (re, enum)

    print(dumps(objs, indent=4))


def _inspector(ctx: Context, kind: str, size: bool) -> Callable[[str], Any]:
    """The client method inspecting one ``kind`` of object by name."""
    if kind == "container":
        return lambda name: ctx.client.containers.inspect(name, size=size or None)
    return {"image": ctx.client.images, "volume": ctx.client.volumes, "network": ctx.client.networks}[kind].inspect


def inspect_objects(ctx: Context, names: list[str], fmt: str | None, kinds: list[str],
                    size: bool = False) -> int:
    """Inspect each name as the first kind (container, image, volume, network) that
    knows it; docker's errors for the rest."""
    found, status = [], 0
    for name in names:
        for kind in kinds:
            try:
                with ctx.api():
                    try:
                        found.append(_inspector(ctx, kind, size)(name))
                        break
                    except APIError as exc:
                        if exc.status != 404:
                            raise
            except CLIError as exc:
                print(exc.message, file=sys.stderr)
                status = 1
                break
        else:
            label = kinds[0] if len(kinds) == 1 else "object"
            print(f"Error: No such {label}: {name}", file=sys.stderr)
            status = 1
    if found or not fmt:
        print_inspect(found, fmt)
    return status


def inspect_containers(ctx: Context, argv: list[str]) -> int:
    p = Parser("container inspect", "[OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    o = p.parse_args(argv)
    return inspect_objects(ctx, o.containers, o.format, ["container"], o.size)


def prune(ctx: Context, argv: list[str]) -> int:
    from . import formatting

    p = Parser("container prune", "[OPTIONS]", "Remove all stopped containers")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (e.g. \"until=<timestamp>\")")
    o = p.parse_args(argv)
    if not o.force and not confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "):
        return 0
    filters = None
    if o.filter:
        from ..rules.filters import from_cli

        filters = from_cli(o.filter).to_json()
    with ctx.api():
        result = ctx.client.containers.prune(filters)
    deleted = result.get("ContainersDeleted") or []
    if deleted:
        print("Deleted Containers:")
        for cid in deleted:
            print(cid)
        print()
    # go-units HumanSize: 4 significant digits, as docker prints it
    print(f"Total reclaimed space: {formatting.human_size(result.get('SpaceReclaimed') or 0, 4)}")
    return 0


def confirm(question: str) -> bool:
    sys.stdout.write(question)
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


