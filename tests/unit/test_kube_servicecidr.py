"""The service range is chosen clear of the host's routes and kept once chosen."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from baleine.kube import servicecidr

ROUTE = """Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT
eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
vpn0\t0000600A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
"""


def test_routes_are_read_without_the_default(tmp_path: Path) -> None:
    f = tmp_path / "route"
    f.write_text(ROUTE)
    assert servicecidr.host_routes(str(f)) == [ipaddress.ip_network("192.168.0.0/24"),
                                                 ipaddress.ip_network("10.96.0.0/16")]


def test_the_first_candidate_clear_of_every_route_is_chosen() -> None:
    assert servicecidr.choose([]) == ipaddress.ip_network("10.96.0.0/12")
    assert servicecidr.choose([ipaddress.ip_network("10.96.0.0/16")]) == ipaddress.ip_network("10.112.0.0/12")
    assert servicecidr.choose([ipaddress.ip_network("10.0.0.0/8")]) == ipaddress.ip_network("10.96.0.0/12")


def test_the_choice_is_kept(tmp_path: Path) -> None:
    first = servicecidr.load_or_choose(str(tmp_path))
    (tmp_path / "service-cidr").write_text("10.208.0.0/12\n")
    assert servicecidr.load_or_choose(str(tmp_path)) == ipaddress.ip_network("10.208.0.0/12")
    assert first in servicecidr.CANDIDATES
    assert servicecidr.dns_address(ipaddress.ip_network("10.96.0.0/12")) == "10.96.0.10"
    assert servicecidr.api_address(ipaddress.ip_network("10.96.0.0/12")) == "10.96.0.1"
