"""Reporting callbacks that block the daemon's event loop (``--debug-slow-callback``).

With the option, the daemon runs its loop in asyncio's debug mode with
``slow_callback_duration`` set, from the end of its start-up until the API is
closed (``serve`` says when). asyncio then warns of
every callback that held the loop that long; :class:`SlowCallbacks` rewrites
each warning into one line the test fixtures look for (``tests/loopcheck.py``)::

    WARNING baleine.loop: slow callback: <Task ...> [request GET /containers/json]
        [then awaiting at baleine/engine/x.py:12 in f < ...] took 0.123 s (cpu 0.118 s)

(on one line). The CPU time is the loop thread's own during that callback: on a
busy machine a callback can take long on the wall clock while the thread merely
waited for a core, and only CPU time tells real blocking work from that. A task's repr names only its outermost coroutine, which for every
API request is aiohttp's ``RequestHandler._handle_request()``: the line adds the
request and where the task waits now (the blocking code ran just before that
``await``). Debug only: nothing here runs without the option.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections import deque
from types import FrameType
from typing import Any

LINE = "slow callback: %s took %.3f s (cpu %.3f s)"
ASYNCIO_WARNING = "Executing %s took %.3f seconds"   # asyncio.base_events, 3.8 to 3.13
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # .../baleine/
_TOP = os.path.dirname(_PACKAGE.rstrip(os.sep))


def watch(seconds: float | None) -> None:
    """Debug mode on the running loop, reporting callbacks of ``seconds`` or more
    (nothing when ``seconds`` is 0 or None)."""
    if not seconds:
        return
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = seconds
    clock = CpuClock(loop.time)
    loop.time = clock  # type: ignore[method-assign]  # debug only: see CpuClock
    logging.getLogger("asyncio").addFilter(SlowCallbacks(clock))


class CpuClock:
    """The loop's clock, remembering the loop thread's CPU time at each reading.

    asyncio times a callback with two readings of ``loop.time()`` around it
    (``t0`` and ``t0 + dt``) and warns with ``dt``; :meth:`cpu_during` finds the
    reading taken at ``t0`` and returns the CPU time the thread spent since.
    Readings are kept for the last :attr:`KEPT` calls (a callback reading the clock
    more often than that gets None)."""

    KEPT = 512

    def __init__(self, time_fn: Any) -> None:
        self._time = time_fn
        self._readings: deque[tuple[float, float]] = deque(maxlen=self.KEPT)

    def __call__(self) -> float:
        now = self._time()
        self._readings.append((now, time.thread_time()))
        return now

    def cpu_during(self, seconds: float) -> float | None:
        """CPU time of this thread over the callback that just took ``seconds``
        (by the clock's last reading), or None if its start is no longer kept."""
        if not self._readings:
            return None
        end = self._readings[-1][0]
        start = end - seconds
        for at, cpu in reversed(self._readings):
            if abs(at - start) < 1e-6:
                return time.thread_time() - cpu
            if at < start - 1e-3:
                break
        return None


def unwatch() -> None:
    """Debug mode off (the daemon's clients are gone; its own shutdown may block)."""
    asyncio.get_running_loop().set_debug(False)


class SlowCallbacks(logging.Filter):
    """Turns asyncio's slow-callback warning into :data:`LINE` on ``baleine.loop``
    and drops the original; every other record passes. The CPU time comes from
    ``clock`` (the wall time when there is no clock or it lost the reading)."""

    def __init__(self, clock: CpuClock | None = None) -> None:
        super().__init__()
        self._clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != ASYNCIO_WARNING or len(record.args or ()) != 2:
            return True
        handle, seconds = record.args  # type: ignore[misc]
        try:
            detail = _detail(_running_task())
        except Exception:  # noqa: BLE001 - a report must never break the loop it reports on
            detail = ""
        cpu = self._clock.cpu_during(seconds) if self._clock is not None else None
        logging.getLogger("baleine.loop").warning(LINE, " ".join(f"{handle}{detail}".split()), seconds,
                                                  seconds if cpu is None else cpu)
        return False


def _running_task() -> asyncio.Task[Any] | None:
    """The task whose step just ran: ``handle`` in ``BaseEventLoop._run_once``,
    which is logging the warning (None if that handle is no task's step)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "_run_once":
        frame = frame.f_back
    handle = frame.f_locals.get("handle") if frame is not None else None
    task = getattr(getattr(handle, "_callback", None), "__self__", None)
    return task if isinstance(task, asyncio.Task) else None


def _detail(task: asyncio.Task[Any] | None) -> str:
    """`` [request M /path] [then awaiting at file:line in fn < ...]`` (parts known)."""
    if task is None:
        return ""
    out = ""
    request = _request(task)
    if request is not None:
        out += f" [request {request.method} {request.path_qs}]"
    where = [f"{os.path.relpath(f.f_code.co_filename, _TOP)}:{f.f_lineno} in {f.f_code.co_name}"
             for f in reversed(_our_frames(task)[-3:])]
    if where:
        out += f" [then awaiting at {' < '.join(where)}]"
    return out


def _request(task: asyncio.Task[Any]) -> Any:
    """The aiohttp request an API task serves, if it is one (debugging aid: reads
    aiohttp's frame locals and the response's private ``_req``)."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    if frame is not None:
        return frame.f_locals.get("request")
    if task.done() and not task.cancelled() and task.exception() is None:
        result = task.result()
        if isinstance(result, tuple) and result:
            return getattr(result[0], "_req", None)
    return None


def _our_frames(task: asyncio.Task[Any]) -> list[FrameType]:
    """Baleine's frames of a pending task, outermost first (``Task.get_stack()``
    stops at the outermost coroutine: this follows ``cr_await``)."""
    frames = []
    coro: Any = task.get_coro()
    for _ in range(50):
        if coro is None:
            break
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return [f for f in frames if f.f_code.co_filename.startswith(_PACKAGE)]
