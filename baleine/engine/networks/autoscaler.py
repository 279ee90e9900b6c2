"""Autoscaled balanced groups: Kubernetes' HPA algorithm over a group's members.

A balanced group (``balancer``) whose newest member carries ``io.baleine.autoscale``
(``autoscalerules``; compose's ``x-baleine-autoscale``) is resized every ``period``
seconds (the daemon's ``--hpa-sync-period``) the way the HorizontalPodAutoscaler
resizes a Deployment (``kube/controllers/hpa.py`` does the same with Kubernetes
objects; both run :mod:`baleine.rules.autoscaling`):

- each running member's CPU use is the rate of its cgroup CPU counter between two
  syncs (Docker stats frames through the containers backend, :mod:`baleine.rules.usage`
  as the Metrics API's sampler); utilisation is against the label's request. Members
  not ready in the balancer are set aside as Kubernetes sets aside unready pods, a
  member without a rate yet counts as a pod without a metric;
- the recommendation (tolerance 0.1) is stabilised and rate-limited by the label's
  ``behavior`` (Kubernetes' defaults otherwise) and kept within ``[min, max]``; a
  group outside its bounds is brought back within them first;
- a group whose members carry different compose configuration hashes is being
  rolled out (or its rollout was paused): it is held at its size until they agree;
- **up**: the newest member is cloned (its configuration as inspected: config, host
  config, its networks' aliases) under the next free compose number, named
  ``<project>-<service>-<n>``, and started; the balancer sends it traffic once
  ready. **down**: the highest-numbered members are stopped (the lifecycle drains
  them from the balancer first) and removed, in the background.

Every rescale is published as a ``container`` event ``autoscale`` (attributes
``group``, ``from``, ``to``) besides the members' own create/start/destroy events.
:meth:`Autoscaler.status` is what ``GET /baleine/balancers`` shows under
``Autoscale``. The state (recommendations, rescale times, counters) is in memory
only: after a daemon restart a group starts afresh (the scale-down window seeded
with the current size, as a restarted controller does).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...rules import autoscaling as algo
from ...rules.errors import EngineError
from ...rules.usage import cpu_counter, cpu_rate
from ..containers.records import Container
from .autoscalerules import LABEL_AUTOSCALE, AutoscaleSpec, SpecError, parse_spec
from .balancer import Group, group_of

if TYPE_CHECKING:
    from ..interface.containers import ContainersBackend
    from .balancer import Balancer

log = logging.getLogger("baleine.autoscaler")

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_NUMBER = "com.docker.compose.container-number"
LABEL_CONFIG_HASH = "com.docker.compose.config-hash"
#: a group is left alone this long (at least two periods) after a member is created
SETTLE_SECONDS = 5.0
#: compose labels a clone must not inherit (it replaces nothing)
NOT_CLONED = ("com.docker.compose.replace",)


@dataclass
class GroupState:
    """What the autoscaler remembers of one group (in memory)."""

    scaling: algo.ScalingState = field(default_factory=algo.ScalingState)
    #: member id → (monotonic seconds, CPU counter ns) of the last sample
    counters: dict[str, tuple[float, int]] = field(default_factory=dict)
    #: members being stopped and removed (no longer counted)
    removing: set[str] = field(default_factory=set)
    spec: AutoscaleSpec | None = None
    current_cpu: int | None = None
    desired: int = 0
    last_scale: str = ""
    error: str = ""


def number_of(c: Container) -> int:
    """A member's compose container number (0 when it has none)."""
    try:
        return int((c.config.get("Labels") or {}).get(LABEL_NUMBER, "0"))
    except ValueError:
        return 0


def clone_body(c: Container, number: int) -> dict[str, Any]:
    """The ``ContainerCreate`` body of a new member like ``c``, numbered ``number``:
    its configuration without what the engine filled in for ``c`` itself (hostname,
    MAC and addresses, its own DNS names)."""
    body: dict[str, Any] = copy.deepcopy(c.config)
    if body.get("Hostname") == c.id[:12]:
        body["Hostname"] = ""
    body.pop("MacAddress", None)
    labels = dict(body.get("Labels") or {})
    for key in NOT_CLONED:
        labels.pop(key, None)
    if LABEL_NUMBER in labels:
        labels[LABEL_NUMBER] = str(number)
    body["Labels"] = labels
    body["HostConfig"] = copy.deepcopy(c.host_config)
    own = {c.name.lstrip("/").lower(), c.id[:12]}
    endpoints: dict[str, Any] = {}
    for name, ep in ((c.doc.get("NetworkSettings") or {}).get("Networks") or {}).items():
        entry: dict[str, Any] = {"Aliases": [a for a in ep.get("Aliases") or [] if a.lower() not in own] or None}
        if ep.get("DriverOpts"):
            entry["DriverOpts"] = dict(ep["DriverOpts"])
        endpoints[name] = entry
    if endpoints:
        body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return body


def settling(group: Group, seconds: float, now: float | None = None) -> bool:
    """Whether the group's newest container was created less than ``seconds`` ago."""
    newest = max((c.doc.get("Created") or "" for c in group.containers), default="")
    if not newest:
        return False
    try:
        created = datetime.datetime.fromisoformat(newest).timestamp()
    except ValueError:
        return False
    return (time.time() if now is None else now) - created < seconds


def rolling(group: Group, state: GroupState) -> bool:
    """Whether the group's containers (running or not, not being removed) carry more
    than one compose configuration hash: a rollout is under way or was paused."""
    hashes = {(c.config.get("Labels") or {}).get(LABEL_CONFIG_HASH, "")
              for c in group.containers if c.id not in state.removing}
    return len(hashes) > 1


def member_name(c: Container, group: str, number: int) -> str:
    """``<project>-<service>-<n>`` as compose names replicas (``<group>-<n>`` outside compose)."""
    labels = c.config.get("Labels") or {}
    if labels.get(LABEL_PROJECT) and labels.get(LABEL_SERVICE):
        return f"{labels[LABEL_PROJECT]}-{labels[LABEL_SERVICE]}-{number}"
    return f"{group}-{number}"


def _stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Autoscaler:
    """Resizes the autoscaled groups of one balancer (see module docstring)."""

    def __init__(self, balancer: Balancer, containers: ContainersBackend, period: float) -> None:
        self.balancer = balancer
        self.containers = containers
        self.period = max(0.1, float(period))
        self.states: dict[str, GroupState] = {}
        self._task: asyncio.Task[None] | None = None
        self._removals: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Sync every ``period`` seconds; the balancer shows :meth:`status` for each group."""
        self.balancer.annotate = self.status
        self._task = asyncio.create_task(self._run(), name="autoscaler")

    async def stop(self) -> None:
        """Stop syncing (removals under way are left to finish with the daemon's shutdown)."""
        for task in [self._task, *self._removals]:
            if task is not None:
                task.cancel()
        for task in [self._task, *self._removals]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _run(self) -> None:
        while True:
            try:
                await self.sync_once()
            except Exception:  # noqa: BLE001 - a failed round must not end autoscaling
                log.exception("autoscaler: sync failed")
            await asyncio.sleep(self.period)

    # -- one round --------------------------------------------------------------------------

    async def sync_once(self) -> None:
        """One sync of every autoscaled group; the state of gone groups is dropped."""
        seen = set()
        for group in self._groups():
            spec = self._spec(group)
            if spec is None:
                continue
            seen.add(group.name)
            state = self.states.setdefault(group.name, GroupState())
            state.spec = spec
            try:
                await self._sync(group, spec, state)
            except EngineError as exc:
                state.error = str(exc)
                log.warning("autoscaler: group %s: %s", group.name, exc)
        for name in set(self.states) - seen:
            del self.states[name]

    def _groups(self) -> list[Group]:
        """The groups as the container records say now (the balancer's view may lag a
        rewrite behind: a clone made in the last round must count)."""
        groups: dict[str, Group] = {}
        for c in list(self.balancer.containers.by_id.values()):
            name = group_of(c)
            if name:
                groups.setdefault(name, Group(name)).containers.append(c)
        return list(groups.values())

    def _spec(self, group: Group) -> AutoscaleSpec | None:
        if not group.containers:
            return None
        newest = max(group.containers, key=lambda c: c.doc.get("Created") or "")
        text = (newest.config.get("Labels") or {}).get(LABEL_AUTOSCALE, "")
        try:
            return parse_spec(text)
        except SpecError as exc:
            state = self.states.setdefault(group.name, GroupState())
            state.error = str(exc)
            return None

    async def _sync(self, group: Group, spec: AutoscaleSpec, state: GroupState) -> None:
        members = [c for c in group.containers if c.running and c.id not in state.removing]
        current = len(members)
        if current == 0:  # stopped by its owner: scaling is off, as for a target at 0 replicas
            state.desired, state.current_cpu, state.error = 0, None, ""
            return
        if rolling(group, state):
            # A rollout (compose's, member by member) owns the group's size until its
            # members run one configuration again: counting its surge replica as
            # excess would remove the new member, counting a stopped old one as
            # missing would clone the old configuration.
            state.desired, state.error = current, "held: a rollout is under way"
            return
        samples = await self._samples(members, spec, state)
        if settling(group, max(SETTLE_SECONDS, 2 * self.period)):
            # Its owner (compose up or scale) may still be making members under numbers
            # it chose: a clone now could take one. Measured, not resized.
            with contextlib.suppress(algo.MetricError):
                state.current_cpu = algo.utilization_replicas(samples, current, spec.cpu).utilization
            state.desired, state.error = current, ""
            return
        if current > spec.maximum:
            desired = spec.maximum
        elif current < spec.minimum:
            desired = spec.minimum
        else:
            try:
                recommendation = algo.utilization_replicas(samples, current, spec.cpu)
            except algo.MetricError as exc:
                state.error, state.desired = str(exc), current
                return
            state.current_cpu = recommendation.utilization
            up, down = spec.rules()
            desired = algo.normalize(state.scaling, time.monotonic(), current, recommendation.replicas,
                                     spec.minimum, spec.maximum, up, down).replicas
        state.error, state.desired = "", desired
        if desired != current:
            await self._rescale(group, members, current, desired, spec, state)

    async def _samples(self, members: list[Container], spec: AutoscaleSpec,
                       state: GroupState) -> list[algo.PodSample]:
        """Each member's CPU use in millicores since the last sync (None without one)."""
        samples = []
        for c in members:
            usage = None
            frame = await self._frame(c.id)
            if frame is not None:
                reading = (time.monotonic(), cpu_counter(frame))
                previous = state.counters.get(c.id)
                state.counters[c.id] = reading
                rate = cpu_rate(previous, reading) if previous is not None else None
                usage = rate * 1000 if rate is not None else None
            samples.append(algo.PodSample(c.id, usage, self.balancer.ready(c), spec.request_millicpu))
        alive = {c.id for c in members}
        for gone in set(state.counters) - alive:
            del state.counters[gone]
        return samples

    async def _frame(self, container_id: str) -> dict[str, Any] | None:
        try:
            frames = await self.containers.stats(container_id, stream=False, one_shot=True, closed=lambda: False)
            async for frame in frames:
                return frame
        except Exception:  # noqa: BLE001 - the member went away meanwhile
            return None
        return None

    # -- resizing ---------------------------------------------------------------------------

    async def _rescale(self, group: Group, members: list[Container], current: int, desired: int,
                       spec: AutoscaleSpec, state: GroupState) -> None:
        log.info("autoscaler: group %s from %d to %d members", group.name, current, desired)
        if desired > current:
            made = await self._grow(group, members, desired - current)
            new = current + made
        else:
            self._shrink(members, current - desired, state)
            new = desired
        if new == current:
            return
        up, down = spec.rules()
        algo.record_scale(state.scaling, time.monotonic(), current, new, up, down)
        state.last_scale = _stamp()
        newest = max(members, key=lambda c: c.doc.get("Created") or "")
        self.balancer.events.publish("container", "autoscale", newest.id, {
            "name": newest.name.lstrip("/"), "group": group.name, "from": str(current), "to": str(new)})

    async def _grow(self, group: Group, members: list[Container], count: int) -> int:
        """Clone the newest member ``count`` times; how many started (EngineError when none)."""
        model = max(members, key=lambda c: c.doc.get("Created") or "")
        taken = {number_of(c) for c in group.containers}
        names = {c.name.lstrip("/") for c in self.balancer.containers.by_id.values()}
        made, number, error = 0, 0, None
        while made < count:
            number += 1
            name = member_name(model, group.name, number)
            if number in taken or name in names:
                continue
            try:
                await self._add(model, number, name)
            except EngineError as exc:
                error = exc
                break
            made += 1
        if error is not None and not made:
            raise error
        return made

    async def _add(self, model: Container, number: int, name: str) -> None:
        cid, _ = await self.containers.create(clone_body(model, number), name)
        try:
            await self.containers.start(cid)
        except EngineError:
            with contextlib.suppress(EngineError):
                await self.containers.remove(cid, force=True, volumes=False)
            raise

    def _shrink(self, members: list[Container], count: int, state: GroupState) -> None:
        """Stop and remove the ``count`` highest-numbered members, in the background."""
        victims = sorted(members, key=lambda c: (number_of(c), c.doc.get("Created") or ""))[-count:]
        for c in victims:
            state.removing.add(c.id)
            task = asyncio.create_task(self._remove(c, state))
            self._removals.add(task)
            task.add_done_callback(self._removals.discard)

    async def _remove(self, c: Container, state: GroupState) -> None:
        try:
            await self.containers.stop(c.id, None, None)
            await self.containers.remove(c.id, force=True, volumes=False)
        except EngineError as exc:
            log.warning("autoscaler: removing %s: %s", c.name, exc)
        finally:
            state.removing.discard(c.id)

    # -- what the API shows ----------------------------------------------------------------

    def status(self, group: str) -> dict[str, Any] | None:
        """``Autoscale`` of a group in ``GET /baleine/balancers`` (None when not autoscaled)."""
        state = self.states.get(group)
        if state is None or state.spec is None:
            return None
        spec = state.spec
        return {"Min": spec.minimum, "Max": spec.maximum, "TargetCPU": spec.cpu, "CurrentCPU": state.current_cpu,
                "Desired": state.desired, "LastScale": state.last_scale, "Error": state.error}

