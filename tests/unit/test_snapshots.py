"""The snapshotter's contract, as data: keys, mounts, commits, crash garbage.

Nothing is mounted here (the integration tests mount); these check what the
snapshotter decides and leaves on disk, with a real store.
"""

from __future__ import annotations

import json
import os

import pytest

from baleine.engine.images.snapshots import Snapshots
from baleine.engine.runtime.mounts import Mount
from baleine.engine.store import Store
from baleine.rules.errors import InvalidParameter, NotFound


@pytest.fixture()
def snaps(tmp_path) -> Snapshots:  # noqa: ANN001 - pytest's tmp_path
    return Snapshots(str(tmp_path / "overlay"), Store(str(tmp_path / "db.sqlite")))


def _layer(snaps: Snapshots, name: str, parent: str, content: str) -> None:
    key = snaps.new_key("tmp-")
    snaps.prepare(key, parent)
    with open(os.path.join(snaps.upper(key), content), "w") as f:
        f.write(content)
    snaps.commit(name, key, diff_id="d" + name, size=1)


def test_prepare_without_parent_is_a_writable_bind(snaps: Snapshots) -> None:
    key = snaps.new_key()
    assert snaps.prepare(key, "") == [Mount("bind", snaps.upper(key), ("rbind", "rw"))]
    assert snaps.stat(key).kind == "active"
    assert os.path.isdir(snaps.mountpoint(key))


def test_commit_publishes_the_upper_and_drops_the_key(snaps: Snapshots) -> None:
    _layer(snaps, "sha256:a", "", "f1")
    layer = snaps.get("sha256:a")
    assert layer is not None and layer.parent == "" and layer.dir.startswith("l")
    assert os.listdir(snaps.diff_path(layer.dir)) == ["f1"]
    assert sorted(os.listdir(snaps.root)) == [layer.dir]  # the staging key is gone
    assert snaps.stat("sha256:a").kind == "committed"


def test_prepare_over_layers_with_init(snaps: Snapshots) -> None:
    _layer(snaps, "sha256:a", "", "f1")
    _layer(snaps, "sha256:b", "sha256:a", "f2")
    key = snaps.new_key()
    (m,) = snaps.prepare(key, "sha256:b", init=True)
    base = os.path.join(snaps.root, key)
    assert m.type == "overlay"
    lowers = [os.path.join(base, "init")] + snaps.lowers("sha256:b")
    assert m.options == ("lowerdir=" + ":".join(lowers), f"upperdir={base}/diff", f"workdir={base}/work")
    assert os.path.isfile(os.path.join(base, "init", "etc", "hosts"))
    assert snaps.stat(key).parent == "sha256:b"


def test_views_are_read_only(snaps: Snapshots) -> None:
    _layer(snaps, "sha256:a", "", "f1")
    _layer(snaps, "sha256:b", "sha256:a", "f2")
    one = snaps.new_key("v")
    assert snaps.view(one, "sha256:a") == [Mount("bind", snaps.lowers("sha256:a")[0], ("rbind", "ro"))]
    two = snaps.new_key("v")
    assert snaps.view(two, "sha256:b") == [Mount("overlay", "overlay",
                                                 ("lowerdir=" + ":".join(snaps.lowers("sha256:b")),))]
    empty = snaps.new_key("v")
    assert snaps.view(empty, "")[0].options == ("rbind", "ro")
    assert snaps.stat(two).kind == "view"


def test_commit_is_idempotent(snaps: Snapshots) -> None:
    _layer(snaps, "sha256:a", "", "f1")
    first = snaps.get("sha256:a")
    _layer(snaps, "sha256:a", "", "other")
    assert snaps.get("sha256:a") == first
    assert len(os.listdir(snaps.root)) == 1


def test_missing_parent_leaves_nothing(snaps: Snapshots) -> None:
    with pytest.raises(NotFound):
        snaps.prepare("cdead", "sha256:nope")
    assert os.listdir(snaps.root) == []


def test_bad_or_taken_keys(snaps: Snapshots) -> None:
    for bad in ("", "a/b", "l123", ".x"):
        with pytest.raises(InvalidParameter):
            snaps.prepare(bad, "")
    snaps.prepare("c1", "")
    with pytest.raises(InvalidParameter):
        snaps.prepare("c1", "")


def test_old_container_dirs_take_the_callers_parent(snaps: Snapshots) -> None:
    _layer(snaps, "sha256:a", "", "f1")
    key = snaps.new_key()
    snaps.prepare(key, "sha256:a", init=True)
    os.unlink(os.path.join(snaps.root, key, "snapshot.json"))  # as written before the record existed
    (m,) = snaps.mounts(key, "sha256:a")
    assert m.options[0] == "lowerdir=" + ":".join(snaps.container_lowers(key, "sha256:a"))


def test_walk_and_garbage_after_a_crash(snaps: Snapshots) -> None:
    _layer(snaps, "sha256:a", "", "f1")
    live = snaps.new_key()
    snaps.prepare(live, "sha256:a", init=True)
    staging = snaps.new_key("tmp-")  # an unpack the crash interrupted
    snaps.prepare(staging, "sha256:a")
    seen = {(i.name, i.kind) for i in snaps.walk()}
    assert seen == {("sha256:a", "committed"), (live, "active"), (staging, "active")}
    assert snaps.collect_garbage({live}) == [staging]
    with pytest.raises(NotFound):
        snaps.stat(staging)
    assert snaps.stat(live).kind == "active"
    with open(os.path.join(snaps.root, live, "snapshot.json")) as f:
        assert json.load(f) == {"kind": "active", "parent": "sha256:a", "init": True}
