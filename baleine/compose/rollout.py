"""Rolling updates of a replicated compose service, as swarm's updater rolls them.

Contract: ``parse_policy(raw, where)`` reads a ``deploy.update_config`` or
``deploy.rollback_config`` mapping (None → the defaults) into an ``UpdatePolicy``
and raises ``ComposeError`` naming the dotted path for a bad ``order``,
``failure_action``, negative ``parallelism``, bad duration or a
``max_failure_ratio`` outside 0..1. ``plan(replicas, policy)`` turns the replica
numbers to replace into batches of ``parallelism`` (0 = all in one batch), each
a ``Batch`` saying which numbers stop and which start and in which order, so
``start-first`` never drops under the service's size and ``stop-first`` never
exceeds it. ``failed_too_much(failed, total, policy)`` is swarmkit's
``failureAction`` test: a failure counts once ``failed / total`` exceeds
``max_failure_ratio`` (updater.go: ``failedTasks/len(slots) > maxFailureRatio``).

Pure: no I/O here; ``compose.rolling`` executes the batches through ``baleine.client``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ComposeError

ORDERS = ("stop-first", "start-first")
FAILURE_ACTIONS = ("pause", "continue", "rollback")
DEFAULT_MONITOR_NS = 5_000_000_000


@dataclass(frozen=True)
class UpdatePolicy:
    """One ``update_config``/``rollback_config``, with swarm's defaults."""

    parallelism: int = 1
    delay_ns: int = 0
    order: str = "stop-first"
    failure_action: str = "pause"
    monitor_ns: int = DEFAULT_MONITOR_NS
    max_failure_ratio: float = 0.0


@dataclass(frozen=True)
class Batch:
    """The replicas one step replaces: ``numbers`` (compose's replica numbers)
    and ``order`` (whether the new ones start before the old ones stop)."""

    numbers: tuple[int, ...]
    order: str

    @property
    def start_first(self) -> bool:
        """Whether the new replicas run alongside the old ones for a while."""
        return self.order == "start-first"


def _duration_ns(value: Any, where: str) -> int:
    """A compose duration (``"2s"``, ``"1m30s"``; a bare number is seconds) in ns, >= 0."""
    from ..rules.units import parse_duration_ns

    if isinstance(value, bool):
        raise ComposeError(f"invalid duration: {value!r}", path=where)
    if isinstance(value, (int, float)):
        ns = int(value * 1_000_000_000)
    else:
        try:
            ns = parse_duration_ns(str(value))
        except Exception as exc:  # noqa: BLE001 - Go's message is the one to show
            raise ComposeError(f"invalid duration {value!r}: {exc}", path=where) from None
    if ns < 0:
        raise ComposeError(f"duration must not be negative: {value!r}", path=where)
    return ns


def _parallelism(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ComposeError(f"{value!r} must be an integer", path=where)
    try:
        n = int(value)
    except ValueError:
        raise ComposeError(f"{value!r} must be an integer", path=where) from None
    if n < 0:
        raise ComposeError(f"must be 0 or more, got {n}", path=where)
    return n


def _ratio(value: Any, where: str) -> float:
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise ComposeError(f"{value!r} must be a number", path=where) from None
    if isinstance(value, bool) or not 0.0 <= ratio <= 1.0:
        raise ComposeError(f"must be between 0 and 1, got {value!r}", path=where)
    return ratio


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ComposeError(f"invalid value {value!r}, must be one of {', '.join(allowed)}", path=where)
    return str(value)


def parse_policy(raw: dict[str, Any] | None, where: str) -> UpdatePolicy:
    """``raw`` (a service's update_config or rollback_config) as an UpdatePolicy.

    ``where`` is the dotted path of the mapping (``services.web.deploy.update_config``),
    used in every error. Unknown keys are left to the schema."""
    if raw is None:
        return UpdatePolicy()
    if not isinstance(raw, dict):
        raise ComposeError("must be a mapping", path=where)
    d = UpdatePolicy()
    return UpdatePolicy(
        parallelism=_parallelism(raw["parallelism"], where + ".parallelism") if "parallelism" in raw else d.parallelism,
        delay_ns=_duration_ns(raw["delay"], where + ".delay") if "delay" in raw else d.delay_ns,
        order=_choice(raw["order"], ORDERS, where + ".order") if "order" in raw else d.order,
        failure_action=(_choice(raw["failure_action"], FAILURE_ACTIONS, where + ".failure_action")
                        if "failure_action" in raw else d.failure_action),
        monitor_ns=_duration_ns(raw["monitor"], where + ".monitor") if "monitor" in raw else d.monitor_ns,
        max_failure_ratio=(_ratio(raw["max_failure_ratio"], where + ".max_failure_ratio")
                           if "max_failure_ratio" in raw else d.max_failure_ratio),
    )


def declared(svc: dict[str, Any]) -> bool:
    """Whether a normalised service asks for rollouts (its ``deploy.update_config`` is set)."""
    return (svc.get("deploy") or {}).get("update_config") is not None


def service_policies(name: str, svc: dict[str, Any]) -> tuple[UpdatePolicy, UpdatePolicy]:
    """A normalised service's (update, rollback) policies; validates both."""
    deploy = svc.get("deploy") or {}
    base = f"services.{name}.deploy"
    return (parse_policy(deploy.get("update_config"), base + ".update_config"),
            parse_policy(deploy.get("rollback_config"), base + ".rollback_config"))


def plan(numbers: list[int], policy: UpdatePolicy) -> list[Batch]:
    """The replicas ``numbers`` to replace, in batches of ``policy.parallelism``
    (0 = one batch of all), lowest numbers first as swarm walks its slots."""
    ordered = sorted(numbers)
    if not ordered:
        return []
    size = policy.parallelism or len(ordered)
    return [Batch(tuple(ordered[i:i + size]), policy.order) for i in range(0, len(ordered), size)]


def failed_too_much(failed: int, total: int, policy: UpdatePolicy) -> bool:
    """Whether ``failed`` of ``total`` replicas trip the failure action
    (swarmkit: more than ``max_failure_ratio`` of the slots failed)."""
    if failed <= 0 or total <= 0:
        return False
    return failed / total > policy.max_failure_ratio


def peak_replicas(replicas: int, batch: Batch) -> int:
    """How many replicas run at most while ``batch`` is replaced."""
    return replicas + len(batch.numbers) if batch.start_first else replicas


def floor_replicas(replicas: int, batch: Batch) -> int:
    """How many replicas run at least while ``batch`` is replaced."""
    return replicas if batch.start_first else replicas - len(batch.numbers)
