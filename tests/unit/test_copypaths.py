"""docker cp's path rules (engine.copypaths) and the daemon's path resolution and
archive/extract in a container root (engine.files), on a temporary tree."""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile

import pytest

from baleine.rules import copypaths as cp
from baleine.engine.containers import files
from baleine.engine.containers.records import Container
from baleine.rules.errors import EngineError, Forbidden, InvalidParameter, NotFound


@pytest.mark.parametrize("path,clean", [("", "."), ("/", "/"), ("//a//b/", "/a/b"), ("a/./b/..", "a"),
                                        ("/../x", "/x"), ("../x", "../x"), ("a/..", ".")])
def test_go_clean(path: str, clean: str) -> None:
    assert cp.go_clean(path) == clean


def test_go_path_functions() -> None:
    assert cp.go_split("/etc/passwd") == ("/etc/", "passwd")
    assert cp.go_split("/etc/") == ("/etc/", "")
    assert cp.go_base("/etc/") == "etc" and cp.go_base("/") == "/" and cp.go_base("a/.") == "."
    assert cp.go_dir("/etc/.") == "/etc" and cp.go_dir("file") == "."
    assert cp.go_join("/", "etc/") == "/etc" and cp.go_join("", "") == ""


def test_trailing_dot_and_separator() -> None:
    assert cp.preserve_trailing_dot_or_separator("/a/b", "a/b/") == "/a/b/"
    assert cp.preserve_trailing_dot_or_separator("/a/b", "a/b/.") == "/a/b/."
    assert cp.preserve_trailing_dot_or_separator("/", "/.") == "/."
    assert cp.asserts_directory("x/") and cp.asserts_directory("x/.") and not cp.asserts_directory("x")
    assert cp.split_path_dir_entry("/a/b/.") == ("/a/b", ".")
    assert cp.split_path_dir_entry("/a/b/") == ("/a", "b")
    assert cp.get_rebase_name("/x/link/", "/x/target") == ("/x/target/", "link")
    assert cp.get_rebase_name("/x/link/.", "/x/target") == ("/x/target/.", "")
    assert cp.rebase_name("./sub/f", ".", "new") == "new/sub/f"
    assert cp.rebase_name("bin/sh", "/", "root") == "rootbin/sh"


def test_prepare_archive_copy() -> None:
    f = cp.CopyInfo("/src/file", True, False)
    d = cp.CopyInfo("/src/dir", True, True)
    assert cp.prepare_archive_copy(f, cp.CopyInfo("/dst", True, True)) == ("/dst", None)
    assert cp.prepare_archive_copy(f, cp.CopyInfo("/dst/new")) == ("/dst", ("file", "new"))
    assert cp.prepare_archive_copy(d, cp.CopyInfo("/dst/new")) == ("/dst", ("dir", "new"))
    assert cp.prepare_archive_copy(cp.CopyInfo("/src/dir/.", True, True), cp.CopyInfo("/dst/new")) == \
        ("/dst", (".", "new"))
    assert cp.prepare_archive_copy(f, cp.CopyInfo("/dst/old", True, False)) == ("/dst", ("file", "old"))
    with pytest.raises(cp.CopyError, match="cannot copy directory"):
        cp.prepare_archive_copy(d, cp.CopyInfo("/dst/file", True, False))
    with pytest.raises(cp.CopyError, match="no such directory"):
        cp.prepare_archive_copy(f, cp.CopyInfo("/dst/missing/"))


@pytest.fixture
def root(tmp_path):
    """A small container root: /etc/hostname, /etc/mtab -> /proc/mounts, /link -> /etc,
    /escape -> ../../.. , /abs -> /etc/hostname, /data/sub/f."""
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "hostname").write_text("box\n")
    os.symlink("/proc/mounts", r / "etc" / "mtab")
    os.symlink("/etc", r / "link")
    os.symlink("../../..", r / "escape")
    os.symlink("/etc/hostname", r / "abs")
    (r / "data" / "sub").mkdir(parents=True)
    (r / "data" / "sub" / "f").write_text("f")
    return str(r)


def test_resolve_in_scope_never_leaves_the_root(root: str) -> None:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert files.resolve_in_scope(fd, "/link/hostname") == "/etc/hostname"
        assert files.resolve_in_scope(fd, "/escape/etc") == "/etc"
        assert files.resolve_in_scope(fd, "/../../etc/./hostname") == "/etc/hostname"
        assert files.resolve_in_scope(fd, "/missing/../etc") == "/etc"
        assert files.resolve_in_scope(fd, "/etc/mtab") == "/proc/mounts"
        assert files.resolve_in_scope(fd, "/abs") == "/etc/hostname"
    finally:
        os.close(fd)


def test_stat_path(root: str) -> None:
    info = files.stat_path(root, "/etc/hostname", "c1")
    assert info.stat["name"] == "hostname" and info.stat["size"] == 4 and info.stat["mode"] == 0o644
    assert info.stat["linkTarget"] == ""
    link = files.stat_path(root, "link", "c1").stat
    assert link["mode"] & files.MODE_SYMLINK and link["linkTarget"] == "/etc"
    assert files.stat_path(root, "link/", "c1").stat["mode"] & files.MODE_DIR  # trailing slash follows
    assert files.stat_path(root, "/etc/.", "c1").stat["name"] == "."
    assert files.stat_path(root, "/", "c1").arcname == "."
    with pytest.raises(NotFound, match="Could not find the file /nope in container c1"):
        files.stat_path(root, "/nope", "c1")
    with pytest.raises(EngineError, match="not a directory"):
        files.stat_path(root, "/etc/hostname/x", "c1")
    header = files.encode_path_stat(info.stat)
    assert json.loads(base64.b64decode(header))["name"] == "hostname"


def _tar_names(root: str, path: str) -> list[str]:
    info = files.stat_path(root, path, "c")
    out = io.BytesIO()
    files.write_archive(root, info, out)
    return tarfile.open(fileobj=io.BytesIO(out.getvalue())).getnames()


def test_archives_are_named_like_docker(root: str) -> None:
    assert _tar_names(root, "/etc/hostname") == ["hostname"]
    assert _tar_names(root, "/data") == ["data", "data/sub", "data/sub/f"]
    assert _tar_names(root, "/data/.") == [".", "./sub", "./sub/f"]
    assert _tar_names(root, "/link/") == ["link", "link/hostname", "link/mtab"]  # the directory, renamed
    assert _tar_names(root, "/link") == ["link"]  # the symlink itself


def _tar(entries: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in entries.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.uid = ti.gid = 1234
            t.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf


def _container(**hc: object) -> Container:
    return Container({"Id": "c" * 64, "Name": "/c", "State": {}, "Config": {"User": ""}, "HostConfig": dict(hc),
                      "Mounts": [], "Baleine": {}})


def test_extract(root: str) -> None:
    c = _container()
    files.extract(root, c, "/link", _tar({"new.txt": b"hi"}), "c")  # a symlink to a directory is fine
    with open(os.path.join(root, "etc", "new.txt"), "rb") as f:
        assert f.read() == b"hi"
    assert os.stat(os.path.join(root, "etc", "new.txt")).st_uid == 1234  # archive owners kept
    files.extract(root, c, "/escape", _tar({"top.txt": b"x"}), "c")  # resolved inside the root
    assert os.path.exists(os.path.join(root, "top.txt"))
    with pytest.raises(NotFound, match="Could not find the file /missing in container c"):
        files.extract(root, c, "/missing", _tar({"a": b""}), "c")
    with pytest.raises(InvalidParameter, match="extraction point is not a directory"):
        files.extract(root, c, "/etc/hostname", _tar({"a": b""}), "c")
    with pytest.raises(Forbidden, match="container rootfs is marked read-only"):
        files.extract(root, _container(ReadonlyRootfs=True), "/data", _tar({"a": b""}), "c")
    with pytest.raises(InvalidParameter, match="cannot overwrite directory"):
        files.extract(root, c, "/", _tar({"data": b"file"}), "c", no_overwrite_dir_non_dir=True)


def test_go_file_mode() -> None:
    import stat

    assert files.go_file_mode(stat.S_IFDIR | 0o755) == files.MODE_DIR | 0o755
    assert files.go_file_mode(stat.S_IFLNK | 0o777) == files.MODE_SYMLINK | 0o777
    assert files.go_file_mode(stat.S_IFCHR | 0o666) == files.MODE_DEVICE | files.MODE_CHAR_DEVICE | 0o666
    assert files.go_file_mode(stat.S_IFREG | stat.S_ISUID | 0o755) == files.MODE_SETUID | 0o755
