"""Swarm endpoints on a daemon outside any swarm: 503 with dockerd's messages, as the
docker CLI and docker-py expect (issue 14)."""

from __future__ import annotations

import docker
import pytest

from ..conftest import Daemon

NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
               "to connect this node to swarm and try again.")


@pytest.fixture
def dc(daemon: Daemon):
    client = daemon.api()
    yield client
    client.close()


def test_dockerpy_leave_swarm_without_swarm(dc) -> None:
    # docker-py's tidy-up idiom: leave_swarm(force=True) takes dockerd's 503 for
    # "nothing to leave" and returns True (a 404 would raise NotFound).
    assert dc.swarm.leave(force=True) is True
    with pytest.raises(docker.errors.APIError) as exc:
        dc.swarm.leave()
    assert exc.value.status_code == 503
    assert "This node is not part of a swarm" in str(exc.value)


@pytest.mark.parametrize("path", ["/swarm", "/nodes", "/services", "/tasks", "/secrets", "/configs"])
def test_swarm_reads_are_503(dc, path: str) -> None:
    r = dc.api.get(dc.api._url(path))
    assert r.status_code == 503
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"message": NOT_MANAGER}


def test_info_reports_inactive(dc) -> None:
    assert dc.info()["Swarm"]["LocalNodeState"] == "inactive"


@pytest.mark.parametrize("args", [["node", "ls"], ["service", "ls"], ["secret", "ls"], ["config", "ls"],
                                  ["swarm", "leave", "--force"]])
def test_docker_cli_swarm_commands(daemon: Daemon, args: list[str]) -> None:
    r = daemon.docker(*args)
    assert r.returncode == 1
    expected = "This node is not part of a swarm" if args[0] == "swarm" else NOT_MANAGER
    assert f"Error response from daemon: {expected}" in r.stderr
