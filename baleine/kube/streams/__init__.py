"""The streams component: ``kubectl logs``, ``exec``, ``attach`` (and ``run -i``) and
``port-forward`` against pods whose containers are Baleine containers.

It registers the ``pods`` subresources ``log`` (``logs``), ``exec`` and ``attach``
(``execs``, over ``session`` and the channel protocols of ``kube/channels.py``) and
``portforward`` (``portforward``, SPDY/3.1 from ``spdy`` tunnelled through a
WebSocket); ``pods`` finds a pod's containers by the node agent's labels. It
reaches the engine only through ``ctx.backends`` (containers: list, logs, attach,
resize; exec: create, start_attached, resize, inspect). Without an engine it
registers nothing (the subresources are then 404). Stopping it closes the
sessions still open.
"""

from __future__ import annotations

import functools

from ..manager import NOTHING, Component, Context
from . import execs, logs, portforward
from .session import Sessions


class Streams:
    """The started component: its open sessions."""

    def __init__(self) -> None:
        self.sessions = Sessions()

    async def stop(self) -> None:
        await self.sessions.stop()


async def start(ctx: Context) -> Component:
    if ctx.backends is None or ctx.backends.containers is None:
        return NOTHING
    streams = Streams()
    ctx.register_subresource("pods", "log", logs.serve)
    ctx.register_subresource("pods", "exec", functools.partial(execs.serve_exec, streams.sessions))
    ctx.register_subresource("pods", "attach", functools.partial(execs.serve_attach, streams.sessions))
    ctx.register_subresource("pods", "portforward", functools.partial(portforward.serve, streams.sessions))
    return streams
