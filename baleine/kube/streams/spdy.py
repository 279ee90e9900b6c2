"""SPDY/3.1 framing, as Go's ``spdystream`` (which kubectl links) writes and reads it (pure).

kubectl 1.32 forwards ports over SPDY/3.1, tunnelled through the binary messages of
a WebSocket (``SPDY/3.1+portforward.k8s.io``): the messages are an ordinary byte
stream of SPDY frames, their boundaries mean nothing. This module parses that
stream and writes the frames a server answers with.

Frames (big-endian): a control frame is ``1|version(15) type(16) flags(8)
length(24) payload``, a data frame ``0|stream-id(31) flags(8) length(24) data``.
Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are ``count(32) {len(32) name
len(32) value}``, values joined by NUL, compressed with zlib over the whole
connection (one stream per direction, SPDY's dictionary, a sync flush per block).

Contracts: :meth:`Framer.feed` returns the complete frames the bytes so far make
(keeping any tail for the next call) and raises :class:`ProtocolError` on what it
cannot parse; the ``syn_reply``/``data``/``rst``/``ping``/``goaway`` methods return
one encoded frame each. There is no flow control: spdystream neither sends nor
honours WINDOW_UPDATE.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
#: RST_STREAM statuses used here.
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL = 1, 2, 3, 5
#: The most data one frame carries when we write (spdystream accepts up to 2^24-1).
MAX_DATA = 32 * 1024

_WORDS = ("options head post put delete trace accept accept-charset accept-encoding accept-language "
          "accept-ranges age allow authorization cache-control connection content-base content-encoding "
          "content-language content-length content-location content-md5 content-range content-type date etag "
          "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
          "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
          "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
          "method get status").split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
                                          "keep-alive", "origin"]
_TAIL = (b"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
         b"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
         b"403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
         b"Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
         b"chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
         b"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")


def _dictionary() -> bytes:
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL


#: SPDY/3's zlib dictionary for header blocks (the spec's, 1423 bytes).
DICTIONARY = _dictionary()

Headers = dict[str, list[str]]


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3."""


@dataclass
class Frame:
    """A parsed frame. ``kind`` is the control type (0 for data); ``stream_id``
    is 0 for connection frames; ``value`` is a PING's id, an RST_STREAM's or
    GOAWAY's status."""

    kind: int
    stream_id: int = 0
    flags: int = 0
    data: bytes = b""
    headers: Headers = field(default_factory=dict)
    value: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


def encode_headers(headers: Headers) -> bytes:
    """A header block, uncompressed (names lowercased, values joined by NUL)."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        n, v = name.lower().encode(), "\x00".join(values).encode()
        out += [struct.pack(">I", len(n)), n, struct.pack(">I", len(v)), v]
    return b"".join(out)


def decode_headers(block: bytes) -> Headers:
    """An uncompressed header block; ProtocolError if it is truncated."""
    try:
        (count,), pos, headers = struct.unpack_from(">I", block), 4, {}
        for _ in range(count):
            (n,) = struct.unpack_from(">I", block, pos)
            name = block[pos + 4:pos + 4 + n].decode().lower()
            pos += 4 + n
            (n,) = struct.unpack_from(">I", block, pos)
            value = block[pos + 4:pos + 4 + n]
            if len(value) != n:
                raise ProtocolError("truncated header block")
            pos += 4 + n
            headers.setdefault(name, []).extend(value.decode().split("\x00"))
    except (struct.error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"bad header block: {exc}") from None
    return headers


class Framer:
    """One side of one SPDY connection: parses what the peer sends, encodes what we send."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zdict=DICTIONARY)

    # --- reading ------------------------------------------------------------
    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by ``data`` (a tail is kept for the next call)."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            (length,) = struct.unpack_from(">I", self._buffer, 4)
            flags, length = length >> 24, length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            head, payload = bytes(self._buffer[:8]), bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            frames.append(self._parse(head, flags, payload))
        return frames

    def _parse(self, head: bytes, flags: int, payload: bytes) -> Frame:
        (first,) = struct.unpack_from(">I", head)
        if not first & 0x80000000:
            if not first:
                raise ProtocolError("stream id zero is disallowed")
            return Frame(0, first & 0x7FFFFFFF, flags, payload)
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        try:
            if kind == SYN_STREAM:
                (sid,) = struct.unpack_from(">I", payload)
                return Frame(kind, sid & 0x7FFFFFFF, flags, headers=self._headers(payload[10:]))
            if kind in (SYN_REPLY, HEADERS):
                (sid,) = struct.unpack_from(">I", payload)
                return Frame(kind, sid & 0x7FFFFFFF, flags, headers=self._headers(payload[4:]))
            if kind in (RST_STREAM, WINDOW_UPDATE):
                sid, value = struct.unpack_from(">II", payload)
                return Frame(kind, sid & 0x7FFFFFFF, flags, value=value)
            if kind == PING:
                return Frame(kind, flags=flags, value=struct.unpack_from(">I", payload)[0])
            if kind == GOAWAY:
                last, status = struct.unpack_from(">II", payload)
                return Frame(kind, last & 0x7FFFFFFF, flags, value=status)
        except struct.error:
            raise ProtocolError(f"short control frame of type {kind}") from None
        return Frame(kind, flags=flags, data=payload)  # SETTINGS and the unknown: carried, not interpreted

    def _headers(self, compressed: bytes) -> Headers:
        try:
            block = self._inflate.decompress(compressed)
        except zlib.error as exc:
            raise ProtocolError(f"bad header compression: {exc}") from None
        return decode_headers(block)

    # --- writing ------------------------------------------------------------
    def _compress(self, headers: Headers) -> bytes:
        return self._deflate.compress(encode_headers(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(kind: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, flags << 24 | len(payload)) + payload

    def syn_stream(self, stream_id: int, headers: Headers, fin: bool = False) -> bytes:
        """A SYN_STREAM (what a client sends; for tests)."""
        payload = struct.pack(">IIBB", stream_id, 0, 0, 0) + self._compress(headers)
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0, payload)

    def syn_reply(self, stream_id: int, headers: Headers | None = None, fin: bool = False) -> bytes:
        """The answer that lets the peer use a stream it opened."""
        payload = struct.pack(">I", stream_id) + self._compress(headers or {})
        return self._control(SYN_REPLY, FLAG_FIN if fin else 0, payload)

    @staticmethod
    def data(stream_id: int, data: bytes, fin: bool = False) -> bytes:
        """A DATA frame (``fin``: nothing more will be sent on the stream); at most 2^24-1 bytes."""
        if len(data) > 0xFFFFFF:
            raise ValueError("a data frame carries at most 16 MiB")
        return struct.pack(">II", stream_id & 0x7FFFFFFF, (FLAG_FIN if fin else 0) << 24 | len(data)) + data

    def rst(self, stream_id: int, status: int = CANCEL) -> bytes:
        """An RST_STREAM: the stream is abandoned."""
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        """A PING (answering one is sending it back unchanged)."""
        return self._control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_stream_id: int, status: int = 0) -> bytes:
        """A GOAWAY: no new streams after ``last_stream_id``."""
        return self._control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))
