"""The daemon's firewall and NAT rules: rendered from state, applied atomically.

A daemon owns four chains, named after its tag so that daemons sharing a host
never touch each other's rules:

``BALEINE-<tag>-IN``   (filter, jumped to first in FORWARD) traffic *into* its
                       networks: replies, published ports (conntrack ``DNAT``),
                       traffic within one network; everything else is dropped,
                       which isolates networks from each other and from outside.
``BALEINE-<tag>-OUT``  (filter, jumped to last in FORWARD) traffic *out of* its
                       networks: accepted, or dropped for ``--internal`` ones.
                       Every IN chain comes before every OUT chain, so a
                       container can never reach another network by leaving its own.
``BALEINE-<tag>-DNAT`` (nat, from PREROUTING and OUTPUT for local destinations)
                       published ports: kernel DNAT to the container's address,
                       127.0.0.1 included (the bridges have ``route_localnet``).
``BALEINE-<tag>-POST`` (nat, POSTROUTING) outbound masquerading, and source NAT of
                       connections from 127.0.0.1 and of hairpin connections.

:func:`render` is a pure function of the state (networks and port mappings);
:meth:`Firewall.apply` replaces the chains' contents with one ``iptables-restore
--noflush`` (all or nothing); the jumps from the built-in chains carry the
comment ``baleine:<tag>`` and are installed once (:meth:`Firewall.install`).

IPv6 gets the same chains through ``ip6tables`` (:func:`render6`): the same
filter rules for every bridge (isolation between networks, ``--internal``),
and masquerading of the IPv6 subnets going out. It has no DNAT rules:
published ports reach containers over IPv6 through ``portproxy``. A host
without a usable ``ip6tables`` simply gets no IPv6 rules.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from ... import netfilter
from ...rules.errors import EngineError


@dataclass(frozen=True)
class NetRules:
    """What the rules need to know of one bridge network."""

    bridge: str
    subnet: str
    gateway: str
    internal: bool = False
    masquerade: bool = True
    icc: bool = True
    subnet6: str = ""    # the IPv6 subnet, for networks with IPv6


@dataclass(frozen=True)
class PortRule:
    """One published port: host (ip, port) → container (ip, port)."""

    proto: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int


def chains(tag: str) -> dict[str, str]:
    """The daemon's chain names by role (filter IN/OUT, nat DNAT/POST)."""
    return {role: f"BALEINE-{tag}-{role}" for role in ("IN", "OUT", "DNAT", "POST")}


def jumps(tag: str) -> list[tuple[str, str, list[str]]]:
    """(table, builtin chain, rule spec) of each jump into the daemon's chains.

    The FORWARD IN jump is inserted first, the OUT jump appended: see the module
    docstring for why.
    """
    c = chains(tag)
    comment = ["-m", "comment", "--comment", f"baleine:{tag}"]
    local = ["-m", "addrtype", "--dst-type", "LOCAL"]
    return [
        ("filter", "FORWARD", comment + ["-j", c["IN"]]),
        ("filter", "FORWARD", comment + ["-j", c["OUT"]]),
        ("nat", "PREROUTING", local + comment + ["-j", c["DNAT"]]),
        ("nat", "OUTPUT", local + comment + ["-j", c["DNAT"]]),
        ("nat", "POSTROUTING", comment + ["-j", c["POST"]]),
    ]


def _filter_rules(c: dict[str, str], n: NetRules) -> tuple[list[str], list[str]]:
    """The IN and OUT rules of one bridge (the same for both families)."""
    br = n.bridge
    into = [f"-A {c['IN']} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            f"-A {c['IN']} -i {br} -o {br} -j {'ACCEPT' if n.icc else 'DROP'}"]
    if not n.internal:
        into.append(f"-A {c['IN']} -o {br} -m conntrack --ctstate DNAT -j ACCEPT")
    into.append(f"-A {c['IN']} -o {br} -j DROP")
    out = [f"-A {c['OUT']} -i {br} ! -o {br} -j {'DROP' if n.internal else 'ACCEPT'}"]
    return into, out


def render6(tag: str, nets: list[NetRules]) -> str:
    """The ``ip6tables-restore --noflush`` input: the filter rules of every bridge
    (so that no IPv6 packet crosses from one network to another, whichever has
    IPv6) and masquerading of the IPv6 subnets on their way out."""
    c = chains(tag)
    into, out, post = [], [], []
    for n in nets:
        i, o = _filter_rules(c, n)
        into += i
        out += o
        if n.subnet6 and not n.internal and n.masquerade:
            post.append(f"-A {c['POST']} -s {n.subnet6} ! -o {n.bridge} -j MASQUERADE")
    lines = ["*filter", f":{c['IN']} - [0:0]", f":{c['OUT']} - [0:0]", *into, *out, "COMMIT",
             "*nat", f":{c['DNAT']} - [0:0]", f":{c['POST']} - [0:0]", *post, "COMMIT"]
    return "\n".join(lines) + "\n"


def render(tag: str, nets: list[NetRules], ports: list[PortRule]) -> str:
    """The ``iptables-restore --noflush`` input that sets the four chains to exactly
    what ``nets`` and ``ports`` call for (declaring a chain flushes it)."""
    c = chains(tag)
    into, out, dnat, post = [], [], [], []
    for n in nets:
        br = n.bridge
        i, o = _filter_rules(c, n)
        into += i
        out += o
        if not n.internal and n.masquerade:
            post.append(f"-A {c['POST']} -s {n.subnet} ! -o {br} -j MASQUERADE")
        # The host talking to a published port through 127.0.0.1: the container
        # must see an address it can answer, so the source becomes the gateway.
        # (Other host addresses are answerable as they are: no NAT for them.)
        post.append(f"-A {c['POST']} -s 127.0.0.0/8 -o {br} -j SNAT --to-source {n.gateway}")
        # A container reaching a published port of its own network (hairpin).
        post.append(f"-A {c['POST']} -s {n.subnet} -o {br} -m conntrack --ctstate DNAT -j MASQUERADE")
    for p in ports:
        dest = f"-d {p.host_ip}/32 " if p.host_ip not in ("", "0.0.0.0") else ""
        dnat.append(f"-A {c['DNAT']} {dest}-p {p.proto} -m {p.proto} --dport {p.host_port} "
                    f"-j DNAT --to-destination {p.container_ip}:{p.container_port}")
    lines = ["*filter", f":{c['IN']} - [0:0]", f":{c['OUT']} - [0:0]", *into, *out, "COMMIT",
             "*nat", f":{c['DNAT']} - [0:0]", f":{c['POST']} - [0:0]", *dnat, *post, "COMMIT"]
    return "\n".join(lines) + "\n"


class Firewall:
    """The rules of one daemon (blocking: call from a worker thread)."""

    def __init__(self, tag: str, binary: str | None = None) -> None:
        self.tag = tag
        self.iptables = binary or shutil.which("iptables") or "/usr/sbin/iptables"
        self.restore = shutil.which(self.iptables + "-restore") or shutil.which("iptables-restore") \
            or "/usr/sbin/iptables-restore"
        # IPv6: only with the default binary (a given one is a test's stand-in for iptables).
        self.ip6tables = None if binary else shutil.which("ip6tables")
        self.restore6 = shutil.which("ip6tables-restore") if self.ip6tables else None
        self._v6_ok: bool | None = None   # whether ip6tables works here (probed once)
        self._last6 = ""                  # the IPv6 rules last applied

    def _run(self, args: list[str], input_: str | None = None, check: bool = True,
             binary: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([binary or self.iptables, *args], input=input_, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise EngineError(f"iptables failed: {' '.join(args)}: {proc.stderr.strip()}")
        return proc

    def _binaries(self) -> list[str]:
        """iptables, and ip6tables when it is there and works."""
        out = [self.iptables]
        if self.ip6tables and self._v6_usable():
            out.append(self.ip6tables)
        return out

    def _v6_usable(self) -> bool:
        if self._v6_ok is None:
            assert self.ip6tables is not None
            probe = self._run(["-w", "-t", "nat", "-S", "POSTROUTING"], check=False, binary=self.ip6tables)
            self._v6_ok = probe.returncode == 0
        return self._v6_ok

    def install(self) -> None:
        """Create the chains (empty) and the jumps into them, once each (both families)."""
        self.apply([], [])
        for binary in self._binaries():
            for table, builtin, spec in jumps(self.tag):
                if self._run(["-w", "-t", table, "-C", builtin, *spec], check=False, binary=binary).returncode == 0:
                    continue
                if spec[-1].endswith("-OUT"):
                    self._run(["-w", "-t", table, "-A", builtin, *spec], binary=binary)
                else:
                    self._run(["-w", "-t", table, "-I", builtin, "1", *spec], binary=binary)

    def apply(self, nets: list[NetRules], ports: list[PortRule]) -> None:
        """Replace the chains' contents (atomically per family) with what the state calls for."""
        self._run(["-w", "--noflush"], input_=render(self.tag, nets, ports), binary=self.restore)
        if self.restore6 and self.ip6tables and self._v6_usable():
            text = render6(self.tag, nets)
            # Ports change far more often than networks, and IPv6 rules have none:
            # rewrite them only when they change.
            if text != self._last6:
                self._run(["-w", "--noflush"], input_=text, binary=self.restore6)
                self._last6 = text

    def remove(self) -> None:
        """Delete the jumps and the chains of both families (nothing if already gone).
        IPv6 is tried whenever ip6tables is installed, usable or not by the probe: a
        probe failing under load must not leave the IPv6 half behind."""
        self._last6 = ""
        for binary in [self.iptables, *([self.ip6tables] if self.ip6tables else [])]:
            netfilter.remove_jumps(jumps(self.tag), tool=binary)
            for role, name in chains(self.tag).items():
                table = "filter" if role in ("IN", "OUT") else "nat"
                if self._run(["-w", "-t", table, "-F", name], check=False, binary=binary).returncode == 0:
                    self._run(["-w", "-t", table, "-X", name], check=False, binary=binary)
