"""Cron schedules (robfig/cron's standard parser, as CronJobs read them) and the CronJob's timing rules."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from baleine.kube.controllers.cronjob import job_name, most_recent, next_look
from baleine.kube.controllers.schedule import ScheduleError, parse, zone
from baleine.kube.validation import validate

UTC = datetime.timezone.utc


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def nexts(schedule: str, start: str, n: int = 3, tz: str | None = None) -> list[str]:
    s = parse(schedule, zone(tz))
    out, t = [], at(start)
    for _ in range(n):
        t = s.next(t)
        out.append(t.strftime("%Y-%m-%d %H:%M %a"))
    return out


def test_every_minute_and_steps() -> None:
    assert nexts("* * * * *", "2026-12-04 10:00:30") == ["2026-12-04 10:01 Fri", "2026-12-04 10:02 Fri",
                                                         "2026-12-04 10:03 Fri"]
    assert nexts("*/15 * * * *", "2026-12-04 10:00:00") == ["2026-12-04 10:15 Fri", "2026-12-04 10:30 Fri",
                                                            "2026-12-04 10:45 Fri"]
    assert nexts("5/20 1-3 * * *", "2026-12-04 02:30:00") == ["2026-12-04 02:45 Fri", "2026-12-04 03:05 Fri",
                                                              "2026-12-04 03:25 Fri"]


def test_names_lists_and_macros() -> None:
    assert nexts("0 9 * * MON-wed", "2026-12-04 10:00:00") == ["2026-12-07 09:00 Mon", "2026-12-08 09:00 Tue",
                                                               "2026-12-09 09:00 Wed"]
    assert nexts("0 0 1 jan,Jul *", "2026-12-04 10:00:00", 2) == ["2027-01-01 00:00 Fri", "2027-07-01 00:00 Thu"]
    assert nexts("@hourly", "2026-12-04 10:00:00", 1) == ["2026-12-04 11:00 Fri"]
    assert nexts("@weekly", "2026-12-04 10:00:00", 1) == ["2026-12-06 00:00 Sun"]
    assert nexts("@yearly", "2026-12-04 10:00:00", 1) == ["2027-01-01 00:00 Fri"]


def test_day_of_month_or_day_of_week() -> None:
    # both restricted: either matches (the 13th, or a Friday)
    assert nexts("0 0 13 * 5", "2026-12-04 10:00:00", 2) == ["2026-12-11 00:00 Fri", "2026-12-13 00:00 Sun"]
    # one is a star: both must match
    assert nexts("0 0 13 * ?", "2026-12-04 10:00:00", 1) == ["2026-12-13 00:00 Sun"]
    assert nexts("0 0 * * 5", "2026-12-04 10:00:00", 1) == ["2026-12-11 00:00 Fri"]


def test_time_zones_and_dst() -> None:
    # 09:00 in New York is 14:00 UTC in winter, 13:00 in summer
    assert nexts("0 9 * * *", "2026-12-04 15:00:00", 1, "America/New_York") == ["2026-12-05 14:00 Sat"]
    assert nexts("0 9 * * *", "2026-07-04 15:00:00", 1, "America/New_York") == ["2026-07-05 13:00 Sun"]
    # 02:30 does not exist in Berlin on 2026-03-29: that day is skipped
    s = parse("30 2 * * *", zoneinfo.ZoneInfo("Europe/Berlin"))
    assert s.next(at("2026-03-28 12:00:00")) == at("2026-03-30 00:30:00")
    # 02:30 happens twice on 2026-10-25: it fires once
    first = s.next(at("2026-10-24 12:00:00"))
    assert first == at("2026-10-25 00:30:00") and s.next(first) == at("2026-10-26 01:30:00")


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 7",
                                 "5-1 * * * *", "*/0 * * * *", "@every 5m", "a * * * *", "TZ=UTC * * * * *"])
def test_bad_schedules(bad: str) -> None:
    with pytest.raises(ScheduleError):
        parse(bad)


def test_unknown_time_zone() -> None:
    with pytest.raises(ScheduleError):
        zone("Mars/Olympus")


def test_impossible_schedule_has_no_next() -> None:
    assert parse("0 0 30 2 *").next(at("2026-01-01 00:00:00")) is None


def test_most_recent_counts_missed_times() -> None:
    s = parse("*/5 * * * *")
    assert most_recent(s, at("2026-12-04 10:00:00"), at("2026-12-04 10:04:59")) == (None, 0)
    assert most_recent(s, at("2026-12-04 10:00:00"), at("2026-12-04 10:05:00")) == (at("2026-12-04 10:05:00"), 1)
    assert most_recent(s, at("2026-12-04 10:00:00"), at("2026-12-04 10:17:00")) == (at("2026-12-04 10:15:00"), 3)
    recent, missed = most_recent(parse("* * * * *"), at("2026-11-04 10:00:00"), at("2026-12-04 10:00:30"))
    assert recent == at("2026-12-04 10:00:00") and missed == 30 * 24 * 60


def test_job_name_and_next_look() -> None:
    assert job_name("cj", at("2026-12-04 10:05:00")) == f"cj-{int(at('2026-12-04 10:05:00').timestamp()) // 60}"
    cj = {"metadata": {"creationTimestamp": "2026-12-04T10:00:10Z"}, "spec": {},
          "status": {"lastScheduleTime": "2026-12-04T10:05:00Z"}}
    assert next_look(cj, parse("*/5 * * * *"), at("2026-12-04 10:06:00")) == pytest.approx(240.1)


def test_the_api_validates_schedules_and_time_zones() -> None:
    def causes(**spec: str) -> list[tuple[str, str]]:
        obj = {"metadata": {"name": "cj"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}, **spec}}
        return [(c.field, c.message) for c in validate("CronJob", obj)]
    assert causes(schedule="*/5 * * * *", timeZone="Europe/Paris") == []
    assert [f for f, _ in causes(schedule="61 * * * *")] == ["spec.schedule"]
    assert [f for f, _ in causes(schedule="@hourly", timeZone="Mars/Olympus")] == ["spec.timeZone"]
