"""Issue 14, the images/exec/logs/build items: what the docker CLI and docker-py see
from Baleine must be what they see from dockerd."""

from __future__ import annotations

import uuid

import pytest

from ..conftest import Daemon


@pytest.fixture
def sleeper(daemon: Daemon):
    """A running busybox container, removed afterwards."""
    name = "i14-" + uuid.uuid4().hex[:8]
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "300")
    yield name
    daemon.cli("rm", "-f", name)


@pytest.mark.parametrize("client", ["docker", "cli"])
def test_exec_missing_user_is_dockerds_error(daemon: Daemon, sleeper: str, client: str) -> None:
    r = getattr(daemon, client)("exec", "-u", "nosuchuser", sleeper, "true")
    assert r.returncode == 126, (r.returncode, r.stdout, r.stderr)
    assert "unable to find user nosuchuser: no matching entries in passwd file" in r.stdout + r.stderr
    assert "unable to upgrade" not in r.stderr


@pytest.mark.parametrize("args,words", [
    (["nosuchbinary"], 'exec: "nosuchbinary": executable file not found in $PATH'),
    (["-w", "/no/such/dir", "CONTAINER", "true"], "no such file or directory"),
])
def test_exec_start_failures_exit_126(daemon: Daemon, sleeper: str, args: list[str], words: str) -> None:
    # dockerd records 126 for every exec that fails to start (its ContainerExecStart's
    # deferred clean-up overrides the 127 that translateContainerdStartErr set).
    argv = [sleeper if a == "CONTAINER" else a for a in args]
    if "CONTAINER" not in args:
        argv = [sleeper] + argv
    r = daemon.docker("exec", *argv)
    assert r.returncode == 126, (r.returncode, r.stdout, r.stderr)
    assert "OCI runtime exec failed" in r.stdout + r.stderr
    assert words in r.stdout + r.stderr
