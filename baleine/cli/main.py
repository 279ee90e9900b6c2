"""``baleine``: the command line, shaped like ``docker``'s.

Commands live in modules named after what they act on (containers, images,
system...), imported only when used, so that ``baleine run`` starts fast. Every
command talks to the daemon through ``baleine.client`` only. When no daemon answers
on the default socket, one is started in the background.
"""

from __future__ import annotations

import os
import sys

from .context import CLIError, Context, die

def _module(name: str) -> object:
    """``importlib.import_module`` without importing importlib (and warnings): the CLI's
    start-up is measured in milliseconds."""
    __import__(name)
    return sys.modules[name]


# name -> (module, function). Management commands map "<group> <sub>". A module is
# one of baleine.cli's, or a full dotted name for entry points that live with what
# they run (the daemon, the registry server): the CLI package never imports those.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run"),
    "build": ("build", "build"),
    "builder prune": ("build", "prune"),
    "create": ("run", "create"),
    "start": ("containers", "start"),
    "stop": ("containers", "stop"),
    "restart": ("containers", "restart"),
    "kill": ("containers", "kill"),
    "rm": ("containers", "rm"),
    "ps": ("containers", "ps"),
    "logs": ("containers", "logs"),
    "attach": ("containers", "attach"),
    "wait": ("containers", "wait"),
    "pause": ("containers", "pause"),
    "unpause": ("containers", "unpause"),
    "rename": ("containers", "rename"),
    "diff": ("containers", "diff"),
    "commit": ("containers", "commit"),
    "top": ("top", "top"),
    "stats": ("stats", "stats"),
    "port": ("port", "port"),
    "cp": ("cp", "cp"),
    "export": ("export", "export"),
    "update": ("update", "update"),
    "exec": ("exec", "exec_"),
    "images": ("images", "images"),
    "rmi": ("images", "rmi"),
    "tag": ("images", "tag"),
    "history": ("images", "history"),
    "save": ("images", "save"),
    "load": ("images", "load"),
    "import": ("images", "import_"),
    "pull": ("distribution", "pull"),
    "push": ("distribution", "push"),
    "login": ("distribution", "login"),
    "search": ("distribution", "search"),
    "logout": ("distribution", "logout"),
    "inspect": ("system", "inspect"),
    "version": ("version", "version"),
    "info": ("system", "info"),
    "events": ("system", "events"),
    "daemon": ("baleine.daemon.command", "daemon"),
    "compose": ("compose", "compose"),
    "ui": ("ui", "ui"),
}

GROUPS: dict[str, dict[str, str]] = {
    "container": {"ls": "ps", "list": "ps", "ps": "ps", "run": "run", "create": "create", "start": "start",
                  "stop": "stop", "restart": "restart", "kill": "kill", "rm": "rm", "remove": "rm",
                  "logs": "logs", "attach": "attach", "wait": "wait", "pause": "pause",
                  "unpause": "unpause", "rename": "rename", "diff": "diff", "commit": "commit", "top": "top",
                  "stats": "stats", "port": "port", "cp": "cp", "export": "export", "exec": "exec",
                  "inspect": "container inspect", "prune": "container prune", "update": "update"},
    "image": {"ls": "images", "list": "images", "rm": "rmi", "remove": "rmi", "tag": "tag",
              "history": "history", "save": "save", "load": "load", "import": "import", "pull": "pull",
              "push": "push", "inspect": "image inspect", "prune": "image prune", "build": "build"},
    "system": {"info": "info", "events": "events", "df": "system df", "prune": "system prune"},
    "builder": {"build": "build", "prune": "builder prune"},
    "network": {sub: f"network {sub}" for sub in ("create", "ls", "inspect", "rm", "prune", "connect", "disconnect")}
    | {"list": "network ls", "remove": "network rm"},
    "volume": {sub: f"volume {sub}" for sub in ("create", "ls", "inspect", "rm", "prune")}
    | {"list": "volume ls", "remove": "volume rm"},
    "registry": {"serve": "registry serve", "gc": "registry gc", "htpasswd": "registry htpasswd"},
    "kube": {"config": "kube config", "generate": "kube generate"},
}
COMMANDS.update({f"network {sub}": ("networks", sub) for sub in ("create", "ls", "inspect", "rm", "prune",
                                                                   "connect", "disconnect")})
COMMANDS.update({f"volume {sub}": ("volumes", sub) for sub in ("create", "ls", "inspect", "rm", "prune")})
COMMANDS.update({
    "container inspect": ("containers", "inspect_containers"),
    "container prune": ("containers", "prune"),
    "image inspect": ("images", "inspect_images"),
    "image prune": ("images", "prune"),
    "system df": ("system", "df"),
    "registry serve": ("baleine.distribution.server.command", "serve"),
    "registry gc": ("baleine.distribution.server.command", "gc"),
    "registry htpasswd": ("baleine.distribution.server.command", "htpasswd"),
    "system prune": ("system", "prune"),
    "kube config": ("kube", "config"),
    "kube generate": ("kube", "generate"),
})

USAGE = """Usage:  baleine [OPTIONS] COMMAND

A container engine that speaks Docker's API

Common Commands:
  run         Create and run a new container from an image
  build       Build an image from a Dockerfile
  exec        Execute a command in a running container
  ps          List containers
  images      List images
  load        Load an image from a tar archive or STDIN
  info        Display system-wide information
  pull        Download an image from a registry
  push        Upload an image to a registry
  login       Log in to a registry
  logout      Log out from a registry

Management Commands:
  container   Manage containers
  image       Manage images
  builder     Manage builds (prune the build cache)
  network     Manage networks
  volume      Manage volumes
  system      Manage Baleine
  registry    Run Baleine's own registry server (serve, gc, htpasswd)
  compose     Define and run multi-container applications (docker compose)

Commands:
  attach  commit  cp  create  diff  events  export  history  import  inspect  kill
  logs  pause  port  rename  restart  rm  rmi  save  start  stats  stop  tag  top
  unpause  update  version  wait  search  daemon

Global Options:
  -H, --host string   Daemon socket to connect to (env BALEINE_HOST)
      --tls           Use TLS; implied by --tlsverify
      --tlscacert string  Trust certs signed only by this CA (default ~/.baleine/ca.pem)
      --tlscert string    Path to TLS certificate file (default ~/.baleine/cert.pem)
      --tlskey string     Path to TLS key file (default ~/.baleine/key.pem)
      --tlsverify     Use TLS and verify the remote (env BALEINE_TLS_VERIFY, BALEINE_CERT_PATH)
  -v, --version       Print version information and quit

Run 'baleine COMMAND --help' for more information on a command.
"""


def _split_globals(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Global options (before the command), and the rest."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-H", "--host"):
            if i + 1 >= len(argv):
                raise CLIError(f"flag needs an argument: {a}", 125)
            opts["host"] = argv[i + 1]
            i += 2
        elif a.startswith("--host="):
            opts["host"] = a.split("=", 1)[1]
            i += 1
        elif a.startswith("-H") and len(a) > 2:
            opts["host"] = a[2:]
            i += 1
        elif a in ("--tls", "--tlsverify"):
            opts[a[2:]] = "1"
            i += 1
        elif a.startswith(("--tls=", "--tlsverify=")):
            name, _, value = a[2:].partition("=")
            if value.lower() in ("1", "true"):
                opts[name] = "1"
            i += 1
        elif a in ("--tlscacert", "--tlscert", "--tlskey"):
            if i + 1 >= len(argv):
                raise CLIError(f"flag needs an argument: {a}", 125)
            opts[a[2:]] = argv[i + 1]
            i += 2
        elif a.startswith(("--tlscacert=", "--tlscert=", "--tlskey=")):
            name, _, value = a[2:].partition("=")
            opts[name] = value
            i += 1
        elif a in ("-D", "--debug"):
            opts["debug"] = "1"
            i += 1
        elif a in ("-l", "--log-level"):
            i += 2
        elif a in ("-v", "--version"):
            opts["version"] = "1"
            i += 1
        elif a in ("-h", "--help"):
            opts["help"] = "1"
            i += 1
        else:
            break
    return opts, argv[i:]


def _tls(opts: dict[str, str]):  # noqa: ANN202 - client.tls.TLSOptions | None
    """TLS options from the global flags and BALEINE_TLS_VERIFY/BALEINE_CERT_PATH; the
    ssl module is imported only when TLS is asked for."""
    if not any(k.startswith("tls") for k in opts) and not os.environ.get("BALEINE_TLS_VERIFY"):
        return None
    from ..client.tls import TLSOptions

    return TLSOptions.from_flags(opts)


def resolve(args: list[str]) -> tuple[str, list[str]]:
    """The command key and its arguments, through management groups."""
    if not args:
        raise CLIError(USAGE, 0)
    name, rest = args[0], args[1:]
    if name in GROUPS:
        if not rest or rest[0] in ("-h", "--help"):
            subs = ", ".join(sorted(GROUPS[name]))
            raise CLIError(f"Usage:  baleine {name} COMMAND\n\nCommands: {subs}", 0 if rest else 0)
        sub = GROUPS[name].get(rest[0])
        if sub is None:
            raise CLIError(f"baleine: '{name} {rest[0]}' is not a baleine command.\n"
                           f"See 'baleine {name} --help'", 1)
        return sub, rest[1:]
    if name not in COMMANDS:
        raise CLIError(f"baleine: '{name}' is not a baleine command.\nSee 'baleine --help'", 1)
    return name, rest


#: The everyday commands, whose process ends without the interpreter's teardown
#: (``run_and_exit``): they leave no thread, atexit handler or open file behind, and
#: the teardown of a dozen modules is a millisecond or two of each (measured with
#: ``exec``). Commands that write files, run threads or hold a daemon keep the normal exit.
QUICK_EXIT = frozenset({"version", "ps", "exec", "run", "inspect", "container inspect", "start", "stop",
                        "rm", "kill", "wait", "port"})

_ran: list[str] = []  # the command main() ran (run_and_exit reads it)


def run_and_exit() -> None:
    """The launcher's entry: :func:`main`, then exit with its status. After a
    :data:`QUICK_EXIT` command (and when no thread was ever imported), stdout and
    stderr are flushed and the process ends at once (``os._exit``); otherwise, and
    when a flush fails, through ``sys.exit`` as usual."""
    code = main()
    if _ran and _ran[0] in QUICK_EXIT and "threading" not in sys.modules:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)
        os._exit(code & 0xFF)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = _split_globals(argv)
        if opts.get("version"):
            from .. import __version__

            print(f"Baleine version {__version__}")
            return 0
        if opts.get("help") and not rest:
            print(USAGE, end="")
            return 0
        key, args = resolve(rest)
        _ran[:] = [key]
        module, func = COMMANDS[key]
        ctx = Context(host=opts.get("host"), command=key, tls=_tls(opts))
        fn = getattr(_module(module if "." in module else f"baleine.cli.{module}"), func)
        return int(fn(ctx, args) or 0)
    except CLIError as exc:
        return die(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":
    run_and_exit()
