"""The Ingress controller: nginx that Baleine runs, configured from the Ingresses.

Contract (a component of :mod:`baleine.kube.manager`):

- At start it makes sure the IngressClass ``nginx`` exists (controller
  :data:`model.CONTROLLER`, marked the default class, as minikube's ingress addon
  does), unless a class of ours exists already; user-made classes naming our
  controller are served as well.
- Routes also come from the running containers labelled ``io.baleine.ingress``
  (compose's ``x-baleine-ingress`` or a hand-written label; :mod:`.label`,
  :mod:`.containers`), read through ``ctx.backends`` (the containers list and the
  balanced groups) and merged by :func:`model.merge` (an Ingress wins a conflict).
  The engine's container events (start, die, health_status, destroy, ...) of
  labelled containers queue a sync too, and while container routes exist a sync
  runs every :data:`CONTAINER_RESYNC` seconds (the balancer's readiness follows
  the same events, a little later).
- Any change of an Ingress, IngressClass, Service, EndpointSlice or Secret queues
  one sync (debounced by :data:`DEBOUNCE`): the routing table is built and rendered
  off the event loop; when the rendered files differ from what nginx runs, they
  are written under ``<data-root>/ingress`` and nginx reloads (``nginx -s reload``
  through exec: graceful, old workers finish their connections).
- nginx runs in the container :data:`CONTAINER` (image ``--ingress-image``,
  never pulled here), on the host network, listening on ``--ingress-http-port``
  and ``--ingress-https-port``, the configuration directory bind-mounted
  read-only. It is created only once a route exists (an Ingress of our class or a
  labelled container) and removed when none remains (so no port is held for
  nothing); after a daemon restart the existing container is adopted (or removed
  when nothing routes anymore). Stopping the component leaves it serving (a
  controller restart must not cut traffic); the engine's shutdown and the tests'
  reaping end it like any container.
- Each Ingress of ours gets ``status.loadBalancer.ingress`` = the node's
  InternalIP; a TLS Secret that is missing gets a ``Warning`` event (reason
  ``Sync``, as ingress-nginx) and the host is served with the default (self-signed)
  certificate.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ...rules.filters import Filters
from ..controller import Controller, Key
from . import containers as croutes
from . import model, nginx
from .label import LABEL

if TYPE_CHECKING:
    from ..manager import Context

log = logging.getLogger("baleine.kube.ingress")

Obj = dict[str, Any]
INGRESSES = "ingresses.networking.k8s.io"
CLASSES = "ingressclasses.networking.k8s.io"
CONTAINER = "baleine-ingress-nginx"
CONF_IN_CONTAINER = "/etc/nginx/baleine"
DEFAULT_CLASS = "nginx"
#: Seconds a sync waits so that a burst of changes makes one reload.
DEBOUNCE = 0.2
SYNC: Key = ("", "sync")
#: Seconds between syncs while container routes exist (events are the fast path).
CONTAINER_RESYNC = 5.0
#: Container events that can change a container route.
CONTAINER_ACTIONS = ("start", "die", "stop", "kill", "destroy", "pause", "unpause", "health_status", "rename")


class IngressController(Controller):
    name = "ingress-nginx-controller"
    primary = INGRESSES
    watches = (CLASSES, "services", "endpointslices.discovery.k8s.io", "secrets")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.conf_dir = os.path.join(ctx.options.data_root or "/tmp", "ingress")
        self._applied = ""  # digest of the files nginx runs with
        self._container = ""
        self._reported: set[tuple[str, str, str]] = set()
        self._logged: set[str] = set()
        self._swept = False  # a leftover nginx container looked for once, when nothing routes

    def keys_for(self, resource: str, obj: Obj) -> Iterable[Key]:
        return [SYNC]

    def enqueue_all(self) -> None:
        self.enqueue(SYNC)

    async def reconcile(self, namespace: str, name: str) -> float | None:
        await asyncio.sleep(DEBOUNCE)
        c = self.client
        secrets = c.list("secrets")
        table = model.build(c.list(INGRESSES), c.list(CLASSES), c.list("services"),
                            c.list("endpointslices.discovery.k8s.io"), secrets)
        model.merge(table, await self._container_routes(), secrets)
        await self._report(table)
        if not table.ingresses and not table.containers:
            await self._remove_container()  # nothing routes: no container, no ports held
            return None
        opts = self.ctx.options
        conf, files = nginx.render(table, opts.ingress_http_port, opts.ingress_https_port, CONF_IN_CONTAINER)
        digest = await asyncio.to_thread(write_config, self.conf_dir, conf, files)
        if not await self._ensure_container():
            return 5.0
        if digest != self._applied:
            await self._exec(["nginx", "-c", f"{CONF_IN_CONTAINER}/nginx.conf", "-s", "reload"])
            self._applied = digest
        await self._status(table)
        return CONTAINER_RESYNC if table.containers else None

    # --- routes of labelled containers -------------------------------------------------

    async def _container_routes(self) -> list[croutes.ContainerRoute]:
        backends = self.ctx.backends
        if backends is None or backends.containers is None:
            return []
        views = await backends.containers.list(Filters({"label": [LABEL]}), show_all=False, limit=0, size=False)
        groups = await backends.networks.balancers() if backends.networks is not None else []
        routes, problems = croutes.routes([v.container.doc for v in views], groups)
        for p in problems:
            if p not in self._logged:  # once per problem: a resync must not flood the log
                self._logged.add(p)
                log.warning("ingress: %s", p)
        return routes

    async def _watch_containers(self) -> None:
        """Queue a sync on each event of a labelled container (the engine's event stream)."""
        system = self.ctx.backends.system if self.ctx.backends is not None else None
        if system is None:
            return
        filters = Filters({"type": ["container"], "label": [LABEL]})
        stream = await system.events(filters, None, None, lambda: False)
        try:
            async for event in stream:
                action = str(event.get("Action") or event.get("status") or "")
                if action.partition(":")[0] in CONTAINER_ACTIONS:
                    self.enqueue(SYNC)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    def start(self) -> None:
        super().start()
        self._tasks.append(asyncio.create_task(self._watch_containers(), name=f"{self.name} container events"))

    # --- events and status ----------------------------------------------------------

    async def _report(self, table: model.Table) -> None:
        for p in table.problems:
            key = (p.namespace, p.name, p.message)
            ing = self.client.get(INGRESSES, p.namespace, p.name)
            if key not in self._reported and ing is not None:
                self._reported.add(key)
                await self.client.event(ing, "Warning", p.reason, p.message)

    def _address(self) -> str:
        for node in self.client.list("nodes"):
            for a in (node.get("status") or {}).get("addresses") or []:
                if a.get("type") == "InternalIP" and a.get("address"):
                    return a["address"]
        return "127.0.0.1"

    async def _status(self, table: model.Table) -> None:
        want = {"ingress": [{"ip": self._address()}]}
        for ns, name in table.ingresses:
            ing = self.client.get(INGRESSES, ns, name)
            if ing is None or (ing.get("status") or {}).get("loadBalancer") == want:
                continue
            ing = {**ing, "status": {**(ing.get("status") or {}), "loadBalancer": want}}
            with contextlib.suppress(Exception):  # changed meanwhile: the next sync writes it
                await self.client.update_status(INGRESSES, ing)

    # --- the nginx container -------------------------------------------------------------

    async def _remove_container(self) -> None:
        """Remove nginx (ours, or a leftover of a previous daemon run, looked for once)."""
        backends = self.ctx.backends
        if backends is None or backends.containers is None or (self._swept and not self._container):
            return
        with contextlib.suppress(Exception):  # NotFound: nothing to remove
            await backends.containers.remove(self._container or CONTAINER, force=True, volumes=False)
            log.info("ingress: no route left, nginx removed")
        self._container, self._applied, self._swept = "", "", True

    async def _ensure_container(self) -> bool:
        """The nginx container running (adopted, started or created); False when it cannot be."""
        backends = self.ctx.backends
        if backends is None or backends.containers is None:
            return False
        containers = backends.containers
        doc: Obj | None = None
        with contextlib.suppress(Exception):  # NotFound
            doc = (await containers.inspect(CONTAINER)).container.doc
        if doc is None:
            try:
                await backends.images.inspect(self.ctx.options.ingress_image)
            except Exception:  # noqa: BLE001 - NotFound: reported, retried
                log.warning("ingress: image %s is not present", self.ctx.options.ingress_image)
                return False
            cid, _ = await containers.create(self._body(), CONTAINER)
            self._applied = "started"  # the files written before the start are what nginx reads
        else:
            cid = doc["Id"]
        if doc is None or not doc["State"].get("Running"):
            await containers.start(cid)
            self._applied = await asyncio.to_thread(config_digest, self.conf_dir)
        self._container, self._swept = cid, False
        return True

    def _body(self) -> Obj:
        return {
            "Image": self.ctx.options.ingress_image,
            "Entrypoint": ["nginx"],
            "Cmd": ["-c", f"{CONF_IN_CONTAINER}/nginx.conf", "-g", "daemon off;"],
            "Labels": {"io.baleine.kube": "ingress"},
            "HostConfig": {"NetworkMode": "host", "Binds": [f"{self.conf_dir}:{CONF_IN_CONTAINER}:ro"],
                           "RestartPolicy": {"Name": "unless-stopped"}},
        }

    async def _exec(self, command: list[str]) -> None:
        execs = self.ctx.backends.exec if self.ctx.backends is not None else None
        if execs is None:
            return
        exec_id = await execs.create(self._container, {"Cmd": command, "AttachStdout": False,
                                                       "AttachStderr": False})
        await execs.start_detached(exec_id, tty=False, console_size=None)
        for _ in range(100):
            state = await execs.inspect(exec_id)
            if not state.get("Running"):
                if state.get("ExitCode"):
                    raise RuntimeError(f"{command!r} exited with {state['ExitCode']}")
                return
            await asyncio.sleep(0.05)


def write_config(conf_dir: str, conf: str, files: dict[str, str]) -> str:
    """Write nginx.conf and the TLS files atomically (blocking: run in a thread); the
    default certificate is made once. Returns the digest of what is there now."""
    os.makedirs(conf_dir, mode=0o700, exist_ok=True)
    if not os.path.exists(os.path.join(conf_dir, nginx.DEFAULT_KEY)):
        crt, key = default_certificate()
        _write(conf_dir, nginx.DEFAULT_CERT, crt)
        _write(conf_dir, nginx.DEFAULT_KEY, key)
    for name, text in files.items():
        if not os.path.exists(os.path.join(conf_dir, name)):
            _write(conf_dir, name, text)
    _write(conf_dir, "nginx.conf", conf)
    return config_digest(conf_dir)


def config_digest(conf_dir: str) -> str:
    h = hashlib.sha256()
    for name in sorted(os.listdir(conf_dir)):
        if not name.startswith("."):
            with open(os.path.join(conf_dir, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read())
    return h.hexdigest()


def _write(conf_dir: str, name: str, text: str) -> None:
    tmp = os.path.join(conf_dir, f".{name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(conf_dir, name))


def default_certificate() -> tuple[str, str]:
    """A self-signed certificate as ingress-nginx's default ("Kubernetes Ingress
    Controller Fake Certificate"), PEM (certificate, key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme Co"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Kubernetes Ingress Controller Fake Certificate")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("ingress.local")]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


async def ensure_class(ctx: Context, controller: Controller) -> None:
    """The default IngressClass ``nginx`` of our controller, unless one of ours exists."""
    names, _ = model.our_classes(controller.client.list(CLASSES))
    if names:
        return
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
           "metadata": {"name": DEFAULT_CLASS, "annotations": {model.DEFAULT_CLASS_ANNOTATION: "true"},
                        "labels": {"app.kubernetes.io/component": "controller"}},
           "spec": {"controller": model.CONTROLLER}}
    with contextlib.suppress(Exception):  # made meanwhile by a user
        await controller.client.create(CLASSES, "", obj)


async def start(ctx: Context) -> IngressController:
    controller = IngressController(ctx)
    await ensure_class(ctx, controller)
    controller.start()
    return controller
