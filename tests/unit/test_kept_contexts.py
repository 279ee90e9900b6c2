"""``baleine.build.kept_contexts``: a successful build's context directory is reused
by the next build of the same bytes and Dockerfile name, and by nothing else."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from baleine.build import kept_contexts
from baleine.build.kept_contexts import KeptContexts
from baleine.rules.errors import InvalidParameter


def tar_of(files: dict[str, str], mtime: int = 1_700_000_000) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tree(path: str) -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, path)] = Path(full).read_text()
    return out


def ino(path: str, name: str = "Dockerfile") -> int:
    return os.stat(os.path.join(path, name)).st_ino


@pytest.fixture
def store(tmp_path: Path) -> KeptContexts:
    return KeptContexts(str(tmp_path))


CTX = {"Dockerfile": "FROM busybox\nCOPY a /\n", "a": "one\n"}


def test_a_successful_build_s_context_is_reused_for_the_same_bytes(store: KeptContexts) -> None:
    data = tar_of(CTX)
    first = store.take(data, "Dockerfile")
    assert tree(first) == CTX
    inode = ino(first)
    store.release(first, keep=True)
    assert not os.path.exists(first)
    second = store.take(data, "Dockerfile")
    assert second != first and ino(second) == inode and tree(second) == CTX
    # Taken: a concurrent build of the same bytes unpacks its own copy.
    third = store.take(data, "Dockerfile")
    assert ino(third) != inode and tree(third) == CTX
    store.release(second, keep=True)
    store.release(third, keep=True)  # the first one back is kept; this one removed
    assert not os.path.exists(third) and len(os.listdir(store.root)) == 1


@pytest.mark.parametrize("other", [
    pytest.param(lambda: (tar_of({**CTX, "a": "two\n"}), "Dockerfile"), id="content"),
    pytest.param(lambda: (tar_of(CTX, mtime=1_700_000_001), "Dockerfile"), id="mtime"),
    pytest.param(lambda: (tar_of(CTX), "a"), id="dockerfile-name"),
])
def test_anything_else_gets_a_fresh_directory(store: KeptContexts, other) -> None:  # noqa: ANN001
    first = store.take(tar_of(CTX), "Dockerfile")
    inode = ino(first)
    store.release(first, keep=True)
    data, dockerfile = other()
    fresh = store.take(data, dockerfile)
    assert ino(fresh) != inode
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:  # the new bytes, unpacked
        member = tar.getmember("a")
        content = tar.extractfile(member).read()  # type: ignore[union-attr]
    assert Path(fresh, "a").read_bytes() == content
    assert os.stat(os.path.join(fresh, "a")).st_mtime == member.mtime


def test_failed_builds_compressed_and_large_contexts_are_not_kept(store: KeptContexts,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = store.take(tar_of(CTX), "Dockerfile")
    store.release(path, keep=False)
    assert not os.path.exists(path) and not os.path.exists(store.root)
    zipped = store.take(gzip.compress(tar_of(CTX)), "Dockerfile")
    assert tree(zipped) == CTX
    store.release(zipped, keep=True)
    assert not os.path.exists(zipped) and not os.path.exists(store.root)
    monkeypatch.setattr(kept_contexts, "MAX_BYTES", 1024)
    big = store.take(tar_of({**CTX, "b": "x" * 4096}), "Dockerfile")
    store.release(big, keep=True)
    assert not os.path.exists(big) and not os.path.exists(store.root)
    plain = store.new_dir()
    store.release(plain, keep=True)  # not from a tar: nothing to key it by
    assert not os.path.exists(plain) and not os.path.exists(store.root)


def test_a_context_whose_dockerfile_was_ignored_is_not_kept(store: KeptContexts) -> None:
    path = store.take(tar_of(CTX), "Dockerfile")
    os.unlink(os.path.join(path, "Dockerfile"))  # what apply_dockerignore does when it matches
    store.release(path, keep=True)
    assert not os.path.exists(store.root)


def test_at_most_max_kept_the_least_recently_used_go(store: KeptContexts, tmp_path: Path) -> None:
    datas = [tar_of({**CTX, "a": f"{i}\n"}) for i in range(kept_contexts.MAX_KEPT + 2)]
    for i, data in enumerate(datas):
        path = store.take(data, "Dockerfile")
        store.checksums(path)["which"] = str(i)  # marks the directory (inodes of removed ones get reused)
        store.release(path, keep=True)
        time.sleep(0.02)  # file times are coarse (a clock tick): releases in a clear order
    assert len(os.listdir(store.root)) == kept_contexts.MAX_KEPT
    reused = [store.checksums(store.take(data, "Dockerfile")).get("which") for data in datas]
    assert reused == [None, None] + [str(i) for i in range(2, kept_contexts.MAX_KEPT + 2)]
    assert not [n for n in os.listdir(tmp_path) if n.startswith("ctx-gone-")]


def test_a_corrupt_tar_raises_and_leaves_nothing(store: KeptContexts, tmp_path: Path) -> None:
    data = tar_of(CTX)
    with pytest.raises(InvalidParameter):
        store.take(data[:700], "Dockerfile")
    assert os.listdir(tmp_path) == []


def test_the_checksums_memo_goes_with_the_directory(store: KeptContexts) -> None:
    data = tar_of(CTX)
    first = store.take(data, "Dockerfile")
    memo = store.checksums(first)
    assert memo == {}
    memo["COPY a"] = "sha256:x"
    store.release(first, keep=True)
    again = store.take(data, "Dockerfile")
    assert store.checksums(again) == {"COPY a": "sha256:x"}
    store.release(again, keep=False)  # a failed build: directory and memo gone
    fresh = store.take(data, "Dockerfile")
    assert store.checksums(fresh) == {}
    assert store.checksums(store.new_dir()) is None
    assert store.checksums(store.take(tar_of({**CTX, "a": "two\n"}), "Dockerfile")) == {}
