"""The one in-root path resolver (moby's FollowSymlinkInScope): it never leaves the root."""

from __future__ import annotations

import os

import pytest

from baleine.filesystem import rootpath


@pytest.fixture()
def root(tmp_path) -> str:  # noqa: ANN001 - pytest's tmp_path
    """A small tree inside ``<tmp>/root``, next to a ``<tmp>/outside`` it must never reach."""
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (outside / "secret").write_text("host")
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "hostname").write_text("c")
    (r / "usr" / "lib").mkdir(parents=True)
    (r / "file").write_text("f")
    os.symlink("usr/lib", r / "lib")  # relative
    os.symlink("/etc", r / "abs")  # absolute: restarts at the root
    os.symlink("../../outside/secret", r / "up")  # climbs: stops at the root
    os.symlink("/../../../outside", r / "absup")
    os.symlink(str(outside), r / "hostabs")  # a host path: taken inside the root
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    os.symlink("self", r / "self")
    os.symlink("nowhere/x", r / "dangling")
    os.symlink("../etc/hostname", r / "usr" / "hn")
    os.symlink(".", r / "usr" / "dot")
    return str(r)


@pytest.mark.parametrize(("path", "expected"), [
    ("/", "/"),
    ("", "/"),
    ("/etc/hostname", "/etc/hostname"),
    ("etc//./hostname", "/etc/hostname"),
    ("/lib", "/usr/lib"),
    ("/lib/../etc", "/usr/etc"),  # '..' applies to the link's target, as in the container
    ("/abs/hostname", "/etc/hostname"),
    ("/usr/hn", "/etc/hostname"),
    ("/usr/dot/dot/lib", "/usr/lib"),
    # escapes through '..': stop at the root
    ("/../../etc/hostname", "/etc/hostname"),
    ("/usr/../../../..", "/"),
    ("/up", "/outside/secret"),
    ("/absup", "/outside"),
    ("/hostabs", None),  # the host directory's path, taken inside the root
])
def test_resolution_stays_in_the_root(root: str, path: str, expected: str | None) -> None:
    if expected is None:
        expected = os.path.join(os.path.dirname(root), "outside")
    assert rootpath.resolve(root, path) == expected


def test_missing_components_are_kept_lexically(root: str) -> None:
    assert rootpath.resolve(root, "/missing/a/b") == "/missing/a/b"
    assert rootpath.resolve(root, "/missing/../etc") == "/etc"
    assert rootpath.resolve(root, "/file/below") == "/file/below"
    # a dangling link is followed lexically to where its target would be
    assert rootpath.resolve(root, "/dangling") == "/nowhere/x"


def test_final_link_kept_when_not_followed(root: str) -> None:
    assert rootpath.resolve(root, "/abs", follow_final=False) == "/abs"
    assert rootpath.resolve(root, "/lib/", follow_final=False) == "/lib"
    assert rootpath.resolve(root, "/abs/hostname", follow_final=False) == "/etc/hostname"


@pytest.mark.parametrize("path", ["/loop1", "/self", "/loop1/x"])
def test_loops_raise(root: str, path: str) -> None:
    with pytest.raises(rootpath.TooManyLinks) as info:
        rootpath.resolve(root, path)
    assert path in str(info.value)


def test_strict_reports_the_missing_path(root: str) -> None:
    with pytest.raises(rootpath.Missing) as info:
        rootpath.resolve(root, "/etc/nope/x", strict=True)
    assert info.value.path == "/etc/nope/x"
    with pytest.raises(rootpath.Missing) as info:
        rootpath.resolve(root, "/dangling", strict=True)
    assert info.value.path == "/nowhere/x"
    with pytest.raises(rootpath.Missing) as info:
        rootpath.resolve(root, "/file/below", strict=True)
    assert info.value.path == "/file/below"
    assert rootpath.resolve(root, "/lib", strict=True) == "/usr/lib"


def test_host_path(root: str) -> None:
    assert rootpath.host_path(root, "/") == root
    assert rootpath.host_path(root, "/up") == os.path.join(root, "outside", "secret")
    assert rootpath.host_path(root, "/lib") == os.path.join(root, "usr", "lib")


def test_open_dir_never_follows_links(root: str) -> None:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert rootpath.open_dir(fd, "/lib") is None  # a link: the tree changed under us
        assert rootpath.open_dir(fd, "/missing") is None
        with pytest.raises(NotADirectoryError):
            rootpath.open_dir(fd, "/file")
        sub = rootpath.open_dir(fd, "/usr/lib")
        assert sub is not None
        os.close(sub)
    finally:
        os.close(fd)


def test_open_in_root_creates_inside_the_root_only(root: str) -> None:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert rootpath.open_in_root(fd, "/up/new") is None  # missing, not created
        sub = rootpath.open_in_root(fd, "/up/new", create=True)
        assert sub is not None
        os.close(sub)
        # '/up' -> ../../outside/secret: created inside the root, never next to it
        assert os.path.isdir(os.path.join(root, "outside", "secret", "new"))
        assert os.path.isfile(os.path.join(os.path.dirname(root), "outside", "secret"))
        sub = rootpath.open_in_root(fd, "/dangling", create=True)
        assert sub is not None
        os.close(sub)
        assert os.path.isdir(os.path.join(root, "nowhere", "x"))
        with pytest.raises(NotADirectoryError) as info:
            rootpath.open_in_root(fd, "/file/x", create=True)
        assert info.value.filename == "file"
        with pytest.raises(rootpath.TooManyLinks):
            rootpath.open_in_root(fd, "/loop1/x", create=True)
        top = rootpath.open_in_root(fd, "/")
        assert top is not None and os.path.samestat(os.fstat(top), os.stat(root))
        os.close(top)
    finally:
        os.close(fd)
