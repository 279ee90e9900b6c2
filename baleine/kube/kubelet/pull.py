"""``imagePullPolicy`` against the engine's image store and the distribution backend.

Contract of :func:`image_config`: ``Never`` uses the local image or waits with
``ErrImageNeverPull``; ``IfNotPresent`` pulls only a missing image; ``Always``
pulls every time. A failed pull sets the waiting reason ``ErrImagePull`` (events
``Failed``), and the next attempts wait with ``ImagePullBackOff`` for the
back-off (10 s doubling, as kubelet's image back-off). When ``Always`` cannot
reach a registry but the image is in the store, the local image is used (the
engine's store is this node's, and test machines reach no registry): logged,
not an error. Events are kubelet's: ``Pulling``, ``Pulled`` (``Successfully
pulled image …`` or ``Container image … already present on machine``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from .backoff import Backoff
from .status import Slot

if TYPE_CHECKING:
    from ..client import Client
    from ..manager import Context

Obj = dict[str, Any]
log = logging.getLogger("baleine.kube.kubelet")


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag or digest) of an image reference (``latest`` by default)."""
    if "@" in image:
        repo, digest = image.split("@", 1)
        return repo, digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, "latest"


def backoff_key(uid: str, container: str) -> str:
    return f"{uid}/{container}/pull"


async def _pull(ctx: Context, image: str) -> None:
    from ...distribution.auth import AuthConfig

    repo, tag = split_image(image)
    await ctx.backends.distribution.pull(repo, tag, None, AuthConfig(), lambda _m: None)


async def image_config(ctx: Context, client: Client, pod: Obj, slot: Slot, backoff: Backoff) -> Obj | None:
    """The image's config (Entrypoint, Cmd...) once available; None with ``slot.waiting`` set if not."""
    image = slot.spec["image"]
    policy = slot.spec.get("imagePullPolicy") or "IfNotPresent"
    images = ctx.backends.images
    present = None
    with contextlib.suppress(Exception):  # NotFound, or a reference the store refuses
        present = await images.inspect(image)
    if policy == "Never" and present is None:
        message = f'Container image "{image}" is not present with pull policy of Never'
        slot.waiting = ("ErrImageNeverPull", message)
        await client.event(pod, "Warning", "ErrImageNeverPull", message)
        return None
    if policy != "Always" and present is not None:
        await client.event(pod, "Normal", "Pulled", f'Container image "{image}" already present on machine')
        return present.container_config
    key = backoff_key(pod["metadata"]["uid"], slot.name)
    if slot.waiting and slot.waiting[0] in ("ErrImagePull", "ImagePullBackOff") and \
            backoff.waiting(key, slot.extra.get("pull_failed", 0.0)) > 0:
        slot.waiting = ("ImagePullBackOff", f'Back-off pulling image "{image}"')
        await client.event(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"')
        return None
    await client.event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
    started = time.monotonic()
    try:
        await _pull(ctx, image)
        pulled = await images.inspect(image)
    except Exception as exc:  # noqa: BLE001 - the registry's answer, whatever it is
        if present is None:
            backoff.next(key)
            slot.extra["pull_failed"] = time.monotonic()
            slot.waiting = ("ErrImagePull", str(exc))
            await client.event(pod, "Warning", "Failed", f'Failed to pull image "{image}": {exc}')
            await client.event(pod, "Warning", "Failed", "Error: ErrImagePull")
            return None
        log.info("pulling %s failed (%s); using the local image", image, exc)
        await client.event(pod, "Normal", "Pulled", f'Container image "{image}" already present on machine')
        return present.container_config
    took = time.monotonic() - started
    await client.event(pod, "Normal", "Pulled", f'Successfully pulled image "{image}" in {took:.3f}s '
                                               f"({took:.3f}s including waiting)")
    backoff.forget(key)
    return pulled.container_config
