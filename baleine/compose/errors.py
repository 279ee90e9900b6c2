"""The one error of compose loading and running."""

from __future__ import annotations


class ComposeError(Exception):
    """A problem with a compose project, shown to the user as is.

    ``file`` (the compose file concerned, or None), ``line`` (in it) and ``path`` (the dotted path in
    the model, like ``services.web.ports[1]``, or None) are kept for callers and
    tests; ``str(exc)`` already names them.
    """

    def __init__(self, message: str, file: str | None = None, path: str | None = None,
                 line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.path = path
        self.line = line
        text = message
        if path:
            text = f"{path}: {text}"
        if file:
            text = f"{file}:{line}: {text}" if line else f"{file}: {text}"
        super().__init__(text)


def format_path(parts: tuple[object, ...] | list[object]) -> str:
    """``("services", "web", "ports", 1)`` → ``services.web.ports[1]``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out
