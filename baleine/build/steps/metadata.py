"""Metadata instructions (ENV, LABEL, CMD, ENTRYPOINT, ARG, MAINTAINER...): a new config
and an ``empty_layer`` history entry, cached like the other steps.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .. import metadata as image_config
from ..instructions import ArgInstr, Instruction, MaintainerInstr
from ..state import State, platform_args

if TYPE_CHECKING:
    from ..builder import BuildRun


async def metadata(b: BuildRun, state: State, instr: Instruction) -> tuple[State, bool]:
    """A metadata ``instr`` from ``state``: (new state, whether it came from the cache)."""
    new = state.clone()
    if isinstance(instr, ArgInstr):
        parts = []
        for decl in instr.args:
            key = decl.key
            b.used_args.add(key)
            value: str | None
            given = b.opts.build_args.get(key)
            if key in b.opts.build_args and given is not None:
                value = given
            elif decl.default is not None:
                value = b.expand(decl.default, new.expand_env())
            elif key in b.meta:
                value = b.meta[key]
            elif key in platform_args():
                value = platform_args()[key]
            else:
                value = None
            new.args[key] = value
            parts.append(f"{key}={value}" if value is not None else key)
        desc = "ARG " + " ".join(parts)
    elif isinstance(instr, MaintainerInstr):
        new.config["author"] = instr.maintainer
        desc = f"MAINTAINER {instr.maintainer}"
    else:
        flags = image_config.Flags(new.cmd_set)
        desc = image_config.apply(new.cfg, instr, state.expand_env(), b.lex, flags)
        new.cmd_set = flags.cmd_set
    key = b.key(state, "meta", desc, sorted(new.args.items(), key=lambda kv: kv[0]) if isinstance(
        instr, ArgInstr) else None)
    hit = b.lookup(key)
    if hit is not None:
        hit.args, hit.cmd_set = new.args, new.cmd_set
        return hit, True
    b.history(new, desc, empty=True)
    await asyncio.to_thread(b.record, key, new, desc)
    return new, False
