"""Linux capabilities of a container: Docker's defaults and ``--cap-add``/``--cap-drop``.

Names are always returned in the ``CAP_`` form runc expects (``CAP_NET_ADMIN``).
The rules are moby's ``oci/caps``: names are upper-cased and given a ``CAP_``
prefix, ``ALL`` is accepted on either side, a capability the kernel knows but the
daemon itself does not hold is refused (it could not be granted anyway), and
``--privileged`` means every capability the daemon holds.
"""

from __future__ import annotations

import functools
import re

from baleine.rules.errors import InvalidParameter

#: Docker's default capability set, in moby's order (oci/caps/defaults.go).
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

#: Every Linux capability, indexed by its number (linux/capability.h).
ALL_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",  # 0
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",  # 5
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",  # 10
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",  # 15
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",  # 20
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",  # 25
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",  # 30
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",  # 35
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",  # 40
)

_ALL = "ALL"


def _last_cap() -> int:
    """Highest capability number the running kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return len(ALL_CAPABILITIES) - 1


def _effective_mask() -> int | None:
    """The daemon's own effective capability mask, or None when unreadable."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                m = re.match(r"CapEff:\s*([0-9a-fA-F]+)", line)
                if m:
                    return int(m.group(1), 16)
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=1)
def known_capabilities() -> dict[str, bool]:
    """Every capability name this library and the kernel know, mapped to whether
    the daemon holds it (and so can grant it to a container).

    When the daemon's own set cannot be read, every known capability counts as
    available, as moby does; the runtime refuses what it cannot grant.
    """
    last = min(_last_cap(), len(ALL_CAPABILITIES) - 1)
    mask = _effective_mask()
    known: dict[str, bool] = {}
    for number, name in enumerate(ALL_CAPABILITIES):
        if number > last:
            break
        known[name] = mask is None or mask == 0 or bool(mask >> number & 1)
    return known


def all_capabilities() -> list[str]:
    """Every capability available to containers here (what ``--privileged`` and
    ``--cap-add ALL`` grant), in kernel number order."""
    return [name for name, available in known_capabilities().items() if available]


def normalize(names: list[str]) -> list[str]:
    """Upper-case ``names`` and give each a ``CAP_`` prefix; keep ``ALL`` as is.

    Raises InvalidParameter for a name that is no capability, or one that the
    daemon does not hold itself, with moby's wording.
    """
    known = known_capabilities()
    out: list[str] = []
    for raw in names:
        name = raw.upper()
        if name == _ALL:
            out.append(name)
            continue
        if not name.startswith("CAP_"):
            name = "CAP_" + name
        if name not in known:
            raise InvalidParameter(f"unknown capability: {_go_quote(name)}")
        if not known[name]:
            raise InvalidParameter(
                "capability not supported by your kernel or not available in the "
                f"current environment: {_go_quote(name)}"
            )
        out.append(name)
    return out


def tweak(add: list[str], drop: list[str], privileged: bool,
          basics: list[str] | None = None) -> list[str]:
    """The capability set of a container, as moby's ``caps.TweakCapabilities``.

    ``basics`` defaults to :data:`DEFAULT_CAPABILITIES`. ``privileged`` grants
    :func:`all_capabilities` and ignores ``add``/``drop``. Otherwise, ``add``
    containing ``ALL`` grants every available capability not in ``drop``;
    ``drop`` containing ``ALL`` grants exactly ``add``; else ``drop`` is removed
    from ``basics`` and ``add`` appended (so a capability both added and dropped
    is kept, as in Docker). The result has no duplicates and keeps first-seen
    order. Raises InvalidParameter for an unknown or unavailable capability.
    """
    base = list(DEFAULT_CAPABILITIES if basics is None else basics)
    if privileged:
        return all_capabilities()
    if not add and not drop:
        return _dedupe(base)
    cap_drop = normalize(drop)
    cap_add = normalize(add)
    if _ALL in cap_add:
        caps = [c for c in all_capabilities() if c not in cap_drop]
    elif _ALL in cap_drop:
        caps = list(cap_add)
    else:
        caps = [c for c in base if c not in cap_drop] + cap_add
    return _dedupe([c for c in caps if c != _ALL])


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _go_quote(s: str) -> str:
    """Go's ``%q`` for the plain ASCII names met here."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
