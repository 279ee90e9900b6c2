"""Health checks: probes run inside running containers (moby's daemon/health.go).

A container whose merged ``Config.Healthcheck`` has a ``Test`` of ``CMD`` (an argv)
or ``CMD-SHELL`` (a string for ``/bin/sh -c``, or ``Config.Shell``) is probed while
it runs; ``NONE`` (or no test) disables checks. Each probe is an exec (so clients see
``exec_create``/``exec_start``/``exec_die`` events, as with docker) whose output is
captured, at most 4096 bytes (``...`` marks a truncation).

Timing, as docker: the first probe one interval after the start, the next one an
interval after the previous ended; during the start period, while still
"starting", the start interval is used instead. Defaults: interval 30 s, timeout
30 s, start period 0, start interval 5 s, retries 3. A probe running longer than
the timeout is killed and counts as a failure (ExitCode -1, Output
``Health check exceeded timeout (<timeout>)``).

``State.Health`` = ``{"Status": "starting"|"healthy"|"unhealthy", "FailingStreak":
n, "Log": [the last 5 {"Start", "End", "ExitCode", "Output"}]}``, persisted with
the container. A success makes the container healthy (and ends the start period);
a failure increments the streak — except while starting within the start period —
and ``Retries`` consecutive failures make it unhealthy. Each change of status emits
``health_status: <status>``. When the container starts, the status goes back to
"starting" (the log is kept); when it stops it becomes "unhealthy" without an
event (docker's compatibility rule). Probes are skipped while the container is
paused. After a daemon restart, running containers resume their checks
(``resume``), starting over from "starting" as docker does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from typing import TYPE_CHECKING, Any

from .records import Container
from ...rules.errors import Conflict, EngineError, InvalidParameter, NotFound
from ...rules.timestamps import ZERO_TIME, now_rfc3339nano, parse_rfc3339
from ...rules.units import format_duration_ns

if TYPE_CHECKING:
    from .exec import ExecInstance, Execs
    from .lifecycle import Lifecycle

log = logging.getLogger("baleine.health")

NS = 1_000_000_000
DEFAULT_INTERVAL = 30 * NS
DEFAULT_TIMEOUT = 30 * NS
DEFAULT_START_PERIOD = 0
DEFAULT_START_INTERVAL = 5 * NS
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT_LEN = 4096
#: docker's ``container.MinimumDuration``: shorter non-zero durations are refused
MINIMUM_DURATION = 1_000_000
#: how long starting a probe may take before it counts as failed (not the probe's timeout)
START_TIMEOUT = 30.0


def validate_healthcheck(hc: Any) -> None:
    """Docker's create-time checks of a ``Config.Healthcheck`` (None is fine).

    Raises InvalidParameter with docker's messages: a duration shorter than 1ms
    (but not 0, which means the default), or negative retries.
    """
    if hc is None:
        return
    if not isinstance(hc, dict):
        raise InvalidParameter("invalid Healthcheck: expected an object")
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        value = hc.get(key) or 0
        if not isinstance(value, int):
            raise InvalidParameter(f"invalid Healthcheck: {key} must be an integer (nanoseconds)")
        if value != 0 and value < MINIMUM_DURATION:
            raise InvalidParameter(f"{key} in Healthcheck cannot be less than {format_duration_ns(MINIMUM_DURATION)}")
    retries = hc.get("Retries") or 0
    if not isinstance(retries, int):
        raise InvalidParameter("invalid Healthcheck: Retries must be an integer")
    if retries < 0:
        raise InvalidParameter("Retries in Healthcheck cannot be negative")
    test = hc.get("Test")
    if test is not None and not isinstance(test, list):
        raise InvalidParameter("invalid Healthcheck: Test must be a list of strings")


def probe_command(c: Container) -> list[str] | None:
    """The argv a probe of the container runs, or None when it has no health check.

    ``["CMD", argv...]`` runs argv; ``["CMD-SHELL", cmd]`` runs the container's shell
    (``Config.Shell``, else ``/bin/sh -c``) with cmd; ``["NONE"]``, an empty test or
    an unknown type (logged, as docker does) mean no check.
    """
    hc = c.config.get("Healthcheck") or {}
    test = hc.get("Test") or []
    if not test:
        return None
    kind, args = test[0], list(test[1:])
    if kind == "CMD":
        return args or None
    if kind == "CMD-SHELL":
        shell = list(c.config.get("Shell") or ["/bin/sh", "-c"])
        return shell + args if args else None
    if kind != "NONE":
        log.warning("Unknown healthcheck type '%s' (expected 'CMD') in container %s", kind, c.id)
    return None


class LimitedBuffer:
    """Keeps the first MAX_OUTPUT_LEN bytes written; ``text()`` adds "..." if more came."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.truncated = False

    def write(self, data: bytes) -> None:
        keep = max(0, min(MAX_OUTPUT_LEN - len(self.buf), len(data)))
        self.buf += data[:keep]
        if keep < len(data):
            self.truncated = True

    def text(self) -> str:
        # Invalid UTF-8 becomes U+FFFD, as Go's JSON encoder does.
        out = self.buf.decode("utf-8", "replace")
        return out + "..." if self.truncated else out


def _ns(value: Any, default: int) -> int:
    """A Healthcheck duration (ns), or the default for 0 / missing."""
    try:
        value = int(value or 0)
    except (TypeError, ValueError):
        value = 0
    return value if value > 0 else default


def _wall(ts: str | None) -> float:
    """Unix time of an RFC 3339 timestamp (now when unknown)."""
    if not ts or ts == ZERO_TIME:
        return time.time()
    try:
        return parse_rfc3339(ts)
    except ValueError:
        return time.time()


class Health:
    """Runs the health checks of the running containers (see module docstring).

    Registers itself on the lifecycle's ``on_started``/``on_exited`` hooks; the
    per-container monitor task is ``Container.health_task`` (cancelled by the
    lifecycle when the container exits and at daemon shutdown).
    """

    def __init__(self, lifecycle: Lifecycle, execs: Execs) -> None:
        self.lifecycle = lifecycle
        self.containers = lifecycle.containers
        self.events = lifecycle.events
        self.execs = execs
        lifecycle.on_started.append(self.on_started)
        lifecycle.on_exited.append(self.on_exited)

    # -- hooks ----------------------------------------------------------------------

    def on_started(self, c: Container) -> None:
        """A container (re)started: reset its health to "starting" and monitor it."""
        self._init(c, reset=True)

    def on_exited(self, c: Container) -> None:
        """A container exited: stop its checks; a checked container is now unhealthy."""
        self._stop(c)
        health = c.state.get("Health")
        if health is not None and probe_command(c) is not None and health.get("Status") != "unhealthy":
            # Docker marks the status unhealthy when the monitor stops "for compatibility
            # reasons", without an event.
            health["Status"] = "unhealthy"
            self.containers.save(c)

    def resume(self) -> None:
        """After the daemon's start: resume the checks of the running containers
        (their status starts over from "starting", as with docker)."""
        for c in list(self.containers.by_id.values()):
            if c.running and not c.state.get("Restarting") and c.health_task is None:
                self._init(c, reset=not c.paused)

    def _init(self, c: Container, reset: bool) -> None:
        self._stop(c)
        argv = probe_command(c)
        if argv is None:
            return
        health = c.state.get("Health")
        if health is None:
            health = c.state["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": []}
        if reset:
            health["Status"] = "starting"
            health["FailingStreak"] = 0
        health.setdefault("Log", [])
        self.containers.save(c)
        c.health_task = asyncio.create_task(self._monitor(c, argv))

    def _stop(self, c: Container) -> None:
        task, c.health_task = c.health_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # -- the monitor ----------------------------------------------------------------

    async def _monitor(self, c: Container, argv: list[str]) -> None:
        """Probe the container until the task is cancelled or the container stops."""
        hc = c.config.get("Healthcheck") or {}
        interval = _ns(hc.get("Interval"), DEFAULT_INTERVAL) / NS
        timeout_ns = _ns(hc.get("Timeout"), DEFAULT_TIMEOUT)
        start_period = _ns(hc.get("StartPeriod"), DEFAULT_START_PERIOD) / NS
        start_interval = _ns(hc.get("StartInterval"), DEFAULT_START_INTERVAL) / NS
        retries = int(hc.get("Retries") or 0) or DEFAULT_RETRIES
        started = _wall(c.state.get("StartedAt"))

        def next_interval() -> float:
            # docker 25+: the start interval applies within the start period while starting.
            if time.time() - started >= start_period:
                return interval
            status = (c.state.get("Health") or {}).get("Status")
            return start_interval if status == "starting" else interval

        try:
            while True:
                await asyncio.sleep(next_interval())
                if c.health_task is not asyncio.current_task():
                    return
                if not self._checkable(c):
                    if c.running and c.paused:
                        continue  # no probes while paused, as docker stops its monitor
                    return
                result = await self._probe(c, argv, timeout_ns)
                if result is not None:
                    self._record(c, result, retries, start_period, started)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a broken monitor must not take the daemon down
            log.exception("health monitor of %s failed", c.id[:12])

    def _checkable(self, c: Container) -> bool:
        return (c.running and not c.paused and not c.state.get("Restarting")
                and c.id in self.containers.by_id and c.health_task is asyncio.current_task())

    async def _probe(self, c: Container, argv: list[str], timeout_ns: int) -> dict[str, Any] | None:
        """Run one probe; its HealthcheckResult, or None if the container went away."""
        start = now_rfc3339nano()
        try:
            ex = self.execs.create(c, {"Cmd": argv, "AttachStdout": True, "AttachStderr": True,
                                       "Tty": False, "Privileged": False})
        except (Conflict, NotFound):
            return None  # stopped or paused meanwhile
        try:
            return await self._run_exec(c, ex, start, timeout_ns)
        finally:
            self._forget_exec(c, ex)

    async def _run_exec(self, c: Container, ex: ExecInstance, start: str, timeout_ns: int) -> dict[str, Any] | None:
        try:
            link = await self.execs.start(ex, detach=False, tty=False)
        except (Conflict, NotFound):
            ex.started = False
            return None
        except EngineError as exc:
            return {"Start": start, "End": now_rfc3339nano(), "ExitCode": -1, "Output": str(exc)}
        assert link is not None
        output = LimitedBuffer()
        running = asyncio.Event()
        killed = False

        async def pump() -> None:
            while True:
                item = await link.read()
                if item is None:
                    return
                kind, payload = item
                if kind in (b"1", b"2"):
                    output.write(payload)
                elif kind == b"S":
                    state = json.loads(payload)
                    over = self.execs.on_state(ex, state)
                    if state.get("state") == "running" or over:
                        running.set()
                    if over:
                        return

        reader = asyncio.create_task(pump())
        try:
            # Starting the exec is not the probe's time (docker has a separate limit).
            started = asyncio.create_task(running.wait())
            await asyncio.wait({started, reader}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if not running.is_set() and not reader.done():
                return {"Start": start, "End": now_rfc3339nano(), "ExitCode": -1,
                        "Output": f"timed out starting health check for container {c.id}"}
            done, _ = await asyncio.wait({reader}, timeout=timeout_ns / NS)
            if not done:
                killed = True
                self._kill(ex)
                # Wait for the probe to be gone: dying probes must not pile up.
                await asyncio.wait({reader}, timeout=10)
        finally:
            if not reader.done():
                reader.cancel()
                if ex.pid and not killed:
                    self._kill(ex)  # cancelled (the container stopped, the daemon exits)
            await asyncio.gather(reader, return_exceptions=True)
            link.close()
            self.execs.finish(ex)
        end = now_rfc3339nano()
        if killed:
            limit = format_duration_ns(timeout_ns)
            text = output.text()
            msg = f"Health check exceeded timeout ({limit})" + (f": {text}" if text else "")
            return {"Start": start, "End": end, "ExitCode": -1, "Output": msg}
        error = ex.config.get("_error")
        if error:
            # docker reports the failed exec start as the probe's output.
            return {"Start": start, "End": end, "ExitCode": -1,
                    "Output": f"OCI runtime exec failed: exec failed: {error}: unknown"}
        return {"Start": start, "End": end, "ExitCode": int(ex.exit_code if ex.exit_code is not None else -1),
                "Output": output.text()}

    @staticmethod
    def _kill(ex: ExecInstance) -> None:
        """SIGKILL the probe's process (a host pid: runc exec wrote it)."""
        if ex.pid > 0:
            try:
                os.kill(ex.pid, signal.SIGKILL)
            except OSError:
                pass

    def _forget_exec(self, c: Container, ex: ExecInstance) -> None:
        """Probe execs are not kept: at a few per second they would pile up."""
        self.execs.by_id.pop(ex.id, None)
        ids = [i for i in (c.doc.get("ExecIDs") or []) if i != ex.id]
        c.doc["ExecIDs"] = ids or None

    def _record(self, c: Container, result: dict[str, Any], retries: int, start_period: float,
                started: float) -> None:
        """moby's ``handleProbeResult``: update State.Health, persist, announce changes."""
        if not self._checkable(c):
            return  # stopped while probing: the result no longer says anything
        health = c.state.get("Health")
        if health is None:
            health = c.state["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": []}
        old = health.get("Status") or "unhealthy"
        health["Log"] = ((health.get("Log") or []) + [result])[-MAX_LOG_ENTRIES:]
        if result["ExitCode"] == 0:
            health["FailingStreak"] = 0
            health["Status"] = "healthy"
        else:
            counts = True
            if old == "starting" and _wall(result["Start"]) - started < start_period:
                counts = False  # failures within the start period are forgiven
            if counts:
                health["FailingStreak"] = int(health.get("FailingStreak") or 0) + 1
                if health["FailingStreak"] >= retries:
                    health["Status"] = "unhealthy"
        self.containers.save(c)
        if health["Status"] != old:
            self.events.publish("container", "health_status: " + health["Status"], c.id,
                                self.lifecycle.attributes(c))
