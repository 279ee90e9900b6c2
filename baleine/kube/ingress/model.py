"""Ingresses → a routing table (pure): what the proxy must do, nginx aside.

Inputs are API objects (dicts) as stored: IngressClasses, Ingresses, Services,
EndpointSlices, Secrets. :func:`build` keeps the Ingresses of our class
(``spec.ingressClassName`` naming an IngressClass whose ``spec.controller`` is
:data:`CONTROLLER`, or no class name while such a class is the default one), and
resolves each backend to its Service port and *ready* endpoints (pod IP and the
EndpointSlice's port, i.e. the resolved targetPort). :func:`match` states the
semantics the rendered nginx.conf implements, so they can be tested without nginx:

- hosts: exact, or ``*.example.org`` matching exactly one more label; exact first;
  rules without a host belong to every host's fallback (the default server);
- paths: ``Exact`` equal; ``Prefix`` element-wise on ``/`` (``/foo`` matches
  ``/foo``, ``/foo/``, ``/foo/bar``, not ``/foobar``); ``ImplementationSpecific``
  as ``Prefix``; longest path wins, ``Exact`` before ``Prefix`` on a tie; between
  Ingresses, the oldest one's path wins a conflict (as ingress-nginx);
- a request no path matches goes to the default backend (``spec.defaultBackend``
  of the oldest Ingress that has one), else 404.

Routes of labelled containers (compose's ``x-baleine-ingress``, see
:mod:`.containers`) are merged into the same table by :func:`merge`, as ``Prefix``
paths under the same rules; on a conflict (same host, same path) the Kubernetes
Ingress wins, and so does its TLS Secret for a host. A container route's ``tls``
names a Secret of the namespace ``default`` (missing: the default certificate).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

CONTROLLER = "baleine.io/ingress-nginx"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


@dataclass(frozen=True)
class Backend:
    """A Service port and its ready endpoints (``ip:port``), sorted."""

    namespace: str
    service: str
    port: str  # the Ingress's port: a number as text, or a name
    endpoints: tuple[str, ...] = ()

    @property
    def upstream(self) -> str:
        return f"{self.namespace}-{self.service}-{self.port}"


@dataclass(frozen=True)
class Route:
    path: str
    exact: bool
    backend: Backend | None  # None: a resource backend, which nginx cannot serve (404)


@dataclass
class Server:
    host: str  # "" for the default server
    routes: list[Route] = field(default_factory=list)
    tls: tuple[str, str] | None = None  # PEM certificate and key; None: not configured
    tls_secret: str = ""  # namespace/name of the secret configured (may be missing)


@dataclass
class Problem:
    """Something to report as an event on an Ingress (``Warning``)."""

    namespace: str
    name: str
    reason: str
    message: str


@dataclass
class Table:
    servers: dict[str, Server] = field(default_factory=dict)
    default_backend: Backend | None = None
    ingresses: list[tuple[str, str]] = field(default_factory=list)  # the ones of our class
    containers: list[str] = field(default_factory=list)  # sources of the container routes merged
    problems: list[Problem] = field(default_factory=list)

    def upstreams(self) -> list[Backend]:
        seen: dict[str, Backend] = {}
        for server in self.servers.values():
            for r in server.routes:
                if r.backend is not None:
                    seen.setdefault(r.backend.upstream, r.backend)
        if self.default_backend is not None:
            seen.setdefault(self.default_backend.upstream, self.default_backend)
        return [seen[k] for k in sorted(seen)]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def our_classes(classes: list[Obj]) -> tuple[set[str], bool]:
    """Names of the IngressClasses of our controller, and whether one is the default."""
    names, default = set(), False
    for c in classes:
        if (c.get("spec") or {}).get("controller") == CONTROLLER:
            names.add(_meta(c)["name"])
            if (_meta(c).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
                default = True
    return names, default


def is_ours(ingress: Obj, classes: list[Obj]) -> bool:
    names, default = our_classes(classes)
    name = (ingress.get("spec") or {}).get("ingressClassName")
    if name:
        return name in names
    legacy = (_meta(ingress).get("annotations") or {}).get("kubernetes.io/ingress.class")
    return legacy in names if legacy else default


def _ready_endpoints(slices: list[Obj], port_name: str) -> tuple[str, ...]:
    found: set[str] = set()
    for s in slices:
        ports = [p for p in s.get("ports") or [] if (p.get("name") or "") == port_name]
        if not ports or ports[0].get("port") is None:
            continue
        for ep in s.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            for addr in ep.get("addresses") or []:
                found.add(f"{addr}:{ports[0]['port']}")
    return tuple(sorted(found))


def resolve(namespace: str, b: Obj | None, services: dict[tuple[str, str], Obj],
            slices: dict[tuple[str, str], list[Obj]]) -> Backend | None:
    """The Backend of an Ingress backend; no endpoints when its Service or port is missing."""
    svc = (b or {}).get("service")
    if not svc:
        return None
    port = svc.get("port") or {}
    wanted = str(port.get("number") or port.get("name") or "")
    service = services.get((namespace, svc["name"]))
    endpoints: tuple[str, ...] = ()
    if service is not None:
        for p in (service.get("spec") or {}).get("ports") or []:
            if str(p.get("port")) == wanted or (p.get("name") and p.get("name") == wanted):
                endpoints = _ready_endpoints(slices.get((namespace, svc["name"]), []), p.get("name") or "")
                break
    return Backend(namespace, svc["name"], wanted, endpoints)


def _tls(secret: Obj | None) -> tuple[str, str] | None:
    if secret is None or secret.get("type") != "kubernetes.io/tls":
        return None
    data = secret.get("data") or {}
    try:
        cert = base64.b64decode(data.get("tls.crt", "")).decode()
        key = base64.b64decode(data.get("tls.key", "")).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return (cert, key) if "BEGIN" in cert and "BEGIN" in key else None


def build(ingresses: list[Obj], classes: list[Obj], services: list[Obj], slices: list[Obj],
          secrets: list[Obj]) -> Table:
    """The routing table of the Ingresses of our class (see the module's docstring)."""
    svc_by = {(_meta(s).get("namespace", ""), _meta(s)["name"]): s for s in services}
    slices_by: dict[tuple[str, str], list[Obj]] = {}
    for s in slices:
        owner = (_meta(s).get("labels") or {}).get("kubernetes.io/service-name")
        if owner:
            slices_by.setdefault((_meta(s).get("namespace", ""), owner), []).append(s)
    secret_by = {(_meta(s).get("namespace", ""), _meta(s)["name"]): s for s in secrets}
    table = Table(servers={"": Server("")})
    mine = sorted((i for i in ingresses if is_ours(i, classes) and not _meta(i).get("deletionTimestamp")),
                  key=lambda i: (_meta(i).get("creationTimestamp", ""), _meta(i).get("namespace", ""),
                                 _meta(i)["name"]))
    for ing in mine:
        _add(table, ing, svc_by, slices_by, secret_by)
    return table


def _add(table: Table, ing: Obj, services: dict[tuple[str, str], Obj],
         slices: dict[tuple[str, str], list[Obj]], secrets: dict[tuple[str, str], Obj]) -> None:
    ns, name = _meta(ing).get("namespace", "default"), _meta(ing)["name"]
    spec = ing.get("spec") or {}
    table.ingresses.append((ns, name))
    if spec.get("defaultBackend") and table.default_backend is None:
        table.default_backend = resolve(ns, spec["defaultBackend"], services, slices)
    for rule in spec.get("rules") or []:
        server = table.servers.setdefault(rule.get("host") or "", Server(rule.get("host") or ""))
        taken = {(r.path, r.exact) for r in server.routes}
        for p in (rule.get("http") or {}).get("paths") or []:
            exact = p.get("pathType") == "Exact"
            path = p.get("path") or "/"
            if not exact and len(path) > 1:
                path = path.rstrip("/")  # Prefix "/foo/" is "/foo" element-wise
            if (path, exact) not in taken:
                taken.add((path, exact))
                server.routes.append(Route(path, exact, resolve(ns, p.get("backend"), services, slices)))
    for tls in spec.get("tls") or []:
        secret_name = tls.get("secretName") or ""
        pair = _tls(secrets.get((ns, secret_name))) if secret_name else None
        if secret_name and pair is None:
            table.problems.append(Problem(ns, name, "Sync", f"Error getting SSL certificate \"{ns}/{secret_name}\":"
                                          f" local SSL certificate {ns}/{secret_name} was not found. Using "
                                          "default certificate"))
        for host in tls.get("hosts") or []:
            server = table.servers.setdefault(host, Server(host))
            if server.tls is None and not server.tls_secret:
                server.tls, server.tls_secret = pair, f"{ns}/{secret_name}"


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def server_for(table: Table, host: str) -> Server:
    """The server a Host header selects: exact, then wildcard, then the default server."""
    host = host.split(":")[0].lower()
    if host in table.servers and host:
        return table.servers[host]
    for pattern, server in table.servers.items():
        if pattern.startswith("*.") and _host_matches(pattern, host):
            return server
    return table.servers[""]


def path_matches(route: Route, path: str) -> bool:
    if route.exact:
        return path == route.path
    if route.path == "/":
        return True
    return path == route.path or path.startswith(route.path + "/")


def match(table: Table, host: str, path: str) -> Backend | None:
    """The backend a request reaches (None: 404), by the module's rules."""
    server = server_for(table, host)
    candidates = [r for r in server.routes if path_matches(r, path)]
    if not candidates:
        return table.default_backend
    best = max(candidates, key=lambda r: (len(r.path), r.exact))
    return best.backend


#: The namespace whose Secrets container routes name in ``tls``.
CONTAINER_TLS_NAMESPACE = "default"


def merge(table: Table, routes: list[Any], secrets: list[Obj]) -> Table:
    """Add container routes (:class:`.containers.ContainerRoute`) to ``table`` as Prefix
    routes; a (host, path) an Ingress serves already keeps the Ingress's backend."""
    secret_by = {(_meta(s).get("namespace", ""), _meta(s)["name"]): s for s in secrets}
    for r in routes:
        e = r.entry
        server = table.servers.setdefault(e.host, Server(e.host))
        path = e.path.rstrip("/") or "/"
        if any(x.path == path and not x.exact for x in server.routes):
            continue  # the Kubernetes object wins
        server.routes.append(Route(path, False, r.backend))
        if r.source not in table.containers:
            table.containers.append(r.source)
        if e.tls and e.host and server.tls is None and not server.tls_secret:
            server.tls = _tls(secret_by.get((CONTAINER_TLS_NAMESPACE, e.tls)))
            server.tls_secret = f"{CONTAINER_TLS_NAMESPACE}/{e.tls}"
    return table
