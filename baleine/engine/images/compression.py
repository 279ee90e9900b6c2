"""Compression of layer blobs: detect it, read through it as a stream, produce it.

Layer blobs are tars compressed with gzip (almost always), zstd, or, in old or
hand-made images, xz or bzip2; some are not compressed at all. Everything here
streams: no function needs to seek its input or hold a whole blob in memory, and
decompression output is produced in bounded pieces so a "decompression bomb"
cannot balloon memory.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Literal

import zstandard

from baleine.rules.errors import InvalidParameter

Kind = Literal["gzip", "xz", "zstd", "bzip2", "none"]

#: Every value :func:`detect` can return.
KINDS: tuple[str, ...] = ("gzip", "xz", "zstd", "bzip2", "none")

#: OCI media-type suffix of each kind ("" for an uncompressed tar).
MEDIA_TYPE_SUFFIX: dict[str, str] = {"gzip": "+gzip", "zstd": "+zstd", "xz": "", "bzip2": "", "none": ""}

# Large reads keep the per-call Python overhead negligible next to the codec work.
_READ_SIZE = 1 << 20
# At most this much decompressed output is produced per codec call (bomb guard).
_MAX_OUT = 4 << 20
# zstd's decompressobj cannot bound its output, so it is fed small pieces instead:
# even at zstd's extreme ratio (~32000:1 for RLE blocks) one piece stays < 1 GiB,
# and in practice a few MiB.
_ZSTD_FEED = 32 << 10
# How much of the head is peeked: enough for every magic and a tar header.
_HEAD_SIZE = 512

_GZIP_MAGIC = b"\x1f\x8b\x08"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_BZIP2_MAGIC = b"BZh"

_DEFAULT_LEVEL = {"gzip": 6, "zstd": 3, "xz": 6, "bzip2": 9, "none": 0}


def _is_tar_header(block: bytes) -> bool:
    """True if ``block`` is a ustar/GNU tar header with a valid checksum."""
    if len(block) < 512 or block[257:262] != b"ustar":
        return False
    try:
        stored = int(block[148:156].replace(b"\0", b" ").strip() or b"0", 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 256 + sum(block[156:512])


def detect(head: bytes) -> str:
    """Return the compression of a stream from its first bytes.

    ``head`` should be at least 6 bytes (512 lets a tar whose first member is
    named like a bzip2 magic, ``BZh9…``, be recognised as a tar). Returns one of
    ``"gzip"``, ``"xz"``, ``"zstd"``, ``"bzip2"`` or ``"none"`` (anything else,
    including an empty head). Never raises.
    """
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_XZ_MAGIC):
        return "xz"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    # zstd skippable frames (magic 0x184D2A50..0x184D2A5F, little endian) may
    # precede the first real frame.
    if len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50:
        return "zstd"
    if head.startswith(_BZIP2_MAGIC) and len(head) >= 4 and 0x31 <= head[3] <= 0x39:
        return "none" if _is_tar_header(head[:512]) else "bzip2"
    return "none"


def _read_head(src: BinaryIO, size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads (pipes, sockets)."""
    parts: list[bytes] = []
    have = 0
    while have < size:
        chunk = src.read(size - have)
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


class _Reader(io.RawIOBase):
    """Base of the readers returned by :func:`open_decompressed`.

    ``kind`` says which compression was detected. ``read(n)`` returns at most
    ``n`` bytes (fewer only at the end or when a codec step produced less) and
    ``b""`` only at the end of the stream.
    """

    kind: str = "none"

    def readable(self) -> bool:
        return True


class _Plain(_Reader):
    """An uncompressed stream with its already-peeked head put back in front."""

    def __init__(self, src: BinaryIO, head: bytes) -> None:
        self._src = src
        self._head = memoryview(head)
        self._src_readinto = getattr(src, "readinto", None)

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        if self._src_readinto is not None:
            return self._src_readinto(b) or 0
        data = self._src.read(len(b))
        b[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data = bytes(self._head) + self._src.read()
                self._head = memoryview(b"")
                return data
            n = min(size, len(self._head))
            data = bytes(self._head[:n])
            self._head = self._head[n:]
            if n < size:
                data += self._src.read(size - n) or b""
            return data
        return self._src.read(size)


class _Decompressing(_Reader):
    """Streams the decompressed bytes of concatenated gzip/xz/bzip2/zstd members.

    Members (gzip members, xz streams, bzip2 streams, zstd frames) may be
    concatenated; zero bytes between or after them are tolerated (xz stream
    padding, block-padded media). Anything else after a member, a corrupt member,
    or a stream that ends inside a member raises :class:`InvalidParameter`.
    """

    def __init__(self, src: BinaryIO, head: bytes, kind: str) -> None:
        self.kind = kind
        self._src = src
        # Compressed input not yet fed to the codec.
        self._pending: bytes | memoryview = head
        self._out = memoryview(b"")
        self._done = False
        self._new: Callable[[], object]
        if kind == "gzip":
            self._new = lambda: zlib.decompressobj(wbits=31)
            self._magic = _GZIP_MAGIC[:2]
        elif kind == "xz":
            self._new = lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
            self._magic = _XZ_MAGIC
        elif kind == "bzip2":
            self._new = bz2.BZ2Decompressor
            self._magic = _BZIP2_MAGIC
        elif kind == "zstd":
            dctx = zstandard.ZstdDecompressor()
            self._new = dctx.decompressobj
            self._magic = b""  # any frame, including skippable ones
        else:  # pragma: no cover - guarded by open_decompressed
            raise ValueError(kind)
        self._d = self._new()
        self._codec_has_input = False  # lzma/bz2 hold input back when output is capped

    # -- input ---------------------------------------------------------------

    def _take_input(self) -> bytes | memoryview:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return self._src.read(_READ_SIZE)

    def _fail(self, err: Exception | str) -> InvalidParameter:
        return InvalidParameter(f"invalid {self.kind} stream: {err}")

    # -- members ------------------------------------------------------------------

    def _next_member(self) -> None:
        """The current member ended: start the next one or reach the end."""
        rest = bytes(self._d.unused_data) + bytes(self._pending)  # type: ignore[attr-defined]
        self._pending = b""
        while True:
            # Zero padding is skipped between members, never inside one.
            rest = rest.lstrip(b"\0")
            if len(rest) >= 8:
                break
            more = self._src.read(_READ_SIZE)
            if not more:
                break
            rest += more
        if not rest:
            self._done = True
            return
        if not rest.startswith(self._magic):
            raise self._fail("unexpected data after the end of the compressed stream")
        self._pending = rest
        self._d = self._new()
        self._codec_has_input = False

    def _step(self) -> None:
        """Produce some output into ``self._out`` or set ``self._done``."""
        d = self._d
        try:
            if self.kind == "gzip":
                data = self._take_input()
                if not data:
                    raise self._fail("unexpected end of data")
                out = d.decompress(data, _MAX_OUT)  # type: ignore[attr-defined]
                # At the end of a member zlib reports the leftover input both as
                # unused_data and unconsumed_tail; _next_member takes the former.
                if d.unconsumed_tail and not d.eof:  # type: ignore[attr-defined]
                    self._pending = d.unconsumed_tail  # type: ignore[attr-defined]
            elif self.kind == "zstd":
                data = self._take_input()
                if not data:
                    raise self._fail("unexpected end of data")
                if len(data) > _ZSTD_FEED:
                    view = memoryview(data)
                    self._pending, data = view[_ZSTD_FEED:], view[:_ZSTD_FEED]
                out = d.decompress(data)  # type: ignore[attr-defined]
            else:  # xz, bzip2
                if self._codec_has_input:
                    data = b""
                else:
                    data = self._take_input()
                    if not data:
                        raise self._fail("unexpected end of data")
                out = d.decompress(data, _MAX_OUT)  # type: ignore[attr-defined]
                self._codec_has_input = not d.needs_input and not d.eof  # type: ignore[attr-defined]
        except (zlib.error, lzma.LZMAError, zstandard.ZstdError, EOFError) as e:
            raise self._fail(e) from None
        except OSError as e:
            if self.kind == "bzip2" and not isinstance(e, (BlockingIOError, InterruptedError)):
                raise self._fail(e) from None  # bz2 reports corrupt data as OSError
            raise
        self._out = memoryview(out)
        if d.eof:  # type: ignore[attr-defined]
            self._next_member()

    # -- reading ------------------------------------------------------------------

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = []
            while True:
                chunk = self.read(_MAX_OUT)
                if not chunk:
                    return b"".join(parts)
                parts.append(chunk)
        while not self._out:
            if self._done or size == 0:
                return b""
            self._step()
        if size >= len(self._out):
            data = self._out.tobytes()
            self._out = memoryview(b"")
            return data
        data = self._out[:size].tobytes()
        self._out = self._out[size:]
        return data

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._out:
            if self._done or len(b) == 0:
                return 0
            self._step()
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


def open_decompressed(fileobj: BinaryIO) -> _Reader:
    """Return a streaming reader of the decompressed content of ``fileobj``.

    The compression is detected from the first bytes (see :func:`detect`), which
    are peeked without seeking, so pipes and HTTP bodies work. The returned
    object is a readable binary stream (``read``, ``readinto``) with a ``kind``
    attribute; an uncompressed input is passed through unchanged. Reading raises
    :class:`InvalidParameter` if the data is corrupt or ends early; errors of
    ``fileobj`` itself propagate. The reader does not close ``fileobj``.
    """
    head = _read_head(fileobj, _HEAD_SIZE)
    kind = detect(head)
    if kind == "none":
        return _Plain(fileobj, head)
    return _Decompressing(fileobj, head, kind)


@dataclass(frozen=True)
class Compressed:
    """What :func:`compress_stream` wrote.

    ``digest``/``size`` describe the compressed bytes (the blob), and
    ``diff_id``/``uncompressed_size`` the input (the layer tar).
    """

    digest: str
    size: int
    diff_id: str
    uncompressed_size: int


def compress_stream(src: BinaryIO, dst: BinaryIO, kind: str = "gzip", level: int | None = None) -> Compressed:
    """Compress all of ``src`` into ``dst`` with ``kind`` and return both digests.

    ``kind`` is one of :data:`KINDS` (``"none"`` copies). ``level`` defaults to
    each format's usual default (gzip 6 as Docker, zstd 3, xz 6, bzip2 9). The
    output is deterministic for a given input, kind and level (the gzip header
    carries no name or time). Raises :class:`InvalidParameter` for an unknown
    kind; I/O errors of ``src``/``dst`` propagate. Neither stream is closed.
    """
    if kind not in KINDS:
        raise InvalidParameter(f"unsupported compression {kind!r}")
    lvl = _DEFAULT_LEVEL[kind] if level is None else level
    compress: Callable[[bytes], bytes]
    flush: Callable[[], bytes]
    if kind == "gzip":
        c = zlib.compressobj(lvl, zlib.DEFLATED, 31)
        compress, flush = c.compress, c.flush
    elif kind == "zstd":
        # A content checksum lets readers detect corruption, as Docker's zstd writer does.
        z = zstandard.ZstdCompressor(level=lvl, write_checksum=True).compressobj()
        compress, flush = z.compress, z.flush
    elif kind == "xz":
        x = lzma.LZMACompressor(format=lzma.FORMAT_XZ, preset=lvl)
        compress, flush = x.compress, x.flush
    elif kind == "bzip2":
        b = bz2.BZ2Compressor(lvl)
        compress, flush = b.compress, b.flush
    else:
        compress, flush = (lambda data: data), (lambda: b"")

    h_in, h_out = hashlib.sha256(), hashlib.sha256()
    n_in = n_out = 0
    while True:
        chunk = src.read(_READ_SIZE)
        if not chunk:
            break
        h_in.update(chunk)
        n_in += len(chunk)
        out = compress(chunk)
        if out:
            h_out.update(out)
            n_out += len(out)
            dst.write(out)
    out = flush()
    if out:
        h_out.update(out)
        n_out += len(out)
        dst.write(out)
    return Compressed(
        digest="sha256:" + h_out.hexdigest(),
        size=n_out,
        diff_id="sha256:" + h_in.hexdigest(),
        uncompressed_size=n_in,
    )
