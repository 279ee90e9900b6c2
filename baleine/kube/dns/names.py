"""What the cluster DNS answers: Kubernetes' DNS specification (cluster-dns), pure.

:func:`resolve` maps a question (name, type) to an :class:`Answer` from the
cluster's objects, read through a :class:`Cluster` (the live registry in the
server, a dict in tests), or to None when the name is not the cluster's (the
server forwards it upstream). With ``<domain>`` the cluster domain:

- ``<svc>.<ns>.svc.<domain>``: A records: the ClusterIP; for a headless Service
  (``clusterIP: None``) the addresses of its ready endpoints; for an
  ``ExternalName`` Service a CNAME to the external name. SRV asked of that name
  gives one record per port;
- ``<host>.<svc>.<ns>.svc.<domain>`` (headless): the endpoint whose hostname
  (``spec.hostname`` of a pod whose ``spec.subdomain`` is the Service) or
  dashed address (``10-0-0-5``) is ``<host>``;
- ``_<port>._<proto>.<svc>.<ns>.svc.<domain>``: SRV of the named port
  (priority 0, weight 100; the target is the Service's name, or each
  endpoint's name for a headless Service);
- ``<a-b-c-d>.<ns>.pod.<domain>``: A ``a.b.c.d`` (as CoreDNS' ``pods insecure``);
- PTR of a ClusterIP: ``<svc>.<ns>.svc.<domain>``; of a headless Service's
  endpoint: ``<host>.<svc>.<ns>.svc.<domain>``; other addresses are not ours;
- a name of the cluster domain that exists with other types only, or that is
  the parent of names that exist (``<ns>.svc.<domain>``), has no records
  (NOERROR, empty: resolvers asking AAAA first must not conclude it is absent);
  any other name of the domain is NXDOMAIN.

Ready endpoints come from the Service's EndpointSlices (label
``kubernetes.io/service-name``, endpoints whose ``conditions.ready`` is not
false) when there are any, else from the pods its selector matches that have
an address and the ``Ready`` condition (any address with
``publishNotReadyAddresses``), pods being deleted left out.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Protocol

Obj = dict[str, Any]

TYPE_A, TYPE_CNAME, TYPE_PTR, TYPE_AAAA, TYPE_SRV, TYPE_ANY = 1, 5, 12, 28, 33, 255
NOERROR, NXDOMAIN = 0, 3
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class Cluster(Protocol):
    """The objects the answers are made of (namespaced reads)."""

    def namespace_exists(self, namespace: str) -> bool: ...

    def service(self, namespace: str, name: str) -> Obj | None: ...

    def services(self) -> list[Obj]: ...

    def pods(self, namespace: str) -> list[Obj]: ...

    def endpoint_slices(self, namespace: str, service: str) -> list[Obj]: ...


@dataclass(frozen=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


@dataclass
class Answer:
    """The records of one reply (all named as the question), or an error code."""

    rcode: int = NOERROR
    a: list[str] = field(default_factory=list)
    srv: list[Srv] = field(default_factory=list)
    cname: str | None = None
    ptr: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """One ready address of a headless Service, with its DNS label."""

    address: str
    hostname: str
    ports: dict[tuple[str, str], int]  # (port name, protocol) -> port; empty: the Service's

    @property
    def label(self) -> str:
        return self.hostname or self.address.replace(".", "-")


def _ipv4(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).version == 4
    except ValueError:
        return False


def _ready(pod: Obj) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def _selected(selector: dict[str, str], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _from_slices(slices: list[Obj]) -> list[Endpoint]:
    out: list[Endpoint] = []
    for sl in slices:
        if sl.get("addressType", "IPv4") != "IPv4":
            continue
        ports = {(p.get("name") or "", p.get("protocol") or "TCP"): int(p["port"])
                 for p in sl.get("ports") or [] if p.get("port")}
        for ep in sl.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            for addr in ep.get("addresses") or []:
                if _ipv4(addr):
                    out.append(Endpoint(addr, ep.get("hostname") or "", ports))
    return out


def _from_pods(svc: Obj, pods: list[Obj]) -> list[Endpoint]:
    spec = svc.get("spec") or {}
    selector = spec.get("selector") or {}
    if not selector:
        return []  # a Service without selector has the endpoints someone else writes
    everyone = bool(spec.get("publishNotReadyAddresses"))
    name = svc["metadata"]["name"]
    out = []
    for pod in pods:
        ip = (pod.get("status") or {}).get("podIP") or ""
        if not _ipv4(ip) or not _selected(selector, pod["metadata"].get("labels")):
            continue
        if not everyone and (pod["metadata"].get("deletionTimestamp") or not _ready(pod)):
            continue
        pspec = pod.get("spec") or {}
        host = (pspec.get("hostname") or "") if pspec.get("subdomain") == name else ""
        out.append(Endpoint(ip, host, {}))
    return out


def endpoints(cluster: Cluster, svc: Obj) -> list[Endpoint]:
    """The ready endpoints of a Service (see the module), in a stable order."""
    ns, name = svc["metadata"].get("namespace") or "default", svc["metadata"]["name"]
    slices = cluster.endpoint_slices(ns, name)
    found = _from_slices(slices) if slices else _from_pods(svc, cluster.pods(ns))
    unique = {ep.address: ep for ep in found}
    return sorted(unique.values(), key=lambda ep: ipaddress.ip_address(ep.address))


def headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def _service_ips(svc: Obj) -> list[str]:
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [ip for ip in ips if _ipv4(ip)]


def _port_of(ep: Endpoint, port: Obj) -> int:
    """The port an endpoint serves a Service port on (the slice's; else the target port)."""
    key = (port.get("name") or "", port.get("protocol") or "TCP")
    if key in ep.ports:
        return ep.ports[key]
    target = port.get("targetPort")
    return target if isinstance(target, int) else int(port["port"])


def _srv(cluster: Cluster, svc: Obj, fqdn: str, ports: list[Obj]) -> list[Srv]:
    if not headless(svc):
        return [Srv(0, 100, int(p["port"]), fqdn) for p in ports]
    eps = endpoints(cluster, svc)
    return [Srv(0, 100, _port_of(ep, p), f"{ep.label}.{fqdn}") for p in ports for ep in eps]


def _service_answer(cluster: Cluster, svc: Obj, fqdn: str, qtype: int) -> Answer:
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        target = (spec.get("externalName") or "").rstrip(".")
        return Answer(cname=target) if target else Answer()
    if qtype == TYPE_SRV:
        return Answer(srv=_srv(cluster, svc, fqdn, spec.get("ports") or []))
    if qtype not in (TYPE_A, TYPE_ANY):
        return Answer()
    if headless(svc):
        return Answer(a=[ep.address for ep in endpoints(cluster, svc)])
    return Answer(a=_service_ips(svc))


def _named_port(cluster: Cluster, svc: Obj, fqdn: str, port: str, proto: str, qtype: int) -> Answer:
    """``_<port>._<proto>.<svc>...``: SRV of the port so named."""
    if not (port.startswith("_") and proto.startswith("_")):
        return Answer(NXDOMAIN)
    matching = [p for p in (svc.get("spec") or {}).get("ports") or []
                if (p.get("name") or "").lower() == port[1:] and (p.get("protocol") or "TCP").lower() == proto[1:]]
    if not matching:
        return Answer(NXDOMAIN)
    if qtype not in (TYPE_SRV, TYPE_ANY):
        return Answer()
    return Answer(srv=_srv(cluster, svc, fqdn, matching))


def _endpoint_answer(cluster: Cluster, svc: Obj, label: str, qtype: int) -> Answer:
    """``<host>.<svc>...`` of a headless Service."""
    match = [ep for ep in endpoints(cluster, svc) if ep.label == label] if headless(svc) else []
    if not match:
        return Answer(NXDOMAIN)
    return Answer(a=[ep.address for ep in match]) if qtype in (TYPE_A, TYPE_ANY) else Answer()


def _svc_zone(cluster: Cluster, labels: list[str], domain: str, qtype: int) -> Answer:
    """Names under ``svc.<domain>``; ``labels`` are the ones before it."""
    if not labels:
        return Answer()
    ns = labels[-1]
    if not cluster.namespace_exists(ns):
        return Answer(NXDOMAIN)
    if len(labels) == 1:
        return Answer()
    svc = cluster.service(ns, labels[-2])
    if svc is None:
        return Answer(NXDOMAIN)
    fqdn = f"{labels[-2]}.{ns}.svc.{domain}"
    if len(labels) == 2:
        return _service_answer(cluster, svc, fqdn, qtype)
    if len(labels) == 3:
        if labels[0].startswith("_"):  # the protocol level of an SRV name: only names below it exist
            return Answer() if labels[0] in ("_tcp", "_udp", "_sctp") else Answer(NXDOMAIN)
        return _endpoint_answer(cluster, svc, labels[0], qtype)
    if len(labels) == 4:
        return _named_port(cluster, svc, fqdn, labels[0], labels[1], qtype)
    return Answer(NXDOMAIN)


def _pod_zone(cluster: Cluster, labels: list[str], qtype: int) -> Answer:
    """Names under ``pod.<domain>``: ``<a-b-c-d>.<ns>``."""
    if not labels:
        return Answer()
    if not cluster.namespace_exists(labels[-1]):
        return Answer(NXDOMAIN)
    if len(labels) == 1:
        return Answer()
    address = labels[0].replace("-", ".")
    if len(labels) != 2 or not _ipv4(address) or labels[0].count("-") != 3:
        return Answer(NXDOMAIN)
    return Answer(a=[address]) if qtype in (TYPE_A, TYPE_ANY) else Answer()


def reverse(cluster: Cluster, domain: str, address: str) -> str | None:
    """The name of a ClusterIP or of a headless Service's endpoint, or None."""
    headless_svcs = []
    for svc in cluster.services():
        meta = svc["metadata"]
        fqdn = f"{meta['name']}.{meta.get('namespace') or 'default'}.svc.{domain}"
        if address in _service_ips(svc):
            return fqdn
        if headless(svc):
            headless_svcs.append((svc, fqdn))
    for svc, fqdn in headless_svcs:
        for ep in endpoints(cluster, svc):
            if ep.address == address:
                return f"{ep.label}.{fqdn}"
    return None


def _reverse_name(name: str) -> str | None:
    """``4.3.2.1.in-addr.arpa`` → ``1.2.3.4``; None for anything else."""
    parts = name[:-len(".in-addr.arpa")].split(".") if name.endswith(".in-addr.arpa") else []
    address = ".".join(reversed(parts))
    return address if len(parts) == 4 and _ipv4(address) else None


def resolve(cluster: Cluster, domain: str, name: str, qtype: int) -> Answer | None:
    """The answer to ``name`` (any case, trailing dot or not) of type ``qtype``, or
    None when the name is not the cluster's to answer (see the module)."""
    name = name.lower().rstrip(".")
    domain = domain.lower().strip(".")
    address = _reverse_name(name)
    if address is not None:
        ptr = reverse(cluster, domain, address)
        if ptr is None:
            return None
        return Answer(ptr=ptr) if qtype in (TYPE_PTR, TYPE_ANY) else Answer()
    if name != domain and not name.endswith("." + domain):
        return None
    labels = name[:-len(domain)].rstrip(".").split(".") if name != domain else []
    if not labels:
        return Answer()
    if labels[-1] == "svc":
        return _svc_zone(cluster, labels[:-1], domain, qtype)
    if labels[-1] == "pod":
        return _pod_zone(cluster, labels[:-1], qtype)
    return Answer(NXDOMAIN)
