"""``baleine compose``: docker compose's commands and flags over ``baleine.compose``.

Global flags come first (``-f``, ``-p``, ``--project-directory``, ``--env-file``,
``--profile``, ``--progress``, ``--ansi``), then the command and its own flags, as
with docker compose. Loading errors (YAML, schema, interpolation, references,
cycles) are reported before anything is created; every message goes to stderr and
the exit code is 1 (``up``/``run`` return the container's code where compose does).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from ..client import APIError, ConnectionFailed
from . import output
from .context import CLIError, Context, Parser

USAGE = """Usage:  baleine compose [OPTIONS] COMMAND

Define and run multi-container applications with Baleine

Options:
  -f, --file stringArray           Compose configuration files
  -p, --project-name string        Project name
      --project-directory string   Specify an alternate working directory
      --env-file stringArray       Specify an alternate environment file
      --profile stringArray        Specify a profile to enable
      --progress string            Set type of progress output (auto, tty, plain, quiet)
      --ansi string                Control when to print ANSI control characters ("never"|"always"|"auto")

Commands:
  build       Build or rebuild services
  config      Parse, resolve and render compose file in canonical format
  down        Stop and remove containers, networks
  exec        Execute a command in a running container
  images      List images used by the created containers
  kill        Force stop service containers
  logs        View output from containers
  ls          List running compose projects
  pause       Pause services
  port        Print the public port for a port binding
  ps          List containers
  pull        Pull service images
  push        Push service images
  restart     Restart service containers
  rm          Removes stopped service containers
  run         Run a one-off command on a service
  start       Start services
  stop        Stop services
  top         Display the running processes
  unpause     Unpause services
  up          Create and start containers
  version     Show the Baleine Compose version information

Run 'baleine compose COMMAND --help' for more information on a command.
"""


class Globals:
    """The global compose flags."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.project_name: str | None = None
        self.project_directory: str | None = None
        self.env_files: list[str] | None = None
        self.profiles: list[str] = []
        self.progress = "auto"
        self.ansi = "auto"


_GLOBAL_VALUE = {"-f": "files", "--file": "files", "-p": "project_name", "--project-name": "project_name",
                 "--project-directory": "project_directory", "--env-file": "env_files", "--profile": "profiles",
                 "--progress": "progress", "--ansi": "ansi", "--parallel": None, "--workdir": "project_directory"}


def parse_globals(argv: list[str]) -> tuple[Globals, list[str]]:
    """(global flags, the command and its arguments)."""
    g = Globals()
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            raise CLIError(USAGE, 0)
        if a in ("--dry-run", "--compatibility", "--verbose", "--all-resources"):
            i += 1
            continue
        name, eq, inline = a.partition("=")
        if name in _GLOBAL_VALUE:
            if eq:
                value = inline
                i += 1
            else:
                if i + 1 >= len(argv):
                    raise CLIError(f"flag needs an argument: {name}", 1)
                value = argv[i + 1]
                i += 2
            attr = _GLOBAL_VALUE[name]
            if attr in ("files", "profiles"):
                getattr(g, attr).append(value)
            elif attr == "env_files":
                g.env_files = (g.env_files or []) + [value]
            elif attr:
                setattr(g, attr, value)
            continue
        if a.startswith("-f") and len(a) > 2:
            g.files.append(a[2:])
            i += 1
            continue
        if a.startswith("-p") and len(a) > 2:
            g.project_name = a[2:]
            i += 1
            continue
        if a.startswith("-"):
            raise CLIError(f"unknown flag: {a}\nSee 'baleine compose --help'.", 1)
        break
    return g, argv[i:]


def _load(g: Globals, services: list[str] | None = None):  # noqa: ANN202 - Project
    from ..compose.loader import Options, load

    opts = Options(files=g.files, project_name=g.project_name, project_directory=g.project_directory,
                   env_files=g.env_files, profiles=g.profiles, services=list(services or []),
                   stdin=lambda: sys.stdin.read())
    project = load(opts)
    for w in project.warnings:
        print(f"WARN[0000] {w}", file=sys.stderr)
    return project


def _progress(g: Globals, title: str = "Running"):  # noqa: ANN202 - Progress
    from ..compose.progress import Progress

    mode = g.progress
    if mode == "auto":
        mode = "tty" if _tty(sys.stderr) and g.ansi != "never" and os.environ.get("TERM") != "dumb" else "plain"
    if mode not in ("tty", "plain", "quiet"):
        mode = "plain"
    return Progress(sys.stderr, mode, title)


def _runner(ctx: Context, g: Globals, project: Any, title: str = "Running"):  # noqa: ANN202
    from ..compose.runner import Runner

    return Runner(ctx.client, project, _progress(g, title))


def _tty(stream: Any) -> bool:
    """Whether ``stream`` is an open terminal (stdin may be missing altogether)."""
    try:
        return stream is not None and not stream.closed and stream.isatty()
    except (ValueError, OSError):
        return False


def _stdin_open() -> bool:
    """Whether there is a standard input to forward (a closed fd 0 cannot be selected on)."""
    try:
        os.fstat(0)
    except OSError:
        return False
    return sys.stdin is not None and not sys.stdin.closed


def _color(g: Globals, no_color: bool) -> bool:
    if no_color or g.ansi == "never":
        return False
    return g.ansi == "always" or _tty(sys.stdout)


def compose(ctx: Context, argv: list[str]) -> int:
    """Entry point of ``baleine compose``."""
    g, rest = parse_globals(argv)
    if not rest:
        raise CLIError(USAGE, 0)
    command, args = rest[0], rest[1:]
    handler = COMMANDS.get(command)
    if handler is None:
        raise CLIError(f"unknown command: \"compose {command}\"\nSee 'baleine compose --help'", 1)
    from ..compose.errors import ComposeError

    try:
        return int(handler(ctx, g, args) or 0)
    except ComposeError as exc:
        raise CLIError(str(exc), 1) from None
    except APIError as exc:
        raise CLIError(f"Error response from daemon: {exc.message}", 1) from None
    except ConnectionFailed as exc:
        from .context import connection_message

        raise CLIError(connection_message(ctx.host, exc), 1) from None


def _parser(command: str, usage: str, description: str) -> Parser:
    return Parser(f"compose {command}", usage, description)


# -- config, version, ls -------------------------------------------------------------------


def config(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("config", "[OPTIONS] [SERVICE...]", "Parse, resolve and render compose file in canonical format")
    p.add_argument("--format", default="yaml", help="Format the output. Values: [yaml | json]")
    p.add_argument("-q", "--quiet", action="store_true", help="Only validate the configuration, don't print anything")
    p.add_argument("--services", dest="list_services", action="store_true", help="Print the service names, one per line")
    p.add_argument("--volumes", action="store_true", help="Print the volume names, one per line")
    p.add_argument("--networks", action="store_true", help="Print the network names, one per line")
    p.add_argument("--profiles", action="store_true", help="Print the profile names, one per line")
    p.add_argument("--images", action="store_true", help="Print the image names, one per line")
    p.add_argument("--hash", default=None, help="Print the service config hash, one per line")
    p.add_argument("--no-interpolate", action="store_true", help="Don't interpolate environment variables")
    p.add_argument("-o", "--output", default=None, help="Save to file (default to stdout)")
    p.add_argument("services", nargs="*")
    o = p.parse_args(argv)
    from ..compose import yamlfile
    from ..compose.hashing import service_hash
    from ..compose.loader import Options, load

    opts = Options(files=g.files, project_name=g.project_name, project_directory=g.project_directory,
                   env_files=g.env_files, profiles=g.profiles, services=o.services,
                   interpolate=not o.no_interpolate, stdin=lambda: sys.stdin.read())
    project = load(opts)
    for w in project.warnings:
        print(f"WARN[0000] {w}", file=sys.stderr)
    if o.services:
        keep = set(project.start_order(o.services))
        project.services = {k: v for k, v in project.services.items() if k in keep}
    if o.quiet:
        return 0
    lines: list[str] | None = None
    if o.hash is not None:
        names = sorted(project.services) if o.hash == "*" else o.hash.split(",")
        lines = [f"{n} {service_hash(project.service(n))}" for n in names]
    elif any((o.list_services, o.volumes, o.networks, o.profiles, o.images)):
        lines = []
        if o.list_services:
            lines += project.start_order()
        if o.volumes:
            lines += sorted(project.volumes)
        if o.networks:
            lines += sorted(project.networks)
        if o.profiles:
            lines += sorted({p for s in list(project.services.values()) + list(project.disabled.values())
                             for p in s.get("profiles") or []})
        if o.images:
            lines += [project.image(n) for n in sorted(project.services)]
    if lines is not None:
        text = "".join(line + "\n" for line in lines)
    elif o.format == "json":
        text = json.dumps(project.to_dict(), indent=2) + "\n"
    elif o.format == "yaml":
        text = yamlfile.dump(project.to_dict())
    else:
        raise CLIError(f"unsupported format {o.format!r}", 1)
    output.emit(text, o.output)
    return 0


def version(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("version", "[OPTIONS]", "Show the Baleine Compose version information")
    p.add_argument("-f", "--format", default=None, help="Format the output. Values: [pretty | json]")
    p.add_argument("--short", action="store_true", help="Shows only Compose's version number")
    o = p.parse_args(argv)
    from .. import __version__

    if o.short:
        print(__version__)
    elif o.format == "json":
        print(json.dumps({"version": f"v{__version__}"}))
    else:
        print(f"Baleine Compose version v{__version__}")
    return 0


def ls(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("ls", "[OPTIONS]", "List running compose projects")
    p.add_argument("-a", "--all", action="store_true", help="Show all stopped Compose projects")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display project names")
    p.add_argument("--format", default="table", help="Format the output. Values: [table | json]")
    p.add_argument("--filter", action="append", default=[], help="Filter output based on conditions provided")
    o = p.parse_args(argv)
    from ..compose.convert import LABEL_CONFIG_FILES, LABEL_ONEOFF, LABEL_PROJECT
    from . import formatting

    with ctx.api():
        items = ctx.client.containers.list(all=True, filters=json.dumps({"label": {LABEL_PROJECT: True}}))
    projects: dict[str, dict[str, Any]] = {}
    for c in items:
        labels = c.get("Labels") or {}
        if labels.get(LABEL_ONEOFF) == "True":
            continue
        name = labels.get(LABEL_PROJECT, "")
        entry = projects.setdefault(name, {"Name": name, "states": {}, "ConfigFiles": labels.get(
            LABEL_CONFIG_FILES, "")})
        state = c.get("State", "")
        entry["states"][state] = entry["states"].get(state, 0) + 1
    wanted = {f.split("=", 1)[1] for f in o.filter if f.startswith("name=")}
    rows = []
    for name in sorted(projects):
        entry = projects[name]
        states = entry["states"]
        if not o.all and not states.get("running"):
            continue
        if wanted and name not in wanted:
            continue
        status = ", ".join(f"{s}({n})" for s, n in sorted(states.items()))
        rows.append({"Name": name, "Status": status, "ConfigFiles": entry["ConfigFiles"]})
    if o.quiet:
        for r in rows:
            print(r["Name"])
    elif o.format == "json":
        print(json.dumps(rows))
    else:
        sys.stdout.write(formatting.format_list(None, rows, {"Name": "NAME", "Status": "STATUS",
                                                            "ConfigFiles": "CONFIG FILES"},
                                                "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}"))
    return 0


# -- up, down ---------------------------------------------------------------------------------


def _scale_flags(values: list[str]) -> dict[str, int]:
    out = {}
    for v in values:
        name, sep, count = v.partition("=")
        if not sep:
            raise CLIError(f"invalid --scale value {v!r}: expected SERVICE=NUM", 1)
        try:
            out[name] = int(count)
        except ValueError:
            raise CLIError(f"invalid --scale value {v!r}: expected SERVICE=NUM", 1) from None
    return out


def up(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("up", "[OPTIONS] [SERVICE...]", "Create and start containers")
    p.add_argument("-d", "--detach", action="store_true", help="Detached mode: Run containers in the background")
    p.add_argument("--build", action="store_true", help="Build images before starting containers")
    p.add_argument("--no-build", action="store_true", help="Don't build an image, even if it's policy")
    p.add_argument("--pull", default=None, help='Pull image before running ("always"|"missing"|"never")')
    p.add_argument("--wait", action="store_true", help="Wait for services to be running|healthy. Implies detached mode")
    p.add_argument("--wait-timeout", type=int, default=None, help="Maximum duration in seconds to wait")
    p.add_argument("--scale", action="append", default=[], help="Scale SERVICE to NUM instances")
    p.add_argument("--force-recreate", action="store_true", help="Recreate containers even if their configuration "
                                                                     "and image haven't changed")
    p.add_argument("--no-recreate", action="store_true", help="If containers already exist, don't recreate them")
    p.add_argument("--no-deps", action="store_true", help="Don't start linked services")
    p.add_argument("--no-start", action="store_true", help="Don't start the services after creating them")
    p.add_argument("--remove-orphans", action="store_true", help="Remove containers for services not defined in "
                                                                     "the Compose file")
    p.add_argument("--abort-on-container-exit", action="store_true", help="Stops all containers if any container "
                                                                              "was stopped")
    p.add_argument("--exit-code-from", default=None, help="Return the exit code of the selected service container")
    p.add_argument("-t", "--timeout", type=int, default=None, help="Shutdown timeout in seconds")
    p.add_argument("--no-color", action="store_true", help="Produce monochrome output")
    p.add_argument("--no-log-prefix", action="store_true", help="Don't print prefix in logs")
    p.add_argument("--timestamps", action="store_true", help="Show timestamps")
    p.add_argument("--quiet-pull", action="store_true", help="Pull without printing progress information")
    p.add_argument("-V", "--renew-anon-volumes", action="store_true", help="Recreate anonymous volumes")
    p.add_argument("services", nargs="*")
    o = p.parse_args(argv)
    if o.build and o.no_build:
        raise CLIError("--build and --no-build are incompatible", 1)
    if o.detach and (o.abort_on_container_exit or o.exit_code_from):
        raise CLIError("--abort-on-container-exit and --detach are incompatible", 1)
    if o.pull not in (None, "always", "missing", "never"):
        raise CLIError(f"invalid --pull option {o.pull!r}", 1)
    scale = _scale_flags(o.scale)
    project = _load(g, o.services)
    if o.exit_code_from:
        project.service(o.exit_code_from)
    for name in scale:
        project.service(name)
    runner = _runner(ctx, g, project)
    build = "always" if o.build else ("never" if o.no_build else "auto")
    try:
        order = runner.up(o.services, no_deps=o.no_deps, build=build, pull=o.pull,
                          force_recreate=o.force_recreate, no_recreate=o.no_recreate,
                          remove_orphans=o.remove_orphans, scale=scale, timeout=o.timeout, no_start=o.no_start)
        if o.wait and not o.no_start:
            runner.wait_running(order, o.wait_timeout)
    finally:
        runner.progress.done()
    if o.detach or o.wait or o.no_start:
        return 0
    attach_to = o.services or list(project.services)
    return _attached(ctx, g, runner, attach_to if o.services else order, o)


def _attached(ctx: Context, g: Globals, runner: Any, services: list[str], o: argparse.Namespace) -> int:
    """``up`` without ``-d``: the services' logs until they all stop (or one does, with
    ``--abort-on-container-exit``); Ctrl+C stops them."""
    from ..compose.logs import LogPrinter, follow_all

    containers = []
    for c in runner.containers(services):
        info = runner.inspect(c.id)
        containers.append({"Id": c.id, "Name": c.name, "Service": c.service,
                           "Tty": bool((info.get("Config") or {}).get("Tty"))})
    width = max((len(c["Name"]) for c in containers), default=0)
    printer = LogPrinter(sys.stdout.buffer, color=_color(g, o.no_color), prefix=not o.no_log_prefix, width=width)
    exited: list[tuple[dict[str, Any], int]] = []
    event = threading.Event()
    lock = threading.Lock()

    def on_end(c: dict[str, Any]) -> None:
        try:
            code = int(runner.inspect(c["Id"])["State"].get("ExitCode", 0))
        except (APIError, ConnectionFailed, KeyError):
            code = 0
        printer.message(f"{c['Name']} exited with code {code}")
        with lock:
            exited.append((c, code))
        event.set()

    params = {"stdout": True, "stderr": True, "follow": True, "timestamps": o.timestamps}
    printer.message("Attaching to " + ", ".join(c["Name"] for c in containers))
    follow_all(printer, ctx.client, containers, params, on_end)
    abort = o.abort_on_container_exit or bool(o.exit_code_from)
    code = 0
    try:
        while True:
            event.wait(0.5)
            event.clear()
            with lock:
                done = list(exited)
            if abort and done:
                printer.message("Aborting on container exit...")
                break
            if len(done) >= len(containers):
                break
    except KeyboardInterrupt:
        print("Gracefully stopping... (press Ctrl+C again to force)", file=sys.stderr)
        code = 130
    if abort or code == 130:
        for c in runner.containers(services):
            if c.running:
                runner.stop_container(c, o.timeout)
        runner.progress.done()
    if o.exit_code_from:
        for c in runner.containers([o.exit_code_from]):
            return int(runner.inspect(c.id)["State"].get("ExitCode", 0))
    if abort and exited:
        return exited[0][1]
    return code


def scale(ctx: Context, g: Globals, argv: list[str]) -> int:
    """``compose scale SERVICE=REPLICAS...`` (docker compose v2): bring those services
    to that many replicas (highest numbers removed first), their dependencies
    started unless ``--no-deps``; a balanced group's balancer follows its replicas."""
    p = _parser("scale", "[OPTIONS] [SERVICE=REPLICAS...]", "Scale services")
    p.add_argument("--no-deps", action="store_true", help="Don't start linked services")
    p.add_argument("pairs", nargs="*")
    o = p.parse_args(argv)
    if not o.pairs:
        raise CLIError("requires at least 1 argument", 1)
    wanted = _scale_flags(o.pairs)
    if any(n < 0 for n in wanted.values()):
        raise CLIError("replicas must be zero or more", 1)
    project = _load(g)
    for name in wanted:
        project.service(name)
    runner = _runner(ctx, g, project)
    try:
        runner.up(list(wanted), no_deps=o.no_deps, scale=wanted)
    finally:
        runner.progress.done()
    return 0


def down(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("down", "[OPTIONS] [SERVICES]", "Stop and remove containers, networks")
    p.add_argument("-v", "--volumes", action="store_true", help="Remove named volumes declared in the \"volumes\" "
                                                                   "section of the Compose file and anonymous volumes "
                                                                   "attached to containers")
    p.add_argument("--rmi", default=None, help='Remove images used by services. "local" remove only images that '
                                               'don\'t have a custom tag ("local"|"all")')
    p.add_argument("--remove-orphans", action="store_true", help="Remove containers for services not defined in "
                                                                     "the Compose file")
    p.add_argument("-t", "--timeout", type=int, default=None, help="Specify a shutdown timeout in seconds")
    p.add_argument("services", nargs="*")
    o = p.parse_args(argv)
    if o.rmi not in (None, "all", "local"):
        raise CLIError(f"invalid value for --rmi: {o.rmi}", 1)
    project = _load(g)
    runner = _runner(ctx, g, project)
    try:
        runner.down(volumes=o.volumes, rmi=o.rmi, remove_orphans=o.remove_orphans, timeout=o.timeout,
                    services=o.services or None)
    finally:
        runner.progress.done()
    return 0


# -- ps, logs, images, top, port ------------------------------------------------------------------

PS_HEADERS = {"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
              "Project": "PROJECT", "Service": "SERVICE", "CreatedAt": "CREATED AT", "RunningFor": "CREATED",
              "State": "STATE", "Status": "STATUS", "Health": "HEALTH", "ExitCode": "EXIT CODE", "Ports": "PORTS",
              "Labels": "LABELS", "Networks": "NETWORKS", "Mounts": "MOUNTS", "Size": "SIZE",
              "LocalVolumes": "LOCAL VOLUMES"}
PS_FORMAT = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"


def _ps_row(c: Any, no_trunc: bool) -> dict[str, Any]:
    from .. import gotemplate
    from . import formatting

    s = c.summary
    command = s.get("Command", "")
    now = time.time()
    status = s.get("Status", "")
    health = ""
    if "(healthy)" in status:
        health = "healthy"
    elif "(unhealthy)" in status:
        health = "unhealthy"
    elif "(health: starting)" in status:
        health = "starting"
    exit_code = 0
    if s.get("State") == "exited" and "Exited (" in status:
        try:
            exit_code = int(status.split("Exited (", 1)[1].split(")", 1)[0])
        except ValueError:
            exit_code = 0
    from ..compose.convert import LABEL_PROJECT

    return {
        "ID": s["Id"] if no_trunc else s["Id"][:12],
        "Name": c.name, "Names": c.name,
        "Image": s.get("Image", ""),
        "Command": gotemplate.go_quote(command if no_trunc else formatting.ellipsis(command, 20)),
        "Project": c.labels.get(LABEL_PROJECT, ""),
        "Service": c.service,
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(s.get("Created", 0))),
        "RunningFor": formatting.human_duration(max(0.0, now - s.get("Created", 0))) + " ago",
        "State": s.get("State", ""), "Status": status, "Health": health, "ExitCode": exit_code,
        "Ports": formatting.ports_string(s.get("Ports") or []),
        "Publishers": [{"URL": p.get("IP", ""), "TargetPort": p.get("PrivatePort"),
                        "PublishedPort": p.get("PublicPort", 0), "Protocol": p.get("Type", "tcp")}
                       for p in s.get("Ports") or []],
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(c.labels.items())),
        "Networks": ",".join(sorted(((s.get("NetworkSettings") or {}).get("Networks") or {}))),
        "Mounts": ",".join(m.get("Name") or m.get("Source", "") for m in s.get("Mounts") or []),
        "LocalVolumes": str(sum(1 for m in s.get("Mounts") or [] if m.get("Driver") == "local")),
        "Size": "",
    }


def ps(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("ps", "[OPTIONS] [SERVICE...]", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all stopped containers (including those created by "
                                                               "the run command)")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display IDs")
    p.add_argument("--format", default=None, help="Format output using a custom template: 'table' (default), "
                                                  "'json', or a Go template")
    p.add_argument("--services", dest="list_services", action="store_true", help="Display services")
    p.add_argument("--status", action="append", default=[], help="Filter services by status")
    p.add_argument("--filter", action="append", default=[], help="Filter services by a property (status=...)")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("--orphans", default="true", help="Include orphaned services (not declared by project)")
    p.add_argument("services", nargs="*")
    o = p.parse_args(argv)
    project = _load(g)
    project.check_services(o.services)
    from ..compose.runner import Runner

    runner = Runner(ctx.client, project)
    statuses = set(o.status) | {f.split("=", 1)[1] for f in o.filter if f.startswith("status=")}
    containers = runner.containers(o.services or None, all=o.all or bool(statuses), oneoff=None if o.all else False)
    if statuses:
        containers = [c for c in containers if c.state in statuses]
    if o.orphans.lower() == "false":
        containers = [c for c in containers if c.service in project.services]
    if o.list_services:
        for name in dict.fromkeys(c.service for c in containers):
            print(name)
        return 0
    if o.quiet:
        for c in containers:
            print(c.id)
        return 0
    rows = [_ps_row(c, o.no_trunc) for c in containers]
    if o.format == "json":
        for r in rows:
            print(json.dumps(r))
        return 0
    from .. import gotemplate
    from . import formatting

    try:
        sys.stdout.write(formatting.format_list(o.format, rows, PS_HEADERS, PS_FORMAT))
    except gotemplate.TemplateError as exc:
        raise CLIError(f"template parsing error: {exc}", 1) from None
    return 0


def logs(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("logs", "[OPTIONS] [SERVICE...]", "View output from containers")
    p.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    p.add_argument("-n", "--tail", default="all", help="Number of lines to show from the end of the logs for each "
                                                       "container")
    p.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    p.add_argument("--since", default="", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative")
    p.add_argument("--until", default="", help="Show logs before a timestamp or relative")
    p.add_argument("--no-color", action="store_true", help="Produce monochrome output")
    p.add_argument("--no-log-prefix", action="store_true", help="Don't print prefix in logs")
    p.add_argument("--index", type=int, default=None, help="index of the container if service has multiple replicas")
    p.add_argument("services", nargs="*")
    o = p.parse_args(argv)
    project = _load(g)
    project.check_services(o.services)
    from ..compose.logs import LogPrinter, follow_all
    from ..compose.runner import Runner

    runner = Runner(ctx.client, project)
    found = runner.containers(o.services or None, all=True, oneoff=None)
    if o.index is not None:
        found = [c for c in found if c.number == o.index]
    containers = []
    for c in found:
        info = runner.inspect(c.id)
        containers.append({"Id": c.id, "Name": c.name, "Service": c.service,
                           "Tty": bool((info.get("Config") or {}).get("Tty"))})
    params: dict[str, Any] = {"stdout": True, "stderr": True, "follow": o.follow, "tail": o.tail,
                              "timestamps": o.timestamps}
    from ..rules.timestamps import get_timestamp

    now = time.time()
    try:
        if o.since:
            params["since"] = get_timestamp(o.since, now)
        if o.until:
            params["until"] = get_timestamp(o.until, now)
    except Exception as exc:  # noqa: BLE001 - shown to the user
        raise CLIError(f"invalid value for \"since\": {exc}", 1) from None
    width = max((len(c["Name"]) for c in containers), default=0)
    printer = LogPrinter(sys.stdout.buffer, color=_color(g, o.no_color), prefix=not o.no_log_prefix, width=width)
    threads = follow_all(printer, ctx.client, containers, params)
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except KeyboardInterrupt:
        return 0
    return 0


def images(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("images", "[OPTIONS] [SERVICE...]", "List images used by the created containers")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display IDs")
    p.add_argument("--format", default=None, help="Format the output. Values: [table | json]")
    p.add_argument("services", nargs="*")
    o = p.parse_args(argv)
    project = _load(g)
    project.check_services(o.services)
    from ..compose.runner import Runner
    from . import formatting

    runner = Runner(ctx.client, project)
    rows = []
    for c in runner.containers(o.services or None, all=True, oneoff=None):
        info = runner.inspect(c.id)
        image_id = info.get("Image", "")
        try:
            img = ctx.client.images.inspect(image_id)
        except APIError:
            img = {}
        ref = (info.get("Config") or {}).get("Image", "")
        repo, tag = ref, "latest"
        if "@" not in ref and ":" in ref.rsplit("/", 1)[-1]:
            repo, tag = ref.rsplit(":", 1)
        rows.append({"ContainerName": c.name, "Repository": repo, "Tag": tag,
                     "ID": image_id.split(":", 1)[-1][:12], "Size": formatting.human_size(img.get("Size", 0)),
                     "FullID": image_id})
    if o.quiet:
        for r in dict.fromkeys(r["FullID"] for r in rows):
            print(r)
        return 0
    if o.format == "json":
        print(json.dumps([{k: v for k, v in r.items() if k != "FullID"} for r in rows]))
        return 0
    sys.stdout.write(formatting.format_list(None, rows, {"ContainerName": "CONTAINER", "Repository": "REPOSITORY",
                                                        "Tag": "TAG", "ID": "IMAGE ID", "Size": "SIZE"},
                                            "table {{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"))
    return 0


def top(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("top", "[SERVICES...]", "Display the running processes")
    p.add_argument("services", nargs="*")
    o = p.parse_args(argv)
    project = _load(g)
    project.check_services(o.services)
    from ..compose.runner import Runner
    from .formatting import Table

    runner = Runner(ctx.client, project)
    first = True
    for c in runner.containers(o.services or None, all=False):
        result = ctx.client.containers.top(c.id)
        if not first:
            print()
        first = False
        print(c.name)
        table = Table(result.get("Titles") or [])
        for row in result.get("Processes") or []:
            table.add_row(row)
        sys.stdout.write(table.render())
    return 0


def port(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("port", "[OPTIONS] SERVICE PRIVATE_PORT", "Print the public port for a port binding")
    p.add_argument("--protocol", default="tcp", help="tcp or udp")
    p.add_argument("--index", type=int, default=1, help="Index of the container if service has multiple replicas")
    p.add_argument("service")
    p.add_argument("private_port")
    o = p.parse_args(argv)
    project = _load(g)
    project.service(o.service)
    from ..compose.runner import Runner

    runner = Runner(ctx.client, project)
    found = [c for c in runner.containers([o.service]) if c.number == o.index]
    if not found:
        raise CLIError(f"service \"{o.service}\" is not running container #{o.index}", 1)
    info = runner.inspect(found[0].id)
    number, _, proto = o.private_port.partition("/")
    key = f"{number}/{proto or o.protocol}"
    bindings = ((info.get("NetworkSettings") or {}).get("Ports") or {}).get(key) or []
    bindings = bindings or _balanced_bindings(ctx, info, int(number), proto or o.protocol)
    if not bindings:
        raise CLIError(f"no port {key} for container {found[0].name}", 1)
    b = bindings[0]
    print(f"{b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort', '')}")
    return 0


def _balanced_bindings(ctx: Context, info: dict[str, Any], port: int, proto: str) -> list[dict[str, Any]]:
    """A replica's published port when its group holds it (replicated services share
    one published port, held by the engine's balancer, not by any one container)."""
    group = ((info.get("Config") or {}).get("Labels") or {}).get("io.baleine.balance")
    if not group:
        return []
    for g in ctx.client.networks.balancers():
        if g.get("Name") == group:
            return [{"HostIp": p.get("HostIp"), "HostPort": str(p.get("HostPort"))} for p in g.get("Ports") or []
                    if p.get("Port") == port and p.get("Protocol") == proto]
    return []


# -- lifecycle of existing containers -------------------------------------------------------------


def _simple_targets(ctx: Context, g: Globals, argv: list[str], command: str, description: str,
                    extra: Any = None) -> tuple[argparse.Namespace, Any]:
    p = _parser(command, "[OPTIONS] [SERVICE...]", description)
    if extra:
        extra(p)
    p.add_argument("services", nargs="*")
    o = p.parse_args(argv)
    project = _load(g)
    project.check_services(o.services)
    return o, _runner(ctx, g, project)


def start(ctx: Context, g: Globals, argv: list[str]) -> int:
    o, runner = _simple_targets(ctx, g, argv, "start", "Start services")
    project = runner.project
    names = project.start_order(o.services or None) if o.services else project.start_order()
    try:
        scope = set(names)
        for name in names:
            containers = runner.containers([name])
            if not containers:
                continue
            runner.wait_dependencies(name, scope)
            for c in containers:
                if not c.running:
                    runner.start_container(c.id, c.name)
    finally:
        runner.progress.done()
    return 0


def _timeout(p: Parser) -> None:
    p.add_argument("-t", "--timeout", type=int, default=None, help="Specify a shutdown timeout in seconds")


def stop(ctx: Context, g: Globals, argv: list[str]) -> int:
    o, runner = _simple_targets(ctx, g, argv, "stop", "Stop services", _timeout)
    from ..compose.runner import service_order_for_stop

    try:
        for name in service_order_for_stop(runner.project, o.services or list(runner.project.services)):
            if o.services and name not in o.services:
                continue
            for c in runner.containers([name]):
                if c.running:
                    runner.stop_container(c, runner._stop_timeout(name, o.timeout))
    finally:
        runner.progress.done()
    return 0


def restart(ctx: Context, g: Globals, argv: list[str]) -> int:
    def flags(p: Parser) -> None:
        _timeout(p)
        p.add_argument("--no-deps", action="store_true", help="Don't restart dependent services")

    o, runner = _simple_targets(ctx, g, argv, "restart", "Restart service containers", flags)
    from ..compose import graph

    project = runner.project
    names = o.services or list(project.services)
    if not o.no_deps and o.services:
        # Services that declared `restart: true` on a restarted dependency restart too.
        extra = {s for s, svc in project.services.items()
                 for d, spec in (svc.get("depends_on") or {}).items() if d in names and spec.get("restart")}
        names = list(dict.fromkeys(names + sorted(extra)))
    try:
        for name in graph.start_order(project.services, names):
            if name not in names:
                continue
            for c in runner.containers([name]):
                resource = f"Container {c.name}"
                runner.progress.event(resource, "Restarting")
                ctx.client.containers.restart(c.id, timeout=runner._stop_timeout(name, o.timeout))
                runner.progress.event(resource, "Started")
    finally:
        runner.progress.done()
    return 0


def kill(ctx: Context, g: Globals, argv: list[str]) -> int:
    def flags(p: Parser) -> None:
        p.add_argument("-s", "--signal", default="SIGKILL", help="SIGNAL to send to the container")
        p.add_argument("--remove-orphans", action="store_true", help="Remove containers for services not defined")

    o, runner = _simple_targets(ctx, g, argv, "kill", "Force stop service containers", flags)
    try:
        for c in runner.containers(o.services or None):
            if c.running:
                resource = f"Container {c.name}"
                runner.progress.event(resource, "Killing")
                ctx.client.containers.kill(c.id, signal=o.signal)
                runner.progress.event(resource, "Killed")
    finally:
        runner.progress.done()
    return 0


def _pause_like(ctx: Context, g: Globals, argv: list[str], command: str) -> int:
    o, runner = _simple_targets(ctx, g, argv, command, f"{command.capitalize()} services")
    try:
        for c in runner.containers(o.services or None):
            resource = f"Container {c.name}"
            if command == "pause" and c.state == "running" or command == "unpause" and c.state == "paused":
                runner.progress.event(resource, "Pausing" if command == "pause" else "Unpausing")
                (ctx.client.containers.pause if command == "pause" else ctx.client.containers.unpause)(c.id)
                runner.progress.event(resource, "Paused" if command == "pause" else "Unpaused")
    finally:
        runner.progress.done()
    return 0


def pause(ctx: Context, g: Globals, argv: list[str]) -> int:
    return _pause_like(ctx, g, argv, "pause")


def unpause(ctx: Context, g: Globals, argv: list[str]) -> int:
    return _pause_like(ctx, g, argv, "unpause")


def rm(ctx: Context, g: Globals, argv: list[str]) -> int:
    def flags(p: Parser) -> None:
        p.add_argument("-f", "--force", action="store_true", help="Don't ask to confirm removal")
        p.add_argument("-s", "--stop", action="store_true", help="Stop the containers, if required, before removing")
        p.add_argument("-v", "--volumes", action="store_true", help="Remove any anonymous volumes attached to "
                                                                       "containers")

    o, runner = _simple_targets(ctx, g, argv, "rm", "Removes stopped service containers", flags)
    try:
        containers = runner.containers(o.services or None, oneoff=None)
        if o.stop:
            for c in containers:
                if c.running:
                    runner.stop_container(c, None)
            containers = runner.containers(o.services or None, oneoff=None)
        stopped = [c for c in containers if not c.running]
        if not stopped:
            print("No stopped containers", file=sys.stderr)
            return 0
        if not o.force:
            sys.stdout.write(f"Going to remove {', '.join(c.name for c in stopped)}\n? Are you sure? [yN] ")
            sys.stdout.flush()
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                return 0
        for c in stopped:
            runner.remove_container(c, volumes=o.volumes, force=False)
    finally:
        runner.progress.done()
    return 0


# -- build, pull, push ----------------------------------------------------------------------------


def build(ctx: Context, g: Globals, argv: list[str]) -> int:
    def flags(p: Parser) -> None:
        p.add_argument("--no-cache", action="store_true", help="Do not use cache when building the image")
        p.add_argument("--pull", action="store_true", help="Always attempt to pull a newer version of the image")
        p.add_argument("-q", "--quiet", action="store_true", help="Don't print anything to STDOUT")
        p.add_argument("--build-arg", action="append", default=[], help="Set build-time variables for services")

    o, runner = _simple_targets(ctx, g, argv, "build", "Build or rebuild services", flags)
    project = runner.project
    args = {}
    for a in o.build_arg:
        k, sep, v = a.partition("=")
        if sep:
            args[k] = v
        elif k in os.environ:
            args[k] = os.environ[k]
    names = [n for n in (o.services or sorted(project.services)) if project.services[n].get("build")]
    try:
        runner.build(names, no_cache=o.no_cache, pull=o.pull, quiet=o.quiet, build_args=args)
    finally:
        runner.progress.done()
    return 0


def pull(ctx: Context, g: Globals, argv: list[str]) -> int:
    def flags(p: Parser) -> None:
        p.add_argument("--ignore-pull-failures", action="store_true", help="Pull what it can and ignores images with "
                                                                               "pull failures")
        p.add_argument("--ignore-buildable", action="store_true", help="Ignore images that can be built")
        p.add_argument("--include-deps", action="store_true", help="Also pull services declared as dependencies")
        p.add_argument("-q", "--quiet", action="store_true", help="Pull without printing progress information")
        p.add_argument("--policy", default=None, help="Apply pull policy (\"missing\"|\"always\")")

    o, runner = _simple_targets(ctx, g, argv, "pull", "Pull service images", flags)
    project = runner.project
    names = o.services or sorted(project.services)
    if o.include_deps:
        names = project.start_order(names)
    status = 0
    try:
        for name in names:
            svc = project.services[name]
            if not svc.get("image"):
                continue
            if svc.get("build") and o.ignore_buildable:
                continue
            if o.policy == "missing" and runner.image_id(project.image(name)):
                continue
            try:
                runner.pull_one(name, quiet=o.quiet)
            except APIError as exc:
                if svc.get("build"):
                    continue  # buildable: a failed pull is not an error, as with docker compose
                if not o.ignore_pull_failures:
                    raise
                print(f"WARN: {name}: {exc.message}", file=sys.stderr)
                status = 0
    finally:
        runner.progress.done()
    return status


def push(ctx: Context, g: Globals, argv: list[str]) -> int:
    def flags(p: Parser) -> None:
        p.add_argument("--ignore-push-failures", action="store_true", help="Push what it can and ignores images with "
                                                                               "push failures")
        p.add_argument("--include-deps", action="store_true", help="Also push images of services declared as "
                                                                       "dependencies")
        p.add_argument("-q", "--quiet", action="store_true", help="Push without printing progress information")

    o, runner = _simple_targets(ctx, g, argv, "push", "Push service images", flags)
    project = runner.project
    names = o.services or sorted(project.services)
    if o.include_deps:
        names = project.start_order(names)
    from .distribution import pull_headers

    try:
        for name in names:
            svc = project.services[name]
            if not svc.get("image"):
                continue
            ref = svc["image"]
            repo, tag = ref, "latest"
            if "@" not in ref and ":" in ref.rsplit("/", 1)[-1]:
                repo, tag = ref.rsplit(":", 1)
            resource = f"Image {ref}"
            runner.progress.event(resource, "Pushing")
            try:
                for msg in ctx.client.images.push(repo, tag, headers=pull_headers(ref)):
                    if msg.get("error"):
                        raise APIError(500, msg["error"])
            except APIError as exc:
                runner.progress.event(resource, "Error", exc.message)
                if not o.ignore_push_failures:
                    raise
                continue
            runner.progress.event(resource, "Pushed")
    finally:
        runner.progress.done()
    return 0


# -- exec, run ---------------------------------------------------------------------------------


def exec_(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("exec", "[OPTIONS] SERVICE COMMAND [ARGS...]", "Execute a command in a running container")
    p.add_argument("-d", "--detach", action="store_true", help="Detached mode: Run command in the background")
    p.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true", help="Disable pseudo-TTY allocation")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("-u", "--user", default="", help="Run the command as this user")
    p.add_argument("-w", "--workdir", default="", help="Path to workdir directory for this command")
    p.add_argument("--index", type=int, default=1, help="Index of the container if service has multiple replicas")
    p.add_argument("--privileged", action="store_true", help="Give extended privileges to the process")
    p.add_argument("-i", "--interactive", action="store_true", default=True, help=argparse.SUPPRESS)
    p.add_argument("-t", "--tty", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("service")
    p.add_argument("command", nargs=argparse.REMAINDER)
    o = p.parse_args(argv)
    if not o.command:
        raise CLIError("\"compose exec\" requires at least 2 arguments.", 1)
    project = _load(g)
    project.service(o.service)
    from ..compose.runner import Runner

    runner = Runner(ctx.client, project)
    found = [c for c in runner.containers([o.service]) if c.number == o.index and c.running]
    if not found:
        raise CLIError(f"service \"{o.service}\" is not running", 1)
    tty = not o.no_tty and _tty(sys.stdin) and _tty(sys.stdout)
    args = []
    if o.detach:
        args.append("-d")
    elif _stdin_open():
        args.append("-i")
    if tty:
        args.append("-t")
    for e in o.env:
        args += ["-e", e]
    if o.user:
        args += ["-u", o.user]
    if o.workdir:
        args += ["-w", o.workdir]
    if o.privileged:
        args.append("--privileged")
    from .exec import exec_ as docker_exec

    return docker_exec(ctx, args + [found[0].id] + o.command)


def run(ctx: Context, g: Globals, argv: list[str]) -> int:
    p = _parser("run", "[OPTIONS] SERVICE [COMMAND] [ARGS...]", "Run a one-off command on a service")
    p.add_argument("-d", "--detach", action="store_true", help="Run container in background and print container ID")
    p.add_argument("--rm", action="store_true", help="Automatically remove the container when it exits")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("--name", default=None, help="Assign a name to the container")
    p.add_argument("--entrypoint", default=None, help="Override the entrypoint of the image")
    p.add_argument("-u", "--user", default=None, help="Run as specified username or uid")
    p.add_argument("-w", "--workdir", default=None, help="Working directory inside the container")
    p.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true", help="Disable pseudo-TTY allocation")
    p.add_argument("-i", "--interactive", action="store_true", default=True, help="Keep STDIN open even if not attached")
    p.add_argument("--no-deps", action="store_true", help="Don't start linked services")
    p.add_argument("--service-ports", action="store_true", help="Run command with all service's ports enabled and "
                                                                   "mapped to the host")
    p.add_argument("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    p.add_argument("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    p.add_argument("-l", "--label", action="append", default=[], help="Add or override a label")
    p.add_argument("--build", action="store_true", help="Build image before starting container")
    p.add_argument("--pull", default=None, help="Pull image before running (\"always\"|\"missing\"|\"never\")")
    p.add_argument("--remove-orphans", action="store_true", help="Remove containers for services not defined")
    p.add_argument("--use-aliases", action="store_true", help="Use the service's network aliases")
    p.add_argument("-q", "--quiet", action="store_true", help="Don't print anything to STDOUT")
    p.add_argument("service")
    p.add_argument("command", nargs=argparse.REMAINDER)
    o = p.parse_args(argv)
    project = _load(g, [o.service])
    svc = project.service(o.service)
    runner = _runner(ctx, g, project)
    from ..compose import graph

    try:
        if not o.no_deps:
            deps = [d for d in graph.start_order(project.services, [o.service]) if d != o.service]
            if deps:
                runner.up(deps, build="always" if o.build else "auto", pull=o.pull)
                scope = set(deps)
                runner.wait_dependencies(o.service, scope)
        runner.ensure_networks(project.used_networks([o.service]))
        runner.ensure_volumes(project.used_volumes([o.service]))
        images = runner.ensure_images([o.service], build="always" if o.build else "auto", pull=o.pull)
    finally:
        runner.progress.done()
    tty = not o.no_tty and not o.detach and _tty(sys.stdin) and _tty(sys.stdout)
    entrypoint = None
    if o.entrypoint is not None:
        import shlex

        entrypoint = shlex.split(o.entrypoint) if o.entrypoint else [""]
    env = [e if "=" in e or e not in os.environ else f"{e}={os.environ[e]}" for e in o.env]
    labels = dict(lbl.partition("=")[::2] for lbl in o.label)
    publish = o.service_ports
    if o.publish or o.volume:
        # -p and -v apply to this one-off container only.
        from ..compose.normalize import parse_port, parse_volume

        run_svc = dict(svc)
        ports = list(svc.get("ports") or []) if o.service_ports else []
        for i, spec in enumerate(o.publish):
            ports += parse_port(spec, f"--publish[{i}]")
        run_svc["ports"] = ports
        run_svc["volumes"] = list(svc.get("volumes") or []) + [parse_volume(v, "--volume", os.getcwd())
                                                                 for v in o.volume]
        project.services[o.service] = run_svc
        publish = True
    cid, name = runner.run_container(o.service, images[o.service], name=o.name,
                                     command=o.command or None, entrypoint=entrypoint, env=env,
                                     publish=publish, tty=tty, stdin_open=not o.detach and o.interactive,
                                     user=o.user, workdir=o.workdir, extra_labels=labels)
    if o.detach:
        with ctx.api():
            ctx.client.containers.start(cid)
        print(name)
        return 0
    return _run_attached(ctx, cid, tty, o.rm)


def _run_attached(ctx: Context, cid: str, tty: bool, remove: bool) -> int:
    from .streams import pump, terminal_size

    client = ctx.client
    stdin = _stdin_open()
    with ctx.api():
        sock, initial = client.containers.attach(cid, stdin=True)
        wait = client.containers.wait_response(cid, "next-exit")
        client.containers.start(cid)
    if tty:
        size = terminal_size()
        if size:
            try:
                client.containers.resize(cid, size[0], size[1])
            except APIError:
                pass
    old = signal.getsignal(signal.SIGINT)
    try:
        pump(sock, initial or b"", tty, stdin, None, close_on_eof=True)
    finally:
        signal.signal(signal.SIGINT, old)
    try:
        result = json.loads(wait.read() or b"{}")
    except (ValueError, OSError):
        result = {}
    code = int(result.get("StatusCode", 0))
    if remove:
        try:
            client.containers.remove(cid, force=True, volumes=True)
        except APIError:
            pass
    return code


COMMANDS = {
    "build": build, "config": config, "convert": config, "down": down, "exec": exec_, "images": images,
    "kill": kill, "logs": logs, "ls": ls, "pause": pause, "port": port, "ps": ps, "pull": pull, "push": push,
    "restart": restart, "rm": rm, "run": run, "scale": scale, "start": start, "stop": stop, "top": top,
    "unpause": unpause,
    "up": up, "version": version,
}
