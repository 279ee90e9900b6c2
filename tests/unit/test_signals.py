"""Unit tests for baleine.rules.signals (moby/sys/signal semantics, Linux numbers)."""

from __future__ import annotations

import sys

import pytest

from baleine.rules.errors import InvalidParameter
from baleine.rules.signals import (
    SIGNAL_MAP,
    SIGRTMAX,
    SIGRTMIN,
    parse_signal,
    signal_name,
    valid_signal_for_platform,
    validate_signal,
)

# moby/sys/signal SignalMap for Linux (non-MIPS), spelled out independently.
EXPECTED_MAP = {
    "ABRT": 6, "ALRM": 14, "BUS": 7, "CHLD": 17, "CLD": 17, "CONT": 18, "FPE": 8, "HUP": 1,
    "ILL": 4, "INT": 2, "IO": 29, "IOT": 6, "KILL": 9, "PIPE": 13, "POLL": 29, "PROF": 27,
    "PWR": 30, "QUIT": 3, "SEGV": 11, "STKFLT": 16, "STOP": 19, "SYS": 31, "TERM": 15,
    "TRAP": 5, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "USR1": 10, "USR2": 12,
    "VTALRM": 26, "WINCH": 28, "XCPU": 24, "XFSZ": 25,
    "RTMIN": 34, "RTMIN+1": 35, "RTMIN+2": 36, "RTMIN+3": 37, "RTMIN+4": 38, "RTMIN+5": 39,
    "RTMIN+6": 40, "RTMIN+7": 41, "RTMIN+8": 42, "RTMIN+9": 43, "RTMIN+10": 44, "RTMIN+11": 45,
    "RTMIN+12": 46, "RTMIN+13": 47, "RTMIN+14": 48, "RTMIN+15": 49,
    "RTMAX-14": 50, "RTMAX-13": 51, "RTMAX-12": 52, "RTMAX-11": 53, "RTMAX-10": 54,
    "RTMAX-9": 55, "RTMAX-8": 56, "RTMAX-7": 57, "RTMAX-6": 58, "RTMAX-5": 59, "RTMAX-4": 60,
    "RTMAX-3": 61, "RTMAX-2": 62, "RTMAX-1": 63, "RTMAX": 64,
}  # fmt: skip


def test_signal_map_is_mobys():
    assert SIGNAL_MAP == EXPECTED_MAP
    assert (SIGRTMIN, SIGRTMAX) == (34, 64)


@pytest.mark.parametrize(("name", "number"), sorted(EXPECTED_MAP.items()))
@pytest.mark.parametrize("spelling", ["{}", "SIG{}", "{lower}", "sig{lower}", "Sig{lower}"])
def test_every_name_in_every_spelling(name, number, spelling):
    assert parse_signal(spelling.format(name, lower=name.lower())) == number


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("SIGTERM", 15),
        ("TERM", 15),
        ("term", 15),
        ("15", 15),
        ("SIGRTMIN+3", 37),
        ("RTMAX-1", 63),
        ("sigkill", 9),
        ("9", 9),
        ("+9", 9),
        ("09", 9),
        ("-1", -1),  # strconv.Atoi accepts it; moby returns it as is
        ("99", 99),  # not a Linux signal, but ParseSignal does not check
        ("32", 32),
        ("9223372036854775807", 2**63 - 1),
        (15, 15),
        (64, 64),
        (200, 200),
    ],
)
def test_parse_signal(raw, number):
    assert parse_signal(raw) == number


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "+0",
        "-0",
        "00",
        0,
        "SIG",
        "sig",
        "",
        "foo",
        "SIGSIGTERM",
        "TERM ",
        " TERM",
        " 15",
        "15 ",
        "1.5",
        "0x0f",
        "1_5",
        "RTMIN+16",
        "RTMAX-15",
        "RTMIN+0",
        "RTMAX-0",
        "RTMIN-1",
        "SIGRTMIN + 3",
        "\u0661\u0665",  # non-ASCII digits are not numbers to strconv.Atoi
        "9223372036854775808",  # outside int64: Atoi fails, and it is no name
    ],
)
def test_parse_signal_rejects(raw):
    with pytest.raises(InvalidParameter) as exc:
        parse_signal(raw)
    assert str(exc.value) == f"invalid signal: {raw}"
    assert exc.value.status == 400


@pytest.mark.parametrize("raw", [True, False, None, 1.5, b"15"])
def test_parse_signal_rejects_other_types(raw):
    with pytest.raises(InvalidParameter, match=r"^invalid signal: "):
        parse_signal(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("number", [*range(1, 32), *range(34, 65)])
def test_valid_signals(number):
    assert valid_signal_for_platform(number)
    assert validate_signal(number) == number
    assert validate_signal(str(number)) == number


@pytest.mark.parametrize("number", [-1, 32, 33, 65, 99, 2**63 - 1])
def test_validate_signal_refuses_numbers_linux_lacks(number):
    assert not valid_signal_for_platform(number)
    with pytest.raises(InvalidParameter) as exc:
        validate_signal(str(number))
    assert str(exc.value) == f"the linux daemon does not support signal {number}"


def test_validate_signal_keeps_parse_errors():
    with pytest.raises(InvalidParameter, match=r"^invalid signal: nope$"):
        validate_signal("nope")


@pytest.mark.parametrize(
    ("number", "name"),
    [
        (1, "SIGHUP"),
        (2, "SIGINT"),
        (6, "SIGABRT"),
        (9, "SIGKILL"),
        (15, "SIGTERM"),
        (17, "SIGCHLD"),
        (19, "SIGSTOP"),
        (29, "SIGIO"),
        (34, "SIGRTMIN"),
        (37, "SIGRTMIN+3"),
        (49, "SIGRTMIN+15"),
        (50, "SIGRTMAX-14"),
        (63, "SIGRTMAX-1"),
        (64, "SIGRTMAX"),
        (0, "0"),
        (32, "32"),
        (99, "99"),
        (-1, "-1"),
    ],
)
def test_signal_name(number, name):
    assert signal_name(number) == name


@pytest.mark.parametrize("number", [*range(1, 32), *range(34, 65)])
def test_signal_name_round_trips(number):
    assert parse_signal(signal_name(number)) == number


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux signal numbers")
@pytest.mark.parametrize("name", sorted(n for n in EXPECTED_MAP if not n.startswith("RT")))
def test_numbers_agree_with_this_linux(name):
    import signal

    host = getattr(signal, "SIG" + name, None)
    if host is None:
        pytest.skip(f"SIG{name} not exposed by Python here")
    assert parse_signal(name) == int(host)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux signal numbers")
def test_realtime_bounds_agree_with_glibc():
    import signal

    assert int(signal.SIGRTMIN) == SIGRTMIN
    assert int(signal.SIGRTMAX) == SIGRTMAX
