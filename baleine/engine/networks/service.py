"""The networks backend (``engine.interface.networks.NetworksBackend``) over the
network manager and the container records."""

from __future__ import annotations

from typing import Any

from ...rules.errors import InvalidParameter, NotFound
from ...rules.filters import Filters


def _container_ref(ref: str) -> str:
    if not ref:
        raise InvalidParameter("container is required")
    return ref


class NetworksService:
    """Implements ``NetworksBackend`` for one engine (its ``networks``, ``containers``)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def list(self, filters: Filters) -> list[dict[str, Any]]:
        nets = self.engine.networks
        return [nets.summary(n) for n in nets.filter(filters)]

    async def inspect(self, ref: str, scope: str | None = None) -> dict[str, Any]:
        nets = self.engine.networks
        net = nets.get(ref)
        if scope and scope != "local":
            raise NotFound(f"network {ref} not found")
        return nets.inspect(net)

    async def create(self, body: dict[str, Any]) -> str:
        return (await self.engine.networks.create(body)).id

    async def remove(self, ref: str) -> None:
        await self.engine.networks.remove(ref)

    async def connect(self, ref: str, container_ref: str, endpoint: dict[str, Any] | None) -> None:
        c = self.engine.containers.get(_container_ref(container_ref))
        await self.engine.networks.connect(ref, c, endpoint)

    async def disconnect(self, ref: str, container_ref: str, force: bool) -> None:
        c = self.engine.containers.get(_container_ref(container_ref))
        await self.engine.networks.disconnect(ref, c, force)

    async def prune(self, filters: Filters) -> list[str]:
        return await self.engine.networks.prune(filters)

    async def balancers(self) -> list[dict[str, Any]]:
        return self.engine.balancer.describe()
