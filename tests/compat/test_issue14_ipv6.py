"""Issue 14, IPv6 networks, with real clients: the docker CLI and docker-py.

Dual-stack bridges (``network create --ipv6``), container addresses (``--ip6``
or the next free one), IPv6 between containers by address and by name (AAAA
from the embedded DNS), inspect fields, an automatic ULA /64, dockerd's errors,
a published port reached on ``[::1]``, and ``network rm`` taking the bridge and
its ip6tables rules away. Traffic only goes to loopback and to addresses of
containers these tests made.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess

import pytest

from baleine.engine.networks import bridge, daemon_tag

from ..conftest import DOCKER, Daemon
from ..networking import free_port, http_from_host

needs_docker = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")


def free_subnet6() -> str:
    """A ULA /64 of a random /48 that no route of this host covers."""
    from baleine.engine.networks.ipam import host_routes6

    taken = host_routes6()
    while True:
        candidate = f"fd{random.randint(1, 255):02x}:{random.randint(1, 0xffff):x}:{random.randint(1, 0xffff):x}::/64"
        if not any(ipaddress.IPv6Network(candidate).overlaps(t) for t in taken):
            return candidate


def ip6tables_rules(d: Daemon) -> str:
    """The daemon's IPv6 filter and nat chains, as ``ip6tables -S`` prints them."""
    tag = daemon_tag(str(d.data_root))
    out = []
    for table, chain in (("filter", "IN"), ("filter", "OUT"), ("nat", "POST")):
        out.append(subprocess.run(["ip6tables", "-w", "-t", table, "-S", f"BALEINE-{tag}-{chain}"],
                                  capture_output=True, text=True).stdout)
    return "".join(out)


def bridge_addresses6(name: str) -> list[str]:
    out = subprocess.run(["ip", "-6", "-o", "addr", "show", "dev", name, "scope", "global"], capture_output=True,
                         text=True).stdout
    return [line.split()[3] for line in out.splitlines()]


@needs_docker
def test_docker_cli_dual_stack_network(daemon: Daemon, name: str) -> None:
    net, a, b, web, peer = f"{name}-n", f"{name}-a", f"{name}-b", f"{name}-web", f"{name}-peer"
    subnet = free_subnet6()
    prefix = subnet.split("::")[0]
    port = free_port()
    try:
        nid = daemon.docker("network", "create", "--ipv6", "--subnet", subnet, net, check=True).stdout.strip()
        info = json.loads(daemon.docker("network", "inspect", net, check=True).stdout)[0]
        assert info["EnableIPv6"] is True
        configs = {ipaddress.ip_network(c["Subnet"]).version: c for c in info["IPAM"]["Config"]}
        assert configs[6] == {"Subnet": subnet, "Gateway": f"{prefix}::1"}
        assert ipaddress.ip_network(configs[4]["Subnet"]).version == 4   # dual stack
        br = f"bl-{nid[:12]}"
        assert bridge_addresses6(br) == [f"{prefix}::1/64"]
        assert f"-i {br}" in ip6tables_rules(daemon)     # isolated like its IPv4 side

        daemon.docker("run", "-d", "--name", a, "--network", net, "--ip6", f"{prefix}::100", "busybox",
                      "sleep", "300", check=True)
        daemon.docker("run", "-d", "--name", b, "--network", net, "busybox", "sleep", "300", check=True)
        ep_a = json.loads(daemon.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", a,
                                        check=True).stdout)[net]
        assert (ep_a["GlobalIPv6Address"], ep_a["GlobalIPv6PrefixLen"], ep_a["IPv6Gateway"]) == \
            (f"{prefix}::100", 64, f"{prefix}::1")
        assert ep_a["IPAddress"]                                  # and IPv4 as well
        b6 = json.loads(daemon.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", b,
                                      check=True).stdout)[net]["GlobalIPv6Address"]
        assert ipaddress.IPv6Address(b6) in ipaddress.IPv6Network(subnet) and b6 != f"{prefix}::100"
        members = json.loads(daemon.docker("network", "inspect", net, check=True).stdout)[0]["Containers"]
        assert sorted(m["IPv6Address"] for m in members.values()) == sorted([f"{prefix}::100/64", f"{b6}/64"])

        # By address, by name (AAAA from the embedded DNS), and the route out via the gateway.
        assert daemon.docker("exec", a, "ping", "-6", "-c1", "-W3", b6).returncode == 0
        out = daemon.docker("exec", a, "nslookup", "-type=AAAA", b, "127.0.0.11", check=True).stdout
        assert b6 in out
        assert daemon.docker("exec", b, "ping", "-6", "-c1", "-W3", a).returncode == 0
        routes = daemon.docker("exec", a, "ip", "-6", "route", check=True).stdout
        assert f"default via {prefix}::1" in routes
        # network connect --ip6 of a running container on the default bridge (IPv4 only).
        daemon.docker("run", "-d", "--name", peer, "busybox", "sleep", "300", check=True)
        assert not json.loads(daemon.docker("inspect", peer, check=True).stdout)[0]["NetworkSettings"]["Networks"][
            "bridge"]["GlobalIPv6Address"]
        daemon.docker("network", "connect", "--ip6", f"{prefix}::200", net, peer, check=True)
        assert daemon.docker("exec", a, "ping", "-6", "-c1", "-W3", f"{prefix}::200").returncode == 0
        assert f"{prefix}::200/64" in daemon.docker("exec", peer, "ip", "-6", "addr", check=True).stdout

        r = daemon.docker("run", "--rm", "--network", net, "--ip6", "fd99:1:2:3::5", "busybox", "true")
        assert r.returncode == 125 and "no configured subnet or ip-range contain the IP address fd99:1:2:3::5" \
            in r.stderr
        r = daemon.docker("network", "create", "--ipv6", "--subnet", subnet.replace("/64", "/80"), f"{name}-x")
        assert r.returncode == 1 and "Pool overlaps with other one on this address space" in r.stderr

        daemon.docker("run", "-d", "--name", web, "--network", net, "-p", f"{port}:80", "busybox", "sh", "-c",
                      "hostname > /hostname; httpd -f -p 80 -h /", check=True)
        web_id = daemon.docker("inspect", "-f", "{{.Id}}", web, check=True).stdout.strip()
        assert http_from_host(port, "::1") == web_id[:12]
    finally:
        daemon.docker("rm", "-f", a, b, web, peer)
        daemon.docker("network", "rm", net)
    assert not bridge.link_exists(br)
    assert br not in ip6tables_rules(daemon)


def test_docker_py_automatic_ula_and_errors(daemon: Daemon, name: str) -> None:
    import docker

    client = daemon.api()
    net = box = internal = None
    try:
        net = client.networks.create(f"{name}-n", driver="bridge", enable_ipv6=True)
        v6 = [c for c in net.attrs["IPAM"]["Config"] if ":" in c["Subnet"]]
        assert len(v6) == 1 and net.attrs["EnableIPv6"] is True
        subnet = ipaddress.IPv6Network(v6[0]["Subnet"])
        assert subnet.prefixlen == 64 and subnet.subnet_of(ipaddress.IPv6Network("fd00::/8"))
        assert v6[0]["Gateway"] == str(subnet.network_address + 1)
        box = client.containers.run("busybox", ["sleep", "300"], detach=True, name=f"{name}-box",
                                    network=net.name)
        box.reload()
        ep = box.attrs["NetworkSettings"]["Networks"][net.name]
        assert ipaddress.IPv6Address(ep["GlobalIPv6Address"]) in subnet and ep["GlobalIPv6PrefixLen"] == 64
        # --ip6 needs a subnet the user chose, as with dockerd.
        with pytest.raises(docker.errors.APIError) as err:
            client.api.create_container("busybox", ["true"], networking_config=client.api.create_networking_config(
                {net.name: client.api.create_endpoint_config(ipv6_address=str(subnet.network_address + 9))}))
        assert err.value.status_code == 400 and "user configured subnets" in str(err.value)
        # An IPv6 subnet without EnableIPv6 is refused (API 1.47: the flag enables IPv6).
        with pytest.raises(docker.errors.APIError) as err:
            client.networks.create(f"{name}-x", ipam=docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=free_subnet6())]))
        assert err.value.status_code == 400 and "IPv6 is not enabled" in str(err.value)
        assert client.networks.get("bridge").attrs["EnableIPv6"] is False
        # An internal network with IPv6: an address, no IPv6 route out.
        internal = client.networks.create(f"{name}-i", internal=True, enable_ipv6=True)
        subnet_i = [ipaddress.ip_network(c["Subnet"]) for c in internal.attrs["IPAM"]["Config"]][-1]
        assert subnet_i.version == 6 and not subnet_i.overlaps(subnet)     # the next free /64
        routes = client.containers.run("busybox", ["ip", "-6", "route"], network=internal.name, remove=True)
        assert b"/64 dev eth0" in routes and b"default" not in routes
    finally:
        if box is not None:
            box.remove(force=True)
        if net is not None:
            net.remove()
        if internal is not None:
            internal.remove()
        client.close()


def test_ipv6_addresses_survive_a_daemon_crash_and_reap_removes_the_rules(fresh_daemon: Daemon) -> None:
    """SIGKILL of the daemon: a running container keeps its IPv6 address (the next one
    gets another), the bridge keeps its gateway; ``reap`` removes the ip6tables chains."""
    import signal

    from baleine.engine.networks.reap import reap

    from ..conftest import BUSYBOX_TAR

    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    subnet = free_subnet6()
    prefix = subnet.split("::")[0]
    # The baleine CLI pairs --gateway with the subnet holding it, whatever the order.
    from ..networking import free_subnet

    v4, other6 = free_subnet(), free_subnet6()
    d.ok("network", "create", "--ipv6", "--subnet", v4, "--subnet", other6, "--gateway", other6.replace("/64", "9"),
         "dual")
    configs = json.loads(d.ok("network", "inspect", "dual"))[0]["IPAM"]["Config"]
    assert {c["Subnet"]: c["Gateway"] for c in configs} == {v4: v4.replace("0/24", "1"),
                                                            other6: other6.replace("/64", "9")}
    d.ok("network", "rm", "dual")
    nid = d.ok("network", "create", "--ipv6", "--subnet", subnet, "n6")
    d.ok("run", "-d", "--name", "keep", "--network", "n6", "busybox", "sleep", "300")
    kept = d.inspect("keep")["NetworkSettings"]["Networks"]["n6"]["GlobalIPv6Address"]
    d.stop(signal.SIGKILL)
    d.start()
    assert d.inspect("keep")["NetworkSettings"]["Networks"]["n6"]["GlobalIPv6Address"] == kept
    assert bridge_addresses6(f"bl-{nid[:12]}") == [f"{prefix}::1/64"]
    d.ok("run", "-d", "--name", "next", "--network", "n6", "busybox", "sleep", "300")
    other = d.inspect("next")["NetworkSettings"]["Networks"]["n6"]["GlobalIPv6Address"]
    assert other and other != kept
    assert d.cli("exec", "next", "ping", "-6", "-c1", "-W3", "keep").returncode == 0
    assert "-i bl-" in ip6tables_rules(d)
    d.cli("rm", "-f", "keep", "next")
    d.stop()
    reap(str(d.data_root), str(d.exec_root))
    assert ip6tables_rules(d) == ""
    tag = daemon_tag(str(d.data_root))
    assert f"BALEINE-{tag}" not in subprocess.run(["ip6tables-save"], capture_output=True, text=True).stdout
