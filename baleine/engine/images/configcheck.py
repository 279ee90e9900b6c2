"""What an image config must be before it is stored (load, import of an archive).

dockerd decodes an image config into Go types on load, so a value of the wrong type
fails the load instead of breaking every later listing (``docker images`` decodes
``Labels`` as ``map[string]string`` and ``Created`` as a time for every image it
lists). Absent optional fields (``created`` in the OCI image spec) are fine.
"""

from __future__ import annotations

from typing import Any

from ...rules.errors import InvalidParameter
from ...rules.timestamps import parse_rfc3339_ns


def check(config: dict[str, Any]) -> None:
    """Raise InvalidParameter naming the field if ``config`` holds a value dockerd's
    decoding would refuse: a malformed ``created`` (top level or in ``history``), or
    ``Labels`` that do not map strings to strings."""
    _check_time(config.get("created"), "created")
    history = config.get("history")
    if history is not None and not isinstance(history, list):
        raise InvalidParameter("invalid image config: history: expected a list")
    for i, entry in enumerate(history or []):
        if isinstance(entry, dict):
            _check_time(entry.get("created"), f"history[{i}].created")
    for section in ("config", "container_config"):
        inner = config.get(section)
        if isinstance(inner, dict):
            _check_string_map(inner.get("Labels"), f"{section}.Labels")


def _check_time(value: Any, field: str) -> None:
    if value is None:
        return
    try:
        parse_rfc3339_ns(value)
    except InvalidParameter as err:
        raise InvalidParameter(f"invalid image config: {field}: {err}") from None


def _check_string_map(value: Any, field: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise InvalidParameter(f"invalid image config: {field}: expected an object of strings")
    for k, v in value.items():
        if not isinstance(v, str):
            raise InvalidParameter(f"invalid image config: {field}: the value of {k!r} is not a string "
                                   f"(json: cannot unmarshal {_go_type(v)} into Go value of type string)")


def _go_type(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null" if v is None else "value"
