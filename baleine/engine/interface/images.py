"""The images backend: what the Engine API's image endpoints (and any other client)
may ask of the image store.

Every method is async and does its own threading (tar, hashing and directory
removal run in worker threads), publishes the events docker would, and applies
moby's rules (filters, delete conflicts, prune accounting). Errors are those of
:mod:`baleine.rules.errors`: ``NotFound`` for an unknown name, ``InvalidParameter``
for a malformed one or a bad filter, ``Conflict`` with docker's wording when an
image in use cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from ...rules.filters import Filters
from ..images.records import Image


@dataclass
class ListedImage:
    """One ``GET /images/json`` entry: the image, and how many containers use it
    (-1 when not counted: docker counts only when asked for shared sizes)."""

    image: Image
    containers: int = -1


@dataclass
class ImagePruneReport:
    """``POST /images/prune``'s answer: docker's ``ImagesDeleted`` items and the bytes
    whose layers were actually removed."""

    deleted: list[dict[str, str]]
    reclaimed: int


@dataclass
class ImageCounts:
    """What ``GET /info`` and ``GET /system/df`` count of images."""

    images: int


class Writable(Protocol):
    """A blocking byte sink (written from a worker thread), e.g. an HTTP body writer."""

    def write(self, data: bytes) -> Any: ...

    def flush(self) -> Any: ...


class ImagesBackend(Protocol):
    """See the module docstring."""

    async def list_images(self, filters: Filters, show_all: bool = False, legacy_reference: str = "",
                   with_containers: bool = False) -> list[ListedImage]:
        """Images newest first, filtered as ``docker images`` does.

        ``filters`` holds before, dangling, label, reference, since, until
        (InvalidParameter for another one); ``legacy_reference`` is the old ``filter``
        query parameter. Without ``show_all`` intermediate images (untagged parents)
        are hidden. A ``reference`` filter also narrows each image's tags and digests
        to the matching ones.
        """
        ...

    async def inspect(self, name: str) -> Image:
        """The image ``name`` designates (ID, short ID, tag or digest reference)."""
        ...

    async def history(self, name: str) -> list[dict[str, Any]]:
        """``docker history`` entries in the API's shape, newest first."""
        ...

    async def tag(self, name: str, repo: str, tag: str) -> None:
        """Point ``repo[:tag]`` at the image ``name``; publishes the ``tag`` event.

        InvalidParameter for an empty ``repo`` or a digest reference.
        """
        ...

    async def delete(self, name: str, force: bool = False, prune: bool = True) -> list[dict[str, str]]:
        """Untag or delete as moby's ``ImageDelete``; return its ``Untagged``/``Deleted`` items.

        Publishes one ``untag`` per ``Untagged`` item and one ``delete`` per
        ``Deleted`` item, named by the image ID each belongs to. Unused layers are
        removed before returning, off the event loop.
        """
        ...

    async def prune(self, filters: Filters) -> ImagePruneReport:
        """Delete unused images (dangling only unless ``dangling=false``), skipping
        those with children or containers; filters dangling, label, label!, until.
        Publishes the ``prune`` event with the bytes reclaimed."""
        ...

    async def load(self, stream: BinaryIO) -> list[str]:
        """Load a ``docker save`` or OCI archive read (blocking) from ``stream``.

        Returns the "Loaded image…" lines; publishes one ``load`` event per image.
        """
        ...

    async def save(self, names: list[str], start: Callable[[], Awaitable[Writable]]) -> None:
        """Write the images ``names`` as a ``docker save`` archive.

        Every name is resolved first (NotFound before ``start`` is called, so before
        any byte is sent); then ``start()`` gives the sink. Publishes ``save`` events
        once the archive is complete. A sink that fails (client gone) ends it quietly.
        """
        ...

    async def import_(self, stream: BinaryIO, repo: str, tag: str, message: str,
                      changes: list[str]) -> Image:
        """``docker import``: one layer from a tarball; publishes ``import``."""
        ...

    async def commit(self, container: str, repo: str, tag: str, comment: str, author: str,
                     changes: list[str], overrides: dict[str, Any], pause: bool = True) -> Image:
        """``docker commit``: an image of the container's changes.

        A running container is paused through the lifecycle for the copy (and resumed
        however it ends) when ``pause``; publishes the container's ``commit`` event.
        """
        ...

    async def counts(self) -> ImageCounts:
        """Image counts for ``info`` and ``system df``."""
        ...
