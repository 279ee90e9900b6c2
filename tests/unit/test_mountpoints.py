"""Parsing of -v and --mount into mount points, copy-up, and host paths for cp."""

from __future__ import annotations

import os

import pytest

from baleine.rules.errors import InvalidParameter
from baleine.engine.containers.mountpoints import MountPoints, copy_up, parse_bind, parse_mount
from baleine.engine.volumes.local import validate_name


def test_bind_and_volume_specs() -> None:
    p = parse_bind("/srv/data:/data:ro")
    assert (p["Type"], p["Source"], p["Destination"], p["RW"], p["Propagation"]) == \
        ("bind", "/srv/data", "/data", False, "rprivate")
    v = parse_bind("pgdata:/var/lib/postgresql/data")
    assert (v["Type"], v["Name"], v["RW"], v["Mode"]) == ("volume", "pgdata", True, "z")
    assert parse_bind("/a:/b:rshared,rw")["Propagation"] == "rshared"
    assert parse_bind("vol:/b:nocopy")["NoCopy"]


@pytest.mark.parametrize("spec, message", [
    ("/a:/b:bogus", "invalid mode: bogus"),
    ("/a:/b:ro,rw", "invalid mode: ro,rw"),
    ("/a", "invalid volume specification: '/a'"),
    ("/a:b", "mount path must be absolute"),
    ("bad/name:/b", "includes invalid characters for a local volume name"),
    ("/a:/", "destination can't be '/'"),
])
def test_bind_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_bind(spec)


def test_mount_specs(tmp_path) -> None:
    b = parse_mount({"Type": "bind", "Source": str(tmp_path), "Target": "/x", "ReadOnly": True,
                     "BindOptions": {"Propagation": "rslave"}})
    assert (b["Source"], b["RW"], b["Propagation"]) == (str(tmp_path), False, "rslave")
    with pytest.raises(InvalidParameter, match="bind source path does not exist: /nope"):
        parse_mount({"Type": "bind", "Source": "/nope", "Target": "/x"})
    t = parse_mount({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 0o700}})
    assert t["TmpfsData"] == ["size=1048576", "mode=700"]
    with pytest.raises(InvalidParameter, match="source must not be specified"):
        parse_mount({"Type": "tmpfs", "Source": "x", "Target": "/t"})
    v = parse_mount({"Type": "volume", "Target": "/v", "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"}}})
    assert v["Name"] == "" and v["NoCopy"] and v["VolumeLabels"] == {"a": "b"}
    with pytest.raises(InvalidParameter, match="mount type unknown"):
        parse_mount({"Type": "npipe", "Target": "/p"})


def test_volume_names() -> None:
    validate_name("pg-data_1.x")
    with pytest.raises(InvalidParameter):
        validate_name("-x")


def test_copy_up_fills_an_empty_volume_and_takes_the_owner(tmp_path) -> None:
    src, dst = tmp_path / "image", tmp_path / "vol"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("x")
    os.symlink("sub/f", src / "link")
    os.chown(src, 1234, 4321)
    os.chmod(src, 0o700)
    dst.mkdir()
    copy_up(str(src), str(dst))
    assert (dst / "sub" / "f").read_text() == "x"
    assert os.readlink(dst / "link") == "sub/f"
    st = os.stat(dst)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1234, 4321, 0o700)
    (src / "new").write_text("y")
    copy_up(str(src), str(dst))  # not empty any more: nothing copied
    assert not (dst / "new").exists()


class _C:
    def __init__(self, mounts: list[dict]) -> None:
        self.private = {"mounts": mounts}


def test_host_path_for_cp() -> None:
    mp = MountPoints.__new__(MountPoints)
    c = _C([{"Type": "volume", "Destination": "/data", "Source": "/v/x/_data", "Name": "x"},
            {"Type": "bind", "Destination": "/data/sub", "Source": "/srv/sub"},
            {"Type": "tmpfs", "Destination": "/tmp", "Source": ""}])
    assert mp.host_path(c, "/data/a/b") == "/v/x/_data/a/b"
    assert mp.host_path(c, "/data") == "/v/x/_data"
    assert mp.host_path(c, "/data/sub/f") == "/srv/sub/f"
    assert mp.host_path(c, "/datax") is None
    assert mp.host_path(c, "/tmp/f") is None
    assert mp.host_path(c, "/etc/passwd") is None
