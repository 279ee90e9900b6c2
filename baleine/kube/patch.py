"""The three patch types of the Kubernetes API, pure functions over JSON values.

- JSON merge patch (RFC 7386): ``application/merge-patch+json``;
- JSON patch (RFC 6902): ``application/json-patch+json``;
- strategic merge patch: ``application/strategic-merge-patch+json``, a merge
  patch whose lists merge by the schema's ``x-kubernetes-patch-merge-key`` when
  ``x-kubernetes-patch-strategy`` says ``merge``, with the directives kubectl
  sends (``$patch``, ``$retainKeys``, ``$setElementOrder/<list>``,
  ``$deleteFromPrimitiveList/<list>``).

The schema is a JSON-schema node whose ``$ref``s point into ``defs`` (the
OpenAPI definitions; see ``openapi.definitions``). Inputs are never mutated.
"""

from __future__ import annotations

import copy
from typing import Any

Json = Any


class PatchError(ValueError):
    """A patch that cannot be applied (the API answers 422, or 400 if undecodable)."""


# --- JSON merge patch -------------------------------------------------------

def merge_patch(target: Json, patch: Json) -> Json:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- JSON patch -------------------------------------------------------------

def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Json, parts: list[str], path: str) -> Json:
    cur = doc
    for part in parts[:-1]:
        cur = _child(cur, part, path)
    return cur


def _child(cur: Json, part: str, path: str) -> Json:
    try:
        if isinstance(cur, list):
            return cur[int(part)]
        return cur[part]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(f"path not found: {path}") from None


def _add(doc: Json, path: str, value: Json) -> Json:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else _index(last, len(parent) + 1, path)
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise PatchError(f"path not found: {path}")
    return doc


def _index(part: str, size: int, path: str) -> int:
    try:
        i = int(part)
    except ValueError:
        raise PatchError(f"invalid index in {path}") from None
    if i < 0 or i >= size:
        raise PatchError(f"index out of range in {path}")
    return i


def _remove(doc: Json, path: str) -> tuple[Json, Json]:
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, list):
        return doc, parent.pop(_index(last, len(parent), path))
    if isinstance(parent, dict) and last in parent:
        return doc, parent.pop(last)
    raise PatchError(f"path not found: {path}")


def _get(doc: Json, path: str) -> Json:
    cur = doc
    for part in _pointer(path):
        cur = _child(cur, part, path)
    return cur


def json_patch(doc: Json, ops: Json) -> Json:
    """RFC 6902: apply ``ops`` (add, remove, replace, move, copy, test) in order."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation: {op!r}")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {kind} needs a value")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            doc, _ = _remove(doc, path) if _pointer(path) else (doc, None)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "move":
            doc, value = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value {path} failed")
        else:
            raise PatchError(f"unknown operation {kind!r}")
    return doc


# --- strategic merge patch --------------------------------------------------

def resolve(node: Json, defs: dict[str, Json]) -> dict[str, Json]:
    """Follow ``$ref`` (``#/$defs/X``, ``#/definitions/X``, ``#/components/schemas/X``) and ``allOf``."""
    seen = 0
    while isinstance(node, dict) and seen < 32:
        seen += 1
        if "$ref" in node:
            node = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            return node
    return node if isinstance(node, dict) else {}


def _field_schema(schema: Json, key: str, defs: dict[str, Json]) -> dict[str, Json]:
    node = resolve(schema, defs)
    props = node.get("properties") or {}
    if key in props:
        return props[key]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else {}


def strategic_merge(original: Json, patch: Json, schema: Json, defs: dict[str, Json]) -> Json:
    """Apply a strategic merge patch to ``original`` under ``schema``."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(original) if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    orders: dict[str, list[Json]] = {}
    deletions: dict[str, list[Json]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            deletions[key.split("/", 1)[1]] = value
            continue
        if value is None:
            result.pop(key, None)
            continue
        sub = _field_schema(schema, key, defs)
        if isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, sub, defs)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, sub, defs)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    for key, values in deletions.items():
        if isinstance(result.get(key), list):
            result[key] = [v for v in result[key] if v not in values]
    for key, order in orders.items():
        if isinstance(result.get(key), list):
            sub = resolve(_field_schema(schema, key, defs), defs)
            result[key] = _reorder(result[key], order, sub.get("x-kubernetes-patch-merge-key"))
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: Json, patch: list[Json], schema: Json, defs: dict[str, Json]) -> list[Json]:
    node = resolve(schema, defs)
    if node.get("x-kubernetes-patch-strategy", "").find("merge") < 0 or not isinstance(original, list):
        if node.get("x-kubernetes-patch-strategy", "").find("merge") >= 0:
            original = []
        else:
            return [_strip(v) for v in patch]
    key = node.get("x-kubernetes-patch-merge-key")
    items = node.get("items") or {}
    if key is None:  # a list of scalars merges as a set, in order
        if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
            return [v for v in patch if not isinstance(v, dict)]
        out = list(original)
        out.extend(v for v in patch if v not in out)
        return out
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [_strip(v) for v in patch if not (isinstance(v, dict) and v.get("$patch") == "replace")]
    out = [copy.deepcopy(v) for v in original]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"map: {item!r} does not contain declared merge key: {key}")
        at = next((i for i, v in enumerate(out) if isinstance(v, dict) and v.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                out.pop(at)
        elif at is None:
            out.append(_strip(item))
        else:
            out[at] = strategic_merge(out[at], item, items, defs)
    return out


def _strip(value: Json) -> Json:
    """A patch value added as is, without its directives."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return copy.deepcopy(value)


def _reorder(items: list[Json], order: list[Json], key: str | None) -> list[Json]:
    """``$setElementOrder``: items named by ``order`` first, in its order, the others after."""
    ident = (lambda v: v.get(key) if isinstance(v, dict) else v) if key else (lambda v: v)
    rank = {repr(ident(o) if key and isinstance(o, dict) else o): i for i, o in enumerate(order)}
    return sorted(items, key=lambda v: rank.get(repr(ident(v)), len(rank)))
