"""``baleine.cli.indentjson.dumps`` is ``json.dumps(v, indent=4, ensure_ascii=False)``:
compared on random JSON-like values and on the values it hands to the json package."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from baleine.cli.indentjson import dumps

ALPHABET = "aZ09 _-/:\"\\\n\t\r\x00\x1f\x7féü€漢😀\u2028\ud800"


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(6)))


def _value(rng: random.Random, depth: int) -> Any:  # noqa: ANN401
    roll = rng.randrange(10 if depth < 5 else 7)
    if roll == 0:
        return _text(rng)
    if roll == 1:
        return rng.choice([None, True, False])
    if roll == 2:
        return rng.choice([0, -1, 2**70, -(2**64), rng.randrange(-10**6, 10**6)])
    if roll == 3:
        return rng.choice([0.0, -0.0, 1e300, 1.5e-7, math.inf, -math.inf, math.nan, rng.random() * 1e6])
    if roll in (4, 5, 6):
        return rng.choice(["", "x", 0, [], {}])
    if roll in (7, 8):
        return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]


@pytest.mark.parametrize("seed", range(40))
def test_same_text_as_json_dumps(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        value = [_value(rng, 0) for _ in range(rng.randrange(3))]
        assert dumps(value) == json.dumps(value, indent=4, ensure_ascii=False)
        assert dumps(value, indent=2) == json.dumps(value, indent=2, ensure_ascii=False)


class Sub(dict):
    pass


@pytest.mark.parametrize("value", [
    (1, "a"), {1: "one", None: 2, 1.5: True, False: []}, Sub(a=1), [Sub()], {"a": (1, 2)},
])
def test_unusual_values_are_the_json_packages(value: Any) -> None:  # noqa: ANN401
    assert dumps(value) == json.dumps(value, indent=4, ensure_ascii=False)


@pytest.mark.parametrize("value", [[object()], {(1, 2): 1}, {"a": {1, 2}}])
def test_unencodable_values_raise_what_json_raises(value: Any) -> None:  # noqa: ANN401
    with pytest.raises(TypeError) as ours:
        dumps(value)
    with pytest.raises(TypeError) as theirs:
        json.dumps(value, indent=4, ensure_ascii=False)
    assert str(ours.value) == str(theirs.value)


def test_circular_structures_raise_what_json_raises() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        dumps(loop)
