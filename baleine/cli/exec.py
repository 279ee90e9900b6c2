"""``baleine exec``: run a command in a running container."""

from __future__ import annotations

import os
import sys

from .context import CLIError, Context, Parser
from .streams import configured_detach_keys, pump, terminal_size
from .usage import REMAINDER


def _env_files(paths: list[str]) -> list[str]:
    """The variables of ``--env-file`` files, as ``run`` reads them (its module is
    imported only when there are some: exec's start-up is benchmarked)."""
    if not paths:
        return []
    from .run import read_env_files

    return read_env_files(paths)


def exec_(ctx: Context, argv: list[str]) -> int:
    p = Parser("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container")
    p.add_argument("-d", "--detach", action="store_true", help="Detached mode: run command in the background")
    p.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-u", "--user", default="", help="Username or UID (format: \"<name|uid>[:<group|gid>]\")")
    p.add_argument("-w", "--workdir", default="", help="Working directory inside the container")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="Read in a file of environment variables")
    p.add_argument("--privileged", action="store_true", help="Give extended privileges to the command")
    p.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    p.add_argument("container")
    p.add_argument("command", nargs=REMAINDER)
    o = p.parse_args(argv)
    if not o.command:
        raise CLIError("\"baleine exec\" requires at least 2 arguments.\nSee 'baleine exec --help'.", 1)
    if o.tty and o.interactive and not os.isatty(0):
        raise CLIError("the input device is not a TTY", 1)
    env = _env_files(o.env_file) + [e if "=" in e or e not in os.environ else f"{e}={os.environ[e]}"
                                     for e in o.env]
    body = {
        "User": o.user, "Privileged": o.privileged, "Tty": o.tty,
        "AttachStdin": o.interactive and not o.detach, "AttachStdout": not o.detach,
        "AttachStderr": not o.detach, "Detach": o.detach, "Env": env, "WorkingDir": o.workdir,
        "Cmd": o.command,
    }
    detach_keys = configured_detach_keys(o.detach_keys)
    if detach_keys:
        body["DetachKeys"] = detach_keys
    size = terminal_size() if o.tty else None
    if size:
        body["ConsoleSize"] = [size[0], size[1]]
    with ctx.api():
        exec_id = ctx.client.exec.create(o.container, body)
        if o.detach:
            ctx.client.exec.start_detached(exec_id, o.tty, size)
            return 0
        sock, initial = ctx.client.exec.start(exec_id, o.tty, size)

    def resize(h: int, w: int) -> None:
        try:
            ctx.client.exec.resize(exec_id, h, w)
        except Exception:  # noqa: BLE001 - best effort
            pass

    if pump(sock, initial, o.tty, o.interactive, resize if o.tty else None, detach_keys=detach_keys):
        print("read escape sequence", file=sys.stderr)  # as docker exec, which exits 1
        return 1
    with ctx.api():
        result = ctx.client.exec.inspect(exec_id)
    code = result.get("ExitCode")
    if code is None:
        print("Error: exec did not report an exit code", file=sys.stderr)
        return 126
    return int(code)
