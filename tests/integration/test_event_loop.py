"""The daemon's event loop is never blocked: a plain container run holds it for
no callback longer than the fixtures' threshold (asyncio debug mode, see
tests/loopcheck.py)."""

from __future__ import annotations

from ..conftest import Daemon


def test_daemon_runs_with_the_slow_callback_watch(daemon: Daemon) -> None:
    """The check is live: the fixtures start every daemon with the option."""
    assert daemon.proc is not None
    assert "--debug-slow-callback" in daemon.proc.args


def test_run_rm_true_blocks_no_callback(daemon: Daemon) -> None:
    before = len(daemon.slow_callbacks())
    daemon.ok("run", "--rm", "busybox", "true")
    after = [cb for cb in daemon.slow_callbacks()[before:] if cb.blocking]
    assert after == [], "\n".join(str(cb) for cb in after)
