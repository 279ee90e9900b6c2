"""Where a command's generated document goes: ``-o FILE`` or stdout."""

from __future__ import annotations

import sys


def emit(text: str, path: str = "") -> None:
    """Write ``text`` to the file ``path``, or to stdout when ``path`` is empty."""
    if path:
        with open(path, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
