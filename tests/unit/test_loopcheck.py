"""The parser the fixtures use to find slow callbacks in a daemon's log (tests/loopcheck.py)."""

from __future__ import annotations

import asyncio
import logging
import time

from baleine.daemon import slowcallbacks
from baleine.daemon.slowcallbacks import LINE, SlowCallbacks

from ..loopcheck import SlowCallback, report, slow_callbacks

LOG = """\
2026-12-04 07:00:00,000 INFO baleine: API listening on unix:///tmp/bt-x/d.sock
2026-12-04 07:00:01,000 WARNING baleine.loop: slow callback: <Task pending name='Task-12' coro=<RequestHandler._handle_request() running at /x/web_protocol.py:452> created at /x/base_events.py:1:> took 0.123 s
2026-12-04 07:00:01,500 WARNING baleine: something else took 3.000 s
2026-12-04 07:00:02,000 WARNING baleine.loop: slow callback: <Handle Images.remove()> took 1.5 s
"""


def test_finds_each_slow_callback_with_its_duration() -> None:
    found = slow_callbacks(LOG)
    assert [cb.seconds for cb in found] == [0.123, 1.5]
    assert found[0].what.startswith("<Task pending name='Task-12' coro=<RequestHandler._handle_request()")
    assert found[1].what == "<Handle Images.remove()>"


def test_a_quiet_log_has_none() -> None:
    assert slow_callbacks("2026-12-04 07:00:00,000 INFO baleine: API listening\n") == []
    assert slow_callbacks("") == []


def test_report_names_the_owner_and_each_callback_longest_first() -> None:
    text = report("tests/x.py::test_y", [SlowCallback("<A>", 0.2), SlowCallback("<B>", 0.9)])
    assert "tests/x.py::test_y" in text and "2 time(s)" in text
    assert text.index("0.900 s: <B>") < text.index("0.200 s: <A>")


def test_the_daemon_log_line_is_what_the_parser_reads(caplog) -> None:
    """The daemon's filter rewrites asyncio's warning into the line the fixture parses
    (a multi-line handle becomes one line) and drops asyncio's own; outside the
    event loop there is no task to say more of."""
    record = logging.LogRecord("asyncio", logging.WARNING, __file__, 1, "Executing %s took %.3f seconds",
                               ("<Handle f()\n  created at x.py:1>", 0.25), None)
    with caplog.at_level(logging.WARNING, logger="baleine.loop"):
        assert SlowCallbacks().filter(record) is False
    [line] = [r.getMessage() for r in caplog.records if r.name == "baleine.loop"]
    assert line == LINE % ("<Handle f() created at x.py:1>", 0.25, 0.25)
    assert slow_callbacks(line) == [SlowCallback("<Handle f() created at x.py:1>", 0.25, 0.25)]


def test_other_asyncio_records_pass() -> None:
    record = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "Task was destroyed but it is pending!",
                               (), None)
    assert SlowCallbacks().filter(record) is True


def test_cpu_time_tells_work_from_waiting(caplog) -> None:
    """A real loop under the watch: a callback that computes for 0.15 s is reported
    with about that much CPU, one that sleeps as long (as a thread denied a core
    would) with almost none; only the first fails a test."""
    def spin() -> None:
        end = time.thread_time() + 0.15
        while time.thread_time() < end:
            pass

    async def main() -> None:
        slowcallbacks.watch(0.1)
        loop = asyncio.get_running_loop()
        loop.call_soon(spin)
        await asyncio.sleep(0.01)
        loop.call_soon(time.sleep, 0.15)
        await asyncio.sleep(0.01)

    with caplog.at_level(logging.WARNING, logger="baleine.loop"):
        asyncio.run(main())
    logging.getLogger("asyncio").filters.clear()
    found = slow_callbacks("\n".join(r.getMessage() for r in caplog.records if r.name == "baleine.loop"))
    assert len(found) == 2, found
    busy, idle = found
    assert busy.cpu is not None and busy.cpu >= 0.14 and busy.blocking
    assert idle.cpu is not None and idle.cpu < 0.05 and idle.seconds >= 0.15 and not idle.blocking


def test_blocking_without_cpu_figure_uses_the_wall_clock() -> None:
    assert SlowCallback("<A>", 0.15).blocking
    assert not SlowCallback("<A>", 0.05).blocking
    assert SlowCallback("<A>", 1.5, 0.0).blocking      # held the loop a whole second: fails anyway
    assert not SlowCallback("<A>", 0.4, 0.01).blocking
    assert slow_callbacks("slow callback: <A> took 0.400 s (cpu 0.010 s)") == [SlowCallback("<A>", 0.4, 0.01)]
