"""A sealed in-memory copy of the runtime binary, made once per daemon.

runc (up to 1.1) protects the host's binary from containers (CVE-2019-5736) by
copying itself into a sealed memfd and re-executing that copy at the start of
every ``runc init``: for each container start and each exec, 8–9 MiB copied and
a second start of a Go program, 2–5 ms on this machine. Unless it already runs
from a memfd sealed against writes, growth and shrinking (runc's
``is_self_cloned``): then it skips the copy. runc's own comment invites this ("an
admin could bind-mount a sealed memfd to /usr/bin/runc to allow re-use").

So the daemon makes that copy once (``seal``) and runs the runtime from it
(``exe``): the same protection, since nothing can write to a sealed memfd, paid
once. The monitors inherit the descriptor from the daemon (through the zygote,
``pass_fds``) and run it as ``/proc/self/fd/N``; each monitor keeps it open, so
its last ``runc delete`` works after the daemon is gone. A runtime upgraded on
disk is taken at the daemon's next start, as a running containerd-shim keeps its
binary. Only ELF binaries are sealed: a script cannot run through a descriptor
that closes on exec.
"""

from __future__ import annotations

import fcntl
import os

#: The seals runc looks for (``RUNC_MEMFD_SEALS`` in its cloned_binary.c).
RUNC_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
_MFD_EXEC = 0x10  # linux/memfd.h (Python 3.11 has no name for it)


def seal(path: str) -> int | None:
    """A close-on-exec descriptor of a memfd holding ``path``'s bytes, sealed with
    :data:`RUNC_SEALS`; None when ``path`` is not an ELF binary or the kernel has
    no sealable memfds (the caller then runs the binary from disk)."""
    try:
        src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    fd = -1
    try:
        if os.pread(src, 4, 0) != b"\x7fELF":
            return None
        fd = _memfd()
        size = os.fstat(src).st_size
        copied = 0
        while copied < size:
            n = os.sendfile(fd, src, copied, size - copied)
            if n == 0:
                return None  # the file shrank under us (an upgrade): run it from disk
            copied += n
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, RUNC_SEALS)
        sealed, fd = fd, -1
        return sealed
    except OSError:
        return None
    finally:
        os.close(src)
        if fd >= 0:
            os.close(fd)


def _memfd() -> int:
    """A sealable, executable memfd: kernels from 6.3 may make memfds non-executable by
    default (``vm.memfd_noexec``) unless asked with MFD_EXEC, which older ones refuse."""
    flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
    try:
        return os.memfd_create("runc", flags | _MFD_EXEC)
    except OSError:
        return os.memfd_create("runc", flags)


def exe(fd: int) -> str:
    """The path that runs ``fd`` from any process while this one lives (the
    spawning process may close its descriptors before it executes)."""
    return f"/proc/{os.getpid()}/fd/{fd}"
