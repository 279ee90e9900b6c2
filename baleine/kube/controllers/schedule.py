"""Cron schedules as CronJobs read them (``robfig/cron/v3``'s standard parser, which Kubernetes uses).

Contracts:

- five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
  JAN-DEC), day of week (0-6 or SUN-SAT); each a comma list of ``*``, ``?``
  (as ``*``), ``N``, ``N-M``, with an optional ``/step`` (``N/step`` runs from N
  to the field's end); names are case-insensitive; the macros ``@yearly``
  (``@annually``), ``@monthly``, ``@weekly``, ``@daily`` (``@midnight``), ``@hourly``;
- day of month and day of week: when either field starts with ``*`` or ``?``
  both must match, otherwise either may (as cron);
- :meth:`Schedule.next` is the first activation strictly after a time, in the
  schedule's time zone (``zoneinfo``): wall-clock times skipped by a DST change
  do not fire, repeated ones fire once; :class:`ScheduleError` for what does not parse.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                          "nov", "dec"))}
DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
#: (low, high, names) per field.
BOUNDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, MONTHS), (0, 6, DAYS))
#: Five years without a match means there is none (``0 0 30 2 *``), as robfig gives up.
HORIZON_YEARS = 5


class ScheduleError(ValueError):
    """A schedule that does not parse (the message says which part)."""


def _number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}")
    return int(text)


def parse_field(text: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it starts with ``*``/``?`` (the star bit)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        range_part, _, step_text = part.partition("/")
        step = _number(step_text, {}) if step_text else 1
        if range_part in ("*", "?"):
            start, end = low, high
            star = star or not step_text
        elif "-" in range_part:
            a, _, b = range_part.partition("-")
            start, end = _number(a, names), _number(b, names)
        else:
            start = _number(range_part, names)
            end = high if step_text else start
        if start < low or end > high:
            raise ScheduleError(f"end of range ({end}) above maximum ({high}): {part}" if end > high
                                else f"beginning of range ({start}) below minimum ({low}): {part}")
        if start > end:
            raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        if step <= 0:
            raise ScheduleError(f"step of range should be a positive number: {part}")
        values.update(range(start, end + 1, step))
    return frozenset(values), star


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_star: bool
    weekday_star: bool
    tz: datetime.tzinfo

    def _day_matches(self, day: datetime.date) -> bool:
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.day_star or self.weekday_star:
            return dom and dow
        return dom or dow

    def next(self, after: datetime.datetime) -> datetime.datetime | None:
        """The first activation strictly after ``after`` (aware), in UTC; None if there is none."""
        local = after.astimezone(self.tz).replace(second=0, microsecond=0, tzinfo=None) + datetime.timedelta(minutes=1)
        limit = local.year + HORIZON_YEARS
        day = local.date()
        first = True
        while day.year <= limit:
            if day.month not in self.months:
                day = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
                first = False
                continue
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        wall = datetime.datetime.combine(day, datetime.time(hour, minute))
                        if first and wall < local:
                            continue
                        when = _resolve(wall, self.tz)
                        if when is not None and when > after:
                            return when.astimezone(datetime.timezone.utc)
            day += datetime.timedelta(days=1)
            first = False
        return None


def _resolve(wall: datetime.datetime, tz: datetime.tzinfo) -> datetime.datetime | None:
    """``wall`` in ``tz``; None when a DST change skips it (the earlier of two when it repeats)."""
    aware = wall.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(datetime.timezone.utc).astimezone(tz).replace(tzinfo=None)
    return aware if back == wall else None


def zone(name: str | None) -> datetime.tzinfo:
    """The time zone of ``spec.timeZone`` (None: the controller's, UTC here); ScheduleError if unknown."""
    if not name:
        return datetime.timezone.utc
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name}: {exc}") from None


def parse(text: str, tz: datetime.tzinfo = datetime.timezone.utc) -> Schedule:
    """A cron schedule (see the module's contracts); ScheduleError if it does not parse."""
    spec = text.strip()
    if spec.startswith("@"):
        if spec.lower() not in MACROS:
            raise ScheduleError(f"unrecognized descriptor: {spec}")
        spec = MACROS[spec.lower()]
    fields = spec.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    parsed = [parse_field(f, low, high, names) for f, (low, high, names) in zip(fields, BOUNDS)]
    return Schedule(parsed[0][0], parsed[1][0], parsed[2][0], parsed[3][0], parsed[4][0], parsed[2][1],
                    parsed[4][1], tz)
