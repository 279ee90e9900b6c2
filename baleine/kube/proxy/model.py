"""What the proxy needs to know of the cluster: Service ports and their endpoints.

:func:`service_ports` is a pure function of the Services and the
EndpointSlices (as kube-proxy's ``ServiceChangeTracker`` and
``EndpointsChangeTracker`` reduce them): one :class:`ServicePort` per port of
every Service that has a ClusterIP (headless and ExternalName Services have
none, so they get no rules), with the endpoints its slices list for that port
(by port name and protocol).

Which endpoints take traffic (:meth:`ServicePort.usable`), as kube-proxy 1.32
does: the ready ones; when none is ready, the serving ones that are
terminating (so that connections drain during a rolling update); when none of
those either, the Service REJECTs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
SERVICE_NAME = "kubernetes.io/service-name"


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, as the rules need it."""

    namespace: str
    name: str
    port_name: str
    protocol: str                  # TCP, UDP or SCTP
    cluster_ip: str
    port: int
    node_port: int = 0             # NodePort and LoadBalancer Services
    load_balancer: bool = False    # also answered on the host's address at ``port``
    affinity_seconds: int = 0      # sessionAffinity ClientIP: timeoutSeconds; 0: none
    endpoints: tuple[Endpoint, ...] = field(default=())
    external_ips: tuple[str, ...] = ()  # spec.externalIPs: also answered there at ``port``

    @property
    def id(self) -> str:
        """``namespace/name:port`` as kube-proxy names it in comments."""
        return f"{self.namespace}/{self.name}:{self.port_name}" if self.port_name else f"{self.namespace}/{self.name}"

    def usable(self) -> list[Endpoint]:
        """The endpoints that take new connections (see the module's docstring)."""
        ready = [e for e in self.endpoints if e.ready]
        return ready or [e for e in self.endpoints if e.serving and e.terminating]


def _endpoints_for(slices: Iterable[Obj], port_name: str, protocol: str) -> tuple[Endpoint, ...]:
    seen: dict[tuple[str, int], Endpoint] = {}
    for s in slices:
        if s.get("addressType", "IPv4") != "IPv4":
            continue
        port = next((p for p in s.get("ports") or [] if (p.get("name") or "") == port_name
                     and (p.get("protocol") or "TCP") == protocol and p.get("port")), None)
        if port is None:
            continue
        for ep in s.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            ready = cond.get("ready") is not False      # nil means ready (discovery/v1)
            serving = cond.get("serving", ready) is not False
            for ip in ep.get("addresses") or []:
                seen.setdefault((ip, int(port["port"])), Endpoint(ip, int(port["port"]), ready, serving,
                                                                  bool(cond.get("terminating"))))
    return tuple(sorted(seen.values(), key=lambda e: (e.ip, e.port)))


def service_ports(services: Iterable[Obj], slices: Iterable[Obj]) -> list[ServicePort]:
    """Every proxied Service port (see the module's docstring), in a stable order."""
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for s in slices:
        name = (s["metadata"].get("labels") or {}).get(SERVICE_NAME)
        if name:
            by_service.setdefault((s["metadata"].get("namespace", ""), name), []).append(s)
    out = []
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None" or spec.get("type") == "ExternalName":
            continue
        ns, name = svc["metadata"].get("namespace", ""), svc["metadata"]["name"]
        affinity = 0
        if spec.get("sessionAffinity") == "ClientIP":
            affinity = int(((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
                           or 10800)
        for p in spec.get("ports") or []:
            proto = p.get("protocol") or "TCP"
            out.append(ServicePort(ns, name, p.get("name") or "", proto, ip, int(p["port"]),
                                   int(p.get("nodePort") or 0) if spec.get("type") in ("NodePort", "LoadBalancer")
                                   else 0, spec.get("type") == "LoadBalancer", affinity,
                                   _endpoints_for(by_service.get((ns, name), []), p.get("name") or "", proto),
                                   tuple(spec.get("externalIPs") or ())))
    return sorted(out, key=lambda sp: (sp.namespace, sp.name, sp.port_name, sp.protocol))


def stale_udp_flows(before: list[ServicePort], after: list[ServicePort]) -> list[list[str]]:
    """The UDP conntrack entries a change leaves wrong (``conntrack`` filters), as
    kube-proxy clears them: UDP has no connection end, so a client sending from
    the same port keeps its entry (and its endpoint, or its REJECT) forever:

    - a Service port that gets usable endpoints: every entry to its ClusterIP and
      nodePort (they were rejected, and would stay so);
    - an endpoint no longer usable: the entries DNATed to it.
    """
    old = {(sp.id, sp.protocol): sp for sp in before if sp.protocol == "UDP"}
    flows = []
    for sp in after:
        if sp.protocol != "UDP":
            continue
        now = {e.ip for e in sp.usable()}
        prev = old.get((sp.id, sp.protocol))
        was = {e.ip for e in prev.usable()} if prev is not None else set()
        if now and not was:
            flows.append(["--orig-dst", sp.cluster_ip, "--orig-port-dst", str(sp.port)])
            if sp.node_port:
                flows.append(["--orig-port-dst", str(sp.node_port)])
        for ip in sorted(was - now):
            flows.append(["--orig-dst", sp.cluster_ip, "--dst-nat", ip])
            if sp.node_port:
                flows.append(["--orig-port-dst", str(sp.node_port), "--dst-nat", ip])
    return flows
