"""Label and field selectors, as ``?labelSelector=`` and ``?fieldSelector=`` spell them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]

_REQ = re.compile(r"\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=|\s+in\s+|\s+notin\s+)\s*(\([^)]*\)|[^,()\s]*))?\s*$")


class SelectorError(ValueError):
    """A selector that cannot be parsed (the API answers 400)."""


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def _requirement(text: str) -> Callable[[dict[str, str]], bool]:
    m = _REQ.match(text)
    if not m:
        raise SelectorError(f"unable to parse requirement: {text.strip()!r}")
    neg, key, op, value = m.group(1), m.group(2), (m.group(3) or "").strip(), m.group(4)
    if neg:
        if op:
            raise SelectorError(f"unable to parse requirement: {text.strip()!r}")
        return lambda labels: key not in labels
    if not op:
        return lambda labels: key in labels
    if op in ("in", "notin"):
        if not (value or "").startswith("("):
            raise SelectorError(f"unable to parse requirement: {text.strip()!r}")
        values = {v.strip() for v in value[1:-1].split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if op == "!=":
        return lambda labels: labels.get(key) != value
    return lambda labels: key in labels and labels[key] == value


def label_selector(text: str) -> Matcher:
    """A matcher of objects whose ``metadata.labels`` satisfy ``text`` (all requirements)."""
    reqs = [_requirement(part) for part in _split(text or "")]
    return lambda obj: all(r((obj.get("metadata") or {}).get("labels") or {}) for r in reqs)


def _field(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


def field_selector(text: str, allowed: frozenset[str] = frozenset()) -> Matcher:
    """A matcher for ``metadata.name=x,metadata.namespace!=y`` (``=``, ``==``, ``!=``).

    ``metadata.name`` and ``metadata.namespace`` are always allowed; ``allowed``
    adds per-kind fields (``status.phase``, ``type``...). Others raise SelectorError.
    """
    tests = []
    for part in _split(text or ""):
        m = re.match(r"\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*([^,]*?)\s*$", part)
        if not m:
            raise SelectorError(f"invalid selector: '{part.strip()}'; can't understand '{part.strip()}'")
        path, op, value = m.groups()
        if path not in ("metadata.name", "metadata.namespace") and path not in allowed:
            raise SelectorError(f'field label not supported: {path}')
        tests.append((path, op == "!=", value))
    return lambda obj: all((_field(obj, p) == v) != neg for p, neg, v in tests)
