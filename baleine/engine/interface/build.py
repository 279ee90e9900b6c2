"""The build backend: classic ``docker build`` and the build cache.

``build`` consumes a context directory it hands out itself (``new_context``), emits
progress events through ``emit`` (on the event loop's thread) and returns the built
image; Dockerfile and option errors raise before any step runs, step failures raise
``BuildError``. Layers of a build in progress are pinned: the collector keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class BuildBackend(Protocol):
    """See the module docstring."""

    def new_context(self) -> str:
        """A new empty directory (on the data root's filesystem) to unpack a context into."""
        ...

    async def context_from_tar(self, data: bytes, dockerfile: str) -> str:
        """A directory holding the context tar ``data`` unpacked, for a build reading
        the Dockerfile ``dockerfile``: maybe the one a build of the same bytes left."""
        ...

    async def release_context(self, context_dir: str, keep: bool) -> None:
        """Done with a context directory: kept for a build of the same context when
        ``keep`` (the build succeeded) and it came from ``context_from_tar``, else removed."""
        ...

    async def build(self, context_dir: str, opts: Any, emit: Callable[[dict[str, Any]], None]) -> Any:
        """Build from ``context_dir`` (its ``.dockerignore`` is applied there) with ``opts``
        (``baleine.build.builder.BuildOptions``); return its ``BuildResult``. The caller
        gives the directory back with ``release_context``."""
        ...

    async def prune(self, prune_all: bool, keep_storage: int, until: float | None,
                    labels: Any = None) -> tuple[list[str], int]:
        """Remove cache entries (least recently used first) and the layers only they
        kept; return the removed entries' keys and the bytes reclaimed. ``labels``
        (``rules.filters.Filters``): only entries its ``label``/``label!`` select."""
        ...
