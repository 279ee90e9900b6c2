"""Pure parts of networking: IPAM, rules rendering, port bindings, the DNS codec."""

from __future__ import annotations

import asyncio
import socket
import struct
from ipaddress import IPv4Address, IPv4Network

import pytest

from baleine.rules.errors import Forbidden, InvalidParameter, Unavailable
from baleine.engine.networks import daemon_tag, default_bridge_name, dns, ipam, iptables, ports


# -- ipam ---------------------------------------------------------------------------------


def test_subnet_defaults_gateway_to_first_address() -> None:
    sub = ipam.subnet_from_request({"Subnet": "10.1.2.0/24"})
    assert sub.gateway == IPv4Address("10.1.2.1")
    assert sub.to_doc() == {"Subnet": "10.1.2.0/24", "Gateway": "10.1.2.1"}


@pytest.mark.parametrize("cfg, message", [
    ({"Subnet": "10.1.2.5/24"}, "invalid subnet 10.1.2.5/24: it should be 10.1.2.0/24"),
    ({"Subnet": "nonsense"}, "invalid CIDR address: nonsense"),
    ({"Subnet": "10.1.2.0/24", "Gateway": "10.1.3.1"},
     "invalid gateway 10.1.3.1: parent subnet 10.1.2.0/24 doesn't contain this address"),
    ({"Subnet": "10.1.2.0/24", "IPRange": "10.1.3.0/25"},
     "invalid ip-range 10.1.3.0/25: parent subnet 10.1.2.0/24 doesn't contain ip-range"),
])
def test_subnet_errors(cfg: dict, message: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        ipam.subnet_from_request(cfg)
    assert message in str(err.value)


def test_overlap_is_forbidden_with_dockers_words() -> None:
    with pytest.raises(Forbidden, match="Pool overlaps with other one on this address space"):
        ipam.check_overlap(IPv4Network("10.1.0.0/16"), [IPv4Network("10.1.2.0/24")])
    ipam.check_overlap(IPv4Network("10.2.0.0/16"), [IPv4Network("10.1.2.0/24")])


def test_pick_subnet_skips_taken_ones() -> None:
    pools = [ipam.parse_pool("base=10.210.0.0/16,size=24")]
    taken = [IPv4Network("10.210.0.0/23"), IPv4Network("10.210.3.0/24")]
    assert ipam.pick_subnet(pools, taken) == IPv4Network("10.210.2.0/24")
    with pytest.raises(Unavailable):
        ipam.pick_subnet(pools, [IPv4Network("10.0.0.0/8")])


def test_parse_pool_errors() -> None:
    with pytest.raises(InvalidParameter):
        ipam.parse_pool("base=10.0.0.0/16")
    with pytest.raises(InvalidParameter):
        ipam.parse_pool("base=10.0.0.0/16,size=8")


def test_allocator_never_hands_out_an_address_twice() -> None:
    sub = ipam.subnet_from_request({"Subnet": "10.9.0.0/29"})  # .1 gateway, .2-.6 usable
    alloc = ipam.Allocator(sub)
    got = [alloc.allocate() for _ in range(5)]
    assert [str(a) for a in got] == [f"10.9.0.{i}" for i in range(2, 7)]
    with pytest.raises(Unavailable):
        alloc.allocate()
    alloc.release(got[1])
    assert alloc.allocate() == got[1]


def test_allocator_goes_on_after_the_last_rather_than_reusing() -> None:
    alloc = ipam.Allocator(ipam.subnet_from_request({"Subnet": "10.9.0.0/24"}))
    a = alloc.allocate()
    alloc.release(a)
    b = alloc.allocate()
    assert b != a and alloc.in_use(b) and not alloc.in_use(a)


def test_allocator_static_addresses() -> None:
    sub = ipam.subnet_from_request({"Subnet": "10.9.0.0/24", "IPRange": "10.9.0.128/25",
                                    "AuxiliaryAddresses": {"router": "10.9.0.200"}})
    alloc = ipam.Allocator(sub)
    assert alloc.allocate() == IPv4Address("10.9.0.128")
    alloc.reserve(IPv4Address("10.9.0.5"))  # outside the range, inside the subnet: allowed
    with pytest.raises(Forbidden, match="Address already in use"):
        alloc.reserve(IPv4Address("10.9.0.5"))
    with pytest.raises(Forbidden):
        alloc.reserve(IPv4Address("10.9.0.200"))  # auxiliary
    with pytest.raises(Forbidden):
        alloc.reserve(IPv4Address("10.9.0.1"))  # gateway
    with pytest.raises(InvalidParameter, match="no configured subnet or ip-range contain the IP address"):
        alloc.reserve(IPv4Address("10.8.0.5"))


def test_host_routes_reads_proc_format(tmp_path) -> None:
    table = tmp_path / "route"
    table.write_text("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                     "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
                     "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
                     "br0\t0000D20A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    assert ipam.host_routes(str(table)) == [IPv4Network("192.0.2.0/24"), IPv4Network("10.210.0.0/24")]
    assert ipam.host_routes(str(table), exclude={"br0"}) == [IPv4Network("192.0.2.0/24")]


def test_mac_and_names() -> None:
    assert ipam.mac_for(IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"
    assert default_bridge_name("/var/lib/baleine") == "baleine0"
    other = default_bridge_name("/tmp/somewhere/data")
    assert other.startswith("blb-") and len(other) <= 15
    assert daemon_tag("/a") != daemon_tag("/b") and len(daemon_tag("/a")) == 8


# -- iptables rendering ----------------------------------------------------------------------


def test_rules_render_isolation_nat_and_publishing() -> None:
    text = iptables.render("abcd1234", [iptables.NetRules("br1", "10.1.0.0/24", "10.1.0.1"),
                                        iptables.NetRules("br2", "10.2.0.0/24", "10.2.0.1", internal=True)],
                           [iptables.PortRule("tcp", "127.0.0.1", 8080, "10.1.0.2", 80),
                            iptables.PortRule("udp", "", 5353, "10.1.0.3", 53)])
    lines = text.splitlines()
    assert lines[0] == "*filter" and ":BALEINE-abcd1234-IN - [0:0]" in lines
    into = [ln for ln in lines if ln.startswith("-A BALEINE-abcd1234-IN")]
    assert "-A BALEINE-abcd1234-IN -o br1 -j DROP" in into
    assert "-A BALEINE-abcd1234-IN -o br1 -m conntrack --ctstate DNAT -j ACCEPT" in into
    assert not any("br2" in ln and "DNAT" in ln for ln in into)  # nothing published into an internal network
    assert "-A BALEINE-abcd1234-OUT -i br1 ! -o br1 -j ACCEPT" in lines
    assert "-A BALEINE-abcd1234-OUT -i br2 ! -o br2 -j DROP" in lines
    assert "-A BALEINE-abcd1234-POST -s 10.1.0.0/24 ! -o br1 -j MASQUERADE" in lines
    assert not any(ln.startswith("-A BALEINE-abcd1234-POST -s 10.2.0.0/24 ! -o") for ln in lines)
    assert "-A BALEINE-abcd1234-POST -s 127.0.0.0/8 -o br1 -j SNAT --to-source 10.1.0.1" in lines
    assert ("-A BALEINE-abcd1234-DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 "
            "-j DNAT --to-destination 10.1.0.2:80") in lines
    assert "-A BALEINE-abcd1234-DNAT -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.3:53" in lines
    assert lines.count("COMMIT") == 2


def test_jumps_are_tagged() -> None:
    for table, chain, spec in iptables.jumps("abcd1234"):
        assert "baleine:abcd1234" in spec
        assert spec[-1].startswith("BALEINE-abcd1234-")


# -- ports -------------------------------------------------------------------------------------


def test_wanted_bindings() -> None:
    hc = {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                           "53/udp": [{"HostIp": "", "HostPort": "5000-5010"}],
                           "443": [{"HostIp": "::", "HostPort": "8443"}]},
          "PublishAllPorts": True}
    got = ports.wanted_bindings(hc, {"80/tcp": {}, "9000/tcp": {}})
    assert ports.Wanted(80, "tcp", "127.0.0.1", 8080, 8080) in got
    assert ports.Wanted(53, "udp", "", 5000, 5010) in got
    assert ports.Wanted(9000, "tcp", "", 0, 0) in got
    assert not any(w.port == 443 for w in got)  # IPv6 bindings are skipped
    with pytest.raises(InvalidParameter):
        ports.wanted_bindings({"PortBindings": {"abc/tcp": []}}, None)
    with pytest.raises(InvalidParameter):
        ports.wanted_bindings({"PortBindings": {"80/tcp": [{"HostPort": "x"}]}}, None)


def test_port_table_conflicts_and_shapes() -> None:
    table = ports.PortTable()
    try:
        maps = table.reserve("c1", "web", [ports.Wanted(80, "tcp", "127.0.0.1", 0, 0)])
        port = maps[0].host_port
        assert port > 0
        with pytest.raises(Exception, match="port is already allocated"):
            table.reserve("c2", "other", [ports.Wanted(81, "tcp", "", port, port)])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            taken = s.getsockname()[1]
            with pytest.raises(Exception, match="address already in use"):
                table.reserve("c3", "x", [ports.Wanted(81, "tcp", "127.0.0.1", taken, taken)])
        doc = ports.ports_doc({"80/tcp": {}, "443/tcp": {}}, maps)
        assert doc == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}], "443/tcp": None}
        assert ports.ports_list(doc) == [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"},
                                         {"PrivatePort": 443, "Type": "tcp"}]
    finally:
        table.close()
    assert not table.held


# -- DNS ------------------------------------------------------------------------------------------


def _query(name: str, qtype: int = dns.TYPE_A, qid: int = 0x1234) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def test_dns_codec() -> None:
    q = dns.parse_query(_query("Web.Example"))
    assert (q.id, q.name, q.qtype) == (0x1234, "web.example", dns.TYPE_A)
    reply = dns.answer(q, addresses=["10.0.0.2", "10.0.0.3"])
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", reply[:12])
    assert (qid, qd, an) == (0x1234, 1, 2) and flags & 0x8000 and flags & 0x0100 and flags & 0x0080
    assert reply.endswith(bytes([10, 0, 0, 3]))
    nx = dns.answer(q, dns.NXDOMAIN)
    assert struct.unpack("!H", nx[2:4])[0] & 0xF == dns.NXDOMAIN
    with pytest.raises(dns.Malformed):
        dns.parse_query(b"\0\0")
    assert dns.reverse_name("2.0.1.10.in-addr.arpa") == "10.1.0.2"
    assert dns.reverse_name("example.com") is None


class _Directory:
    def __init__(self, upstream: list[tuple[str, int]]) -> None:
        self.upstream = upstream

    def lookup(self, cid: str, name: str) -> list[str] | None:
        return ["10.5.0.2"] if name == "db" else None

    def reverse(self, cid: str, address: str) -> str | None:
        return "db.net" if address == "10.5.0.2" else None

    def upstreams(self, cid: str) -> list[tuple[str, int]]:
        return self.upstream


def test_dns_server_answers_local_names_and_forwards_the_rest() -> None:
    async def main() -> None:
        # A fake upstream on loopback that answers every query with 192.0.2.99.
        loop = asyncio.get_running_loop()

        class Upstream(asyncio.DatagramProtocol):
            def connection_made(self, transport):  # noqa: ANN001
                self.transport = transport

            def datagram_received(self, data, addr):  # noqa: ANN001
                self.transport.sendto(dns.answer(dns.parse_query(data), addresses=["192.0.2.99"]), addr)

        transport, _ = await loop.create_datagram_endpoint(Upstream, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        try:
            server = dns.Server(_Directory([("127.0.0.1", port)]))
            local = await server.handle("c", _query("db"), tcp=False)
            assert local is not None and local.endswith(bytes([10, 5, 0, 2]))
            aaaa = await server.handle("c", _query("db", dns.TYPE_AAAA), tcp=False)
            assert aaaa is not None and struct.unpack("!H", aaaa[6:8])[0] == 0  # no answers, no error
            ptr = await server.handle("c", _query("2.0.5.10.in-addr.arpa", dns.TYPE_PTR), tcp=False)
            assert ptr is not None and b"\x02db\x03net\x00" in ptr
            far = await server.handle("c", _query("example.org", qid=7), tcp=False)
            assert far is not None and far[:2] == b"\x00\x07" and far.endswith(bytes([192, 0, 2, 99]))
            closed = dns.Server(_Directory([]))
            nx = await closed.handle("c", _query("example.org"), tcp=False)
            assert nx is not None and struct.unpack("!H", nx[2:4])[0] & 0xF == dns.NXDOMAIN
        finally:
            transport.close()

    asyncio.run(main())
