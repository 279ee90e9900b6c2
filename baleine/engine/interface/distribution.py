"""The distribution backend: pull, push, login and remote inspection.

Progress goes to ``sink`` (called on the event loop's thread) as docker's JSON
messages. Errors raise: before the first message they are the HTTP error, after it
the caller reports them in the stream. Cancelling the call cancels the transfer
and leaves nothing half-recorded (a failed pull's downloads are collected).
"""

from __future__ import annotations

from typing import Any, Protocol

from ...distribution.auth import AuthConfig
from ...distribution.progress import Sink


class DistributionBackend(Protocol):
    """See the module docstring."""

    async def pull(self, from_image: str, tag: str, platform: str | None, auth: AuthConfig, sink: Sink) -> str:
        """Pull ``from_image``/``tag`` (a tag, a digest, or every tag when neither is
        given); return the familiar reference pulled. Publishes ``pull``."""
        ...

    async def push(self, name: str, tag: str, auth: AuthConfig, sink: Sink) -> None:
        """Push a local image (every tag of the repository when ``tag`` is empty)."""
        ...

    async def login(self, auth: AuthConfig) -> dict[str, str]:
        """Check credentials against a registry: ``{"Status": ..., "IdentityToken": ...}``."""
        ...

    async def inspect(self, name: str, auth: AuthConfig) -> dict[str, Any]:
        """``GET /distribution/{name}/json``: the remote descriptor and platforms."""
        ...
