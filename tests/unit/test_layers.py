"""Tests of baleine.filesystem.layers: applying layer tars, docker diff, computing layer tars.

They run as root (device nodes, owners, trusted.* xattrs, overlay mounts), each
in its own temporary directory; every overlay mounted is unmounted in a finally.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import struct
import subprocess
import tarfile
from pathlib import Path
from typing import Iterator

import pytest

from baleine.engine.images.compression import compress_stream, open_decompressed
from baleine.rules.errors import EngineError, InvalidParameter, NotFound
from baleine.filesystem.layers import (
    CHANGE_ADD,
    CHANGE_DELETE,
    CHANGE_MODIFY,
    ApplyResult,
    Change,
    apply_layer,
    changes,
    diff_tar,
    tar_directory,
    untar_into,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="layer tests need root")

T0 = 1_600_000_000  # a fixed mtime
CAP_NET_BIND = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)  # security.capability v2


# -- helpers -------------------------------------------------------------------------


def member(
    name: str,
    kind: bytes = tarfile.REGTYPE,
    data: bytes = b"",
    *,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    mtime: int = T0,
    link: str = "",
    dev: tuple[int, int] = (0, 0),
    xattrs: dict[str, bytes] | None = None,
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime
    info.linkname = link
    info.devmajor, info.devminor = dev
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if xattrs:
        info.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}
    return info, data


def directory(name: str, **kw: object) -> tuple[tarfile.TarInfo, bytes]:
    kw.setdefault("mode", 0o755)
    return member(name, tarfile.DIRTYPE, **kw)  # type: ignore[arg-type]


def build_tar(*members: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def apply_bytes(data: bytes, dest: Path) -> ApplyResult:
    dest.mkdir(parents=True, exist_ok=True)
    return apply_layer(io.BytesIO(data), str(dest))


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def xattrs_of(path: Path) -> dict[str, bytes]:
    return {k: os.getxattr(path, k, follow_symlinks=False) for k in sorted(os.listxattr(path, follow_symlinks=False))}


def is_whiteout(path: Path) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything visible under ``root``: type, mode, owner, mtime (s), nlink, content, xattrs."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                extra: object = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                extra = (os.major(st.st_rdev), os.minor(st.st_rdev))
            else:
                extra = None
            nlink = 0 if stat.S_ISDIR(st.st_mode) else st.st_nlink
            xattrs = {k: v for k, v in xattrs_of(p).items() if not k.startswith("trusted.overlay.")}
            out[str(p.relative_to(root))] = (
                stat.filemode(st.st_mode),
                st.st_uid,
                st.st_gid,
                st.st_mtime_ns // 10**9,
                nlink,
                extra,
                xattrs,
            )
    return out


@contextlib.contextmanager
def overlay(target: Path, lowers: list[Path], upper: Path | None = None, work: Path | None = None) -> Iterator[Path]:
    """Mount an overlay at ``target`` for the duration of the block."""
    target.mkdir(parents=True, exist_ok=True)
    opts = "lowerdir=" + ":".join(str(p) for p in lowers)
    if upper is not None:
        assert work is not None
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        opts += f",upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(target)], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


class Trickle(io.RawIOBase):
    """A non-seekable stream returning at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = min(len(b), self._step, len(self._data))
        b[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


def base_layer() -> bytes:
    return build_tar(
        directory("etc"),
        member("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"),
        member("etc/hosts", data=b"127.0.0.1 localhost\n"),
        directory("tmp", mode=0o1777),
        directory("usr"),
        directory("usr/bin"),
        member("usr/bin/tool", data=b"#!/bin/sh\necho tool\n", mode=0o4755, xattrs={"security.capability": CAP_NET_BIND}),
        directory("usr/lib"),
        directory("usr/lib/data"),
        member("usr/lib/data/a", data=b"a"),
        member("usr/lib/data/b", data=b"b"),
        directory("usr/lib/data/sub"),
        member("usr/lib/data/sub/c", data=b"c"),
        directory("var"),
        directory("var/log"),
        member("var/log/old.log", data=b"old\n", uid=100, gid=4),
        member("link", tarfile.SYMTYPE, link="usr/bin/tool"),
    )


# -- apply_layer ---------------------------------------------------------------------


def test_apply_preserves_everything(tmp_path: Path) -> None:
    big = os.urandom(3 << 20) + b"tail"  # crosses the reader's chunk boundaries
    data = build_tar(
        directory("d", mode=0o750, uid=1000, gid=1001, mtime=T0 - 100),
        member("d/file", data=b"hello", mode=0o640, uid=1000, gid=1001, mtime=T0 - 50),
        member("d/big", data=big),
        member("d/suid", data=b"x", mode=0o4755),
        member("d/sgid", data=b"x", mode=0o2711, gid=50),
        directory("d/sticky", mode=0o1777),
        member("d/sym", tarfile.SYMTYPE, link="file", uid=7, gid=8, mtime=T0 - 10),
        member("d/hard", tarfile.LNKTYPE, link="d/file"),
        member("d/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3)),
        member("d/loop", tarfile.BLKTYPE, mode=0o660, gid=6, dev=(7, 0)),
        member("d/fifo", tarfile.FIFOTYPE, mode=0o600),
        member(
            "d/cap",
            data=b"#!",
            mode=0o755,
            xattrs={"security.capability": CAP_NET_BIND, "user.bin": b"\xff\xfe\x00\x01", "user.text": b"ok"},
        ),
        member("d/evil-overlay", data=b"", xattrs={"trusted.overlay.redirect": b"/etc"}),
    )
    dest = tmp_path / "layer"
    result = apply_bytes(data, dest)
    assert result == ApplyResult(diff_id=sha(data), size=5 + len(big) + 1 + 1 + 2)

    d = dest / "d"
    st = os.lstat(d)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (0o750, 1000, 1001, T0 - 100)
    st = os.lstat(d / "file")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime, st.st_nlink) == (0o640, 1000, 1001, T0 - 50, 2)
    assert (d / "file").read_bytes() == b"hello"
    assert (d / "big").read_bytes() == big
    assert stat.S_IMODE(os.lstat(d / "suid").st_mode) == 0o4755
    assert (stat.S_IMODE(os.lstat(d / "sgid").st_mode), os.lstat(d / "sgid").st_gid) == (0o2711, 50)
    assert stat.S_IMODE(os.lstat(d / "sticky").st_mode) == 0o1777
    st = os.lstat(d / "sym")
    assert stat.S_ISLNK(st.st_mode) and os.readlink(d / "sym") == "file"
    assert (st.st_uid, st.st_gid, st.st_mtime) == (7, 8, T0 - 10)
    assert os.lstat(d / "hard").st_ino == os.lstat(d / "file").st_ino
    st = os.lstat(d / "null")
    assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert stat.S_IMODE(st.st_mode) == 0o666
    st = os.lstat(d / "loop")
    assert stat.S_ISBLK(st.st_mode) and (os.major(st.st_rdev), st.st_gid) == (7, 6)
    assert stat.S_ISFIFO(os.lstat(d / "fifo").st_mode)
    assert xattrs_of(d / "cap") == {
        "security.capability": CAP_NET_BIND,
        "user.bin": b"\xff\xfe\x00\x01",
        "user.text": b"ok",
    }
    # Overlay metadata from an archive is never trusted.
    assert xattrs_of(d / "evil-overlay") == {}


def test_directory_mtime_set_after_contents(tmp_path: Path) -> None:
    data = build_tar(
        directory("a", mtime=T0),
        directory("a/b", mtime=T0 + 1),
        member("a/b/f", mtime=T0 + 2),
        member("a/.wh.gone", mtime=T0 + 3),
        member("a/b/.wh..wh..opq"),
    )
    dest = tmp_path / "l"
    apply_bytes(data, dest)
    assert os.lstat(dest / "a").st_mtime == T0
    assert os.lstat(dest / "a/b").st_mtime == T0 + 1
    assert os.lstat(dest / "a/b/f").st_mtime == T0 + 2


def test_whiteouts_become_overlay_whiteouts(tmp_path: Path) -> None:
    data = build_tar(
        directory("etc"),
        member("etc/.wh.motd", uid=3, gid=4),
        directory("opt"),
        member("opt/.wh..wh..opq"),
        member("opt/new", data=b"n"),
        member(".wh..wh.plnk/123", data=b"aufs"),  # AUFS metadata: dropped
        member("etc/.wh..wh.aufs"),  # other meta whiteouts: dropped
        member("etc/keep", data=b"k"),
        member("etc/.wh.keep"),  # same layer wins over its own whiteout
        member(".wh.rootfile"),
    )
    dest = tmp_path / "l"
    apply_bytes(data, dest)
    assert is_whiteout(dest / "etc/motd")
    assert (os.lstat(dest / "etc/motd").st_uid, os.lstat(dest / "etc/motd").st_gid) == (3, 4)
    assert not (dest / "etc/.wh.motd").exists()
    assert os.getxattr(dest / "opt", "trusted.overlay.opaque") == b"y"
    assert (dest / "opt/new").read_bytes() == b"n"
    assert not os.path.lexists(dest / ".wh..wh.plnk")
    assert not os.path.lexists(dest / "etc/.wh..wh.aufs")
    assert (dest / "etc/keep").read_bytes() == b"k"
    assert is_whiteout(dest / "rootfile")
    assert sorted(os.listdir(dest)) == ["etc", "opt", "rootfile"]


def test_whiteout_and_opaque_hide_lower_layers_in_overlay(tmp_path: Path) -> None:
    lower = tmp_path / "l1"
    upper = tmp_path / "l2"
    apply_bytes(base_layer(), lower)
    apply_bytes(
        build_tar(
            directory("etc"),
            member("etc/.wh.hosts"),
            directory("usr"),
            directory("usr/lib"),
            directory("usr/lib/data"),
            member("usr/lib/data/.wh..wh..opq"),
            member("usr/lib/data/z", data=b"z"),
            member(".wh.link"),
        ),
        upper,
    )
    with overlay(tmp_path / "m", [upper, lower]) as merged:
        assert sorted(os.listdir(merged / "etc")) == ["passwd"]
        assert sorted(os.listdir(merged / "usr/lib/data")) == ["z"]
        assert not os.path.lexists(merged / "link")
        assert (merged / "usr/bin/tool").exists()


def test_pax_long_and_non_ascii_names_and_gnu_format(tmp_path: Path) -> None:
    long_dir = "d" * 120
    long_name = f"{long_dir}/{'f' * 150}"
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        data = build_tar(
            directory(long_dir),
            member(long_name, data=b"long"),
            member("café/naïve.txt", data=b"utf8"),
            member("sym", tarfile.SYMTYPE, link="x" * 200),
            member("hl", tarfile.LNKTYPE, link=long_name),
            member("bigid", data=b"", uid=3_000_000, gid=2_500_000),
            fmt=fmt,
        )
        dest = tmp_path / f"fmt{fmt}"
        apply_bytes(data, dest)
        assert (dest / long_name).read_bytes() == b"long"
        assert (dest / "café/naïve.txt").read_bytes() == b"utf8"
        assert os.readlink(dest / "sym") == "x" * 200
        assert os.lstat(dest / "hl").st_ino == os.lstat(dest / long_name).st_ino
        assert (os.lstat(dest / "bigid").st_uid, os.lstat(dest / "bigid").st_gid) == (3_000_000, 2_500_000)


def test_implicit_parents_and_replacements(tmp_path: Path) -> None:
    data = build_tar(
        member("a/b/c/file", data=b"1"),  # parents not in the tar
        member("x", data=b"file first"),
        directory("x"),  # a directory replaces the file
        member("x/in", data=b"in"),
        directory("y"),
        member("y/in", data=b"in"),
        member("y", data=b"file replaces dir"),
        member("s", tarfile.SYMTYPE, link="/etc"),
        member("s", data=b"file replaces symlink"),
        member("dup", data=b"old"),
        member("dup", data=b"new"),
    )
    dest = tmp_path / "l"
    apply_bytes(data, dest)
    assert (dest / "a/b/c/file").read_bytes() == b"1"
    assert stat.S_IMODE(os.lstat(dest / "a/b").st_mode) == 0o755
    assert (dest / "x/in").read_bytes() == b"in"
    assert (dest / "y").read_bytes() == b"file replaces dir"
    assert not os.path.islink(dest / "s") and (dest / "s").read_bytes() == b"file replaces symlink"
    assert (dest / "dup").read_bytes() == b"new"


def test_absolute_and_dot_names_are_made_relative(tmp_path: Path) -> None:
    data = build_tar(directory("./"), member("/abs/file", data=b"a"), member("./rel/./f", data=b"r"))
    dest = tmp_path / "l"
    apply_bytes(data, dest)
    assert (dest / "abs/file").read_bytes() == b"a"
    assert (dest / "rel/f").read_bytes() == b"r"


# -- safety --------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "victim").write_bytes(b"original")
    return out


def assert_untouched(outside: Path) -> None:
    assert sorted(os.listdir(outside)) == ["victim"]
    assert (outside / "victim").read_bytes() == b"original"


@pytest.mark.parametrize("name", ["../x", "a/../../x", "..", "a/b/../../../outside/victim"])
def test_dotdot_names_rejected(tmp_path: Path, outside: Path, name: str) -> None:
    with pytest.raises(InvalidParameter, match=r"\.\."):
        apply_bytes(build_tar(member(name, data=b"pwned")), tmp_path / "l")
    assert_untouched(outside)
    assert not (tmp_path / "x").exists()


def test_file_through_archive_symlink_rejected(tmp_path: Path, outside: Path) -> None:
    for target in (str(outside), "../outside", "."):
        data = build_tar(member("link", tarfile.SYMTYPE, link=target), member("link/victim", data=b"pwned"))
        with pytest.raises(InvalidParameter, match="not a directory"):
            apply_bytes(data, tmp_path / f"l{len(target)}")
    assert_untouched(outside)


def test_whiteout_and_opaque_through_symlink_rejected(tmp_path: Path, outside: Path) -> None:
    for i, name in enumerate(("link/.wh.victim", "link/.wh..wh..opq")):
        data = build_tar(member("link", tarfile.SYMTYPE, link=str(outside)), member(name))
        with pytest.raises(InvalidParameter):
            apply_bytes(data, tmp_path / f"l{i}")
    assert_untouched(outside)
    assert "trusted.overlay.opaque" not in os.listxattr(outside)


def test_preexisting_symlink_is_never_followed(tmp_path: Path, outside: Path) -> None:
    dest = tmp_path / "l"
    dest.mkdir()
    os.symlink(outside, dest / "evil")
    os.symlink(outside / "victim", dest / "evilfile")
    with pytest.raises(InvalidParameter):
        apply_bytes(build_tar(member("evil/victim", data=b"pwned")), dest)
    # A file entry replaces the symlink itself, never writes through it.
    apply_bytes(build_tar(member("evilfile", data=b"replaced")), dest)
    assert (dest / "evilfile").read_bytes() == b"replaced" and not os.path.islink(dest / "evilfile")
    assert_untouched(outside)


@pytest.mark.parametrize(
    "link",
    ["/etc/passwd", "../../../../../../etc/passwd", "etc/passwd", "sym/passwd"],
)
def test_hardlink_outside_rejected(tmp_path: Path, link: str) -> None:
    data = build_tar(member("sym", tarfile.SYMTYPE, link="/etc"), member("pw", tarfile.LNKTYPE, link=link))
    before = os.stat("/etc/passwd").st_nlink
    with pytest.raises(InvalidParameter):
        apply_bytes(data, tmp_path / "l")
    assert not os.path.lexists(tmp_path / "l/pw")
    assert os.stat("/etc/passwd").st_nlink == before


def test_hardlink_to_directory_or_symlink(tmp_path: Path, outside: Path) -> None:
    with pytest.raises(InvalidParameter):
        apply_bytes(build_tar(directory("d"), member("h", tarfile.LNKTYPE, link="d")), tmp_path / "a")
    # A hard link to a symlink links the symlink itself, never its target.
    data = build_tar(member("s", tarfile.SYMTYPE, link=str(outside / "victim")), member("h", tarfile.LNKTYPE, link="s"))
    apply_bytes(data, tmp_path / "b")
    assert os.path.islink(tmp_path / "b/h")
    assert os.stat(outside / "victim").st_nlink == 1


def test_bad_whiteout_names_rejected(tmp_path: Path) -> None:
    for i, name in enumerate((".wh.", "d/.wh..", "d/.wh...")):
        with pytest.raises(InvalidParameter):
            apply_bytes(build_tar(member(name)), tmp_path / f"l{i}")


# -- corrupt streams and the diff ID -------------------------------------------------------


def sample_tar() -> bytes:
    return build_tar(directory("d"), member("d/f", data=os.urandom(200_000)), member("d/g", data=b"g" * 1000))


def test_truncated_tar_raises(tmp_path: Path) -> None:
    data = sample_tar()
    for i, cut in enumerate((700, 512 * 3 + 100, 100_000, len(data) - 512 * 20 - 100)):
        with pytest.raises(InvalidParameter, match="truncated"):
            apply_bytes(data[:cut], tmp_path / f"l{i}")


def test_corrupt_header_raises(tmp_path: Path) -> None:
    data = bytearray(sample_tar())
    data[512 + 10] ^= 0x01  # a name byte of the second header
    with pytest.raises(InvalidParameter, match="checksum"):
        apply_bytes(bytes(data), tmp_path / "l")
    with pytest.raises(InvalidParameter):
        apply_bytes(b"this is not a tar file at all" * 40, tmp_path / "m")


def test_diff_id_covers_whole_stream_and_stream_is_consumed(tmp_path: Path) -> None:
    data = sample_tar() + bytes(4096) + b"trailing junk after the archive"
    stream = io.BytesIO(data)
    result = apply_layer(stream, str(tmp_path))
    assert result.diff_id == sha(data)
    assert stream.read() == b""


def test_tar_without_end_blocks_is_accepted(tmp_path: Path) -> None:
    data = build_tar(member("f", data=b"x" * 700))
    body = data[: 512 + 1024]  # header + padded data, no end-of-archive blocks
    result = apply_bytes(body, tmp_path / "l")
    assert result.diff_id == sha(body)
    assert (tmp_path / "l/f").read_bytes() == b"x" * 700


def test_trickling_stream(tmp_path: Path) -> None:
    data = sample_tar()
    result = apply_layer(Trickle(data, 333), str(tmp_path))  # type: ignore[arg-type]
    assert result.diff_id == sha(data)
    assert (tmp_path / "d/g").read_bytes() == b"g" * 1000


def test_compressed_layer_through_open_decompressed(tmp_path: Path) -> None:
    data = sample_tar()
    blob = io.BytesIO()
    compress_stream(io.BytesIO(data), blob, "gzip")
    blob.seek(0)
    result = apply_layer(open_decompressed(blob), str(tmp_path))  # type: ignore[arg-type]
    assert result.diff_id == sha(data)


def test_corrupt_compressed_layer_raises(tmp_path: Path) -> None:
    blob = io.BytesIO()
    compress_stream(io.BytesIO(sample_tar()), blob, "gzip")
    cut = io.BytesIO(blob.getvalue()[: len(blob.getvalue()) // 2])
    with pytest.raises(InvalidParameter, match="gzip"):
        apply_layer(open_decompressed(cut), str(tmp_path))  # type: ignore[arg-type]


def test_early_failure_on_a_long_stream_returns_promptly(tmp_path: Path) -> None:
    data = build_tar(member("../evil", data=b"x"), member("big", data=bytes(64 << 20)))
    with pytest.raises(InvalidParameter):
        apply_layer(Trickle(data, 1 << 20), str(tmp_path))  # type: ignore[arg-type]


def test_gnu_tar_layer_with_xattrs(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "bin").mkdir(parents=True)
    (src / "bin/ping").write_bytes(b"ping")
    os.chmod(src / "bin/ping", 0o755)
    os.setxattr(src / "bin/ping", "security.capability", CAP_NET_BIND)
    os.setxattr(src / "bin/ping", "user.note", b"hi")
    os.link(src / "bin/ping", src / "bin/ping6")
    data = subprocess.run(
        ["tar", "-c", "--format=posix", "--xattrs", "--xattrs-include=*", "-C", str(src), "."],
        check=True,
        capture_output=True,
    ).stdout
    dest = tmp_path / "l"
    apply_bytes(data, dest)
    assert xattrs_of(dest / "bin/ping") == {"security.capability": CAP_NET_BIND, "user.note": b"hi"}
    assert os.lstat(dest / "bin/ping6").st_ino == os.lstat(dest / "bin/ping").st_ino


# -- docker diff and commit round trip --------------------------------------------------------


def modify_container(root: Path) -> None:
    """What a container does to its root filesystem in the round-trip test."""
    (root / "tmp/x").write_bytes(b"x")
    with open(root / "etc/passwd", "ab") as f:
        f.write(b"app:x:1000:1000::/home/app:/bin/sh\n")
    os.unlink(root / "etc/hosts")
    subprocess.run(["rm", "-rf", str(root / "usr/lib/data")], check=True)
    (root / "usr/lib/data").mkdir()
    (root / "usr/lib/data/new").write_bytes(b"new")
    os.chmod(root / "var/log/old.log", 0o600)
    (root / "opt/app/bin").mkdir(parents=True)
    (root / "opt/app/bin/run").write_bytes(b"#!/bin/sh\n")
    os.chmod(root / "opt/app/bin/run", 0o755)
    os.setxattr(root / "opt/app/bin/run", "user.built-by", b"baleine")
    os.link(root / "usr/bin/tool", root / "opt/tool-hard")
    os.symlink("/etc/passwd", root / "opt/lnk")
    os.mkfifo(root / "opt/fifo")
    os.mknod(root / "opt/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chown(root / "opt/app", 1000, 1000)


EXPECTED_CHANGES = [
    Change("/etc", CHANGE_MODIFY),
    Change("/etc/hosts", CHANGE_DELETE),
    Change("/etc/passwd", CHANGE_MODIFY),
    Change("/opt", CHANGE_ADD),
    Change("/opt/app", CHANGE_ADD),
    Change("/opt/app/bin", CHANGE_ADD),
    Change("/opt/app/bin/run", CHANGE_ADD),
    Change("/opt/fifo", CHANGE_ADD),
    Change("/opt/lnk", CHANGE_ADD),
    Change("/opt/null", CHANGE_ADD),
    Change("/opt/tool-hard", CHANGE_ADD),
    Change("/tmp", CHANGE_MODIFY),
    Change("/tmp/x", CHANGE_ADD),
    Change("/usr/bin/tool", CHANGE_MODIFY),
    Change("/usr/lib", CHANGE_MODIFY),
    Change("/usr/lib/data", CHANGE_MODIFY),
    Change("/usr/lib/data/new", CHANGE_ADD),
    Change("/var/log/old.log", CHANGE_MODIFY),
]


def test_changes_diff_tar_apply_round_trip(tmp_path: Path) -> None:
    base = tmp_path / "layers/base"
    apply_bytes(base_layer(), base)
    upper, work = tmp_path / "c/upper", tmp_path / "c/work"
    with overlay(tmp_path / "c/merged", [base], upper, work) as merged:
        modify_container(merged)
        expected_view = snapshot(merged)

    assert changes(str(upper), [str(base)]) == EXPECTED_CHANGES

    out = io.BytesIO()
    diff_id = diff_tar(str(upper), [str(base)], out)
    layer = out.getvalue()
    assert diff_id == sha(layer)
    again = io.BytesIO()
    assert diff_tar(str(upper), [str(base)], again) == diff_id  # deterministic
    assert again.getvalue() == layer

    with tarfile.open(fileobj=io.BytesIO(layer)) as tf:
        names = tf.getnames()
        members = {m.name: m for m in tf.getmembers()}
    assert names == sorted(names, key=lambda n: n.split("/"))  # depth first, sorted
    assert "etc/.wh.hosts" in names
    assert "usr/lib/data/.wh..wh..opq" in names
    assert names.index("usr/lib/data/.wh..wh..opq") == names.index("usr/lib/data") + 1
    hard = [m for m in members.values() if m.islnk()]
    assert [(m.name, m.linkname) for m in hard] == [("usr/bin/tool", "opt/tool-hard")]
    assert members["opt/app/bin/run"].pax_headers.get("SCHILY.xattr.user.built-by") == "baleine"
    assert not any("trusted.overlay" in k for m in members.values() for k in m.pax_headers)

    new = tmp_path / "layers/new"
    result = apply_bytes(layer, new)
    assert result.diff_id == diff_id
    assert is_whiteout(new / "etc/hosts")
    assert os.getxattr(new / "usr/lib/data", "trusted.overlay.opaque") == b"y"
    with overlay(tmp_path / "check", [new, base]) as view:
        assert snapshot(view) == expected_view

    # And the new layer reproduces the same tar from itself as an upper dir.
    assert diff_tar(str(new), [str(base)], io.BytesIO()) == diff_id


def test_changes_touch_tmp(tmp_path: Path) -> None:
    base = tmp_path / "base"
    apply_bytes(base_layer(), base)
    upper, work = tmp_path / "upper", tmp_path / "work"
    with overlay(tmp_path / "m", [base], upper, work) as merged:
        (merged / "tmp/x").touch()
    assert changes(str(upper), [str(base)]) == [Change("/tmp", CHANGE_MODIFY), Change("/tmp/x", CHANGE_ADD)]


def test_changes_follow_lower_whiteouts_and_opaque_dirs(tmp_path: Path) -> None:
    bottom, middle, upper = tmp_path / "bottom", tmp_path / "middle", tmp_path / "upper"
    apply_bytes(
        build_tar(directory("d"), member("d/gone", data=b""), member("d/kept"), directory("o"), member("o/old")), bottom
    )
    apply_bytes(build_tar(directory("d"), member("d/.wh.gone"), directory("o"), member("o/.wh..wh..opq")), middle)
    (upper / "d").mkdir(parents=True)
    os.utime(upper / "d", (T0, T0))
    os.chmod(upper / "d", 0o755)
    (upper / "d/gone").write_bytes(b"back")  # hidden by the middle layer: an addition
    (upper / "d/kept").write_bytes(b"changed")
    (upper / "o").mkdir()
    os.utime(upper / "o", (T0, T0))
    os.chmod(upper / "o", 0o755)
    (upper / "o/old").write_bytes(b"")  # below an opaque dir: an addition
    os.mknod(upper / "o/ghost", stat.S_IFCHR, 0)
    assert changes(str(upper), [str(middle), str(bottom)]) == [
        Change("/d", CHANGE_MODIFY),
        Change("/d/gone", CHANGE_ADD),
        Change("/d/kept", CHANGE_MODIFY),
        Change("/o", CHANGE_MODIFY),
        Change("/o/ghost", CHANGE_DELETE),
        Change("/o/old", CHANGE_ADD),
    ]


def test_changes_does_not_follow_lower_symlinks(tmp_path: Path, outside: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    os.symlink(outside, lower / "dir")  # /dir/victim must not be "found" through it
    upper = tmp_path / "upper"
    (upper / "dir").mkdir(parents=True)
    (upper / "dir/victim").write_bytes(b"")
    assert changes(str(upper), [str(lower)]) == [Change("/dir", CHANGE_MODIFY), Change("/dir/victim", CHANGE_ADD)]


def test_diff_tar_of_opaque_upper_root_and_shared_whiteouts(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    upper.mkdir()
    os.mknod(upper / "a", stat.S_IFCHR, 0)
    os.link(upper / "a", upper / "b")  # overlay may share one whiteout inode
    (upper / "f").write_bytes(b"f")
    os.link(upper / "f", upper / "g")
    out = io.BytesIO()
    diff_tar(str(upper), [], out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        got = [(m.name, m.type, m.linkname) for m in tf.getmembers()]
    assert got == [
        (".wh.a", tarfile.REGTYPE, ""),
        (".wh.b", tarfile.REGTYPE, ""),
        ("f", tarfile.REGTYPE, ""),
        ("g", tarfile.LNKTYPE, "f"),
    ]


def test_diff_tar_refuses_redirected_dirs(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "moved").mkdir(parents=True)
    os.setxattr(upper / "moved", "trusted.overlay.redirect", b"/orig")
    with pytest.raises(EngineError, match="redirect"):
        diff_tar(str(upper), [], io.BytesIO())


def test_diff_tar_is_readable_by_gnu_tar(tmp_path: Path) -> None:
    src = tmp_path / "src"
    apply_bytes(base_layer(), src)
    path = tmp_path / "layer.tar"
    with open(path, "wb") as f:
        diff_tar(str(src), [], f)
    dest = tmp_path / "gnu"
    dest.mkdir()
    subprocess.run(
        ["tar", "-x", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-p", "-f", str(path), "-C", str(dest)],
        check=True,
    )
    assert snapshot(dest) == snapshot(src)


# -- untar_into and tar_directory (docker cp, export) ----------------------------------------


def test_untar_into_resolves_symlinks_inside_root(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "usr/lib").mkdir(parents=True)
    os.symlink("usr/lib", root / "lib")
    os.symlink("/", root / "abs")
    os.symlink("../../..", root / "up")
    os.symlink(str(outside), root / "out")
    data = build_tar(
        member("lib/libx.so", data=b"lib"),
        member("abs/etc/conf", data=b"conf"),
        member("up/up.txt", data=b"up"),
        member("out/victim", data=b"pwned"),
        member(".wh.literal", data=b"kept as is"),
    )
    untar_into(io.BytesIO(data), str(root))
    assert (root / "usr/lib/libx.so").read_bytes() == b"lib"
    assert (root / "etc/conf").read_bytes() == b"conf"
    assert (root / "up.txt").read_bytes() == b"up"
    assert (root / str(outside).lstrip("/") / "victim").read_bytes() == b"pwned"
    assert (root / ".wh.literal").read_bytes() == b"kept as is"
    assert_untouched(outside)


def test_untar_into_owner_and_no_overwrite(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "dir").mkdir(parents=True)
    untar_into(io.BytesIO(build_tar(member("f", data=b"x", uid=5, gid=6))), str(root), owner=(0, 0))
    assert (os.lstat(root / "f").st_uid, os.lstat(root / "f").st_gid) == (0, 0)
    with pytest.raises(InvalidParameter, match="cannot overwrite directory"):
        untar_into(io.BytesIO(build_tar(member("dir", data=b"x"))), str(root), no_overwrite_dir_non_dir=True)
    with pytest.raises(InvalidParameter):
        untar_into(io.BytesIO(build_tar(member("abs", tarfile.SYMTYPE, link="/etc"), member("h", tarfile.LNKTYPE, link="abs/passwd"))), str(root))


def test_tar_directory_export_and_cp(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    apply_bytes(base_layer(), root)
    os.symlink("/usr", root / "usrlink")

    out = io.BytesIO()
    digest = tar_directory(str(root), out)
    assert digest == sha(out.getvalue())
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        names = tf.getnames()
    assert names[0] == "etc" and "usr/lib/data/sub/c" in names and "./" not in names

    out = io.BytesIO()
    tar_directory(str(root), out, "/usrlink/lib/data")  # parent symlink resolved inside root
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert tf.getnames() == ["data", "data/a", "data/b", "data/sub", "data/sub/c"]

    out = io.BytesIO()
    tar_directory(str(root), out, "/etc/passwd", arcname="pw")
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert tf.getnames() == ["pw"]
        assert tf.extractfile("pw").read().startswith(b"root:")  # type: ignore[union-attr]

    out = io.BytesIO()
    tar_directory(str(root), out, "/link")  # the last component is not followed
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        (m,) = tf.getmembers()
        assert m.issym() and m.linkname == "usr/bin/tool"

    with pytest.raises(NotFound):
        tar_directory(str(root), io.BytesIO(), "/nope")


def test_tar_directory_never_leaves_root(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "rootfs"
    root.mkdir()
    os.symlink(str(outside), root / "out")
    os.symlink("../../../..", root / "up")
    with pytest.raises(NotFound):
        tar_directory(str(root), io.BytesIO(), "/out/victim")
    out = io.BytesIO()
    tar_directory(str(root), out, "/up/..")
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert sorted(tf.getnames()) == ["out", "up"]
