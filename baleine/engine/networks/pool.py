"""A small pool of pre-plumbed network sandboxes for the default bridge.

Wiring a container's namespace costs 10-15 ms of netlink round trips at start
(a new namespace, loopback up, a veth pair, the host end enslaved to the
bridge, hairpin, lookups of the host's whole link table). None of that depends
on the container but its address, MAC and route, so a few sandboxes are made
ahead of time, in a worker thread, and a starting container on the default
bridge takes one and only gets the rest written (:func:`finish`: the
namespace file moved to the container's usual path, one batch of three
requests inside (``rtnl``), the host end's alias): what the container sees is
what ``bridge.plumb`` makes.

A member is a namespace pinned at ``<exec-root>/netns/pool-<hex>`` with ``lo``
up and ``eth0`` down (so no IPv6 link-local address is made from a MAC that is
not the container's), and the host end ``veth<7 hex>`` on the bridge, up, with
hairpin, aliased ``baleine:<tag>:pool:<hex>``. Nothing leaks: the pool destroys
its members at daemon stop (:meth:`SandboxPool.close`); after a crash the
start-up sweep removes them like any interface or namespace no running
container owns (the alias names no container), and ``reap`` removes every
tagged interface and namespace file.

Contract: :meth:`SandboxPool.take` never blocks and returns None when no member
is ready (the caller plumbs as before); a member is taken at most once; refills
run in the background, one at a time, after a short delay so that they do not
compete with the start that emptied the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import secrets
from dataclasses import dataclass

from pyroute2.netlink.exceptions import NetlinkError

from . import bridge, netns, rtnl

log = logging.getLogger("baleine.networks")

PREFIX = "pool-"
REFILL_DELAY = 0.15  # s after a take: the start that took it is still running


@dataclass(frozen=True)
class Sandbox:
    """One pre-plumbed namespace and its veth pair (see module docstring)."""

    ns_path: str
    host_if: str
    host_index: int
    eth_index: int
    bridge: str
    mtu: int


def _sys_index(name: str, what: str = "ifindex") -> int:
    """``/sys/class/net/<name>/<what>`` (sysfs shows the host's links whatever the
    calling thread's network namespace)."""
    with open(f"/sys/class/net/{name}/{what}") as f:
        return int(f.read())


def make(ns_dir: str, bridge_name: str, mtu: int, tag: str) -> Sandbox:
    """Blocking: plumb a new member (one rtnetlink batch on each side, hairpin
    through sysfs); on failure nothing is left behind."""
    token = secrets.token_hex(6)
    ns_path = os.path.join(ns_dir, PREFIX + token)
    host_if = "veth" + secrets.token_hex(4)[:7]
    try:
        br = _sys_index(bridge_name)
    except FileNotFoundError:
        raise OSError(errno.ENODEV, f"bridge {bridge_name} does not exist") from None

    def work() -> Sandbox:
        with rtnl.open_socket() as host:  # opened before moving: it stays in the host's namespace
            netns.enter_new(ns_path)
            try:
                with rtnl.open_socket() as inside:
                    rtnl.send(inside, [rtnl.link_set(1, up=True)])  # lo is 1 in a new namespace
                fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    rtnl.send(host, [rtnl.veth_add(host_if, "eth0", fd, mtu, br),
                                     rtnl.link_set_by_name(host_if, up=True,
                                                           alias=f"{bridge.ALIAS_PREFIX}{tag}:pool:{token}")])
                finally:
                    os.close(fd)
                with open(f"/sys/class/net/{host_if}/brport/hairpin_mode", "w") as f:
                    f.write("1")  # as bridge.plumb: a container reaching its own published port
                return Sandbox(ns_path, host_if, _sys_index(host_if), _sys_index(host_if, "iflink"), bridge_name, mtu)
            except BaseException:
                bridge.delete_link(host_if)
                netns.remove(ns_path)
                raise

    return netns.in_new_thread(work)


def finish(sb: Sandbox, ns_path: str, link: bridge.Link) -> None:
    """Blocking: give a taken member to a container: its namespace pinned at
    ``ns_path`` (the path ``bridge.plumb`` would have used), ``link``'s MAC,
    address and default route inside, ``link.alias`` on the host end.
    ``link.host_if``/``ifname``/``bridge``/``mtu`` must be the member's. On
    failure the member is destroyed (the caller releases the rest)."""
    assert link.host_if == sb.host_if and link.ifname == "eth0"

    inside_requests = [rtnl.link_set(sb.eth_index, mac=link.mac, up=True),
                       rtnl.addr_add(sb.eth_index, link.address)]
    if link.gateway is not None:
        inside_requests.append(rtnl.default_route_add(sb.eth_index, link.gateway))

    def work() -> None:
        with rtnl.open_socket() as host:  # opened before moving: it stays in the host's namespace
            netns.move(sb.ns_path, ns_path)
            netns.enter(ns_path)
            with rtnl.open_socket() as inside:
                rtnl.send(host, [rtnl.link_set(sb.host_index, alias=link.alias)])
                rtnl.send(inside, inside_requests)

    try:
        netns.in_new_thread(work)
    except BaseException:
        destroy(sb)
        with contextlib.suppress(Exception):
            netns.remove(ns_path)
        raise


# What finish writes; a Link field added later (an IPv6 address...) and set makes
# starts plumb as before until finish learns it.
_FINISHED = {"ifname", "host_if", "bridge", "address", "mac", "mtu", "gateway", "alias"}


def supports(link: bridge.Link) -> bool:
    """Whether :func:`finish` writes everything ``link`` asks for."""
    for f in dataclasses.fields(link):
        if f.name not in _FINISHED and getattr(link, f.name) != f.default:
            return False
    return True


def destroy(sb: Sandbox) -> None:
    """Blocking: remove a member (missing parts are fine)."""
    with contextlib.suppress(NetlinkError, OSError):
        bridge.delete_link(sb.host_if)
    netns.remove(sb.ns_path)


class SandboxPool:
    """Up to ``size`` ready members for one bridge and MTU (see module docstring)."""

    def __init__(self, ns_dir: str, tag: str, size: int = 2) -> None:
        self.ns_dir = ns_dir
        self.tag = tag
        self.size = size
        self.bridge = ""
        self.mtu = 0
        self._ready: list[Sandbox] = []
        self._refill: asyncio.Task[None] | None = None
        self._closed = False

    def start(self, bridge_name: str, mtu: int) -> None:
        """Serve ``bridge_name`` with ``mtu``; fill in the background."""
        self.bridge, self.mtu = bridge_name, mtu
        if self.size > 0:
            self._schedule(0)

    def take(self, link: bridge.Link) -> Sandbox | None:
        """A ready member for ``link`` (its bridge and MTU, nothing :func:`finish`
        cannot write), or None (never blocks)."""
        if (self._closed or not self._ready or link.bridge != self.bridge or link.mtu != self.mtu
                or link.ifname != "eth0" or not supports(link)):
            return None
        sb = self._ready.pop(0)
        self._schedule(REFILL_DELAY)
        return sb

    def _schedule(self, delay: float) -> None:
        if self._closed or (self._refill is not None and not self._refill.done()):
            return
        self._refill = asyncio.get_running_loop().create_task(self._fill(delay))

    async def _fill(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        while not self._closed and len(self._ready) < self.size:
            try:
                sb = await asyncio.to_thread(make, self.ns_dir, self.bridge, self.mtu, self.tag)
            except Exception as exc:  # noqa: BLE001 - the pool is an optimisation: starts plumb instead
                log.warning("could not pre-plumb a network sandbox: %s", exc)
                return
            if self._closed:
                await asyncio.to_thread(destroy, sb)
                return
            self._ready.append(sb)

    async def close(self) -> None:
        """Stop refilling and destroy the ready members."""
        self._closed = True
        if self._refill is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._refill), 5)
        ready, self._ready = self._ready, []
        if ready:
            await asyncio.to_thread(lambda: [destroy(sb) for sb in ready])
