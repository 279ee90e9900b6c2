"""A few rtnetlink requests, built by hand and sent in one batch.

pyroute2 costs ~0.4 ms of Python per request; a container start on a pooled
sandbox (see ``pool``) needs four fixed requests, making one a few more, whose shape never changes, so
they are packed here with ``struct`` and sent together: the kernel handles the
messages of one datagram in order and acknowledges each (``NLM_F_ACK``), and a
failed one does not stop the next, so every ack is read and the first error
raised. Only what ``pool`` needs: a veth pair with its peer in a namespace, a
link's MAC, up flag and alias, an IPv4 address, an IPv4 default route. Blocking: call from a worker thread, in
the namespace the socket must belong to (a socket stays in the namespace of the
thread that opened it).
"""

from __future__ import annotations

import os
import socket
import struct
from ipaddress import IPv4Address, IPv4Interface

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 20, 24
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
IFF_UP = 0x1
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD = 1, 3, 4, 10, 18, 20, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
NLA_F_NESTED = 0x8000
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_OIF, RTA_GATEWAY = 4, 5
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1

_HDR = struct.Struct("=IHHII")


def _attr(kind: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * (-length % 4)


def _message(kind: int, flags: int, body: bytes) -> bytes:
    """One request (its sequence number is set by :func:`send`)."""
    return _HDR.pack(_HDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK | flags, 0, 0) + body


def _ifinfo(index: int, up: bool = False) -> bytes:
    return struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)


def veth_add(name: str, peer: str, peer_ns_fd: int, mtu: int, master: int) -> bytes:
    """Create the veth pair ``name`` (on bridge ``master``, down) / ``peer`` (made
    directly in the namespace of ``peer_ns_fd``, down), both with ``mtu``."""
    peer_info = _ifinfo(0) + _attr(IFLA_IFNAME, peer.encode() + b"\0") + _attr(IFLA_MTU, struct.pack("=I", mtu)) \
        + _attr(IFLA_NET_NS_FD, struct.pack("=I", peer_ns_fd))
    info = _attr(IFLA_INFO_KIND, b"veth") + _attr(IFLA_INFO_DATA | NLA_F_NESTED, _attr(VETH_INFO_PEER, peer_info))
    body = _ifinfo(0) + _attr(IFLA_IFNAME, name.encode() + b"\0") + _attr(IFLA_MTU, struct.pack("=I", mtu)) \
        + _attr(IFLA_MASTER, struct.pack("=I", master)) + _attr(IFLA_LINKINFO | NLA_F_NESTED, info)
    return _message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)


def link_set_by_name(name: str, *, up: bool = False, alias: str | None = None) -> bytes:
    """Set the up flag and alias of the link called ``name``."""
    body = _ifinfo(0, up) + _attr(IFLA_IFNAME, name.encode() + b"\0")
    if alias is not None:
        body += _attr(IFLA_IFALIAS, alias.encode())
    return _message(RTM_NEWLINK, 0, body)


def link_set(index: int, *, mac: str | None = None, up: bool = False, alias: str | None = None) -> bytes:
    """Set a link's MAC (the kernel applies it before the flags), up flag, alias."""
    body = _ifinfo(index, up)
    if mac is not None:
        body += _attr(IFLA_ADDRESS, bytes.fromhex(mac.replace(":", "")))
    if alias is not None:
        body += _attr(IFLA_IFALIAS, alias.encode())
    return _message(RTM_NEWLINK, 0, body)


def addr_add(index: int, address: IPv4Interface) -> bytes:
    """Add an IPv4 address (no broadcast, as ``ip addr add A/P dev D``)."""
    packed = address.ip.packed
    body = struct.pack("=BBBBI", socket.AF_INET, address.network.prefixlen, 0, RT_SCOPE_UNIVERSE, index)
    body += _attr(IFA_LOCAL, packed) + _attr(IFA_ADDRESS, packed)
    return _message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)


def default_route_add(index: int, gateway: IPv4Address) -> bytes:
    """Add the IPv4 default route via ``gateway`` out of ``index`` (``ip route add default via G dev D``)."""
    body = struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE,
                       RTN_UNICAST, 0)
    body += _attr(RTA_GATEWAY, gateway.packed) + _attr(RTA_OIF, struct.pack("=I", index))
    return _message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body)


def open_socket() -> socket.socket:
    """A route netlink socket in the calling thread's namespace."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
    sock.bind((0, 0))
    return sock


def send(sock: socket.socket, requests: list[bytes]) -> None:
    """Send ``requests`` in one datagram; return once each is acknowledged, raising
    ``OSError`` with the first failure's errno (the others are still applied)."""
    if not requests:
        return
    batch = bytearray()
    for seq, req in enumerate(requests, start=1):
        batch += req[:8] + struct.pack("=I", seq) + req[12:]
    sock.send(batch)
    pending = set(range(1, len(requests) + 1))
    failure: OSError | None = None
    while pending:
        data = sock.recv(65536)
        offset = 0
        while offset + _HDR.size <= len(data):
            length, kind, _, seq, _ = _HDR.unpack_from(data, offset)
            if length < _HDR.size:
                break
            if kind == NLMSG_ERROR and seq in pending:
                pending.discard(seq)
                (code,) = struct.unpack_from("=i", data, offset + _HDR.size)
                if code and failure is None:
                    failure = OSError(-code, f"netlink request {seq}: {os.strerror(-code)}")
            offset += (length + 3) & ~3
    if failure is not None:
        raise failure
