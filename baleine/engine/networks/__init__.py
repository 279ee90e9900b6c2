"""Container networking: bridge networks, published ports and name resolution.

The package is the ``lifecycle.network`` hook of the engine (see ``manager``)
and the pieces it is made of, each an idea of its own:

``ipam``      subnets and addresses of both families: validation, pools (a ULA
              /48 per daemon for IPv6), an allocator that never hands out an
              address twice (pure, but for reading host routes);
``netns``     network namespaces as bind-mounted files, and running code in one;
``bridge``    the Linux bridge driver over netlink (pyroute2): bridges, veth
              pairs, addresses and routes inside a container's namespace;
``pool``      pre-plumbed sandboxes (namespace + veth on the default bridge)
              that starting containers take, refilled in the background;
``rtnl``      the few rtnetlink requests a taken sandbox needs, sent in one batch;
``iptables``  the daemon's firewall and NAT rules, rendered from state (pure)
              and applied atomically with ``iptables-restore``;
``ports``     ``PortBindings``: parsing, host port reservation, Docker's shapes;
``dns``       the embedded DNS server (127.0.0.11 in each container on a
              user-defined network);
``reap``      removal of everything a daemon made in the kernel, for start-up
              recovery and for tests;
``records``   network records: the ``networks`` table, predefined networks,
              bridges and IPAM state (create, remove, prune, inspect);
``endpoints`` containers' attachments: prepare at start, release at exit,
              connect/disconnect (veths, addresses, ports, DNS sockets);
``directory`` the DNS directory: who answers which name on which network;
``firewall``  the daemon's chains kept in step with records and held ports;
``manager``   ``Networks``: the thin façade the engine, lifecycle and API call.
``balancer``  balanced groups: replicas behind one VIP per network and one
              published port (``balancerules`` the labels and chains, pure;
              ``balancekernel`` their kernel state).

Everything a daemon makes in the kernel carries its *tag* (:func:`daemon_tag`),
so that several daemons can share a host and each can find, and remove, what
is its own even after a crash.
"""

from __future__ import annotations

import hashlib
import os

DEFAULT_DATA_ROOT = "/var/lib/baleine"


def daemon_tag(data_root: str) -> str:
    """Eight hex digits naming one daemon (its data root) in kernel objects."""
    return hashlib.sha256(os.path.realpath(data_root).encode()).hexdigest()[:8]


def default_bridge_name(data_root: str) -> str:
    """The default bridge's interface name: ``baleine0`` for the default data root,
    a name derived from the tag for any other (so test daemons never share one)."""
    if os.path.realpath(data_root) == DEFAULT_DATA_ROOT:
        return "baleine0"
    return f"blb-{daemon_tag(data_root)}"
