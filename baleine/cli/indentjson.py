"""``json.dumps(obj, indent=4, ensure_ascii=False)`` without the json package.

``inspect`` prints its objects this way. Importing ``json`` costs 6-7 ms of the
command's start-up (json.decoder imports ``re``, which imports ``enum``), and the C
accelerator cannot indent (CPython 3.11's ``c_make_encoder`` ignores ``indent``), so
this module walks the value itself with the C string encoder (``_json``).

Contract: for any value, :func:`dumps` returns json.dumps' text, or raises the same
exception. Values of exactly the types JSON decoding yields (dict with str keys, list,
str, int, float, bool, None) are encoded here; anything else (tuples, subclasses,
other keys, a structure too deep or circular) is handed to the json package itself.
"""

from __future__ import annotations

from _json import encode_basestring

# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Unusual(Exception):
    """A value this module leaves to the json package."""


_CONSTANTS = {True: "true", False: "false"}


def _float(f: float) -> str:
    # json.encoder's floatstr with allow_nan=True.
    if f != f:
        return "NaN"
    if f == float("inf"):
        return "Infinity"
    if f == -float("inf"):
        return "-Infinity"
    return float.__repr__(f)


def _encode(value: Any, indent: str, level: int, out: list[str]) -> None:  # noqa: ANN401
    """Append ``value``'s text at nesting ``level`` to ``out`` (json.encoder's
    _make_iterencode with separators ``(",", ": ")``)."""
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif kind is bool:
        out.append(_CONSTANTS[value])
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        out.append(_float(value))
    elif kind is list:
        if not value:
            out.append("[]")
            return
        inner = "\n" + indent * (level + 1)
        out.append("[")
        for i, item in enumerate(value):
            out.append(inner if i == 0 else "," + inner)
            _encode(item, indent, level + 1, out)
        out.append("\n" + indent * level + "]")
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = "\n" + indent * (level + 1)
        out.append("{")
        first = True
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            out.append(inner if first else "," + inner)
            first = False
            out.append(encode_basestring(key))
            out.append(": ")
            _encode(item, indent, level + 1, out)
        out.append("\n" + indent * level + "}")
    else:
        raise _Unusual


def dumps(value: Any, indent: int = 4) -> str:  # noqa: ANN401
    """``json.dumps(value, indent=indent, ensure_ascii=False)``: the same text, or the
    same exception."""
    out: list[str] = []
    try:
        _encode(value, " " * indent, 0, out)
    except (_Unusual, RecursionError):
        import json

        return json.dumps(value, indent=indent, ensure_ascii=False)
    return "".join(out)
