"""``--user`` / ``--group-add`` resolution (runc's GetExecUser rules)."""

from __future__ import annotations

import os

import pytest

from baleine.rules.errors import InvalidParameter
from baleine.engine.runtime.users import (
    get_additional_groups,
    get_exec_user,
    open_in_root,
    read_in_root,
    resolve_user,
)

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:100::/home/bob:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """\
root:x:0:
daemon:x:1:
users:x:100:alice
alice:x:1000:
wheel:x:10:alice,bob
docker:x:999:bob
nogroup:x:65534:
"""


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    return str(root)


@pytest.mark.parametrize("spec, expected", [
    ("", (0, 0, [], "/root")),
    ("root", (0, 0, [], "/root")),
    ("0", (0, 0, [], "/root")),
    ("alice", (1000, 1000, [100, 10], "/home/alice")),
    ("1000", (1000, 1000, [100, 10], "/home/alice")),
    ("bob", (1001, 100, [10, 999], "/home/bob")),
    ("alice:wheel", (1000, 10, [], "/home/alice")),
    ("alice:999", (1000, 999, [], "/home/alice")),
    ("1000:1000", (1000, 1000, [], "/home/alice")),
    ("1000:4242", (1000, 4242, [], "/home/alice")),
    ("4242", (4242, 0, [], "/")),
    ("4242:4242", (4242, 4242, [], "/")),
    ("4242:users", (4242, 100, [], "/")),
    ("nobody", (65534, 65534, [], "/nonexistent")),
])
def test_get_exec_user(spec, expected):
    assert tuple(get_exec_user(spec, PASSWD, GROUP)) == expected


def test_unknown_user_wording():
    with pytest.raises(InvalidParameter) as e:
        get_exec_user("x", PASSWD, GROUP)
    assert str(e.value) == "unable to find user x: no matching entries in passwd file"


def test_unknown_group_wording():
    with pytest.raises(InvalidParameter) as e:
        get_exec_user("alice:nope", PASSWD, GROUP)
    assert str(e.value) == "unable to find group nope: no matching entries in group file"


def test_ids_out_of_range():
    with pytest.raises(InvalidParameter, match="range"):
        get_exec_user("-1", PASSWD, GROUP)
    with pytest.raises(InvalidParameter, match="range"):
        get_exec_user("1:2147483648", PASSWD, GROUP)


def test_missing_files():
    assert tuple(get_exec_user("", None, None)) == (0, 0, [], "/")
    assert tuple(get_exec_user("12:34", None, None)) == (12, 34, [], "/")
    with pytest.raises(InvalidParameter):
        get_exec_user("alice", None, None)
    with pytest.raises(InvalidParameter):
        get_exec_user("0:wheel", PASSWD, None)


def test_first_match_wins_and_tolerance():
    passwd = "dup:x:5:5::/a:/bin/sh\ndup:x:6:6::/b:/bin/sh\n\n  \nshort:x:7\nbad:x:zz:1::/c:\n"
    assert tuple(get_exec_user("dup", passwd, "")) == (5, 5, [], "/a")
    assert tuple(get_exec_user("short", passwd, "")) == (7, 0, [], "/")
    assert tuple(get_exec_user("bad", passwd, "")) == (0, 1, [], "/c")


def test_additional_groups():
    assert get_additional_groups(["wheel", "999", "5000"], GROUP) == [10, 999, 5000]
    assert get_additional_groups(["wheel", "10"], GROUP) == [10]
    assert get_additional_groups(["77"], None) == [77]
    with pytest.raises(InvalidParameter) as e:
        get_additional_groups(["nope"], GROUP)
    assert str(e.value) == "Unable to find group nope: no matching entries in group file"
    with pytest.raises(InvalidParameter, match="range"):
        get_additional_groups(["-3"], GROUP)


def test_resolve_user_reads_rootfs(rootfs):
    assert tuple(resolve_user(rootfs, "bob", ["docker", "50"])) == (
        1001, 100, [10, 999, 50], "/home/bob")
    assert tuple(resolve_user(rootfs, "alice:alice", ["wheel"])) == (
        1000, 1000, [10], "/home/alice")


def test_symlinks_resolve_inside_the_rootfs(tmp_path):
    # An image whose /etc/passwd points at "/etc/shadow-ish" must get the
    # rootfs's file, never the host's.
    host_file = tmp_path / "host-passwd"
    host_file.write_text("evil:x:0:0::/:/bin/sh\n")
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "pw").write_text("inside:x:42:42::/in:/bin/sh\n")
    os.symlink("../../../../../../../../data/pw", root / "etc" / "passwd")
    os.symlink(str(host_file), root / "etc" / "group")
    assert tuple(resolve_user(str(root), "inside")) == (42, 42, [], "/in")
    # The absolute link /…/host-passwd is looked up under the rootfs: missing.
    assert read_in_root(str(root), "/etc/group") is None
    with pytest.raises(InvalidParameter):
        resolve_user(str(root), "evil")


def test_symlinked_directories_and_dotdot(tmp_path):
    root = tmp_path / "rootfs"
    (root / "real" / "etc").mkdir(parents=True)
    (root / "real" / "etc" / "passwd").write_text("u:x:9:9::/h:/bin/sh\n")
    os.symlink("/real/etc", root / "etc")
    assert read_in_root(str(root), "/etc/passwd").startswith("u:x:9")
    assert read_in_root(str(root), "/../../real/./etc/../etc/passwd").startswith("u:x:9")


def test_symlink_loop_and_non_regular_files(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    os.symlink("passwd", root / "etc" / "passwd")
    with pytest.raises(OSError):
        open_in_root(str(root), "/etc/passwd")
    assert read_in_root(str(root), "/etc/passwd") is None
    os.mkfifo(root / "etc" / "group")  # must not block
    assert read_in_root(str(root), "/etc/group") is None
    (root / "etc" / "dir").mkdir()
    assert read_in_root(str(root), "/etc/dir") is None
    assert read_in_root(str(root), "/") is None


def test_missing_rootfs_files_default_to_root(tmp_path):
    assert tuple(resolve_user(str(tmp_path), "")) == (0, 0, [], "/")
    assert tuple(resolve_user(str(tmp_path), "1000:1000", ["5"])) == (1000, 1000, [5], "/")
