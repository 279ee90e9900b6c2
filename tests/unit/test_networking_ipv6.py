"""Pure parts of IPv6 networks: IPAM of both families, the ULA pool, IPv6 routes,
ip6tables rules, the AAAA and ip6.arpa sides of the DNS codec, create requests."""

from __future__ import annotations

import asyncio
import struct
from ipaddress import IPv6Address, IPv6Network

import pytest

from baleine.engine.networks import daemon_tag, dns, ipam, iptables
from baleine.engine.networks.records import NetworkRecords
from baleine.rules.errors import Forbidden, InvalidParameter, Unavailable


def test_ipv6_subnet_gateway_and_errors() -> None:
    sub = ipam.subnet_from_request({"Subnet": "fd00:1::/64"})
    assert sub.version == 6 and sub.gateway == IPv6Address("fd00:1::1")
    assert ipam.Subnet.from_doc(sub.to_doc()) == sub
    with pytest.raises(InvalidParameter, match="it should be fd00:1::/64"):
        ipam.subnet_from_request({"Subnet": "fd00:1::5/64"})
    with pytest.raises(InvalidParameter, match="invalid gateway fd00:2::1: parent subnet fd00:1::/64"):
        ipam.subnet_from_request({"Subnet": "fd00:1::/64", "Gateway": "fd00:2::1"})
    with pytest.raises(InvalidParameter, match="too small"):
        ipam.subnet_from_request({"Subnet": "fd00:1::/127"})
    with pytest.raises(InvalidParameter, match="an IPv4 address is expected"):
        ipam.parse_address("fd00::1")
    assert ipam.parse_address("fd00::1", version=6) == IPv6Address("fd00::1")


def test_overlap_is_per_family() -> None:
    taken = [IPv6Network("fd00:1::/64"), ipam.parse_subnet("10.1.0.0/16")]
    ipam.check_overlap(IPv6Network("fd00:2::/64"), taken)
    ipam.check_overlap(ipam.parse_subnet("10.2.0.0/16"), taken)
    with pytest.raises(Forbidden, match="Pool overlaps"):
        ipam.check_overlap(IPv6Network("fd00:1::/80"), taken)


def test_ula_pool_is_stable_per_data_root_and_differs_between_daemons() -> None:
    a, b = ipam.ula_pool(daemon_tag("/tmp/a")), ipam.ula_pool(daemon_tag("/tmp/b"))
    assert a == ipam.ula_pool(daemon_tag("/tmp/a")) and a != b
    for pool in (a, b):
        assert pool.prefixlen == 48 and pool.subnet_of(IPv6Network("fd00::/8"))
    first = ipam.pick_subnet6(a, [])
    assert first.prefixlen == 64 and first.subnet_of(a)
    second = ipam.pick_subnet6(a, [first, ipam.parse_subnet("10.0.0.0/8")])
    assert second != first and second.subnet_of(a)
    with pytest.raises(Unavailable, match="IPv6 address pool"):
        ipam.pick_subnet6(a, [a])


def test_ipv4_pools_ignore_ipv6_subnets() -> None:
    pool = ipam.parse_pool("base=10.9.0.0/16,size=24")
    assert str(ipam.pick_subnet([pool], [IPv6Network("fd00::/8")])) == "10.9.0.0/24"


def test_ipv6_allocator() -> None:
    alloc = ipam.Allocator(ipam.subnet_from_request({"Subnet": "fd00:1::/64"}))
    first = alloc.allocate()
    assert first == IPv6Address("fd00:1::2")            # ::1 is the gateway
    alloc.reserve(IPv6Address("fd00:1::100"))
    with pytest.raises(Forbidden):
        alloc.reserve(IPv6Address("fd00:1::100"))
    with pytest.raises(InvalidParameter, match="no configured subnet or ip-range contain the IP address fd00:2::1"):
        alloc.reserve(IPv6Address("fd00:2::1"))
    assert alloc.allocate() == IPv6Address("fd00:1::3")
    alloc.release("fd00:1::2")
    assert not alloc.in_use(first) and alloc.in_use("fd00:1::100")


def test_host_routes6_reads_proc_format(tmp_path) -> None:
    text = "\n".join([
        "fd001234000000000000000000000000 40 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000100 00000001 00000000 00000001 br0",
        "fd00abcd000000000000000000000000 40 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000100 00000001 00000000 00000001 ours",
        "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0",
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000400 00000001 00000000 00200200 lo",
    ])
    path = tmp_path / "ipv6_route"
    path.write_text(text + "\n")
    assert ipam.host_routes6(str(path), exclude={"ours"}) == [IPv6Network("fd00:1234::/64")]


def test_ip6tables_rules_isolate_every_bridge_and_masquerade_ipv6_subnets() -> None:
    nets = [iptables.NetRules("br-a", "10.1.0.0/24", "10.1.0.1", subnet6="fd00:1::/64"),
            iptables.NetRules("br-b", "10.2.0.0/24", "10.2.0.1"),
            iptables.NetRules("br-c", "10.3.0.0/24", "10.3.0.1", internal=True, subnet6="fd00:3::/64")]
    text = iptables.render6("t", nets)
    assert "-A BALEINE-t-IN -o br-b -j DROP" in text and "-A BALEINE-t-IN -o br-a -j DROP" in text
    assert "-A BALEINE-t-OUT -i br-c ! -o br-c -j DROP" in text
    assert "-A BALEINE-t-POST -s fd00:1::/64 ! -o br-a -j MASQUERADE" in text
    assert "fd00:3::" not in text and "DNAT --to" not in text and "10.1.0.0" not in text
    assert "fd00" not in iptables.render("t", nets, [])


def _query(name: str, qtype: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", 0x42, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


class _Directory:
    def lookup(self, cid: str, name: str) -> list[str] | None:
        return ["10.5.0.2", "fd00:5::2"] if name == "db" else None

    def reverse(self, cid: str, address: str) -> str | None:
        return "db.net" if address == "fd00:5::2" else None

    def upstreams(self, cid: str) -> list[tuple[str, int]]:
        return []


def test_dns_answers_a_and_aaaa_by_family_and_ip6_arpa() -> None:
    async def main() -> None:
        server = dns.Server(_Directory())
        a = await server.handle("c", _query("db", dns.TYPE_A), tcp=False)
        assert a is not None and struct.unpack("!H", a[6:8])[0] == 1 and a.endswith(bytes([10, 5, 0, 2]))
        aaaa = await server.handle("c", _query("db", dns.TYPE_AAAA), tcp=False)
        assert aaaa is not None and struct.unpack("!H", aaaa[6:8])[0] == 1
        assert aaaa.endswith(IPv6Address("fd00:5::2").packed)
        assert struct.pack("!HHHIH", 0xC00C, dns.TYPE_AAAA, 1, dns.TTL, 16) in aaaa
        mx = await server.handle("c", _query("db", 15), tcp=False)
        assert mx is not None and struct.unpack("!H", mx[6:8])[0] == 0
        name = ".".join(reversed(IPv6Address("fd00:5::2").exploded.replace(":", ""))) + ".ip6.arpa"
        assert dns.reverse_name(name) == "fd00:5::2"
        ptr = await server.handle("c", _query(name, dns.TYPE_PTR), tcp=False)
        assert ptr is not None and b"\x02db\x03net\x00" in ptr
        assert dns.reverse_name("1.2.ip6.arpa") is None

    asyncio.run(main())


def test_create_request_families() -> None:
    split = NetworkRecords._split_configs
    assert split([], False) == ({}, None)
    assert split([], True) == ({}, {})
    v4, v6 = {"Subnet": "10.1.0.0/24"}, {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::9"}
    assert split([v6, v4], True) == (v4, v6)
    with pytest.raises(InvalidParameter, match="IPv6 is not enabled"):
        split([v6], False)
    with pytest.raises(InvalidParameter, match="only one IPv6 subnet"):
        split([v6, {"Subnet": "fd00:2::/64"}], True)
    with pytest.raises(InvalidParameter, match="needs a subnet"):
        split([{"Gateway": "fd00:1::1"}], True)
