"""Sockets made inside a pod's network namespace, as the kubelet's port-forward dials.

A socket belongs to the network namespace of the thread that created it, for its
whole life: :func:`socket_in` enters the pod's namespace (``setns`` on
``/proc/<pid>/ns/net`` of the pod's sandbox) in a thread of its own, creates the
socket and leaves; the caller then connects it to ``127.0.0.1:<port>`` from any
thread. So a port-forward reaches what listens on the pod's loopback only, not
just what listens on its address. The thread is a fresh one, never a pool's: if
it could not leave the namespace it must not go on serving other work there.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _make(pid: int) -> socket.socket:
    """A non-blocking TCP socket in ``pid``'s network namespace (blocking: run in a
    dedicated thread)."""
    with open(f"/proc/{pid}/ns/net") as target, open("/proc/thread-self/ns/net") as home:
        _setns(target.fileno())
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            _setns(home.fileno())
    sock.setblocking(False)
    return sock


async def socket_in(pid: int) -> socket.socket:
    """A TCP socket in the network namespace of process ``pid``; OSError if it is gone."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[socket.socket] = loop.create_future()

    def work() -> None:
        try:
            result = _make(pid)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            failure = exc
            loop.call_soon_threadsafe(lambda: done.done() or done.set_exception(failure))
            return
        loop.call_soon_threadsafe(lambda: done.done() or done.set_result(result))

    threading.Thread(target=work, name=f"netns-{pid}", daemon=True).start()
    return await done
