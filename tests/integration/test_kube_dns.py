"""The cluster DNS (baleine.kube.dns) with real clients: Services made with kubectl,
questions asked from the host (a small client over UDP and TCP) and from a busybox
container whose resolv.conf is the one a pod's sandbox gets."""

from __future__ import annotations

import json
import random
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baleine.engine.networks import daemon_tag
from baleine.engine.networks import dns as wire

from ..conftest import BUSYBOX_TAR, reap_leftovers
from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL

A, CNAME, PTR, AAAA, SRV = 1, 5, 12, 28, 33
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3
#: A loopback address of this module's own (a fake upstream resolver binds port 53 there).
UPSTREAM = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}.53"


# --- a small DNS client (the questions with the engine's name encoder; replies decoded here) ----

def _name(msg: bytes, pos: int) -> tuple[str, int]:
    labels, end = [], None
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            end = end if end is not None else pos + 2
            pos = struct.unpack("!H", msg[pos:pos + 2])[0] & 0x3FFF
            continue
        pos += 1
        if n == 0:
            return ".".join(labels), end if end is not None else pos
        labels.append(msg[pos:pos + n].decode())
        pos += n


def exchange(server: str, name: str, qtype: int = A, tcp: bool = False, timeout: float = 5) -> tuple[int, bytes]:
    """(question id, reply message) of one question."""
    qid = random.randint(0, 0xFFFF)
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire._encode_name(name) + struct.pack("!HH", qtype, 1)
    if tcp:
        with socket.create_connection((server, 53), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(msg)) + msg)
            head = s.recv(2, socket.MSG_WAITALL)
            return qid, s.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(msg, (server, 53))
        return qid, s.recv(4096)


def ask(server: str, name: str, qtype: int = A, tcp: bool = False, timeout: float = 5) -> tuple[int, list[Any]]:
    """(rcode, answers) for one question; an answer is an address, a name or an SRV tuple."""
    qid, reply = exchange(server, name, qtype, tcp, timeout)
    rid, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    assert rid == qid and flags & 0x8000
    pos = 12
    for _ in range(qd):
        pos = _name(reply, pos)[1] + 4
    out: list[Any] = []
    for _ in range(an):
        pos = _name(reply, pos)[1]
        rtype, _, _, rdlen = struct.unpack("!HHIH", reply[pos:pos + 10])
        pos += 10
        data = reply[pos:pos + rdlen]
        if rtype == A:
            out.append(socket.inet_ntoa(data))
        elif rtype in (CNAME, PTR):
            out.append(_name(reply, pos)[0])
        elif rtype == SRV:
            out.append((*struct.unpack("!HHH", data[:6]), _name(reply, pos + 6)[0]))
        pos += rdlen
    return flags & 0xF, out


class FakeUpstream:
    """A resolver on UPSTREAM:53 answering every A question with 192.0.2.7."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((UPSTREAM, 53))
        self.sock.settimeout(0.2)
        self.asked: list[str] = []
        self.running = True
        self.silent = False  # True: questions get no reply
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            q = wire.parse_query(data)
            self.asked.append(q.name)
            if self.silent:
                continue
            self.sock.sendto(wire.answer(q, addresses=["192.0.2.7"] if q.qtype == A else []), addr)

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    up = FakeUpstream()
    yield up
    up.close()


@pytest.fixture(scope="module")
def kube(upstream: FakeUpstream) -> Iterator[Kube]:
    # Test daemons forward to 127.0.0.1 first (nothing listens there: refused), then to the fake.
    with kube_daemon("--dns", UPSTREAM) as k:
        k.daemon.ok("load", "-i", str(BUSYBOX_TAR))
        yield k


def dns_ip(k: Kube) -> str:
    return get_json(k, "svc", "kube-dns", "-n", "kube-system")["spec"]["clusterIP"]


def apply(k: Kube, *objs: dict[str, Any]) -> None:
    for obj in objs:
        k.ok("apply", "-f", "-", input=json.dumps(obj))


def service(name: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"name": "http", "port": 80, "targetPort": 8080}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def answered(server: str, name: str, qtype: int = A) -> Any:
    """Wait for the server to answer (it starts with the API server)."""
    return wait_for(lambda: _try(server, name, qtype), timeout=30, what=f"an answer for {name}")


def _try(server: str, name: str, qtype: int) -> Any:
    try:
        return ask(server, name, qtype, timeout=1)
    except OSError:
        return None


def test_the_kube_dns_service(kube: Kube) -> None:
    svc = get_json(kube, "svc", "kube-dns", "-n", "kube-system")
    cidr = Path(kube.daemon.data_root / "kube" / "service-cidr").read_text().strip()
    assert svc["spec"]["clusterIP"] == cidr.split("/")[0].rsplit(".", 2)[0] + ".0.10"
    assert svc["metadata"]["labels"]["k8s-app"] == "kube-dns"
    assert sorted((p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]) == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]
    slices = get_json(kube, "endpointslices", "-n", "kube-system", "-l", "kubernetes.io/service-name=kube-dns")
    assert [ep["addresses"] for s in slices["items"] for ep in s["endpoints"]] == [[svc["spec"]["clusterIP"]]]
    # The address is the daemon's own, on its own interface.
    link = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", f"bkdns-{daemon_tag(str(kube.daemon.data_root))}"],
                          capture_output=True, text=True)
    assert f"inet {svc['spec']['clusterIP']}/32" in link.stdout


def test_services_by_name_over_udp_and_tcp(kube: Kube) -> None:
    kube.ok("create", "ns", "prod")
    apply(kube, service("web"), service("web", "prod"), service("ext", type="ExternalName",
                                                                 externalName="db.example.org"))
    ip = get_json(kube, "svc", "web")["spec"]["clusterIP"]
    prod_ip = get_json(kube, "svc", "web", "-n", "prod")["spec"]["clusterIP"]
    server = dns_ip(kube)
    assert answered(server, "web.default.svc.cluster.local") == (NOERROR, [ip])
    assert ask(server, "web.prod.svc.cluster.local", tcp=True) == (NOERROR, [prod_ip])
    assert ask(server, "WEB.prod.svc.cluster.local.") == (NOERROR, [prod_ip])
    assert ask(server, "web.default.svc.cluster.local", AAAA) == (NOERROR, [])
    assert ask(server, "_http._tcp.web.default.svc.cluster.local", SRV) == (
        NOERROR, [(0, 100, 80, "web.default.svc.cluster.local")])
    assert ask(server, ".".join(reversed(prod_ip.split("."))) + ".in-addr.arpa", PTR) == (
        NOERROR, ["web.prod.svc.cluster.local"])
    assert ask(server, "ext.default.svc.cluster.local") == (NOERROR, ["db.example.org"])
    assert ask(server, "nope.default.svc.cluster.local") == (NXDOMAIN, [])
    assert ask(server, "web.nons.svc.cluster.local", tcp=True) == (NXDOMAIN, [])
    assert ask(server, "10-1-2-3.prod.pod.cluster.local") == (NOERROR, ["10.1.2.3"])
    # Deleted: gone from the answers as soon as the watch tells (at once, in practice).
    kube.ok("delete", "svc", "web", "-n", "prod")
    wait_for(lambda: ask(server, "web.prod.svc.cluster.local") == (NXDOMAIN, []), timeout=5, what="web.prod gone")


def ghost_pod(name: str, labels: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"nodeName": "ghost", "containers": [{"name": "c", "image": "busybox"}], **spec}}


def set_status(k: Kube, pod: str, ip: str, ready: bool) -> None:
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    k.ok("patch", "pod", pod, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))


def test_headless_service_answers_ready_pod_addresses(kube: Kube) -> None:
    apply(kube, service("db", clusterIP="None", selector={"app": "db"},
                        ports=[{"name": "pg", "port": 5432, "targetPort": 5432}]),
          ghost_pod("db-0", {"app": "db"}, hostname="db-0", subdomain="db"), ghost_pod("db-1", {"app": "db"}),
          ghost_pod("db-2", {"app": "db"}), ghost_pod("web-0", {"app": "web"}))
    set_status(kube, "db-0", "10.244.7.3", True)
    set_status(kube, "db-1", "10.244.7.2", True)
    set_status(kube, "db-2", "10.244.7.4", False)
    set_status(kube, "web-0", "10.244.7.9", True)
    server = dns_ip(kube)
    # Answers come from the EndpointSlices once a controller writes them, else from the pods: wait for both to agree.
    wait_for(lambda: ask(server, "db.default.svc.cluster.local") == (NOERROR, ["10.244.7.2", "10.244.7.3"]),
             timeout=20, what="the ready pods of db")
    assert ask(server, "db-0.db.default.svc.cluster.local") == (NOERROR, ["10.244.7.3"])
    assert ask(server, "_pg._tcp.db.default.svc.cluster.local", SRV, tcp=True) == (NOERROR, [
        (0, 100, 5432, "10-244-7-2.db.default.svc.cluster.local"), (0, 100, 5432, "db-0.db.default.svc.cluster.local")])
    assert ask(server, "3.7.244.10.in-addr.arpa", PTR) == (NOERROR, ["db-0.db.default.svc.cluster.local"])
    set_status(kube, "db-2", "10.244.7.4", True)
    wait_for(lambda: ask(server, "db.default.svc.cluster.local")[1] == ["10.244.7.2", "10.244.7.3", "10.244.7.4"],
             timeout=20, what="db-2 ready")


def test_a_big_answer_is_truncated_over_udp_and_whole_over_tcp(kube: Kube) -> None:
    """A headless Service without selector, its endpoints in an EndpointSlice of its own."""
    apply(kube, service("many", clusterIP="None"))
    addresses = [f"10.250.0.{i}" for i in range(1, 41)]
    apply(kube, {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": "many-1", "labels": {"kubernetes.io/service-name": "many"}},
                 "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                 "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses]})
    server = dns_ip(kube)
    _, reply = exchange(server, "many.default.svc.cluster.local")
    flags, _, ancount = struct.unpack("!HHH", reply[2:8])
    assert flags & 0x0200 and ancount == 0 and len(reply) <= 512
    assert ask(server, "many.default.svc.cluster.local", tcp=True) == (NOERROR, addresses)
    assert ask(server, "_http._tcp.many.default.svc.cluster.local", SRV, tcp=True)[1][0] == (
        0, 100, 8080, "10-250-0-1.many.default.svc.cluster.local")


def test_other_names_are_forwarded_upstream(kube: Kube, upstream: FakeUpstream) -> None:
    server = dns_ip(kube)
    assert ask(server, "www.example.net") == (NOERROR, ["192.0.2.7"])
    assert "www.example.net" in upstream.asked
    assert ask(server, "www.example.net", tcp=False, timeout=5)[0] == NOERROR
    # Names of the cluster domain are never forwarded, found or not.
    before = len(upstream.asked)
    ask(server, "nope.default.svc.cluster.local")
    ask(server, "web.default.svc.cluster.local")
    assert len(upstream.asked) == before


def test_a_forward_that_fails_is_servfail_without_hanging(kube: Kube, upstream: FakeUpstream) -> None:
    server = dns_ip(kube)
    upstream.silent = True
    try:
        started = time.monotonic()
        assert ask(server, "silent.example.net", timeout=10) == (SERVFAIL, [])
        assert ask(server, "silent.example.net", tcp=True, timeout=10) == (SERVFAIL, [])
        # 127.0.0.1 refuses at once; the silent one is given up after its timeout (2 s).
        assert time.monotonic() - started < 8
        # The server kept answering meanwhile.
        assert ask(server, "kubernetes.default.svc.cluster.local")[0] == NOERROR
    finally:
        upstream.silent = False


@pytest.mark.parametrize("network", ["bridge", "kdns-pods"])
def test_from_a_container_with_a_pods_resolv_conf(kube: Kube, network: str) -> None:
    """A busybox container given the DNS settings the node agent gives a sandbox: on the
    default bridge its resolv.conf names the cluster DNS; on a user-defined network (as
    ``baleine-kube``) it names the engine's embedded server, which forwards to the cluster DNS."""
    if kube.run("get", "ns", "prod").returncode != 0:
        kube.ok("create", "ns", "prod")
    apply(kube, service("api", ns="default"), service("api", ns="prod"))
    ip = get_json(kube, "svc", "api")["spec"]["clusterIP"]
    prod_ip = get_json(kube, "svc", "api", "-n", "prod")["spec"]["clusterIP"]
    server = dns_ip(kube)
    if network != "bridge":
        kube.daemon.ok("network", "create", network)
    search = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    # busybox's ping resolves with the C library (search path, ndots); its nslookup asks one name as given.
    script = ("cat /etc/resolv.conf; for n in api api.prod api.prod.svc.cluster.local; do ping -c1 -W1 $n; done; "
              "nslookup -type=a api.default.svc.cluster.local; nslookup nope.default.svc.cluster.local; echo rc=$?")
    args = ["run", "--rm", "--network", network, "--dns", server, *[a for s in search for a in ("--dns-search", s)],
            "--dns-opt", "ndots:5", "busybox", "sh", "-c", script]
    try:
        out = kube.daemon.ok(*args, timeout=120)
    finally:
        if network != "bridge":
            kube.daemon.cli("network", "rm", network)
    nameserver = server if network == "bridge" else "127.0.0.11"
    assert f"nameserver {nameserver}" in out and "search " + " ".join(search) in out and "ndots:5" in out
    assert f"PING api ({ip})" in out, out
    assert f"PING api.prod ({prod_ip})" in out, out
    assert f"PING api.prod.svc.cluster.local ({prod_ip})" in out, out
    assert "Name:\tapi.default.svc.cluster.local\nAddress: " + ip in out, out
    assert "can't find nope.default.svc.cluster.local: NXDOMAIN" in out and "rc=1" in out, out


def test_the_interface_goes_with_the_daemon(kube: Kube) -> None:
    """Last of the module: stops, restarts and kills the module's daemon; a second daemon
    that found the DNS address taken serves it once the first is gone."""
    d = kube.daemon
    link = Path(f"/sys/class/net/bkdns-{daemon_tag(str(d.data_root))}")
    server = dns_ip(kube)
    kubernetes_ip = get_json(kube, "svc", "kubernetes")["spec"]["clusterIP"]
    assert link.exists()
    d.stop()
    assert not link.exists()
    d.start()
    kube.wait_ready()
    assert answered(server, "kubernetes.default.svc.cluster.local") == (NOERROR, [kubernetes_ip])
    assert link.exists()
    with kube_daemon() as other:
        apply(other, service("only-here"))
        other_server = dns_ip(other)
        if other_server == server:  # the same range (no proxy routes the first one's): the first serves it
            assert "cluster DNS not served" in other.daemon.log()
            assert ask(server, "only-here.default.svc.cluster.local") == (NXDOMAIN, [])
        d.stop(9)
        assert link.exists()
        assert not [cb for cb in d.slow_callbacks() if cb.blocking]  # the log goes with the reaped root
        reap_leftovers(d.root, d.cgroup_parent)
        assert not link.exists()
        # The second daemon serves its address, the first one's gone (retried every 5 s).
        wait_for(lambda: _try(other_server, "only-here.default.svc.cluster.local", A) == (
            NOERROR, [get_json(other, "svc", "only-here")["spec"]["clusterIP"]]), timeout=20, what="the second DNS")
