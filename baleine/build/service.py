"""The build backend (``engine.interface.build.BuildBackend``) over the Builder."""

from __future__ import annotations

import os
import secrets
from typing import Any

from .builder import BuildOptions, BuildResult, Builder, Emit


class BuildService:
    """Hands out context directories under ``tmp_dir`` and runs builds and cache prunes."""

    def __init__(self, builder: Builder, tmp_dir: str) -> None:
        self.builder = builder
        self.tmp_dir = tmp_dir

    def new_context(self) -> str:
        path = os.path.join(self.tmp_dir, "ctx-" + secrets.token_hex(8))
        os.makedirs(path)
        return path

    async def build(self, context_dir: str, opts: BuildOptions, emit: Emit) -> BuildResult:
        return await self.builder.build(context_dir, opts, emit)

    async def prune(self, prune_all: bool, keep_storage: int, until: float | None,
                    labels: Any = None) -> tuple[list[str], int]:
        return await self.builder.prune(prune_all, keep_storage, until, labels)

    def disk_usage(self) -> list[dict[str, Any]]:
        """``system df`` BuildCache entries."""
        return self.builder.disk_usage()
