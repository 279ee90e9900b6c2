"""The build backend (``engine.interface.build.BuildBackend``) over the Builder."""

from __future__ import annotations

import asyncio
from typing import Any

from .builder import BuildOptions, BuildResult, Builder, Emit
from .kept_contexts import KeptContexts


class BuildService:
    """Hands out context directories under ``tmp_dir`` (a successful build's kept for
    the next build of the same context: ``kept_contexts``) and runs builds and cache prunes."""

    def __init__(self, builder: Builder, tmp_dir: str) -> None:
        self.builder = builder
        self.tmp_dir = tmp_dir
        self.contexts = KeptContexts(tmp_dir)

    def new_context(self) -> str:
        return self.contexts.new_dir()

    async def context_from_tar(self, data: bytes, dockerfile: str) -> str:
        return await asyncio.to_thread(self.contexts.take, data, dockerfile)

    async def release_context(self, context_dir: str, keep: bool) -> None:
        await asyncio.to_thread(self.contexts.release, context_dir, keep)

    async def build(self, context_dir: str, opts: BuildOptions, emit: Emit) -> BuildResult:
        return await self.builder.build(context_dir, opts, emit, self.contexts.checksums(context_dir))

    async def prune(self, prune_all: bool, keep_storage: int, until: float | None,
                    labels: Any = None) -> tuple[list[str], int]:
        return await self.builder.prune(prune_all, keep_storage, until, labels)

    def disk_usage(self) -> list[dict[str, Any]]:
        """``system df`` BuildCache entries."""
        return self.builder.disk_usage()
