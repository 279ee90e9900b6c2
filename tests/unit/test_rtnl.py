"""``engine/networks/rtnl``: the hand-packed rtnetlink requests (the kernel's side
is exercised by tests/integration/test_sandbox_pool.py)."""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address, IPv4Interface

from baleine.engine.networks import rtnl


def attrs(body: bytes) -> dict[int, bytes]:
    out, offset = {}, 0
    while offset < len(body):
        length, kind = struct.unpack_from("=HH", body, offset)
        out[kind] = body[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return out


def split(msg: bytes) -> tuple[tuple[int, ...], bytes]:
    header = struct.unpack_from("=IHHII", msg)
    assert header[0] == len(msg) and len(msg) % 4 == 0
    return header, msg[16:]


def test_link_set_mac_up_alias() -> None:
    (_, kind, flags, _, _), body = split(rtnl.link_set(7, mac="02:42:0a:00:00:02", up=True, alias="baleine:t:ctr:x"))
    assert kind == rtnl.RTM_NEWLINK and flags == rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK
    family, index, ifflags, change = struct.unpack_from("=BxHiII", body)[0], *struct.unpack_from("=iII", body, 4)
    assert (family, index, ifflags, change) == (socket.AF_UNSPEC, 7, rtnl.IFF_UP, rtnl.IFF_UP)
    a = attrs(body[16:])
    assert a[rtnl.IFLA_ADDRESS] == bytes([2, 0x42, 10, 0, 0, 2]) and a[rtnl.IFLA_IFALIAS] == b"baleine:t:ctr:x"


def test_alias_only_leaves_flags_alone() -> None:
    _, body = split(rtnl.link_set(3, alias="a"))
    assert struct.unpack_from("=iII", body, 4) == (3, 0, 0)
    assert set(attrs(body[16:])) == {rtnl.IFLA_IFALIAS}


def test_addr_and_route() -> None:
    (_, kind, flags, _, _), body = split(rtnl.addr_add(4, IPv4Interface("10.1.2.3/24")))
    assert kind == rtnl.RTM_NEWADDR and flags & rtnl.NLM_F_CREATE and flags & rtnl.NLM_F_EXCL
    assert struct.unpack_from("=BBBBI", body) == (socket.AF_INET, 24, 0, 0, 4)
    a = attrs(body[8:])
    assert a[rtnl.IFA_LOCAL] == a[rtnl.IFA_ADDRESS] == bytes([10, 1, 2, 3])
    (_, kind, _, _, _), body = split(rtnl.default_route_add(4, IPv4Address("10.1.2.1")))
    assert kind == rtnl.RTM_NEWROUTE
    assert struct.unpack_from("=BBBBBBBB", body)[:5] == (socket.AF_INET, 0, 0, 0, rtnl.RT_TABLE_MAIN)
    a = attrs(body[12:])
    assert a[rtnl.RTA_GATEWAY] == bytes([10, 1, 2, 1]) and struct.unpack("=I", a[rtnl.RTA_OIF]) == (4,)


def test_veth_add_nests_the_peer() -> None:
    (_, kind, flags, _, _), body = split(rtnl.veth_add("vethabc", "eth0", 9, 1400, 3))
    assert kind == rtnl.RTM_NEWLINK and flags & rtnl.NLM_F_CREATE and flags & rtnl.NLM_F_EXCL
    a = attrs(body[16:])
    assert a[rtnl.IFLA_IFNAME] == b"vethabc\0" and struct.unpack("=I", a[rtnl.IFLA_MTU]) == (1400,)
    assert struct.unpack("=I", a[rtnl.IFLA_MASTER]) == (3,)
    info = attrs(a[rtnl.IFLA_LINKINFO | rtnl.NLA_F_NESTED])
    assert info[rtnl.IFLA_INFO_KIND] == b"veth"
    peer = attrs(info[rtnl.IFLA_INFO_DATA | rtnl.NLA_F_NESTED])[rtnl.VETH_INFO_PEER]
    p = attrs(peer[16:])
    assert p[rtnl.IFLA_IFNAME] == b"eth0\0" and struct.unpack("=I", p[rtnl.IFLA_NET_NS_FD]) == (9,)
    assert struct.unpack("=I", p[rtnl.IFLA_MTU]) == (1400,)


def test_link_set_by_name() -> None:
    _, body = split(rtnl.link_set_by_name("vethabc", up=True, alias="x"))
    assert struct.unpack_from("=iII", body, 4) == (0, rtnl.IFF_UP, rtnl.IFF_UP)
    a = attrs(body[16:])
    assert a[rtnl.IFLA_IFNAME] == b"vethabc\0" and a[rtnl.IFLA_IFALIAS] == b"x"
