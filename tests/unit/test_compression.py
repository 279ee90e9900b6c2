"""Tests of baleine.engine.images.compression: detection, streaming decompression, compression."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile

import pytest
import zstandard

from baleine.engine.images import compression
from baleine.engine.images.compression import compress_stream, detect, open_decompressed
from baleine.rules.errors import InvalidParameter

KINDS = ["gzip", "xz", "zstd", "bzip2", "none"]
BUSYBOX_OCI = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "images", "busybox.oci.tar")


def payload() -> bytes:
    # Incompressible, very compressible and text parts, over 4 MiB decompressed,
    # so the readers go through several input chunks and output caps.
    rnd = bytearray()
    block = b"seed"
    while len(rnd) < (256 << 10):
        block = hashlib.sha256(block).digest()
        rnd += block
    return bytes(rnd) + bytes(9 << 20) + b"layer tar text\n" * 50000


class Trickle(io.RawIOBase):
    """A non-seekable source returning at most ``step`` bytes per read (a pipe)."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = min(len(b), self._step, len(self._data))
        b[:n] = self._data[:n]
        self._data = self._data[n:]
        return n

    def seekable(self) -> bool:
        return False


def compressed(data: bytes, kind: str) -> bytes:
    out = io.BytesIO()
    compress_stream(io.BytesIO(data), out, kind)
    return out.getvalue()


# -- detect ------------------------------------------------------------------


def test_detect_magic_bytes() -> None:
    assert detect(gzip.compress(b"x")) == "gzip"
    assert detect(lzma.compress(b"x")) == "xz"
    assert detect(bz2.compress(b"x")) == "bzip2"
    assert detect(zstandard.ZstdCompressor().compress(b"x")) == "zstd"
    assert detect(b"\x50\x2a\x4d\x18" + bytes(8)) == "zstd"  # skippable frame
    assert detect(b"") == "none"
    assert detect(b"\x1f") == "none"
    assert detect(b"hello world") == "none"


def test_detect_tar_is_none_even_if_named_like_bzip2() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("BZh91AY&SY")
        tf.addfile(info, io.BytesIO(b""))
    assert detect(buf.getvalue()[:512]) == "none"
    assert detect(b"BZh9" + bytes(100)) == "bzip2"


# -- round trips -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_compress_then_decompress(kind: str) -> None:
    data = payload()
    out = io.BytesIO()
    result = compress_stream(io.BytesIO(data), out, kind)
    blob = out.getvalue()
    assert result.size == len(blob)
    assert result.digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert result.uncompressed_size == len(data)
    assert result.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert detect(blob[:512]) == kind
    reader = open_decompressed(io.BytesIO(blob))
    assert reader.kind == kind
    assert reader.read() == data
    assert reader.read() == b""


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd", "bzip2"])
def test_compress_is_deterministic_and_standard(kind: str) -> None:
    data = b"deterministic " * 10000
    a, b = compressed(data, kind), compressed(data, kind)
    assert a == b
    standard = {
        "gzip": gzip.decompress,
        "xz": lzma.decompress,
        "bzip2": bz2.decompress,
        "zstd": lambda d: zstandard.ZstdDecompressor().decompressobj().decompress(d),
    }[kind]
    assert standard(a) == data


@pytest.mark.parametrize("kind", KINDS)
def test_reads_non_seekable_trickling_source(kind: str) -> None:
    data = b"0123456789abcdef" * 4096
    blob = compressed(data, kind)
    reader = open_decompressed(Trickle(blob, step=3))  # type: ignore[arg-type]
    got = bytearray()
    buf = bytearray(1000)
    while True:
        n = reader.readinto(buf)
        if not n:
            break
        got += buf[:n]
    assert bytes(got) == data


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd", "bzip2"])
def test_read_size_is_bounded(kind: str) -> None:
    data = bytes(20 << 20)
    reader = open_decompressed(io.BytesIO(compressed(data, kind)))
    total = 0
    while True:
        chunk = reader.read(65536)
        if not chunk:
            break
        assert len(chunk) <= 65536
        total += len(chunk)
    assert total == len(data)


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd", "bzip2"])
def test_concatenated_members_and_zero_padding(kind: str) -> None:
    one, two = b"first member\n" * 1000, b"second member\n" * 3
    blob = compressed(one, kind) + bytes(3) + compressed(two, kind) + bytes(1024)
    assert open_decompressed(io.BytesIO(blob)).read() == one + two


def test_stdlib_multi_member_gzip() -> None:
    blob = gzip.compress(b"a" * 100000) + gzip.compress(b"b" * 10)
    assert open_decompressed(io.BytesIO(blob)).read() == b"a" * 100000 + b"b" * 10


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd", "bzip2"])
def test_truncated_stream_raises(kind: str) -> None:
    blob = compressed(payload(), kind)
    reader = open_decompressed(io.BytesIO(blob[: len(blob) * 2 // 3]))
    with pytest.raises(InvalidParameter, match=kind):
        while reader.read(1 << 20):
            pass


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd", "bzip2"])
def test_trailing_garbage_raises(kind: str) -> None:
    blob = compressed(b"data" * 100, kind) + b"this is not a member"
    with pytest.raises(InvalidParameter):
        open_decompressed(io.BytesIO(blob)).read()


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd", "bzip2"])
def test_corrupt_stream_raises(kind: str) -> None:
    blob = bytearray(compressed(payload(), kind))
    for i in range(len(blob) // 2, len(blob) // 2 + 64):
        blob[i] ^= 0x55
    with pytest.raises(InvalidParameter):
        open_decompressed(io.BytesIO(bytes(blob))).read()


def test_uncompressed_passthrough_keeps_head() -> None:
    data = os.urandom(5000)
    reader = open_decompressed(io.BytesIO(data))
    assert reader.kind == "none"
    assert reader.read(10) == data[:10]
    assert reader.read(1000) == data[10:1010]
    assert reader.read() == data[1010:]


def test_unknown_kind_rejected() -> None:
    with pytest.raises(InvalidParameter):
        compress_stream(io.BytesIO(b""), io.BytesIO(), "lz4")


def test_empty_input() -> None:
    assert open_decompressed(io.BytesIO(b"")).read() == b""
    for kind in KINDS:
        assert open_decompressed(io.BytesIO(compressed(b"", kind))).read() == b""


@pytest.mark.skipif(not os.path.exists(BUSYBOX_OCI), reason="shared busybox image missing")
def test_real_layer_blob_matches_its_diff_id() -> None:
    with tarfile.open(BUSYBOX_OCI) as oci:

        def blob(digest: str) -> bytes:
            f = oci.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
            assert f is not None
            return f.read()

        index = json.loads(oci.extractfile("index.json").read())  # type: ignore[union-attr]
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        layer = blob(manifest["layers"][0]["digest"])
    assert detect(layer[:512]) == "gzip"
    h = hashlib.sha256()
    reader = open_decompressed(io.BytesIO(layer))
    while chunk := reader.read(compression._READ_SIZE):
        h.update(chunk)
    assert "sha256:" + h.hexdigest() == config["rootfs"]["diff_ids"][0]
