"""Go ``text/template``, the subset docker's CLI ``--format`` relies on.

Docker renders ``--format`` strings with Go's ``text/template`` plus a few extra
functions (``json``, ``split``, ``join``, ``title``, ``lower``, ``upper``,
``pad``, ``truncate``; see docker/cli ``templates/templates.go``).  This module
reimplements that engine in pure Python so that ``baleine ps --format ...``
prints byte-for-byte what ``docker ps --format ...`` prints.

Supported: text and ``{{ }}`` actions with ``{{-`` / ``-}}`` trim markers,
comments, ``.``, ``.Field.Chains``, ``$`` and ``$variables`` (``:=`` and ``=``),
pipelines, parenthesised pipelines, ``if / else if / else``, ``range`` (lists,
maps in sorted key order, integers; ``$i, $v :=``; ``else``; ``break`` and
``continue``), ``with / else with``, ``define`` / ``template`` / ``block``, the
Go builtins (``and or not len index slice eq ne lt le gt ge print printf
println html js urlquery call``) and docker's functions.

Data model: ``data`` is JSON-like Python data whose keys are Docker's Go field
names.  ``.Field`` on a ``dict`` looks the key up exactly, then
case-insensitively; a missing key yields Go's "no value" (printed
``<no value>``), like Go does for maps.  On other objects ``.Field`` reads the
attribute; a callable attribute is called with the arguments, like a Go method
(this is how a header context offers ``.Label "name"``).  ``dict`` subclasses may
define methods the same way.  Values print like Go's ``fmt`` ``%v``: ``None`` as
``<nil>``, booleans as ``true``/``false``, lists as ``[a b]``, dicts as
``map[k:v]`` with sorted keys, floats with Go's shortest formatting.

Errors (parse and execution) raise :class:`TemplateError` with Go's wording,
e.g. ``template: :1: function "foo" not defined`` or ``template: :1:2:
executing "" at <.Foo>: ...``.  Docker's CLI prefixes these with ``template
parsing error: ``; that is the caller's business.

``json`` encodes like ``json.Marshal`` (HTML-escaped, keys in the dict's
order); :data:`INSPECT_FUNCS` gives docker's non-escaping variant, and
``formatting.format_list`` reproduces the list commands' exact behaviour.

Known differences from Go, all deliberate: a ``dict`` stands for both Go maps
and structs, so a missing field prints ``<no value>`` where a Go struct would
fail, and prints as ``map[...]`` where a struct prints ``{...}``; ``truncate``
and ``printf`` precision count characters (Go counts bytes; identical for
ASCII); complex numbers are not supported.
"""

from __future__ import annotations

import math

__all__ = [
    "JSON_FORMAT",
    "NO_VALUE",
    "DEFAULT_FUNCS",
    "HEADER_FUNCS",
    "INSPECT_FUNCS",
    "Template",
    "TemplateError",
    "compile",
    "format_value",
    "go_json",
    "go_quote",
    "go_sprint",
    "go_sprintf",
    "go_sprintln",
    "parse_format",
    "render",
]

#: What :func:`parse_format` returns for ``--format json``: docker 24+ prints one
#: JSON object per line, i.e. exactly this template applied to every item.
JSON_FORMAT = "{{json .}}"


class TemplateError(ValueError):
    """A template failed to parse or to execute; the message is Go's."""


class _NoValueType:
    """Go's invalid ``reflect.Value``: a missing map key.  Prints ``<no value>``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


#: The value of a missing key (Go prints it as ``<no value>``).
NO_VALUE = _NoValueType()


class _MissingType:
    """Marks "no final argument" in a pipeline (Go's ``missingVal``)."""

    __slots__ = ()


_MISSING = _MissingType()


# --------------------------------------------------------------------------
# Go formatting helpers (fmt, strconv, encoding/json)


def _go_type(v: object) -> str:
    """The Go type name docker's equivalent value would have, for messages."""
    if v is None or v is NO_VALUE:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (bytes, bytearray)):
        return "[]uint8"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    return type(v).__name__


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
}


def _quote_char(ch: str, quote: str) -> str:
    if ch == quote or ch == "\\":
        return "\\" + ch
    if ch.isprintable():
        return ch
    esc = _QUOTE_ESCAPES.get(ch)
    if esc is not None:
        return esc
    o = ord(ch)
    if o < 0x20 or o == 0x7F:
        return "\\x%02x" % o
    if 0xD800 <= o <= 0xDFFF:  # a lone surrogate is invalid UTF-8 for Go
        return "\\ufffd"
    if o < 0x10000:
        return "\\u%04x" % o
    return "\\U%08x" % o


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote``: a double-quoted string with Go escapes.

    Printable characters are kept as they are; ``\\n`` and friends use short
    escapes, other control characters ``\\xNN``, other non-printable ones
    ``\\uNNNN`` or ``\\UNNNNNNNN``.
    """
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    return '"' + "".join(_quote_char(ch, '"') for ch in s) + '"'


def _quote_rune(r: int) -> str:
    """Go's ``strconv.QuoteRune``."""
    try:
        ch = chr(r)
    except (ValueError, OverflowError):
        ch = "\ufffd"
    if 0xD800 <= r <= 0xDFFF:
        ch = "\ufffd"
    return "'" + _quote_char(ch, "'") + "'"


def _shortest_digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of ``x > 0`` and the decimal point position.

    The value is ``0.<digits> * 10**dp``, Go's ``decimalSlice`` convention.
    """
    r = repr(x)
    exp = 0
    if "e" in r:
        r, e = r.split("e")
        exp = int(e)
    ip, _, fp = r.partition(".")
    allds = ip + fp
    stripped = allds.lstrip("0")
    dp = len(ip) + exp - (len(allds) - len(stripped))
    digits = stripped.rstrip("0")
    if not digits:
        return "0", 1
    return digits, dp


def _fmt_e(digits: str, dp: int, upper: bool = False) -> str:
    exp = dp - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return "%s%s%s%02d" % (mant, "E" if upper else "e", "-" if exp < 0 else "+", abs(exp))


def _fmt_f(digits: str, dp: int) -> str:
    nd = len(digits)
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= nd:
        return digits + "0" * (dp - nd)
    return digits[:dp] + "." + digits[dp:]


def _go_float_g(x: float, upper: bool = False) -> str:
    """Go's ``%v`` / shortest ``%g`` for a float64 (``1e+06``, ``0.5``, ``+Inf``)."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign = "-" if x < 0 else ""
    digits, dp = _shortest_digits(abs(x))
    exp = dp - 1
    # strconv: with the shortest precision, %e is used when exp < -4 || exp >= 6.
    if exp < -4 or exp >= 6:
        return sign + _fmt_e(digits, dp, upper)
    return sign + _fmt_f(digits, dp)


def _sort_key(k: object) -> tuple:
    if isinstance(k, bool):
        return (0, int(k), "")
    if isinstance(k, (int, float)):
        return (1, k, "")
    return (2, 0, str(k))


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:
        return sorted(d, key=_sort_key)


def format_value(v: object) -> str:
    """Format ``v`` like Go's ``fmt`` ``%v`` (what ``{{.Field}}`` prints)."""
    if v is None:
        return "<nil>"
    if v is NO_VALUE:
        return "<no value>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    t = type(v)
    if t is str:
        return v  # type: ignore[return-value]
    if t is int:
        return str(v)
    if t is float:
        return _go_float_g(v)  # type: ignore[arg-type]
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(format_value(e) for e in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(format_value(k) + ":" + format_value(v[k]) for k in _sorted_keys(v)) + "]"
    if isinstance(v, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return _go_float_g(float(v))
    if isinstance(v, str):
        return str(v)
    return str(v)


# encoding/json ------------------------------------------------------------

_JSON_ESC = {i: "\\u%04x" % i for i in range(0x20)}
_JSON_ESC.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord("\b"): "\\b", ord("\f"): "\\f"})
_JSON_ESC.update({ord('"'): '\\"', ord("\\"): "\\\\", 0x2028: "\\u2028", 0x2029: "\\u2029"})
_JSON_ESC_HTML = dict(_JSON_ESC)
_JSON_ESC_HTML.update({ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"})


def _json_str(s: str, escape_html: bool) -> str:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: Go replaces invalid UTF-8 with U+FFFD
        s = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)
    return '"' + s.translate(_JSON_ESC_HTML if escape_html else _JSON_ESC) + '"'


def _json_float(x: float) -> str:
    if x != x or math.isinf(x):
        raise ValueError("json: unsupported value: " + _go_float_g(x))
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    a = abs(x)
    sign = "-" if x < 0 else ""
    digits, dp = _shortest_digits(a)
    if a < 1e-6 or a >= 1e21:
        s = _fmt_e(digits, dp)
        # Go cleans up e-09 to e-9 (but keeps e+21).
        if len(s) >= 4 and s[-4] == "e" and s[-3] == "-" and s[-2] == "0":
            s = s[:-2] + s[-1]
        return sign + s
    return sign + _fmt_f(digits, dp)


def _json_encode(v: object, escape_html: bool, out: list[str], sort_keys: bool = False) -> None:
    if v is None or v is NO_VALUE:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, str):
        out.append(_json_str(v, escape_html))
    elif isinstance(v, int):
        out.append(str(int(v)))
    elif isinstance(v, float):
        out.append(_json_float(v))
    elif isinstance(v, dict):
        out.append("{")
        first = True
        items = [(k, v[k]) for k in _sorted_keys(v)] if sort_keys else v.items()
        for k, val in items:
            if not first:
                out.append(",")
            first = False
            key = k if isinstance(k, str) else format_value(k)
            out.append(_json_str(key, escape_html))
            out.append(":")
            _json_encode(val, escape_html, out, sort_keys)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, e in enumerate(v):
            if i:
                out.append(",")
            _json_encode(e, escape_html, out, sort_keys)
        out.append("]")
    elif isinstance(v, (bytes, bytearray)):
        import base64  # Go marshals []byte as base64; rare, so imported lazily

        out.append('"' + base64.b64encode(bytes(v)).decode("ascii") + '"')
    elif hasattr(v, "__dict__"):
        _json_encode({k: val for k, val in vars(v).items() if not k.startswith("_")}, escape_html, out, sort_keys)
    else:
        out.append(_json_str(str(v), escape_html))


def go_json(v: object, escape_html: bool = True, sort_keys: bool = False) -> str:
    """Compact JSON like Go's ``json.Marshal``: no spaces, keys in the dict's order.

    With ``escape_html`` (Go's default) ``<``, ``>`` and ``&`` become ``\\u003c``,
    ``\\u003e`` and ``\\u0026``.  U+2028/U+2029 are always escaped, floats use Go's
    formatting (``1e+21``, ``1e-7``).  ``sort_keys`` sorts object keys as Go does
    for maps.  Raises ``ValueError`` for NaN and infinities.
    """
    out: list[str] = []
    _json_encode(v, escape_html, out, sort_keys)
    return "".join(out)


# fmt.Sprint / Sprintf --------------------------------------------------------


def go_sprint(*args: object) -> str:
    """Go's ``fmt.Sprint``: a space between operands when neither is a string."""
    out = []
    prev_string = False
    for i, a in enumerate(args):
        is_string = isinstance(a, str)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(format_value(a))
        prev_string = is_string
    return "".join(out)


def go_sprintln(*args: object) -> str:
    """Go's ``fmt.Sprintln``: operands separated by spaces, then a newline."""
    return " ".join(format_value(a) for a in args) + "\n"


class _Spec:
    __slots__ = ("minus", "plus", "sharp", "sharp_v", "space", "zero", "width", "prec")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.sharp_v = self.space = self.zero = False
        self.width: int | None = None
        self.prec: int | None = None


def _pad(s: str, sp: _Spec, zero_ok: bool = True) -> str:
    if sp.width is None or len(s) >= sp.width:
        return s
    fill = sp.width - len(s)
    if sp.minus:
        return s + " " * fill
    return ("0" if sp.zero and zero_ok else " ") * fill + s


def _bad_verb(arg: object, verb: str) -> str:
    if arg is None:
        return "%!" + verb + "(<nil>)"
    return "%!" + verb + "(" + _go_type(arg) + "=" + format_value(arg) + ")"


def _fmt_int(v: int, verb: str, sp: _Spec) -> str:
    if verb == "c":
        try:
            ch = chr(v)
        except (ValueError, OverflowError):
            ch = "\ufffd"
        return _pad(ch, sp)
    if verb == "q":
        return _pad(_quote_rune(v), sp)
    if verb == "U":
        s = "U+%04X" % v if v >= 0 else "U+-%04X" % -v
        if sp.sharp and 0 <= v <= 0x10FFFF and chr(v).isprintable():
            s += " '" + chr(v) + "'"
        return _pad(s, sp)
    base = {"v": "d", "d": "d", "b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}.get(verb)
    if base is None:
        return _bad_verb(v, verb)
    neg = v < 0
    a = -v if neg else v
    ds = "" if (sp.prec == 0 and a == 0) else format(a, base)
    if sp.prec is not None:
        ds = ds.rjust(sp.prec, "0")
    prefix = ""
    if verb == "O":
        prefix = "0o"
    elif sp.sharp:
        if verb == "x":
            prefix = "0x"
        elif verb == "X":
            prefix = "0X"
        elif verb == "b":
            prefix = "0b"
        elif verb == "o" and not ds.startswith("0"):
            prefix = "0"
    sign = "-" if neg else ("+" if sp.plus else (" " if sp.space else ""))
    if sp.zero and not sp.minus and sp.width is not None and sp.prec is None:
        # Go zero-pads the digits to the width minus the sign; the prefix comes on top.
        ds = ds.rjust(sp.width - len(sign), "0")
    return _pad(sign + prefix + ds, sp, zero_ok=False)


def _float_hex(a: float, upper: bool) -> str:
    """Go's ``%x`` for a non-negative finite float: ``0x1.cp+01``."""
    if a == 0:
        s = "0x0p+00"
    else:
        mant, _, exp = a.hex()[2:].partition("p")
        mant = mant.rstrip("0").rstrip(".")
        e = int(exp)
        s = "0x%sp%s%02d" % (mant, "-" if e < 0 else "+", abs(e))
    return s.upper() if upper else s


def _fmt_float(v: float, verb: str, sp: _Spec) -> str:
    if verb not in "vgGeEfFxXb":
        return _bad_verb(v, verb)
    if v != v or math.isinf(v):
        s = "NaN" if v != v else ("+Inf" if v > 0 else "-Inf")
        if v != v and sp.plus:
            s = "+NaN"
        elif v != v and sp.space:
            s = " NaN"
        return _pad(s, sp, zero_ok=False)
    neg = v < 0 or (v == 0 and math.copysign(1.0, v) < 0)
    a = abs(v)
    if verb in "vgG" and sp.prec is None and not sp.sharp:
        s = _go_float_g(a, upper=verb == "G")
    elif verb in "xX":
        s = _float_hex(a, verb == "X")
    elif verb == "b":
        m, e = math.frexp(a)
        s = "%dp%+d" % (int(m * (1 << 53)), e - 53) if a else "0p-1074"
    else:
        prec = 6 if sp.prec is None else sp.prec
        pyverb = {"v": "g", "F": "f"}.get(verb, verb)
        if pyverb in "gG" and prec == 0:
            prec = 1
        s = format(a, ("#" if sp.sharp else "") + "." + str(prec) + pyverb)
    sign = "-" if neg else ("+" if sp.plus else (" " if sp.space else ""))
    if sp.zero and not sp.minus and sp.width is not None:
        s = s.rjust(sp.width - len(sign), "0")
    return _pad(sign + s, sp, zero_ok=False)


def _fmt_str(s: str, verb: str, sp: _Spec) -> str:
    if verb in "vs":
        if sp.prec is not None:
            s = s[: sp.prec]
        return _pad(s, sp)
    if verb == "q":
        if sp.prec is not None:
            s = s[: sp.prec]
        if sp.sharp and "`" not in s and all(c == "\t" or (c.isprintable() and c != "\ufeff") for c in s):
            return _pad("`" + s + "`", sp)
        q = go_quote(s)
        if sp.plus and not q.isascii():  # strconv.QuoteToASCII
            q = "".join(c if c < "\x80" else ("\\u%04x" if ord(c) < 0x10000 else "\\U%08x") % ord(c) for c in q)
        return _pad(q, sp)
    if verb in "xX":
        b = s.encode("utf-8", "replace")
        if sp.prec is not None:
            b = b[: sp.prec]
        fmt = "%02x" if verb == "x" else "%02X"
        pre = ("0x" if verb == "x" else "0X") if sp.sharp else ""
        if sp.space:
            out = " ".join(pre + fmt % c for c in b)
        else:
            out = pre + "".join(fmt % c for c in b) if b else ""
        return _pad(out, sp)
    return _bad_verb(s, verb)


def _fmt_arg(arg: object, verb: str, sp: _Spec) -> str:
    if verb == "T":
        return _pad(_go_type(arg), sp)
    if arg is None or arg is NO_VALUE:
        return _pad("<nil>", sp) if verb == "v" else "%!" + verb + "(<nil>)"
    if isinstance(arg, bool):
        if verb in "tv":
            return _pad("true" if arg else "false", sp)
        return _bad_verb(arg, verb)
    if isinstance(arg, int):
        return _fmt_int(int(arg), verb, sp)
    if isinstance(arg, float):
        return _fmt_float(float(arg), verb, sp)
    if isinstance(arg, str):
        if verb == "v" and sp.sharp_v:
            return _pad(go_quote(arg), sp)
        return _fmt_str(arg, verb, sp)
    if isinstance(arg, (list, tuple)):
        return "[" + " ".join(_fmt_arg(e, verb, sp) for e in arg) + "]"
    if isinstance(arg, dict):
        return (
            "map["
            + " ".join(_fmt_arg(k, verb, sp) + ":" + _fmt_arg(arg[k], verb, sp) for k in _sorted_keys(arg))
            + "]"
        )
    if verb in "vs":
        return _pad(format_value(arg), sp)
    return _bad_verb(arg, verb)


def _int_from_arg(args: tuple, argi: int) -> tuple[int | None, int]:
    if argi >= len(args):
        return None, argi
    a = args[argi]
    if isinstance(a, bool) or not isinstance(a, int) or not -1_000_000 <= a <= 1_000_000:
        return None, argi + 1
    return int(a), argi + 1


def go_sprintf(fmt: str, *args: object) -> str:
    """Go's ``fmt.Sprintf`` for the verbs templates use.

    Supports flags ``+ - # space 0``, width and precision (also ``*``),
    explicit argument indexes (``%[2]d``) and the verbs ``v s q d b o O x X c U
    e E f F g G t T %``.  Misuse is reported inline like Go: ``%!d(string=x)``,
    ``%!s(MISSING)``, ``%!d(BADINDEX)``, ``%!(EXTRA int=1)``.
    """
    out: list[str] = []
    n = len(fmt)
    nargs = len(args)
    i = 0
    argi = 0
    reordered = False

    def arg_number(i: int, argi: int) -> tuple[int, int, bool, bool]:
        """Parse ``[n]`` at ``fmt[i]``: (argi, i, found, good)."""
        nonlocal reordered
        if i >= n or fmt[i] != "[":
            return argi, i, False, True
        reordered = True
        close = fmt.find("]", i + 1)
        if close < 0 or n - i < 3:
            return argi, i + 1, False, False
        num = fmt[i + 1 : close]
        if not num.isdigit():
            return argi, close + 1, False, False
        index = int(num) - 1
        if 0 <= index < nargs:
            return index, close + 1, True, True
        return argi, close + 1, True, False

    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        sp = _Spec()
        good = True
        while i < n and fmt[i] in "+-# 0":
            c = fmt[i]
            if c == "+":
                sp.plus = True
            elif c == "-":
                sp.minus = True
                sp.zero = False  # Go never pads with zeros on the right
            elif c == "#":
                sp.sharp = True
            elif c == " ":
                sp.space = True
            else:
                sp.zero = not sp.minus
            i += 1
        argi, i, after_index, ok = arg_number(i, argi)
        good = good and ok
        if i < n and fmt[i] == "*":
            i += 1
            sp.width, argi = _int_from_arg(args, argi)
            if sp.width is None:
                out.append("%!(BADWIDTH)")
            elif sp.width < 0:
                sp.width = -sp.width
                sp.minus = True
                sp.zero = False
            after_index = False
        else:
            k = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > k:
                sp.width = int(fmt[k:i])
                if after_index:
                    good = False
        if i + 1 < n and fmt[i] == ".":
            i += 1
            if after_index:
                good = False
            argi, i, after_index, ok = arg_number(i, argi)
            good = good and ok
            if i < n and fmt[i] == "*":
                i += 1
                sp.prec, argi = _int_from_arg(args, argi)
                if sp.prec is not None and sp.prec < 0:
                    sp.prec = None
                elif sp.prec is None:
                    out.append("%!(BADPREC)")
                after_index = False
            else:
                k = i
                while i < n and fmt[i].isdigit():
                    i += 1
                sp.prec = int(fmt[k:i]) if i > k else 0
        if not after_index:
            argi, i, after_index, ok = arg_number(i, argi)
            good = good and ok
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif not good:
            out.append("%!" + verb + "(BADINDEX)")
        elif argi >= nargs:
            out.append("%!" + verb + "(MISSING)")
        else:
            if verb == "v":
                # %#v is Go syntax and %+v adds struct field names: neither is a flag here.
                sp.sharp_v, sp.sharp, sp.plus = sp.sharp, False, False
            out.append(_fmt_arg(args[argi], verb, sp))
            argi += 1
    if not reordered and argi < nargs:
        extra = ", ".join(
            ("<nil>" if a is None or a is NO_VALUE else _go_type(a) + "=" + format_value(a)) for a in args[argi:]
        )
        out.append("%!(EXTRA " + extra + ")")
    return "".join(out)


# --------------------------------------------------------------------------
# Lexer (mirrors text/template/parse/lex.go)

(
    _EOF,
    _ERROR,
    _TEXT,
    _LEFT,
    _RIGHT,
    _SPACE,
    _FIELD,
    _VAR,
    _IDENT,
    _STRING,
    _RAW,
    _CHARC,
    _NUMBER,
    _BOOL,
    _PIPE,
    _LPAREN,
    _RPAREN,
    _ASSIGN,
    _DECLARE,
    _CHAR,
) = range(20)
# Keyword items: Go prints them as <word> in messages.
_KW = 100
_DOT, _NIL, _BLOCK, _BREAK, _CONTINUE, _DEFINE, _ELSE, _END, _IF, _RANGE, _TEMPLATE, _WITH = range(100, 112)
_KEYWORDS = {
    "block": _BLOCK,
    "break": _BREAK,
    "continue": _CONTINUE,
    "define": _DEFINE,
    "else": _ELSE,
    "end": _END,
    "if": _IF,
    "nil": _NIL,
    "range": _RANGE,
    "template": _TEMPLATE,
    "with": _WITH,
}
_SPACES = " \t\r\n"


class _Tok:
    __slots__ = ("typ", "val", "pos")

    def __init__(self, typ: int, val: str, pos: int) -> None:
        self.typ = typ
        self.val = val
        self.pos = pos

    def __str__(self) -> str:  # Go's item.String(), used in parse errors
        if self.typ == _EOF:
            return "EOF"
        if self.typ == _ERROR:
            return self.val
        if self.typ >= _KW:
            return "<" + self.val + ">"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def _fmt_U(ch: str) -> str:
    """Go's ``%#U``: ``U+007D '}'``."""
    s = "U+%04X" % ord(ch)
    if ch.isprintable():
        s += " '" + ch + "'"
    return s


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdecimal()


def _lex(src: str) -> list[_Tok]:
    """Split ``src`` into items; a lexing error ends the list with an error item."""
    toks: list[_Tok] = []
    n = len(src)

    def at_right_delim(p: int) -> tuple[bool, bool]:
        if p + 1 < n and src[p] in _SPACES and src[p + 1] == "-" and src.startswith("}}", p + 2):
            return True, True
        if src.startswith("}}", p):
            return True, False
        return False, False

    def at_terminator(p: int) -> bool:
        if p >= n:
            return True
        c = src[p]
        if c in _SPACES or c in ".,|:)(":
            return True
        return src.startswith("}}", p)

    def scan_alnum(p: int) -> int:
        while p < n and _is_alnum(src[p]):
            p += 1
        return p

    def scan_number(p: int) -> tuple[int, bool]:
        q = p
        if q < n and src[q] in "+-":
            q += 1
        digits = "0123456789_"
        if q < n and src[q] == "0":
            q += 1
            if q < n and src[q] in "xX":
                q += 1
                digits = "0123456789abcdefABCDEF_"
            elif q < n and src[q] in "oO":
                q += 1
                digits = "01234567_"
            elif q < n and src[q] in "bB":
                q += 1
                digits = "01_"
        while q < n and src[q] in digits:
            q += 1
        if q < n and src[q] == ".":
            q += 1
            while q < n and src[q] in digits:
                q += 1
        if len(digits) == 11 and q < n and src[q] in "eE":
            q += 1
            if q < n and src[q] in "+-":
                q += 1
            while q < n and src[q] in "0123456789_":
                q += 1
        if len(digits) == 23 and q < n and src[q] in "pP":
            q += 1
            if q < n and src[q] in "+-":
                q += 1
            while q < n and src[q] in "0123456789_":
                q += 1
        if q < n and src[q] == "i":
            q += 1
        if q < n and _is_alnum(src[q]):
            return q + 1, False
        return q, True

    def error(msg: str, p: int) -> list[_Tok]:
        toks.append(_Tok(_ERROR, msg, p))
        return toks

    pos = 0
    while True:
        x = src.find("{{", pos)
        if x < 0:
            if pos < n:
                toks.append(_Tok(_TEXT, src[pos:], pos))
            toks.append(_Tok(_EOF, "", n))
            return toks
        after = x + 2
        trim = after + 1 < n and src[after] == "-" and src[after + 1] in _SPACES
        end = pos + len(src[pos:x].rstrip(_SPACES)) if trim else x
        if end > pos:
            toks.append(_Tok(_TEXT, src[pos:end], pos))
        if trim:
            after += 2
        if src.startswith("/*", after):
            c = src.find("*/", after + 2)
            if c < 0:
                return error("unclosed comment", x)
            p = c + 2
            delim, rtrim = at_right_delim(p)
            if not delim:
                return error("comment ends before closing delimiter", x)
            p += 4 if rtrim else 2
            if rtrim:
                while p < n and src[p] in _SPACES:
                    p += 1
            pos = p
            continue
        toks.append(_Tok(_LEFT, "{{", x))
        p = after
        depth = 0
        while True:
            delim, rtrim = at_right_delim(p)
            if delim:
                if depth:
                    return error("unclosed left paren", p)
                if rtrim:
                    p += 2
                toks.append(_Tok(_RIGHT, "}}", p))
                p += 2
                if rtrim:
                    while p < n and src[p] in _SPACES:
                        p += 1
                break
            if p >= n:
                return error("unclosed action", p)
            c = src[p]
            if c in _SPACES:
                q = p
                while q < n and src[q] in _SPACES:
                    q += 1
                # " -}}": the last space belongs to the trim marker.
                if src.startswith("-}}", q):
                    q -= 1
                    if q == p:
                        continue
                toks.append(_Tok(_SPACE, src[p:q], p))
                p = q
            elif c == "=":
                toks.append(_Tok(_ASSIGN, "=", p))
                p += 1
            elif c == ":":
                if not src.startswith(":=", p):
                    return error("expected :=", p)
                toks.append(_Tok(_DECLARE, ":=", p))
                p += 2
            elif c == "|":
                toks.append(_Tok(_PIPE, "|", p))
                p += 1
            elif c == '"' or c == "'":
                q = p + 1
                while True:
                    if q >= n or src[q] == "\n":
                        what = "quoted string" if c == '"' else "character constant"
                        return error("unterminated " + what, p)
                    ch = src[q]
                    if ch == "\\":
                        if q + 1 >= n or src[q + 1] == "\n":
                            what = "quoted string" if c == '"' else "character constant"
                            return error("unterminated " + what, p)
                        q += 2
                        continue
                    q += 1
                    if ch == c:
                        break
                toks.append(_Tok(_STRING if c == '"' else _CHARC, src[p:q], p))
                p = q
            elif c == "`":
                q = src.find("`", p + 1)
                if q < 0:
                    return error("unterminated raw quoted string", p)
                toks.append(_Tok(_RAW, src[p : q + 1], p))
                p = q + 1
            elif c == "$" or (c == "." and not (p + 1 < n and "0" <= src[p + 1] <= "9")):
                q = p + 1
                if at_terminator(q):
                    toks.append(_Tok(_VAR, "$", p) if c == "$" else _Tok(_DOT, ".", p))
                else:
                    q = scan_alnum(q)
                    if not at_terminator(q):
                        return error("bad character " + _fmt_U(src[q]), p)
                    toks.append(_Tok(_VAR if c == "$" else _FIELD, src[p:q], p))
                p = q
            elif c in "+-." or "0" <= c <= "9":
                q, ok = scan_number(p)
                if ok and q < n and src[q] in "+-":  # complex constant such as 1+2i
                    q, ok = scan_number(q)
                    ok = ok and src[q - 1] == "i"
                if not ok:
                    return error("bad number syntax: " + go_quote(src[p:q]), p)
                toks.append(_Tok(_NUMBER, src[p:q], p))
                p = q
            elif _is_alnum(c):
                q = scan_alnum(p)
                if not at_terminator(q):
                    return error("bad character " + _fmt_U(src[q]), p)
                word = src[p:q]
                kw = _KEYWORDS.get(word)
                if kw is not None:
                    toks.append(_Tok(kw, word, p))
                elif word == "true" or word == "false":
                    toks.append(_Tok(_BOOL, word, p))
                else:
                    toks.append(_Tok(_IDENT, word, p))
                p = q
            elif c == "(":
                depth += 1
                toks.append(_Tok(_LPAREN, "(", p))
                p += 1
            elif c == ")":
                depth -= 1
                if depth < 0:
                    return error("unexpected right paren", p)
                toks.append(_Tok(_RPAREN, ")", p))
                p += 1
            elif c <= "\x7f" and c.isprintable():
                toks.append(_Tok(_CHAR, c, p))
                p += 1
            else:
                return error("unrecognized character in action: " + _fmt_U(c), p)
        pos = p


# --------------------------------------------------------------------------
# Literals (strconv.Unquote, parse.newNumber)


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


# --------------------------------------------------------------------------
# Parse tree (mirrors text/template/parse/node.go)


class _Node:
    __slots__ = ("pos",)


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        self.pos = pos
        self.text = text

    def __str__(self) -> str:
        return go_quote(self.text)


class _List(_Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int, nodes: list | None = None) -> None:
        self.pos = pos
        self.nodes = nodes if nodes is not None else []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class _Pipe(_Node):
    __slots__ = ("decl", "is_assign", "cmds")

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.decl: list[_Variable] = []
        self.is_assign = False
        self.cmds: list[_Command] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: _Pipe) -> None:
        self.pos = pos
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class _Command(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.args: list[_Node] = []

    def __str__(self) -> str:
        return " ".join("(" + str(a) + ")" if isinstance(a, _Pipe) else str(a) for a in self.args)


class _Field(_Node):
    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: list[str]) -> None:
        self.pos = pos
        self.idents = idents

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


class _Variable(_Node):
    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: list[str]) -> None:
        self.pos = pos
        self.idents = idents

    def __str__(self) -> str:
        return ".".join(self.idents)


class _Dot(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "."


class _Nil(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "nil"


class _Bool(_Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool) -> None:
        self.pos = pos
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class _Number(_Node):
    __slots__ = ("text", "value", "int_value")

    def __init__(self, pos: int, text: str, value: int | float, int_value: int | None) -> None:
        self.pos = pos
        self.text = text
        self.value = value
        self.int_value = int_value

    def __str__(self) -> str:
        return self.text


class _String(_Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str) -> None:
        self.pos = pos
        self.quoted = quoted
        self.text = text

    def __str__(self) -> str:
        return self.quoted


class _Identifier(_Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos = pos
        self.name = name

    def __str__(self) -> str:
        return self.name


class _Chain(_Node):
    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: _Node, fields: list[str]) -> None:
        self.pos = pos
        self.node = node
        self.fields = fields

    def __str__(self) -> str:
        s = str(self.node)
        if isinstance(self.node, _Pipe):
            s = "(" + s + ")"
        return s + "".join("." + f for f in self.fields)


class _Branch(_Node):
    __slots__ = ("pipe", "list", "else_list")
    keyword = ""

    def __init__(self, pos: int, pipe: _Pipe, lst: _List, else_list: _List | None) -> None:
        self.pos = pos
        self.pipe = pipe
        self.list = lst
        self.else_list = else_list

    def __str__(self) -> str:
        s = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            s += "{{else}}" + str(self.else_list)
        return s + "{{end}}"


class _If(_Branch):
    __slots__ = ()
    keyword = "if"


class _Range(_Branch):
    __slots__ = ()
    keyword = "range"


class _With(_Branch):
    __slots__ = ()
    keyword = "with"


class _TemplateCall(_Node):
    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: _Pipe | None) -> None:
        self.pos = pos
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        if self.pipe is None:
            return "{{template " + go_quote(self.name) + "}}"
        return "{{template " + go_quote(self.name) + " " + str(self.pipe) + "}}"


class _BreakNode(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "{{break}}"


class _ContinueNode(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "{{continue}}"


class _End(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "{{end}}"


class _Else(_Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "{{else}}"


def _line_of(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


# --------------------------------------------------------------------------
# Parser (mirrors text/template/parse/parse.go)


class _Parser:
    def __init__(self, src: str, name: str, funcs: dict) -> None:
        self.src = src
        self.name = name
        self.funcs = funcs
        self.toks = _lex(src)
        self.last = len(self.toks) - 1
        self.i = 0
        self.cur = self.toks[0]
        self.vars = ["$"]
        self.range_depth = 0
        self.defs: dict[str, _List] = {}

    # token stream ---------------------------------------------------------
    def next(self) -> _Tok:
        t = self.toks[min(self.i, self.last)]
        self.i += 1
        self.cur = t
        if t.typ == _ERROR:
            self.fail(t.val, t.pos)
        return t

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> _Tok:
        t = self.next()
        self.backup()
        return t

    def next_non_space(self) -> _Tok:
        while True:
            t = self.next()
            if t.typ != _SPACE:
                return t

    def peek_non_space(self) -> _Tok:
        t = self.next_non_space()
        self.backup()
        return t

    # errors ---------------------------------------------------------------
    def fail(self, msg: str, pos: int) -> None:
        raise TemplateError("template: %s:%d: %s" % (self.name, _line_of(self.src, pos), msg))

    def errorf(self, msg: str) -> None:
        self.fail(msg, self.cur.pos)

    def unexpected(self, tok: _Tok, context: str) -> None:
        self.errorf("unexpected %s in %s" % (tok, context))

    def expect(self, typ: int, context: str) -> _Tok:
        t = self.next_non_space()
        if t.typ != typ:
            self.unexpected(t, context)
        return t

    # grammar --------------------------------------------------------------
    def parse(self) -> _List:
        root = _List(self.peek().pos)
        while self.peek().typ != _EOF:
            if self.peek().typ == _LEFT:
                save = self.i
                self.next()
                if self.next_non_space().typ == _DEFINE:
                    self.parse_definition()
                    continue
                self.i = save
            n = self.text_or_action()
            if isinstance(n, (_End, _Else)):
                self.errorf("unexpected %s" % n)
            root.nodes.append(n)
        return root

    def template_name(self, tok: _Tok, context: str) -> str:
        if tok.typ not in (_STRING, _RAW):
            self.unexpected(tok, context)
        try:
            return _go_unquote(tok.val)
        except _SyntaxError:
            self.errorf("invalid syntax")
            raise AssertionError  # unreachable

    def parse_definition(self) -> None:
        context = "define clause"
        saved_vars, self.vars = self.vars, ["$"]
        name = self.template_name(self.next_non_space(), context)
        self.expect(_RIGHT, context)
        body, end = self.item_list()
        if not isinstance(end, _End):
            self.errorf("unexpected %s in %s" % (end, context))
        self.defs[name] = body
        self.vars = saved_vars

    def item_list(self) -> tuple[_List, _Node]:
        lst = _List(self.peek_non_space().pos)
        while self.peek_non_space().typ != _EOF:
            n = self.text_or_action()
            if isinstance(n, (_End, _Else)):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")
        raise AssertionError  # unreachable

    def text_or_action(self) -> _Node:
        t = self.next_non_space()
        if t.typ == _TEXT:
            return _Text(t.pos, t.val)
        if t.typ == _LEFT:
            return self.action()
        self.unexpected(t, "input")
        raise AssertionError  # unreachable

    def action(self) -> _Node:
        t = self.next_non_space()
        typ = t.typ
        if typ == _BLOCK:
            return self.block_control()
        if typ == _BREAK or typ == _CONTINUE:
            return self.loop_control(t)
        if typ == _ELSE:
            return self.else_control()
        if typ == _END:
            return _End(self.expect(_RIGHT, "end").pos)
        if typ == _IF:
            return _If(*self.parse_control("if"))
        if typ == _RANGE:
            return _Range(*self.parse_control("range"))
        if typ == _TEMPLATE:
            return self.template_control()
        if typ == _WITH:
            return _With(*self.parse_control("with"))
        self.backup()
        t = self.peek()
        return _Action(t.pos, self.pipeline("command", _RIGHT))

    def loop_control(self, tok: _Tok) -> _Node:
        word = "{{" + tok.val + "}}"
        t = self.next_non_space()
        if t.typ != _RIGHT:
            self.unexpected(t, word)
        if self.range_depth == 0:
            self.errorf("%s outside {{range}}" % word)
        return _BreakNode(tok.pos) if tok.typ == _BREAK else _ContinueNode(tok.pos)

    def else_control(self) -> _Node:
        peek = self.peek_non_space()
        # "{{else if ...}}" / "{{else with ...}}": leave the keyword pending.
        if peek.typ in (_IF, _WITH):
            return _Else(peek.pos)
        return _Else(self.expect(_RIGHT, "else").pos)

    def parse_control(self, context: str) -> tuple[int, _Pipe, _List, _List | None]:
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, _RIGHT)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if isinstance(nxt, _Else):
                if context == "if" and self.peek().typ == _IF:
                    self.next()
                    else_list = _List(nxt.pos, [_If(*self.parse_control("if"))])
                elif context == "with" and self.peek().typ == _WITH:
                    self.next()
                    else_list = _List(nxt.pos, [_With(*self.parse_control("with"))])
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, _End):
                        self.errorf("expected end; found %s" % nxt)
            return pipe.pos, pipe, lst, else_list
        finally:
            del self.vars[nvars:]

    def template_control(self) -> _Node:
        context = "template clause"
        tok = self.next_non_space()
        name = self.template_name(tok, context)
        pipe = None
        if self.next_non_space().typ != _RIGHT:
            self.backup()
            pipe = self.pipeline(context, _RIGHT)
        return _TemplateCall(tok.pos, name, pipe)

    def block_control(self) -> _Node:
        context = "block clause"
        tok = self.next_non_space()
        name = self.template_name(tok, context)
        pipe = self.pipeline(context, _RIGHT)
        saved_vars, self.vars = self.vars, ["$"]
        saved_depth, self.range_depth = self.range_depth, 0
        body, end = self.item_list()
        if not isinstance(end, _End):
            self.errorf("unexpected %s in %s" % (end, context))
        self.vars, self.range_depth = saved_vars, saved_depth
        self.defs[name] = body
        return _TemplateCall(tok.pos, name, pipe)

    def pipeline(self, context: str, end: int) -> _Pipe:
        pipe = _Pipe(self.peek_non_space().pos)
        while True:  # declarations
            v = self.peek_non_space()
            if v.typ != _VAR:
                break
            save = self.i
            self.next()
            nxt = self.peek_non_space()
            if nxt.typ in (_ASSIGN, _DECLARE):
                pipe.is_assign = nxt.typ == _ASSIGN
                self.next_non_space()
                pipe.decl.append(_Variable(v.pos, [v.val]))
                self.vars.append(v.val)
                break
            if nxt.typ == _CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(_Variable(v.pos, [v.val]))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (_VAR, _RIGHT, _RPAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf("too many declarations in %s" % context)
            self.i = save
            break
        while True:
            t = self.next_non_space()
            if t.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if t.typ in (_BOOL, _CHARC, _DOT, _FIELD, _IDENT, _NUMBER, _NIL, _RAW, _STRING, _VAR, _LPAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(t, context)

    def check_pipeline(self, pipe: _Pipe, context: str) -> None:
        if not pipe.cmds:
            self.errorf("missing value for %s" % context)
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (_Bool, _Dot, _Nil, _Number, _String)):
                self.errorf("non executable command in pipeline stage %d" % (i + 2))

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            t = self.next()
            if t.typ == _SPACE:
                continue
            if t.typ in (_RIGHT, _RPAREN):
                self.backup()
            elif t.typ != _PIPE:
                self.unexpected(t, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == _FIELD:
            pos = self.peek().pos
            fields = []
            while self.peek().typ == _FIELD:
                fields.append(self.next().val[1:])
            if isinstance(node, _Field):
                node = _Field(pos, node.idents + fields)
            elif isinstance(node, _Variable):
                node = _Variable(pos, node.idents + fields)
            elif isinstance(node, (_Bool, _String, _Number, _Nil, _Dot)):
                self.errorf("unexpected . after term %s" % go_quote(str(node)))
            else:
                node = _Chain(pos, node, fields)
        return node

    def term(self) -> _Node | None:
        t = self.next_non_space()
        typ = t.typ
        if typ == _IDENT:
            if t.val not in self.funcs:
                self.errorf("function %s not defined" % go_quote(t.val))
            return _Identifier(t.pos, t.val)
        if typ == _DOT:
            return _Dot(t.pos)
        if typ == _NIL:
            return _Nil(t.pos)
        if typ == _VAR:
            if t.val not in self.vars:
                self.errorf("undefined variable %s" % go_quote(t.val))
            return _Variable(t.pos, [t.val])
        if typ == _FIELD:
            return _Field(t.pos, [t.val[1:]])
        if typ == _BOOL:
            return _Bool(t.pos, t.val == "true")
        if typ == _NUMBER or typ == _CHARC:
            return self.number(t)
        if typ == _LPAREN:
            return self.pipeline("parenthesized pipeline", _RPAREN)
        if typ == _STRING or typ == _RAW:
            try:
                return _String(t.pos, t.val, _go_unquote(t.val))
            except _SyntaxError:
                self.errorf("invalid syntax")
        self.backup()
        return None

    def number(self, t: _Tok) -> _Number:
        text = t.val
        if t.typ == _CHARC:
            try:
                r = _unquote_char(text)
            except _SyntaxError:
                self.errorf("invalid syntax")
                raise AssertionError  # unreachable
            except ValueError as e:
                self.errorf(str(e))
                raise AssertionError  # unreachable
            return _Number(t.pos, text, r, r)
        if text.endswith("i"):
            self.errorf("complex numbers are not supported: %s" % text)
        iv = _parse_go_int(text)
        if iv is not None:
            if not -(2**63) <= iv < 2**64:
                self.errorf("integer overflow: %s" % text)
            return _Number(t.pos, text, iv, iv)
        try:
            body = text.replace("_", "")
            unsigned = body.lstrip("+-")
            if unsigned[:2] in ("0x", "0X"):
                f = float.fromhex(body)
            else:
                f = float(body)
        except ValueError:
            self.errorf("illegal number syntax: %s" % go_quote(text))
            raise AssertionError  # unreachable
        if not any(c in text for c in ".eEpP"):
            self.errorf("integer overflow: %s" % text)
        int_value = int(f) if math.isfinite(f) and f == int(f) else None
        return _Number(t.pos, text, f, int_value)


# --------------------------------------------------------------------------
# Functions


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


# --------------------------------------------------------------------------
# Execution (mirrors text/template/exec.go)


class _BreakSignal(Exception):
    pass


class _ContinueSignal(Exception):
    pass


_MAX_DEPTH = 200
_NO_ATTR_TYPES = (str, int, float, bool, list, tuple, dict, bytes, bytearray, set, frozenset, complex)


class _State:
    __slots__ = ("tmpl", "name", "funcs", "out", "vars", "node", "depth")

    def __init__(
        self,
        tmpl: Template,
        funcs: dict[str, _Fn],
        out: list[str],
        data: object,
        depth: int = 0,
        name: str | None = None,
    ) -> None:
        self.tmpl = tmpl
        self.name = tmpl.name if name is None else name  # the (sub)template being executed
        self.funcs = funcs
        self.out = out
        self.vars: list[list] = [["$", data]]
        self.node: _Node | None = None
        self.depth = depth

    def error(self, msg: str) -> None:
        src = self.tmpl.text
        node = self.node
        if node is None:
            raise TemplateError('template: %s: executing "%s": %s' % (self.tmpl.name, self.name, msg))
        pos = node.pos
        before = src[:pos]
        nl = before.rfind("\n")
        col = len(before[nl + 1 :].encode("utf-8", "replace")) if nl >= 0 else len(before.encode("utf-8", "replace"))
        raise TemplateError(
            'template: %s:%d:%d: executing "%s" at <%s>: %s'
            % (self.tmpl.name, before.count("\n") + 1, col, self.name, node, msg)
        )

    # variables ------------------------------------------------------------
    def var_value(self, name: str) -> object:
        for v in reversed(self.vars):
            if v[0] == name:
                return v[1]
        self.error("undefined variable: %s" % name)

    def set_var(self, name: str, value: object) -> None:
        for v in reversed(self.vars):
            if v[0] == name:
                v[1] = value
                return
        self.error("undefined variable: %s" % name)

    # walking --------------------------------------------------------------
    def walk(self, dot: object, node: _Node) -> None:
        t = type(node)
        if t is _Text:
            self.out.append(node.text)  # type: ignore[attr-defined]
        elif t is _Action:
            val = self.eval_pipeline(dot, node.pipe)  # type: ignore[attr-defined]
            if not node.pipe.decl:  # type: ignore[attr-defined]
                self.out.append("<no value>" if val is NO_VALUE else format_value(val))
        elif t is _List:
            for n in node.nodes:  # type: ignore[attr-defined]
                self.walk(dot, n)
        elif t is _If or t is _With:
            self.walk_if_with(dot, node)  # type: ignore[arg-type]
        elif t is _Range:
            self.walk_range(dot, node)  # type: ignore[arg-type]
        elif t is _TemplateCall:
            self.walk_template(dot, node)  # type: ignore[arg-type]
        elif t is _BreakNode:
            raise _BreakSignal
        elif t is _ContinueNode:
            raise _ContinueSignal
        else:
            self.node = node
            self.error("unknown node: %s" % node)

    def walk_if_with(self, dot: object, node: _Branch) -> None:
        mark = len(self.vars)
        try:
            val = self.eval_pipeline(dot, node.pipe)
            if _truth(val):
                self.walk(val if type(node) is _With else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: object, r: _Range) -> None:
        outer = len(self.vars)
        try:
            self.node = r
            val = self.eval_pipeline(dot, r.pipe)
            mark = len(self.vars)
            decl = r.pipe.decl

            def one(index: object, elem: object) -> None:
                if decl:
                    if r.pipe.is_assign:
                        if len(decl) > 1:
                            self.set_var(decl[0].idents[0], index)
                            self.set_var(decl[1].idents[0], elem)
                        else:
                            self.set_var(decl[0].idents[0], elem)
                    else:
                        self.vars[-1][1] = elem
                        if len(decl) > 1:
                            self.vars[-2][1] = index
                try:
                    self.walk(elem, r.list)
                except _ContinueSignal:
                    pass
                finally:
                    del self.vars[mark:]

            ran = False
            try:
                if isinstance(val, (list, tuple)):
                    for i, e in enumerate(val):
                        ran = True
                        one(i, e)
                elif isinstance(val, dict):
                    for k in _sorted_keys(val):
                        ran = True
                        one(k, val[k])
                elif isinstance(val, int) and not isinstance(val, bool):
                    if len(decl) > 1:
                        self.error("can't use %s to iterate over more than one variable" % val)
                    for i in range(val):
                        ran = True
                        one(i, i)
                elif val is None or val is NO_VALUE:
                    pass
                else:
                    self.error("range can't iterate over %s" % format_value(val))
            except _BreakSignal:
                pass
            if not ran and r.else_list is not None:
                self.walk(dot, r.else_list)
        finally:
            del self.vars[outer:]

    def walk_template(self, dot: object, t: _TemplateCall) -> None:
        self.node = t
        body = self.tmpl.defs.get(t.name)
        if body is None:
            self.error("template %s not defined" % go_quote(t.name))
        if self.depth >= _MAX_DEPTH:
            self.error("exceeded maximum template depth (%d)" % _MAX_DEPTH)
        newdot = self.eval_pipeline(dot, t.pipe) if t.pipe is not None else NO_VALUE
        sub = _State(self.tmpl, self.funcs, self.out, newdot, self.depth + 1, t.name)
        sub.walk(newdot, body)  # type: ignore[arg-type]

    # evaluation -----------------------------------------------------------
    def eval_pipeline(self, dot: object, pipe: _Pipe) -> object:
        self.node = pipe
        value: object = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.idents[0], value)
            else:
                self.vars.append([var.idents[0], value])
        return value

    def not_a_function(self, args: list, final: object) -> None:
        if len(args) > 1 or final is not _MISSING:
            self.error("can't give argument to non-function %s" % args[0])

    def eval_command(self, dot: object, cmd: _Command, final: object) -> object:
        first = cmd.args[0]
        t = type(first)
        if t is _Field:
            return self.eval_field_node(dot, first, cmd.args, final)  # type: ignore[arg-type]
        if t is _Chain:
            return self.eval_chain(dot, first, cmd.args, final)  # type: ignore[arg-type]
        if t is _Identifier:
            return self.eval_function(dot, first, cmd, cmd.args, final)  # type: ignore[arg-type]
        if t is _Pipe:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)  # type: ignore[arg-type]
        if t is _Variable:
            return self.eval_variable_node(dot, first, cmd.args, final)  # type: ignore[arg-type]
        self.node = first
        self.not_a_function(cmd.args, final)
        if t is _Bool:
            return first.value  # type: ignore[attr-defined]
        if t is _Number:
            return self.ideal_constant(first)  # type: ignore[arg-type]
        if t is _Dot:
            return dot
        if t is _Nil:
            self.error("nil is not a command")
        if t is _String:
            return first.text  # type: ignore[attr-defined]
        self.error("can't evaluate command %s" % first)
        return None

    def eval_field_node(self, dot: object, field: _Field, args: list | None, final: object) -> object:
        self.node = field
        return self.eval_field_chain(dot, dot, field, field.idents, args, final)

    def eval_chain(self, dot: object, chain: _Chain, args: list | None, final: object) -> object:
        self.node = chain
        if isinstance(chain.node, _Nil):
            self.error("indirection through explicit nil in %s" % chain)
        pipe = self.eval_arg(dot, "value", chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.fields, args, final)

    def eval_variable_node(self, dot: object, var: _Variable, args: list | None, final: object) -> object:
        self.node = var
        value = self.var_value(var.idents[0])
        if len(var.idents) == 1:
            self.not_a_function(args or [var], final)
            return value
        return self.eval_field_chain(dot, value, var, var.idents[1:], args, final)

    def eval_field_chain(
        self, dot: object, receiver: object, node: _Node, idents: list[str], args: list | None, final: object
    ) -> object:
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, None, _MISSING, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(
        self, dot: object, name: str, node: _Node, args: list | None, final: object, receiver: object
    ) -> object:
        if receiver is NO_VALUE:
            return NO_VALUE
        if receiver is None:
            self.error("nil pointer evaluating interface {}.%s" % name)
        has_args = (args is not None and len(args) > 1) or final is not _MISSING
        if isinstance(receiver, dict):
            if type(receiver) is not dict and not name.startswith("_") and not hasattr(dict, name):
                method = getattr(receiver, name, None)
                if callable(method):
                    return self.eval_call(dot, _Fn(method, (), "any"), node, name, args, final)
            if has_args:
                self.error("%s is not a method but has arguments" % name)
            if name in receiver:
                return receiver[name]
            lname = name.lower()
            for k in receiver:
                if isinstance(k, str) and k.lower() == lname:
                    return receiver[k]
            return NO_VALUE
        # Go reports field errors at whatever node was evaluated last.
        if isinstance(receiver, _NO_ATTR_TYPES) or name.startswith("_"):
            self.error("can't evaluate field %s in type %s" % (name, _go_type(receiver)))
        try:
            attr = getattr(receiver, name)
        except AttributeError:
            self.error("can't evaluate field %s in type %s" % (name, _go_type(receiver)))
        if callable(attr) and not isinstance(attr, type):
            return self.eval_call(dot, _Fn(attr, (), "any"), node, name, args, final)
        if has_args:
            self.error("%s has arguments but cannot be invoked as function" % name)
        return attr

    def eval_function(self, dot: object, ident: _Identifier, cmd: _Node, args: list | None, final: object) -> object:
        self.node = ident
        fn = self.funcs.get(ident.name)
        if fn is None:
            self.error("%s is not a defined function" % go_quote(ident.name))
        return self.eval_call(dot, fn, cmd, ident.name, args, final)  # type: ignore[arg-type]

    def eval_call(self, dot: object, fn: _Fn, node: _Node, name: str, args: list | None, final: object) -> object:
        argn = list(args[1:]) if args else []
        num_in = len(argn) + (0 if final is _MISSING else 1)
        params = fn.params
        if fn.variadic is not None:
            if num_in < len(params):
                self.error("wrong number of args for %s: want at least %d got %d" % (name, len(params), len(argn)))
        elif num_in != len(params):
            self.error("wrong number of args for %s: want %d got %d" % (name, len(params), num_in))

        if fn.short_circuit:
            want = fn.short_circuit == "or"
            v: object = _MISSING
            for a in argn:
                v = self.eval_arg(dot, "value", a)
                if _truth(v) == want:
                    return v
            if final is not _MISSING:
                v = final
            return v

        argv = []
        for i, a in enumerate(argn):
            typ = params[i] if i < len(params) else fn.variadic
            argv.append(self.eval_arg(dot, typ, a))  # type: ignore[arg-type]
        if final is not _MISSING:
            i = num_in - 1
            typ = params[i] if i < len(params) else fn.variadic
            argv.append(self.validate(final, typ))  # type: ignore[arg-type]
        try:
            return fn.fn(*argv)
        except TemplateError:
            raise
        except _FnError as e:
            self.node = node
            self.error("error calling %s: %s" % (name, e))
        except Exception as e:  # a Python method raising is Go's function returning an error
            self.node = node
            self.error("error calling %s: %s" % (name, e))
        return None

    def eval_arg(self, dot: object, typ: str, n: _Node) -> object:
        self.node = n
        t = type(n)
        if t is _Dot:
            v = dot
        elif t is _Nil:
            if typ in ("value", "any", "[]string"):
                return None
            self.error("cannot assign nil to %s" % typ)
            return None
        elif t is _Field:
            v = self.eval_field_node(dot, n, [n], _MISSING)  # type: ignore[arg-type]
        elif t is _Variable:
            v = self.eval_variable_node(dot, n, None, _MISSING)  # type: ignore[arg-type]
        elif t is _Pipe:
            v = self.eval_pipeline(dot, n)  # type: ignore[arg-type]
        elif t is _Identifier:
            v = self.eval_function(dot, n, n, None, _MISSING)  # type: ignore[arg-type]
        elif t is _Chain:
            v = self.eval_chain(dot, n, None, _MISSING)  # type: ignore[arg-type]
        else:
            # A literal: Go converts it to the parameter's type or complains.
            if typ in ("value", "any"):
                if t is _String:
                    return n.text  # type: ignore[attr-defined]
                if t is _Number:
                    return self.ideal_constant(n)  # type: ignore[arg-type]
                return n.value  # type: ignore[attr-defined]
            if typ == "string":
                if t is _String:
                    return n.text  # type: ignore[attr-defined]
                self.error("expected string; found %s" % n)
            elif typ == "int":
                if t is _Number and n.int_value is not None:  # type: ignore[attr-defined]
                    if not -(2**63) <= n.int_value < 2**63:  # type: ignore[attr-defined]
                        self.error("%s overflows int" % n)
                    return n.int_value  # type: ignore[attr-defined]
                self.error("expected integer; found %s" % n)
            elif typ == "bool":
                if t is _Bool:
                    return n.value  # type: ignore[attr-defined]
                self.error("expected bool; found %s" % n)
            self.error("can't handle %s for arg of type %s" % (n, typ))
        self.node = n
        return self.validate(v, typ)

    def ideal_constant(self, n: _Number) -> object:
        v = n.value
        if isinstance(v, int) and not -(2**63) <= v < 2**63:
            self.error("%s overflows int" % n)
        return v

    def validate(self, v: object, typ: str) -> object:
        if typ == "value":
            return v
        if typ == "any":
            return None if v is NO_VALUE else v
        if v is NO_VALUE or v is None:
            if typ == "[]string":
                return None
            self.error("invalid value; expected %s" % typ)
        if typ == "string":
            if isinstance(v, str):
                return v
        elif typ == "int":
            if isinstance(v, int) and not isinstance(v, bool):
                return v
        elif typ == "bool":
            if isinstance(v, bool):
                return v
        elif typ == "[]string":
            if isinstance(v, (list, tuple)):
                return v
        self.error("wrong type for value; expected %s; got %s" % (typ, _go_type(v)))
        return None


# --------------------------------------------------------------------------
# Public API


class Template:
    """A parsed template.  Build with :func:`compile`; render with :meth:`render`."""

    __slots__ = ("text", "name", "root", "defs", "funcs")

    def __init__(self, text: str, name: str, root: _List, defs: dict[str, _List], funcs: dict[str, _Fn]) -> None:
        self.text = text
        self.name = name
        self.root = root
        self.defs = defs
        self.funcs = funcs

    def render(self, data: object, *, funcs: dict | None = None, ignore_errors: bool = False) -> str:
        """Execute the template with ``data`` as ``.`` and ``$``; return the output.

        ``funcs`` overrides functions by name for this execution (for example
        :data:`HEADER_FUNCS` when printing a table header).  Raises
        :class:`TemplateError` on execution errors, unless ``ignore_errors``:
        then the output written before the error is returned, which is what
        docker prints for a table header whose template fails.
        """
        table = self.funcs
        if funcs:
            table = dict(table)
            for k, f in funcs.items():
                table[k] = _as_fn(f)
        out: list[str] = []
        state = _State(self, table, out, data)
        try:
            state.walk(data, self.root)
        except (_BreakSignal, _ContinueSignal):  # pragma: no cover - the parser forbids these
            pass
        except TemplateError:
            if not ignore_errors:
                raise
        except RecursionError:
            if not ignore_errors:
                raise TemplateError("template: %s: exceeded maximum template depth" % self.name) from None
        return "".join(out)

    def __repr__(self) -> str:
        return "Template(%r)" % self.text


def compile(template: str, *, name: str = "", funcs: dict | None = None) -> Template:  # noqa: A001 - mirrors re.compile
    """Parse ``template`` once; raise :class:`TemplateError` on a syntax error.

    ``funcs`` adds or replaces functions (plain Python callables receive the
    evaluated arguments, missing values as ``None``).  ``name`` is the template
    name shown in messages; docker's is empty (``template: :1: ...``).
    """
    table = DEFAULT_FUNCS
    if funcs:
        table = dict(DEFAULT_FUNCS)
        for k, f in funcs.items():
            table[k] = _as_fn(f)
    parser = _Parser(template, name, table)
    root = parser.parse()
    return Template(template, name, root, parser.defs, table)


_CACHE: dict[str, Template] = {}


def render(template: str, data: object, *, funcs: dict | None = None) -> str:
    """Render ``template`` with ``data``; parsed templates are cached.

    ``funcs`` adds or replaces functions (see :func:`compile`).  Raises
    :class:`TemplateError` for parse and execution errors.
    """
    if funcs:
        return compile(template, funcs=funcs).render(data)
    t = _CACHE.get(template)
    if t is None:
        t = compile(template)
        if len(_CACHE) >= 128:
            _CACHE.clear()
        _CACHE[template] = t
    return t.render(data)


def parse_format(fmt: str | None) -> tuple[bool, str | None]:
    """Interpret a docker ``--format`` value the way ``formatter.Context`` does.

    Returns ``(is_table, template)``:

    - ``None``, ``""`` or ``"table"`` -> ``(True, None)``: print the command's
      default table;
    - ``"table <tmpl>"`` (any value starting with ``table``) -> ``(True, tmpl)``;
    - ``"json"`` -> ``(False, JSON_FORMAT)``: one JSON object per line, the
      marker being the template ``{{json .}}`` itself;
    - anything else -> ``(False, fmt)``: one rendered line per item.

    As docker does, spaces around the template are trimmed and the two-character
    sequences ``\\t`` and ``\\n`` are replaced by a tab and a newline.
    """
    if fmt is None or fmt == "" or fmt == "table":
        return True, None
    if fmt == "json":
        return False, JSON_FORMAT
    is_table = fmt.startswith("table")
    if is_table:
        fmt = fmt[len("table") :]
    fmt = fmt.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    if is_table and fmt == "":
        return True, None
    return is_table, fmt
