"""Balanced groups' labels and iptables rules (pure).

A balanced group is declared by labels on its containers (see ``balancer``):

``io.baleine.balance``           the group's name (compose: ``<project>_<service>``);
``io.baleine.balance.ports``     comma-separated ``[hostIP:]hostPort:containerPort[/proto]``
                                 or ``containerPort[/proto]`` (compose's short syntax);
``io.baleine.balance.restart``   ``<condition>[;max_attempts=N][;delay=S][;window=S]``.

The rules live in chains named with the daemon's tag, apart from the engine's
firewall (``iptables``) and the kube proxy's:

nat ``BALB-<tag>-SVC``  (from PREROUTING and OUTPUT) ``VIP:containerPort`` on each
                        network, and the published ``hostPort`` on local addresses
                        (one address when the binding names one) → the port's chain;
nat ``BALB-<tag>-G<hash>`` (one per group port and network) marks the connection for
                        masquerading, then one ready member per connection
                        (``baleine.rules.balancing.spread``);
nat ``BALB-<tag>-E<hash>`` DNAT to one member's ``ip:port``;
nat ``BALB-<tag>-POST`` (POSTROUTING) masquerades marked connections: the member
                        answers through the bridge's gateway, so replies are
                        de-NATed on the host whatever ``br_netfilter`` says, and a
                        member reaching its own group (hairpin) works;
filter ``BALB-<tag>-FILTER`` (from INPUT and OUTPUT, new connections) a port with no
                        ready member: REJECT (connection refused at once, not a hang
                        on the daemon's held socket).

A rewrite declares every chain it wants (which flushes it) and deletes the tag's
chains it no longer wants, in one ``iptables-restore --noflush``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from ...rules.balancing import spread
from ...rules.errors import InvalidParameter

LABEL = "io.baleine.balance"
LABEL_PORTS = "io.baleine.balance.ports"
LABEL_RESTART = "io.baleine.balance.restart"
#: the connection mark asking for masquerading (apart from kube-proxy's 0x4000)
MASQ_MARK = "0x10000"
COMMENT = "baleine-balance"
PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class PortSpec:
    """One port of a group: container port/proto, published on host port (0: not published)."""

    port: int
    proto: str = "tcp"
    host_ip: str = ""
    host_port: int = 0


@dataclass(frozen=True)
class RestartSpec:
    """``deploy.restart_policy`` as swarm reads it (delay and window in seconds; 0 = none)."""

    condition: str = "any"
    max_attempts: int = 0
    delay: float = 5.0
    window: float = 0.0


@dataclass(frozen=True)
class Target:
    """A ready member's address on one network."""

    ip: str
    name: str = ""


@dataclass
class Frontend:
    """What the kernel DNATs for one group port: its VIPs (network → address) and,
    when published, the host binding; ``targets`` per network (the members' addresses there)."""

    group: str
    spec: PortSpec
    vips: dict[str, str] = field(default_factory=dict)
    targets: dict[str, list[Target]] = field(default_factory=dict)
    #: the network whose members serve the published port
    publish_net: str = ""


def _int(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidParameter(f"invalid {what}: {text!r}") from None
    if not 0 < value <= 65535:
        raise InvalidParameter(f"invalid {what}: {text!r}")
    return value


def parse_port(text: str) -> PortSpec:
    """``[hostIP:]hostPort:containerPort[/proto]`` or ``containerPort[/proto]``."""
    body, _, proto = text.strip().partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidParameter(f"invalid protocol in balanced port {text!r}")
    host_ip = ""
    if body.startswith("["):
        raise InvalidParameter(f"IPv6 host address in balanced port {text!r} is not supported")
    parts = body.split(":")
    if len(parts) == 1:
        return PortSpec(_int(parts[0], "container port"), proto)
    if len(parts) == 3:
        host_ip = parts[0]
        try:
            ipaddress.IPv4Address(host_ip)
        except ValueError:
            raise InvalidParameter(f"invalid host address in balanced port {text!r}") from None
        parts = parts[1:]
    if len(parts) != 2:
        raise InvalidParameter(f"invalid balanced port {text!r}")
    host_port = _int(parts[0], "host port") if parts[0] else 0
    return PortSpec(_int(parts[1], "container port"), proto, host_ip, host_port)


def parse_ports(text: str) -> list[PortSpec]:
    """The ``io.baleine.balance.ports`` label (empty: none)."""
    return [parse_port(p) for p in (text or "").split(",") if p.strip()]


def format_port(p: PortSpec) -> str:
    """The label syntax of one port (inverse of :func:`parse_port`)."""
    proto = "" if p.proto == "tcp" else f"/{p.proto}"
    if not p.host_port:
        return f"{p.port}{proto}"
    ip = f"{p.host_ip}:" if p.host_ip else ""
    return f"{ip}{p.host_port}:{p.port}{proto}"


def _seconds(text: str, what: str) -> float:
    t = text.strip().lower()
    scale = 1.0
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if t.endswith(suffix):
            t, scale = t[: -len(suffix)], factor
            break
    try:
        value = float(t) * scale
    except ValueError:
        raise InvalidParameter(f"invalid {what} in restart policy: {text!r}") from None
    if value < 0:
        raise InvalidParameter(f"invalid {what} in restart policy: {text!r}")
    return value


def parse_restart(text: str) -> RestartSpec | None:
    """The ``io.baleine.balance.restart`` label; None when absent or condition ``none``."""
    if not (text or "").strip():
        return None
    cond, *opts = [p.strip() for p in text.split(";")]
    if cond not in ("any", "on-failure", "none"):
        raise InvalidParameter(f"invalid restart condition {cond!r} (any, on-failure, none)")
    if cond == "none":
        return None
    values: dict[str, float] = {}
    for opt in opts:
        key, _, value = opt.partition("=")
        if key == "max_attempts":
            try:
                values[key] = int(value)
            except ValueError:
                raise InvalidParameter(f"invalid max_attempts in restart policy: {value!r}") from None
        elif key in ("delay", "window"):
            values[key] = _seconds(value, key)
        else:
            raise InvalidParameter(f"unknown restart policy option {key!r}")
    return RestartSpec(cond, int(values.get("max_attempts", 0)), values.get("delay", 5.0),
                       values.get("window", 0.0))


def format_restart(r: RestartSpec) -> str:
    """The label syntax (inverse of :func:`parse_restart`)."""
    return f"{r.condition};max_attempts={r.max_attempts};delay={r.delay:g};window={r.window:g}"


def prefix(tag: str) -> str:
    return f"BALB-{tag}-"


def fixed_chains(tag: str) -> dict[str, str]:
    p = prefix(tag)
    return {role: p + role for role in ("SVC", "POST", "FILTER")}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10].upper()


def jumps(tag: str) -> list[tuple[str, str, list[str]]]:
    """(table, builtin chain, rule spec) of each jump into the daemon's chains (inserted first)."""
    c = fixed_chains(tag)
    comment = ["-m", "comment", "--comment", f"{COMMENT}:{tag}"]
    new = ["-m", "conntrack", "--ctstate", "NEW"]
    return [
        ("nat", "PREROUTING", comment + ["-j", c["SVC"]]),
        ("nat", "OUTPUT", comment + ["-j", c["SVC"]]),
        ("nat", "POSTROUTING", comment + ["-j", c["POST"]]),
        ("filter", "INPUT", new + comment + ["-j", c["FILTER"]]),
        ("filter", "OUTPUT", new + comment + ["-j", c["FILTER"]]),
    ]


def _matches(f: Frontend) -> list[tuple[str, str, str]]:
    """(network or "" for the host port, comment, match) of each way into ``f``."""
    p = f.spec
    m = f"-p {p.proto} -m {p.proto}"
    out = [(net, f"{f.group} {vip}:{p.port}", f"-d {vip}/32 {m} --dport {p.port}")
           for net, vip in sorted(f.vips.items())]
    if p.host_port:
        dest = f"-d {p.host_ip}/32 " if p.host_ip and p.host_ip != "0.0.0.0" else "-m addrtype --dst-type LOCAL "
        out.append(("", f"{f.group} host port {p.host_port}", f"{dest}{m} --dport {p.host_port}"))
    return out


def render(tag: str, frontends: list[Frontend], stale: frozenset[str] = frozenset()) -> str:
    """The ``iptables-restore --noflush`` input setting the tag's chains to exactly what
    ``frontends`` call for; ``stale``: the tag's nat chains that exist now."""
    c = fixed_chains(tag)
    decl = [c["SVC"], c["POST"]]
    nat = [f"-A {c['POST']} -m mark --mark {MASQ_MARK}/{MASQ_MARK} -j MASQUERADE"]
    svc, reject = [], []
    for f in frontends:
        for net, comment, match in _matches(f):
            targets = f.targets.get(net or f.publish_net) or []
            if not targets:
                reject.append(f'-A {c["FILTER"]} -m comment --comment "{comment} has no ready member" {match} '
                              f"-j REJECT --reject-with icmp-port-unreachable")
                continue
            key = f"{f.group}/{f.spec.proto}/{f.spec.port}/{f.spec.host_port}/{net}"
            chain = f"{prefix(tag)}G{_hash(key)}"
            decl.append(chain)
            svc.append(f'-A {c["SVC"]} -m comment --comment "{comment}" {match} -j {chain}')
            nat.append(f"-A {chain} -j MARK --set-xmark {MASQ_MARK}/{MASQ_MARK}")
            ends = [(f"{f.group} -> {t.ip}:{f.spec.port}", f"{prefix(tag)}E{_hash(f'{key}/{t.ip}')}")
                    for t in targets]
            nat += spread(chain, ends)
            for (_, end), t in zip(ends, targets):
                decl.append(end)
                nat.append(f"-A {end} -p {f.spec.proto} -m {f.spec.proto} -j DNAT "
                           f"--to-destination {t.ip}:{f.spec.port}")
    gone = sorted(set(stale) - set(decl))
    lines = ["*nat", *(f":{name} - [0:0]" for name in decl + gone), *svc, *nat,
             *(f"-X {name}" for name in gone), "COMMIT",
             "*filter", f":{c['FILTER']} - [0:0]", *reject, "COMMIT"]
    return "\n".join(lines) + "\n"
