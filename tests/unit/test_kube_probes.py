"""kubelet/probes.py: the probe state machine (thresholds, periods, startup gating)
and its checks against real servers on 127.0.0.1 (no mocks of the network). Waits
are scaled down (``Prober(scale=...)``); check timeouts are real."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from baleine.kube.client import Client
from baleine.kube.kubelet.probes import CheckFailed, Prober, Threshold, grpc_check, http_check, tcp_check
from baleine.kube.manager import Context, Options
from baleine.kube.registry import Registry
from baleine.kube.storage import Storage

Obj = dict[str, Any]
SCALE = 0.02  # one probe second is 20 ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real HTTP server on 127.0.0.1 answering ``status`` (changeable), recording requests."""

    def __init__(self) -> None:
        self.status = 200
        self.delay = 0.0
        self.requests: list[web.Request] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text="hi")

    async def __aenter__(self) -> Server:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def run(path: Path, body: Callable[[Context], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        storage = Storage(str(path / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        await Client(registry).create("namespaces", "", {"metadata": {"name": "default"}})
        try:
            return await body(Context(registry, None, Options(data_root=str(path))))
        finally:
            await storage.close()
    return asyncio.run(main())


def pod(container: Obj) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "uid": "uid-p"},
            "spec": {"containers": [container]}, "status": {"podIP": "127.0.0.1"}}


def events(ctx: Context) -> list[tuple[str, int]]:
    return [(e["message"], e["count"]) for e in ctx.registry.storage.list("events", "default")]


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def test_threshold_counts_consecutive_results() -> None:
    t = Threshold(False, success=2, failure=3)
    assert [t.observe(ok) for ok in (True, False, True, True)] == [False, False, False, True]
    assert t.result is True
    assert [t.observe(ok) for ok in (False, False, True, False, False, False)] == [False] * 5 + [True]
    assert t.result is False
    startup = Threshold(None, success=1, failure=2)
    assert startup.observe(False) is False and startup.observe(False) is True and startup.result is False
    live = Threshold(True, success=1, failure=1)
    assert live.observe(True) is False and live.observe(False) is True


def test_readiness_over_http_with_thresholds_and_events(tmp_path: Path) -> None:
    async def body(ctx: Context) -> None:
        async with Server() as srv:
            container = {"name": "web", "ports": [{"name": "http", "containerPort": srv.port}],
                         "readinessProbe": {"httpGet": {"path": "/ready", "port": "http",
                                                        "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                                            "periodSeconds": 1, "failureThreshold": 3, "successThreshold": 2}}
            flips: list[tuple[bool, bool, bool]] = []
            p = Prober(ctx, pod(container), container, "cid", lambda: flips.append((p.ready, p.started, p.live)),
                       scale=SCALE)
            assert (p.ready, p.started, p.live) == (False, True, True)
            p.start()
            await until(lambda: p.ready)
            assert len(srv.requests) >= 2  # successThreshold 2
            req = srv.requests[0]
            assert req.path == "/ready" and req.headers["X-Probe"] == "1"
            assert req.headers["User-Agent"].startswith("kube-probe/")
            srv.status = 500
            seen = len(srv.requests)
            await until(lambda: not p.ready)
            assert len(srv.requests) - seen >= 3  # failureThreshold 3
            srv.status = 302  # 200-399 passes
            await until(lambda: p.ready)
            await p.stop()
            assert flips == [(True, True, True), (False, True, True), (True, True, True)]
            messages = dict(events(ctx))
            assert messages["Readiness probe failed: HTTP probe failed with statuscode: 500"] >= 3
    run(tmp_path, body)


def test_startup_holds_liveness_back_then_a_failing_liveness_stops(tmp_path: Path) -> None:
    async def body(ctx: Context) -> None:
        async with Server() as srv:
            srv.status = 503
            port = free_port()
            container = {"name": "app",
                         "startupProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1, "failureThreshold": 1000},
                         "livenessProbe": {"httpGet": {"port": srv.port}, "periodSeconds": 1, "failureThreshold": 2}}
            p = Prober(ctx, pod(container), container, "cid", lambda: None, scale=SCALE)
            assert (p.ready, p.started, p.live) == (False, False, True)
            p.start()
            await asyncio.sleep(0.3)  # ~15 periods: the startup probe fails, liveness waits
            assert not p.started and p.live and not srv.requests
            assert any(m.startswith(f"Startup probe failed: dial tcp 127.0.0.1:{port}: connect: connection refused")
                       for m, _ in events(ctx))
            listener = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
            await until(lambda: p.started)
            assert p.ready  # no readiness probe: ready once started
            await until(lambda: not p.live)
            assert not p.ready
            count = len(srv.requests)
            assert count == 2  # failureThreshold 2, then the worker is on hold
            await asyncio.sleep(0.2)
            assert len(srv.requests) == count
            listener.close()
            await p.stop()
    run(tmp_path, body)


def test_startup_failing_past_its_threshold_kills(tmp_path: Path) -> None:
    async def body(ctx: Context) -> None:
        container = {"name": "app", "startupProbe": {"tcpSocket": {"port": free_port()}, "periodSeconds": 1,
                                                     "failureThreshold": 3},
                     "readinessProbe": {"tcpSocket": {"port": 1}}}
        p = Prober(ctx, pod(container), container, "cid", lambda: None, scale=SCALE)
        p.start()
        await until(lambda: not p.live)
        assert not p.started and not p.ready
        assert sum(c for m, c in events(ctx) if m.startswith("Startup probe failed")) == 3
        assert not any(m.startswith("Readiness") for m, _ in events(ctx))
        await p.stop()
    run(tmp_path, body)


def test_initial_delay_and_period(tmp_path: Path) -> None:
    async def body(ctx: Context) -> None:
        async with Server() as srv:
            container = {"name": "c", "readinessProbe": {"httpGet": {"port": srv.port}, "initialDelaySeconds": 10,
                                                         "periodSeconds": 5}}
            p = Prober(ctx, pod(container), container, "cid", lambda: None, scale=SCALE)
            p.start()
            await asyncio.sleep(10 * SCALE * 0.7)
            assert not srv.requests and not p.ready
            await until(lambda: p.ready)
            await asyncio.sleep(12 * SCALE)  # a bit more than two periods
            assert 1 <= len(srv.requests) <= 4  # period 5 (100 ms): not more often
            await p.stop()
    run(tmp_path, body)


def test_check_messages() -> None:
    async def body() -> None:
        port = free_port()
        with pytest.raises(CheckFailed) as info:
            await tcp_check("127.0.0.1", port)
        assert str(info.value) == f"dial tcp 127.0.0.1:{port}: connect: connection refused"
        with pytest.raises(CheckFailed) as info:
            await http_check("127.0.0.1", port, "/healthz")
        assert str(info.value) == (f'Get "http://127.0.0.1:{port}/healthz": dial tcp 127.0.0.1:{port}: connect: '
                                   "connection refused")
        async with Server() as srv:
            srv.delay = 0.5
            with pytest.raises(CheckFailed) as info:
                await http_check("127.0.0.1", srv.port, "/", timeout=0.1)
            assert "context deadline exceeded" in str(info.value)
            srv.delay, srv.status = 0, 404
            with pytest.raises(CheckFailed, match="^HTTP probe failed with statuscode: 404$"):
                await http_check("127.0.0.1", srv.port, "/",
                                 headers=[{"name": "Host", "value": "example.test"}])
            assert srv.requests[-1].headers["Host"] == "example.test"
            assert await tcp_check("127.0.0.1", srv.port) == ""
    asyncio.run(body())


def test_https_probes_do_not_verify_the_certificate(tmp_path: Path) -> None:
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=not-the-pod"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))

    async def no_content(_: web.Request) -> web.Response:
        return web.Response(status=204)

    async def body() -> None:
        app = web.Application()
        app.router.add_get("/secure", no_content)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
        try:
            assert await http_check("127.0.0.1", port, "/secure", "HTTPS") == \
                "HTTP probe succeeded with statuscode: 204"
        finally:
            await runner.cleanup()
    asyncio.run(body())


def test_grpc_health_check_against_a_real_grpc_server() -> None:
    grpc_aio = pytest.importorskip("grpc.aio")
    health = pytest.importorskip("grpc_health.v1.health")
    health_pb2 = pytest.importorskip("grpc_health.v1.health_pb2")
    health_pb2_grpc = pytest.importorskip("grpc_health.v1.health_pb2_grpc")

    async def body() -> None:
        server = grpc_aio.server()
        servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
            await servicer.set("db", health_pb2.HealthCheckResponse.NOT_SERVING)
            assert await grpc_check("127.0.0.1", port) == "SERVING"
            with pytest.raises(CheckFailed, match='responded with "NOT_SERVING"'):
                await grpc_check("127.0.0.1", port, "db")
            with pytest.raises(CheckFailed):
                await grpc_check("127.0.0.1", port, "unknown-service")
            with pytest.raises(CheckFailed):
                await grpc_check("127.0.0.1", free_port())
        finally:
            await server.stop(None)
    asyncio.run(body())
