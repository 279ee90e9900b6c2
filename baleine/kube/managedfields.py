"""Field ownership of server-side apply, simplified: which fields each apply manager set.

Sets are kept in ``metadata.managedFields[].fieldsV1`` in Kubernetes' FieldsV1
form (``{"f:data": {"f:a": {}}}``). Maps are followed key by key; anything else
(scalars, lists) is one leaf, owned whole. When a manager applies again, the
leaves it owned before, no longer applies, and no other manager owns are
removed from the object: ``kubectl apply --server-side`` of a manifest without
a key deletes it. Conflicts between managers are not detected (``force`` is
accepted and changes nothing).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
Path = tuple[str, ...]
_SKIPPED = {"apiVersion", "kind"}
_META_OWNED = {"labels", "annotations"}


def fields_of(applied: Obj) -> Obj:
    """The FieldsV1 set of an applied configuration."""
    def walk(value: Any, top: bool = False, meta: bool = False) -> Obj:
        out: Obj = {}
        if not isinstance(value, dict):
            return out
        for key, item in value.items():
            if top and key in _SKIPPED or meta and key not in _META_OWNED:
                continue
            sub = walk(item, meta=top and key == "metadata")
            if top and key == "metadata" and not sub:
                continue  # name and namespace identify the object: nobody owns them
            out[f"f:{key}"] = sub
        return out
    return walk(applied, top=True)


def leaves(fields: Obj, prefix: Path = ()) -> set[Path]:
    """Every path of a FieldsV1 set that has no children."""
    out: set[Path] = set()
    for key, sub in fields.items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        out |= leaves(sub, path) if sub else {path}
    return out


def _covered(path: Path, owned: set[Path]) -> bool:
    """``path`` or one of its ancestors or descendants is owned."""
    return any(p[:len(path)] == path or path[:len(p)] == p for p in owned)


def released(before: Obj, after: Obj, others: list[Obj]) -> list[Path]:
    """Leaves a manager owned ``before``, not ``after``, and nobody else owns: to remove."""
    kept = leaves(after)
    for other in others:
        kept |= leaves(other)
    return sorted(p for p in leaves(before) if not _covered(p, kept))


def remove(obj: Obj, paths: list[Path]) -> None:
    """Delete each path from ``obj`` (in place); maps left empty by it stay."""
    for path in paths:
        cur: Any = obj
        for part in path[:-1]:
            cur = cur.get(part) if isinstance(cur, dict) else None
        if isinstance(cur, dict):
            cur.pop(path[-1], None)
