"""The image a container list shows for each container (dockerd's rule in its
``Containers`` list): the name it was created from while that name still designates
the container's image, else the image ID (after ``rmi -f`` of the tag, or once the
tag names another image), so a listing never points at the wrong image."""

from __future__ import annotations

from typing import Any

from ...rules.errors import EngineError
from .records import Container


class ImageNames:
    """Resolves the names of one listing, each name once (``images`` is the engine's
    image records: ``resolve_id(name) -> id | None``)."""

    def __init__(self, images: Any) -> None:
        self.images = images
        self._ids: dict[str, str | None] = {}

    def of(self, c: Container) -> str:
        """``Config.Image`` if it still resolves to ``c``'s image, else its image ID."""
        name = c.config.get("Image") or ""
        image_id = c.doc.get("Image") or ""
        if not name or not image_id or name == image_id:
            return name or image_id
        if name not in self._ids:
            self._ids[name] = self._resolve(name)
        return name if self._ids[name] == image_id else image_id

    def _resolve(self, name: str) -> str | None:
        try:
            return self.images.resolve_id(name)
        except EngineError:  # a malformed reference designates nothing
            return None
