"""The builder's own error."""

from __future__ import annotations

from ..rules.errors import EngineError


class BuildError(EngineError):
    """A build step failed. ``code`` is a RUN's exit code (errorDetail.code)."""

    status = 400

    def __init__(self, message: str, code: int = 0, tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.tail = tail or []
