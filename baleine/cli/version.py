"""``baleine version``: the client's and the daemon's versions.

Its own module, importing nothing it does not use (no template engine unless
``--format``): ``version`` is the CLI's start-up benchmark (issue 13's ≤ 15 ms).
"""

from __future__ import annotations

import sys

# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from .. import API_VERSION, __version__
from .context import CLIError, Context, Parser


def version(ctx: Context, argv: list[str]) -> int:
    p = Parser("version", "[OPTIONS]", "Show the Baleine version information")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    o = p.parse_args(argv)
    # platform.python_version()'s text, without importing platform (and re) for it.
    client = {"Version": __version__, "ApiVersion": API_VERSION, "DefaultAPIVersion": API_VERSION,
              "GoVersion": "python" + sys.version.split()[0], "Os": "linux", "Arch": "amd64",
              "BuildTime": "", "Context": "default"}
    server: Any = None
    error = None
    try:
        with ctx.api():
            server = ctx.client.system.version()
    except CLIError as exc:
        error = exc
    if o.format:
        from .. import gotemplate

        sys.stdout.write(gotemplate.render(o.format, {"Client": client, "Server": server},
                                          funcs=gotemplate.INSPECT_FUNCS) + "\n")
    else:
        print("Client:")
        print(f" Version:           {client['Version']}")
        print(f" API version:       {client['ApiVersion']}")
        print(f" Python version:    {client['GoVersion'][6:]}")
        print(f" OS/Arch:           linux/{client['Arch']}")
        if server:
            print()
            print(f"Server: {(server.get('Platform') or {}).get('Name', '')}")
            print(" Engine:")
            print(f"  Version:          {server.get('Version')}")
            print(f"  API version:      {server.get('ApiVersion')} (minimum version {server.get('MinAPIVersion')})")
            print(f"  OS/Arch:          {server.get('Os')}/{server.get('Arch')}")
            print(f"  Kernel version:   {server.get('KernelVersion')}")
            for comp in server.get("Components") or []:
                if comp.get("Name") != "Engine":
                    print(f" {comp['Name']}:")
                    print(f"  Version:          {comp.get('Version')}")
    if error is not None:
        raise error
    return 0
