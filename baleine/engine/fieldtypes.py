"""JSON field type checks for request bodies, with Go's decoder's wording.

dockerd decodes request bodies into Go structs, so a field of the wrong JSON type is
refused before anything runs ("json: cannot unmarshal number into Go struct field
…"). The engine checks the fields it reads the same way, so that nothing further
down has to guess, and bad input is a 400 rather than a failure half-way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..rules.errors import InvalidParameter

STR, BOOL, INT, LIST, DICT = "string", "bool", "int64", "[]string", "map"
_JSON_NAMES = {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def json_kind(value: Any) -> str:
    """How Go's decoder names the JSON kind of ``value`` in its errors."""
    return _JSON_NAMES.get(type(value), "value")


def type_ok(value: Any, kind: str, string_too: bool = False) -> bool:
    """Whether ``value`` decodes as ``kind`` (null always does, as in Go)."""
    if value is None:
        return True
    if kind == STR:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX
    if kind == LIST:
        return (isinstance(value, str) and string_too) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value))
    return isinstance(value, dict)


def check_fields(doc: Any, fields: dict[str, str], where: str, list_or_string: Iterable[str] = ()) -> None:
    """Raise InvalidParameter for the first field of ``doc`` whose type is wrong.

    ``list_or_string`` names the fields that also take a plain string (Cmd, Entrypoint).
    """
    if not isinstance(doc, dict):
        raise InvalidParameter(f"json: cannot unmarshal {_JSON_NAMES.get(type(doc), 'value')} into Go value "
                               f"of type {where}")
    both = set(list_or_string)
    for key, kind in fields.items():
        value = doc.get(key)
        if not type_ok(value, kind, key in both):
            # Go names the number when it is one that does not fit ("number 1e+30").
            what = (f"number {value}" if kind == INT and isinstance(value, (int, float)) and not isinstance(value, bool)
                    else json_kind(value))
            raise InvalidParameter(f"json: cannot unmarshal {what} into Go "
                                   f"struct field {where}.{key} of type {'map' if kind == DICT else kind}")
