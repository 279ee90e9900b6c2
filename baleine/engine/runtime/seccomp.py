"""Seccomp profiles: Docker's profile format turned into the OCI ``linux.seccomp``.

Docker's profile format (the one ``--security-opt seccomp=file.json`` takes and
``seccomp_default.json`` beside this module holds) is the OCI section plus rules
that apply only under conditions: ``archMap`` (architectures per host
architecture), and per syscall rule ``includes``/``excludes`` on ``caps`` (the
container's bounding set), ``arches`` (the host's) and ``minKernel`` (the
running kernel). This module resolves those conditions for this host and one
container, exactly as moby's ``profiles/seccomp/seccomp_linux.go`` does, and
returns plain dicts ready for ``config.json``.

Whether a container has seccomp at all (``unconfined``, ``--privileged``) is
the caller's decision; ``None`` from here means "no filter".
"""

from __future__ import annotations

import errno
import functools
import json
import os
import platform
import re
from importlib import resources
from typing import Any

from baleine.rules.errors import InvalidParameter

# `uname -m` => the architecture names used in profiles' "arches" conditions
# (libseccomp's, as moby's goToNative yields them).
_MACHINE_TO_NATIVE: dict[str, str] = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "i386": "x86",
    "i486": "x86",
    "i586": "x86",
    "i686": "x86",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv6l": "arm",
    "armv7l": "arm",
    "armv8l": "arm",
    "mips64": "mips64",
    "ppc": "ppc",
    "ppc64": "ppc64",
    "ppc64le": "ppc64le",
    "s390": "s390",
    "s390x": "s390x",
    "riscv64": "riscv64",
}

# native name => SCMP_ARCH_* (moby's nativeToSeccomp, plus riscv64).
_NATIVE_TO_SCMP: dict[str, str] = {
    "x86": "SCMP_ARCH_X86",
    "amd64": "SCMP_ARCH_X86_64",
    "arm": "SCMP_ARCH_ARM",
    "arm64": "SCMP_ARCH_AARCH64",
    "mips64": "SCMP_ARCH_MIPS64",
    "mips64n32": "SCMP_ARCH_MIPS64N32",
    "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mips3l64n32": "SCMP_ARCH_MIPSEL64N32",
    "mipsle": "SCMP_ARCH_MIPSEL",
    "ppc": "SCMP_ARCH_PPC",
    "ppc64": "SCMP_ARCH_PPC64",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390": "SCMP_ARCH_S390",
    "s390x": "SCMP_ARCH_S390X",
    "riscv64": "SCMP_ARCH_RISCV64",
}

#: Actions runc 1.1 (libseccomp 2.5) understands.
ACTIONS = frozenset({
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
})

#: Argument comparison operators of the OCI spec.
OPERATORS = frozenset({
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})

KernelVersion = tuple[int, int, int]


def native_arch() -> str:
    """The host's architecture in profile terms ("amd64", "arm64", …; "" if unknown)."""
    return _MACHINE_TO_NATIVE.get(platform.machine().lower(), "")


def parse_kernel_version(release: str) -> KernelVersion:
    """``"6.1.0-13-amd64"`` → ``(6, 1, 0)``; ``"4.8"`` → ``(4, 8, 0)``.

    Raises InvalidParameter when ``release`` does not start with "X.Y".
    """
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", release.strip())
    if not m:
        raise InvalidParameter(f"invalid kernel version: {release!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


@functools.lru_cache(maxsize=1)
def running_kernel() -> KernelVersion:
    """Version of the running kernel."""
    return parse_kernel_version(os.uname().release)


# x32's system calls are x86_64's numbers with this bit set (asm/unistd.h).
_X32_SYSCALL_BIT = 0x40000000
_X32_GETPID = _X32_SYSCALL_BIT | 39


@functools.lru_cache(maxsize=None)
def kernel_runs(scmp_arch: str) -> bool:
    """Whether the running kernel executes programs of the sub-architecture ``scmp_arch``.

    Only x32 is ever answered False: a kernel built without ``CONFIG_X86_X32_ABI``
    (Debian's, for one) refuses every x32 system call with ENOSYS and will not exec an
    x32 binary, so a filter compiled for x32 can never apply — and each architecture
    in the list costs ``runc run`` about 7 ms to compile. Probed with an x32 ``getpid``
    (harmless: it answers ENOSYS or the pid). Every other architecture is kept (True):
    the profile stays as Docker's wherever the kernel may use it.
    """
    if scmp_arch != "SCMP_ARCH_X32" or native_arch() != "amd64":
        return True
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        if libc.syscall(ctypes.c_long(_X32_GETPID)) != -1:
            return True
        return ctypes.get_errno() != errno.ENOSYS
    except (OSError, AttributeError):
        return True


@functools.lru_cache(maxsize=1)
def _default_text() -> str:
    return resources.files("baleine.engine.runtime").joinpath("seccomp_default.json").read_text(
        encoding="utf-8")


def default_profile_source() -> dict[str, Any]:
    """Docker's default profile, unresolved (Docker's profile format), as a fresh dict."""
    return json.loads(_default_text())


def default_profile(capabilities: list[str], *, arch: str | None = None,
                    kernel: KernelVersion | None = None) -> dict[str, Any]:
    """Docker's default seccomp profile resolved for a container whose bounding
    capability set is ``capabilities`` (``CAP_*`` names), on this host.

    ``arch`` (profile arch name, e.g. "amd64") and ``kernel`` override the host's,
    for tests. Resolved for the host (``arch`` None), the sub-architectures of
    ``archMap`` the kernel cannot run are left out (:func:`kernel_runs`: x32 on most
    kernels); with ``arch`` given, all are kept. Returns the OCI ``linux.seccomp`` dict.
    """
    result = setup(default_profile_source(), capabilities, arch=arch, kernel=kernel)
    assert result is not None  # the default profile has a default action
    return result


def load_profile(json_text: str, capabilities: list[str], *, arch: str | None = None,
                 kernel: KernelVersion | None = None) -> dict[str, Any] | None:
    """A user's profile (Docker's format, JSON text) resolved like :func:`default_profile`.

    Returns None when the profile has neither a default action nor syscalls
    (Docker treats that as "seccomp disabled"). Raises InvalidParameter when the
    text is not a valid profile, with Docker's "Decoding seccomp profile failed"
    wording for undecodable JSON.
    """
    try:
        config = json.loads(json_text)
    except (ValueError, TypeError) as e:
        raise InvalidParameter(f"Decoding seccomp profile failed: {e}") from None
    return setup(config, capabilities, arch=arch, kernel=kernel)


def setup(config: Any, capabilities: list[str], *, arch: str | None = None,
          kernel: KernelVersion | None = None) -> dict[str, Any] | None:
    """Resolve a decoded Docker-format profile into the OCI section (see module doc).

    Raises InvalidParameter for a malformed profile.
    """
    if config is None:
        return None
    if not isinstance(config, dict):
        raise InvalidParameter("Decoding seccomp profile failed: profile is not a JSON object")
    default_action = config.get("defaultAction") or ""
    syscalls = config.get("syscalls") or []
    if not isinstance(default_action, str):
        raise _bad("defaultAction must be a string")
    if not isinstance(syscalls, list):
        raise _bad("syscalls must be a list")
    # No default action and no syscalls: Docker takes it as seccomp disabled.
    if default_action == "" and not syscalls:
        return None
    if default_action not in ACTIONS:
        raise InvalidParameter(f"invalid seccomp default action: {default_action!r}")

    architectures = config.get("architectures") or []
    arch_map = config.get("archMap") or []
    if architectures and arch_map:
        raise InvalidParameter(
            "'architectures' and 'archMap' were specified in the seccomp profile, "
            "use either 'architectures' or 'archMap'")
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise _bad("architectures must be a list of strings")
    if not isinstance(arch_map, list):
        raise _bad("archMap must be a list")

    native = native_arch() if arch is None else arch
    kernel_version = running_kernel() if kernel is None else kernel
    caps = set(capabilities)

    out: dict[str, Any] = {"defaultAction": default_action}
    resolved_arches = list(architectures)
    scmp_arch = _NATIVE_TO_SCMP.get(native)
    if arch_map and scmp_arch:
        for entry in arch_map:
            if not isinstance(entry, dict):
                raise _bad("archMap entries must be objects")
            if entry.get("architecture") == scmp_arch:
                resolved_arches.append(scmp_arch)
                resolved_arches.extend(sub for sub in entry.get("subArchitectures") or []
                                       if arch is not None or kernel_runs(sub))
                break
    if resolved_arches:
        out["architectures"] = resolved_arches
    for key in ("defaultErrnoRet", "listenerPath", "listenerMetadata", "flags"):
        value = config.get(key)
        if value not in (None, "", []):
            out[key] = value
    if "defaultErrnoRet" in out and not _is_uint(out["defaultErrnoRet"]):
        raise _bad("defaultErrnoRet must be a non-negative integer")

    rules: list[dict[str, Any]] = []
    for call in syscalls:
        if not isinstance(call, dict):
            raise _bad("syscalls entries must be objects")
        if not _applies(call, native, caps, kernel_version):
            continue
        rules.append(_convert_rule(call))
    out["syscalls"] = rules
    return out


def _applies(call: dict[str, Any], native: str, caps: set[str],
             kernel_version: KernelVersion) -> bool:
    """Whether a rule's includes/excludes select it for this host and container."""
    excludes = call.get("excludes") or {}
    includes = call.get("includes") or {}
    if not isinstance(excludes, dict) or not isinstance(includes, dict):
        raise _bad("includes and excludes must be objects")
    if native in (excludes.get("arches") or []):
        return False
    if any(c in caps for c in excludes.get("caps") or []):
        return False
    if excludes.get("minKernel") and kernel_version >= _min_kernel(excludes["minKernel"]):
        return False
    inc_arches = includes.get("arches") or []
    if inc_arches and native not in inc_arches:
        return False
    if any(c not in caps for c in includes.get("caps") or []):
        return False
    if includes.get("minKernel") and kernel_version < _min_kernel(includes["minKernel"]):
        return False
    return True


def _min_kernel(value: Any) -> KernelVersion:
    if not isinstance(value, str):
        raise _bad("minKernel must be a string like \"4.8\"")
    return parse_kernel_version(value)


def _convert_rule(call: dict[str, Any]) -> dict[str, Any]:
    """One Docker-format syscall rule → one OCI ``LinuxSyscall`` dict."""
    name = call.get("name") or ""
    names = call.get("names") or []
    if name and names:
        raise InvalidParameter(
            "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'")
    if name:
        names = [name]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _bad("names must be a list of strings")
    action = call.get("action")
    if action not in ACTIONS:
        raise InvalidParameter(f"invalid seccomp action: {action!r}")
    rule: dict[str, Any] = {"names": list(names), "action": action}
    errno_ret = call.get("errnoRet")
    if errno_ret is not None:
        if not _is_uint(errno_ret):
            raise _bad("errnoRet must be a non-negative integer")
        rule["errnoRet"] = errno_ret
    args = call.get("args") or []
    if not isinstance(args, list):
        raise _bad("args must be a list")
    if args:
        rule["args"] = [_convert_arg(a) for a in args]
    return rule


def _convert_arg(arg: Any) -> dict[str, Any]:
    if not isinstance(arg, dict):
        raise _bad("args entries must be objects")
    index, value, value_two = arg.get("index", 0), arg.get("value", 0), arg.get("valueTwo", 0)
    if not all(_is_uint(v) for v in (index, value, value_two)):
        raise _bad("index, value and valueTwo must be non-negative integers")
    op = arg.get("op")
    if op not in OPERATORS:
        raise InvalidParameter(f"invalid seccomp argument operator: {op!r}")
    out: dict[str, Any] = {"index": index, "value": value}
    if value_two:
        out["valueTwo"] = value_two
    out["op"] = op
    return out


def _is_uint(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _bad(what: str) -> InvalidParameter:
    return InvalidParameter(f"Decoding seccomp profile failed: {what}")
