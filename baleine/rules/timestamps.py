"""Timestamps as Docker writes and reads them.

* :func:`format_rfc3339nano` / :func:`now_rfc3339nano`: Go's ``time.RFC3339Nano``
  in UTC, as in ``Created``/``StartedAt`` fields:
  ``2024-01-02T03:04:05.123456789Z`` (fraction without trailing zeros, none at
  all when zero).
* :func:`parse_rfc3339`: the reverse, accepting what Go's JSON decoding of times does.
* :func:`get_timestamp` / :func:`parse_since`: ``--since``/``--until`` values
  (docker's ``timetypes.GetTimestamp``): Go durations relative to now, RFC 3339
  dates and times in several partial layouts, or unix seconds.
* :func:`parse_timestamps`: the daemon side of ``since``/``until`` query
  parameters (``timetypes.ParseTimestamps``).

``ZERO_TIME`` (Go's zero ``time.Time``) is what Docker shows for "never", e.g.
``FinishedAt`` of a container that has not exited.

Errors raise :class:`~baleine.rules.errors.InvalidParameter` with Go's
messages. Imported by the CLI: no module-level imports beyond the stdlib basics.
"""

from __future__ import annotations

import math
import time

from baleine.rules.errors import InvalidParameter
from baleine.rules.units import go_strconv_quote, go_quote, parse_duration_ns

TYPE_CHECKING = False  # spares the CLI importing typing; type checkers know this idiom
if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "ZERO_TIME",
    "ZERO_TIME_UNIX",
    "format_rfc3339nano",
    "format_rfc3339nano_fixed_ns",
    "format_rfc3339nano_ns",
    "get_timestamp",
    "is_zero_time",
    "now_rfc3339nano",
    "parse_rfc3339",
    "parse_rfc3339_ns",
    "parse_since",
    "parse_timestamps",
]

#: Go's zero time.Time as RFC 3339; Docker's "never".
ZERO_TIME = "0001-01-01T00:00:00Z"
#: Unix seconds of ZERO_TIME.
ZERO_TIME_UNIX = -62135596800

_NS = 1_000_000_000
_DAY = 86400
RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"


# ------------------------------------------------------------------ calendar


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# ---------------------------------------------------------------- formatting


def format_rfc3339nano_ns(ns: int) -> str:
    """Format integer unix nanoseconds as Go's RFC3339Nano in UTC.

    ``1704164645123456789`` → ``"2024-01-02T03:04:05.123456789Z"``;
    ``1704164645000000000`` → ``"2024-01-02T03:04:05Z"``;
    ``ZERO_TIME_UNIX * 10**9`` → ``ZERO_TIME``.
    """
    secs, frac = divmod(int(ns), _NS)
    days, rem = divmod(secs, _DAY)
    y, mo, d = _civil_from_days(days)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    out = f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}"
    if frac:
        out += "." + f"{frac:09d}".rstrip("0")
    return out + "Z"


def format_rfc3339nano_fixed_ns(ns: int) -> str:
    """Format unix nanoseconds with nine fractional digits always (Docker's
    ``jsonmessage.RFC3339NanoFixed``, the timestamps of ``docker logs -t``):
    ``1704164645000000000`` → ``"2024-01-02T03:04:05.000000000Z"``."""
    secs, frac = divmod(int(ns), _NS)
    return format_rfc3339nano_ns(secs * _NS)[:-1] + f".{frac:09d}Z"


def format_rfc3339nano(t: float | int | datetime) -> str:
    """Format a time as Go's RFC3339Nano in UTC (``2024-01-02T03:04:05.123456Z``).

    ``t`` is unix seconds (int or float) or a ``datetime``. Floats carry about a
    microsecond of precision at current dates, so they are rounded to the
    microsecond (use :func:`format_rfc3339nano_ns` for nanoseconds). A naive
    ``datetime`` is taken as UTC; an aware one is converted to UTC.
    """
    if isinstance(t, bool):
        raise TypeError("format_rfc3339nano expects a number or a datetime")
    if isinstance(t, int):
        return format_rfc3339nano_ns(t * _NS)
    if isinstance(t, float):
        return format_rfc3339nano_ns(round(t * 1_000_000) * 1000)
    offset = t.utcoffset()
    secs = _days_from_civil(t.year, t.month, t.day) * _DAY + t.hour * 3600 + t.minute * 60 + t.second
    if offset is not None:
        secs -= offset.days * _DAY + offset.seconds
        ns = secs * _NS + (t.microsecond - offset.microseconds) * 1000
    else:
        ns = secs * _NS + t.microsecond * 1000
    return format_rfc3339nano_ns(ns)


def now_rfc3339nano() -> str:
    """The current time as Go's RFC3339Nano in UTC, with nanosecond precision."""
    return format_rfc3339nano_ns(time.time_ns())


def is_zero_time(s: str | None) -> bool:
    """True when ``s`` is empty/None or denotes Go's zero time (``ZERO_TIME``)."""
    if not s:
        return True
    if s == ZERO_TIME:
        return True
    try:
        return parse_rfc3339_ns(s) == ZERO_TIME_UNIX * _NS
    except InvalidParameter:
        return False


# ------------------------------------------------- Go's time.Parse (subset)

# Layouts as (prefix, std) chunks, the shape of Go's nextStdChunk; a final
# (suffix, None) closes each one.
_Chunks = tuple[tuple[str, str | None], ...]
_LAYOUTS: dict[str, _Chunks] = {}


def _chunks(layout: str) -> _Chunks:
    """Split a layout made of the std elements we use into Go's chunks."""
    cached = _LAYOUTS.get(layout)
    if cached is not None:
        return cached
    stds = (".999999999", "Z07:00", "2006", "01", "02", "15", "04", "05")
    out: list[tuple[str, str | None]] = []
    prefix = ""
    i = 0
    while i < len(layout):
        for std in stds:
            if layout.startswith(std, i):
                out.append((prefix, std))
                prefix = ""
                i += len(std)
                break
        else:
            prefix += layout[i]
            i += 1
    out.append((prefix, None))
    result = tuple(out)
    _LAYOUTS[layout] = result
    return result


class _ParseError(Exception):
    """Go's time.ParseError, rendered by ``str``."""

    def __init__(self, layout: str, value: str, layout_elem: str, value_elem: str, message: str = "") -> None:
        if message:
            text = "parsing time " + go_quote(value) + message
        else:
            text = (
                f"parsing time {go_quote(value)} as {go_quote(layout)}: "
                f"cannot parse {go_quote(value_elem)} as {go_quote(layout_elem)}"
            )
        super().__init__(text)


def _isdigit(s: str, i: int) -> bool:
    return i < len(s) and "0" <= s[i] <= "9"


def _getnum(s: str, fixed: bool) -> tuple[int, str] | None:
    if not _isdigit(s, 0):
        return None
    if not _isdigit(s, 1):
        if fixed:
            return None
        return ord(s[0]) - 48, s[1:]
    return (ord(s[0]) - 48) * 10 + (ord(s[1]) - 48), s[2:]


def _parse_nanoseconds(value: str, nbytes: int) -> int:
    """Go's parseNanoseconds; value[0] is '.' or ',' and value[1:nbytes] digits."""
    # At most nine digits count (nanoseconds); fewer are scaled up.
    return int(value[1 : min(nbytes, 10)].ljust(9, "0"))


def _go_parse(layout: str, value: str, default_offset: int) -> int:
    """Go's ``time.ParseInLocation`` for our layouts; returns unix nanoseconds.

    ``default_offset`` (seconds east of UTC) applies when the layout has no
    zone or the value does not give one. Raises _ParseError with Go's text.
    """
    avalue = value
    year, month, day, hour, minute, sec, nsec = 0, -1, -1, 0, 0, 0, 0
    zone_offset: int | None = None
    chunks = _chunks(layout)
    for idx, (prefix, std) in enumerate(chunks):
        if not value.startswith(prefix):
            # Go's skip(): report from the first mismatching byte.
            k = 0
            while k < len(prefix) and k < len(value) and value[k] == prefix[k]:
                k += 1
            raise _ParseError(layout, avalue, prefix, value[k:])
        value = value[len(prefix) :]
        if std is None:
            if value:
                raise _ParseError(layout, avalue, "", value, ": extra text: " + go_quote(value))
            break
        hold = value
        range_err = ""
        bad = False
        if std == "2006":
            if len(value) < 4 or not _isdigit(value, 0) or not all("0" <= c <= "9" for c in value[1:4]):
                bad = True
            else:
                year, value = int(value[:4]), value[4:]
        elif std == "01":
            got = _getnum(value, True)
            if got is None:
                bad = True
            else:
                month, value = got
                if month <= 0 or month > 12:
                    range_err = "month"
        elif std == "02":
            got = _getnum(value, True)
            if got is None:
                bad = True
            else:
                day, value = got  # validated against the month below, as Go does
        elif std == "15":
            got = _getnum(value, False)
            if got is None:
                bad = True
            else:
                hour, value = got
                if hour >= 24:
                    range_err = "hour"
        elif std == "04":
            got = _getnum(value, True)
            if got is None:
                bad = True
            else:
                minute, value = got
                if minute >= 60:
                    range_err = "minute"
        elif std == "05":
            got = _getnum(value, True)
            if got is None:
                bad = True
            else:
                sec, value = got
                if sec >= 60:
                    range_err = "second"
                elif len(value) >= 2 and value[0] in ".," and _isdigit(value, 1):
                    next_std = chunks[idx + 1][1] if idx + 1 < len(chunks) else None
                    if next_std != ".999999999":
                        # A fraction the layout does not mention: Go takes it anyway.
                        n = 2
                        while _isdigit(value, n):
                            n += 1
                        nsec = _parse_nanoseconds(value, n)
                        value = value[n:]
        elif std == ".999999999":
            if len(value) >= 2 and value[0] in ".," and _isdigit(value, 1):
                i = 0
                while _isdigit(value, i + 1):
                    i += 1
                nsec = _parse_nanoseconds(value, 1 + i)
                value = value[1 + i :]
        elif std == "Z07:00":
            if value[:1] == "Z":
                value = value[1:]
                zone_offset = 0
            elif len(value) < 6 or value[3] != ":":
                bad = True
            else:
                sign, hh, mm, value = value[0], value[1:3], value[4:6], value[6:]
                h = _getnum(hh, True)
                mn = _getnum(mm, True) if h is not None else None
                if h is None or mn is None:
                    bad = True
                else:
                    if h[0] > 24:
                        range_err = "time zone offset hour"
                    if mn[0] > 60:
                        range_err = "time zone offset minute"
                    offset = (h[0] * 60 + mn[0]) * 60
                    if sign == "+":
                        zone_offset = offset
                    elif sign == "-":
                        zone_offset = -offset
                    else:
                        bad = True
        if range_err:
            raise _ParseError(layout, avalue, std, value, ": " + range_err + " out of range")
        if bad:
            raise _ParseError(layout, avalue, std, hold)
    if month < 0:
        month = 1
    if day < 0:
        day = 1
    if day < 1 or day > _days_in(month, year):
        raise _ParseError(layout, avalue, "", value, ": day out of range")
    secs = _days_from_civil(year, month, day) * _DAY + hour * 3600 + minute * 60 + sec
    secs -= default_offset if zone_offset is None else zone_offset
    return secs * _NS + nsec


# ------------------------------------------------------------------- RFC 3339


_FAST_CACHE: dict[str, int | None] = {}


def _parse_rfc3339_fast(s: str) -> int | None:
    """Go's parseRFC3339 fast path, remembered: listing containers parses the same
    Created/StartedAt strings every time (a fifth of a 100-container list). Bounded:
    emptied past 4096 strings."""
    try:
        return _FAST_CACHE[s]
    except KeyError:
        pass
    if len(_FAST_CACHE) >= 4096:
        _FAST_CACHE.clear()
    ns = _FAST_CACHE[s] = _parse_rfc3339_shape(s)
    return ns


def _parse_rfc3339_shape(s: str) -> int | None:
    """Go's parseRFC3339 fast path: exact shape, ranges checked; None if not."""
    if len(s) < 19:
        return None
    if not (s[4] == "-" and s[7] == "-" and s[10] == "T" and s[13] == ":" and s[16] == ":"):
        return None
    fields = (s[0:4], s[5:7], s[8:10], s[11:13], s[14:16], s[17:19])
    if not all(len(f) and all("0" <= c <= "9" for c in f) for f in fields):
        return None
    year, month, day, hour, minute, sec = (int(f) for f in fields)
    if not (1 <= month <= 12 and 1 <= day <= _days_in(month, year) and hour <= 23 and minute <= 59 and sec <= 59):
        return None
    rest = s[19:]
    nsec = 0
    if len(rest) >= 2 and rest[0] == "." and _isdigit(rest, 1):
        n = 2
        while _isdigit(rest, n):
            n += 1
        nsec = _parse_nanoseconds(rest, n)
        rest = rest[n:]
    if rest == "Z":
        offset = 0
    else:
        if len(rest) != 6 or rest[0] not in "+-" or rest[3] != ":":
            return None
        hh, mm = rest[1:3], rest[4:6]
        if not all("0" <= c <= "9" for c in hh + mm):
            return None
        if int(hh) > 23 or int(mm) > 59:
            return None
        offset = (int(hh) * 60 + int(mm)) * 60
        if rest[0] == "-":
            offset = -offset
    secs = _days_from_civil(year, month, day) * _DAY + hour * 3600 + minute * 60 + sec - offset
    return secs * _NS + nsec


def parse_rfc3339_ns(s: str) -> int:
    """Parse an RFC 3339 time into exact unix nanoseconds, as Go decodes JSON times.

    The canonical form is ``YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)`` with an
    uppercase ``T`` and ``Z``; digits past the ninth of the fraction are
    truncated. Like Go (whose strict RFC 3339 check ships disabled), the
    leniencies of ``time.Parse(time.RFC3339, s)`` are accepted too: a one-digit
    hour, ``,`` before the fraction, offsets up to ±24:60. The zero time gives its
    true value (``ZERO_TIME_UNIX * 10**9``). Raises InvalidParameter with Go's
    ``parsing time "..." as "...": cannot parse "..." as "..."`` message.
    """
    if not isinstance(s, str):
        raise InvalidParameter(f"parsing time {s!r}: not a string")
    ns = _parse_rfc3339_fast(s)
    if ns is not None:
        return ns
    try:
        return _go_parse(RFC3339, s, 0)
    except _ParseError as e:
        raise InvalidParameter(str(e)) from None


def parse_rfc3339(s: str) -> float:
    """Parse an RFC 3339 time (see :func:`parse_rfc3339_ns`) into unix seconds.

    Sentinel: the zero time ``0001-01-01T00:00:00Z`` (Docker's "never", in any
    offset spelling) returns ``0.0`` rather than -62135596800.0, so "unset"
    tests as false. Precision is that of a float (about a microsecond).
    """
    ns = parse_rfc3339_ns(s)
    if ns == ZERO_TIME_UNIX * _NS:
        return 0.0
    return ns / _NS


# --------------------------------------------------------- --since / --until


def _local_offset(now: float) -> int:
    return time.localtime(now).tm_gmtoff


def _parse_int64(s: str) -> int:
    """Go's strconv.ParseInt(s, 10, 64); raises ValueError with Go's message."""
    body = s[1:] if s[:1] in ("+", "-") else s
    if not body or not all("0" <= c <= "9" for c in body):
        raise ValueError(f"strconv.ParseInt: parsing {go_strconv_quote(s)}: invalid syntax")
    n = int(s)
    if not -(1 << 63) <= n < (1 << 63):
        raise ValueError(f"strconv.ParseInt: parsing {go_strconv_quote(s)}: value out of range")
    return n


def _parse_timestamp(value: str) -> tuple[int, int]:
    sec_s, dot, nsec_s = value.partition(".")
    sec = _parse_int64(sec_s)
    if not dot:
        return sec, 0
    nsec = _parse_int64(nsec_s)
    # Same float scaling as moby ("should already be in nanoseconds").
    nsec = int(float(nsec) * math.pow(10.0, 9 - len(nsec_s)))
    return sec, nsec


def parse_timestamps(value: str | None, default_seconds: int = 0) -> tuple[int, int]:
    """Daemon side of ``since``/``until`` (moby ``timetypes.ParseTimestamps``).

    ``"1136073600.000000001"`` → (1136073600, 1); ``"1136073600"`` →
    (1136073600, 0); fractions shorter than 9 digits are scaled, longer ones
    truncated. Empty or None → (default_seconds, 0). Raises InvalidParameter
    with Go's ``strconv.ParseInt: parsing "x": invalid syntax``.
    """
    if not value:
        return default_seconds, 0
    try:
        return _parse_timestamp(value)
    except ValueError as e:
        raise InvalidParameter(str(e)) from None


def get_timestamp(value: str, now: float, tz_offset: int | None = None) -> str:
    """Convert a ``--since``/``--until`` value to the API's form (``timetypes.GetTimestamp``).

    ``now`` is the reference time (unix seconds). Returns, like docker:

    * a Go duration (``"10m"``, ``"1h30m"``, ``"-5s"``; not ``"0"``) → integer
      unix seconds of ``now - duration``, floored (``"1700000000"``);
    * an RFC 3339 time or date, complete or partial → ``"<sec>.<9-digit nsec>"``.
      Layouts: ``2006-01-02``, ``2006-01-02T15``, ``2006-01-02T15:04``,
      ``2006-01-02T15:04:05``, each with optional fraction and ``Z``/``±07:00``
      zone. Without a zone the time is in ``tz_offset`` seconds east of UTC —
      by default the local offset at ``now``, as docker uses ``time.Now()``'s zone;
    * unix seconds with optional fraction (``"1700000000.123"``) → unchanged.

    Raises InvalidParameter with Go's ``parsing time ...`` message for a
    malformed date (anything with a ``-``), else
    ``failed to parse value as time or duration: "<value>"``.
    """
    if value != "0":
        try:
            d = parse_duration_ns(value)
        except InvalidParameter:
            pass
        else:
            sec = math.floor(now)
            ns = sec * _NS + round((now - sec) * _NS) - d
            return str(ns // _NS)

    # "Z", "+" or three dashes mean an explicit zone; otherwise use now's zone.
    in_location = not any(c in value for c in "zZ+") and value.count("-") != 3
    if "." in value:
        layout = "2006-01-02T15:04:05.999999999" if in_location else RFC3339_NANO
    elif "T" in value:
        tcolons = value.count(":")
        # An explicit ±hh:mm offset brings a colon of its own.
        if not in_location and not any(c in value for c in "zZ") and tcolons > 0:
            tcolons -= 1
        if in_location:
            layout = ("2006-01-02T15", "2006-01-02T15:04")[tcolons] if tcolons < 2 else "2006-01-02T15:04:05"
        else:
            layout = ("2006-01-02T15Z07:00", "2006-01-02T15:04Z07:00")[tcolons] if tcolons < 2 else RFC3339
    elif in_location:
        layout = "2006-01-02"
    else:
        layout = "2006-01-02Z07:00"

    if in_location:
        offset = _local_offset(now) if tz_offset is None else tz_offset
    else:
        offset = 0
    try:
        ns = _go_parse(layout, value, offset)
    except _ParseError as e:
        if "-" in value:
            raise InvalidParameter(str(e)) from None
        try:
            _parse_timestamp(value)
        except ValueError:
            raise InvalidParameter(f"failed to parse value as time or duration: {go_strconv_quote(value)}") from None
        return value
    sec, nsec = divmod(ns, _NS)
    return f"{sec}.{nsec:09d}"


def parse_since(value: str, now: float, tz_offset: int | None = None) -> float:
    """A ``--since``/``--until`` value as unix seconds (float).

    :func:`get_timestamp` followed by :func:`parse_timestamps`: ``"10m"`` →
    ``floor(now - 600)`` (durations resolve to whole seconds, as in docker),
    ``"2024-01-02"`` → midnight in ``tz_offset``/local time,
    ``"1700000000.5"`` → 1700000000.5. Raises InvalidParameter as they do.
    """
    sec, nsec = parse_timestamps(get_timestamp(value, now, tz_offset))
    return sec + nsec / _NS
