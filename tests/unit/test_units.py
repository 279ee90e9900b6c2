"""Unit tests for baleine.rules.units.

The tables marked "observed from Go" were produced by running the Go code
Docker uses (time.ParseDuration, Duration.String, go-units, docker/cli
ParseCPUs) on each input; the parsers must agree with them exactly, errors
included.
"""

from __future__ import annotations

import random

import pytest

from baleine.rules import units
from baleine.rules.errors import InvalidParameter
from baleine.rules.units import (
    GiB,
    KiB,
    MiB,
    PiB,
    TiB,
    bytes_size,
    format_duration,
    format_duration_ns,
    go_quote,
    go_strconv_quote,
    human_duration,
    human_size,
    parse_bytes,
    parse_cpus,
    parse_duration,
    parse_duration_ns,
    parse_size_decimal,
)

# fmt: off
# Observed from Go.
PARSE_DURATION = [
    ('1h2m3.5s', 3723500000000, None),
    ('300ms', 300000000, None),
    ('1us', 1000, None),
    ('1µs', 1000, None),
    ('1μs', 1000, None),
    ('-1s', -1000000000, None),
    ('+1s', 1000000000, None),
    ('0', 0, None),
    ('-0', 0, None),
    ('+0', 0, None),
    ('', None, 'time: invalid duration ""'),
    ('1', None, 'time: missing unit in duration "1"'),
    ('x', None, 'time: invalid duration "x"'),
    ('1.5h', 5400000000000, None),
    ('.5s', 500000000, None),
    ('1.s', 1000000000, None),
    ('.s', None, 'time: invalid duration ".s"'),
    ('-.s', None, 'time: invalid duration "-.s"'),
    ('1..5s', None, 'time: missing unit in duration "1..5s"'),
    ('9223372036854775807ns', 9223372036854775807, None),
    ('9223372036854775808ns', None, 'time: invalid duration "9223372036854775808ns"'),
    ('-9223372036854775808ns', -9223372036854775808, None),
    ('-9223372036854775809ns', None, 'time: invalid duration "-9223372036854775809ns"'),
    ('2562047h', 9223369200000000000, None),
    ('2562048h', None, 'time: invalid duration "2562048h"'),
    ('2562047h47m16.854775807s', 9223372036854775807, None),
    ('2562047h47m16.854775808s', None, 'time: invalid duration "2562047h47m16.854775808s"'),
    ('-2562047h47m16.854775808s', -9223372036854775808, None),
    ('0.000000001s', 1, None),
    ('0.0000000001s', 0, None),
    ('1.0000000001s', 1000000000, None),
    ('1.123456789123456789123h', 4044444440844, None),
    ('100000000000000000000ns', None, 'time: invalid duration "100000000000000000000ns"'),
    ('1h 2m', None, 'time: unknown unit "h " in duration "1h 2m"'),
    ('1H', None, 'time: unknown unit "H" in duration "1H"'),
    ('1hh', None, 'time: unknown unit "hh" in duration "1hh"'),
    ('1d', None, 'time: unknown unit "d" in duration "1d"'),
    ('1ns2', None, 'time: missing unit in duration "1ns2"'),
    ('3m0.5s', 180500000000, None),
    ('0s', 0, None),
    ('00s', 0, None),
    ('0.0s', 0, None),
    ('1e3s', None, 'time: unknown unit "e" in duration "1e3s"'),
    ('1_000s', None, 'time: unknown unit "_" in duration "1_000s"'),
    ('1.5µs', 1500, None),
    ('5m', 300000000000, None),
    ('1h1h', 7200000000000, None),
    ('10000000000000000000000000000h', None, 'time: invalid duration "10000000000000000000000000000h"'),
    ('.1h', 360000000000, None),
    ('1.9999999999999999999999s', 2000000000, None),
    ('-1.5h', -5400000000000, None),
    ('0.5ms', 500000, None),
    ('999999999ns', 999999999, None),
    ('3600s', 3600000000000, None),
    ('+-1s', None, 'time: invalid duration "+-1s"'),
    ('--1s', None, 'time: invalid duration "--1s"'),
    ('s', None, 'time: invalid duration "s"'),
    ('1\ns', None, 'time: unknown unit "\\x0as" in duration "1\\x0as"'),
    ('1"s', None, 'time: unknown unit "\\"s" in duration "1\\"s"'),
    ('1é', None, 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'),
    ('1.5', None, 'time: missing unit in duration "1.5"'),
    ('15.s', 15000000000, None),
    ('-0s', 0, None),
    ('+5m30s', 330000000000, None),
    ('2h45m', 9900000000000, None),
    ('1.000000001h', 3600000003600, None),
    ('0.333333333333h', 1199999999998, None),
    ('4ms3us2ns', 4003002, None),
]

DURATION_STRING = [
    (0, '0s'),
    (1, '1ns'),
    (-1, '-1ns'),
    (999, '999ns'),
    (1000, '1µs'),
    (1001, '1.001µs'),
    (1500, '1.5µs'),
    (999999, '999.999µs'),
    (1000000, '1ms'),
    (1500000, '1.5ms'),
    (999999999, '999.999999ms'),
    (1000000000, '1s'),
    (1000000001, '1.000000001s'),
    (-1000000000, '-1s'),
    (59000000000, '59s'),
    (60000000000, '1m0s'),
    (61000000005, '1m1.000000005s'),
    (3599000000000, '59m59s'),
    (3600000000000, '1h0m0s'),
    (3600000000001, '1h0m0.000000001s'),
    (90000000000, '1m30s'),
    (9223372036854775807, '2562047h47m16.854775807s'),
    (-9223372036854775808, '-2562047h47m16.854775808s'),
    (-9223372036854775807, '-2562047h47m16.854775807s'),
    (123456789012345678, '34293h33m9.012345678s'),
    (1100, '1.1µs'),
    (1010000, '1.01ms'),
    (100000000, '100ms'),
]

RAM_IN_BYTES = [
    ('32', 32, None),
    ('32b', 32, None),
    ('32B', 32, None),
    ('32k', 32768, None),
    ('32K', 32768, None),
    ('32kb', 32768, None),
    ('32Kb', 32768, None),
    ('32Kib', 32768, None),
    ('32KIB', 32768, None),
    ('32Mb', 33554432, None),
    ('32Gb', 34359738368, None),
    ('32Tb', 35184372088832, None),
    ('32Pb', 36028797018963968, None),
    ('32PB', 36028797018963968, None),
    ('32P', 36028797018963968, None),
    ('32.3', 32, None),
    ('32.3 mb', 33869004, None),
    ('0.3MB', 314572, None),
    ('', None, "invalid size: ''"),
    ('hello', None, "invalid size: 'hello'"),
    ('-32', None, "invalid size: '-32'"),
    (' 32 ', None, "invalid size: ' 32 '"),
    ('32m b', None, "invalid size: '32m b'"),
    ('32bm', None, "invalid size: '32bm'"),
    ('.3kB', None, "invalid size: '.3kB'"),
    ('32.5 kB', 33280, None),
    ('32.5 B', 32, None),
    ('0.3 K', 307, None),
    ('1.2.3', None, 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'),
    ('1.2.3k', None, 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'),
    ('32i', 32, None),
    ('32ib', 32, None),
    ('32 ', 32, None),
    ('32  k', None, "invalid size: '32  k'"),
    ('1e3', None, "invalid size: '1e3'"),
    ('0x10', None, "invalid size: '0x10'"),
    ('8p', 9007199254740992, None),
    ('8191p', 9222246136947933184, None),
    ('1.5GB', 1610612736, None),
    ('512m', 536870912, None),
    ('1g', 1073741824, None),
    ('100', 100, None),
    ('1kb', 1024, None),
    ('١٢', None, "invalid size: '١٢'"),
    ('32\n', None, "invalid size: '32\n'"),
    ('0', 0, None),
    ('0.0', 0, None),
    ('00012k', 12288, None),
    ('32KiB', 32768, None),
    ('32kB', 32768, None),
    ('32 i', 32, None),
    ('32 b', 32, None),
    ('32.0000000000000000001k', 32768, None),
    ('1.5k', 1536, None),
    ('2.5g', 2684354560, None),
    ('1tb', 1099511627776, None),
    ('1TiB', 1099511627776, None),
    ('1 GiB', 1073741824, None),
    ('1 gib', 1073741824, None),
    ('1m', 1048576, None),
    ('10M', 10485760, None),
    ('4096', 4096, None),
    ('1.9', 1, None),
    ('0.5b', 0, None),
    ('1ki', 1024, None),
    ('1kB ', None, "invalid size: '1kB '"),
    ('1K B', None, "invalid size: '1K B'"),
    ('+1k', None, "invalid size: '+1k'"),
    ('1,5k', None, "invalid size: '1,5k'"),
]

FROM_HUMAN_SIZE = [
    ('32', 32, None),
    ('32b', 32, None),
    ('32B', 32, None),
    ('32k', 32000, None),
    ('32K', 32000, None),
    ('32kb', 32000, None),
    ('32Kb', 32000, None),
    ('32Kib', 32000, None),
    ('32KIB', 32000, None),
    ('32Mb', 32000000, None),
    ('32Gb', 32000000000, None),
    ('32Tb', 32000000000000, None),
    ('32Pb', 32000000000000000, None),
    ('32PB', 32000000000000000, None),
    ('32P', 32000000000000000, None),
    ('32.3', 32, None),
    ('32.3 mb', 32299999, None),
    ('0.3MB', 300000, None),
    ('', None, "invalid size: ''"),
    ('hello', None, "invalid size: 'hello'"),
    ('-32', None, "invalid size: '-32'"),
    (' 32 ', None, "invalid size: ' 32 '"),
    ('32m b', None, "invalid size: '32m b'"),
    ('32bm', None, "invalid size: '32bm'"),
    ('.3kB', None, "invalid size: '.3kB'"),
    ('32.5 kB', 32500, None),
    ('32.5 B', 32, None),
    ('0.3 K', 300, None),
    ('1.2.3', None, 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'),
    ('1.2.3k', None, 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'),
    ('32i', 32, None),
    ('32ib', 32, None),
    ('32 ', 32, None),
    ('32  k', None, "invalid size: '32  k'"),
    ('1e3', None, "invalid size: '1e3'"),
    ('0x10', None, "invalid size: '0x10'"),
    ('8p', 8000000000000000, None),
    ('8191p', 8191000000000000000, None),
    ('1.5GB', 1500000000, None),
    ('512m', 512000000, None),
    ('1g', 1000000000, None),
    ('100', 100, None),
    ('1kb', 1000, None),
    ('١٢', None, "invalid size: '١٢'"),
    ('32\n', None, "invalid size: '32\n'"),
    ('0', 0, None),
    ('0.0', 0, None),
    ('00012k', 12000, None),
    ('32KiB', 32000, None),
    ('32kB', 32000, None),
    ('32 i', 32, None),
    ('32 b', 32, None),
    ('32.0000000000000000001k', 32000, None),
    ('1.5k', 1500, None),
    ('2.5g', 2500000000, None),
    ('1tb', 1000000000000, None),
    ('1TiB', 1000000000000, None),
    ('1 GiB', 1000000000, None),
    ('1 gib', 1000000000, None),
    ('1m', 1000000, None),
    ('10M', 10000000, None),
    ('4096', 4096, None),
    ('1.9', 1, None),
    ('0.5b', 0, None),
    ('1ki', 1000, None),
    ('1kB ', None, "invalid size: '1kB '"),
    ('1K B', None, "invalid size: '1K B'"),
    ('+1k', None, "invalid size: '+1k'"),
    ('1,5k', None, "invalid size: '1,5k'"),
]

HUMAN_SIZE = [
    ((0, 3), '0B'),
    ((1, 3), '1B'),
    ((999, 3), '999B'),
    ((1000, 3), '1kB'),
    ((1024, 3), '1.02kB'),
    ((1000000, 3), '1MB'),
    ((1048576, 3), '1.05MB'),
    ((2000000.0, 3), '2MB'),
    ((3420000000.0, 3), '3.42GB'),
    ((5372000000000.0, 3), '5.37TB'),
    ((2220000000000000.0, 3), '2.22PB'),
    ((1e+22, 3), '10ZB'),
    ((1e+25, 3), '10YB'),
    ((1e+30, 3), '1e+06YB'),
    ((123456789, 3), '123MB'),
    ((0.5, 3), '0.5B'),
    ((999.99, 3), '1e+03B'),
    ((999.999, 3), '1e+03B'),
    ((999949, 3), '1e+03kB'),
    ((999950, 3), '1e+03kB'),
    ((1e+28, 3), '1e+04YB'),
    ((0, 4), '0B'),
    ((1, 4), '1B'),
    ((999, 4), '999B'),
    ((1000, 4), '1kB'),
    ((1024, 4), '1.024kB'),
    ((1000000, 4), '1MB'),
    ((1048576, 4), '1.049MB'),
    ((2000000.0, 4), '2MB'),
    ((3420000000.0, 4), '3.42GB'),
    ((5372000000000.0, 4), '5.372TB'),
    ((2220000000000000.0, 4), '2.22PB'),
    ((1e+22, 4), '10ZB'),
    ((1e+25, 4), '10YB'),
    ((1e+30, 4), '1e+06YB'),
    ((123456789, 4), '123.5MB'),
    ((0.5, 4), '0.5B'),
    ((999.99, 4), '1000B'),
    ((999.999, 4), '1000B'),
    ((999949, 4), '999.9kB'),
    ((999950, 4), '1000kB'),
    ((1e+28, 4), '1e+04YB'),
]

BYTES_SIZE = [
    (0, '0B'),
    (1, '1B'),
    (999, '999B'),
    (1000, '1000B'),
    (1024, '1KiB'),
    (1000000, '976.6KiB'),
    (1048576, '1MiB'),
    (2000000.0, '1.907MiB'),
    (3420000000.0, '3.185GiB'),
    (5372000000000.0, '4.886TiB'),
    (2220000000000000.0, '1.972PiB'),
    (1e+22, '8.47ZiB'),
    (1e+25, '8.272YiB'),
    (1e+30, '8.272e+05YiB'),
    (123456789, '117.7MiB'),
    (0.5, '0.5B'),
    (999.99, '1000B'),
    (999.999, '1000B'),
    (999949, '976.5KiB'),
    (999950, '976.5KiB'),
    (1e+28, '8272YiB'),
    (1048576, '1MiB'),
    (3672197038.08, '3.42GiB'),
    (5906576464412.672, '5.372TiB'),
    (2499497793190625.5, '2.22PiB'),
    (1237940039285380274899124224, '1024YiB'),
]

HUMAN_DURATION = [
    (0, 'Less than a second'),
    (999999999, 'Less than a second'),
    (1000000000, '1 second'),
    (2000000000, '2 seconds'),
    (59000000000, '59 seconds'),
    (60000000000, 'About a minute'),
    (119000000000, 'About a minute'),
    (120000000000, '2 minutes'),
    (3599000000000, '59 minutes'),
    (3600000000000, 'About an hour'),
    (5399000000000, 'About an hour'),
    (5400000000000, '2 hours'),
    (169200000000000, '47 hours'),
    (171000000000000, '2 days'),
    (172800000000000, '2 days'),
    (1209599999999999, '2 weeks'),
    (1209600000000000, '2 weeks'),
    (5183999999999999, '2 months'),
    (5184000000000000, '2 months'),
    (63071999999999999, '2 years'),
    (63072000000000000, '2 years'),
    (172800000000000000, '5 years'),
    (-5000000000, 'Less than a second'),
]

PARSE_CPUS = [
    ('1.5', 1500000000, None),
    ('0.01', 10000000, None),
    ('3/2', 1500000000, None),
    ('0', 0, None),
    ('1', 1000000000, None),
    ('-1', -1000000000, None),
    ('abc', None, 'failed to parse abc as a rational number'),
    ('', None, 'failed to parse  as a rational number'),
    ('0.0000000001', None, 'value is too precise'),
    ('0.000000001', 1, None),
    ('1e3', 1000000000000, None),
    ('1e-9', 1, None),
    ('1e-10', None, 'value is too precise'),
    ('1.', 1000000000, None),
    ('.', None, 'failed to parse . as a rational number'),
    (' 1', None, 'failed to parse  1 as a rational number'),
    ('+1.5', 1500000000, None),
    ('1/0', None, 'failed to parse 1/0 as a rational number'),
    ('-3/2', -1500000000, None),
    ('3/-2', None, 'failed to parse 3/-2 as a rational number'),
    ('1/3', None, 'value is too precise'),
    ('2/4', 500000000, None),
    ('10/3', None, 'value is too precise'),
    ('1.5e2', 150000000000, None),
    ('1E2', 100000000000, None),
    ('0.5e-8', 5, None),
    ('00.5', 500000000, None),
    ('1/2.5', None, 'failed to parse 1/2.5 as a rational number'),
    ('9223372036.854775807', 9223372036854775807, None),
    ('e', None, 'failed to parse e as a rational number'),
    ('1e', None, 'failed to parse 1e as a rational number'),
    ('1e+2', 100000000000, None),
    ('2.000000000', 2000000000, None),
    ('0.1234567891', None, 'value is too precise'),
]
# fmt: on


def _check(fn, arg, expected, error):
    if error is None:
        assert fn(arg) == expected
    else:
        with pytest.raises(InvalidParameter) as exc:
            fn(arg)
        assert str(exc.value) == error
        assert exc.value.status == 400


# ------------------------------------------------------------------- durations


@pytest.mark.parametrize(("text", "expected", "error"), PARSE_DURATION)
def test_parse_duration_ns_matches_go(text, expected, error):
    _check(parse_duration_ns, text, expected, error)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h2m3.5s", 3723.5),
        ("300ms", 0.3),
        ("1us", 1e-6),
        ("-1s", -1.0),
        ("0", 0.0),
        ("1.5h", 5400.0),
        ("2h45m", 9900.0),
        ("10m", 600.0),
        ("+5s", 5.0),
        ("1ns", 1e-9),
    ],
)
def test_parse_duration_seconds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds, rel=0, abs=1e-12)
    assert isinstance(parse_duration(text), float)


@pytest.mark.parametrize("text", ["", "1", "x", "1d", "-", "+", "1h x", " 1s", "1s "])
def test_parse_duration_rejects(text):
    with pytest.raises(InvalidParameter, match=r"^time: "):
        parse_duration(text)


def test_parse_duration_messages():
    with pytest.raises(InvalidParameter, match=r'^time: missing unit in duration "5"$'):
        parse_duration("5")
    with pytest.raises(InvalidParameter, match=r'^time: unknown unit "d" in duration "5d"$'):
        parse_duration("5d")
    with pytest.raises(InvalidParameter, match=r'^time: invalid duration "abc"$'):
        parse_duration("abc")


@pytest.mark.parametrize(("ns", "text"), DURATION_STRING)
def test_format_duration_ns_matches_go(ns, text):
    assert format_duration_ns(ns) == text


@pytest.mark.parametrize(("ns", "text"), DURATION_STRING)
def test_format_then_parse_round_trips(ns, text):
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.0, "0s"),
        (90, "1m30s"),
        (0.5, "500ms"),
        (1.5, "1.5s"),
        (3600, "1h0m0s"),
        (-2.25, "-2.25s"),
        (1e-6, "1µs"),
        (0.1, "100ms"),
        (86400, "24h0m0s"),
        (3723.5, "1h2m3.5s"),
    ],
)
def test_format_duration_seconds(seconds, text):
    assert format_duration(seconds) == text


def test_format_duration_clamps_to_int64():
    assert format_duration_ns(10**30) == format_duration_ns(2**63 - 1)
    assert format_duration_ns(-(10**30)) == format_duration_ns(-(2**63))


def test_duration_round_trip_random():
    rnd = random.Random(20240601)
    for _ in range(2000):
        ns = rnd.choice([1, -1]) * rnd.randrange(0, 10 ** rnd.randint(0, 18))
        assert parse_duration_ns(format_duration_ns(ns)) == ns


def test_parse_duration_fuzz_only_raises_invalid_parameter():
    rnd = random.Random(7)
    for _ in range(3000):
        text = "".join(rnd.choice("0123456789.hmsun-+µ x") for _ in range(rnd.randint(0, 12)))
        try:
            value = parse_duration_ns(text)
        except InvalidParameter:
            continue
        assert -(2**63) <= value < 2**63


# ----------------------------------------------------------------------- sizes


@pytest.mark.parametrize(("text", "expected", "error"), RAM_IN_BYTES)
def test_parse_bytes_matches_go_units(text, expected, error):
    _check(parse_bytes, text, expected, error)


@pytest.mark.parametrize(("text", "expected", "error"), FROM_HUMAN_SIZE)
def test_parse_size_decimal_matches_go_units(text, expected, error):
    _check(parse_size_decimal, text, expected, error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512m", 512 * MiB),
        ("1g", GiB),
        ("1.5GB", 3 * GiB // 2),
        ("100", 100),
        ("1kb", KiB),
        ("1KiB", KiB),
        ("2t", 2 * TiB),
        ("1p", PiB),
        ("6M", 6 * MiB),
        ("0.5k", 512),
    ],
)
def test_parse_bytes_examples(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1k", 1000), ("1.5MB", 1_500_000), ("2g", 2 * 10**9), ("3T", 3 * 10**12), ("1p", 10**15), ("32", 32)],
)
def test_parse_size_decimal_examples(text, expected):
    assert parse_size_decimal(text) == expected


@pytest.mark.parametrize("text", ["", "hello", "-1", " 1", "1  ", "1x", "1kbb", "1e3", "k"])
def test_parse_bytes_error_message(text):
    with pytest.raises(InvalidParameter) as exc:
        parse_bytes(text)
    assert str(exc.value) == f"invalid size: '{text}'"


def test_parse_bytes_refuses_values_past_int64():
    with pytest.raises(InvalidParameter, match=r"^invalid size: '8192p'$"):
        parse_bytes("8192p")
    assert parse_bytes("8191p") == 8191 * PiB


def test_parse_bytes_rejects_non_ascii_digits():
    # Go's \d is ASCII-only; Python's would accept these.
    with pytest.raises(InvalidParameter):
        parse_bytes("\u0661\u0662")


@pytest.mark.parametrize(("args", "text"), HUMAN_SIZE)
def test_human_size_matches_go_units(args, text):
    size, precision = args
    assert human_size(size, precision) == text


@pytest.mark.parametrize(("size", "text"), BYTES_SIZE)
def test_bytes_size_matches_go_units(size, text):
    assert bytes_size(size) == text


@pytest.mark.parametrize(("ns", "text"), HUMAN_DURATION)
def test_human_duration_matches_go_units(ns, text):
    assert human_duration(ns / 1e9) == text


# ------------------------------------------------------------------------ CPUs


@pytest.mark.parametrize(("text", "expected", "error"), PARSE_CPUS)
def test_parse_cpus_matches_docker_cli(text, expected, error):
    _check(parse_cpus, text, expected, error)


@pytest.mark.parametrize(
    "text",
    [
        "0x10",  # Go's big.Rat takes base prefixes: not supported here
        "1_0",  # nor digit separators
        "9223372036854775807",  # Go wraps around int64; refused here
        "1e100000",
    ],
)
def test_parse_cpus_documented_refusals(text):
    with pytest.raises(InvalidParameter, match=r"^failed to parse .* as a rational number$"):
        parse_cpus(text)


def test_parse_cpus_examples():
    assert parse_cpus("1.5") == 1_500_000_000
    assert parse_cpus("0.5") == 500_000_000
    assert parse_cpus("2") == 2_000_000_000
    assert parse_cpus("0.000000001") == 1
    with pytest.raises(InvalidParameter, match=r"^value is too precise$"):
        parse_cpus("0.0000000015")


# --------------------------------------------------------------------- quoting


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("", '""'),
        ("abc", '"abc"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("\n", '"\\x0a"'),
        ("µs", '"\\xc2\\xb5s"'),
        ("\x7f", '"\x7f"'),
    ],
)
def test_go_quote_is_time_package_quote(text, quoted):
    assert go_quote(text) == quoted


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("", '""'),
        ("abc", '"abc"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("\n\t\r\x00\x07\x1b\x7f", '"\\n\\t\\r\\x00\\a\\x1b\\x7f"'),
        ("é日本😀", '"é日本😀"'),
        ("\u00a0", '"\\u00a0"'),
        ("\u2028", '"\\u2028"'),
        ("\ufeff", '"\\ufeff"'),
        ("\U000e0001", '"\\U000e0001"'),
    ],
)
def test_go_strconv_quote(text, quoted):
    assert go_strconv_quote(text) == quoted


def test_module_does_not_import_re_eagerly():
    # The CLI imports this module; `re` is only loaded by the size parsers.
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(units))
    top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = {alias.name for n in top_level for alias in n.names}
    assert "re" not in names
