"""Compose files as YAML: reading (with the ``!reset`` and ``!override`` tags and the
line of every value, for messages) and writing (``compose config``).

Scalars are resolved with YAML 1.2's core schema, as compose-go (go-yaml v3) does,
not PyYAML's YAML 1.1: ``yes``/``on`` stay strings and ``8080:80`` is never a
base-60 number (PyYAML would read ``22:22`` as 1342). Integers follow Go's
``ParseInt(s, 0, 64)``: ``0x1f``, ``0o17`` and ``017`` are hexadecimal and octal.
Duplicate keys in a mapping are errors, as in compose-go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import ComposeError


class Reset:
    """``!reset``: the key is removed from the merged model (any value after the tag is ignored)."""

    _instance: Reset | None = None

    def __new__(cls) -> Reset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "!reset"


RESET = Reset()


@dataclass
class Override:
    """``!override VALUE``: the value replaces, instead of merging with, what earlier files said."""

    value: Any


Positions = dict[tuple[Any, ...], int]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 scalars, compose's tags and duplicate-key errors."""


# YAML 1.2 core schema resolvers (replacing 1.1's bool, int, float and their sexagesimals).
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                                                   "tag:yaml.org,2002:float",
                                                   "tag:yaml.org,2002:timestamp")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int",
                              re.compile(r"^(?:[-+]?[0-9]+|[-+]?0o[0-7]+|[-+]?0x[0-9a-fA-F]+)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _construct_bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    return node.value.lower() == "true"


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = node.value
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body.startswith("0x"):
        value = int(body[2:], 16)
    elif body.startswith("0o"):
        value = int(body[2:], 8)
    elif len(body) > 1 and body.startswith("0") and all(c in "01234567" for c in body):
        value = int(body, 8)  # Go's ParseInt base 0: a leading 0 means octal
    else:
        value = int(body, 10)
    return sign * value


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = node.value.lower()
    if text.endswith("inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith("nan"):
        return float("nan")
    return float(text)


def _construct_reset(loader: _Loader, node: yaml.Node) -> Reset:
    return RESET


def _construct_override(loader: _Loader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    # A tagged scalar: resolve it as if it had no tag.
    tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))
    plain = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
    return Override(loader.construct_object(plain, deep=True))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark) from None
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(f"line {line}: mapping key {key!r} already defined at line {seen[key]}".replace(
                "'", '"'))
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


class _DuplicateKey(Exception):
    pass


_Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor("!reset", _construct_reset)
_Loader.add_constructor("!override", _construct_override)
_Loader.construct_mapping = _construct_mapping  # type: ignore[method-assign,assignment]


def _walk(node: yaml.Node | None, path: tuple[Any, ...], out: Positions) -> None:
    if node is None:
        return
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                out.setdefault(path + (key,), key_node.start_mark.line + 1)
                _walk(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), out)


def load(text: str, filename: str) -> tuple[Any, Positions]:
    """Parse one compose file: (the data, the line of each path in it).

    Paths are tuples of keys and indexes (``("services", "web", "ports", 1)``).
    Raises ComposeError naming ``filename`` and the line for syntax errors and
    duplicate keys. An empty document is None.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _DuplicateKey as exc:
        raise ComposeError(str(exc), filename) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or ""
        if exc.context:
            problem = f"{problem} ({exc.context}" + (
                f" at line {exc.context_mark.line + 1})" if exc.context_mark else ")")
        raise ComposeError(f"yaml: {where}{problem}", filename) from None
    except yaml.YAMLError as exc:
        raise ComposeError(f"yaml: {exc}", filename) from None
    finally:
        loader.dispose()
    positions: Positions = {}
    _walk(node, (), positions)
    return data, positions


def strip_tags(value: Any) -> Any:
    """The value as one file says it, tags removed: ``!reset`` keys dropped,
    ``!override`` values unwrapped (for validating a file on its own)."""
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_tags(v) for v in value if not isinstance(v, Reset)]
    return value


# -- writing ------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style with sequences indented under their key, as go-yaml writes them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def dump(data: Any) -> str:
    """``data`` as YAML, keys in the order given (the model keeps compose's order)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=1 << 16, indent=2)
