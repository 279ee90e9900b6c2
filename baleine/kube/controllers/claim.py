"""Adoption and release: which objects a controller owns (``controller.ControllerRefManager``).

Contract of :func:`claim`: of ``candidates`` (objects of ``resource`` in the
owner's namespace), the owner keeps those it controls that still match its
selector, *releases* those it controls that no longer match (its
ownerReference removed), and *adopts* orphans (no controller at all) that match,
unless it is being deleted. Objects controlled by someone else are never
touched. A write that loses a race (409, 404) skips that object: the next
reconcile sees the new state.
"""

from __future__ import annotations

from typing import Any

from ..client import Client, controller_of, labels_match, owner_reference
from ..status import APIError

Obj = dict[str, Any]


async def claim(client: Client, resource: str, owner: Obj, selector: Obj | None, candidates: list[Obj]) -> list[Obj]:
    """The objects ``owner`` controls after adoption and release (see the module's contract)."""
    uid = owner["metadata"]["uid"]
    deleting = bool(owner["metadata"].get("deletionTimestamp"))
    owned: list[Obj] = []
    for obj in candidates:
        if obj["metadata"].get("deletionTimestamp") and controller_of(obj) is None:
            continue
        ref = controller_of(obj)
        matches = bool(selector) and labels_match(selector, obj["metadata"].get("labels"))
        if ref is not None and ref.get("uid") == uid:
            if matches or obj["metadata"].get("deletionTimestamp"):
                owned.append(obj)
            else:
                await _set_refs(client, resource, obj, [r for r in obj["metadata"].get("ownerReferences") or []
                                                        if r.get("uid") != uid])
        elif ref is None and matches and not deleting:
            adopted = await _set_refs(client, resource, obj,
                                      [*(obj["metadata"].get("ownerReferences") or []), owner_reference(owner)])
            if adopted is not None:
                owned.append(adopted)
    return owned


async def _set_refs(client: Client, resource: str, obj: Obj, refs: list[Obj]) -> Obj | None:
    obj["metadata"]["ownerReferences"] = refs
    if not refs:
        del obj["metadata"]["ownerReferences"]
    try:
        return await client.update(resource, obj)
    except APIError as exc:
        if exc.code in (404, 409):
            return None
        raise
