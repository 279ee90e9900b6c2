"""SPDY/3.1 framing for kubectl's port-forward (baleine.kube.streams.spdy)."""

from __future__ import annotations

import struct
import zlib

import pytest

from baleine.kube.streams import spdy

HEADERS = {"streamtype": ["data"], "port": ["8080"], "requestid": ["0"]}


def test_the_dictionary_is_spdy3s() -> None:
    d = spdy.DICTIONARY
    assert len(d) == 1423
    assert d.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head") and d.endswith(b",*,enq=0.")
    assert b"\x00\x00\x00\x06200 OK\x00\x00\x00\x07version\x00\x00\x00\x08HTTP/1.1" in d


def test_a_syn_stream_is_parsed_even_fed_byte_by_byte() -> None:
    client, server = spdy.Framer(), spdy.Framer()
    wire = client.syn_stream(1, HEADERS) + client.syn_stream(3, {**HEADERS, "streamtype": ["error"]}, fin=True)
    frames = [f for i in range(len(wire)) for f in server.feed(wire[i:i + 1])]
    assert [(f.kind, f.stream_id, f.fin) for f in frames] == [(spdy.SYN_STREAM, 1, False), (spdy.SYN_STREAM, 3, True)]
    assert frames[0].headers == HEADERS and frames[1].headers["streamtype"] == ["error"]


def test_header_blocks_from_another_compressor() -> None:
    """Go's compressor differs from ours (level, flushes): only the stream and the dictionary are shared."""
    deflate = zlib.compressobj(6, zdict=spdy.DICTIONARY)
    framer = spdy.Framer()
    frames = []
    for sid in (1, 3):
        block = deflate.compress(spdy.encode_headers({"Port": ["9"], "multi": ["a", "b"]}))
        block += deflate.flush(zlib.Z_SYNC_FLUSH)
        payload = struct.pack(">IIBB", sid, 0, 0, 0) + block
        frames += framer.feed(struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, len(payload)) + payload)
    assert [f.headers for f in frames] == [{"port": ["9"], "multi": ["a", "b"]}] * 2


def test_replies_data_and_control_frames_round_trip() -> None:
    server, client = spdy.Framer(), spdy.Framer()
    wire = (server.syn_reply(1) + server.data(1, b"hello") + server.data(1, b"", fin=True) + server.ping(7)
            + server.rst(3, spdy.CANCEL) + server.goaway(5))
    frames = client.feed(wire)
    assert [(f.kind, f.stream_id) for f in frames] == [(spdy.SYN_REPLY, 1), (0, 1), (0, 1), (spdy.PING, 0),
                                                     (spdy.RST_STREAM, 3), (spdy.GOAWAY, 5)]
    assert frames[0].headers == {} and frames[1].data == b"hello" and not frames[1].fin and frames[2].fin
    assert frames[3].value == 7 and frames[4].value == spdy.CANCEL
    # The exact bytes spdystream writes for a data frame and a ping.
    assert spdy.Framer.data(1, b"hi", fin=True) == b"\x00\x00\x00\x01\x01\x00\x00\x02hi"
    assert server.ping(1) == b"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01"


def test_settings_and_window_updates_are_carried_not_interpreted() -> None:
    framer = spdy.Framer()
    settings = struct.pack(">HHI", 0x8003, spdy.SETTINGS, 12) + struct.pack(">III", 1, 0x07, 65536)
    update = struct.pack(">HHI", 0x8003, spdy.WINDOW_UPDATE, 8) + struct.pack(">II", 1, 1024)
    frames = framer.feed(settings + update)
    assert [(f.kind, f.stream_id, f.value) for f in frames] == [(spdy.SETTINGS, 0, 0), (spdy.WINDOW_UPDATE, 1, 1024)]


@pytest.mark.parametrize("wire", [
    struct.pack(">HHI", 0x8002, spdy.PING, 4) + b"\x00\x00\x00\x01",  # SPDY/2
    b"\x00\x00\x00\x00\x00\x00\x00\x00",  # data on stream 0
    struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, 14) + b"\x00\x00\x00\x01" + b"\x00" * 6 + b"junk",
])
def test_what_is_not_spdy3_is_refused(wire: bytes) -> None:
    with pytest.raises(spdy.ProtocolError):
        spdy.Framer().feed(wire)
