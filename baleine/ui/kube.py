"""The dashboard's Kubernetes pages: read-only views of the cluster's objects, a live
change stream, each HPA's recent history (``hpahistory``), and two Deployment actions
(scale, restart).

The dashboard reads the objects in-process, through the cluster's own
``baleine.kube.client.Client`` over the API server's registry (no HTTP to itself, no
kubeconfig). The daemon starts the Kubernetes API after the dashboard, so the UI app
holds a :class:`KubeSlot` that ``attach`` fills once the API server runs (or marks as
disabled). Routes (behind ``auth.auth_middleware``: a session for everything, the
CSRF token for the two POSTs):

- ``GET /ui/kube/namespaces``: ``{"items": [Namespace, ...]}``;
- ``GET /ui/kube/{resource}?namespace=NS``: ``{"items": [...]}`` of one of
  :data:`RESOURCES` (all namespaces without ``namespace``; Namespaces are never filtered),
  or of :data:`HISTORY`: the HPAs' series (``hpahistory.HPAHistory``);
- ``GET /ui/kube/{resource}/{namespace}/{name}``: one object or series (404 when absent);
- ``GET /ui/kube/watch?namespace=NS&resources=pods,services``: newline-separated
  JSON ``{"resource", "type", "object"}`` (``type``: ADDED for what exists, then
  ADDED/MODIFIED/DELETED as they happen), for the listed resources (default all),
  until the client leaves or the API server stops; :data:`HISTORY` among the resources adds
  the HPAs' series (ADDED with their samples so far, then SAMPLE with each new one,
  DELETED); an empty line every
  :data:`HEARTBEAT` seconds notices a client that left a quiet stream;
- ``POST /ui/kube/deployments/{namespace}/{name}/scale`` ``{"replicas": N}``: a merge
  patch of ``spec.replicas``, as ``kubectl scale`` ends up;
- ``POST /ui/kube/deployments/{namespace}/{name}/restart``: a merge patch of the pod
  template's ``kubectl.kubernetes.io/restartedAt`` annotation, as ``kubectl rollout
  restart`` does. Both answer the patched Deployment.

Without the Kubernetes API (``--kube-addr=``) every route answers 404 ``{"message":
"Kubernetes API not enabled ..."}``; while it is still starting, 503. Registry errors
keep their Kubernetes status code and message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .hpahistory import HPAHistory

if TYPE_CHECKING:
    from ..kube.client import Client
    from ..kube.server import Running

#: Dashboard name → storage key.
RESOURCES: dict[str, str] = {
    "namespaces": "namespaces",  # cluster-scoped: ``namespace`` does not filter them
    "deployments": "deployments.apps",
    "replicasets": "replicasets.apps",
    "pods": "pods",
    "services": "services",
    "endpointslices": "endpointslices.discovery.k8s.io",
    "events": "events",
    "horizontalpodautoscalers": "horizontalpodautoscalers.autoscaling",
    "ingresses": "ingresses.networking.k8s.io",
}
#: Not a kind: the HPAs' sampled history, served beside the resources.
HISTORY = "hpahistory"
NOT_ENABLED = "Kubernetes API not enabled: start the daemon with --kube-addr HOST:PORT"
STARTING = "the Kubernetes API is starting"
HEARTBEAT = 5.0  # seconds: kube-apiserver's watch probes its clients as often
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


@dataclass
class KubeSlot:
    """Filled once by ``attach``: ``state`` is ``pending`` (the API server is starting),
    ``enabled`` (``client`` set) or ``disabled``."""

    state: str = "pending"
    client: Client | None = None
    history: HPAHistory | None = None
    task: asyncio.Task[None] | None = None  # the history's sampling, from ``attach`` on


KUBE: web.AppKey[KubeSlot] = web.AppKey("ui_kube", KubeSlot)


def add_routes(app: web.Application) -> None:
    """Register the routes and an empty slot (``attach`` fills it later)."""
    app[KUBE] = KubeSlot()
    app.router.add_get("/ui/kube/namespaces", namespaces)
    app.router.add_get("/ui/kube/watch", watch)
    app.router.add_get("/ui/kube/{resource}", list_objects)
    app.router.add_get("/ui/kube/{resource}/{namespace}/{name}", get_object)
    app.router.add_post("/ui/kube/deployments/{namespace}/{name}/scale", scale)
    app.router.add_post("/ui/kube/deployments/{namespace}/{name}/restart", restart)
    app.on_cleanup.append(_stop_history)


def attach(app: web.Application, running: Running | None) -> None:
    """Give the dashboard the started Kubernetes API server (``None``: the daemon serves none)."""
    slot = app[KUBE]
    if running is None:
        slot.state, slot.client = "disabled", None
        return
    from ..kube.client import Client  # loaded by now: the API server runs

    slot.client = Client(running.manager.ctx.registry, component="baleine-dashboard")
    slot.history = HPAHistory()
    # From now on, not from when a page opens: the plot shows what happened before.
    slot.task = asyncio.get_running_loop().create_task(slot.history.run(slot.client), name="ui-hpa-history")
    slot.state = "enabled"


async def _stop_history(app: web.Application) -> None:
    """The sampling ends with the API server's watch; at the dashboard's cleanup at the latest."""
    task = app[KUBE].task
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _message(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status, headers={"Cache-Control": "no-store"})


class _Refused(Exception):
    """Carries the answer to give instead (no API server, unknown resource, bad body)."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


def _client(request: web.Request) -> Client:
    """The slot's client; raises ``_Refused`` with the 404/503 answer otherwise."""
    slot = request.config_dict[KUBE]
    if slot.state == "pending":
        raise _Refused(_message(503, STARTING))
    if slot.client is None:
        raise _Refused(_message(404, NOT_ENABLED))
    return slot.client


def _storage_key(name: str) -> str:
    if name not in RESOURCES:
        raise _Refused(_message(404, f"unknown resource {name!r}: one of {', '.join([*RESOURCES, HISTORY])}"))
    return RESOURCES[name]


def _history(request: web.Request) -> HPAHistory:
    history = request.config_dict[KUBE].history
    assert history is not None  # set with the client
    return history


async def _answer(request: web.Request,
                  make: Callable[[Client], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Run ``make(client)``; map the slot's and the registry's failures to answers."""
    from ..kube.status import APIError  # only reached once the API server runs

    try:
        return await make(_client(request))
    except _Refused as exc:
        return exc.response
    except APIError as exc:
        return _message(exc.code, exc.message)


def _json(body: Any) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), content_type="application/json",
                        headers={"Cache-Control": "no-store"})


async def namespaces(request: web.Request) -> web.StreamResponse:
    async def make(client: Client) -> web.StreamResponse:
        return _json({"items": client.list("namespaces")})
    return await _answer(request, make)


async def list_objects(request: web.Request) -> web.StreamResponse:
    async def make(client: Client) -> web.StreamResponse:
        namespace = request.query.get("namespace") or None
        if request.match_info["resource"] == HISTORY:
            return _json({"items": _history(request).snapshot(namespace)})
        key = _storage_key(request.match_info["resource"])
        return _json({"items": client.list(key, namespace)})
    return await _answer(request, make)


async def get_object(request: web.Request) -> web.StreamResponse:
    async def make(client: Client) -> web.StreamResponse:
        m = request.match_info
        if m["resource"] == HISTORY:
            obj = _history(request).get(m["namespace"], m["name"])
        else:
            obj = client.get(_storage_key(m["resource"]), m["namespace"], m["name"])
        if obj is None:
            return _message(404, f"{m['resource']} {m['namespace']}/{m['name']} not found")
        return _json(obj)
    return await _answer(request, make)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except (ValueError, UnicodeDecodeError):
        raise _Refused(_message(400, "the body must be a JSON object")) from None
    if not isinstance(body, dict):
        raise _Refused(_message(400, "the body must be a JSON object"))
    return body


async def scale(request: web.Request) -> web.StreamResponse:
    async def make(client: Client) -> web.StreamResponse:
        replicas = (await _body(request)).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            return _message(400, "replicas must be a non-negative integer")
        m = request.match_info
        return _json(await client.patch("deployments.apps", m["namespace"], m["name"], {"spec": {"replicas": replicas}}))
    return await _answer(request, make)


async def restart(request: web.Request) -> web.StreamResponse:
    async def make(client: Client) -> web.StreamResponse:
        m = request.match_info
        # kubectl writes time.Now() in RFC 3339; any new value changes the template's hash.
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        return _json(await client.patch("deployments.apps", m["namespace"], m["name"], patch))
    return await _answer(request, make)


# --- the live stream ---------------------------------------------------------------------------

async def _pump(client: Client, key: str, name: str, namespace: str | None,
                out: asyncio.Queue[dict[str, Any] | None]) -> None:
    """Copy one resource's watch into ``out``; ``None`` when the API server ends it."""
    events: AsyncIterator[tuple[str, Any]] = client.watch(key, namespace)
    try:
        async for type_, obj in events:
            out.put_nowait({"resource": name, "type": type_, "object": obj})
    finally:
        await events.aclose()  # type: ignore[attr-defined]
        out.put_nowait(None)


async def _pump_history(history: HPAHistory, namespace: str | None,
                        out: asyncio.Queue[dict[str, Any] | None]) -> None:
    """The HPAs' series (ADDED), then their changes, into ``out`` until cancelled."""
    changes = history.subscribe()  # with the snapshot, in one step: nothing missed or repeated
    try:
        for series in history.snapshot(namespace):
            out.put_nowait({"resource": HISTORY, "type": "ADDED", "object": series})
        while True:
            change = await changes.get()
            if change["type"] == "END":
                return
            if namespace is None or change["object"]["metadata"]["namespace"] == namespace:
                out.put_nowait({"resource": HISTORY, **change})
    finally:
        history.unsubscribe(changes)
        out.put_nowait(None)


def _wanted(request: web.Request) -> list[str]:
    names = [n for n in request.query.get("resources", "").split(",") if n] or [*RESOURCES, HISTORY]
    for n in names:
        if n != HISTORY:
            _storage_key(n)
    return names


async def watch(request: web.Request) -> web.StreamResponse:
    async def make(client: Client) -> web.StreamResponse:
        names = _wanted(request)
        namespace = request.query.get("namespace") or None
        # Unbounded, as the registry's own watch queues: a pump must never wait on a
        # client, or cancelling it at the end could wait forever.
        out: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        pumps = [asyncio.create_task(_pump(client, RESOURCES[n], n, namespace, out)) for n in names if n != HISTORY]
        if HISTORY in names:
            pumps.append(asyncio.create_task(_pump_history(_history(request), namespace, out)))
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson", "Cache-Control": "no-store"})
        try:
            await resp.prepare(request)
            await _stream(request, resp, out, len(pumps))
        except ConnectionResetError:
            pass  # the client left
        finally:
            for p in pumps:
                p.cancel()
            for p in pumps:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await p
        return resp
    return await _answer(request, make)


async def _stream(request: web.Request, resp: web.StreamResponse, out: asyncio.Queue[dict[str, Any] | None],
                  pumps: int) -> None:
    """Write events until every pump ended or the client left; a heartbeat line when quiet
    (aiohttp does not cancel a handler whose client left: a write is what notices)."""
    ended = 0
    while ended < pumps:
        try:
            item = await asyncio.wait_for(out.get(), HEARTBEAT)
        except asyncio.TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return
            await resp.write(b"\n")
            continue
        if item is None:
            ended += 1
            continue
        await resp.write(json.dumps(item, separators=(",", ":")).encode() + b"\n")
