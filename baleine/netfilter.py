"""The iptables calls that the engine's balancer and the cluster's proxy share.

Both own a set of chains named with a prefix and a few jumps into them from the
built-in chains; both install the jumps once each and remove jumps and chains
on shutdown or after a crash (``reap``). Every function blocks (it runs
``iptables``): call from a worker thread.

A *jump* is ``(table, builtin_chain, rule_spec)``, the shape the renderers
(``engine/networks/balancerules.jumps``, ``kube/proxy/rules.jumps``) return.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterable

Jump = tuple[str, str, list[str]]


def binary(name: str) -> str:
    """The path of an iptables tool (``iptables``, ``iptables-restore``, ``iptables-save``)."""
    return shutil.which(name) or f"/usr/sbin/{name}"


def run(args: list[str], *, check: bool = True, input_: str | None = None, tool: str = "iptables",
        error: Callable[[str], Exception] = RuntimeError) -> subprocess.CompletedProcess[str]:
    """``tool -w ARGS`` (``tool`` a name or a path); a non-zero exit raises
    ``error(message)`` when ``check``."""
    proc = subprocess.run([binary(tool), "-w", *args], input=input_, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise error(f"{tool} {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def chains_with_prefix(prefix: str, table: str = "nat") -> frozenset[str]:
    """The chains of ``table`` whose names start with ``prefix`` (from ``iptables-save``)."""
    out = subprocess.run([binary("iptables-save"), "-t", table], capture_output=True, text=True).stdout
    p = ":" + prefix
    return frozenset(line.split()[0][1:] for line in out.splitlines() if line.startswith(p))


def install_jumps(jumps: Iterable[Jump], error: Callable[[str], Exception] = RuntimeError) -> None:
    """Each jump inserted first in its built-in chain, unless it is there already."""
    for table, builtin, spec in jumps:
        if run(["-t", table, "-C", builtin, *spec], check=False).returncode != 0:
            run(["-t", table, "-I", builtin, "1", *spec], error=error)


def remove_jumps(jumps: Iterable[Jump], tool: str = "iptables") -> None:
    """Each jump deleted from its built-in chain, every copy of it (nothing if gone)."""
    for table, builtin, spec in jumps:
        for _ in range(16):  # a crash between -C and -I could have doubled one
            if run(["-t", table, "-D", builtin, *spec], check=False, tool=tool).returncode != 0:
                break


def remove(jumps: Iterable[Jump], prefix: str, tables: tuple[str, ...] = ("nat", "filter")) -> None:
    """The jumps and every chain named ``prefix…`` in ``tables``; nothing if already gone."""
    remove_jumps(jumps)
    for table in tables:
        names = chains_with_prefix(prefix, table)
        for name in names:  # flush all first: chains may jump to each other
            run(["-t", table, "-F", name], check=False)
        for name in names:
            run(["-t", table, "-X", name], check=False)
