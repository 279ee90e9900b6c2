"""Where COPY --from and RUN --mount=from read: another stage's or an image's root
filesystem, mounted as a read-only snapshot view for the time of the step.

Blocking helpers (``mount_view``, ``drop_view``, ``release_dir``) run in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from typing import TYPE_CHECKING

from ...engine.runtime import mounts as mounts_mod
from ..state import State

if TYPE_CHECKING:
    from ..builder import BuildRun


async def from_identity(b: BuildRun, ref: str, state: State) -> str:
    """What a ``--from`` source is, for cache keys: the stage's state ID or the image ID."""
    st = b.find_stage(ref)
    if st is not None:
        return (await b.stage_result(st.index)).id
    return (await b.image(ref)).id


@contextlib.asynccontextmanager
async def source_root(b: BuildRun, ref: str, state: State):  # noqa: ANN201 - async context manager
    """(root dir, description, keeps owners) of a copy source: the context, or a
    stage's / image's root filesystem mounted read-only."""
    if not ref:
        yield b.context_dir, "build context", False
        return
    st = b.find_stage(ref)
    if st is not None:
        top = (await b.stage_result(st.index)).top
        what = f"build stage {ref}"
    else:
        image = await b.image(ref)
        top = image.top_layer
        what = f"image {ref}"
    path = await asyncio.to_thread(mount_view, b, top)
    try:
        yield path, what, True
    finally:
        await asyncio.to_thread(drop_view, b, path)


def mount_view(b: BuildRun, top: str) -> str:
    """Mount a read-only view of the layer ``top``; return its mount point."""
    snapshots = b.builder.snapshots
    key = snapshots.new_key("v")
    try:
        mounts_mod.mount_all(snapshots.view(key, top), snapshots.mountpoint(key))
    except BaseException:
        snapshots.remove(key)
        raise
    return snapshots.mountpoint(key)


def drop_view(b: BuildRun, path: str) -> None:
    """Drop a view :func:`mount_view` made (``path`` is its mount point)."""
    b.builder.snapshots.remove(os.path.basename(os.path.dirname(path)))


def release_dir(path: str) -> None:
    """Unmount what is mounted under a scratch directory, then delete it."""
    mounts_mod.unmount_all(path)
    shutil.rmtree(path, ignore_errors=True)
