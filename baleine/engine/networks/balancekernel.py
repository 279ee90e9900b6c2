"""The balanced groups' kernel state (every function blocks: call from a thread).

Their chains and jumps (rendered by ``balancerules``, applied with one
``iptables-restore --noflush``), removed with the last group and by the engine's
``reap``; and the VIPs, ``/32`` addresses of the networks' bridges, so that packets
to a VIP reach the host (which answers ARP for its own addresses) to be DNATed.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ...rules.errors import EngineError
from . import balancerules as br

def _binary(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _iptables(args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([_binary("iptables"), "-w", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise EngineError(f"iptables {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def restore(text: str) -> None:
    proc = subprocess.run([_binary("iptables-restore"), "-w", "--noflush"], input=text, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise EngineError(f"iptables-restore (balancer): {proc.stderr.strip()}")


def existing_chains(tag: str, table: str = "nat") -> frozenset[str]:
    """The balancer chains of the tag in ``table``."""
    out = subprocess.run([_binary("iptables-save"), "-t", table], capture_output=True, text=True).stdout
    p = ":" + br.prefix(tag)
    return frozenset(line.split()[0][1:] for line in out.splitlines() if line.startswith(p))


def install_jumps(tag: str) -> None:
    for table, builtin, spec in br.jumps(tag):
        if _iptables(["-t", table, "-C", builtin, *spec], check=False).returncode != 0:
            _iptables(["-t", table, "-I", builtin, "1", *spec])


def remove_rules(tag: str) -> None:
    """The jumps and every balancer chain of the tag (nothing if already gone); for reap."""
    for table, builtin, spec in br.jumps(tag):
        for _ in range(16):
            if _iptables(["-t", table, "-D", builtin, *spec], check=False).returncode != 0:
                break
    for table in ("nat", "filter"):
        names = existing_chains(tag, table)
        for name in names:
            _iptables(["-t", table, "-F", name], check=False)
        for name in names:
            _iptables(["-t", table, "-X", name], check=False)


def set_addresses(have: set[tuple[str, str]], want: set[tuple[str, str]]) -> None:
    """Add the wanted ``(bridge, VIP)`` addresses (``/32``), remove the others we added."""
    with IPRoute() as ipr:
        for bridge, vip in sorted(want):
            idx = ipr.link_lookup(ifname=bridge)
            if not idx:
                continue
            try:
                ipr.addr("add", index=idx[0], address=vip, prefixlen=32)
            except NetlinkError as exc:
                if exc.code != 17:  # EEXIST
                    raise
        for bridge, vip in sorted(have - want):
            idx = ipr.link_lookup(ifname=bridge)
            if idx:
                with contextlib.suppress(NetlinkError):
                    ipr.addr("del", index=idx[0], address=vip, prefixlen=32)
