"""The EndpointSlice controller (as ``pkg/controller/endpointslice``), and the
legacy ``Endpoints`` object beside it (as ``pkg/controller/endpoint``).

For every Service with a selector (not ExternalName), the pods of its namespace
matching the selector that have a ``status.podIP`` and are not finished
(Succeeded/Failed) become endpoints:

- ``conditions.ready`` is the pod's ``Ready`` condition (always true with
  ``publishNotReadyAddresses``), ``serving`` the same regardless of
  termination, ``terminating`` whether the pod has a ``deletionTimestamp``
  (a terminating pod is never ready);
- ``nodeName`` and ``targetRef`` (the Pod) are set, ``zone`` is not;
  ``hostname`` is the pod's ``spec.hostname`` when its ``subdomain`` is the
  Service's name (the DNS answers ``<hostname>.<service>.<ns>.svc``);
- the Service's ports are resolved per pod from ``targetPort``: a number is
  itself, a name is the pod's container port of that name (a pod without it
  is no endpoint for that port); pods are grouped by their resolved port set,
  one slice per group (100 endpoints at most per slice, as the controller's
  default ``--max-endpoints-per-slice``); a Service without endpoints keeps
  one empty placeholder slice.

Slices carry ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/
managed-by: endpointslice-controller.k8s.io`` (and the Service's labels;
``service.kubernetes.io/headless`` for a headless Service), the
Service as controlling owner (the garbage collector removes them with it). The
``Endpoints`` object of the same name holds ``subsets`` (ready pods in
``addresses``, the others in ``notReadyAddresses``; terminating pods left out
unless ``publishNotReadyAddresses``), labelled with the Service's labels; it is
deleted with its Service by this controller (it has no owner, as in Kubernetes).

Objects are written only when they differ from what is stored, so the
controller's own writes settle. Pure computation is in the module-level
functions (:func:`desired_endpoints`, :func:`slice_groups`, :func:`subsets`).
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Iterable
from typing import Any

from ..client import labels_match, owner_reference
from ..controller import Controller, Key
from ..manager import NOTHING, Component, Context
from ..status import APIError

Obj = dict[str, Any]
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"
MAX_PER_SLICE = 100
SLICES = "endpointslices.discovery.k8s.io"
HEADLESS = "service.kubernetes.io/headless"


def _pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def resolve_port(pod: Obj, target: Any) -> int | None:
    """``targetPort`` for ``pod``: a number is itself; a name is the containers' port of that name."""
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def service_ports(svc: Obj, pod: Obj) -> tuple[tuple[str, int, str, str | None], ...]:
    """(name, resolved port, protocol, appProtocol) of each Service port ``pod`` serves."""
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        resolved = resolve_port(pod, p.get("targetPort", p.get("port")))
        if resolved is not None:
            out.append((p.get("name") or "", resolved, p.get("protocol") or "TCP", p.get("appProtocol")))
    return tuple(out)


def selects(svc: Obj, pod: Obj) -> bool:
    """Whether ``pod`` belongs to ``svc`` (same namespace, matching selector; a Service
    without a selector selects nothing: its endpoints are someone else's)."""
    selector = (svc.get("spec") or {}).get("selector")
    if not selector or (svc.get("spec") or {}).get("type") == "ExternalName":
        return False
    return labels_match({"matchLabels": selector}, pod["metadata"].get("labels"))


def endpoint_of(svc: Obj, pod: Obj) -> Obj:
    """The EndpointSlice endpoint for ``pod`` (see the module's rules on conditions)."""
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    serving = _pod_ready(pod) or bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    meta = pod["metadata"]
    ep: Obj = {"addresses": [pod["status"]["podIP"]],
               "conditions": {"ready": serving and not terminating, "serving": serving, "terminating": terminating},
               "targetRef": {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"],
                             "uid": meta.get("uid", "")}}
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"]:
        ep["hostname"] = spec["hostname"]  # what the DNS answers <hostname>.<service>... with
    if spec.get("nodeName"):
        ep["nodeName"] = spec["nodeName"]
    return ep


def desired_endpoints(svc: Obj, pods: Iterable[Obj]) -> list[tuple[tuple[Any, ...], Obj]]:
    """(resolved ports, endpoint) of every pod of ``svc`` that can be one, by pod name."""
    out = []
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        status = pod.get("status") or {}
        if not status.get("podIP") or status.get("phase") in ("Succeeded", "Failed") or not selects(svc, pod):
            continue
        ports = service_ports(svc, pod)
        if not ports and (svc.get("spec") or {}).get("ports"):
            continue  # serves none of the Service's ports
        out.append((ports, endpoint_of(svc, pod)))
    return out


def _slice_port(p: tuple[str, int, str, str | None]) -> Obj:
    out: Obj = {"name": p[0], "port": p[1], "protocol": p[2]}
    if p[3]:
        out["appProtocol"] = p[3]
    return out


def slice_groups(endpoints: list[tuple[tuple[Any, ...], Obj]]) -> list[tuple[list[Obj], list[Obj]]]:
    """(ports, endpoints) of each slice: one group per port set, at most
    :data:`MAX_PER_SLICE` endpoints each; one empty group when there is nothing."""
    groups: dict[tuple[Any, ...], list[Obj]] = {}
    for ports, ep in endpoints:
        groups.setdefault(ports, []).append(ep)
    out = []
    for ports, eps in groups.items():
        for i in range(0, len(eps), MAX_PER_SLICE):
            out.append(([_slice_port(p) for p in ports], eps[i:i + MAX_PER_SLICE]))
    return out or [([], [])]


def subsets(svc: Obj, endpoints: list[tuple[tuple[Any, ...], Obj]]) -> list[Obj]:
    """The legacy ``Endpoints.subsets``: one subset per port set, ready addresses
    and not-ready ones apart, terminating pods out (unless publishNotReadyAddresses)."""
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[tuple[Any, ...], Obj] = {}
    for ports, ep in endpoints:
        cond = ep["conditions"]
        if cond["terminating"] and not publish:
            continue
        sub = groups.setdefault(ports, {"addresses": [], "notReadyAddresses": [],
                                        "ports": [{k: v for k, v in (("name", p[0]), ("port", p[1]),
                                                                      ("protocol", p[2]), ("appProtocol", p[3])) if v}
                                                  for p in ports]})
        addr: Obj = {"ip": ep["addresses"][0], "targetRef": ep["targetRef"]}
        if ep.get("hostname"):
            addr["hostname"] = ep["hostname"]
        if ep.get("nodeName"):
            addr["nodeName"] = ep["nodeName"]
        sub["addresses" if cond["ready"] or publish else "notReadyAddresses"].append(addr)
    out = []
    for sub in groups.values():
        out.append({k: v for k, v in sub.items() if v})
    return out


def _own_labels(svc: Obj) -> dict[str, str]:
    """The Service's labels, and ``service.kubernetes.io/headless`` for a headless
    one (as on Kubernetes' slices and Endpoints)."""
    labels = dict(svc["metadata"].get("labels") or {})
    if (svc.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS] = ""
    return labels


def _suffix() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))


def _fingerprint(ports: list[Obj]) -> str:
    return hashlib.sha256(repr(sorted(sorted(p.items()) for p in ports)).encode()).hexdigest()


class EndpointSliceController(Controller):
    """Keeps each selected Service's slices and Endpoints in step with its pods."""

    name = "endpointslice-controller"
    primary = "services"
    watches = ("pods", SLICES, "endpoints")

    def keys_for(self, resource: str, obj: Obj) -> Iterable[Key]:
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        if resource == "pods":
            # Every selecting Service of the namespace: a pod whose labels changed
            # must leave the old Service's slices too, hence all with a selector.
            return [(ns, s["metadata"]["name"]) for s in self.client.list("services", ns)
                    if (s.get("spec") or {}).get("selector")]
        if resource == SLICES:
            name = (meta.get("labels") or {}).get(SERVICE_NAME)
            return [(ns, name)] if name and (meta.get("labels") or {}).get(MANAGED_BY) == CONTROLLER else []
        if resource == "endpoints":
            return [(ns, meta["name"])]
        return super().keys_for(resource, obj)

    async def reconcile(self, namespace: str, name: str) -> float | None:
        svc = self.client.get("services", namespace, name)
        managed = [s for s in self.client.list(SLICES, namespace)
                   if (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == name
                   and s["metadata"]["labels"].get(MANAGED_BY) == CONTROLLER]
        if svc is None or svc["metadata"].get("deletionTimestamp") or not (svc.get("spec") or {}).get("selector") \
                or svc["spec"].get("type") == "ExternalName":
            for s in managed:
                await self.client.delete(SLICES, namespace, s["metadata"]["name"])
            if svc is None:  # a selector-less Service's Endpoints are its user's: only its deletion ends them
                await self.client.delete("endpoints", namespace, name)
            return None
        endpoints = desired_endpoints(svc, self.client.list("pods", namespace))
        await self._sync_slices(svc, managed, slice_groups(endpoints))
        await self._sync_endpoints(svc, subsets(svc, endpoints))
        return None

    def _slice_labels(self, svc: Obj) -> dict[str, str]:
        labels = _own_labels(svc)
        labels.update({SERVICE_NAME: svc["metadata"]["name"], MANAGED_BY: CONTROLLER})
        return labels

    async def _sync_slices(self, svc: Obj, existing: list[Obj], groups: list[tuple[list[Obj], list[Obj]]]) -> None:
        """Update slices of the same port set in place, create what is missing, delete the rest."""
        ns, name = svc["metadata"].get("namespace", ""), svc["metadata"]["name"]
        labels = self._slice_labels(svc)
        owner = [owner_reference(svc)]
        spare = {}
        for s in sorted(existing, key=lambda s: s["metadata"]["name"]):
            spare.setdefault(_fingerprint(s.get("ports") or []), []).append(s)
        for ports, eps in groups:
            body: Obj = {"addressType": "IPv4", "endpoints": eps, "ports": ports}
            reuse = spare.get(_fingerprint(ports)) or []
            if reuse:
                old = reuse.pop(0)
                if all(old.get(k) == v for k, v in body.items()) and old["metadata"].get("labels") == labels:
                    continue
                old.update(body)
                old["metadata"]["labels"] = labels
                old["metadata"]["ownerReferences"] = owner
                await self.client.update(SLICES, old)
                continue
            new = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                   "metadata": {"name": f"{name}-{_suffix()}", "namespace": ns, "labels": labels,
                                "ownerReferences": owner}, **body}
            await self.client.create(SLICES, ns, new)
        for left in spare.values():
            for s in left:
                await self.client.delete(SLICES, ns, s["metadata"]["name"])

    async def _sync_endpoints(self, svc: Obj, subs: list[Obj]) -> None:
        ns, name = svc["metadata"].get("namespace", ""), svc["metadata"]["name"]
        labels = _own_labels(svc)
        old = self.client.get("endpoints", ns, name)
        if old is None:
            body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns,
                                                                          "labels": labels}, "subsets": subs}
            try:
                await self.client.create("endpoints", ns, body)
            except APIError as exc:
                if exc.code != 409:
                    raise
                self.enqueue((ns, name))
            return
        if (old.get("subsets") or []) == subs and (old["metadata"].get("labels") or {}) == labels:
            return
        old["subsets"] = subs
        old["metadata"]["labels"] = labels
        await self.client.update("endpoints", old)


async def start(ctx: Context) -> Component:
    """The controller needs no engine: it runs whenever the API server does."""
    if ctx.registry is None:
        return NOTHING
    controller = EndpointSliceController(ctx)
    controller.start()
    return controller
