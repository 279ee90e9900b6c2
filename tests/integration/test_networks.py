"""Networks: the default bridge, user-defined networks, name resolution,
isolation, publishing, connect/disconnect, bad input, and no leaks.

Traffic only ever goes to loopback and to the addresses of containers these
tests made (the test daemons' DNS forwards to 127.0.0.1, see conftest).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from baleine.engine.networks import bridge, daemon_tag

from ..conftest import BUSYBOX_TAR, Daemon, destroy_daemon, new_daemon
from ..networking import free_port, free_subnet, http_from_host, kernel_state, settled_state

HTTP = 'printf "GET /hostname HTTP/1.0\\r\\n\\r\\n" | nc -w 3 {host} {port} | tail -n 1'


def web(daemon: Daemon, name: str, *args: str) -> str:
    """A busybox web server answering /hostname with the container's short ID."""
    return daemon.ok("run", "-d", "--name", name, *args, "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")


def sh(daemon: Daemon, *args: str) -> str:
    r = daemon.cli("run", "--rm", *args)
    return r.stdout.strip()


@pytest.fixture
def cleanup(daemon: Daemon):
    """Networks and containers a test makes, removed even when it fails."""
    made: dict[str, list[str]] = {"containers": [], "networks": []}
    yield made
    if made["containers"]:
        daemon.cli("rm", "-f", *made["containers"])
    for net in made["networks"]:
        daemon.cli("network", "rm", net)


def test_default_bridge(daemon: Daemon, name: str, cleanup) -> None:
    cleanup["containers"].append(name)
    web(daemon, name)
    info = daemon.inspect(name)
    ns = info["NetworkSettings"]
    bridge_net = json.loads(daemon.ok("network", "inspect", "bridge"))[0]
    subnet = bridge_net["IPAM"]["Config"][0]["Subnet"]
    assert ns["IPAddress"] and ns["Networks"]["bridge"]["IPAddress"] == ns["IPAddress"]
    assert ns["Gateway"] == bridge_net["IPAM"]["Config"][0]["Gateway"]
    assert ns["SandboxKey"].startswith(str(daemon.exec_root))
    assert not subnet.startswith("172.17."), "must not collide with docker0"
    assert bridge_net["Containers"][info["Id"]]["IPv4Address"] == f"{ns['IPAddress']}/{ns['IPPrefixLen']}"
    assert bridge_net["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    # The host reaches containers; containers of the default bridge reach each other by address.
    assert http_from_host(80, ns["IPAddress"]) == info["Id"][:12]
    assert sh(daemon, "busybox", "sh", "-c", HTTP.format(host=ns["IPAddress"], port=80)) == info["Id"][:12]
    # Docker's default bridge has no name resolution, and its way out is NATed.
    assert sh(daemon, "busybox", "sh", "-c", f"nslookup {name} >/dev/null 2>&1 || echo none") == "none"
    routes = sh(daemon, "busybox", "ip", "route")
    assert f"default via {ns['Gateway']}" in routes
    tag = daemon_tag(str(daemon.data_root))
    post = subprocess.run(["iptables", "-t", "nat", "-S", f"BALEINE-{tag}-POST"], capture_output=True,
                          text=True).stdout
    assert f"-s {subnet}" in post and "MASQUERADE" in post


def test_network_modes(daemon: Daemon, name: str, cleanup) -> None:
    assert sh(daemon, "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '") == "lo"
    # Interfaces come and go meanwhile (the daemon's sandbox pool refilling, other daemons):
    # the container sees the host's, those that stayed and none that were never there.
    before = set(os.listdir("/sys/class/net"))
    seen = set(sh(daemon, "--network", "host", "busybox", "ls", "/sys/class/net").split())
    after = set(os.listdir("/sys/class/net"))
    assert before & after <= seen <= before | after and "lo" in seen
    cleanup["containers"].append(name)
    web(daemon, name)
    ip = daemon.inspect(name)["NetworkSettings"]["IPAddress"]
    shared = sh(daemon, "--network", f"container:{name}", "busybox", "sh", "-c",
                "ip -4 -o addr show eth0 | awk '{print $4}'")
    assert shared.split("/")[0] == ip
    # Reaching the web server over the shared namespace's loopback.
    assert sh(daemon, "--network", f"container:{name}", "busybox", "sh", "-c",
              HTTP.format(host="127.0.0.1", port=80)) == daemon.inspect(name)["Id"][:12]


def test_publish_loopback_all_and_port_command(daemon: Daemon, name: str, cleanup) -> None:
    port = free_port()
    cleanup["containers"] += [name, name + "-p"]
    cid = web(daemon, name, "-p", f"127.0.0.1:{port}:80", "--expose", "81")
    assert http_from_host(port) == cid[:12]
    assert daemon.ok("port", name) == f"80/tcp -> 127.0.0.1:{port}"
    assert daemon.ok("port", name, "80") == f"127.0.0.1:{port}"
    r = daemon.cli("port", name, "81")
    assert r.returncode == 1 and "No public port '81' published" in r.stderr  # docker echoes the argument
    ports = daemon.inspect(name)["NetworkSettings"]["Ports"]
    assert ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}], "81/tcp": None}
    listed = daemon.ok("ps", "--filter", f"name={name}", "--format", "{{.Ports}}")
    assert f"127.0.0.1:{port}->80/tcp" in listed and "81/tcp" in listed
    # -P: every exposed port on a free high port, reachable on every address.
    pid = web(daemon, name + "-p", "-P", "--expose", "80")
    mapped = json.loads(daemon.ok("inspect", "-f", "{{json .NetworkSettings.Ports}}", name + "-p"))
    host_port = int(mapped["80/tcp"][0]["HostPort"])
    assert mapped["80/tcp"][0]["HostIp"] == "0.0.0.0" and host_port >= 1024
    assert http_from_host(host_port) == pid[:12]
    # Published ports are reachable from containers too (through the host's address).
    gateway = daemon.inspect(name)["NetworkSettings"]["Gateway"]
    assert sh(daemon, "busybox", "sh", "-c", HTTP.format(host=gateway, port=host_port)) == pid[:12]
    # ... and from the publishing container itself (hairpin).
    assert daemon.ok("exec", name + "-p", "sh", "-c", HTTP.format(host=gateway, port=host_port)) == pid[:12]


def test_port_in_use(daemon: Daemon, name: str, cleanup) -> None:
    port = free_port()
    cleanup["containers"] += [name, name + "-2"]
    web(daemon, name, "-p", f"{port}:80")
    r = daemon.cli("run", "-d", "--name", name + "-2", "-p", f"{port}:80", "busybox", "true")
    assert r.returncode != 0
    assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in r.stderr
    assert daemon.inspect(name + "-2")["State"]["Status"] == "created"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        r = daemon.cli("run", "--rm", "-p", f"127.0.0.1:{busy}:80", "busybox", "true")
        assert r.returncode != 0 and "address already in use" in r.stderr
    # Nothing half-made: the failed containers hold no address, namespace or rule.
    state = settled_state(daemon)
    assert len([r for r in state["dnat"] if f"--dport {port} " in r]) == 1


def test_user_network_dns_and_isolation(daemon: Daemon, name: str, cleanup) -> None:
    net, other, internal = f"{name}-net", f"{name}-other", f"{name}-int"
    cleanup["networks"] += [net, other, internal]
    for n in (net, other):
        daemon.ok("network", "create", n)
    daemon.ok("network", "create", "--internal", internal)
    db, peer = f"{name}-db", f"{name}-peer"
    cleanup["containers"] += [db, peer]
    dbid = web(daemon, db, "--network", net, "--network-alias", "database")
    db_ip = daemon.inspect(db)["NetworkSettings"]["Networks"][net]["IPAddress"]
    assert daemon.inspect(db)["NetworkSettings"]["IPAddress"] == ""  # only the default bridge fills it
    # Names, aliases and short IDs resolve on the network, through 127.0.0.11.
    out = sh(daemon, "--network", net, "busybox", "sh", "-c",
             f"cat /etc/resolv.conf; for n in {db} database {dbid[:12]}; do nslookup $n | tail -n +3; done")
    assert "nameserver 127.0.0.11" in out
    assert out.count(f"Address: {db_ip}") == 3
    assert sh(daemon, "--network", net, "busybox", "sh", "-c", HTTP.format(host=db, port=80)) == dbid[:12]
    # Reverse lookups of a container's address give its name.
    assert f"{db}.{net}" in sh(daemon, "--network", net, "busybox", "nslookup", db_ip)
    # Another network: no name, no route through.
    out = sh(daemon, "--network", other, "busybox", "sh", "-c",
             f"nslookup {db} >/dev/null 2>&1 && echo resolved; {HTTP.format(host=db_ip, port=80)} || true")
    assert "resolved" not in out and dbid[:12] not in out
    out = sh(daemon, "busybox", "sh", "-c", f"{HTTP.format(host=db_ip, port=80)} || true")
    assert dbid[:12] not in out
    # An internal network reaches nothing outside (no way out at all).
    assert "unreachable" in daemon.cli("run", "--rm", "--network", internal, "busybox", "sh", "-c",
                                       f"nc -w 2 {db_ip} 80 </dev/null").stderr.lower()
    # The host reaches containers of user networks.
    assert http_from_host(80, db_ip) == dbid[:12]
    # Connecting a running container: the names of the network become visible, and back.
    web(daemon, peer)
    assert daemon.cli("exec", peer, "nslookup", db).returncode != 0
    daemon.ok("network", "connect", "--alias", "friend", net, peer)
    assert daemon.ok("exec", peer, "sh", "-c", HTTP.format(host=db, port=80)) == dbid[:12]
    peer_ip = daemon.inspect(peer)["NetworkSettings"]["Networks"][net]["IPAddress"]
    assert f"Address: {peer_ip}" in daemon.ok("exec", db, "nslookup", "friend")
    daemon.ok("network", "disconnect", net, peer)
    assert net not in daemon.inspect(peer)["NetworkSettings"]["Networks"]
    assert dbid[:12] not in daemon.cli("exec", peer, "sh", "-c", HTTP.format(host=db_ip, port=80)).stdout
    # In use: cannot be removed.
    r = daemon.cli("network", "rm", net)
    assert r.returncode != 0 and f"network {net} has active endpoints" in r.stderr


def test_static_addresses_and_bad_input(daemon: Daemon, name: str, cleanup) -> None:
    net = f"{name}-n"
    cleanup["networks"].append(net)
    subnet = free_subnet()
    prefix = subnet.rsplit(".", 1)[0]
    daemon.ok("network", "create", "--subnet", subnet, "--ip-range", f"{prefix}.128/25", "--gateway",
              f"{prefix}.254", net)
    info = json.loads(daemon.ok("network", "inspect", net))[0]
    assert info["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": f"{prefix}.254", "IPRange": f"{prefix}.128/25"}]
    cleanup["containers"] += [name, name + "-2", name + "-3"]
    web(daemon, name, "--network", net, "--ip", f"{prefix}.10")
    assert daemon.inspect(name)["NetworkSettings"]["Networks"][net]["IPAddress"] == f"{prefix}.10"
    web(daemon, name + "-2", "--network", net)
    assert daemon.inspect(name + "-2")["NetworkSettings"]["Networks"][net]["IPAddress"] == f"{prefix}.128"
    # The same address twice: an error at start, nothing half-made.
    r = daemon.cli("run", "-d", "--name", name + "-3", "--network", net, "--ip", f"{prefix}.10", "busybox", "true")
    assert r.returncode != 0 and "Address already in use" in r.stderr
    # An address outside the subnet.
    r = daemon.cli("run", "--rm", "--network", net, "--ip", "10.255.254.3", "busybox", "true")
    assert r.returncode == 125
    assert "no configured subnet or ip-range contain the IP address 10.255.254.3" in r.stderr
    # Static addresses and aliases need a user-defined network.
    r = daemon.cli("run", "--rm", "--network", "bridge", "--network-alias", "x", "busybox", "true")
    assert r.returncode == 125 and "network-scoped alias is supported only" in r.stderr
    # Overlapping subnets, gateways outside, unknown networks and drivers.
    r = daemon.cli("network", "create", "--subnet", subnet, name + "-x")
    assert r.returncode == 1 and "Pool overlaps with other one on this address space" in r.stderr
    r = daemon.cli("network", "create", "--subnet", "10.254.253.0/24", "--gateway", "10.254.1.1", name + "-x")
    assert "invalid gateway 10.254.1.1: parent subnet 10.254.253.0/24 doesn't contain this address" in r.stderr
    r = daemon.cli("network", "create", net)
    assert f"network with name {net} already exists" in r.stderr
    r = daemon.cli("network", "create", "-d", "overlay", name + "-x")
    assert 'plugin "overlay" not found' in r.stderr
    r = daemon.cli("run", "--rm", "--network", "nosuchnet", "busybox", "true")
    assert r.returncode == 125 and "network nosuchnet not found" in r.stderr
    r = daemon.cli("network", "rm", "bridge")
    assert "bridge is a pre-defined network and cannot be removed" in r.stderr
    assert name + "-x" not in daemon.ok("network", "ls", "--format", "{{.Name}}")


def test_network_commands(daemon: Daemon, name: str, cleanup) -> None:
    net = f"{name}-cmd"
    cleanup["networks"].append(net)
    nid = daemon.ok("network", "create", "--label", "team=blue", "-o", "com.docker.network.driver.mtu=1400", net)
    assert len(nid) == 64
    assert daemon.ok("network", "ls", "-q", "--filter", "label=team=blue") == nid[:12]
    assert net in daemon.ok("network", "ls", "--filter", "type=custom", "--format", "{{.Name}} {{.Driver}}")
    assert "bridge" not in daemon.ok("network", "ls", "--filter", "type=custom", "--format", "{{.Name}}").split()
    names = daemon.ok("network", "ls", "--format", "{{.Name}}").split()
    assert {"bridge", "host", "none", net} <= set(names)
    assert daemon.ok("network", "inspect", "-f", "{{.Labels.team}} {{.Internal}}", net) == "blue false"
    cleanup["containers"].append(name)
    daemon.ok("create", "--name", name, "--network", net, "busybox", "sleep", "60")
    assert "1400" in sh(daemon, "--network", net, "busybox", "cat", "/sys/class/net/eth0/mtu")
    # A created (not running) container does not keep the network in use.
    daemon.ok("rm", name)
    cleanup["containers"].remove(name)
    out = daemon.ok("network", "prune", "-f", "--filter", "label=team=blue")
    assert f"Deleted Networks:\n{net}" in out
    cleanup["networks"].remove(net)
    r = daemon.cli("network", "inspect", net)
    assert r.returncode == 1 and f"No such network: {net}" in r.stderr


def test_a_bridge_keeps_its_mac_when_ports_join(daemon: Daemon, name: str, cleanup) -> None:
    """A Linux bridge whose address was never set takes its lowest port's MAC: a veth with a
    lower one joining (the sandbox pool refilling, another container) would change the
    gateway's MAC under running containers, whose ARP entries then lead nowhere for tens
    of seconds. The engine sets its bridges' addresses, as dockerd does."""
    net = f"{name}-mac"
    cleanup["networks"].append(net)
    nid = daemon.ok("network", "create", net)
    tag = daemon_tag(str(daemon.data_root))
    default = json.loads(daemon.ok("network", "inspect", "bridge"))[0]["Options"]["com.docker.network.bridge.name"]
    [(user, _, _)] = bridge.tagged_links(f"baleine:{tag}:net:{nid[:12]}")
    for br in (default, user):
        before = open(f"/sys/class/net/{br}/address").read()
        port = f"vmac{os.getpid() % 100000}"
        subprocess.run(["ip", "link", "add", port, "address", "00:00:00:00:00:01", "type", "veth",
                        "peer", "name", f"{port}p"], check=True)
        try:
            subprocess.run(["ip", "link", "set", port, "master", br], check=True)
            assert open(f"/sys/class/net/{br}/address").read() == before, br
        finally:
            subprocess.run(["ip", "link", "del", port], check=True)


def test_run_rm_cycles_leave_nothing(daemon: Daemon, name: str, cleanup) -> None:
    """A few dozen cycles here; test_many_cycles (slow) does 200."""
    cycles(daemon, name, cleanup, 30)


@pytest.mark.slow
def test_many_cycles(daemon: Daemon, name: str, cleanup) -> None:
    cycles(daemon, name, cleanup, 200)


def cycles(daemon: Daemon, name: str, cleanup, count: int) -> None:
    net = f"{name}-c"
    cleanup["networks"].append(net)
    daemon.ok("network", "create", net)
    before = settled_state(daemon)
    client = daemon.api()
    try:
        for i in range(count):
            kwargs = {"network": net} if i % 2 else {"ports": {"80/tcp": None}}
            client.containers.run("busybox", ["true"], remove=True, **kwargs)
        assert settled_state(daemon, before) == before
        # Every address went back: the next container on the network gets one after the last.
        info = json.loads(daemon.ok("network", "inspect", net))[0]
        assert info["Containers"] == {}
    finally:
        client.close()


def test_daemon_crash_and_restart(fresh_daemon: Daemon, name: str) -> None:
    """After SIGKILL of the daemon: running containers keep their names, addresses and
    published ports when it comes back; what died meanwhile is cleaned at start."""
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("network", "create", "n")
    port = free_port()
    cid = web(d, "keep", "--network", "n", "-p", f"127.0.0.1:{port}:80")
    gone = web(d, "gone", "--network", "n")
    before = settled_state(d)
    d.stop(signal.SIGKILL)
    # While the daemon is away, one container dies.
    state_dir = d.exec_root / "runc"
    subprocess.run(["runc", "--root", str(state_dir), "kill", gone, "KILL"], capture_output=True)
    time.sleep(0.5)
    d.start()
    assert d.inspect("gone")["State"]["Running"] is False
    assert http_from_host(port) == cid[:12]
    assert sh(d, "--network", "n", "busybox", "sh", "-c", HTTP.format(host="keep", port=80)) == cid[:12]
    after = settled_state(d)
    assert len(after["veths"]) == len(before["veths"]) - 1 and len(after["netns"]) == 1
    assert after["dnat"] == before["dnat"]
    d.ok("rm", "-f", "keep", "gone")
    empty = {"veths": [], "bridges": before["bridges"], "netns": [], "dnat": []}
    assert settled_state(d, empty) == empty
    # A clean stop and start keeps the bridges (as docker keeps docker0) and makes no new ones.
    bridges = kernel_state(d)["bridges"]
    d.stop()
    d.start()
    assert kernel_state(d)["bridges"] == bridges


def test_two_daemons_side_by_side(daemon: Daemon) -> None:
    """Each daemon has its own bridge, subnet and chains; removing one leaves the other."""
    other = new_daemon()
    try:
        mine = json.loads(daemon.ok("network", "inspect", "bridge"))[0]
        theirs = json.loads(other.ok("network", "inspect", "bridge"))[0]
        a = mine["Options"]["com.docker.network.bridge.name"]
        b = theirs["Options"]["com.docker.network.bridge.name"]
        assert a != b
        assert mine["IPAM"]["Config"][0]["Subnet"] != theirs["IPAM"]["Config"][0]["Subnet"]
        tag = daemon_tag(str(other.data_root))
    finally:
        destroy_daemon(other)
    assert not bridge.tagged_links(f"baleine:{tag}:")
    assert bridge.link_exists(a)
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert f"BALEINE-{tag}" not in rules


@pytest.mark.skipif(open("/proc/sys/net/ipv4/ip_forward").read().strip() != "1",
                    reason="the host does not forward IPv4 (tests leave that setting alone)")
def test_published_port_reachable_from_another_host(daemon: Daemon, name: str, cleanup) -> None:
    """A "machine" of the test's own (a network namespace wired to the host by a veth)
    reaches a published port through the host's address, as another machine would."""
    port = free_port()
    cleanup["containers"].append(name)
    cid = web(daemon, name, "-p", f"{port}:80")
    peer, host_if, host_ip = f"bpeer{os.getpid() % 10000}", f"vbp{os.getpid() % 10000}", "10.250.77.1"

    def run(cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30)

    try:
        for cmd in (f"ip netns add {peer}", f"ip link add {host_if} type veth peer name eth0 netns {peer}",
                    f"ip addr add {host_ip}/30 dev {host_if}", f"ip link set {host_if} up",
                    f"ip -n {peer} addr add 10.250.77.2/30 dev eth0", f"ip -n {peer} link set eth0 up",
                    f"ip -n {peer} link set lo up", f"ip -n {peer} route add default via {host_ip}"):
            assert run(cmd).returncode == 0, cmd
        client = ("import socket; s = socket.create_connection(('%s', %d), timeout=5); "
                  "s.sendall(b'GET /hostname HTTP/1.0\\r\\n\\r\\n'); data = b''\n"
                  "while True:\n    chunk = s.recv(4096)\n    if not chunk: break\n    data += chunk\n"
                  "print(data.decode().strip().splitlines()[-1])") % (host_ip, port)
        r = subprocess.run(["ip", "netns", "exec", peer, "python3", "-c", client], capture_output=True, text=True,
                           timeout=30)
        assert r.stdout.strip() == cid[:12], r.stderr
    finally:
        run(f"ip netns del {peer}")
        run(f"ip link del {host_if}")
