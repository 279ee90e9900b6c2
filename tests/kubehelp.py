"""kubectl against a test daemon's Kubernetes API server: what every Kubernetes test shares.

``kube_daemon()`` starts a daemon serving the API on a free loopback port (and
so running the cluster's components: controllers, node agent, proxy, DNS) and
stops it, with everything it made, at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Daemon, destroy_daemon, new_daemon

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
#: Every Kubernetes test module sets ``pytestmark = NEEDS_KUBECTL``.
NEEDS_KUBECTL = pytest.mark.skipif(not os.path.exists(KUBECTL), reason="kubectl is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kube:
    """kubectl against one daemon's API server, with its own cache directory."""

    def __init__(self, daemon: Daemon, port: int) -> None:
        self.daemon = daemon
        self.port = port
        self.kubeconfig = str(daemon.data_root / "kube" / "kubeconfig")
        self.home = daemon.root / "kube-home"
        self.home.mkdir(exist_ok=True)

    def wait_ready(self, timeout: float = 30) -> None:
        """The daemon answers its Engine API first; the Kubernetes API follows."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.kubeconfig) and self.run("get", "--raw", "/readyz", timeout=10).returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"the Kubernetes API did not answer: {self.daemon.log()}")

    def run(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HOME": str(self.home)}
        env.pop("KUBECONFIG", None)
        return subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, *args], input=input, capture_output=True,
                              text=True, timeout=timeout, env=env)

    def ok(self, *args: str, input: str | None = None) -> str:
        r = self.run(*args, input=input)
        assert r.returncode == 0, f"kubectl {' '.join(args)}: {r.stderr}{r.stdout}"
        return r.stdout

    def fails(self, *args: str, input: str | None = None) -> str:
        r = self.run(*args, input=input)
        assert r.returncode != 0, f"kubectl {' '.join(args)} should fail: {r.stdout}"
        return r.stderr



@contextlib.contextmanager
def kube_daemon(*extra_args: str) -> Iterator[Kube]:
    """A daemon with the Kubernetes API on a free port, ready for kubectl."""
    port = free_port()
    d = new_daemon(extra_args=["--kube-addr", f"127.0.0.1:{port}", *extra_args])
    try:
        k = Kube(d, port)
        k.wait_ready()
        yield k
    finally:
        destroy_daemon(d)


def wait_for(predicate: Any, timeout: float = 60, interval: float = 0.2, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


def get_json(k: Kube, *args: str) -> Any:
    """``kubectl get ARGS -o json``, decoded."""
    return json.loads(k.ok("get", *args, "-o", "json"))
