"""The restart manager's decisions and backoff (moby's restartmanager)."""

from __future__ import annotations

import pytest

from baleine.engine.containers.restarts import RestartManager, policy_error


def test_backoff_doubles_and_caps() -> None:
    rm = RestartManager({"Name": "always"})
    delays = [rm.should_restart(0, False, 1.0)[1] for _ in range(12)]
    assert delays[:5] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6])
    assert delays[-1] == 60.0 and max(delays) == 60.0
    assert rm.restart_count == 12


def test_backoff_resets_after_ten_seconds_of_running() -> None:
    rm = RestartManager({"Name": "always"})
    for _ in range(4):
        rm.should_restart(1, False, 0.5)
    assert rm.should_restart(1, False, 10.0) == (True, pytest.approx(0.1))
    assert rm.should_restart(1, False, 0.5) == (True, pytest.approx(0.2))


def test_on_failure() -> None:
    rm = RestartManager({"Name": "on-failure", "MaximumRetryCount": 2})
    assert not rm.should_restart(0, False, 1)[0]
    assert rm.should_restart(3, False, 1)[0]
    assert rm.should_restart(3, False, 1)[0]
    assert not rm.should_restart(3, False, 1)[0]
    assert rm.restart_count == 2
    # the count starts from the container's RestartCount
    assert not RestartManager({"Name": "on-failure", "MaximumRetryCount": 2}, 2).should_restart(1, False, 1)[0]
    unlimited = RestartManager({"Name": "on-failure", "MaximumRetryCount": 0})
    assert all(unlimited.should_restart(1, False, 1)[0] for _ in range(20))


def test_manual_stop_and_cancel() -> None:
    assert RestartManager({"Name": "always"}).should_restart(0, True, 1)[0]
    assert not RestartManager({"Name": "unless-stopped"}).should_restart(0, True, 1)[0]
    assert RestartManager({"Name": "unless-stopped"}).should_restart(0, False, 1)[0]
    rm = RestartManager({"Name": "always"})
    rm.cancel()
    assert rm.should_restart(0, False, 1) == (False, 0.0)
    for name in ("no", ""):
        assert not RestartManager({"Name": name}).should_restart(1, False, 1)[0]


def test_policy_errors() -> None:
    assert policy_error({"Name": "always"}) is None
    assert policy_error({"Name": "", "MaximumRetryCount": 5}) is None
    assert policy_error({"Name": "on-failure", "MaximumRetryCount": 5}) is None
    assert policy_error({"Name": "no", "MaximumRetryCount": 1}) == \
        "invalid restart policy: maximum retry count can only be used with 'on-failure'"
    assert policy_error({"Name": "unless-stopped", "MaximumRetryCount": -1}) == \
        "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"
    assert policy_error({"Name": "on-failure", "MaximumRetryCount": -2}) == \
        "invalid restart policy: maximum retry count cannot be negative"
    assert policy_error({"Name": "never"}) == ("invalid restart policy: unknown policy 'never'; use one of "
                                               "'no', 'always', 'on-failure', or 'unless-stopped'")
