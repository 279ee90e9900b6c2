"""Container lifecycle hooks: ``lifecycle.postStart`` after a container starts,
``lifecycle.preStop`` before it is stopped.

Contract of :func:`pre_stop` (Kubernetes 1.32): the hook runs before the stop
signal, within the pod's grace period, and the container is stopped whatever its
outcome: ``exec`` runs the command in the container (through the exec backend)
until it ends; ``httpGet`` asks the pod's address (200-399 is success);
``sleep`` waits ``seconds``. It returns the seconds it took; a failure is a
``FailedPreStopHook`` Warning event, as kubelet records it. :func:`post_start`
runs right after the start; a failure is a ``FailedPostStartHook`` event and the
container is killed (it restarts by its pod's policy).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from ..client import Client
    from ..manager import Context

Obj = dict[str, Any]
#: A postStart hook that has not ended after this long has failed.
POST_START_LIMIT = 120.0


async def _exec(ctx: Context, container_id: str, command: list[str]) -> None:
    execs = ctx.backends.exec
    exec_id = await execs.create(container_id, {"Cmd": command, "AttachStdout": False, "AttachStderr": False})
    await execs.start_detached(exec_id, tty=False, console_size=None)
    while True:
        state = await execs.inspect(exec_id)
        if not state.get("Running"):
            if state.get("ExitCode"):
                raise RuntimeError(f"command {command!r} exited with {state['ExitCode']}")
            return
        await asyncio.sleep(0.1)


def _port(port: Any, container: Obj) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise RuntimeError(f"port {port!r} is not a port of the container")


async def _http(handler: Obj, container: Obj, pod_ip: str) -> None:
    scheme = (handler.get("scheme") or "HTTP").lower()
    host = handler.get("host") or pod_ip
    url = f"{scheme}://{host}:{_port(handler.get('port'), container)}{handler.get('path') or '/'}"
    headers = {h["name"]: h.get("value", "") for h in handler.get("httpHeaders") or []}
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers, ssl=False, allow_redirects=False) as response:
            if not 200 <= response.status < 400:
                raise RuntimeError(f"HTTP lifecycle hook ({handler.get('path') or '/'}) for Container "
                                   f"\"{container['name']}\" returned {response.status}")


async def run(ctx: Context, hook: Obj, container: Obj, container_id: str, pod_ip: str, budget: float) -> None:
    """Run one hook handler (exec, httpGet or sleep) for at most ``budget`` seconds;
    raises on its failure (asyncio.TimeoutError past the budget)."""
    if "exec" in hook:
        work = _exec(ctx, container_id, list(hook["exec"].get("command") or []))
    elif "httpGet" in hook:
        work = _http(hook["httpGet"], container, pod_ip)
    elif "sleep" in hook:
        work = asyncio.sleep(float(hook["sleep"].get("seconds") or 0))
    else:
        return
    await asyncio.wait_for(work, max(budget, 0.1))


async def pre_stop(ctx: Context, client: Client, pod: Obj, container: Obj, container_id: str, pod_ip: str,
                   budget: float) -> float:
    """Run ``container``'s preStop hook within ``budget`` seconds; the seconds it took."""
    hook = (container.get("lifecycle") or {}).get("preStop") or {}
    if not hook:
        return 0.0
    began = time.monotonic()
    try:
        await run(ctx, hook, container, container_id, pod_ip, budget)
    except asyncio.TimeoutError:
        pass  # the grace period is over: the stop follows
    except Exception as exc:  # noqa: BLE001 - the container is stopped anyway
        await client.event(pod, "Warning", "FailedPreStopHook", f"PreStopHook failed: {exc}")
    return time.monotonic() - began


async def post_start(ctx: Context, client: Client, pod: Obj, container: Obj, container_id: str,
                     pod_ip: str) -> bool:
    """Run ``container``'s postStart hook (the container counts as started only after it);
    False, with a ``FailedPostStartHook`` event, when it failed: the caller kills the container."""
    hook = (container.get("lifecycle") or {}).get("postStart") or {}
    if not hook:
        return True
    try:
        await run(ctx, hook, container, container_id, pod_ip, POST_START_LIMIT)
    except Exception as exc:  # noqa: BLE001 - kubelet's words, whatever failed
        await client.event(pod, "Warning", "FailedPostStartHook", f"PostStartHook failed: {exc or 'timeout'}")
        return False
    return True
