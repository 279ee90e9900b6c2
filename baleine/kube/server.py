"""The API server: aiohttp app over HTTPS, client-certificate authentication, routing to ``registry``.

``start(data_root, addr)`` binds ``addr`` first (a taken address fails before
anything is written), then makes the PKI and kubeconfig under
``<data-root>/kube/`` when missing, opens the storage, bootstraps the system
namespaces, the ``kubernetes`` Service and the Node, starts the garbage
collector and serves; ``Running.stop()`` undoes it (watches end). Requests without a client certificate signed by the cluster CA are
refused 401; certificates outside ``system:masters`` get 403 (there is no
RBAC yet: masters may do everything).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from . import certs, discovery, kubeconfig, node, openapi, printers, protobuf, servicecidr
from .gc import Collector
from .kinds import Kind, lookup
from .manager import Context, Manager, Options
from .registry import Registry
from .selectors import SelectorError, field_selector, label_selector
from .status import APIError
from .storage import Storage

if TYPE_CHECKING:
    from ..engine.interface import Backends

log = logging.getLogger("baleine.kube")
TABLE = "as=Table"
JSON = "application/json"
MASTERS = "system:masters"
PROBE = 5.0  # seconds between checks that a quiet watch's client is still there
_FIELD_LABELS = {"Pod": {"spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName",
                         "spec.serviceAccountName", "status.podIP"},
                 "Secret": {"type"}, "Event": {"involvedObject.kind", "involvedObject.name", "involvedObject.uid",
                                               "involvedObject.namespace", "reason", "type", "source"},
                 "Namespace": {"status.phase"}, "Node": {"spec.unschedulable"}}


def _dump(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def respond(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=_dump(body), status=status, content_type=JSON)
    for w in warnings or []:
        resp.headers.add("Warning", '299 - "' + w.replace('"', '\\"') + '"')
    return resp


def _user(request: web.Request) -> tuple[str, list[str]] | None:
    """The authenticated client certificate's CN and O's, None when anonymous."""
    transport = request.transport
    cert = transport.get_extra_info("peercert") if transport is not None else None
    if not cert:
        return None
    cn, orgs = "", []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    return cn, orgs


@web.middleware
async def _auth_and_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    user = _user(request)
    try:
        if user is None:
            raise APIError(401, "Unauthorized")
        if MASTERS not in user[1]:
            raise APIError(403, f'forbidden: User "{user[0]}" cannot {request.method.lower()} path '
                                f'"{request.path}"', "Forbidden")
        return await handler(request)
    except APIError as exc:
        return respond(exc.status(), exc.code)
    except (ValueError, yaml.YAMLError) as exc:
        return respond(APIError(400, str(exc)).status(), 400)


@dataclass
class Target:
    """What a resource URL names."""

    kind: Kind
    namespace: str | None
    name: str = ""
    subresource: str = ""


def parse_path(parts: list[str]) -> Target | None:
    """``[group, version, ...rest]`` -> the target, None if no served kind matches."""
    group, version, rest = parts[0], parts[1], parts[2:]
    if not rest:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3 and lookup(group, version, rest[2]) is not None:
        kind = lookup(group, version, rest[2])
        if not kind.namespaced or len(rest) > 5:
            return None
        return Target(kind, rest[1], rest[3] if len(rest) > 3 else "", rest[4] if len(rest) > 4 else "")
    kind = lookup(group, version, rest[0])
    if kind is None or len(rest) > 3:
        return None
    if kind.namespaced and len(rest) > 1:
        return None
    return Target(kind, None, rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "")


class API:
    """Request handlers over a registry."""

    def __init__(self, registry: Registry, address: str, ctx: Context | None = None) -> None:
        self.registry = registry
        self.address = address
        self.ctx = ctx

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = [p for p in request.path.split("/") if p]
        if path in (["healthz"], ["livez"], ["readyz"]):
            return web.Response(text="ok")
        if path == ["version"]:
            return respond(discovery.version())
        if path[:1] == ["openapi"]:
            return await self._openapi(request, path[1:])
        if path in (["api"], ["apis"]) and discovery.wants_aggregated(request.headers.get("Accept", "")):
            resp = respond(discovery.aggregated(core=path == ["api"]))
            resp.headers["Content-Type"] = discovery.AGGREGATED  # tells the client which form it got
            return resp
        if path == ["api"]:
            return respond(discovery.api_versions(self.address))
        if path == ["apis"]:
            return respond(discovery.api_groups())
        if path[:1] == ["apis"] and len(path) == 2 and discovery.api_group(path[1]):
            return respond(discovery.api_group(path[1]))
        gv = ["", path[1]] if path[:1] == ["api"] and len(path) >= 2 else path[1:3] if path[:1] == ["apis"] \
            and len(path) >= 3 else None
        if gv is None:
            raise APIError(404, "the server could not find the requested resource")
        rest = path[2:] if path[0] == "api" else path[3:]
        if not rest:
            doc = discovery.resources(gv[0], gv[1])
            if doc is None:
                raise APIError(404, "the server could not find the requested resource")
            return respond(doc)
        target = parse_path([gv[0], gv[1], *rest])
        if target is None:
            raise APIError(404, "the server could not find the requested resource")
        return await self._resource(request, target)

    async def _openapi(self, request: web.Request, rest: list[str]) -> web.Response:
        if rest == ["v2"]:
            accept = request.headers.get("Accept", "")
            if "protobuf" in accept and JSON not in accept:
                return web.Response(body=await asyncio.to_thread(openapi.v2_protobuf),
                                    content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            return web.Response(body=await asyncio.to_thread(openapi.v2), content_type=JSON)
        if rest == ["v3"]:
            return web.Response(body=await asyncio.to_thread(openapi.v3_index), content_type=JSON)
        if rest[:1] == ["v3"]:
            doc = await asyncio.to_thread(openapi.v3_for, "/".join(rest[1:]))
            if doc is not None:
                return web.Response(body=doc, content_type=JSON)
        raise APIError(404, "the server could not find the requested resource")

    # --- resources ----------------------------------------------------------

    async def _resource(self, request: web.Request, t: Target) -> web.StreamResponse:
        # a component may serve a whole kind (registered with subresource ""), like the Metrics API
        handler = self.ctx.subresources.get((t.kind.resource, t.subresource)) if self.ctx else None
        if handler is not None and (t.name or not t.subresource):
            return await handler(request, t, self.ctx)
        if t.subresource and (t.subresource != "status" or not t.kind.status):
            raise APIError(404, "the server could not find the requested resource")
        method = request.method
        q = request.query
        if not t.name:
            if method == "GET":
                if q.get("watch") in ("1", "true"):
                    return await self._watch(request, t)
                return self._list(request, t)
            if method == "POST":
                return await self._create(request, t)
            if method == "DELETE":
                return await self._delete_collection(request, t)
        elif method == "GET":
            obj = self.registry.get(t.kind, t.namespace or "", t.name)
            return self._show(request, t.kind, obj)
        elif method == "PUT":
            body = await self._body(request)
            obj, warnings = await self.registry.update(t.kind, t.namespace or "", t.name, body,
                                                       self._directive(request), "status" if t.subresource else "",
                                                       self._dry(request))
            return respond(self.registry.present(t.kind, obj), 200, warnings)
        elif method == "PATCH":
            obj, warnings, created = await self.registry.patch(
                t.kind, t.namespace or "", t.name, await request.read(), request.content_type,
                self._directive(request), "status" if t.subresource else "", q.get("fieldManager", ""),
                q.get("force") in ("1", "true"), self._dry(request))
            return respond(self.registry.present(t.kind, obj), 201 if created else 200, warnings)
        elif method == "DELETE":
            return await self._delete(request, t)
        raise APIError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")

    @staticmethod
    def _directive(request: web.Request) -> str:
        value = request.query.get("fieldValidation", "Warn")
        if value not in ("Strict", "Warn", "Ignore"):
            raise APIError(400, f'fieldValidation must be one of "Ignore", "Warn", "Strict": {value}')
        return value

    @staticmethod
    def _dry(request: web.Request) -> bool:
        return "All" in request.query.getall("dryRun", [])

    @staticmethod
    async def _body(request: web.Request) -> Any:
        raw = await request.read()
        if "protobuf" in request.content_type:
            try:
                return protobuf.decode(raw)
            except protobuf.Unsupported as exc:
                raise APIError(415, f"the body of the request was in an unknown format - accepted media types "
                                    f"include: application/json, application/yaml ({exc})",
                               "UnsupportedMediaType") from None
        try:
            if "yaml" in request.content_type:
                return yaml.safe_load(raw)
            return json.loads(raw) if raw else {}
        except (ValueError, yaml.YAMLError) as exc:
            raise APIError(400, f"couldn't get version/kind; json parse error: {exc}") from None

    def _matcher(self, request: web.Request, kind: Kind) -> Any:
        try:
            labels = label_selector(request.query.get("labelSelector", ""))
            fields = field_selector(request.query.get("fieldSelector", ""),
                                    frozenset(_FIELD_LABELS.get(kind.kind, ())))
        except SelectorError as exc:
            raise APIError(400, str(exc)) from None
        return lambda obj: labels(obj) and fields(obj)

    def _list(self, request: web.Request, t: Target) -> web.Response:
        try:
            limit = int(request.query.get("limit", "0") or 0)
        except ValueError:
            raise APIError(400, "limit must be an integer") from None
        objects, rv, token = self.registry.list(t.kind, t.namespace, self._matcher(request, t.kind), limit,
                                                request.query.get("continue", ""))
        if TABLE in request.headers.get("Accept", ""):
            return respond(printers.table(t.kind.kind, objects, rv, request.query.get("includeObject", "Object"),
                                          continue_token=token))
        meta = {"resourceVersion": rv}
        if token:
            meta["continue"] = token
        return respond({"kind": f"{t.kind.kind}List", "apiVersion": t.kind.group_version, "metadata": meta,
                        "items": objects})

    def _show(self, request: web.Request, kind: Kind, obj: dict[str, Any]) -> web.Response:
        """One object, as a one-row Table when the client asks for it."""
        if TABLE in request.headers.get("Accept", ""):
            rv = obj["metadata"].get("resourceVersion", "")
            return respond(printers.table(kind.kind, [obj], rv, request.query.get("includeObject", "Object")))
        return respond(obj)

    async def _create(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request)
        obj, warnings = await self.registry.create(t.kind, t.namespace or "", body, self._directive(request),
                                                   self._dry(request))
        return respond(self.registry.present(t.kind, obj), 201, warnings)

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        try:
            opts = await self._body(request) if request.can_read_body else {}
        except APIError:
            opts = {}  # a protobuf DeleteOptions: the defaults (kubectl passes the policy as JSON)
        opts = opts if isinstance(opts, dict) else {}
        if "propagationPolicy" in request.query:
            opts["propagationPolicy"] = request.query["propagationPolicy"]
        if opts.get("orphanDependents") is True:
            opts.setdefault("propagationPolicy", "Orphan")
        policy = opts.get("propagationPolicy") or "Background"
        if policy not in ("Orphan", "Background", "Foreground"):
            raise APIError(422, f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                                f'"{policy}": supported values: "Foreground", "Background", "Orphan", "nil"',
                           "Invalid")
        opts["propagationPolicy"] = policy
        return opts

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        opts = await self._delete_options(request)
        # The object is answered whether it is gone or terminating (kubectl then waits for it to go).
        grace = request.query.get("gracePeriodSeconds", opts.get("gracePeriodSeconds"))
        obj, _ = await self.registry.delete(t.kind, t.namespace or "", t.name, opts["propagationPolicy"],
                                            opts.get("preconditions"), self._dry(request),
                                            None if grace is None else int(grace))
        return respond(obj)

    async def _delete_collection(self, request: web.Request, t: Target) -> web.Response:
        opts = await self._delete_options(request)
        objects, rv, _ = self.registry.list(t.kind, t.namespace, self._matcher(request, t.kind))
        for obj in objects:
            try:
                await self.registry.delete(t.kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"],
                                           opts["propagationPolicy"], None, self._dry(request))
            except APIError as exc:
                if exc.code != 404:
                    raise
        return respond({"kind": f"{t.kind.kind}List", "apiVersion": t.kind.group_version,
                        "metadata": {"resourceVersion": str(self.registry.storage.rv)}, "items": objects})

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        table = TABLE in request.headers.get("Accept", "")
        timeout = float(request.query.get("timeoutSeconds", "0") or 0) or 1800.0
        events = self.registry.watch(t.kind, t.namespace, self._matcher(request, t.kind),
                                     request.query.get("resourceVersion"))
        resp = web.StreamResponse(headers={"Content-Type": "application/json;stream=watch"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)

        async def pump() -> None:
            while True:
                event = await _next_or_gone(events, request)
                if event is None:
                    return
                kind, obj = event
                if table:
                    obj = printers.table(t.kind.kind, [obj], obj["metadata"].get("resourceVersion", ""),
                                         request.query.get("includeObject", "Object"))
                await resp.write(_dump({"type": kind, "object": obj}) + b"\n")

        try:
            await asyncio.wait_for(pump(), timeout)
        except (asyncio.TimeoutError, ConnectionResetError):
            pass
        finally:
            await events.aclose()
        return resp


async def _next_or_gone(events: Any, request: web.Request) -> tuple[str, dict[str, Any]] | None:
    """The next watch event; None when the stream ends or the client went away.

    aiohttp does not cancel handlers of closed connections: a quiet watch checks
    its transport every ``PROBE`` seconds so that it does not outlive its client.
    """
    task = asyncio.ensure_future(anext(events, None))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=PROBE)
            if done:
                return task.result()
            if request.transport is None or request.transport.is_closing():
                return None
    finally:
        task.cancel()


def make_app(registry: Registry, address: str, ctx: Context | None = None) -> web.Application:
    app = web.Application(middlewares=[_auth_and_errors], client_max_size=8 * 1024 * 1024)
    api = API(registry, address, ctx)
    app.router.add_route("*", "/{tail:.*}", api.handle)
    return app


def tls_context(paths: certs.Paths) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=paths.file("ca.crt"))
    ctx.load_cert_chain(paths.file("server.crt"), paths.file("server.key"))
    ctx.verify_mode = ssl.CERT_OPTIONAL  # anonymous connections are answered 401, not cut
    return ctx


class Running:
    """A started API server."""

    def __init__(self, storage: Storage, collector: Collector, runner: web.AppRunner, url: str,
                 manager: Manager) -> None:
        self.storage = storage
        self.collector = collector
        self.runner = runner
        self.url = url
        self.manager = manager

    async def stop(self) -> None:
        await self.manager.stop()
        await self.collector.stop()
        self.storage.hub.close()
        await self.runner.cleanup()
        await self.storage.close()


def _prepare(paths: certs.Paths, host: str, url: str) -> None:
    certs.ensure(paths, host)
    kubeconfig.write(paths, url)
    openapi.load()


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is written (a taken address fails fast, with no trace)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def start(data_root: str, addr: str, backends: Backends | None = None,
                options: Options | None = None) -> Running:
    """Serve the Kubernetes API on ``addr`` (``host:port``) with state under ``<data_root>/kube``,
    and run the cluster's components (``manager``) over the engine's ``backends``.

    Raises OSError when the address cannot be bound (nothing is created then)
    and ValueError for a malformed address.
    """
    host, _, port = addr.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    sock = _bind(host, int(port))
    paths = certs.Paths(os.path.join(data_root, "kube"))
    url = kubeconfig.server_url(addr)
    storage = Storage(paths.file("objects.db"))
    collector: Collector | None = None
    runner: web.AppRunner | None = None
    manager: Manager | None = None
    try:
        await asyncio.to_thread(_prepare, paths, host, url)
        await storage.open()
        registry = Registry(storage, await asyncio.to_thread(servicecidr.load_or_choose, paths.root))
        await registry.bootstrap(await asyncio.to_thread(node.describe))
        collector = Collector(registry)
        collector.start()
        options = options or Options()
        options.data_root = options.data_root or data_root
        ctx = Context(registry, backends, options)
        manager = Manager(ctx)
        await manager.start()
        runner = web.AppRunner(make_app(registry, f"{host}:{port}", ctx), handle_signals=False, access_log=None,
                               shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, sock, ssl_context=tls_context(paths)).start()
    except BaseException:
        if manager is not None:
            await manager.stop()
        if collector is not None:
            await collector.stop()
        if runner is not None:
            await runner.cleanup()
        await storage.close()
        sock.close()
        raise
    log.info("Kubernetes API listening on %s (kubeconfig: %s)", url, paths.kubeconfig)
    return Running(storage, collector, runner, url, manager)
