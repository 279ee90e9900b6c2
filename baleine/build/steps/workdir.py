"""WORKDIR: the new working directory, and a layer only when it has to be created
(owned by the current USER).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .. import fsops, metadata
from ...engine.images.snapshots import Layer
from ...engine.runtime import users
from ..instructions import ValueInstr
from ..planner import Step
from ..state import State

if TYPE_CHECKING:
    from ..builder import BuildRun


async def workdir(b: BuildRun, state: State, instr: ValueInstr, step: Step) -> tuple[State, bool]:
    """WORKDIR ``instr`` from ``state``: (new state, whether it came from the cache)."""
    env = state.expand_env()
    value = b.expand(instr.value, env)
    wd = metadata.workdir(state.cfg.get("WorkingDir") or "/", value)
    user = state.cfg.get("User") or ""
    desc = f"WORKDIR {wd}"
    key = b.key(state, "WORKDIR", wd, user)
    hit = b.lookup(key)
    if hit is not None:
        hit.args, hit.cmd_set = state.args, state.cmd_set
        return hit, True
    new = state.clone()
    new.cfg["WorkingDir"] = wd

    def work() -> Layer | None:
        area = b.builder.layers.open(state.top)
        try:
            rootfs = fsops.RootFS(area.merged)
            if rootfs.is_dir(wd):
                b.builder.layers.discard(area)
                return None
            uid = gid = 0
            if user:
                u = users.resolve_user(area.merged, user)
                uid, gid = u.uid, u.gid
            rootfs.mkdir_all(wd, uid, gid)
        except BaseException:
            b.builder.layers.discard(area)
            raise
        return b.builder.layers.commit(area)

    layer = await asyncio.to_thread(work)
    b.add_layer(new, layer, desc)
    await asyncio.to_thread(b.record, key, new, desc, layer.size if layer else 0)
    return new, False
