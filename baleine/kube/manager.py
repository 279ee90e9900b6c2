"""The controller manager: starts every component of the cluster on one machine
(the controllers, the node agent, the service proxy, the cluster DNS) with one
:class:`Context`, and stops them in reverse order.

Each component module exposes ``async def start(ctx: Context) -> Component``
(anything with ``async stop()``). A component that needs the engine (the node
agent, the proxy) finds it in ``ctx.backends``; without an engine (the API server
alone, ``ctx.backends is None``) it returns :data:`NOTHING` and does nothing.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from ..engine.interface import Backends
    from .registry import Registry
    from .server import Target

log = logging.getLogger("baleine.kube")

#: The components, in start order (stopped in reverse).
COMPONENTS = (
    "baleine.kube.controllers.endpointslice",
    "baleine.kube.controllers.replicaset",
    "baleine.kube.controllers.deployment",
    "baleine.kube.controllers.job",
    "baleine.kube.controllers.cronjob",
    "baleine.kube.controllers.pvc",
    "baleine.kube.dns",
    "baleine.kube.proxy",
    "baleine.kube.kubelet",
    "baleine.kube.streams",
    "baleine.kube.metrics",
    "baleine.kube.controllers.hpa",
    "baleine.kube.ingress.controller",
)

#: A subresource handler: (request, target, context) -> response.
SubresourceHandler = Callable[["web.Request", "Target", "Context"], Awaitable["web.StreamResponse"]]


class Component(Protocol):
    async def stop(self) -> None: ...


class _Nothing:
    async def stop(self) -> None:
        return None


NOTHING: Component = _Nothing()


@dataclass
class Options:
    """What the daemon tells the cluster's components."""

    data_root: str = ""
    exec_root: str = ""
    node_name: str = ""
    cluster_domain: str = "cluster.local"
    #: Seconds between the HorizontalPodAutoscaler's syncs (``--hpa-sync-period``).
    hpa_sync_period: float = 15.0
    #: The Ingress controller's nginx image and host ports (``--ingress-*``).
    ingress_image: str = "nginx:1.22"
    ingress_http_port: int = 80
    ingress_https_port: int = 443
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Shared by every component: the registry, the engine's backends (None
    without an engine), the options, and the subresource handlers components
    register (``pods/log``, ``deployments/scale``...), which the server routes."""

    registry: Registry
    backends: Backends | None
    options: Options
    subresources: dict[tuple[str, str], SubresourceHandler] = field(default_factory=dict)
    #: Components by module name, once started (for components that talk to each other).
    components: dict[str, Any] = field(default_factory=dict)

    def register_subresource(self, resource: str, subresource: str, handler: SubresourceHandler) -> None:
        """Serve ``<resource>/<name>/<subresource>`` (``resource`` is the storage key) with ``handler``."""
        self.subresources[(resource, subresource)] = handler


class Manager:
    """The started components."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._started: list[tuple[str, Component]] = []

    async def start(self, modules: tuple[str, ...] = COMPONENTS) -> None:
        for name in modules:
            module = importlib.import_module(name)
            component = await module.start(self.ctx)
            self.ctx.components[name] = component
            self._started.append((name, component))

    async def stop(self) -> None:
        while self._started:
            name, component = self._started.pop()
            try:
                await component.stop()
            except Exception:  # noqa: BLE001 - the others must stop too
                log.exception("stopping %s failed", name)
