"""Resource usage from Docker stats frames (pure): what the Metrics API's sampler
(``kube/metricsampler``) and the compose autoscaler (``engine/networks/autoscaler``)
both measure, computed one way.

- :func:`cpu_counter`: a frame's cumulative CPU time in nanoseconds (the cgroup's
  ``cpu.stat usage_usec`` as ``cpu_stats.cpu_usage.total_usage``);
- :func:`cpu_rate`: cores used between two ``(seconds, counter)`` readings, None when
  they give no window (same or older time, a counter gone backwards: a restart);
- :func:`working_set`: memory in use less inactive file pages (metrics-server's figure).
"""

from __future__ import annotations

from typing import Any


def cpu_counter(frame: dict[str, Any]) -> int:
    return int(((frame.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0)


def cpu_rate(previous: tuple[float, int], current: tuple[float, int]) -> float | None:
    (then, before), (now, after) = previous, current
    if now <= then or after < before:
        return None
    return (after - before) / 1e9 / (now - then)


def working_set(frame: dict[str, Any]) -> int:
    memory = frame.get("memory_stats") or {}
    stats = memory.get("stats") or {}
    inactive = stats.get("inactive_file", stats.get("total_inactive_file", 0)) or 0
    return max(0, int(memory.get("usage") or 0) - int(inactive))
