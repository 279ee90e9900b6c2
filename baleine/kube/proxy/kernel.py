"""The proxy's kernel state: its iptables chains and jumps, and the service range's route.

Every function blocks (iptables, netlink): call them from a worker thread.

The service range is routed to a dummy interface ``bkube-<tag>`` (as
kube-proxy's IPVS mode makes ``kube-ipvs0``; an empty bridge where the kernel
has no dummy driver), so that a packet to a ClusterIP
never leaves the host, even before (or without) rules for it: from the host it
is sent into the dummy and dropped, from a container it is forwarded there and
dropped (or REJECTed by the filter chain when the Service has no endpoints).
The route sits in the main table, where ``servicecidr`` looks when another
daemon picks its range. The interface carries the alias
``baleine:<tag>:kube-services``: the engine's ``reap`` removes it (and its route)
with the daemon's other interfaces; :func:`reap` removes the chains.

Pods reach ClusterIPs through their bridge's gateway: DNAT in PREROUTING, then
routed back to the endpoint. When client and endpoint sit on the same bridge,
the endpoint's reply is bridged, not routed: it is de-NATed only because
``bridge-nf-call-iptables`` is 1 (``br_netfilter``, as a bridge CNI plugin
requires); :func:`bridge_netfilter` reports it and the proxy logs a warning when
it is off. A pod reaching itself is masqueraded (hairpin mark, see ``rules``).
NodePorts on 127.0.0.1 rely on ``route_localnet``, which Baleine's bridges have.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import socket
import subprocess

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ... import netfilter
from ..hostlink import add_sink, alias, daemon_tag
from . import rules
from .model import ServicePort

__all__ = ["daemon_tag"]  # the proxy's chains and interface are named with the engine's tag

BRIDGE_NF = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def dummy_name(tag: str) -> str:
    return f"bkube-{tag}"


def dummy_alias(tag: str) -> str:
    return alias(tag, "kube-services")


def existing_chains(tag: str, table: str = "nat") -> frozenset[str]:
    """The chains of the tag in ``table`` (from ``iptables-save``)."""
    return netfilter.chains_with_prefix(rules.prefix(tag), table)


def apply(tag: str, ports: list[ServicePort], host_ip: str) -> None:
    """Rewrite the daemon's chains from ``ports`` (one atomic ``iptables-restore``)."""
    text = rules.render(tag, ports, host_ip, existing_chains(tag))
    netfilter.run(["--noflush"], input_=text, tool="iptables-restore")


def install_jumps(tag: str) -> None:
    """The jumps into the daemon's chains (made by :func:`apply` first), once each."""
    netfilter.install_jumps(rules.jumps(tag))


def remove_rules(tag: str) -> None:
    """The jumps and every chain of the tag (nothing if already gone)."""
    netfilter.remove(rules.jumps(tag), rules.prefix(tag))


def route_range(tag: str, cidr: ipaddress.IPv4Network) -> bool:
    """Make the dummy interface and route ``cidr`` to it; False (and nothing
    routed) when another interface already has that exact route."""
    name = dummy_name(tag)
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            add_sink(ipr, name)
            found = ipr.link_lookup(ifname=name)
        idx = found[0]
        ipr.link("set", index=idx, ifalias=dummy_alias(tag), state="up")
        try:
            ipr.route("add", dst=str(cidr.network_address), dst_len=cidr.prefixlen, oif=idx)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise
            routes = ipr.route("get", dst=str(cidr.network_address + 1))
            return bool(routes) and routes[0].get_attr("RTA_OIF") == idx
    return True


def host_address() -> str:
    """The host's main IPv4 address: the source of its default route (else its first
    global address; empty when it has none)."""
    with IPRoute() as ipr:
        try:
            routes = ipr.route("get", dst="192.0.2.1")  # TEST-NET-1: only the route is looked up
            src = routes[0].get_attr("RTA_PREFSRC") if routes else None
            if src:
                return str(src)
        except NetlinkError:
            pass
        for msg in ipr.get_addr(family=socket.AF_INET):
            addr = msg.get_attr("IFA_ADDRESS")
            if addr and msg["scope"] == 0 and not addr.startswith("127."):
                return str(addr)
    return ""


def bridge_netfilter() -> bool:
    """Whether bridged IPv4 traffic goes through iptables (see the module's docstring)."""
    try:
        with open(BRIDGE_NF) as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def reap(data_root: str) -> None:
    """Remove what a daemon's proxy left in the kernel: its chains and jumps, its
    dummy interface (and with it the route); for tests and operators. Blocking."""
    tag = daemon_tag(data_root)
    remove_rules(tag)
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=dummy_name(tag))
        if found:
            try:
                ipr.link("del", index=found[0])
            except NetlinkError as exc:
                if exc.code not in (errno.ENODEV, errno.ENOENT):
                    raise


def forget_udp(flows: list[list[str]]) -> None:
    """Delete the UDP conntrack entries matching each filter (``conntrack -D -p udp``
    arguments); a filter matching nothing is not an error."""
    binary = shutil.which("conntrack") or "/usr/sbin/conntrack"
    if not os.path.exists(binary):
        return
    for args in flows:
        subprocess.run([binary, "-D", "-p", "udp", *args], capture_output=True)
