"""Fixtures the compatibility suites share."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from ..conftest import Daemon


@pytest.fixture
def api(daemon: Daemon) -> Iterator[docker.APIClient]:
    """docker-py's low-level client on the session's daemon, negotiating the API version."""
    client = docker.APIClient(base_url=daemon.host, version="auto", timeout=120)
    yield client
    client.close()
