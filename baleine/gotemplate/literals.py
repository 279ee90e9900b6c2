"""Literals inside actions: Go's ``strconv.Unquote`` for strings and characters,
and Go's integer syntax (``parse.newNumber``).
"""

from __future__ import annotations


class _SyntaxError(Exception):
    pass


_UNQUOTE_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def _unquote_one(s: str, i: int, quote: str, buf: bytearray) -> int:
    """Decode the (possibly escaped) character at ``s[i]`` into ``buf``; return the next index."""
    c = s[i]
    if c != "\\":
        if c == quote:
            raise _SyntaxError
        buf += c.encode("utf-8", "surrogatepass")
        return i + 1
    if i + 1 >= len(s):
        raise _SyntaxError
    e = s[i + 1]
    i += 2
    if e in _UNQUOTE_SIMPLE:
        buf.append(_UNQUOTE_SIMPLE[e])
        return i
    if e in "xuU":
        size = {"x": 2, "u": 4, "U": 8}[e]
        h = s[i : i + size]
        if len(h) != size or any(ch not in "0123456789abcdefABCDEF" for ch in h):
            raise _SyntaxError
        v = int(h, 16)
        i += size
        if e == "x":
            buf.append(v)
            return i
        if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
            raise _SyntaxError
        buf += chr(v).encode("utf-8")
        return i
    if "0" <= e <= "7":
        o = s[i - 1 : i + 2]
        if len(o) != 3 or any(ch not in "01234567" for ch in o):
            raise _SyntaxError
        v = int(o, 8)
        if v > 255:
            raise _SyntaxError
        buf.append(v)
        return i + 2
    if e == quote:
        buf += e.encode()
        return i
    raise _SyntaxError


def _go_unquote(text: str) -> str:
    """Go's ``strconv.Unquote`` for a "double-quoted" or `raw` literal."""
    if len(text) < 2:
        raise _SyntaxError
    q = text[0]
    if q != text[-1]:
        raise _SyntaxError
    body = text[1:-1]
    if q == "`":
        if "`" in body:
            raise _SyntaxError
        return body.replace("\r", "")
    if q != '"':
        raise _SyntaxError
    if "\\" not in body and '"' not in body and "\n" not in body:
        return body
    buf = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "\n":
            raise _SyntaxError
        i = _unquote_one(body, i, '"', buf)
    return buf.decode("utf-8", "replace")


def _unquote_char(text: str) -> int:
    """The rune value of a Go character constant such as ``'a'`` or ``'\\n'``."""
    body = text[1:-1] if len(text) >= 2 and text[-1] == "'" else ""
    if not body:
        raise _SyntaxError
    if body[0] != "\\":
        if len(body) != 1:
            raise ValueError("malformed character constant: " + text)
        return ord(body)
    buf = bytearray()
    i = _unquote_one(body, 0, "'", buf)
    if i != len(body):
        raise ValueError("malformed character constant: " + text)
    if len(buf) == 1:
        return buf[0]
    return ord(buf.decode("utf-8"))


def _parse_go_int(text: str) -> int | None:
    sign = 1
    body = text
    if body[:1] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    try:
        return sign * int(body, 0)
    except ValueError:
        pass
    # Go: a leading 0 means octal.
    if len(body) > 1 and body[0] == "0" and all(c in "01234567_" for c in body[1:]) and "__" not in body:
        return sign * int(body[1:].replace("_", "") or "0", 8)
    return None
