"""The WebSocket channel protocols of exec, attach and port-forward (baleine.kube.channels)."""

from __future__ import annotations

import json

import pytest

from baleine.kube import channels


def test_negotiation_follows_the_clients_preference() -> None:
    offers = channels.offered("v5.channel.k8s.io, v4.channel.k8s.io")
    assert offers == ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    assert channels.negotiate(offers, channels.EXEC_PROTOCOLS) == channels.V5
    assert channels.negotiate(["v4.channel.k8s.io", "v5.channel.k8s.io"], channels.EXEC_PROTOCOLS) == channels.V4
    assert channels.negotiate(["v3.channel.k8s.io", "base64.channel.k8s.io"], channels.EXEC_PROTOCOLS) is None
    assert channels.negotiate(channels.offered(None), channels.EXEC_PROTOCOLS) is None
    # The Python client offers v5 then v4 for port-forward; only v4 is a port-forward protocol.
    assert channels.negotiate(["v5.channel.k8s.io", "v4.channel.k8s.io"],
                              (channels.SPDY_PORTFORWARD, *channels.PORTFORWARD_CHANNELS)) == channels.V4
    assert channels.negotiate(["SPDY/3.1+portforward.k8s.io"],
                              (channels.SPDY_PORTFORWARD, *channels.PORTFORWARD_CHANNELS)) == channels.SPDY_PORTFORWARD


def test_messages_carry_their_channel() -> None:
    assert channels.decode(b"\x00ls\n", channels.V5) == channels.Message(channels.STDIN, b"ls\n")
    assert channels.decode(b"\x04{}", channels.V4) == channels.Message(channels.RESIZE, b"{}")
    assert channels.decode(b"", channels.V5) is None
    assert channels.encode(channels.STDERR, b"oops") == b"\x02oops"
    assert channels.decode(channels.encode(channels.STDOUT, b"x"), channels.V5) == channels.Message(1, b"x")


def test_the_close_signal_is_v5_only() -> None:
    assert channels.close_signal(channels.STDIN) == b"\xff\x00"
    assert channels.decode(b"\xff\x00", channels.V5) == channels.Message(channels.STDIN, closed=True)
    assert channels.decode(b"\xff\x00\x01", channels.V5) is None  # the kubelet ignores malformed ones
    assert channels.decode(b"\xff", channels.V5) is None
    # In v4, channel 255 is only an unknown channel's data.
    assert channels.decode(b"\xff\x00", channels.V4) == channels.Message(255, b"\x00")


@pytest.mark.parametrize("body, size", [
    (b'{"Width":80,"Height":24}', (80, 24)),
    (b'{"Width":0,"Height":0}', (0, 0)),
    (b'{"Width":80}', None),
    (b'{"Width":"80","Height":24}', None),
    (b'{"Width":true,"Height":24}', None),
    (b'{"Width":-1,"Height":24}', None),
    (b"[80, 24]", None),
    (b"not json", None),
])
def test_resize_messages(body: bytes, size: tuple[int, int] | None) -> None:
    assert channels.resize(body) == size


def test_error_channel_bodies_are_what_client_go_decodes() -> None:
    assert json.loads(channels.success()) == {"metadata": {}, "status": "Success"}
    failed = json.loads(channels.exit_status(3, ["sh", "-c", "exit 3"]))
    assert failed["status"] == "Failure" and failed["reason"] == "NonZeroExitCode"
    assert failed["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert failed["message"] == ("command terminated with non-zero exit code: error executing command "
                                 "[sh -c exit 3], exit code 3")
    internal = json.loads(channels.internal_error("no such file"))
    assert internal["reason"] == "InternalError" and internal["code"] == 500
    assert internal["message"] == "Internal error occurred: no such file"


def test_port_forward_channels_start_with_the_port() -> None:
    assert channels.port_prefix(8080) == b"\x90\x1f"
    assert channels.encode(3, channels.port_prefix(80)) == b"\x03P\x00"
