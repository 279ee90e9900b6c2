"""Validation of a compose file against the Compose Specification's JSON Schema
(``compose-spec.schema.json``, draft 07), with messages that name the file, the line,
the path in the model (``services.web.ports[1]``) and what is wrong."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from .errors import ComposeError, format_path
from .yamlfile import Positions

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "compose-spec.schema.json")

_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "a boolean", "null": "null"}


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    # The file says draft-07 (as "https://json-schema.org/draft-07/schema", a spelling
    # jsonschema does not recognise): name the validator rather than guess.
    return jsonschema.Draft7Validator(schema)


def _types(schema: dict[str, Any]) -> list[str]:
    """The JSON types a (sub)schema accepts, for "must be X or Y" messages."""
    out: list[str] = []
    t = schema.get("type")
    if isinstance(t, str):
        out.append(t)
    elif isinstance(t, list):
        out.extend(t)
    for key in ("oneOf", "anyOf"):
        for sub in schema.get(key, []):
            if "$ref" in sub:
                sub = _resolve(sub["$ref"])
            out.extend(x for x in _types(sub) if x not in out)
    return out


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = _validator().schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _describe(types: list[str]) -> str:
    names = [_TYPE_NAMES.get(t, t) for t in dict.fromkeys(types)]
    if len(names) <= 1:
        return names[0] if names else "valid"
    return ", ".join(names[:-1]) + " or " + names[-1]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else text[:57] + "..."
    return json.dumps(value, default=str)


def _message(error: Any) -> tuple[tuple[Any, ...], str]:
    """(path, message) for one jsonschema error, descending into oneOf/anyOf when the
    value's type matched exactly one branch (that branch's error is the useful one)."""
    path = tuple(error.absolute_path)
    validator = error.validator
    if validator in ("oneOf", "anyOf") and error.context:
        by_branch: dict[int, list[Any]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        # Branches that failed for something deeper than the value's own type.
        deeper = [errs for errs in by_branch.values()
                  if not any(e.validator == "type" and not e.relative_path for e in errs)]
        if len(deeper) == 1:
            return _message(min(deeper[0], key=lambda e: len(e.relative_schema_path)))
        return path, f"{_show(error.instance)} is invalid: must be {_describe(_types(error.schema))}"
    if validator == "type":
        return path, f"{_show(error.instance)} must be {_describe(_types(error.schema))}"
    if validator == "additionalProperties":
        allowed = set((error.schema.get("properties") or {}))
        patterns = list((error.schema.get("patternProperties") or {}))
        import re

        extra = [k for k in error.instance if k not in allowed and not any(re.search(p, k) for p in patterns)]
        if len(extra) == 1:
            return path + (extra[0],), f"additional property {extra[0]!r} is not allowed"
        return path, "additional properties " + ", ".join(repr(k) for k in extra) + " are not allowed"
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path, f"missing required property {missing!r}"
    if validator == "enum":
        choices = ", ".join(_show(c) for c in error.validator_value)
        return path, f"{_show(error.instance)} must be one of {choices}"
    if validator == "uniqueItems":
        return path, "list items must be unique"
    if validator == "pattern":
        return path, f"{_show(error.instance)} does not match {error.validator_value!r}"
    if validator in ("minimum", "maximum", "minItems", "maxItems", "minLength", "minProperties"):
        return path, error.message
    return path, error.message


def _line(positions: Positions, path: tuple[Any, ...]) -> int | None:
    while True:
        if path in positions:
            return positions[path]
        if not path:
            return None
        path = path[:-1]


def validate(data: Any, file: str | None = None, positions: Positions | None = None) -> None:
    """Raise ComposeError for the first (most relevant) schema violation in ``data``.

    ``data`` is one file's model after interpolation, tags removed. The error names
    ``file``, the line (from ``positions``) and the path.
    """
    if data is None:
        return
    if not isinstance(data, dict):
        raise ComposeError("top-level object must be a mapping", file)
    errors = list(_validator().iter_errors(data))
    if not errors:
        return
    best = max(errors, key=_relevance)
    path, message = _message(best)
    line = _line(positions or {}, path)
    raise ComposeError(message, file, format_path(path) or None, line)


def _relevance(error: Any) -> tuple[int, bool]:
    # Deeper errors first: "services.web.ports[1]" says more than "services.web".
    return len(error.path), error.validator not in ("oneOf", "anyOf")
