"""The Docker API's JSON encoding (``api/responses.go_json``): orjson's bytes are the
json module's text for what the API answers, and what orjson refuses still encodes."""

from __future__ import annotations

import json

import pytest

from baleine.api.responses import go_dumps, go_json, json_response


def _reference(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("value", [
    {"Id": "abc", "Names": ["/x"], "Labels": {"é": "日本", "<tag>": "a&b"}, "Created": 1796456077},
    [{"Ports": [], "HostConfig": {"NetworkMode": "bridge"}, "Mounts": None, "Running": True}],
    {"Cpu": 0.5, "Size": -1, "Nested": [[1, 2], {"k": [None, False]}]},
    "line\nwith \"quotes\" and \\ and \u0001",
    {},
])
def test_the_same_bytes_as_the_json_module(value: object) -> None:
    assert go_json(value) == _reference(value)
    assert go_json(value, newline=True) == _reference(value) + b"\n"
    assert go_dumps(value) == _reference(value).decode()


@pytest.mark.parametrize("value", [{1: "int key"}, {"big": 2**70}, [{"n": -(2**65)}]])
def test_what_orjson_refuses_goes_through_the_json_module(value: object) -> None:
    assert go_json(value, newline=True) == _reference(value) + b"\n"


def test_what_neither_encodes_still_raises() -> None:
    with pytest.raises(TypeError):
        go_json({"x": object()})


def test_a_response_carries_the_bytes_and_the_exact_content_type() -> None:
    r = json_response({"message": "é"}, status=404)
    assert r.body == '{"message":"é"}\n'.encode()
    assert r.headers["Content-Type"] == "application/json" and r.status == 404
