"""``.env`` files (the project's, ``--env-file``, ``env_file:``), read as compose-go's
dotenv parser reads them.

- ``KEY=VALUE`` lines, optionally ``export KEY=VALUE``; ``KEY: VALUE`` also works;
  blank lines and ``#`` comments are skipped;
- unquoted values are trimmed, and a `` #`` (whitespace then ``#``) starts a comment;
- ``'single quoted'`` values are literal and may span lines;
- ``"double quoted"`` values may span lines; ``\\n`` and ``\\r`` are a newline and a
  carriage return, ``\\X`` is ``X``;
- unquoted and double-quoted values are interpolated (``${VAR:-x}``…) with the
  lookup given (the environment) first, then the keys defined earlier in the file;
- a ``KEY`` alone takes its value from the lookup, and is left out when unset.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import ComposeError
from .interpolation import InterpolationError, substitute

_KEY = re.compile(r"[A-Za-z0-9_.\-\[\]]+")


def parse(text: str, lookup: Callable[[str], str | None] | None = None, filename: str = ".env") -> dict[str, str]:
    """The variables of a dotenv text, in file order. Raises ComposeError naming the
    file and line for malformed lines."""
    lookup = lookup or (lambda _name: None)
    out: dict[str, str] = {}

    def resolve(name: str) -> str | None:
        value = lookup(name)
        return value if value is not None else out.get(name)

    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    i = 0
    n = len(text)
    line = 1
    while i < n:
        # Skip blank lines, leading spaces and comments.
        while i < n and text[i] in " \t\n":
            if text[i] == "\n":
                line += 1
            i += 1
        if i >= n:
            break
        if text[i] == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        start_line = line
        if text.startswith("export ", i) or text.startswith("export\t", i):
            i += len("export ")
            while i < n and text[i] in " \t":
                i += 1
        # The key: up to "=", ":" or the end of the line.
        j = i
        while j < n and text[j] not in "=:\n":
            j += 1
        key = text[i:j].strip()
        if j >= n or text[j] == "\n":
            if not _KEY.fullmatch(key):
                raise ComposeError(f"line {start_line}: unexpected character in variable name {key!r}", filename)
            value = lookup(key)
            if value is not None:
                out[key] = value
            i = j
            continue
        if not key or not _KEY.fullmatch(key):
            raise ComposeError(f"line {start_line}: unexpected character in variable name {key!r}", filename)
        i = j + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] in "'\"":
            quote = text[i]
            k = i + 1
            while k < n:
                if text[k] == "\\" and quote == '"':
                    k += 2
                    continue
                if text[k] == quote:
                    break
                k += 1
            if k >= n:
                raise ComposeError(f"line {start_line}: unterminated quoted value", filename)
            raw = text[i + 1:k]
            line += raw.count("\n")
            if quote == "'":
                value = raw
            else:
                value = _expand(_unescape(raw), resolve, filename, start_line)
            # Anything after the closing quote on that line is a comment.
            end = text.find("\n", k)
            i = n if end < 0 else end
        else:
            end = text.find("\n", i)
            end = n if end < 0 else end
            raw = text[i:end]
            m = re.search(r"[ \t]#", raw)
            if m:
                raw = raw[:m.start()]
            elif raw.startswith("#"):
                raw = ""
            value = _expand(raw.strip(), resolve, filename, start_line)
            i = end
        out[key] = value
    return out


def _unescape(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append({"n": "\n", "r": "\r", "$": "$$"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _expand(value: str, resolve: Callable[[str], str | None], filename: str, line: int) -> str:
    try:
        return substitute(value, resolve)
    except InterpolationError as exc:
        raise ComposeError(f"line {line}: {exc}", filename) from None


def read(path: str, lookup: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """``parse`` of a file; ComposeError when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ComposeError(f"couldn't read env file: {exc.strerror or exc}", path) from None
    return parse(text, lookup, path)
