"""Samples the resource usage of the pods' containers and of the node, for the Metrics API.

Contracts:

- :class:`Sampler` (``start()``/``stop()``) lists the running pod containers through
  ``ctx.backends.containers`` every ``interval`` seconds and takes one Docker stats
  frame of each (the engine reads cgroup files in a thread; nothing blocks the loop);
- :meth:`Sampler.pod` gives a pod's containers' usage: CPU in cores as the rate of
  the cgroup CPU counter between the last two samples, memory as the working set
  (usage minus inactive file pages), with the sample's time and window; None until a
  container has two samples (a rate needs a window, as metrics-server);
- :meth:`Sampler.node` gives the host's CPU (``/proc/stat``) and memory
  (``MemTotal - MemAvailable``) the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..rules.filters import Filters
from ..rules.usage import cpu_counter, cpu_rate, working_set
from .kubelet import names

if TYPE_CHECKING:
    from .manager import Context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    """One container's (or the node's) usage: cores, working-set bytes, when, over what window (s)."""

    cpu: float
    memory: int
    timestamp: float
    window: float


def read_node_counters() -> tuple[float, int]:
    """(busy CPU seconds since boot, memory in use in bytes) of the host (blocking: call in a thread)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    busy = (sum(values[:8]) - idle) / 100.0  # USER_HZ
    info: dict[str, int] = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            info[key] = int(rest.split()[0]) * 1024
    return busy, info.get("MemTotal", 0) - info.get("MemAvailable", 0)


class Sampler:
    """Keeps the last two samples of every running pod container and of the node."""

    def __init__(self, ctx: Context, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval
        #: container id -> (time, cpu ns counter, working set, pod key, container name)
        self._last: dict[str, tuple[float, int, int, tuple[str, str], str]] = {}
        self._usage: dict[tuple[str, str], dict[str, Usage]] = {}
        self._node_last: tuple[float, float] | None = None
        self._node: Usage | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def pod(self, namespace: str, name: str) -> dict[str, Usage] | None:
        """Usage by container name of a pod, None when not (yet) measured."""
        return self._usage.get((namespace, name)) or None

    def node(self) -> Usage | None:
        return self._node

    async def _run(self) -> None:
        while True:
            try:
                await self.sample_once()
            except Exception:  # noqa: BLE001 - a failed round must not end sampling
                log.exception("metrics sampling failed")
            await asyncio.sleep(self.interval)

    async def sample_once(self) -> None:
        """One round: the node, then every running pod container."""
        await self._sample_node()
        if self.ctx.backends is None:
            return
        views = await self.ctx.backends.containers.list(
            Filters({"label": [f"{names.TYPE}={names.CONTAINER_TYPE}"]}), show_all=False, limit=0, size=False)
        usage: dict[tuple[str, str], dict[str, Usage]] = {}
        seen: set[str] = set()
        for view in views:
            c = view.container
            labels = c.config.get("Labels") or {}
            pod = (labels.get(names.POD_NAMESPACE, ""), labels.get(names.POD_NAME, ""))
            container = labels.get(names.CONTAINER_NAME, "")
            frame = await self._frame(c.id)
            if frame is None:
                continue
            seen.add(c.id)
            now = time.time()
            counter = cpu_counter(frame)
            memory = working_set(frame)
            previous = self._last.get(c.id)
            self._last[c.id] = (now, counter, memory, pod, container)
            rate = cpu_rate(previous[:2], (now, counter)) if previous is not None else None
            if rate is not None:
                assert previous is not None
                usage.setdefault(pod, {})[container] = Usage(rate, memory, now, now - previous[0])
        for gone in set(self._last) - seen:
            del self._last[gone]
        self._usage = usage

    async def _frame(self, container_id: str) -> dict[str, Any] | None:
        assert self.ctx.backends is not None
        try:
            frames = await self.ctx.backends.containers.stats(container_id, stream=False, one_shot=True,
                                                              closed=lambda: False)
            async for frame in frames:
                return frame
        except Exception:  # noqa: BLE001 - the container went away meanwhile
            return None
        return None

    async def _sample_node(self) -> None:
        busy, memory = await asyncio.to_thread(read_node_counters)
        now = time.time()
        if self._node_last is not None and now > self._node_last[0]:
            window = now - self._node_last[0]
            self._node = Usage(max(0.0, busy - self._node_last[1]) / window, memory, now, window)
        self._node_last = (now, busy)
