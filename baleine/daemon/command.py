"""``baleine daemon``: the daemon run in the foreground from the command line.

The CLI's command table names this function by string (``main.COMMANDS``), so the
CLI package never imports the daemon.
"""

from __future__ import annotations

# Annotations only: the context is the CLI's, unused here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def daemon(ctx: Any, argv: list[str]) -> int:
    """Run the daemon with ``argv`` (its own flags) until it stops; its exit code."""
    from .main import main

    return main(argv)
