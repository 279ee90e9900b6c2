"""Resolving a path inside a root filesystem, following symlinks without leaving it.

The one implementation of moby's ``FollowSymlinkInScope`` semantics, used by
``docker cp``/``export`` (containers/files.py, and the extraction and archives
of images/layers.py through :func:`open_in_root`), build COPY/ADD destinations
(build/fsops.py) and build-context reads (build/context.py):

* the path is taken as absolute in the root; ``..`` at the root stays there;
* a symlink is followed as the container would see it: an absolute target
  restarts at the root, a relative one continues from the link's directory;
* components that do not exist (or sit below a non-directory) are kept as
  written (``strict`` makes them an error instead);
* after :data:`MAX_SYMLINKS` links, :class:`TooManyLinks`.

Safety: the tree may be changing while we walk it (a running container). Every
lookup is relative to a directory descriptor opened with ``O_NOFOLLOW``, and no
symlink is ever followed by the kernel: only by this walk, which never climbs
above the root. Blocking: call from a worker thread.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat

from ..rules.errors import EngineError

#: moby's limit (pkg/symlink): more links than this is a loop.
MAX_SYMLINKS = 255

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class TooManyLinks(EngineError):
    """More than :data:`MAX_SYMLINKS` symlinks met while resolving ``path``."""

    def __init__(self, path: str) -> None:
        super().__init__(f"too many links in {path}")
        self.path = path


class Missing(Exception):
    """``strict`` resolution met a missing component; ``path`` is the root-absolute
    path of that component followed by the rest still to resolve."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def resolve_fd(rootfd: int, path: str, *, follow_final: bool = True, strict: bool = False) -> str:
    """``path`` with every symlink resolved as if ``rootfd`` were ``/``.

    Returns a clean absolute path (``/`` for the root). ``follow_final`` False
    keeps a symlink in the last position as is (lstat semantics). ``strict``
    raises :class:`Missing` when a component does not exist or a non-directory
    has components below it, instead of keeping them lexically.
    """
    todo = [p for p in path.split("/") if p and p != "."][::-1]
    resolved: list[str] = []
    fds: list[int] = []  # descriptors of resolved[:len(fds)], all existing directories
    links = 0
    try:
        while todo:
            comp = todo.pop()
            if comp == ".":
                continue
            if comp == "..":
                if resolved:
                    resolved.pop()
                    if len(fds) > len(resolved):
                        os.close(fds.pop())
                continue
            if len(fds) < len(resolved):  # below something missing: lexical from here on
                resolved.append(comp)
                continue
            cur = fds[-1] if fds else rootfd
            try:
                st = os.stat(comp, dir_fd=cur, follow_symlinks=False)
            except OSError:  # missing, below a non-directory, unreadable: lexical
                if strict:
                    raise Missing(posixpath.join("/", *resolved, comp, *todo[::-1])) from None
                resolved.append(comp)
                continue
            if stat.S_ISLNK(st.st_mode) and (todo or follow_final):
                links += 1
                if links > MAX_SYMLINKS:
                    raise TooManyLinks(path)
                try:
                    target = os.readlink(comp, dir_fd=cur)
                except OSError:
                    # Gone meanwhile, or unreadable from here (procfs' "self" of
                    # another PID namespace): keep the name as written.
                    resolved.append(comp)
                    continue
                if target.startswith("/"):
                    while fds:
                        os.close(fds.pop())
                    resolved.clear()
                todo.extend([p for p in target.split("/") if p and p != "."][::-1])
                continue
            if strict and todo and not stat.S_ISDIR(st.st_mode):
                raise Missing(posixpath.join("/", *resolved, comp, *todo[::-1]))
            resolved.append(comp)
            if stat.S_ISDIR(st.st_mode):
                try:
                    fds.append(os.open(comp, _O_DIR, dir_fd=cur))
                except OSError:
                    pass  # replaced meanwhile: what follows is resolved lexically
    finally:
        for fd in fds:
            os.close(fd)
    return "/" + "/".join(resolved)


def resolve(root: str, path: str, *, follow_final: bool = True, strict: bool = False) -> str:
    """:func:`resolve_fd` with the root given as a host directory."""
    rootfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return resolve_fd(rootfd, path, follow_final=follow_final, strict=strict)
    finally:
        os.close(rootfd)


def host_path(root: str, path: str, *, follow_final: bool = True, strict: bool = False) -> str:
    """The host path of ``path`` resolved inside ``root`` (``root`` itself for ``/``)."""
    inner = resolve(root, path, follow_final=follow_final, strict=strict)
    return os.path.join(root, inner[1:]) if inner != "/" else root


def open_dir(rootfd: int, path: str) -> int | None:
    """A descriptor of directory ``path`` (already resolved) inside ``rootfd``.

    No symlink is followed (one appearing means the tree changed under us: an
    error, never an escape). Returns None when a component is missing; raises
    NotADirectoryError when one is not a directory.
    """
    fd = os.dup(rootfd)
    try:
        for comp in [p for p in path.split("/") if p and p != "."]:
            if comp == "..":
                raise NotADirectoryError(errno.ENOTDIR, "unexpected '..'", path)
            try:
                nfd = os.open(comp, _O_DIR, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ENOENT, errno.ELOOP):
                    # Missing, or a link the resolution could not follow (e.g.
                    # procfs' "self" seen from another PID namespace).
                    os.close(fd)
                    return None
                if err.errno == errno.ENOTDIR:
                    # O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR too.
                    if stat.S_ISLNK(os.stat(comp, dir_fd=fd, follow_symlinks=False).st_mode):
                        os.close(fd)
                        return None
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path) from None
                raise
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        try:
            os.close(fd)
        except OSError:
            pass
        raise


def open_in_root(rootfd: int, path: str, *, create: bool = False) -> int | None:
    """A descriptor (the caller's) of the directory ``path`` resolved inside
    ``rootfd`` (:func:`resolve_fd`), like ``openat2(RESOLVE_IN_ROOT)``.

    Missing directories are created (mode 0755) when ``create``, else None is
    returned. Raises NotADirectoryError (``filename``: the component) when a
    component is not a directory, or turned into a symlink since it was resolved
    (an error, never an escape), and :class:`TooManyLinks` on a loop.
    """
    resolved = resolve_fd(rootfd, path)
    fd = os.dup(rootfd)
    try:
        for comp in [p for p in resolved.split("/") if p]:
            try:
                nfd = os.open(comp, _O_DIR, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    return None
                try:
                    os.mkdir(comp, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                nfd = os.open(comp, _O_DIR, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), comp) from None
                raise
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


__all__ = ["MAX_SYMLINKS", "Missing", "TooManyLinks", "host_path", "open_dir", "open_in_root", "resolve",
           "resolve_fd"]
