"""The channel protocols of ``pods/exec``, ``pods/attach`` (and the Python client's
``pods/portforward``) over WebSockets, as the kubelet and kube-apiserver speak them
(pure: no I/O).

Exec and attach (``v5.channel.k8s.io``, ``v4.channel.k8s.io``): every binary
message is one channel byte followed by data: 0 stdin (client to server), 1 stdout,
2 stderr, 3 error (the server's last word: a ``Status`` JSON, ``Success`` or
``Failure``; a process that exited non-zero is ``reason: NonZeroExitCode`` with one
cause ``{"reason": "ExitCode", "message": "<code>"}``, which is how kubectl returns
the code), 4 resize (``{"Width": w, "Height": h}`` from the client). ``v5`` adds the
close signal: the message ``[255, channel]`` half-closes a channel (kubectl closes
stdin that way when its input ends). Contracts:

- :func:`negotiate` picks the first protocol the client offers that we serve
  (the client lists them by preference), None if there is none;
- :func:`decode` turns a message into a :class:`Message` (None for the empty or
  malformed messages the kubelet skips); :func:`encode` is its inverse for data;
- :func:`resize` reads a resize message (None when it is not one);
- :func:`success`, :func:`exit_status`, :func:`internal_error` are the bodies of
  the error channel.

Port-forward over WebSockets (``v4.channel.k8s.io`` with ``?ports=``, what the
Python client speaks; kubectl tunnels SPDY instead, see ``streams/spdy.py``): the
i-th port has data channel ``2*i`` and error channel ``2*i + 1``; the first message
the server sends on each is the port number, two bytes little-endian
(:func:`port_prefix`).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
#: Served for exec and attach, by our preference (the client's order wins).
EXEC_PROTOCOLS = (V5, V4)
#: kubectl's port-forward: SPDY/3.1 tunnelled through binary WebSocket messages.
SPDY_PORTFORWARD = "SPDY/3.1+portforward.k8s.io"
#: The kubelet-style WebSocket port-forward (the Python client).
PORTFORWARD_CHANNELS = (V4, "channel.k8s.io")

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
#: v5's close signal: ``[CLOSE, channel]``.
CLOSE = 255


@dataclass(frozen=True)
class Message:
    """One client message: ``data`` on ``channel``, or (``closed``) the half-close of ``channel``."""

    channel: int
    data: bytes = b""
    closed: bool = False


def offered(header: str | None) -> list[str]:
    """The protocols of a ``Sec-WebSocket-Protocol`` header, in the client's order."""
    return [p.strip() for p in (header or "").split(",") if p.strip()]


def negotiate(offers: list[str], served: tuple[str, ...]) -> str | None:
    """The first of the client's ``offers`` that is ``served``; None when none is."""
    return next((p for p in offers if p in served), None)


def decode(message: bytes, protocol: str) -> Message | None:
    """A binary message as a :class:`Message`; None for an empty one, or a close
    signal that does not name exactly one channel (the kubelet ignores both)."""
    if not message:
        return None
    if protocol == V5 and message[0] == CLOSE:
        return Message(message[1], closed=True) if len(message) == 2 else None
    return Message(message[0], bytes(message[1:]))


def encode(channel: int, data: bytes) -> bytes:
    """``data`` as a message on ``channel``."""
    return bytes((channel,)) + data


def close_signal(channel: int) -> bytes:
    """v5's half-close of ``channel``."""
    return bytes((CLOSE, channel))


def resize(data: bytes) -> tuple[int, int] | None:
    """A resize message's ``(width, height)``; None unless it is a JSON object with
    non-negative integer ``Width`` and ``Height``."""
    try:
        size = json.loads(data)
        width, height = size["Width"], size["Height"]
    except (ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 16 for v in (width, height)):
        return None
    return width, height


def _status(**fields: Any) -> bytes:
    return json.dumps({"metadata": {}, **fields}, separators=(",", ":")).encode()


def success() -> bytes:
    """The error channel's body when the process ended well (or the attach ended)."""
    return _status(status="Success")


def exit_status(code: int, command: list[str]) -> bytes:
    """The error channel's body for a process that exited with ``code`` != 0."""
    return _status(status="Failure",
                   message=f"command terminated with non-zero exit code: error executing command "
                           f"[{' '.join(command)}], exit code {code}",
                   reason="NonZeroExitCode", details={"causes": [{"reason": "ExitCode", "message": str(code)}]})


def internal_error(message: str) -> bytes:
    """The error channel's body when the process could not be run at all."""
    return _status(status="Failure", message=f"Internal error occurred: {message}", reason="InternalError",
                   details={"causes": [{"message": message}]}, code=500)


def port_prefix(port: int) -> bytes:
    """The first message's payload on a port-forward channel: the port, little-endian."""
    return struct.pack("<H", port)
