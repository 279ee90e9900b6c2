"""Every endpoint of the Engine API contract, fed garbage: path parameters, query
parameters and bodies of the wrong shape. No request may end in a 500 or a
traceback, and the daemon keeps serving."""

from __future__ import annotations

import json
import random

import yaml

from baleine.client import Client, ConnectionFailed

from ..conftest import SHARED, Daemon

SPEC = SHARED / "reference" / "docker-engine-api-v1.47.yaml"
VALUES = ["fuzzed", "busybox", "nope", "", "../../etc", "%00", "x" * 300, "sha256:" + "0" * 64, "1", "-1",
          "true", "{", "[]", "\u2603"]
BODIES = [None, b"{", b"[]", b"null", b'"s"', b"123",
          json.dumps({"Image": 5}).encode(),
          json.dumps({"Cmd": "x", "HostConfig": []}).encode(),
          json.dumps({"Image": "busybox", "HostConfig": {"Memory": "lots", "PortBindings": "x", "Mounts": [1]}}).encode(),
          json.dumps({"Name": 1, "IPAM": "x", "Driver": 5}).encode(),
          json.dumps({"Name": "v", "DriverOpts": "x", "Labels": [], "IPAM": {"Config": [1]}}).encode(),
          json.dumps({"Cmd": ["sh"], "Env": "A=1", "User": 0, "Privileged": "yes"}).encode(),
          json.dumps({"Image": "busybox", "Cmd": ["true"],
                      "HostConfig": {"NetworkMode": "nope", "Binds": ["/nonexistent:/x"]}}).encode()]
# Endpoints that would act on the whole daemon, or wait for a very long time.
SKIP = ("/session", "/swarm/leave", "/system/prune", "/events")


def test_garbage_never_breaks_the_daemon(daemon: Daemon, name: str) -> None:
    spec = yaml.safe_load(SPEC.read_text())
    rng = random.Random(7)
    daemon.ok("run", "-d", "--name", "fuzzed", "busybox", "sleep", "300")
    api = Client(daemon.host)
    failures = []
    log_before = daemon.log()
    try:
        for path, ops in spec["paths"].items():
            if path in SKIP or "prune" in path:
                continue
            for method, op in ops.items():
                if method not in ("get", "post", "put", "delete", "head"):
                    continue
                for _ in range(6):
                    p = path
                    for seg in [s for s in path.split("/") if s.startswith("{")]:
                        p = p.replace(seg, rng.choice(VALUES))
                    params = {prm["name"]: rng.choice(VALUES) for prm in op.get("parameters", [])
                              if prm.get("in") == "query" and rng.random() < 0.6}
                    body = rng.choice(BODIES) if method in ("post", "put") else None
                    try:
                        resp = api._send(method.upper(), p, params, body,
                                         {"Content-Type": "application/json"} if body else None, timeout=3)
                        status = resp.status
                        resp.close()
                    except ConnectionFailed as exc:
                        status = 0 if "timed out" in str(exc) else f"connection: {exc}"
                    if status == 500 or isinstance(status, str):
                        failures.append((method, p, params, body, status))
        assert not failures, failures[:10]
        assert api.ping()
        assert "Traceback" not in daemon.log()[len(log_before):] or "Traceback" in log_before
    finally:
        daemon.cli("rm", "-f", "fuzzed")
        for c in daemon.cli("ps", "-aq", "--filter", "status=created").out.split():
            daemon.cli("rm", "-f", c)
