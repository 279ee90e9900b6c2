"""baleine.client.context_cache through build_context.prepare: an unchanged tree's
tar comes from the cache, any change (even one keeping size and mtime) or a racy
tree does not, and a broken cache only means no cache."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from baleine.client import context_cache
from baleine.client.build_context import prepare


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(context_cache, "RACY_NS", 0)  # files made by the test are "old enough"
    return tmp_path / "xdg" / "baleine" / "contexts"


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (ctx / ".dockerignore").write_text("*.log\n")
    (ctx / "src" / "a.txt").write_text("alpha\n")
    (ctx / "debug.log").write_text("x")
    return ctx


def _read(body) -> tuple[str, dict[str, bytes]]:  # noqa: ANN001
    with body:
        name = getattr(body, "name", "")
        with tarfile.open(fileobj=body) as tar:
            files = {m.name: tar.extractfile(m).read() if m.isreg() else b"" for m in tar.getmembers()}
    return str(name), files


def test_unchanged_tree_comes_from_the_cache_with_the_same_bytes(tmp_path: Path, cache: Path) -> None:
    ctx = _context(tmp_path)
    first_name, first = _read(prepare(str(ctx), "")[0])
    assert not str(first_name).startswith(str(cache))  # built, then stored
    assert len(list(cache.glob("*.tar"))) == 1
    second_name, second = _read(prepare(str(ctx), "")[0])
    assert second_name.startswith(str(cache))  # the stored tar, not a new one
    assert second == first
    assert sorted(first) == [".dockerignore", "Dockerfile", "src", "src/a.txt"]


def test_a_change_keeping_size_and_mtime_is_seen(tmp_path: Path, cache: Path) -> None:
    ctx = _context(tmp_path)
    _read(prepare(str(ctx), "")[0])
    target = ctx / "src" / "a.txt"
    st = target.stat()
    target.write_text("omega\n")  # same size
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: ctime still moves
    name, files = _read(prepare(str(ctx), "")[0])
    assert not name.startswith(str(cache))
    assert files["src/a.txt"] == b"omega\n"
    assert len(list(cache.glob("*.tar"))) == 1  # the directory's older tar was replaced


def test_dockerignore_and_new_files_change_the_tar(tmp_path: Path, cache: Path) -> None:
    ctx = _context(tmp_path)
    _read(prepare(str(ctx), "")[0])
    (ctx / ".dockerignore").write_text("src\n")
    _, files = _read(prepare(str(ctx), "")[0])
    assert sorted(files) == [".dockerignore", "Dockerfile", "debug.log"]
    (ctx / "new.txt").write_text("n")
    _, files = _read(prepare(str(ctx), "")[0])
    assert "new.txt" in files


def test_a_racy_tree_is_not_stored(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context_cache, "RACY_NS", 60_000_000_000)
    ctx = _context(tmp_path)
    _read(prepare(str(ctx), "")[0])
    assert not cache.exists() or not list(cache.glob("*.tar"))


def test_an_outside_dockerfile_is_never_cached(tmp_path: Path, cache: Path) -> None:
    ctx = _context(tmp_path)
    other = tmp_path / "Other.Dockerfile"
    other.write_text("FROM scratch\n")
    _, files = _read(prepare(str(ctx), str(other))[0])
    assert any(n.startswith(".dockerfile.") for n in files)
    assert not cache.exists() or not list(cache.glob("*.tar"))


def test_an_unusable_cache_only_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(context_cache, "RACY_NS", 0)
    ctx = _context(tmp_path)
    for _ in range(2):
        _, files = _read(prepare(str(ctx), "")[0])
        assert files["src/a.txt"] == b"alpha\n"


def test_the_cache_keeps_a_bounded_number_of_tars(tmp_path: Path, cache: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context_cache, "MAX_ENTRIES", 2)
    for i in range(4):
        ctx = tmp_path / f"c{i}"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text("FROM scratch\n")
        _read(prepare(str(ctx), "")[0])
    assert len(list(cache.glob("*.tar"))) == 2
