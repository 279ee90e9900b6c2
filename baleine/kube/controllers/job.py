"""The job controller (not written yet: a stub that starts nothing)."""

from __future__ import annotations

from ..manager import NOTHING, Component, Context


async def start(ctx: Context) -> Component:
    return NOTHING
