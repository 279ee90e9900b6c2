"""The daemon's built-in registry (`baleine daemon --registry-addr`): a registry
without any container, serving pushes and pulls, readable by skopeo."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ..conftest import BUSYBOX_TAR, destroy_daemon, new_daemon
from ..registries import free_port, wait_port


def test_daemon_serves_a_registry() -> None:
    port = free_port()
    d = new_daemon(extra_args=["--registry-addr", f"127.0.0.1:{port}"])
    try:
        wait_port(port)
        d.ok("load", "-i", str(BUSYBOX_TAR))
        ref = f"localhost:{port}/tools/busybox:1"
        d.ok("tag", "busybox:1.35", ref)
        out = d.ok("push", ref)
        assert "digest: sha256:" in out
        assert (d.data_root / "registry").is_dir()  # default root under the data root
        d.ok("rmi", ref)
        d.ok("pull", ref)
        assert d.ok("run", "--rm", ref, "echo", "pulled") == "pulled"
        if shutil.which("skopeo"):
            r = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["Name"] == f"localhost:{port}/tools/busybox"
    finally:
        destroy_daemon(d)
    # Stopping the daemon stops its registry.
    with pytest.raises(OSError):
        import socket

        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_registry_port_in_use_stops_the_daemon_cleanly(tmp_path) -> None:
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        with pytest.raises(RuntimeError) as exc:
            new_daemon(extra_args=["--registry-addr", f"127.0.0.1:{port}"])
        assert "cannot start the registry" in str(exc.value)
    finally:
        busy.close()
