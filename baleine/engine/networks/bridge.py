"""The bridge driver: Linux bridges, veth pairs, and a container namespace's
interfaces, addresses and routes, over netlink (pyroute2).

Every link the daemon makes on the host carries an interface alias
(``IFLA_IFALIAS``) ``baleine:<daemon tag>:<what>`` so that what a crashed
daemon left behind can be found and removed (see ``reap``). Interfaces inside a
container's namespace need no tag: they vanish with the namespace.

IPv6 (networks with ``EnableIPv6``): the bridge and the container's interface
get their global address with IFA_F_NODAD and ``accept_dad`` off (duplicate
address detection would hold an address "tentative", unusable, for a second
or more; the IPAM never hands one out twice), and ``disable_ipv6`` is cleared
on them; the container's IPv6 default route goes through the bridge's address.
Interfaces of networks without IPv6 are left as the kernel makes them.

All functions block (netlink round trips, sysctl writes): call them from a
worker thread. Functions that enter a namespace do it in a thread of their own.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from . import netns

ALIAS_PREFIX = "baleine:"
IFA_F_NODAD = 0x02


@dataclass
class Link:
    """One interface of a container, and its host side on a bridge."""

    ifname: str                 # inside the container: eth0, eth1...
    host_if: str                # on the host: veth<7 hex>
    bridge: str
    address: IPv4Interface      # address/prefix inside the container
    mac: str
    mtu: int = 1500
    gateway: IPv4Address | None = None   # default route via this, if given
    alias: str = ""             # IFLA_IFALIAS of the host side
    address6: IPv6Interface | None = None   # on networks with IPv6
    gateway6: IPv6Address | None = None     # IPv6 default route via this, if given


def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


index_of = _index  # for the sandbox pool (``pool``)


def _sysctl(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _enable_ipv6(ifname: str) -> None:
    """IPv6 on, without duplicate address detection, for ``ifname`` (in the calling
    thread's namespace)."""
    _sysctl(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6", "0")
    _sysctl(f"/proc/sys/net/ipv6/conf/{ifname}/accept_dad", "0")


def _set_addresses6(ipr: IPRoute, idx: int, ifname: str, address6: IPv6Interface | None) -> None:
    """Make ``address6`` the only global IPv6 address of the interface (link-local
    ones stay); remove the global ones when it is None."""
    have = {(IPv6Address(a.get_attr("IFA_ADDRESS")), a["prefixlen"])
            for a in ipr.get_addr(index=idx, family=socket.AF_INET6)}
    have = {(a, p) for a, p in have if not a.is_link_local}
    wanted = (address6.ip, address6.network.prefixlen) if address6 is not None else None
    for addr, plen in have - {wanted}:
        ipr.addr("del", index=idx, address=str(addr), prefixlen=plen, family=socket.AF_INET6)
    if wanted is not None and wanted not in have:
        _enable_ipv6(ifname)
        ipr.addr("add", index=idx, address=str(wanted[0]), prefixlen=wanted[1], family=socket.AF_INET6,
                 flags=IFA_F_NODAD)


def ensure_bridge(name: str, address: IPv4Interface, mtu: int, alias: str,
                  address6: IPv6Interface | None = None) -> None:
    """Make the bridge ``name`` exist, up, with exactly ``address`` as its IPv4 address
    and ``address6`` as its only global IPv6 address (none when None).

    It also gets ``route_localnet`` (so 127.0.0.1-published ports can be DNATed
    to containers, as dockerd does without its userland proxy) and IPv4
    forwarding for packets coming from its containers (their way out; isolation
    is the firewall's job).
    """
    with IPRoute() as ipr:
        idx = _index(ipr, name)
        if idx is None:
            try:
                ipr.link("add", ifname=name, kind="bridge")
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    raise
            idx = _index(ipr, name)
            assert idx is not None
        ipr.link("set", index=idx, ifalias=alias, mtu=mtu)
        _pin_mac(ipr, idx, name)
        have = [(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=idx, family=socket.AF_INET)]
        wanted = (str(address.ip), address.network.prefixlen)
        for addr, plen in have:
            if (addr, plen) != wanted:
                ipr.addr("del", index=idx, address=addr, prefixlen=plen)
        if wanted not in have:
            ipr.addr("add", index=idx, address=wanted[0], prefixlen=wanted[1])
        _set_addresses6(ipr, idx, name, address6)
        ipr.link("set", index=idx, state="up")
    _sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")
    _sysctl(f"/proc/sys/net/ipv4/conf/{name}/forwarding", "1")


#: ``addr_assign_type`` of an address set by user space (the kernel's NET_ADDR_SET).
_ADDR_SET = "3"


def _pin_mac(ipr: IPRoute, idx: int, name: str) -> None:
    """Make the bridge's current MAC address its own for good, as dockerd does.

    A bridge whose address was never set takes the lowest MAC of its ports each
    time one joins or leaves: a veth joining (the sandbox pool refilling, a second
    container) would change the gateway's MAC under the containers already there,
    whose ARP entries then point at an address the bridge drops as another host's,
    until they expire (tens of seconds without an answer). Setting the address,
    even to the same value, marks it set and the kernel stops recomputing it."""
    try:
        with open(f"/sys/class/net/{name}/addr_assign_type") as f:
            if f.read().strip() == _ADDR_SET:
                return
    except OSError:
        pass  # no sysfs: set it anyway
    mac = ipr.get_links(idx)[0].get_attr("IFLA_ADDRESS")
    ipr.link("set", index=idx, address=mac)


def enable_ipv6_forwarding() -> bool:
    """Turn host-wide IPv6 forwarding on (``net.ipv6.conf.{default,all}.forwarding``),
    as dockerd does for an IPv6 network's way out; True if it was off.

    Note for operators: with forwarding on, interfaces whose ``accept_ra`` is 1 stop
    taking router advertisements (set it to 2 where the host relies on them)."""
    changed = False
    for scope in ("default", "all"):
        path = f"/proc/sys/net/ipv6/conf/{scope}/forwarding"
        with open(path, "r+") as f:
            if f.read().strip() != "1":
                f.seek(0)
                f.write("1")
                changed = True
    return changed


def delete_link(name: str) -> bool:
    """Delete an interface (a bridge, or a veth pair by either end); False if absent."""
    with IPRoute() as ipr:
        idx = _index(ipr, name)
        if idx is None:
            return False
        try:
            ipr.link("del", index=idx)
        except NetlinkError as exc:
            if exc.code not in (errno.ENODEV, errno.ENOENT):
                raise
            return False
    return True


def tagged_links(prefix: str) -> list[tuple[str, str, str]]:
    """(name, alias, kind) of the host's interfaces whose alias starts with ``prefix``."""
    out = []
    with IPRoute() as ipr:
        for msg in ipr.get_links():
            alias = msg.get_attr("IFLA_IFALIAS") or ""
            if alias.startswith(prefix):
                info = msg.get_attr("IFLA_LINKINFO")
                kind = info.get_attr("IFLA_INFO_KIND") if info is not None else ""
                out.append((msg.get_attr("IFLA_IFNAME"), alias, kind or ""))
    return out


def link_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return _index(ipr, name) is not None


def _attach(host: IPRoute, inside: IPRoute, ns_path: str, link: Link) -> None:
    """Create ``link``'s veth pair (peer straight into the namespace), plug the host
    side into its bridge, and configure the container side."""
    bridge = _index(host, link.bridge)
    if bridge is None:
        raise OSError(errno.ENODEV, f"bridge {link.bridge} does not exist")
    host.link("add", ifname=link.host_if, kind="veth", mtu=link.mtu,
              peer={"ifname": link.ifname, "net_ns_fd": ns_path, "mtu": link.mtu})
    idx = _index(host, link.host_if)
    assert idx is not None
    host.link("set", index=idx, master=bridge, ifalias=link.alias, state="up")
    # Hairpin: a container reaching its own published port comes back through its own port.
    host.brport("set", index=idx, mode=1)
    eth = _index(inside, link.ifname)
    assert eth is not None
    configure_inside(inside, eth, link)


def configure_inside(inside: IPRoute, eth: int, link: Link) -> None:
    """Give the container side (index ``eth``, down) ``link``'s MAC and addresses,
    bring it up, add its default routes (``pool`` writes the same for IPv4 links)."""
    inside.link("set", index=eth, address=link.mac)
    inside.addr("add", index=eth, address=str(link.address.ip), prefixlen=link.address.network.prefixlen)
    if link.address6 is not None:
        _enable_ipv6(link.ifname)
        inside.addr("add", index=eth, address=str(link.address6.ip), prefixlen=link.address6.network.prefixlen,
                    family=socket.AF_INET6, flags=IFA_F_NODAD)
    inside.link("set", index=eth, state="up")
    if link.gateway is not None:
        inside.route("add", dst="0.0.0.0/0", gateway=str(link.gateway), oif=eth)
    if link.gateway6 is not None:
        inside.route("add", dst="::/0", gateway=str(link.gateway6), oif=eth, family=socket.AF_INET6)


def plumb(ns_path: str, links: list[Link], then: Callable[[], Any] | None = None) -> Any:
    """Make a new namespace pinned at ``ns_path`` with loopback up and ``links``
    wired to their bridges; then run ``then`` inside it (e.g. to bind the DNS
    server's sockets there) and return its result.

    On failure the host sides made so far and the namespace are removed.
    """

    def work() -> Any:
        with IPRoute() as host:  # opened before moving: it stays in the host's namespace
            netns.enter_new(ns_path)
            try:
                with IPRoute() as inside:
                    lo = _index(inside, "lo")
                    if lo is not None:
                        inside.link("set", index=lo, state="up")
                    for link in links:
                        _attach(host, inside, ns_path, link)
                return then() if then is not None else None
            except BaseException:
                for link in links:
                    idx = _index(host, link.host_if)
                    if idx is not None:
                        host.link("del", index=idx)
                netns.remove(ns_path)
                raise

    return netns.in_new_thread(work)


def attach(ns_path: str, link: Link, then: Callable[[], Any] | None = None) -> Any:
    """Wire one more link into an existing namespace (``network connect``)."""

    def work() -> Any:
        with IPRoute() as host:
            netns.enter(ns_path)
            try:
                with IPRoute() as inside:
                    _attach(host, inside, ns_path, link)
                return then() if then is not None else None
            except BaseException:
                idx = _index(host, link.host_if)
                if idx is not None:
                    host.link("del", index=idx)
                raise

    return netns.in_new_thread(work)


def set_default_route(ns_path: str, ifname: str, gateway: IPv4Address | None,
                      gateway6: IPv6Address | None = None) -> None:
    """Replace the namespace's default routes, IPv4 and IPv6 (after a disconnect
    changed the way out; no IPv6 one when ``gateway6`` is None)."""

    def work() -> None:
        netns.enter(ns_path)
        with IPRoute() as inside:
            for dst, family in (("0.0.0.0/0", socket.AF_INET), ("::/0", socket.AF_INET6)):
                try:
                    inside.route("del", dst=dst, family=family)
                except NetlinkError:
                    pass
            idx = _index(inside, ifname)
            if gateway is not None and idx is not None:
                inside.route("add", dst="0.0.0.0/0", gateway=str(gateway), oif=idx)
            if gateway6 is not None and idx is not None:
                inside.route("add", dst="::/0", gateway=str(gateway6), oif=idx, family=socket.AF_INET6)

    netns.in_new_thread(work)
