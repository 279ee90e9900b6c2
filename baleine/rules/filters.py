"""Filter arguments of the Engine API (``?filters=...``) and of ``--filter k=v``.

Mirrors moby's ``api/types/filters.Args``: a mapping of filter names to sets of
values. On the wire it is JSON, ``{"label":{"a=b":true}}``; the pre-1.22 form
``{"label":["a=b"]}`` is accepted too. Matching helpers keep moby's semantics,
in particular that an absent filter matches everything.

Errors raise :class:`~baleine.rules.errors.InvalidParameter` with moby's
messages (``invalid filter``, ``invalid filter 'x'``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from baleine.rules.errors import InvalidParameter

__all__ = ["Filters", "from_cli", "parse"]


def _invalid_filter(name: str = "", values: list[str] | None = None) -> InvalidParameter:
    """moby's ``invalidFilter`` error text."""
    msg = "invalid filter"
    if name:
        msg += " '" + name
        if values is not None:
            msg += "=[" + " ".join(values) + "]"
        msg += "'"
    return InvalidParameter(msg)


class Filters:
    """A set of filter values per filter name (moby ``filters.Args``).

    Values keep the boolean moby stores with them (``{"a=b": false}`` is legal
    JSON and ``get`` still lists it, but ``exact_match`` does not accept it).
    Iteration orders follow insertion, where Go's are random.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Mapping[str, bool] | Iterable[str]] | None = None) -> None:
        """Build from ``{name: {value: bool}}`` or ``{name: [values]}``."""
        self._fields: dict[str, dict[str, bool]] = {}
        for key, values in (fields or {}).items():
            if isinstance(values, Mapping):
                self._fields[key] = {str(v): bool(b) for v, b in values.items()}
            else:
                self._fields[key] = {str(v): True for v in values}

    # ---------------------------------------------------------------- mapping

    def add(self, key: str, value: str) -> None:
        """Add ``value`` to the values of ``key``."""
        self._fields.setdefault(key, {})[value] = True

    def delete(self, key: str, value: str) -> None:
        """Remove ``value`` from ``key``; the key goes when its last value does."""
        values = self._fields.get(key)
        if values is not None:
            values.pop(value, None)
            if not values:
                del self._fields[key]

    def keys(self) -> list[str]:
        """Filter names present."""
        return list(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __bool__(self) -> bool:
        return bool(self._fields)

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Filters):
            return NotImplemented
        return self._fields == other._fields

    def __repr__(self) -> str:
        return f"Filters({self._fields!r})"

    def get(self, key: str) -> list[str]:
        """All values of ``key`` (``[]`` when absent)."""
        return list(self._fields.get(key, ()))

    def contains(self, key: str) -> bool:
        """True when ``key`` is present, even with no values."""
        return key in self._fields

    def to_dict(self) -> dict[str, dict[str, bool]]:
        """A copy of the underlying ``{name: {value: bool}}`` mapping."""
        return {k: dict(v) for k, v in self._fields.items()}

    def clone(self) -> Filters:
        """An independent copy."""
        return Filters(self._fields)

    def to_json(self) -> str:
        """Encode as moby's ``filters.ToJSON``: ``""`` when empty, else compact JSON.

        Keys are sorted and ``<``, ``>``, ``&`` are escaped as Go's encoder does,
        so the output is byte-identical to docker's ``filters`` query parameter.
        """
        if not self._fields:
            return ""
        text = json.dumps(self._fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # Go's encoding/json escapes these for HTML safety; they can only occur
        # inside strings, so a plain replace is exact.
        return (
            text.replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")
        )

    # --------------------------------------------------------------- checking

    def validate(self, allowed: Iterable[str]) -> None:
        """Raise InvalidParameter("invalid filter '<name>'") for the first name not in ``allowed``."""
        accepted = allowed if isinstance(allowed, (set, frozenset, dict)) else set(allowed)
        for name in self._fields:
            if name not in accepted:
                raise _invalid_filter(name)

    def bool_value(self, key: str, default: bool = False) -> bool:
        """Boolean value of ``key`` (moby ``GetBoolOrDefault``).

        Absent key → ``default``. ``"true"``/``"1"`` → True, ``"false"``/``"0"`` →
        False. Raises InvalidParameter("invalid filter '<key>'") when the key has
        no values, and ``invalid filter '<key>=[v1 v2]'`` when the values are
        neither or both truthy and falsy.
        """
        values = self._fields.get(key)
        if values is None:
            return default
        if not values:
            raise _invalid_filter(key)
        is_false = values.get("0", False) or values.get("false", False)
        is_true = values.get("1", False) or values.get("true", False)
        if is_false == is_true:
            raise _invalid_filter(key, self.get(key))
        return is_true

    # --------------------------------------------------------------- matching

    def exact_match(self, key: str, source: str) -> bool:
        """True when ``key`` is absent or has no values, or ``source`` is one of them."""
        values = self._fields.get(key)
        if not values:
            return True
        return values.get(source, False)

    def unique_exact_match(self, key: str, source: str) -> bool:
        """Like :meth:`exact_match`, but false when ``key`` has more than one value."""
        values = self._fields.get(key)
        if not values:
            return True
        if len(values) != 1:
            return False
        return values.get(source, False)

    def fuzzy_match(self, key: str, source: str) -> bool:
        """:meth:`exact_match`, or ``source`` starts with one of the values (ID prefixes)."""
        if self.exact_match(key, source):
            return True
        return any(source.startswith(prefix) for prefix in self._fields.get(key, ()))

    def match(self, key: str, source: str) -> bool:
        """:meth:`exact_match`, or one of the values, as a regular expression, is found in ``source``.

        Values that are not valid (Python) regular expressions are skipped, as
        moby skips those Go's regexp rejects.
        """
        if self.exact_match(key, source):
            return True
        import re

        for pattern in self._fields.get(key, ()):
            try:
                if re.search(pattern, source):
                    return True
            except re.error:
                continue
        return False

    def match_kv(self, key: str, sources: Mapping[str, str] | None) -> bool:
        """moby ``MatchKVList``: every ``k`` / ``k=v`` value of ``key`` is in ``sources``.

        True when ``key`` has no values; false when ``sources`` is empty. A value
        ``k`` requires the label ``k`` with any value; ``k=v`` requires exactly
        ``v`` (split at the first ``=``, so ``k=`` requires an empty value).
        """
        values = self._fields.get(key)
        if not values:
            return True
        if not sources:
            return False
        for value in values:
            test_k, has_value, test_v = value.partition("=")
            if test_k not in sources:
                return False
            if has_value and sources[test_k] != test_v:
                return False
        return True

    def match_labels(self, labels: Mapping[str, str] | None, key: str = "label") -> bool:
        """Label filtering with negation, as moby's prune ``matchLabels``.

        ``label=k[=v]`` values must all match (:meth:`match_kv`), and when
        ``label!`` is present (CLI ``--filter label!=k[=v]``) the object is
        rejected if all of its values match.
        """
        if not self.match_kv(key, labels):
            return False
        negated = key + "!"
        if negated in self._fields and self.match_kv(negated, labels):
            return False
        return True


def _decode_map_form(data: object) -> dict[str, dict[str, bool]] | None:
    """Decode ``{name: {value: bool}}`` the way Go does, or None on a type mismatch."""
    fields: dict[str, dict[str, bool]] = {}
    assert isinstance(data, dict)
    for key, values in data.items():
        if values is None:
            fields[key] = {}
            continue
        if not isinstance(values, dict):
            return None
        inner: dict[str, bool] = {}
        for value, flag in values.items():
            if flag is None:
                flag = False  # JSON null leaves Go's bool at its zero value
            elif not isinstance(flag, bool):
                return None
            inner[value] = flag
        fields[key] = inner
    return fields


def _decode_legacy_form(data: object) -> dict[str, dict[str, bool]] | None:
    """Decode the legacy ``{name: [values]}`` form, or None on a type mismatch."""
    fields: dict[str, dict[str, bool]] = {}
    assert isinstance(data, dict)
    for key, values in data.items():
        if values is None:
            fields[key] = {}
            continue
        if not isinstance(values, list):
            return None
        inner: dict[str, bool] = {}
        for value in values:
            if value is None:
                value = ""  # JSON null leaves Go's string at its zero value
            elif not isinstance(value, str):
                return None
            inner[value] = True
        fields[key] = inner
    return fields


def parse(query_value: str | None) -> Filters:
    """Decode the ``filters`` query parameter (moby ``filters.FromJSON``).

    ``None``, ``""`` and ``"null"`` give empty filters. Accepts the map form
    ``{"label":{"a=b":true}}`` and the legacy list form ``{"label":["a=b"]}``
    (API < 1.22). Anything else — invalid JSON, other shapes or value types —
    raises InvalidParameter("invalid filter").
    """
    f = Filters()
    if not query_value:
        return f
    try:
        data = json.loads(query_value)
    except (ValueError, RecursionError):
        raise _invalid_filter() from None
    if data is None:
        return f
    if not isinstance(data, dict):
        raise _invalid_filter()
    fields = _decode_map_form(data)
    if fields is None:
        fields = _decode_legacy_form(data)
        if fields is None:
            raise _invalid_filter()
    f._fields = fields
    return f


def from_cli(args: Iterable[str]) -> Filters:
    """Build filters from repeated ``--filter name=value`` options (docker/cli ``FilterOpt``).

    Empty strings are ignored. The name is trimmed and lower-cased, the value
    trimmed; the split is at the first ``=`` (so ``label!=a`` gives name
    ``label!``). Raises InvalidParameter("bad format of filter (expected
    name=value)") for a value without ``=``.
    """
    f = Filters()
    for value in args:
        if value == "":
            continue
        if "=" not in value:
            raise InvalidParameter("bad format of filter (expected name=value)")
        name, _, val = value.partition("=")
        f.add(name.strip().lower(), val.strip())
    return f
