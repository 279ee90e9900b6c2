"""Liveness, readiness and startup probes of one container, with Kubernetes' semantics.

Contracts (being completed; the signatures are final): a :class:`Prober` runs the
container's probes from ``start()`` to ``stop()``; ``ready`` starts False (True at
once when there is no readiness probe), ``live`` and ``started`` start True
(``started`` False while a startup probe has not succeeded); ``on_change()`` is
called whenever one of them flips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]


class Prober:
    """The probes of one container (see the module's contracts)."""

    def __init__(self, ctx: Context, pod: Obj, container: Obj, container_id: str,
                 on_change: Callable[[], None]) -> None:
        self.ctx = ctx
        self.pod = pod
        self.container = container
        self.container_id = container_id
        self.on_change = on_change
        self.started = "startupProbe" not in container
        self.ready = "readinessProbe" not in container and self.started
        self.live = True

    def start(self) -> None:
        """Start probing (in tasks of the running loop)."""

    async def stop(self) -> None:
        """Stop probing."""
