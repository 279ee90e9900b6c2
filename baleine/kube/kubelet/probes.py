"""Liveness, readiness and startup probes of one container, with Kubernetes' semantics.

Contracts (Kubernetes 1.32, ``pkg/kubelet/prober``):

- A :class:`Prober` runs the container's probes from :meth:`Prober.start` to
  :meth:`Prober.stop`, one task per probe. Each probe waits
  ``initialDelaySeconds`` after the start, then checks every ``periodSeconds``
  (defaults: 0, 10; ``timeoutSeconds`` 1, ``successThreshold`` 1,
  ``failureThreshold`` 3). A result flips only after ``successThreshold``
  consecutive successes or ``failureThreshold`` consecutive failures
  (:class:`Threshold`).
- ``started`` is True without a startup probe; with one it starts False, and
  liveness and readiness are not probed until it has succeeded once (after which
  it is never probed again). ``ready`` starts False; without a readiness probe it
  follows ``started``. ``live`` starts True; a liveness probe reaching its failure
  threshold, or a startup probe reaching its own, makes it False for good: the
  node agent restarts the container and makes a new Prober for the new one.
- ``on_change()`` is called (synchronously, in the loop) whenever ``ready``,
  ``started`` or ``live`` flips.
- Checks: ``exec`` through ``ctx.backends.exec`` (failure on a non-zero exit or
  after ``timeoutSeconds``), ``httpGet`` from the host to the pod IP (read fresh
  from the registry) or ``host``, 200-399 is success, redirects not followed;
  ``tcpSocket`` a connection; ``grpc`` ``grpc.health.v1.Health/Check`` over h2c,
  written as raw HTTP/2 frames (no new dependency), SERVING is success. Ports are
  numbers or names of the container's ports.
- Every failed check records a Warning ``Unhealthy`` event on the pod with
  kubelet's message (``Readiness probe failed: HTTP probe failed with statuscode:
  500``); repeats fold into the event's count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..client import Client

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]
log = logging.getLogger("baleine.kube.kubelet.probes")
USER_AGENT = "kube-probe/1.32"
KINDS = ("startup", "liveness", "readiness")
#: kubelet keeps at most this much of a probe's output (``probe.maxReadLength``).
MAX_OUTPUT = 10 * 1024


@dataclass
class ProbeSpec:
    """One probe with Kubernetes' defaults filled in."""

    kind: str  # startup, liveness, readiness
    handler: Obj
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def of(cls, kind: str, probe: Obj) -> ProbeSpec:
        handler = {k: v for k, v in probe.items() if k in ("exec", "httpGet", "tcpSocket", "grpc")}
        success = int(probe.get("successThreshold") or 1)
        return cls(kind, handler, float(probe.get("initialDelaySeconds") or 0), float(probe.get("periodSeconds") or 10),
                   float(probe.get("timeoutSeconds") or 1),
                   success if kind == "readiness" else 1,  # liveness/startup must be 1
                   int(probe.get("failureThreshold") or 3))

    @property
    def title(self) -> str:
        return self.kind.capitalize()


class Threshold:
    """The result of one probe: flips after ``success`` consecutive successes or
    ``failure`` consecutive failures (``prober/worker.go`` ``resultRun``). An
    ``initial`` of None is Kubernetes' Unknown (the startup probe's): either
    threshold reached sets it."""

    def __init__(self, initial: bool | None, success: int, failure: int) -> None:
        self.result = initial
        self.success = max(success, 1)
        self.failure = max(failure, 1)
        self._last: bool | None = None
        self._run = 0

    def observe(self, ok: bool) -> bool:
        """Count one check; True when the result flipped."""
        self._run = self._run + 1 if ok == self._last else 1
        self._last = ok
        if ok == self.result or self._run < (self.success if ok else self.failure):
            return False
        self.result = ok
        return True


class CheckFailed(Exception):
    """A check that did not pass, with kubelet's message."""


# --- checks -------------------------------------------------------------------------
def resolve_port(port: Any, container: Obj) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise CheckFailed(f"unable to find port {port!r} in container {container.get('name')}")


async def http_check(host: str, port: int, path: str = "/", scheme: str = "HTTP",
                     headers: list[Obj] | None = None, timeout: float = 1.0) -> str:
    """GET ``scheme://host:port/path``; the status line on success (200-399),
    CheckFailed with kubelet's message otherwise. TLS is not verified, as kubelet."""
    import aiohttp

    scheme = (scheme or "HTTP").lower()
    shown = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{shown}:{port}{path if path.startswith('/') else '/' + path}"
    send = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    for h in headers or []:
        send[h.get("name", "")] = h.get("value", "")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout),
                                         connector=aiohttp.TCPConnector(ssl=False, force_close=True)) as session:
            async with session.get(url, headers=send, allow_redirects=False) as resp:
                await resp.content.read(10 * 1024)
                status = resp.status
    except asyncio.TimeoutError:
        raise CheckFailed(f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
                          'headers)') from None
    except aiohttp.ClientConnectorError as exc:
        raise CheckFailed(f'Get "{url}": dial tcp {shown}:{port}: connect: {_reason(exc.os_error)}') from None
    except (aiohttp.ClientError, OSError) as exc:
        raise CheckFailed(f'Get "{url}": {exc}') from None
    if not 200 <= status < 400:
        raise CheckFailed(f"HTTP probe failed with statuscode: {status}")
    return f"HTTP probe succeeded with statuscode: {status}"


def _reason(exc: BaseException | None) -> str:
    """Go's wording of a connect error (``connection refused``...)."""
    errno = getattr(exc, "errno", None)
    text = os.strerror(errno) if errno else str(exc)
    return text[0].lower() + text[1:] if text else "failed"


async def tcp_check(host: str, port: int, timeout: float = 1.0) -> str:
    """Open a TCP connection; CheckFailed as ``dial tcp host:port: ...``."""
    shown = f"[{host}]" if ":" in host else host
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except asyncio.TimeoutError:
        raise CheckFailed(f"dial tcp {shown}:{port}: i/o timeout") from None
    except OSError as exc:
        raise CheckFailed(f"dial tcp {shown}:{port}: connect: {_reason(exc)}") from None
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return ""


# HTTP/2 frame types and flags (RFC 9113) used by the gRPC check.
_DATA, _HEADERS, _SETTINGS, _GOAWAY, _RST = 0x0, 0x1, 0x4, 0x7, 0x3
_END_STREAM, _END_HEADERS, _ACK = 0x1, 0x4, 0x1
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_SERVING = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def _hpack_literal(name: str, value: str) -> bytes:
    """A header as an HPACK literal without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    def string(s: str) -> bytes:
        raw = s.encode()
        return _hpack_int(len(raw), 7) + raw
    return b"\x00" + string(name) + string(value)


def _hpack_int(value: int, prefix: int) -> bytes:
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes([value])
    out, value = [limit], value - limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def grpc_request(authority: str, service: str) -> bytes:
    """The client's side of one ``Health/Check`` call on stream 1."""
    headers = b"".join(_hpack_literal(k, v) for k, v in (
        (":method", "POST"), (":scheme", "http"), (":path", "/grpc.health.v1.Health/Check"),
        (":authority", authority), ("content-type", "application/grpc"), ("te", "trailers"),
        ("user-agent", USER_AGENT)))
    raw = service.encode()
    message = (b"\x0a" + _hpack_int(len(raw), 8) + raw) if raw else b""  # HealthCheckRequest.service = 1
    body = b"\x00" + struct.pack(">I", len(message)) + message
    return (_PREFACE + _frame(_SETTINGS, 0, 0, b"") + _frame(_HEADERS, _END_HEADERS, 1, headers)
            + _frame(_DATA, _END_STREAM, 1, body))


def _serving_status(message: bytes) -> int:
    """``HealthCheckResponse.status`` (field 1, varint; absent means UNKNOWN)."""
    i = 0
    while i < len(message):
        key = message[i]
        i += 1
        if key == 0x08:
            value, shift = 0, 0
            while i < len(message):
                b = message[i]
                i += 1
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    return value
        break
    return 0


async def grpc_check(host: str, port: int, service: str = "", timeout: float = 1.0) -> str:
    """``grpc.health.v1.Health/Check`` over h2c; SERVING passes."""
    try:
        return await asyncio.wait_for(_grpc_call(host, port, service), timeout)
    except asyncio.TimeoutError:
        raise CheckFailed(f"timeout: health rpc did not complete within {timeout:g}s") from None
    except OSError as exc:
        shown = f"[{host}]" if ":" in host else host
        raise CheckFailed(f"timeout: failed to connect service \"{shown}:{port}\" within {timeout:g}s: "
                          f"{_reason(exc)}") from None


async def _grpc_call(host: str, port: int, service: str) -> str:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(grpc_request(f"{host}:{port}", service))
        await writer.drain()
        data = b""
        while True:
            head = await reader.readexactly(9)
            length = int.from_bytes(head[:3], "big")
            kind, flags, stream = head[3], head[4], struct.unpack(">I", head[5:9])[0] & 0x7FFFFFFF
            payload = await reader.readexactly(length) if length else b""
            if kind == _SETTINGS and not flags & _ACK:
                writer.write(_frame(_SETTINGS, _ACK, 0, b""))
            elif kind == _DATA and stream == 1:
                data += payload
                if len(data) >= 5 and len(data) >= 5 + struct.unpack(">I", data[1:5])[0]:
                    status = _serving_status(data[5:5 + struct.unpack(">I", data[1:5])[0]])
                    if status == 1:
                        return "SERVING"
                    raise CheckFailed(f'service unhealthy (responded with "{_SERVING.get(status, status)}")')
            elif (kind in (_HEADERS, _RST) and stream == 1 and flags & _END_STREAM) or kind == _GOAWAY \
                    or (kind == _RST and stream == 1):
                raise CheckFailed("rpc error: the health check ended without a response (is grpc.health.v1 "
                                  "served?)")
    except asyncio.IncompleteReadError:
        raise CheckFailed("rpc error: code = Unavailable desc = connection closed") from None
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def exec_check(ctx: Context, container_id: str, command: list[str], timeout: float) -> str:
    """Run ``command`` in the container, attached; its output on success. A non-zero
    exit fails with the output as the message (as kubelet reports it), a timeout
    with ``command "..." timed out``, a process that cannot start with the
    runtime's error."""
    backend = ctx.backends.exec if ctx.backends is not None else None
    if backend is None:
        raise CheckFailed("exec probes need the engine")
    exec_id = await backend.create(container_id, {"Cmd": list(command), "AttachStdout": True,
                                                   "AttachStderr": True})
    started = await backend.start_attached(exec_id, tty=False, console_size=None)
    output = bytearray()

    async def pump() -> None:
        while (item := await started.link.read()) is not None:
            kind, payload = item
            if kind in (b"1", b"2") and len(output) < MAX_OUTPUT:
                output.extend(payload[:MAX_OUTPUT - len(output)])
            elif kind == b"S":
                backend.on_state(exec_id, json.loads(payload))

    timed_out = False
    try:
        await asyncio.wait_for(pump(), timeout)
    except asyncio.TimeoutError:
        timed_out = True
    finally:
        started.link.close()
        await backend.finish(exec_id)
    if timed_out:
        raise CheckFailed(f"command {_quote(command)} timed out")
    failure = await backend.failure(exec_id)
    if failure:
        raise CheckFailed(f"OCI runtime exec failed: {failure}: unknown")
    text = output.decode("utf-8", "replace")
    code = (await backend.inspect(exec_id)).get("ExitCode")
    if code:
        raise CheckFailed(text.rstrip("\n") or f"command {_quote(command)} exited with {code}")
    return text


def _quote(command: list[str]) -> str:
    return '"' + " ".join(command) + '"'


# --- the prober -----------------------------------------------------------------------
class Prober:
    """The probes of one container (see the module's contracts). ``scale`` multiplies
    every wait (delays and periods, not check timeouts): tests use a fraction."""

    def __init__(self, ctx: Context, pod: Obj, container: Obj, container_id: str,
                 on_change: Callable[[], None], *, scale: float = 1.0) -> None:
        self.ctx = ctx
        self.pod = pod
        self.container = container
        self.container_id = container_id
        self.on_change = on_change
        self.scale = scale
        self.client = Client(ctx.registry, "kubelet")
        self.specs = {kind: ProbeSpec.of(kind, container[f"{kind}Probe"])
                      for kind in KINDS if container.get(f"{kind}Probe")}
        self.started = "startup" not in self.specs
        self.live = True
        self.ready = False if "readiness" in self.specs else self.started
        self._started_event = asyncio.Event()
        if self.started:
            self._started_event.set()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start probing, one task per probe (in the running loop)."""
        name = f"{self.pod['metadata'].get('name')}/{self.container.get('name')}"
        for kind, spec in self.specs.items():
            self._tasks.append(asyncio.create_task(self._loop(spec), name=f"probe {kind} {name}"))

    async def stop(self) -> None:
        """Stop probing (the states stay as they were)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- the loop ------------------------------------------------------------------------
    async def _loop(self, spec: ProbeSpec) -> None:
        initial = {"startup": None, "liveness": True, "readiness": False}[spec.kind]
        state = Threshold(initial, spec.success_threshold, spec.failure_threshold)
        await asyncio.sleep(spec.initial_delay * self.scale)
        if spec.kind != "startup":
            await self._started_event.wait()
        while True:
            ok = await self.check(spec)
            if state.observe(ok) and self._apply(spec.kind, bool(state.result)):
                return  # startup passed, or liveness/startup failed: this probe is done
            await asyncio.sleep(spec.period * self.scale)

    def _apply(self, kind: str, result: bool) -> bool:
        """Reflect a flipped result; True when the probe stops (Kubernetes puts a
        failed liveness/startup worker on hold, a passed startup worker ends)."""
        if kind == "readiness":
            self._set(ready=result)
            return False
        if kind == "startup" and result:
            self._started_event.set()
            self._set(started=True, ready=self.ready if "readiness" in self.specs else True)
            return True
        if not result:  # liveness or startup failed past its threshold
            self._set(live=False, ready=False)
            return True
        return False

    def _set(self, **values: bool) -> None:
        changed = False
        for key, value in values.items():
            if getattr(self, key) != value:
                setattr(self, key, value)
                changed = True
        if changed:
            try:
                self.on_change()
            except Exception:  # noqa: BLE001 - the caller's bug must not stop probing
                log.exception("probe on_change callback failed")

    async def check(self, spec: ProbeSpec) -> bool:
        """Run one check; a failure records the Unhealthy event."""
        try:
            await self._run(spec)
            return True
        except asyncio.CancelledError:
            raise
        except CheckFailed as exc:
            message = str(exc)
        except Exception as exc:  # noqa: BLE001 - the engine's errors count as failures, as kubelet's do
            message = str(exc) or type(exc).__name__
        await self.client.event(self.pod, "Warning", "Unhealthy", f"{spec.title} probe failed: {message}")
        return False

    def _run(self, spec: ProbeSpec) -> Awaitable[str]:
        handler = spec.handler
        if "exec" in handler:
            return exec_check(self.ctx, self.container_id, (handler["exec"] or {}).get("command") or [], spec.timeout)
        if "httpGet" in handler:
            h = handler["httpGet"] or {}
            return http_check(h.get("host") or self.pod_ip(), resolve_port(h.get("port"), self.container),
                              h.get("path") or "/", h.get("scheme") or "HTTP", h.get("httpHeaders"), spec.timeout)
        if "tcpSocket" in handler:
            h = handler["tcpSocket"] or {}
            return tcp_check(h.get("host") or self.pod_ip(), resolve_port(h.get("port"), self.container),
                             spec.timeout)
        if "grpc" in handler:
            h = handler["grpc"] or {}
            return grpc_check(self.pod_ip(), int(h.get("port") or 0), h.get("service") or "", spec.timeout)
        raise CheckFailed("the probe names no handler")

    def pod_ip(self) -> str:
        """The pod's IP as the registry has it now (the agent sets it after the sandbox)."""
        meta = self.pod["metadata"]
        fresh = self.client.get("pods", meta.get("namespace") or "default", meta["name"])
        ip = ((fresh or self.pod).get("status") or {}).get("podIP") or (self.pod.get("status") or {}).get("podIP")
        if not ip:
            raise CheckFailed("the pod has no IP yet")
        return str(ip)
