"""What the classic builder keeps of a failed RUN: its container, for debugging.

dockerd's legacy builder removes a step's container after the step succeeds
(``--rm``, the default) or always (``--force-rm``); a RUN that exits non-zero
without ``--force-rm`` leaves its container behind (moby's ``dispatch``: the
container manager's ``RemoveAll`` runs on success or with ``ForceRemove``
only), exited with the command's code, so that ``docker cp``/``commit``/``start``
can look at what the command did. A RUN whose process could not start at all
leaves a "created" container with the runtime's error.

Baleine runs RUN steps as bare runc containers on a work area and records no
intermediate images, so keeping one takes two things, done only when a RUN
fails (a successful build leaves nothing new):

* the parent step as an image: the base image itself when the state is still
  the base's config, else the state committed as an untagged image (its layers
  are committed already; only the config is written);
* a registered container of that image (``Lifecycle.create_exited``, the
  builder's ``keep_failed`` hook) adopting the work area's upper directory as its
  writable layer: the work area is a container layer already (init layer below,
  the parent's layers under it), so the RUN's writes are kept as they are.

Either both exist afterwards or neither: an image made here is deleted again
when the container cannot be registered. Failures to keep are logged, never
raised: the build's own error is what the client must see.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..engine.runtime import mounts
from .fsops import WorkArea
from .state import State

if TYPE_CHECKING:
    from .builder import BuildRun

log = logging.getLogger("baleine.build")


@dataclass
class FailedRun:
    """A RUN that exited non-zero: its container ID, command, the environment it
    ran with (the state's plus build arguments), when it started and its exit code;
    ``error`` is the runtime's when the process could not start at all (moby keeps
    that container too, "created" with the error)."""

    cid: str
    cmd: list[str]
    env: list[str]
    started_at: str
    code: int
    error: str = ""


def should_keep(b: BuildRun) -> bool:
    """Whether a failed RUN's container is kept: not with ``--force-rm``, and only
    when the engine registers containers for the builder."""
    return not b.opts.force_remove and b.builder.keep_failed is not None


async def keep(b: BuildRun, state: State, area: WorkArea, run: FailedRun) -> str | None:
    """Register ``run``'s container over ``state`` with ``area``'s changes; its ID,
    or None when it could not be kept (logged; the caller discards ``area``)."""
    hook = b.builder.keep_failed
    assert hook is not None
    try:
        parent, made = await asyncio.to_thread(parent_image, b, state)
    except Exception:  # noqa: BLE001 - keeping is best effort; the build's error matters
        log.warning("a failed RUN's parent could not be saved as an image", exc_info=True)
        return None
    try:
        await asyncio.to_thread(mounts.unmount_all, area.merged)
        # On the loop, as every container create is (name checks and records must not interleave).
        c = hook(container_body(b, parent, run), run.cid, area.upper, run.code, run.started_at, run.error)
    except Exception:  # noqa: BLE001
        log.warning("a failed RUN's container could not be kept", exc_info=True)
        if made:
            await asyncio.to_thread(_drop_image, b, parent)
        return None
    return str(c.id)


def parent_image(b: BuildRun, state: State) -> tuple[str, bool]:
    """The ID of the image ``state`` is (the base image's own when unchanged) and
    whether this call created it. Blocking."""
    base = b.base_images.get(state.id)
    images = b.builder.images
    if base is not None and images.exists(base):
        return base, False
    existed = images.exists(state.id)
    image = images.create(state.config)
    return image.id, not existed


def container_body(b: BuildRun, parent: str, run: FailedRun) -> dict[str, Any]:
    """The create body of the kept container: the parent image with the RUN's
    command (the image's entrypoint reset, as moby's RUN does) and environment,
    on the build's network mode when it names one a container can keep."""
    network = b.opts.network
    if network in ("", "bridge") or network.startswith("container:"):
        network = "default"
    return {"Image": parent, "Cmd": list(run.cmd), "Entrypoint": [""], "Env": list(run.env),
            "HostConfig": {"NetworkMode": network}}


def _drop_image(b: BuildRun, image_id: str) -> None:
    try:
        b.builder.images.delete(image_id, force=False, prune=False)
    except Exception:  # noqa: BLE001
        log.warning("could not delete the image %s made for a failed RUN", image_id, exc_info=True)


__all__ = ["FailedRun", "keep", "parent_image", "should_keep"]
