"""Restart policies: the decision and the backoff of moby's restart manager.

One ``RestartManager`` exists per container while the daemon runs (it is not
persisted, as in docker: a daemon restart or a manual ``start``/``restart`` gets a
fresh one). It decides, at each exit, whether the policy restarts the container and
after how long:

* ``no``: never; ``always``: always (even after a manual stop — which is why the
  stop path *cancels* the manager); ``unless-stopped``: unless stopped by hand;
  ``on-failure[:N]``: on a non-zero exit, at most N times (0 = unlimited), counting
  the container's ``RestartCount``.
* Backoff: 100 ms for the first restart, doubled at each following one, at most
  one minute; back to 100 ms once the container ran for 10 s or more.
* A cancelled manager (``docker stop``/``kill``/``rm -f`` while the container runs or
  waits to restart) never restarts again; only a manual start replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BACKOFF_MULTIPLIER = 2
DEFAULT_TIMEOUT = 0.1  # seconds
MAX_RESTART_TIMEOUT = 60.0  # seconds
RESET_AFTER = 10.0  # seconds of execution after which the backoff starts over


@dataclass
class RestartManager:
    """moby's ``restartmanager.RestartManager`` for one container."""

    policy: dict[str, Any]
    restart_count: int = 0
    timeout: float = 0.0
    canceled: bool = False

    @property
    def name(self) -> str:
        """The policy name, ``"no"`` for an empty one."""
        return (self.policy or {}).get("Name") or "no"

    def should_restart(self, exit_code: int, manually_stopped: bool, execution: float) -> tuple[bool, float]:
        """Whether to restart after an exit, and the delay before doing so.

        ``exit_code`` is the container's exit status, ``manually_stopped`` whether it
        was stopped by hand (or the daemon is shutting down), ``execution`` how long
        (seconds) it ran. Updates the backoff and, when restarting, the count — as
        moby does, even for a decision not to restart the backoff moves on.
        """
        if self.name == "no" or self.canceled:
            return False, 0.0
        if execution >= RESET_AFTER:
            self.timeout = 0.0
        if self.timeout == 0:
            self.timeout = DEFAULT_TIMEOUT
        elif self.timeout < MAX_RESTART_TIMEOUT:
            self.timeout *= BACKOFF_MULTIPLIER
        self.timeout = min(self.timeout, MAX_RESTART_TIMEOUT)
        restart = False
        if self.name == "always":
            restart = True
        elif self.name == "unless-stopped":
            restart = not manually_stopped
        elif self.name == "on-failure":
            limit = int((self.policy or {}).get("MaximumRetryCount") or 0)
            if limit == 0 or self.restart_count < limit:
                restart = exit_code != 0
        if not restart:
            return False, 0.0
        self.restart_count += 1
        return True, self.timeout

    def cancel(self) -> None:
        """Never restart again (until the manager is replaced by a manual start)."""
        self.canceled = True


def policy_error(policy: dict[str, Any]) -> str | None:
    """moby's ``ValidateRestartPolicy`` message for a bad policy, or None if valid.

    An empty name is accepted with any count (what clients before v25 sent).
    """
    name = policy.get("Name") or ""
    try:
        count = int(policy.get("MaximumRetryCount") or 0)
    except (TypeError, ValueError):
        return "invalid restart policy: maximum retry count must be an integer"
    if name in ("always", "unless-stopped", "no"):
        if count != 0:
            msg = "invalid restart policy: maximum retry count can only be used with 'on-failure'"
            return msg + " and cannot be negative" if count < 0 else msg
        return None
    if name == "on-failure":
        return "invalid restart policy: maximum retry count cannot be negative" if count < 0 else None
    if name == "":
        return None
    return (f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', "
            "or 'unless-stopped'")
