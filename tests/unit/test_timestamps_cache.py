"""The RFC 3339 fast path remembers what it parsed (listing containers parses the same
strings every time), within a bound, without changing any answer."""

from __future__ import annotations

import pytest

from baleine.rules import timestamps
from baleine.rules.errors import InvalidParameter


def test_cached_answers_are_the_parsers_and_the_cache_stays_bounded() -> None:
    timestamps._FAST_CACHE.clear()
    texts = [f"2026-12-04T{h:02d}:{m:02d}:{s:02d}.{s * 7:03d}Z" for h in range(3) for m in range(60) for s in range(30)]
    first = [timestamps.parse_rfc3339_ns(t) for t in texts]
    assert len(timestamps._FAST_CACHE) <= 4096
    again = [timestamps.parse_rfc3339_ns(t) for t in texts[-100:]]
    assert again == first[-100:] == [timestamps._parse_rfc3339_shape(t) for t in texts[-100:]]
    assert timestamps.parse_rfc3339("0001-01-01T00:00:00Z") == 0.0
    with pytest.raises(InvalidParameter):
        timestamps.parse_rfc3339_ns("2026-13-01T00:00:00Z")
    with pytest.raises(InvalidParameter):  # a failure is not remembered as a success
        timestamps.parse_rfc3339_ns("2026-13-01T00:00:00Z")
