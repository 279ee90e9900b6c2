"""Volume commands: volume create/ls/inspect/rm/prune."""

from __future__ import annotations

from . import formatting
from .containers import Row, _print_rows, confirm, inspect_objects
from .context import CLIError, Context, Parser
from .networks import _filters, _kv
from .usage import SUPPRESS


def create(ctx: Context, argv: list[str]) -> int:
    p = Parser("volume create", "[OPTIONS] [VOLUME]", "Create a volume")
    p.add_argument("-d", "--driver", default="local", help="Specify volume driver name")
    p.add_argument("--label", action="append", default=[], help="Set metadata for a volume")
    p.add_argument("-o", "--opt", action="append", default=[], help="Set driver specific options")
    p.add_argument("--name", help=SUPPRESS)
    p.add_argument("volume", nargs="?", metavar="VOLUME")
    o = p.parse_args(argv)
    if o.name and o.volume and o.name != o.volume:
        raise CLIError("conflicting options: cannot specify a volume-name through both --name and as a "
                       "positional arg", 125)
    body = {"Name": o.volume or o.name or "", "Driver": o.driver, "DriverOpts": _kv(o.opt, "--opt"),
            "Labels": _kv(o.label, "--label")}
    with ctx.api():
        result = ctx.client.volumes.create(body)
    print(result["Name"])
    return 0


def ls(ctx: Context, argv: list[str]) -> int:
    p = Parser("volume ls", "[OPTIONS]", "List volumes")
    p.add_argument("-f", "--filter", action="append", default=[], help="Provide filter values (e.g. \"dangling=true\")")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display volume names")
    o = p.parse_args(argv)
    with ctx.api():
        listed = ctx.client.volumes.list(_filters(o.filter) if o.filter else None)
    items = sorted(listed.get("Volumes") or [], key=lambda v: v.get("Name", ""))
    if o.quiet and not o.format:
        for v in items:
            print(v["Name"])
        return 0
    rows = []
    for v in items:
        labels = v.get("Labels") or {}
        rows.append(Row({"Name": v["Name"], "Driver": v.get("Driver", ""), "Scope": v.get("Scope", "local"),
                         "Mountpoint": v.get("Mountpoint", ""), "Links": "N/A", "Size": "N/A",
                         "Labels": ",".join(f"{k}={val}" for k, val in labels.items())}, labels))
    _print_rows(o.format, rows, formatting.VOLUME_HEADERS, "{{.Name}}" if o.quiet else formatting.DEFAULT_VOLUME_FORMAT)
    return 0


def inspect(ctx: Context, argv: list[str]) -> int:
    p = Parser("volume inspect", "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("volumes", nargs="+", metavar="VOLUME")
    o = p.parse_args(argv)
    return inspect_objects(ctx, o.volumes, o.format, ["volume"])


def rm(ctx: Context, argv: list[str]) -> int:
    p = Parser("volume rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes")
    p.add_argument("-f", "--force", action="store_true", help="Force the removal of one or more volumes")
    p.add_argument("volumes", nargs="+", metavar="VOLUME")
    o = p.parse_args(argv)
    return ctx.each(o.volumes, lambda name: ctx.client.volumes.remove(name, force=o.force or None))


def prune(ctx: Context, argv: list[str]) -> int:
    p = Parser("volume prune", "[OPTIONS]", "Remove unused local volumes")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused volumes, not just anonymous ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (e.g. \"label=<label>\")")
    o = p.parse_args(argv)
    question = ("WARNING! This will remove all local volumes not used by at least one container.\n" if o.all else
                "WARNING! This will remove anonymous local volumes not used by at least one container.\n")
    if not o.force and not confirm(question + "Are you sure you want to continue? [y/N] "):
        return 0
    values = list(o.filter) + (["all=true"] if o.all else [])
    with ctx.api():
        result = ctx.client.volumes.prune(_filters(values) if values else None)
    deleted = result.get("VolumesDeleted") or []
    if deleted:
        print("Deleted Volumes:")
        for name in deleted:
            print(name)
        print()
    print(f"Total reclaimed space: {formatting.human_size(result.get('SpaceReclaimed') or 0)}")
    return 0
