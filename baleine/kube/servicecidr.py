"""The service range: where ClusterIPs come from, chosen once per data root.

Kubernetes' default is 10.96.0.0/12. Like Baleine's address pools, the range
must be clear of the host's routes (a ClusterIP that is also a LAN address would
hide that LAN), so the first of :data:`CANDIDATES` that overlaps no IPv4 route of
the host is taken at first start and kept in ``<data-root>/kube/service-cidr``
(ClusterIPs are stable for a Service's life: the range never changes after).
Two daemons on one machine get different ranges as long as the first one's
proxy has routed its range (it does at start, see ``kube.proxy``).

Addresses in the range: the network address + 1 is the ``kubernetes`` Service,
+ 10 the cluster DNS (``kube-system/kube-dns``), as in kubeadm's clusters;
ordinary Services get addresses after :data:`FIRST_DYNAMIC`.
"""

from __future__ import annotations

import ipaddress
import os

CANDIDATES = tuple(ipaddress.ip_network(f"10.{n}.0.0/12") for n in (96, 112, 128, 144, 160, 176, 192, 208))
DNS_OFFSET = 10
FIRST_DYNAMIC = 11

Network = ipaddress.IPv4Network


def host_routes(path: str = "/proc/net/route") -> list[Network]:
    """The destinations of the host's IPv4 routes (main table), the default route left out."""
    out = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        dest = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
        mask = ipaddress.IPv4Address(int(fields[7], 16).to_bytes(4, "little"))
        net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        if net.prefixlen:
            out.append(net)
    return out


def host_addresses() -> list[Network]:
    """The host's IPv4 addresses as /32s (another daemon's cluster DNS address is
    one, in the local table, where :func:`host_routes` does not look)."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return [ipaddress.IPv4Network(f"{m.get_attr('IFA_ADDRESS')}/32") for m in ipr.get_addr(family=2)]


def choose(routes: list[Network]) -> Network:
    """The first candidate overlapping none of ``routes`` (the first candidate if all do)."""
    for cand in CANDIDATES:
        if not any(cand.overlaps(r) for r in routes):
            return cand
    return CANDIDATES[0]


def load_or_choose(kube_dir: str) -> Network:
    """The range recorded under ``kube_dir``, or a new choice, recorded (blocking: call in a thread)."""
    path = os.path.join(kube_dir, "service-cidr")
    try:
        with open(path) as f:
            return ipaddress.IPv4Network(f.read().strip())
    except (OSError, ValueError):
        pass
    cidr = choose(host_routes() + host_addresses())
    os.makedirs(kube_dir, mode=0o700, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{cidr}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return cidr


def api_address(cidr: Network) -> str:
    return str(cidr.network_address + 1)


def dns_address(cidr: Network) -> str:
    return str(cidr.network_address + DNS_OFFSET)
