"""The template functions: Go's builtins (``and or not len index slice eq ne lt
le gt ge print printf println html js urlquery call``) and docker/cli's
(``json split join title lower upper pad truncate``), and the function tables
``DEFAULT_FUNCS``, ``HEADER_FUNCS``, ``INSPECT_FUNCS``.
"""

from __future__ import annotations

from .gofmt import _go_type, format_value, go_json, go_sprint, go_sprintf, go_sprintln
from .values import NO_VALUE, TemplateError


class _FnError(Exception):
    """Raised by template functions; reported as ``error calling NAME: MSG``."""


class _Fn:
    """A template function with Go-like parameter types.

    Parameter types: ``"value"`` (Go's reflect.Value: missing values stay
    missing), ``"any"`` (interface{}: missing becomes None), ``"string"``,
    ``"int"``, ``"bool"``, ``"[]string"``.
    """

    __slots__ = ("fn", "params", "variadic", "short_circuit")

    def __init__(self, fn, params: tuple = (), variadic: str | None = None, short_circuit: str = "") -> None:
        self.fn = fn
        self.params = params
        self.variadic = variadic
        self.short_circuit = short_circuit


def _truth(v: object) -> bool:
    """Go's template truth: false for zero values, nil and empty collections."""
    if v is None or v is NO_VALUE:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float, complex)):
        return v != 0
    if isinstance(v, (str, bytes, bytearray, list, tuple, dict, set, frozenset)):
        return len(v) > 0
    return True


_INT, _FLOAT, _STRINGK, _BOOLK, _OTHER = range(5)


def _basic_kind(v: object) -> int | None:
    """The comparison kind of ``v``; ``None`` for Go's invalid (nil, missing)."""
    if v is None or v is NO_VALUE:
        return None
    if isinstance(v, bool):
        return _BOOLK
    if isinstance(v, int):
        return _INT
    if isinstance(v, float):
        return _FLOAT
    if isinstance(v, str):
        return _STRINGK
    return _OTHER


def _fn_eq(arg1: object, *rest: object) -> bool:
    if not rest:
        raise _FnError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in rest:
        k2 = _basic_kind(arg)
        if k1 != k2:
            if k1 is not None and k2 is not None:
                raise _FnError("incompatible types for comparison")
            continue  # comparing with nil or a missing value is simply false
        if k1 == _OTHER:
            if isinstance(arg1, (list, dict, set)) or isinstance(arg, (list, dict, set)):
                raise _FnError("non-comparable type %s: %s" % (format_value(arg), _go_type(arg)))
        if k1 is None or arg1 == arg:
            return True
    return False


def _fn_ne(arg1: object, arg2: object) -> bool:
    return not _fn_eq(arg1, arg2)


def _fn_lt(arg1: object, arg2: object) -> bool:
    k1 = _basic_kind(arg1)
    k2 = _basic_kind(arg2)
    if k1 is None or k1 == _OTHER or k2 is None or k2 == _OTHER:
        raise _FnError("invalid type for comparison")
    if k1 != k2:
        raise _FnError("incompatible types for comparison")
    if k1 == _BOOLK:
        raise _FnError("invalid type for comparison")
    return arg1 < arg2  # type: ignore[operator]


def _fn_le(arg1: object, arg2: object) -> bool:
    return _fn_lt(arg1, arg2) or _fn_eq(arg1, arg2)


def _fn_gt(arg1: object, arg2: object) -> bool:
    return not _fn_le(arg1, arg2)


def _fn_ge(arg1: object, arg2: object) -> bool:
    return not _fn_lt(arg1, arg2)


def _fn_not(v: object) -> bool:
    return not _truth(v)


def _fn_len(v: object) -> int:
    if v is NO_VALUE:
        raise _FnError("reflect: call of reflect.Value.Type on zero Value")
    if v is None:
        raise _FnError("len of nil pointer")
    if isinstance(v, str):
        return len(v.encode("utf-8", "replace"))  # Go counts bytes
    if isinstance(v, (list, tuple, dict, bytes, bytearray, set, frozenset)):
        return len(v)
    raise _FnError("len of type %s" % _go_type(v))


def _index_arg(i: object, cap: int) -> int:
    if i is None or i is NO_VALUE:
        raise _FnError("cannot index slice/array with nil")
    if isinstance(i, bool) or not isinstance(i, int):
        raise _FnError("cannot index slice/array with type %s" % _go_type(i))
    if i < 0 or i > cap:
        raise _FnError("index out of range: %d" % i)
    return int(i)


def _fn_index(item: object, *indexes: object) -> object:
    if item is None or item is NO_VALUE:
        raise _FnError("index of untyped nil")
    for idx in indexes:
        if item is None or item is NO_VALUE:
            # A missing map entry is Go's nil interface: indexing it fails.
            raise _FnError("index of nil pointer")
        if isinstance(item, (list, tuple, str)):
            seq: object = item.encode("utf-8", "replace") if isinstance(item, str) else item
            x = _index_arg(idx, len(seq))  # type: ignore[arg-type]
            if x >= len(seq):  # type: ignore[arg-type]
                kind = "string" if isinstance(item, str) else "slice"
                raise _FnError("reflect: %s index out of range" % kind)
            item = seq[x]  # type: ignore[index]
        elif isinstance(item, dict):
            if idx is NO_VALUE:
                idx = None
            item = item[idx] if idx in item else NO_VALUE
        else:
            raise _FnError("can't index item of type %s" % _go_type(item))
    return item


def _fn_slice(item: object, *indexes: object) -> object:
    if item is None or item is NO_VALUE:
        raise _FnError("slice of untyped nil")
    if len(indexes) > 3:
        raise _FnError("too many slice indexes: %d" % len(indexes))
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _FnError("cannot 3-index slice a string")
        seq: object = item.encode("utf-8", "replace")
    elif isinstance(item, (list, tuple)):
        seq = item
    else:
        raise _FnError("can't slice item of type %s" % _go_type(item))
    n = len(seq)  # type: ignore[arg-type]
    idx = [0, n, n]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, n)
    if idx[0] > idx[1]:
        raise _FnError("invalid slice index: %d > %d" % (idx[0], idx[1]))
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise _FnError("invalid slice index: %d > %d" % (idx[1], idx[2]))
    out = seq[idx[0] : idx[1]]  # type: ignore[index]
    if isinstance(item, str):
        return out.decode("utf-8", "replace")  # type: ignore[union-attr]
    return out


def _fn_call(fn: object, *args: object) -> object:
    if fn is None or fn is NO_VALUE:
        raise _FnError("call of nil")
    if not callable(fn):
        raise _FnError("non-function of type %s" % _go_type(fn))
    try:
        return fn(*args)
    except TemplateError:
        raise
    except Exception as e:  # a function's error is the template's error, like Go
        raise _FnError(str(e)) from e


def _eval_args(args: tuple) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return go_sprint(*args)


_HTML_ESC = {ord('"'): "&#34;", ord("'"): "&#39;", ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", 0: "\ufffd"}


def _fn_html(*args: object) -> str:
    return _eval_args(args).translate(_HTML_ESC)


def _fn_js(*args: object) -> str:
    out = []
    for ch in _eval_args(args):
        o = ord(ch)
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=":
            out.append("\\u%04X" % o)
        elif o < 0x20:
            out.append("\\u%04X" % o)
        elif o < 0x80 or ch.isprintable():
            out.append(ch)
        else:
            out.append("\\u%04X" % o if o < 0x10000 else ch)
    return "".join(out)


def _fn_urlquery(*args: object) -> str:
    from urllib.parse import quote_plus  # only imported when a template uses it

    return quote_plus(_eval_args(args), safe="")


def _fn_printf(fmt: str, *args: object) -> str:
    return go_sprintf(fmt, *args)


def _fn_json(v: object) -> str:
    try:
        return go_json(v)
    except ValueError:
        return ""  # docker ignores the encoder's error and prints nothing


def _fn_json_raw(v: object) -> str:
    try:
        return go_json(v, escape_html=False)
    except ValueError:
        return ""


def _fn_split(s: str, sep: str) -> list[str]:
    if sep == "":
        return list(s)
    return s.split(sep)


def _fn_join(elems: list, sep: str) -> str:
    return sep.join(e if isinstance(e, str) else format_value(e) for e in elems or ())


def _is_title_separator(c: str) -> bool:
    if c <= "\x7f":
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdecimal():
        return False
    return c.isspace()


def _fn_title(s: str) -> str:
    """Go's (deprecated) ``strings.Title``: upper-case the first letter of each word."""
    out = []
    prev = " "
    for c in s:
        if _is_title_separator(prev):
            t = c.upper()
            out.append(t if len(t) == 1 else c)
        else:
            out.append(c)
        prev = c
    return "".join(out)


def _fn_pad(s: str, prefix: int, suffix: int) -> str:
    if s == "":
        return s
    return " " * prefix + s + " " * suffix


def _fn_truncate(s: str, length: int) -> str:
    if len(s) < length:
        return s
    if length < 0:
        raise _FnError("runtime error: slice bounds out of range [:%d]" % length)
    return s[:length]


def _identity(v: object, *_: object) -> object:
    return v


_BUILTINS: dict[str, _Fn] = {
    "and": _Fn(None, ("value",), "value", short_circuit="and"),
    "or": _Fn(None, ("value",), "value", short_circuit="or"),
    "not": _Fn(_fn_not, ("value",)),
    "len": _Fn(_fn_len, ("value",)),
    "index": _Fn(_fn_index, ("value",), "value"),
    "slice": _Fn(_fn_slice, ("value",), "value"),
    "call": _Fn(_fn_call, ("value",), "value"),
    "eq": _Fn(_fn_eq, ("value",), "value"),
    "ne": _Fn(_fn_ne, ("value", "value")),
    "lt": _Fn(_fn_lt, ("value", "value")),
    "le": _Fn(_fn_le, ("value", "value")),
    "gt": _Fn(_fn_gt, ("value", "value")),
    "ge": _Fn(_fn_ge, ("value", "value")),
    "print": _Fn(go_sprint, (), "any"),
    "println": _Fn(go_sprintln, (), "any"),
    "printf": _Fn(_fn_printf, ("string",), "any"),
    "html": _Fn(_fn_html, (), "any"),
    "js": _Fn(_fn_js, (), "any"),
    "urlquery": _Fn(_fn_urlquery, (), "any"),
}

#: The functions every template sees: Go's builtins plus docker's
#: ``templates.basicFunctions`` (``json`` escapes HTML like ``json.Marshal``).
DEFAULT_FUNCS: dict[str, _Fn] = dict(_BUILTINS)
DEFAULT_FUNCS.update(
    {
        "json": _Fn(_fn_json, ("any",)),
        "split": _Fn(_fn_split, ("string", "string")),
        "join": _Fn(_fn_join, ("[]string", "string")),
        "title": _Fn(_fn_title, ("string",)),
        "lower": _Fn(str.lower, ("string",)),
        "upper": _Fn(str.upper, ("string",)),
        "pad": _Fn(_fn_pad, ("string", "int", "int")),
        "truncate": _Fn(_fn_truncate, ("string", "int")),
    }
)

#: Docker's ``templates.HeaderFunctions``: used when rendering a table header so
#: that ``{{upper .Names}}`` still prints ``NAMES`` (``pad`` is not overridden).
HEADER_FUNCS: dict[str, _Fn] = {
    "json": _Fn(_identity, ("string",)),
    "split": _Fn(_identity, ("string", "string")),
    "join": _Fn(_identity, ("string", "string")),
    "title": _Fn(_identity, ("string",)),
    "lower": _Fn(_identity, ("string",)),
    "upper": _Fn(_identity, ("string",)),
    "truncate": _Fn(_identity, ("string", "int")),
}

#: For ``inspect``-style output: docker's ``json`` function encodes with
#: ``SetEscapeHTML(false)``, so ``<`` stays ``<`` when the value is a plain
#: structure (list commands go through ``json.Marshal`` and do escape).
INSPECT_FUNCS: dict[str, _Fn] = {"json": _Fn(_fn_json_raw, ("any",))}


def _as_fn(f: object) -> _Fn:
    if isinstance(f, _Fn):
        return f
    if not callable(f):
        raise TypeError("template function must be callable: %r" % (f,))
    return _Fn(f, (), "any")
