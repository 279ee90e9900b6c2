"""Human units as Docker reads and writes them: sizes, durations, CPU counts.

Behaviour follows the Go code Docker uses, edge cases included:

* sizes: github.com/docker/go-units ``RAMInBytes`` / ``FromHumanSize`` /
  ``HumanSize`` / ``BytesSize`` / ``HumanDuration``;
* durations: Go's ``time.ParseDuration`` and ``time.Duration.String``;
* CPUs: docker/cli ``opts.ParseCPUs``.

Errors raise :class:`~baleine.rules.errors.InvalidParameter` with the Go
message. Imported by the CLI: keep it free of heavy imports.
"""

from __future__ import annotations

from baleine.rules.errors import InvalidParameter

__all__ = [
    "bytes_size",
    "format_duration",
    "format_duration_ns",
    "go_quote",
    "go_strconv_quote",
    "human_duration",
    "human_size",
    "parse_bytes",
    "parse_cpus",
    "parse_duration",
    "parse_duration_ns",
    "parse_size_decimal",
]

KB = 1000
MB = 1000 * KB
GB = 1000 * MB
TB = 1000 * GB
PB = 1000 * TB
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
TiB = 1024 * GiB
PiB = 1024 * TiB

_DECIMAL_MAP = {"k": KB, "m": MB, "g": GB, "t": TB, "p": PB}
_BINARY_MAP = {"k": KiB, "m": MiB, "g": GiB, "t": TiB, "p": PiB}
# go-units sizeRegex. (?i) only affects the unit letters; [0-9] replaces Go's
# ASCII-only \d.
_SIZE_RE = r"(?i)([0-9]+(\.[0-9]+)*) ?([kmgtp])?i?b?"
_INT64_MAX = (1 << 63) - 1

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE


# --------------------------------------------------------------------- quoting


def go_quote(s: str) -> str:
    """Quote ``s`` like the ``quote`` helper of Go's time package (used in its errors).

    ASCII printable characters are kept (``"`` and ``\\`` are escaped);
    control and non-ASCII characters become ``\\xNN`` per UTF-8 byte.
    """
    out = ['"']
    for ch in s:
        if ch >= "\x80" or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_strconv_quote(s: str) -> str:
    """Quote ``s`` like Go's ``strconv.Quote`` (fmt's ``%q``), closely enough for messages.

    Printable characters are kept (``"`` and backslash escaped), newline-style
    escapes are used where Go has them, others become hex or unicode escapes.
    """
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


# ----------------------------------------------------------------------- sizes


def _parse_size(s: str, umap: dict[str, int]) -> int:
    import re  # deferred: the CLI imports this module and may not need re

    m = re.fullmatch(_SIZE_RE, s) if isinstance(s, str) else None
    if m is None:
        raise InvalidParameter(f"invalid size: '{s}'")
    number = m.group(1)
    if number.count(".") > 1:
        # The regexp lets "1.2.3" through; Go's strconv.ParseFloat then fails.
        raise InvalidParameter(f"strconv.ParseFloat: parsing {go_strconv_quote(number)}: invalid syntax")
    size = float(number)
    if size == float("inf"):
        raise InvalidParameter(f"strconv.ParseFloat: parsing {go_strconv_quote(number)}: value out of range")
    unit = (m.group(3) or "").lower()
    if unit:
        size *= umap[unit]
    if size >= 2.0**63:
        # Go's int64(float) is undefined here (amd64 yields MinInt64); refuse.
        raise InvalidParameter(f"invalid size: '{s}'")
    return int(size)


def parse_bytes(s: str) -> int:
    """Parse a memory size with binary multipliers, as go-units ``RAMInBytes``.

    ``"512m"`` → 536870912, ``"1g"``/``"1GB"``/``"1GiB"`` → 1073741824,
    ``"100"`` → 100, ``"1.5k"`` → 1536, ``"32.3 mb"`` → int(32.3 * MiB).
    Units k, m, g, t, p are case-insensitive, optionally followed by ``i``
    and/or ``b``; one space is allowed before the unit. The result is truncated
    toward zero. Negative numbers, surrounding spaces and other text raise
    InvalidParameter("invalid size: '<s>'").
    """
    return _parse_size(s, _BINARY_MAP)


def parse_size_decimal(s: str) -> int:
    """Parse a size with decimal (SI) multipliers, as go-units ``FromHumanSize``.

    Same syntax as :func:`parse_bytes` but ``k`` = 1000, ``m`` = 10**6, ...
    Raises InvalidParameter("invalid size: '<s>'").
    """
    return _parse_size(s, _DECIMAL_MAP)


_DECIMAL_ABBRS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
_BINARY_ABBRS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]


def _size_and_unit(size: float, base: float, abbrs: list[str]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(abbrs) - 1:
        size /= base
        i += 1
    return size, abbrs[i]


def human_size(size: float, precision: int = 4) -> str:
    """Decimal human size as go-units ``HumanSizeWithPrecision``: ``"1.024kB"``, ``"2MB"``.

    ``docker images`` uses precision 3 ("HumanSizeWithPrecision(size, 3)");
    ``HumanSize`` is precision 4.
    """
    value, unit = _size_and_unit(float(size), 1000.0, _DECIMAL_ABBRS)
    return f"{value:.{precision}g}{unit}"


def bytes_size(size: float) -> str:
    """Binary human size as go-units ``BytesSize``: ``"1KiB"``, ``"3.42GiB"``."""
    value, unit = _size_and_unit(float(size), 1024.0, _BINARY_ABBRS)
    return f"{value:.4g}{unit}"


# ------------------------------------------------------------------- durations

_UNIT_MAP = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_U63 = 1 << 63


def _invalid_duration(orig: str) -> InvalidParameter:
    return InvalidParameter("time: invalid duration " + go_quote(orig))


def parse_duration_ns(s: str) -> int:
    """Parse a Go duration string into integer nanoseconds (``time.ParseDuration``).

    A duration is an optionally signed sequence of decimal numbers, each with an
    optional fraction and a unit among ns, us (µs), ms, s, m, h: ``"300ms"``,
    ``"-1.5h"``, ``"1h2m3.5s"``. ``"0"`` (signed or not) is the only unitless value.
    Results must fit in an int64. Raises InvalidParameter with Go's messages:
    ``time: invalid duration "x"``, ``time: missing unit in duration "x"``,
    ``time: unknown unit "u" in duration "x"``.
    """
    orig = s
    d = 0
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise _invalid_duration(orig)
    n = len(s)
    i = 0
    while i < n:
        # The next character must be [0-9.]
        c = s[i]
        if not (c == "." or "0" <= c <= "9"):
            raise _invalid_duration(orig)
        # Consume [0-9]* with Go's uint64 overflow rules.
        start = i
        v = 0
        while i < n and "0" <= s[i] <= "9":
            if v > _U63 // 10:
                raise _invalid_duration(orig)
            v = v * 10 + (ord(s[i]) - 48)
            if v > _U63:
                raise _invalid_duration(orig)
            i += 1
        pre = i != start
        # Consume (\.[0-9]*)?
        post = False
        f = 0
        scale = 1.0
        if i < n and s[i] == ".":
            i += 1
            start = i
            overflow = False
            while i < n and "0" <= s[i] <= "9":
                if not overflow:
                    if f > (_U63 - 1) // 10:
                        overflow = True
                    else:
                        y = f * 10 + (ord(s[i]) - 48)
                        if y > _U63:
                            overflow = True
                        else:
                            f = y
                            scale *= 10
                i += 1
            post = i != start
        if not pre and not post:
            raise _invalid_duration(orig)
        # Consume unit.
        start = i
        while i < n and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == start:
            raise InvalidParameter("time: missing unit in duration " + go_quote(orig))
        u = s[start:i]
        unit = _UNIT_MAP.get(u)
        if unit is None:
            raise InvalidParameter(f"time: unknown unit {go_quote(u)} in duration {go_quote(orig)}")
        if v > _U63 // unit:
            raise _invalid_duration(orig)
        v *= unit
        if f > 0:
            # Same float64 arithmetic as Go, so fractions round identically.
            v += int(float(f) * (float(unit) / scale))
            if v > _U63:
                raise _invalid_duration(orig)
        d += v
        if d > _U63:
            raise _invalid_duration(orig)
    if neg:
        return -d
    if d > _U63 - 1:
        raise _invalid_duration(orig)
    return d


def parse_duration(s: str) -> float:
    """Parse a Go duration string into float seconds; see :func:`parse_duration_ns`.

    ``"1h2m3.5s"`` → 3723.5, ``"300ms"`` → 0.3, ``"-1s"`` → -1.0, ``"0"`` → 0.0.
    """
    return parse_duration_ns(s) / SECOND


def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: fraction digits of v/10**prec without trailing zeros."""
    digits = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    frac = "." + "".join(reversed(digits)) if printed else ""
    return frac, v


def format_duration_ns(ns: int) -> str:
    """Format integer nanoseconds as Go's ``time.Duration.String``.

    ``90s`` → ``"1m30s"``, ``0.5s`` → ``"500ms"``, ``1.5µs`` → ``"1.5µs"``,
    ``0`` → ``"0s"``, ``-1s`` → ``"-1s"``, ``2h`` → ``"2h0m0s"``.
    Values are clamped to the int64 range like a Go ``Duration``.
    """
    ns = max(-_U63, min(_U63 - 1, int(ns)))
    neg = ns < 0
    u = -ns if neg else ns
    if u < SECOND:
        if u == 0:
            return "0s"
        if u < MICROSECOND:
            out = f"{u}ns"
        elif u < MILLISECOND:
            frac, whole = _fmt_frac(u, 3)
            out = f"{whole}{frac}\u00b5s"
        else:
            frac, whole = _fmt_frac(u, 6)
            out = f"{whole}{frac}ms"
    else:
        frac, u = _fmt_frac(u, 9)
        out = f"{u % 60}{frac}s"
        u //= 60
        if u > 0:
            out = f"{u % 60}m" + out
            u //= 60
            if u > 0:
                out = f"{u}h" + out
    return "-" + out if neg else out


def format_duration(seconds: float) -> str:
    """Format float seconds as Go's ``Duration.String`` (rounded to the nanosecond).

    ``90`` → ``"1m30s"``, ``0.5`` → ``"500ms"``, ``0`` → ``"0s"``.
    """
    return format_duration_ns(round(seconds * SECOND))


def human_duration(seconds: float) -> str:
    """Approximate duration as go-units ``HumanDuration`` (``docker ps`` "Up ..." column).

    ``"Less than a second"``, ``"1 second"``, ``"5 seconds"``, ``"About a minute"``,
    ``"12 minutes"``, ``"About an hour"``, ``"3 hours"``, ``"3 days"``,
    ``"2 weeks"``, ``"3 months"``, ``"2 years"``.
    """
    secs = int(seconds)  # Go truncates toward zero
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


# ------------------------------------------------------------------------ CPUs

_DECIMAL_RAT = r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?"
_FRACTION_RAT = r"([+-]?)([0-9]+)/([0-9]+)"


def _parse_rational(value: str) -> tuple[int, int] | None:
    """(numerator, denominator) of a decimal or ``a/b`` string, or None.

    Covers the decimal forms of Go's ``big.Rat.SetString`` ("1.5", ".5", "2.",
    "1e3", "-3/2"); base prefixes (0x..) and digit separators are not accepted.
    """
    import re  # deferred, see _parse_size

    m = re.fullmatch(_FRACTION_RAT, value)
    if m:
        num, den = int(m.group(2)), int(m.group(3))
        if den == 0:
            return None
        return (-num if m.group(1) == "-" else num), den
    m = re.fullmatch(_DECIMAL_RAT, value)
    if not m:
        return None
    whole, frac, exp = m.group(2), m.group(3) or "", m.group(4)
    if not whole and not frac:
        return None
    exponent = int(exp) if exp else 0
    if abs(exponent) > 10000:  # big.Rat also gives up on huge exponents
        return None
    num = int(whole + frac or "0")
    exponent -= len(frac)
    den = 1
    if exponent >= 0:
        num *= 10**exponent
    else:
        den = 10**-exponent
    return (-num if m.group(1) == "-" else num), den


def parse_cpus(value: str) -> int:
    """Parse a ``--cpus`` value into nano-CPUs, as docker/cli ``opts.ParseCPUs``.

    ``"1.5"`` → 1500000000, ``"0.01"`` → 10000000, ``"3/2"`` → 1500000000,
    ``"0"`` → 0. Raises InvalidParameter:
    ``failed to parse <value> as a rational number`` or ``value is too precise``
    (finer than a nano-CPU). Range checks (0.01 to the host's CPUs) belong to the
    daemon.
    """
    rat = _parse_rational(value) if isinstance(value, str) else None
    if rat is None:
        raise InvalidParameter(f"failed to parse {value} as a rational number")
    num, den = rat
    nano, rem = divmod(num * 1_000_000_000, den)
    if rem:
        raise InvalidParameter("value is too precise")
    if not -_U63 <= nano <= _INT64_MAX:
        raise InvalidParameter(f"failed to parse {value} as a rational number")
    return nano
