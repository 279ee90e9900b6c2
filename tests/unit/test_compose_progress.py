"""Compose progress lines (baleine.compose.progress) and log prefixes (baleine.compose.logs)."""

from __future__ import annotations

import io

from baleine.compose.logs import LogPrinter, color_for
from baleine.compose.progress import Progress


def test_plain_lines() -> None:
    out = io.StringIO()
    p = Progress(out, "plain")
    p.event("Network demo_default", "Creating")
    p.event("Network demo_default", "Created")
    p.event("Container demo-db-1", "Healthy")
    p.done()
    assert out.getvalue() == (" Network demo_default  Creating\n Network demo_default  Created\n"
                              " Container demo-db-1  Healthy\n")


def test_quiet() -> None:
    out = io.StringIO()
    p = Progress(out, "quiet")
    p.event("Container x", "Started")
    p.print("hello")
    p.done()
    assert out.getvalue() == ""


def test_auto_is_plain_off_a_terminal() -> None:
    assert Progress(io.StringIO(), "auto").mode == "plain"


def test_render_block() -> None:
    p = Progress(io.StringIO(), "quiet")
    p.event("Network demo_back", "Created")
    p.event("Container demo-db-1", "Healthy")
    p.event("Container demo-app-1", "Starting")
    lines = p.render(width=60)
    assert lines[0] == "[+] Running 2/3"
    assert lines[1].startswith(" ✔ Network demo_back     Created")
    assert lines[2].startswith(" ✔ Container demo-db-1   Healthy")
    assert lines[3].startswith(" ") and "Container demo-app-1  Starting" in lines[3]
    assert lines[3][1] not in "✔✘"
    assert all(line.endswith("s") and len(line) == 59 for line in lines[1:])


def test_error_mark_and_restart_of_a_line() -> None:
    p = Progress(io.StringIO(), "quiet")
    p.event("Container a", "Started")
    p.event("Container a", "Waiting")  # in progress again
    assert p.render()[0] == "[+] Running 0/1"
    p.event("Container a", "Error", "unhealthy")
    assert " ✘ Container a  Error unhealthy" in p.render()[1]


def test_tty_redraws_in_place() -> None:
    out = io.StringIO()
    p = Progress(out, "tty")
    p.event("Container a", "Creating")
    p.event("Container a", "Created")
    p.done()
    text = out.getvalue()
    assert "\x1b[2A" in text  # moved up over the previous block (header + 1 line)
    assert text.rstrip().splitlines()[-1].startswith(" ✔ Container a  Created")


def test_print_above_block() -> None:
    out = io.StringIO()
    p = Progress(out, "plain")
    p.print("web  | Step 1/2 : FROM busybox\n")
    assert out.getvalue() == "web  | Step 1/2 : FROM busybox\n"


def test_log_prefix_and_colours() -> None:
    out = io.BytesIO()
    printer = LogPrinter(out, color=True, prefix=True, width=9)
    printer.line("demo-db-1", "db", b"ready\n")
    printer.line("demo-web-1", "web", b"no newline")
    printer.line("demo-db-2", "db", b"again\n")
    lines = out.getvalue().split(b"\n")
    assert lines[0] == b"\x1b[36mdemo-db-1 | \x1b[0mready"
    assert lines[1] == b"\x1b[33mdemo-web-1 | \x1b[0mno newline"
    assert lines[2].startswith(b"\x1b[36m")  # same service, same colour


def test_log_without_colour_or_prefix() -> None:
    out = io.BytesIO()
    LogPrinter(out, color=False, prefix=True, width=6).line("a-b-1", "b", b"x\n")
    LogPrinter(out, color=False, prefix=False).line("a-b-1", "b", b"y\n")
    assert out.getvalue() == b"a-b-1  | x\ny\n"


def test_colour_rotation() -> None:
    assert [color_for(i) for i in range(3)] == ["36", "33", "32"]
    assert color_for(10) == color_for(0)
