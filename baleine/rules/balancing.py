"""Spreading new connections over n targets in the kernel (pure).

Shared by the kube proxy (``baleine.kube.proxy.rules``) and the engine's balanced
groups (``baleine.engine.networks.balancerules``): target *i* of *n* is taken with
``-m statistic --mode random --probability 1/(n-i)`` and the last one
unconditionally, so that each gets 1/n of the connections (kube-proxy's iptables
mode); conntrack then keeps a connection on the target it was given.
"""

from __future__ import annotations


def probability(n_left: int) -> str:
    """The ``--probability`` of the first of ``n_left`` remaining targets."""
    return f"{1.0 / n_left:0.10f}"


def spread(chain: str, targets: list[tuple[str, str]]) -> list[str]:
    """The rules of ``chain`` jumping to one of ``targets`` ((comment, target chain)
    pairs) per new connection, each with probability 1/n."""
    rules = []
    for i, (comment, target) in enumerate(targets):
        left = len(targets) - i
        pick = f"-m statistic --mode random --probability {probability(left)} " if left > 1 else ""
        rules.append(f'-A {chain} -m comment --comment "{comment}" {pick}-j {target}')
    return rules
