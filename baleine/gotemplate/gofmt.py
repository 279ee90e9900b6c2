"""Go's value formatting, as the template engine prints values: ``fmt``'s ``%v``
(``format_value``), ``Sprint``/``Sprintf``/``Sprintln``, ``strconv.Quote`` and
``encoding/json`` (``go_json``), with Go's float formatting.
"""

from __future__ import annotations

import math

from .values import NO_VALUE


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
