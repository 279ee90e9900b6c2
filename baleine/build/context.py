"""The build context: a directory tree COPY and ADD read from, and nothing else.

The context arrives as a tar (maybe compressed) and is unpacked into a private
directory (:func:`extract`); ``.dockerignore`` is applied there too, so a client
that did not filter (a raw tar, ``docker build - < ctx.tar``) gets Docker's
semantics, and the Dockerfile and ``.dockerignore`` themselves are removed when
they are ignored (they are still read to run the build).

Source paths are resolved inside the context only (:meth:`Context.resolve`): a
path that climbs out with ``..`` is refused ("forbidden path outside the build
context"), an absolute path is taken from the context's root, and symlinks are
followed as if the context were the root directory, so none can point outside.
Wildcards (``*``, ``?``, ``[...]``) match like Go's ``filepath.Match``, one path
component at a time.

:func:`tree_digest` computes the checksum the cache uses for copied files: the
relative paths, types, permission bits, sizes, content and link targets (not
times, nor owners when the copy resets them), as Docker's classic builder and
BuildKit do.

Blocking (file I/O): call from worker threads.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import re
import shutil
import stat
from dataclasses import dataclass
from typing import BinaryIO

from ..engine.images import compression
from ..filesystem import layers, rootpath
from ..rules.errors import InvalidParameter, NotFound
from ..rules.dockerignore import PatternMatcher, clean, read_patterns

_WILDCARD = re.compile(r"[*?\[]")


class ContextError(InvalidParameter):
    """A source path cannot be used (outside the context, missing...)."""


def extract(stream: BinaryIO, dest: str) -> None:
    """Unpack a (possibly compressed) context tar into the empty directory ``dest``.

    Entries cannot land outside ``dest`` (see ``layers.untar_into``). Raises
    InvalidParameter for a corrupt archive.
    """
    raw = compression.open_decompressed(stream)
    layers.untar_into(raw, dest)


def is_tar(head: bytes) -> bool:
    """Whether the first bytes of a stream look like a tar (plain or compressed)."""
    kind = compression.detect(head[:512])
    if kind != "none":
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def apply_dockerignore(root: str, dockerfile: str) -> list[str]:
    """Delete what ``root/.dockerignore`` excludes; return the patterns.

    ``.dockerignore`` and the Dockerfile (``dockerfile``, relative) are removed
    only if they themselves match (moby's removeDockerfile): the caller has read
    the Dockerfile before.
    """
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8", errors="replace") as f:
            patterns = read_patterns(f.read())
    except FileNotFoundError:
        return []
    if not patterns:
        return patterns
    try:
        pm = PatternMatcher(patterns)
    except ValueError as exc:
        raise InvalidParameter(f"error checking context: {exc}") from None
    can_skip_dirs = not pm.exclusions
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        keep_dirs = []
        for d in dirs:
            rel = posixpath.join(rel_dir, d) if rel_dir else d
            if pm.matches(rel) and can_skip_dirs:
                shutil.rmtree(os.path.join(dirpath, d), ignore_errors=True)
                continue
            keep_dirs.append(d)
        dirs[:] = keep_dirs
        for name in files:
            rel = posixpath.join(rel_dir, name) if rel_dir else name
            if pm.matches(rel):
                os.unlink(os.path.join(dirpath, name))
    if not can_skip_dirs:
        # Directories that are excluded and now empty (their re-included files kept them).
        for dirpath, dirs, files in os.walk(root, topdown=False):
            rel = os.path.relpath(dirpath, root)
            if rel != "." and not os.listdir(dirpath) and pm.matches(rel):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass
    return patterns


@dataclass
class Source:
    """A resolved source: ``path`` on the host, ``rel`` its path in the context
    (or source root), ``st`` its lstat, ``parents_rel`` the path used by
    ``COPY --parents``."""

    path: str
    rel: str
    st: os.stat_result
    parents_rel: str = ""


class Context:
    """A directory acting as the root of a build context (or of a stage's rootfs
    for ``COPY --from``); every lookup stays inside it."""

    def __init__(self, root: str, what: str = "build context") -> None:
        self.root = os.path.realpath(root)
        self.what = what

    def resolve(self, rel: str, follow_final: bool = True) -> str:
        """The host path of ``rel`` as seen from the root (symlinks followed inside it).

        Raises ContextError when ``rel`` climbs above the root with ``..`` and
        NotFound (with the missing path) when a component does not exist.
        """
        if _escapes(rel):
            raise ContextError(f"forbidden path outside the {self.what}: {rel} ()")
        return self._walk(rel, follow_final)

    def _walk(self, rel: str, follow_final: bool) -> str:
        try:
            return rootpath.host_path(self.root, rel, follow_final=follow_final, strict=True)
        except rootpath.Missing as missing:
            raise NotFound(missing.path) from None
        except rootpath.TooManyLinks:
            raise ContextError(f"too many levels of symbolic links: {rel}") from None

    def sources(self, pattern: str, excludes: list[str] | None = None) -> list[Source]:
        """The sources a COPY/ADD path names: one path, or every match of a wildcard.

        Raises ContextError/NotFound with Docker's wording when nothing matches.
        """
        if _escapes(pattern):
            raise ContextError(f"forbidden path outside the {self.what}: {pattern} ()")
        parents_rel = _parents_rel(pattern)
        norm = clean("/" + pattern).lstrip("/") or "."
        if not _WILDCARD.search(norm):
            try:
                host = self.resolve(norm)
                st = os.lstat(host)
            except NotFound:
                raise NotFound(f"file not found in {self.what} or excluded by .dockerignore: stat {pattern}: "
                               "file does not exist") from None
            out = [Source(host, norm, st, parents_rel)]
        else:
            out = [s for s in self._glob(norm)]
            for s in out:
                s.parents_rel = _parents_rel_for(pattern, s.rel)
            if not out:
                raise NotFound(f"no source files were specified (nothing in the {self.what} matches {pattern})")
        if excludes:
            pm = PatternMatcher(excludes)
            # A named source is excluded by its path in the context or its own name.
            out = [s for s in out if not pm.matches(s.rel) and not pm.matches(posixpath.basename(s.rel))]
        return out

    def _glob(self, pattern: str) -> list[Source]:
        parts = pattern.split("/")
        matches: list[tuple[str, str]] = [("", self.root)]  # (rel, host dir)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: list[tuple[str, str]] = []
            for rel, host in matches:
                if _WILDCARD.search(part):
                    try:
                        names = sorted(os.listdir(host))
                    except (NotADirectoryError, FileNotFoundError):
                        continue
                    regex = re.compile(_go_match_regex(part))
                    for name in names:
                        if regex.match(name):
                            nxt.append((posixpath.join(rel, name) if rel else name, os.path.join(host, name)))
                else:
                    nxt.append((posixpath.join(rel, part) if rel else part, os.path.join(host, part)))
            resolved = []
            for rel, host in nxt:
                try:
                    # Named sources are followed (inside the root), like a plain path.
                    real = self.resolve(rel)
                    st = os.lstat(real)
                except NotFound:
                    continue
                if not last and not stat.S_ISDIR(st.st_mode):
                    continue
                resolved.append((rel, real, st))
            if last:
                return [Source(real, rel, st) for rel, real, st in resolved]
            matches = [(rel, real) for rel, real, _ in resolved]
        return []


def _escapes(rel: str) -> bool:
    """Whether a relative path climbs above its root (absolute paths are taken
    from the root, as Docker does)."""
    depth = 0
    for comp in rel.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if depth == 0:
                return True
            depth -= 1
        else:
            depth += 1
    return False


def _parents_rel(pattern: str) -> str:
    """The part of a source path ``COPY --parents`` keeps: after a ``/./`` pivot, else all."""
    p = pattern
    if "/./" in p:
        p = p.split("/./", 1)[1]
    elif p.startswith("./"):
        p = p[2:]
    return clean("/" + p).lstrip("/")


def _parents_rel_for(pattern: str, rel: str) -> str:
    if "/./" in pattern:
        pivot = clean("/" + pattern.split("/./", 1)[0]).lstrip("/")
        depth = len([c for c in pivot.split("/") if c])
        return "/".join(rel.split("/")[depth:])
    return rel


def _go_match_regex(part: str) -> str:
    """Go's filepath.Match syntax for one component, as a regex."""
    out = []
    i, n = 0, len(part)
    while i < n:
        ch = part[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            j = i + 1
            if j < n and part[j] == "^":
                j += 1
            if j < n and part[j] == "]":
                j += 1
            while j < n and part[j] != "]":
                j += 2 if part[j] == "\\" else 1
            if j >= n:
                out.append(re.escape(ch))  # unterminated: Go errors, treat literally
            else:
                body = part[i + 1:j]
                if body.startswith("^"):
                    body = "^" + body[1:]
                out.append("[" + body + "]")
                i = j
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(part[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "^" + "".join(out) + "$"


# -- checksums ----------------------------------------------------------------------------


def tree_digest(sources: list[Source], with_owner: bool = False, excludes: list[str] | None = None) -> str:
    """A digest of the content and metadata of ``sources`` (recursively for directories).

    Covers relative paths, file types, permission bits, sizes, file content and
    symlink targets; owners only with ``with_owner`` (copies from another stage
    keep them; copies from the context reset them). Times are left out: touching
    a file does not invalidate the cache.
    """
    h = hashlib.sha256()
    pm = PatternMatcher(excludes) if excludes else None
    for src in sources:
        h.update(b"\0S" + src.rel.encode("utf-8", "surrogateescape"))
        _digest_entry(h, src.path, "", src.st, with_owner)
        if stat.S_ISDIR(src.st.st_mode):
            for dirpath, dirs, files in os.walk(src.path):
                dirs.sort()
                base = os.path.relpath(dirpath, src.path)
                base = "" if base == "." else base
                names = sorted(dirs + files)
                for name in names:
                    rel = posixpath.join(base, name) if base else name
                    # Inside a copied directory, patterns are relative to it (as BuildKit's).
                    if pm is not None and pm.matches(rel):
                        if name in dirs:
                            dirs.remove(name)
                        continue
                    path = os.path.join(dirpath, name)
                    try:
                        st = os.lstat(path)
                    except FileNotFoundError:
                        continue
                    _digest_entry(h, path, rel, st, with_owner)
    return "sha256:" + h.hexdigest()


def _digest_entry(h, path: str, rel: str, st: os.stat_result, with_owner: bool) -> None:  # noqa: ANN001
    mode = st.st_mode
    head = f"\0E{rel}\0{stat.S_IFMT(mode)}\0{stat.S_IMODE(mode)}"
    if with_owner:
        head += f"\0{st.st_uid}:{st.st_gid}"
    if stat.S_ISREG(mode):
        head += f"\0{st.st_size}"
        h.update(head.encode("utf-8", "surrogateescape"))
        h.update(file_digest(path).encode())
    elif stat.S_ISLNK(mode):
        h.update(head.encode("utf-8", "surrogateescape"))
        h.update(os.readlink(path).encode("utf-8", "surrogateescape"))
    else:
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            head += f"\0{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        h.update(head.encode("utf-8", "surrogateescape"))


def file_digest(path: str) -> str:
    """sha256 hex of a regular file (opened without following a final symlink)."""
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            return ""
        raise
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def has_wildcard(path: str) -> bool:
    return bool(_WILDCARD.search(path))


__all__ = ["Context", "ContextError", "Source", "apply_dockerignore", "extract", "file_digest", "has_wildcard",
           "is_tar", "tree_digest"]
