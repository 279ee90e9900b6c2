"""The generic REST storage: what create, get, list, update, patch and delete mean for every kind.

Contracts, as kube-apiserver's ``registry/generic``:

- create: ``uid``, ``creationTimestamp``, ``generation: 1`` are set; a name from
  ``generateName``; defaults, then validation (422), then AlreadyExists (409);
  a namespaced object needs its namespace to exist and not be terminating;
- update (PUT) and patch: a ``metadata.resourceVersion`` that is not the stored
  one is a 409 Conflict; ``generation`` is bumped when anything outside
  ``metadata`` and ``status`` changes; the main resource keeps the stored
  ``status`` and the ``status`` subresource keeps everything else;
- delete: gone at once, unless the object is a namespace or has finalizers: then
  it gets ``deletionTimestamp`` (namespace phase ``Terminating``) and ``gc``
  finishes the job. Dependents (``ownerReferences``) are collected by ``gc``
  after their owner goes, unless ``propagationPolicy=Orphan``.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import yaml

from . import defaults, hpaversions, managedfields, openapi, patch, servicecidr, validation
from .kinds import KINDS, Kind, by_resource
from .selectors import Matcher
from .status import APIError, already_exists, conflict, not_found
from .storage import Storage
from .watch import TooOld

Obj = dict[str, Any]
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Registry:
    """REST semantics over ``storage``; ``on_delete`` is called after each deletion (the collector's kick)."""

    def __init__(self, storage: Storage, service_cidr: ipaddress.IPv4Network = SERVICE_CIDR) -> None:
        self.storage = storage
        #: Where ClusterIPs come from (``servicecidr``: chosen once per data root).
        self.service_cidr = service_cidr
        self.on_delete: Callable[[], None] = lambda: None
        #: The node whose agent runs (set by the kubelet): its pods are deleted gracefully.
        self.graceful_node = ""

    # --- helpers ------------------------------------------------------------

    def _schema(self, kind: Kind) -> Obj | None:
        return openapi.kind_schema(kind)

    def _namespace_ready(self, kind: Kind, namespace: str) -> None:
        if not kind.namespaced:
            return
        ns = self.storage.get("namespaces", "", namespace)
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise APIError(403, f"{kind.kind.lower()}s \"{namespace}\" is forbidden: unable to create new content "
                                f"in namespace {namespace} because it is being terminated", "Forbidden",
                           kind=kind.plural, name=namespace)

    def _decode(self, kind: Kind, body: Obj, directive: str) -> tuple[Obj, list[str]]:
        if not isinstance(body, dict):
            raise APIError(400, "the body of the request was in an unknown format")
        if body.get("kind") not in (None, kind.kind) or body.get("apiVersion") not in (None, kind.group_version):
            raise APIError(400, f"the API version in the data ({body.get('apiVersion')}) does not match the expected "
                                f"API version ({kind.group_version})")
        body = {**body, "apiVersion": kind.group_version, "kind": kind.kind}
        obj, warnings = validation.decode_check(body, self._schema(kind), openapi.definitions(), kind.kind,
                                                kind.group_version, directive)
        obj.setdefault("metadata", {})
        return hpaversions.to_storage(kind, obj), warnings

    def _validate(self, kind: Kind, obj: Obj, old: Obj | None = None) -> None:
        causes = validation.validate(kind.kind, obj) if old is None else \
            validation.validate_update(kind.kind, old, obj)
        if causes:
            raise validation.error(kind.kind, obj["metadata"].get("name", ""), kind.group, causes)

    def _allocate_cluster_ip(self, obj: Obj) -> None:
        spec = obj.get("spec") or {}
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            if spec.get("clusterIP") == "None":
                spec["clusterIPs"] = ["None"]
            return
        used = {s.get("spec", {}).get("clusterIP") for s in self.storage.list("services")}
        if spec.get("clusterIP"):
            if spec["clusterIP"] in used:
                raise validation.error("Service", obj["metadata"]["name"], "", [validation.invalid(
                    "spec.clusterIPs", [spec["clusterIP"]], "failed to allocate IP "
                    f"{spec['clusterIP']}: provided IP is already allocated")])
        else:
            base = int(self.service_cidr.network_address)
            for host in self.service_cidr.hosts():
                if int(host) - base >= servicecidr.FIRST_DYNAMIC and str(host) not in used:
                    spec["clusterIP"] = str(host)
                    break
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            self._allocate_node_ports(spec)

    def _allocate_node_ports(self, spec: Obj) -> None:
        """Ports of NodePort and LoadBalancer Services get the lowest free port of 30000-32767."""
        used = {p.get("nodePort") for s in self.storage.list("services") for p in (s.get("spec") or {}).get("ports")
                or []}
        free = (n for n in NODE_PORTS if n not in used)
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                port["nodePort"] = next(free)

    def present(self, kind: Kind, obj: Obj) -> Obj:
        """The stored object as ``kind``'s version shows it (events.k8s.io/v1 converts core Events,
        autoscaling/v1 HorizontalPodAutoscalers)."""
        if kind.group != "events.k8s.io":
            return hpaversions.present(kind, obj)
        return {k: v for k, v in {
                "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": obj.get("metadata", {}),
                "eventTime": obj.get("eventTime"), "reason": obj.get("reason"), "note": obj.get("message"),
                "regarding": obj.get("involvedObject"), "type": obj.get("type"), "action": obj.get("action"),
                "reportingController": obj.get("reportingComponent") or (obj.get("source") or {}).get("component"),
                "reportingInstance": obj.get("reportingInstance") or "",
                "deprecatedCount": obj.get("count"), "deprecatedFirstTimestamp": obj.get("firstTimestamp"),
                "deprecatedLastTimestamp": obj.get("lastTimestamp")}.items() if v is not None}

    # --- reads --------------------------------------------------------------

    def get(self, kind: Kind, namespace: str, name: str) -> Obj:
        obj = self.storage.get(kind.resource, namespace if kind.namespaced else "", name)
        if obj is None:
            raise not_found(kind.plural, kind.group, name)
        return self.present(kind, obj)

    def list(self, kind: Kind, namespace: str | None, match: Matcher, limit: int = 0,
             cont: str = "") -> tuple[list[Obj], str, str]:
        """Matching objects, the list's resourceVersion and a continue token (when ``limit`` cut it)."""
        rv = str(self.storage.rv)
        objects = [self.present(kind, o) for o in self.storage.list(kind.resource, namespace if kind.namespaced
                                                                    else None)]
        objects = [o for o in objects if match(o)]
        start = 0
        if cont:
            try:
                after = json.loads(base64.urlsafe_b64decode(cont.encode()))
                rv = after["rv"]
                key = (after["ns"], after["name"])
            except (ValueError, KeyError, TypeError):
                raise APIError(400, "continue key is not valid: invalid continue token") from None
            start = next((i for i, o in enumerate(objects)
                          if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > key), len(objects))
        objects = objects[start:]
        token = ""
        if limit and len(objects) > limit:
            objects = objects[:limit]
            last = objects[-1]["metadata"]
            token = base64.urlsafe_b64encode(json.dumps(
                {"rv": rv, "ns": last.get("namespace", ""), "name": last["name"]}).encode()).decode()
        return objects, rv, token

    def watch(self, kind: Kind, namespace: str | None, match: Matcher,
              since: str | None) -> AsyncIterator[tuple[str, Obj]]:
        """Events of ``kind`` after ``since``; without it (or ``0``): ADDED for what exists, then changes.

        Subscribes at once (a resourceVersion out of the window raises 410 here,
        before any streaming); the returned iterator must be closed (``aclose``).
        """
        initial: list[Obj] = []
        if since in (None, "", "0"):
            initial, rv, _ = self.list(kind, namespace, match)
            start = int(rv)
        else:
            try:
                start = int(since)
            except ValueError:
                raise APIError(400, f"invalid resource version: {since}") from None
        try:
            backlog, queue = self.storage.hub.subscribe(start)
        except TooOld:
            raise APIError(410, f"too old resource version: {since} ({self.storage.rv})", "Expired") from None
        return self._events(kind, namespace, match, initial, backlog, queue)

    async def _events(self, kind: Kind, namespace: str | None, match: Matcher, initial: list[Obj],
                      backlog: list[Any], queue: Any) -> AsyncIterator[tuple[str, Obj]]:
        try:
            for obj in initial:
                yield "ADDED", obj
            pending = list(backlog)
            while True:
                event = pending.pop(0) if pending else await queue.get()
                if event is None:
                    return
                if event.resource != kind.resource:
                    continue
                obj = self.present(kind, event.object)
                if namespace and kind.namespaced and obj["metadata"].get("namespace") != namespace:
                    continue
                if match(obj):
                    yield event.type, obj
        finally:
            self.storage.hub.unsubscribe(queue)

    # --- writes -------------------------------------------------------------

    def _writable(self, kind: Kind) -> None:
        if kind.read_only:
            raise APIError(405, f"the server does not allow this method on the requested resource "
                                f"({kind.plural}.{kind.group})", "MethodNotAllowed")

    async def create(self, kind: Kind, namespace: str, body: Obj, directive: str = "Strict",
                     dry_run: bool = False) -> tuple[Obj, list[str]]:
        self._writable(kind)
        obj, warnings = self._decode(kind, body, directive)
        meta = obj["metadata"]
        if kind.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise APIError(400, "the namespace of the provided object does not match the namespace sent on "
                                    "the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789")
                                                          for _ in range(5))
        for key in ("resourceVersion", "uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        meta["generation"] = 1
        defaults.apply(kind.kind, obj)
        self._validate(kind, obj)
        self._namespace_ready(kind, namespace)
        if self.storage.get(kind.resource, meta.get("namespace", ""), meta["name"]) is not None:
            raise already_exists(kind.plural, kind.group, meta["name"])
        if kind.kind == "Service":
            self._allocate_cluster_ip(obj)
        if dry_run:
            return obj, warnings
        obj = await self.storage.put(kind.resource, obj, "ADDED")
        if kind.kind == "Namespace":
            await self._namespace_created(meta["name"])
        return obj, warnings

    async def _namespace_created(self, name: str) -> None:
        """Every namespace has a ``default`` ServiceAccount (kubectl and pods expect it)."""
        sa = by_resource("serviceaccounts")
        if self.storage.get("serviceaccounts", name, "default") is None:
            await self.create(sa, name, {"metadata": {"name": "default"}})

    async def update(self, kind: Kind, namespace: str, name: str, body: Obj, directive: str = "Strict",
                     subresource: str = "", dry_run: bool = False) -> tuple[Obj, list[str]]:
        """PUT: replace the object (or its status), under optimistic concurrency."""
        self._writable(kind)
        obj, warnings = self._decode(kind, body, directive)
        ns = namespace if kind.namespaced else ""
        old = self.storage.get(kind.resource, ns, name)
        if old is None:
            raise not_found(kind.plural, kind.group, name)
        meta = obj["metadata"]
        if meta.get("name") not in (None, name):
            raise APIError(400, f"the name of the object ({meta.get('name')}) does not match the name on the URL "
                                f"({name})")
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(kind.plural, kind.group, name)
        return await self._commit(kind, old, obj, subresource, dry_run), warnings

    async def _commit(self, kind: Kind, old: Obj, obj: Obj, subresource: str, dry_run: bool,
                      managed: list[Obj] | None = None) -> Obj:
        """Store ``obj`` over ``old``: system metadata kept, status or the rest kept, generation bumped.

        ``managed``: new managedFields (server-side apply); otherwise the stored ones are kept.
        """
        if subresource == "status":
            merged = {**old, "status": obj.get("status", {})}
            obj = merged
        else:
            if kind.status:
                if "status" in old:
                    obj["status"] = old["status"]
                else:
                    obj.pop("status", None)
            meta = obj["metadata"]
            for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "managedFields"):
                if key in old["metadata"]:
                    meta[key] = old["metadata"][key]
                else:
                    meta.pop(key, None)
            if managed is not None:
                meta["managedFields"] = managed
            meta["name"] = old["metadata"]["name"]
            if kind.namespaced:
                meta["namespace"] = old["metadata"]["namespace"]
            if kind.kind == "Service":
                spec = obj.setdefault("spec", {})
                for key in ("clusterIP", "clusterIPs"):
                    if key in (old.get("spec") or {}) and key not in spec:
                        spec[key] = old["spec"][key]
                if spec.get("type") in ("NodePort", "LoadBalancer"):
                    self._allocate_node_ports(spec)
            defaults.apply(kind.kind, obj)
            if _spec_part(obj) != _spec_part(old):
                meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        self._validate(kind, obj, old)
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if obj == old:
            return old  # a no-op update: same resourceVersion, no event (as the API server)
        if dry_run:
            return obj
        obj = await self.storage.put(kind.resource, obj, "MODIFIED")
        if obj["metadata"].get("deletionTimestamp"):
            self.on_delete()
        return obj

    async def patch(self, kind: Kind, namespace: str, name: str, body: bytes, content_type: str,
                    directive: str = "Strict", subresource: str = "", manager: str = "",
                    force: bool = False, dry_run: bool = False) -> tuple[Obj, list[str], bool]:
        """PATCH in any of the four types. Returns the object, warnings and whether it was created (apply)."""
        self._writable(kind)
        ns = namespace if kind.namespaced else ""
        old = self.storage.get(kind.resource, ns, name)
        try:
            doc = yaml.safe_load(body) if "apply-patch" in content_type else json.loads(body)
        except (ValueError, yaml.YAMLError) as exc:
            raise APIError(400, f"error decoding patch: {exc}") from None
        if "apply-patch" in content_type:
            return await self._apply(kind, namespace, name, old, doc, directive, manager, dry_run)
        if old is None:
            raise not_found(kind.plural, kind.group, name)
        base = hpaversions.present(kind, old)  # a patch applies to the object as its version shows it
        try:
            if "json-patch" in content_type:
                new = patch.json_patch(base, doc)
            elif "strategic-merge-patch" in content_type:
                if not isinstance(doc, dict):
                    raise patch.PatchError("strategic merge patch must be an object")
                new = patch.strategic_merge(base, doc, self._schema(kind) or {}, openapi.definitions())
            elif "merge-patch" in content_type:
                new = patch.merge_patch(base, doc)
            else:
                raise APIError(415, "the body of the request was in an unknown format - accepted media types "
                                    "include: application/json-patch+json, application/merge-patch+json, "
                                    "application/apply-patch+yaml, application/strategic-merge-patch+json",
                               "UnsupportedMediaType")
        except patch.PatchError as exc:
            raise APIError(422, str(exc), "Invalid") from None
        if not isinstance(new, dict):
            raise APIError(422, "the patch did not produce an object", "Invalid")
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(kind.plural, kind.group, name)
        new, warnings = self._decode(kind, new, directive)
        return await self._commit(kind, old, new, subresource, dry_run), warnings, False

    async def _apply(self, kind: Kind, namespace: str, name: str, old: Obj | None, doc: Any, directive: str,
                     manager: str, dry_run: bool) -> tuple[Obj, list[str], bool]:
        """Server-side apply, simplified: the applied configuration merges over the live object.

        Each manager's applied fields are recorded (``managedfields``); fields it
        stops applying are removed unless another manager owns them. There are
        no conflicts between managers.
        """
        if not isinstance(doc, dict):
            raise APIError(400, "error decoding YAML: the applied configuration must be an object")
        if not manager:
            raise APIError(422, "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required "
                                "for apply patch", "Invalid")
        entry = {"manager": manager, "operation": "Apply", "apiVersion": kind.group_version, "time": now(),
                 "fieldsType": "FieldsV1", "fieldsV1": managedfields.fields_of(doc)}
        if old is None:
            doc.setdefault("metadata", {})["name"] = name
            doc["metadata"]["managedFields"] = [entry]
            obj, warnings = await self.create(kind, namespace, doc, directive, dry_run)
            return obj, warnings, True
        managed = old["metadata"].get("managedFields") or []
        mine = next((f for f in managed if f.get("manager") == manager and f.get("operation") == "Apply"), None)
        others = [f for f in managed if f is not mine]
        new = patch.strategic_merge(old, doc, self._schema(kind) or {}, openapi.definitions())
        if mine is not None:
            managedfields.remove(new, managedfields.released(mine.get("fieldsV1") or {}, entry["fieldsV1"],
                                                             [f.get("fieldsV1") or {} for f in others]))
        new, warnings = self._decode(kind, new, directive)
        if mine is not None and mine.get("fieldsV1") == entry["fieldsV1"]:
            entry["time"] = mine.get("time", entry["time"])  # same fields: a no-op apply stays a no-op
        obj = await self._commit(kind, old, new, "", dry_run, managed=others + [entry])
        return obj, warnings, False

    async def delete(self, kind: Kind, namespace: str, name: str, propagation: str = "Background",
                     preconditions: Obj | None = None, dry_run: bool = False,
                     grace_period: int | None = None) -> tuple[Obj, bool]:
        """Delete; returns the object and whether it is gone already (False: terminating).

        A Pod bound to :attr:`graceful_node` and not finished is deleted gracefully, as
        kube-apiserver does: ``deletionTimestamp`` (now + grace) and
        ``deletionGracePeriodSeconds`` (``grace_period``, else the pod's
        ``terminationGracePeriodSeconds``), and the node agent removes it once its
        containers stopped (with ``grace_period`` 0)."""
        self._writable(kind)
        ns = namespace if kind.namespaced else ""
        old = self.storage.get(kind.resource, ns, name)
        if old is None:
            raise not_found(kind.plural, kind.group, name)
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            raise conflict(kind.plural, kind.group, name)
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise conflict(kind.plural, kind.group, name)
        if kind.kind == "Namespace" and name in SYSTEM_NAMESPACES[:3]:
            raise APIError(403, f'namespaces "{name}" is forbidden: this namespace may not be deleted', "Forbidden",
                           kind="namespaces", name=name)
        if dry_run:
            return old, True
        if propagation == "Orphan":
            await self.orphan(old["metadata"]["uid"])
        if kind.kind == "Pod" and self._graceful(old, grace_period):
            return await self._delete_gracefully(old, grace_period), False
        if kind.kind == "Namespace" or old["metadata"].get("finalizers"):
            if old["metadata"].get("deletionTimestamp"):
                return old, False
            old["metadata"]["deletionTimestamp"] = now()
            old["metadata"]["deletionGracePeriodSeconds"] = 0
            if kind.kind == "Namespace":
                old.setdefault("status", {})["phase"] = "Terminating"
            obj = await self.storage.put(kind.resource, old, "MODIFIED")
            self.on_delete()
            return obj, False
        obj = await self.storage.delete(kind.resource, ns, name)
        self.on_delete()
        return obj or old, True

    def _graceful(self, pod: Obj, grace_period: int | None) -> bool:
        spec, meta = pod.get("spec") or {}, pod["metadata"]
        if not self.graceful_node or spec.get("nodeName") != self.graceful_node or grace_period == 0:
            return False
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return False
        grace = spec.get("terminationGracePeriodSeconds", 30) if grace_period is None else grace_period
        return bool(grace) and not meta.get("finalizers") or bool(meta.get("deletionTimestamp"))

    async def _delete_gracefully(self, pod: Obj, grace_period: int | None) -> Obj:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return pod  # already terminating (a shorter grace would shorten it in Kubernetes)
        grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30) if grace_period is None else grace_period)
        stamp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=grace)
        meta["deletionTimestamp"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["deletionGracePeriodSeconds"] = grace
        return await self.storage.put("pods", pod, "MODIFIED")

    async def orphan(self, owner_uid: str) -> None:
        """Drop ``owner_uid`` from every dependent's ownerReferences (``propagationPolicy=Orphan``)."""
        for (resource, _, _), obj in self.storage.all():
            refs = obj["metadata"].get("ownerReferences") or []
            kept = [r for r in refs if r.get("uid") != owner_uid]
            if len(kept) != len(refs):
                if kept:
                    obj["metadata"]["ownerReferences"] = kept
                else:
                    del obj["metadata"]["ownerReferences"]
                await self.storage.put(resource, obj, "MODIFIED")

    async def bootstrap(self, node: Obj) -> None:
        """The system namespaces (with their default ServiceAccounts), the ``kubernetes`` Service and this
        machine's Node."""
        ns_kind = by_resource("namespaces")
        for name in SYSTEM_NAMESPACES:
            if self.storage.get("namespaces", "", name) is None:
                await self.create(ns_kind, "", {"metadata": {"name": name}})
            else:
                await self._namespace_created(name)
        if self.storage.get("services", "default", "kubernetes") is None:
            # The API server's own Service, first address of the service range, as in any cluster.
            await self.create(by_resource("services"), "default", {
                "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": servicecidr.api_address(self.service_cidr),
                         "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}})
        node_kind = by_resource("nodes")
        old = self.storage.get("nodes", "", node["metadata"]["name"])
        if old is None:
            await self.create(node_kind, "", node)
        else:
            # A condition that did not change keeps its transition time across restarts.
            before = {(c["type"], c["status"]): c for c in (old.get("status") or {}).get("conditions") or []}
            for cond in node["status"]["conditions"]:
                prior = before.get((cond["type"], cond["status"]))
                if prior and prior.get("lastTransitionTime"):
                    cond["lastTransitionTime"] = prior["lastTransitionTime"]
            await self._commit(node_kind, old, {**old, "status": node["status"]}, "status", False)


def kinds_by_resource() -> dict[str, Kind]:
    """Writable kinds by storage key (the collector walks every stored object)."""
    return {k.resource: k for k in KINDS if not k.read_only}
