"""System commands: info, events, inspect (any object), daemon, system df/prune."""

from __future__ import annotations

import sys
import time

from .. import __version__
from .context import CLIError, Context, Parser

# The template engine and the formatting are imported where used: ``inspect`` (the
# hot one here) needs neither for its JSON.


def info(ctx: Context, argv: list[str]) -> int:
    from .. import gotemplate
    from . import formatting

    p = Parser("info", "[OPTIONS]", "Display system-wide information")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    o = p.parse_args(argv)
    with ctx.api():
        data = ctx.client.system.info()
    if o.format:
        sys.stdout.write(gotemplate.render(o.format, data, funcs=gotemplate.INSPECT_FUNCS) + "\n")
        return 0
    lines = [
        "Client:",
        f" Version:    {__version__}",
        " Context:    default",
        "",
        "Server:",
        f" Containers: {data['Containers']}",
        f"  Running: {data['ContainersRunning']}",
        f"  Paused: {data['ContainersPaused']}",
        f"  Stopped: {data['ContainersStopped']}",
        f" Images: {data['Images']}",
        f" Server Version: {data['ServerVersion']}",
        f" Storage Driver: {data['Driver']}",
        f" Logging Driver: {data['LoggingDriver']}",
        f" Cgroup Driver: {data['CgroupDriver']}",
        f" Cgroup Version: {data['CgroupVersion']}",
        f" Runtimes: {' '.join(data.get('Runtimes') or {})}",
        f" Default Runtime: {data['DefaultRuntime']}",
        f" Kernel Version: {data['KernelVersion']}",
        f" Operating System: {data['OperatingSystem']}",
        f" OSType: {data['OSType']}",
        f" Architecture: {data['Architecture']}",
        f" CPUs: {data['NCPU']}",
        f" Total Memory: {formatting.bytes_size(data['MemTotal'])}",
        f" Name: {data['Name']}",
        f" Docker Root Dir: {data['DockerRootDir']}",
        f" Debug Mode: {str(data['Debug']).lower()}",
        f" Experimental: {str(data['ExperimentalBuild']).lower()}",
        f" Live Restore Enabled: {str(data['LiveRestoreEnabled']).lower()}",
    ]
    print("\n".join(lines))
    return 0


def events(ctx: Context, argv: list[str]) -> int:
    from .. import gotemplate

    p = Parser("events", "[OPTIONS]", "Get real time events from the server")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("--since", default="", help="Show all events created since timestamp")
    p.add_argument("--until", default="", help="Stream events until this timestamp")
    o = p.parse_args(argv)
    from ..rules.filters import from_cli
    from ..rules.timestamps import get_timestamp

    now = time.time()
    since = get_timestamp(o.since, now) if o.since else None
    until = get_timestamp(o.until, now) if o.until else None
    filters = from_cli(o.filter).to_json() if o.filter else None
    tmpl = None
    if o.format:
        if o.format == "json":
            tmpl = gotemplate.compile("{{json .}}")
        else:
            tmpl = gotemplate.compile(o.format)
    try:
        with ctx.api():
            for msg in ctx.client.system.events(since, until, filters):
                if tmpl is not None:
                    print(tmpl.render(msg), flush=True)
                    continue
                t = msg.get("timeNano") or (msg.get("time") or 0) * 1_000_000_000
                stamp = _event_stamp(t)
                attrs = (msg.get("Actor") or {}).get("Attributes") or {}
                attr_text = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
                actor = (msg.get("Actor") or {}).get("ID", "")
                line = f"{stamp} {msg.get('Type')} {msg.get('Action')} {actor}"
                if attr_text:
                    line += f" ({attr_text})"
                print(line, flush=True)
    except KeyboardInterrupt:
        return 0
    return 0


def _event_stamp(ns: int) -> str:
    """docker's event time: local time, RFC 3339 with 9 fraction digits
    (``2006-01-02T15:04:05.000000000Z07:00``: "Z" for UTC, else the offset)."""
    local = time.localtime(ns // 1_000_000_000)
    offset = local.tm_gmtoff or 0
    zone = "Z" if offset == 0 else f"{'+' if offset > 0 else '-'}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{ns % 1_000_000_000:09d}" + zone


def inspect(ctx: Context, argv: list[str]) -> int:
    p = Parser("inspect", "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Baleine objects")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes if the type is container")
    p.add_argument("--type", help="Return JSON for specified type")
    p.add_argument("names", nargs="+", metavar="NAME")
    o = p.parse_args(argv)
    kinds = ["container", "image", "volume", "network"]
    if o.type:
        kinds = [k for k in kinds if k == o.type]
        if not kinds:
            raise CLIError(f"\"{o.type}\" is not a valid value for --type", 1)
    from .containers import inspect_objects

    return inspect_objects(ctx, o.names, o.format, kinds, o.size)


def df(ctx: Context, argv: list[str]) -> int:
    """``system df``: see baleine.cli.disk_usage."""
    from .disk_usage import df as disk_usage_df

    return disk_usage_df(ctx, argv)


def prune(ctx: Context, argv: list[str]) -> int:
    """docker system prune: stopped containers, unused networks, dangling (or all unused)
    images, build cache, and with --volumes anonymous volumes; one report per kind."""
    from . import formatting

    p = Parser("system prune", "[OPTIONS]", "Remove unused data")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused images not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--volumes", action="store_true", help="Prune anonymous volumes")
    p.add_argument("--filter", action="append", default=[], help='Provide filter values (e.g. "label=<key>=<value>")')
    o = p.parse_args(argv)
    from ..rules.filters import from_cli
    from .containers import confirm

    warning = ["all stopped containers", "all networks not used by at least one container"]
    if o.volumes:
        warning.append("all anonymous volumes not used by at least one container")
    warning.append("all images without at least one container associated to them" if o.all
                   else "all dangling images")
    warning.append("unused build cache" if o.all else "unused build cache")
    if not o.force and not confirm("WARNING! This will remove:\n" + "".join(f"  - {w}\n" for w in warning)
                                   + "\nAre you sure you want to continue? [y/N] "):
        return 0
    try:
        from_cli(o.filter)  # refuse bad filters before anything is removed
    except Exception as exc:  # noqa: BLE001 - docker's message
        raise CLIError(str(exc), 125) from None

    def filters(**extra: str) -> str | None:
        f = from_cli(o.filter)
        for k, v in extra.items():
            f.add(k, v)
        return f.to_json() if len(f) else None

    total = 0
    report: list[tuple[str, list[str]]] = []
    client = ctx.client
    with ctx.api():
        result = client.containers.prune(filters())
    total += result.get("SpaceReclaimed") or 0
    report.append(("Deleted Containers:", result.get("ContainersDeleted") or []))
    with ctx.api():
        result = client.networks.prune(filters())
    report.append(("Deleted Networks:", result.get("NetworksDeleted") or []))
    if o.volumes:
        with ctx.api():
            result = client.volumes.prune(filters())
        total += result.get("SpaceReclaimed") or 0
        report.append(("Deleted Volumes:", result.get("VolumesDeleted") or []))
    with ctx.api():
        result = client.images.prune(filters(dangling="false" if o.all else "true"))
    total += result.get("SpaceReclaimed") or 0
    report.append(("Deleted Images:", [f"{k.lower()}: {v}" for item in result.get("ImagesDeleted") or []
                                       for k, v in item.items()]))
    with ctx.api():
        result = client.build.prune(all=o.all, filters=filters())
    total += result.get("SpaceReclaimed") or 0
    report.append(("Deleted build cache objects:", result.get("CachesDeleted") or []))
    for title, items in report:
        if items:
            print(title)
            print("\n".join(items))
            print()
    print(f"Total reclaimed space: {formatting.human_size(total, 4)}")
    return 0
