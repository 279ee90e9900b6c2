"""The proxy's iptables rules, rendered from the Service ports (pure), as
kube-proxy's iptables mode writes them, in chains named after the daemon's tag
(the tag the engine's firewall uses) so that daemons sharing a host never touch
each other's rules:

nat ``BKUBE-<tag>-SERVICES`` (from PREROUTING and OUTPUT)
    ``ClusterIP:port`` → the Service port's chain; a LoadBalancer's ingress
    (the host's address) and the ``externalIPs`` at ``port`` likewise (marked
    for masquerading, as any traffic from outside the cluster); last, traffic to a local
    address → ``NODEPORTS``.
nat ``BKUBE-<tag>-NODEPORTS``
    ``nodePort`` on any local address (127.0.0.1 included) → the Service port's chain.
nat ``BKUBE-<tag>-S<hash>`` (one per Service port)
    one endpoint chosen per connection: endpoint *i* of *n* with
    ``-m statistic --mode random --probability 1/(n-i)`` (the last one
    unconditionally), so each gets 1/n; conntrack keeps a connection on its
    endpoint. With ``sessionAffinity: ClientIP``, first a ``recent`` check per
    endpoint (``--rcheck --seconds timeout --reap``) sends a known client back.
nat ``BKUBE-<tag>-E<hash>`` (one per endpoint)
    DNAT to ``ip:port`` (and ``--set`` of the ``recent`` list for affinity).
nat ``BKUBE-<tag>-MARK`` / ``BKUBE-<tag>-POST`` (POSTROUTING)
    masquerading of marked connections (mark ``0x4000``, as kube-proxy):
    a pod reaching itself through its Service (hairpin: the endpoint chain
    marks its own source), the host reaching a ClusterIP (source a local
    address: answerable only through the bridge's gateway, e.g. when the route
    picked the ClusterIP range's own source), and every NodePort/LoadBalancer
    connection (``externalTrafficPolicy: Cluster``).
filter ``BKUBE-<tag>-FILTER`` (from INPUT, FORWARD, OUTPUT, new connections)
    a Service port without usable endpoints: REJECT with icmp
    port-unreachable (its ClusterIP, its nodePort, its ingress).

A rewrite declares every chain it wants (which flushes it) and deletes the
chains of the tag it no longer wants (``-X``), in one ``iptables-restore
--noflush``: all or nothing.
"""

from __future__ import annotations

import hashlib

from ...rules.balancing import probability
from .model import Endpoint, ServicePort

MASQ_MARK = "0x4000"
COMMENT = "baleine-kube"


def prefix(tag: str) -> str:
    """What every chain of the daemon's proxy is named with."""
    return f"BKUBE-{tag}-"


def fixed_chains(tag: str) -> dict[str, str]:
    """The daemon's fixed chains by role."""
    p = prefix(tag)
    return {role: p + role for role in ("SERVICES", "NODEPORTS", "MARK", "POST", "FILTER")}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10].upper()


def service_chain(tag: str, sp: ServicePort) -> str:
    return f"{prefix(tag)}S{_hash(f'{sp.id}/{sp.protocol}')}"


def endpoint_chain(tag: str, sp: ServicePort, ep: Endpoint) -> str:
    return f"{prefix(tag)}E{_hash(f'{sp.id}/{sp.protocol}/{ep.ip}:{ep.port}')}"


def jumps(tag: str) -> list[tuple[str, str, list[str]]]:
    """(table, builtin chain, rule spec) of each jump into the daemon's chains (each inserted first)."""
    c = fixed_chains(tag)
    comment = ["-m", "comment", "--comment", f"{COMMENT}:{tag}"]
    new = ["-m", "conntrack", "--ctstate", "NEW"]
    return [
        ("nat", "PREROUTING", comment + ["-j", c["SERVICES"]]),
        ("nat", "OUTPUT", comment + ["-j", c["SERVICES"]]),
        ("nat", "POSTROUTING", comment + ["-j", c["POST"]]),
        ("filter", "INPUT", new + comment + ["-j", c["FILTER"]]),
        ("filter", "FORWARD", new + comment + ["-j", c["FILTER"]]),
        ("filter", "OUTPUT", new + comment + ["-j", c["FILTER"]]),
    ]


def _match(sp: ServicePort, port: int, dest: str = "") -> str:
    proto = sp.protocol.lower()
    d = f"-d {dest}/32 " if dest else ""
    return f"{d}-p {proto} -m {proto} --dport {port}"


def _comment(text: str) -> str:
    return f'-m comment --comment "{text}"'


_probability = probability  # shared with the engine's balanced groups (baleine.rules.balancing)


def _service_rules(tag: str, sp: ServicePort, eps: list[Endpoint]) -> tuple[list[str], list[str]]:
    """(chain declarations, rules) of one Service port's chain and its endpoints' chains."""
    c = fixed_chains(tag)
    svc = service_chain(tag, sp)
    decl, rules = [svc], [f"-A {svc} -m addrtype --src-type LOCAL -j {c['MARK']}"]
    chains = [(ep, endpoint_chain(tag, sp, ep)) for ep in eps]
    if sp.affinity_seconds:
        for ep, chain in chains:
            rules.append(f"-A {svc} {_comment(sp.id)} -m recent --name {chain} --mask 255.255.255.255 --rsource "
                         f"--rcheck --seconds {sp.affinity_seconds} --reap -j {chain}")
    for i, (ep, chain) in enumerate(chains):
        left = len(chains) - i
        pick = f"-m statistic --mode random --probability {_probability(left)} " if left > 1 else ""
        rules.append(f"-A {svc} {_comment(f'{sp.id} -> {ep.ip}:{ep.port}')} {pick}-j {chain}")
    proto = sp.protocol.lower()
    for ep, chain in chains:
        decl.append(chain)
        rules.append(f"-A {chain} -s {ep.ip}/32 -j {c['MARK']}")
        recent = (f"-m recent --name {chain} --mask 255.255.255.255 --rsource --set "
                  if sp.affinity_seconds else "")
        rules.append(f"-A {chain} -p {proto} {recent}-m {proto} -j DNAT --to-destination {ep.ip}:{ep.port}")
    return decl, rules


def render(tag: str, ports: list[ServicePort], host_ip: str = "", stale: frozenset[str] = frozenset()) -> str:
    """The ``iptables-restore --noflush`` input setting the daemon's chains to
    exactly what ``ports`` call for; ``stale``: chains of the tag that exist and
    are to go (those not wanted any more are deleted, the others re-declared)."""
    c = fixed_chains(tag)
    nat_decl = [c["SERVICES"], c["NODEPORTS"], c["MARK"], c["POST"]]
    nat = [f"-A {c['MARK']} -j MARK --set-xmark {MASQ_MARK}/{MASQ_MARK}",
           f"-A {c['POST']} -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
           f"-A {c['POST']} -j MARK --xor-mark {MASQ_MARK}",
           f"-A {c['POST']} {_comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE"]
    services, nodeports, reject = [], [], []
    for sp in ports:
        eps = sp.usable()
        ext = [(f"{sp.id} loadbalancer", _match(sp, sp.port, host_ip))] if sp.load_balancer and host_ip else []
        ext += [(f"{sp.id} external IP", _match(sp, sp.port, ip)) for ip in sp.external_ips]
        if not eps:
            none = f"{sp.id} has no endpoints"
            targets = [(none, _match(sp, sp.port, sp.cluster_ip)), *ext]
            if sp.node_port:
                targets.append((none, f"-m addrtype --dst-type LOCAL {_match(sp, sp.node_port)}"))
            reject += [f"-A {c['FILTER']} {_comment(text)} {match} -j REJECT --reject-with icmp-port-unreachable"
                       for text, match in targets]
            continue
        svc = service_chain(tag, sp)
        decl, rules = _service_rules(tag, sp, eps)
        nat_decl += decl
        nat += rules
        services.append(f"-A {c['SERVICES']} {_comment(f'{sp.id} cluster IP')} {_match(sp, sp.port, sp.cluster_ip)}"
                        f" -j {svc}")
        for text, match in ext:
            services.append(f"-A {c['SERVICES']} {_comment(text)} {match} -j {c['MARK']}")
            services.append(f"-A {c['SERVICES']} {_comment(text)} {match} -j {svc}")
        if sp.node_port:
            nodeports.append(f"-A {c['NODEPORTS']} {_comment(sp.id)} {_match(sp, sp.node_port)} -j {c['MARK']}")
            nodeports.append(f"-A {c['NODEPORTS']} {_comment(sp.id)} {_match(sp, sp.node_port)} -j {svc}")
    services.append(f"-A {c['SERVICES']} {_comment('kubernetes service nodeports')} -m addrtype --dst-type LOCAL "
                    f"-j {c['NODEPORTS']}")
    wanted = set(nat_decl)
    gone = sorted(set(stale) - wanted - {c["FILTER"]})
    lines = ["*nat", *(f":{name} - [0:0]" for name in nat_decl + gone), *nat, *services, *nodeports,
             *(f"-X {name}" for name in gone), "COMMIT",
             "*filter", f":{c['FILTER']} - [0:0]", *reject, "COMMIT"]
    return "\n".join(lines) + "\n"
