"""The CLI starts a daemon by itself when none answers on the default socket.

Run in private mount and network namespaces, with tmpfs over the default paths
(/run/baleine, /var/lib/baleine, /var/log), so that the machine's own daemon, if
any, is neither seen nor touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from ..conftest import baleine_cmd

pytestmark = pytest.mark.skipif(not shutil.which("unshare"), reason="unshare(1) missing")

SCRIPT = """
set -e
for d in /run/baleine /var/lib/baleine /var/log; do mkdir -p $d; mount -t tmpfs tmpfs $d; done
ip link set lo up
{cli} version --format '{{{{.Server.Version}}}}'
{cli} info --format '{{{{.DockerRootDir}}}}'
cat /run/baleine/baleine.pid
"""


def test_first_command_starts_a_daemon() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("BALEINE_HOST", "DOCKER_HOST")}
    cli = " ".join(baleine_cmd())
    r = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c",
                        SCRIPT.format(cli=cli)], capture_output=True, text=True, env=env, timeout=120)
    lines = r.stdout.split()
    try:
        assert r.returncode == 0, r.stderr
        assert "Started the Baleine daemon in the background" in r.stderr
        assert lines[1] == "/var/lib/baleine"
    finally:
        if lines and lines[-1].isdigit():
            pid = int(lines[-1])
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
