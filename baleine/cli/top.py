"""``baleine top``: ps' table of a container's processes (docker/cli 28: tabwriter,
min width 20, padding 3; ``ps`` options passed through to the daemon)."""

from __future__ import annotations

import sys

from . import formatting
from .context import Context, Parser
from .usage import args_error


TOP_USAGE = "CONTAINER [ps OPTIONS]"


def top(ctx: Context, argv: list[str]) -> int:
    """``baleine top CONTAINER [ps OPTIONS]``: flags end at the container name, so
    everything after it goes to ps."""
    if argv and argv[0] in ("-h", "--help"):
        Parser("top", TOP_USAGE, "Display the running processes of a container").parse_args(["--help"])
    if argv and argv[0].startswith("-") and argv[0] != "-":
        Parser("top", TOP_USAGE).parse_args([argv[0]])  # docker's "unknown flag" error
    if not argv:
        raise args_error("top", TOP_USAGE, "at least 1 argument", "See")
    name, ps_args = argv[0], argv[1:]
    with ctx.api():
        result = ctx.client.containers.top(name, " ".join(ps_args) if ps_args else None)
    lines = ["\t".join(result.get("Titles") or [])]
    lines += ["\t".join(proc) for proc in result.get("Processes") or []]
    sys.stdout.write(formatting.tabwrite("\n".join(lines) + "\n", minwidth=20, padding=3))
    return 0
