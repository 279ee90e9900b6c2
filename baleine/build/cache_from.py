"""``--cache-from`` for the classic builder: images named there stand in for steps
whose results are not in the build cache (moby's ``ImageCache.GetCache`` over its
sources). A source matches a step when its history and layers start with the
state's and its next history entry was made by the same instruction; the step's
result is then the state with that entry and its layer (the layer is the source
image's own, already local).
"""

from __future__ import annotations

import copy
from typing import Any

from .state import State


def next_step(sources: list[dict[str, Any]], config: dict[str, Any], created_by: str) -> State | None:
    """The state after the step ``created_by`` from ``config``, as the first matching
    source image config made it; None when none matches."""
    history = config.get("history") or []
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    for src in sources:
        src_history = src.get("history") or []
        src_diff_ids = (src.get("rootfs") or {}).get("diff_ids") or []
        if len(src_history) <= len(history) or src_diff_ids[:len(diff_ids)] != diff_ids:
            continue
        if [_shape(h) for h in src_history[:len(history)]] != [_shape(h) for h in history]:
            continue
        entry = src_history[len(history)]
        if entry.get("created_by") != created_by:
            continue
        out = copy.deepcopy(config)
        if not entry.get("empty_layer"):
            if len(src_diff_ids) <= len(diff_ids):
                continue
            out.setdefault("rootfs", {"type": "layers", "diff_ids": []})
            out["rootfs"]["diff_ids"] = list(diff_ids) + [src_diff_ids[len(diff_ids)]]
        out["history"] = copy.deepcopy(history) + [copy.deepcopy(entry)]
        if entry.get("created"):
            out["created"] = entry["created"]
        return State(out)
    return None


def _shape(entry: dict[str, Any]) -> tuple[str, bool]:
    """What makes two history entries the same step (moby compares these, not times)."""
    return entry.get("created_by") or "", bool(entry.get("empty_layer"))
