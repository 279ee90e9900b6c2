"""Executing a rolling update of a replicated compose service, as swarmkit's
updater does (manager/orchestrator/update/updater.go), batch by batch per the
``rollout.plan`` of its ``deploy.update_config``.

Contract (``roll(runner, service, image_id, outdated, timeout)``):

- ``outdated`` are the service's running replicas whose configuration or image
  changed. Each is a *slot* (its compose number). A slot is updated by renaming
  its old container ``<old-id[:12]>_<name>`` — the name docker compose gives a
  container it is replacing, and the rule by which ``Runner.containers`` leaves
  such *replaced* containers out (``is_replaced``): they are never counted as
  replicas by ``ps``/``scale``/``up`` — then creating the new replica under the
  slot's own name and number. Names therefore settle at once: the service keeps
  its numbers 1..N throughout.
- ``stop-first``: the old replica stops (the engine drains it from the balancer
  first), the new one starts. ``start-first``: the new one starts while the old
  still serves; once the new one passed its monitor, the old stops (graceful,
  ``stop_grace_period``, drained first). Never more than N (stop-first) or N +
  parallelism (start-first) replicas run.
- Monitor: a new replica must keep running for ``monitor`` and, when it has a
  healthcheck, become healthy — within ``monitor`` or the time its healthcheck
  needs to decide (start_period + retries × (interval + timeout)), whichever is
  longer — and never turn unhealthy. Otherwise the slot *failed*.
- The old containers are kept, stopped, until the rollout ends, so a rollback
  restarts exactly what ran before (the compose file no longer describes it).
  When the rollout ends (done, paused or continued) the old containers of slots
  now running their new replica are removed.
- Failures count as swarm counts them (``rollout.failed_too_much`` over the
  slots being updated); below the ratio the rollout goes on. Past it,
  ``failure_action``: ``continue`` goes on; ``pause`` stops rolling, leaving the
  service partly updated, and raises ``ComposeError`` naming the service and the
  replica; ``rollback`` rolls every touched slot back to its kept old container
  per ``rollback_config`` (rename back, start, monitor, then the new one is
  removed) and raises ``ComposeError`` saying so.
- A failed slot of a ``start-first`` batch is never swapped: its old replica
  (still running) takes its name back and the failed new one is removed. A
  failed slot of a ``stop-first`` batch keeps its failed new replica, as swarm
  leaves a failed task (except on rollback). A slot whose new replica could not
  even be created gets its old replica back.

I/O goes through the runner (``baleine.client``), progress through its
``Progress``; blocking waits are polls of ``inspect``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..client import APIError
from . import balance
from .convert import container_name
from .errors import ComposeError
from .rollout import Batch, UpdatePolicy, failed_too_much, plan, service_policies

if TYPE_CHECKING:
    from .runner import Container, Runner

POLL = 0.1  # seconds between two inspections of a monitored replica
BALANCE_WAIT = 5.0  # seconds a start-first batch waits for the balancer to count its new replicas
NS = 1_000_000_000


def is_replaced(c: Container) -> bool:
    """Whether ``c`` is an old replica kept during a rollout: its name is
    ``<its own id[:12]>_<name>`` (what docker compose names a replaced container)."""
    return c.name.startswith(c.id[:12] + "_")


def kept_name(c: Container) -> str:
    """The name an old replica takes while its replacement holds its name."""
    return f"{c.id[:12]}_{c.name}"


@dataclass
class Slot:
    """One replica being updated: its number and canonical name, the old
    container (kept under ``kept_name`` once renamed), the new one's ID when it
    was created, and why it failed (None while it has not)."""

    number: int
    name: str
    old: Container
    new_id: str | None = None
    failed: str | None = None
    renamed: bool = False  # the old container holds its kept name
    restored: bool = False  # the old container is back under its own name

    @property
    def kept(self) -> str:
        return kept_name(self.old)


# -- monitoring ---------------------------------------------------------------------------


def _health_window(info: dict[str, Any]) -> float | None:
    """Seconds a container's healthcheck needs at most to say healthy or
    unhealthy; None without a healthcheck (Docker's defaults otherwise)."""
    hc = (info.get("Config") or {}).get("Healthcheck") or {}
    test = hc.get("Test") or []
    if (not test or test[0] == "NONE") and not (info.get("State") or {}).get("Health"):
        return None
    interval = (hc.get("Interval") or 30 * NS) / NS
    timeout = (hc.get("Timeout") or 30 * NS) / NS
    start = (hc.get("StartPeriod") or 0) / NS
    retries = hc.get("Retries") or 3
    return start + retries * (interval + timeout) + 1.0


def _verdict(info: dict[str, Any], elapsed: float, monitor: float, window: float | None) -> tuple[bool, str | None]:
    """(decided, failure reason) of one inspection of a monitored replica."""
    state = info.get("State") or {}
    if not state.get("Running") or state.get("Restarting"):
        return True, f"exited with code {state.get('ExitCode', '?')}"
    health = state.get("Health") or {}
    status = health.get("Status")
    if window is not None and status == "unhealthy":
        log = health.get("Log") or [{}]
        output = str(log[-1].get("Output") or "").strip()
        return True, "unhealthy" + (f": {output}" if output else "")
    if elapsed < monitor:
        return False, None
    if window is None or status == "healthy":
        return True, None
    if elapsed >= max(monitor, window):
        return True, f"not healthy within {max(monitor, window):.1f}s"
    return False, None


def monitor(runner: Runner, ids: list[str], monitor_ns: int) -> dict[str, str | None]:
    """Watch the replicas ``ids`` (just started, together) as swarm's monitor does:
    their failure reason by ID, None for those that passed (see the module docstring)."""
    t0 = time.monotonic()
    verdicts: dict[str, str | None] = {}
    windows: dict[str, float | None] = {}
    seconds = monitor_ns / NS
    while len(verdicts) < len(ids):
        for cid in ids:
            if cid in verdicts:
                continue
            try:
                info = runner.inspect(cid)
            except APIError as exc:
                verdicts[cid] = f"gone ({exc.message})"
                continue
            if cid not in windows:
                windows[cid] = _health_window(info)
            decided, reason = _verdict(info, time.monotonic() - t0, seconds, windows[cid])
            if decided:
                verdicts[cid] = reason
        if len(verdicts) < len(ids):
            time.sleep(POLL)
    return verdicts


# -- the rollout ----------------------------------------------------------------------------


class Rollout:
    """One service's rolling update (see the module docstring)."""

    def __init__(self, runner: Runner, service: str, image_id: str, timeout: int | None) -> None:
        self.runner = runner
        self.service = service
        self.image_id = image_id
        self.timeout = timeout
        self.update, self.rollback_policy = service_policies(service, runner.project.services[service])
        self.slots: list[Slot] = []

    # steps on one container, each reported like compose reports it

    def _event(self, name: str, status: str, detail: str = "") -> None:
        self.runner.progress.event(f"Container {name}", status, detail)

    def _stop(self, ref: str, name: str) -> None:
        self._event(name, "Stopping")
        try:
            self.runner.client.containers.stop(ref, timeout=self.runner._stop_timeout(self.service, self.timeout))
        except APIError as exc:
            if exc.status not in (304, 404):
                raise
        self._event(name, "Stopped")

    def _remove(self, ref: str, name: str) -> None:
        self._event(name, "Removing")
        try:
            self.runner.client.containers.remove(ref, force=True)
        except APIError as exc:
            if exc.status != 404:
                raise
        self._event(name, "Removed")

    def _rename(self, ref: str, name: str) -> None:
        self.runner.client.containers.rename(ref, name)

    # one slot, forwards

    def _replace(self, slot: Slot) -> None:
        """Rename the old replica aside and create its replacement under its name."""
        self._event(slot.name, "Recreate")
        self._rename(slot.old.id, slot.kept)
        slot.renamed = True
        try:
            slot.new_id = self.runner.create(self.service, slot.number, self.image_id, replace=slot.old.id)
        except APIError as exc:
            slot.failed = f"could not be created: {exc.message}"
            self._event(slot.name, "Error", exc.message)
            return
        self._event(slot.name, "Recreated")

    def _start_new(self, slot: Slot) -> None:
        if slot.new_id is None:
            return
        try:
            self.runner.start_container(slot.new_id, slot.name)
        except APIError as exc:
            slot.failed = f"could not start: {exc.message}"

    def _restore(self, slot: Slot, start: bool) -> None:
        """Give the old replica its name back (and start it), removing the new one."""
        if slot.new_id is not None:
            if start:  # a start-first old one still runs: the new one goes first (drained)
                self._stop(slot.new_id, slot.name)
            self._remove(slot.new_id, slot.name)
            slot.new_id = None
        self._rename(slot.old.id, slot.name)
        slot.renamed, slot.restored = False, True
        if start:
            info = self.runner.inspect(slot.old.id)
            if not (info.get("State") or {}).get("Running"):
                self.runner.start_container(slot.old.id, slot.name)

    def _batch(self, batch: Batch) -> list[Slot]:
        """Update the slots of ``batch``; the ones that failed."""
        slots = [s for s in self.slots if s.number in batch.numbers]
        if not batch.start_first:
            for s in slots:
                self._stop(s.old.id, s.name)
        for s in slots:
            self._replace(s)
            self._start_new(s)
        started = [s for s in slots if s.new_id and not s.failed]
        self._monitor(started, self.update.monitor_ns)
        if batch.start_first:
            self._wait_balanced([s for s in started if not s.failed])
        for s in slots:
            if s.failed and (batch.start_first or s.new_id is None):
                self._restore(s, start=True)
            elif batch.start_first:
                self._stop(s.old.id, s.kept)
        return [s for s in slots if s.failed]

    def _wait_balanced(self, slots: list[Slot]) -> None:
        """Start-first: keep the old replicas serving until the engine's balancer counts
        the new ones ready (it follows their start within a reconcile, which a
        healthcheck's verdict covers but a service without one would race). Bounded by
        BALANCE_WAIT: a service may have no group (dnsrr, nothing balanced)."""
        names = {s.name for s in slots}
        if not names:
            return
        group = balance.group_name(self.runner.project, self.service)
        deadline = time.monotonic() + BALANCE_WAIT
        while time.monotonic() < deadline:
            try:
                groups = self.runner.client.networks.balancers()
            except APIError:
                return
            found = next((g for g in groups if g.get("Name") == group), None)
            if found is None:
                return
            ready = {m.get("Name") for m in found.get("Members") or [] if m.get("Ready")}
            if names <= ready:
                return
            time.sleep(POLL)

    def _monitor(self, slots: list[Slot], monitor_ns: int) -> None:
        for s in slots:
            self._event(s.name, "Waiting")
        verdicts = monitor(self.runner, [s.new_id for s in slots if s.new_id], monitor_ns)
        for s in slots:
            reason = verdicts.get(s.new_id or "")
            if reason:
                s.failed = reason
                self._event(s.name, "Error", reason)
            else:
                self._event(s.name, "Healthy")

    # the whole service

    def run(self, outdated: list[Container]) -> None:
        """Roll ``outdated`` (running replicas of the service); ComposeError when
        the failure action paused or rolled back the update."""
        names = {c.number: c for c in outdated}
        self.slots = [Slot(n, container_name(self.runner.project, self.service, n), names[n]) for n in sorted(names)]
        total = len(self.slots)
        failed: list[Slot] = []
        batches = plan(sorted(names), self.update)
        for i, batch in enumerate(batches):
            failed += self._batch(batch)
            if failed_too_much(len(failed), total, self.update) and self.update.failure_action != "continue":
                culprit = failed[-1]
                if self.update.failure_action == "rollback":
                    problems = self.rollback()
                    raise ComposeError(self._rolled_back_message(culprit, problems))
                self.finish()
                done = sum(1 for s in self.slots if s.new_id and not s.restored)
                raise ComposeError(f"service {self.service!r}: update paused: replica {culprit.name} "
                                   f"{culprit.failed}; {done} of {total} replicas updated")
            if self.update.delay_ns and i + 1 < len(batches):
                time.sleep(self.update.delay_ns / NS)
        self.finish()

    def _rolled_back_message(self, culprit: Slot, problems: list[str]) -> str:
        text = (f"service {self.service!r}: update failed: replica {culprit.name} {culprit.failed}; "
                f"rolled back to the previous configuration")
        if problems:
            text += " (rollback problems: " + "; ".join(problems) + ")"
        return text

    def finish(self) -> None:
        """Remove the old replicas of the slots that now run their new one."""
        for s in self.slots:
            if s.renamed and s.new_id is not None:
                self._remove(s.old.id, s.kept)
                s.renamed = False

    # backwards

    def rollback(self) -> list[str]:
        """Bring every touched slot back to its old replica per ``rollback_config``;
        the problems met (a restored replica failing its monitor)."""
        touched = [s for s in self.slots if s.renamed]
        policy: UpdatePolicy = self.rollback_policy
        problems: list[str] = []
        batches = plan([s.number for s in touched], policy)
        for i, batch in enumerate(batches):
            slots = [s for s in touched if s.number in batch.numbers]
            for s in slots:
                self._back(s, batch.start_first)
            verdicts = monitor(self.runner, [s.old.id for s in slots], policy.monitor_ns)
            for s in slots:
                reason = verdicts.get(s.old.id)
                self._event(s.name, "Error" if reason else "Healthy", reason or "")
                if reason:
                    problems.append(f"replica {s.name} {reason}")
                if s.new_id is not None:
                    if batch.start_first:
                        self._stop(s.new_id, f"{s.new_id[:12]}_{s.name}")
                    self._remove(s.new_id, f"{s.new_id[:12]}_{s.name}")
                    s.new_id = None
            if policy.delay_ns and i + 1 < len(batches):
                time.sleep(policy.delay_ns / NS)
        return problems

    def _back(self, s: Slot, start_first: bool) -> None:
        """Swap slot ``s`` back: its new replica aside, the old one under its name, started."""
        self._event(s.name, "Recreate", "rolling back")
        if s.new_id is not None:
            if not start_first:
                self._stop(s.new_id, s.name)
            self._rename(s.new_id, f"{s.new_id[:12]}_{s.name}")
        self._rename(s.old.id, s.name)
        s.renamed, s.restored = False, True
        self._event(s.name, "Recreated", "rolled back")
        self.runner.start_container(s.old.id, s.name)


def roll(runner: Runner, service: str, image_id: str, outdated: list[Container], timeout: int | None) -> None:
    """Roll ``service``'s ``outdated`` running replicas (see the module docstring)."""
    if outdated:
        Rollout(runner, service, image_id, timeout).run(outdated)


def clear_leftovers(runner: Runner, service: str) -> None:
    """Remove old replicas an interrupted rollout of ``service`` left behind."""
    for c in runner.containers([service], replaced=True):
        if is_replaced(c):
            runner.stop_container(c, 0)
            runner.remove_container(c)
