"""The build context a client sends with ``POST /build``: a tar of the context
directory with ``.dockerignore`` applied (docker's rules), the Dockerfile and
``.dockerignore`` always included, owners zeroed as the docker CLI does.
Used by ``baleine build`` and by compose.
"""

from __future__ import annotations

import io
import os
import sys
import time

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO


class BuildContextError(Exception):
    """The context cannot be prepared; ``message`` is docker's wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def prepare(path: str, dockerfile: str) -> tuple[BinaryIO, str]:
    """(the request body, the Dockerfile's name inside it) for ``POST /build``.

    ``path`` is a directory, or ``-`` for a tar or a lone Dockerfile on stdin;
    ``dockerfile`` is a path (relative to the current directory, as docker's ``-f``),
    empty for the context's own ``Dockerfile``, or ``-`` for stdin. A Dockerfile
    outside the context travels under a random ``.dockerfile.*`` name. The body is
    an anonymous temporary file positioned at 0; the caller closes it. Raises
    ``BuildContextError`` with docker's message when the context cannot be read.
    """
    if path.startswith(("http://", "https://", "git://", "git@", "github.com/")):
        raise BuildContextError(f"unable to prepare context: remote build contexts are not supported: {path}")
    if path == "-":
        if dockerfile == "-":
            raise BuildContextError("invalid argument: can't use stdin for both build context and dockerfile")
        data = sys.stdin.buffer.read()
        if _is_tar(data[:512]):
            return io.BytesIO(data), dockerfile or "Dockerfile"
        return _tar_of({"Dockerfile": data}), "Dockerfile"
    if not os.path.isdir(path):
        raise BuildContextError(f'unable to prepare context: path "{path}" not found')
    root = os.path.abspath(path)
    extra: dict[str, bytes] = {}
    if dockerfile == "-":
        name = ".dockerfile." + os.urandom(10).hex()
        extra[name] = sys.stdin.buffer.read()
    else:
        full = os.path.abspath(dockerfile) if dockerfile else os.path.join(root, "Dockerfile")
        if not os.path.exists(full) and not dockerfile and os.path.exists(os.path.join(root, "dockerfile")):
            full = os.path.join(root, "dockerfile")
        if not os.path.isfile(full):
            raise BuildContextError(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat "
                                    f"{full}: no such file or directory")
        rel = os.path.relpath(full, root)
        if rel.startswith(".." + os.sep) or rel == "..":
            name = ".dockerfile." + os.urandom(10).hex()
            with open(full, "rb") as f:
                extra[name] = f.read()
        else:
            name = rel.replace(os.sep, "/")
    return _tar_dir(root, name, extra), name


def _is_tar(head: bytes) -> bool:
    """A tar, or a compressed stream (gzip, bzip2, xz, zstd), rather than a Dockerfile."""
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def _tar_of(files: dict[str, bytes]) -> BinaryIO:
    import tarfile
    import tempfile

    out = tempfile.TemporaryFile()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


def _tar_dir(root: str, dockerfile: str, extra: dict[str, bytes]) -> BinaryIO:
    """The context directory as a tar, with .dockerignore applied (docker's rules).

    Without ``extra`` files (a Dockerfile from elsewhere), an unchanged tree's tar
    comes from ``context_cache`` instead of being written again."""
    entries = _entries(root, dockerfile)
    if extra:
        return _write_tar(entries, extra)
    from . import context_cache

    fp = context_cache.fingerprint(root, dockerfile, entries)
    if fp is not None:
        cached = context_cache.open_cached(root, dockerfile, fp[0])
        if cached is not None:
            return cached
    out = _write_tar(entries, extra)
    if fp is not None and fp[1]:
        context_cache.store(root, dockerfile, fp[0], out)
    return out


def _entries(root: str, dockerfile: str) -> list[tuple[str, str]]:
    """(path, name in the tar) of what the context holds, in the tar's order."""
    text = ""
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BuildContextError(f"unable to prepare context: {exc}") from None
    pm = None
    if text:  # the matcher (and `re`) only for a .dockerignore with something in it
        from ..rules.dockerignore import PatternMatcher, read_patterns

        patterns = read_patterns(text)
        try:
            pm = PatternMatcher(patterns) if patterns else None
        except ValueError as exc:
            raise BuildContextError(f"error checking context: {exc}") from None
    keep = {".dockerignore", dockerfile}  # the builder needs them even when ignored

    def excluded(rel: str) -> bool:
        return pm is not None and rel not in keep and pm.matches(rel)

    entries: list[tuple[str, str]] = []
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        dirs.sort()
        kept = []
        for d in dirs:
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if excluded(rel) and not (pm is not None and pm.exclusions) and not any(
                    k.startswith(rel + "/") for k in keep):
                continue
            kept.append(d)
            if not excluded(rel):
                entries.append((os.path.join(dirpath, d), rel))
        dirs[:] = kept
        for name in sorted(files):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if excluded(rel):
                continue
            entries.append((os.path.join(dirpath, name), rel))
    return entries


def _write_tar(entries: list[tuple[str, str]], extra: dict[str, bytes]) -> BinaryIO:
    """A tar of ``entries`` then the ``extra`` files, in an anonymous file at 0."""
    import tarfile
    import tempfile

    out = tempfile.TemporaryFile()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, rel in entries:
            _add(tar, path, rel)
        for name, data in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


def _add(tar: Any, path: str, arcname: str) -> None:
    try:
        info = tar.gettarinfo(path, arcname)
    except OSError as exc:
        raise BuildContextError(f"error checking context: can't stat '{path}': {exc.strerror}") from None
    if info is None:  # sockets
        return
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isreg():
        try:
            with open(path, "rb") as f:
                tar.addfile(info, f)
        except PermissionError:
            raise BuildContextError(f"error checking context: can't open '{path}': permission denied") from None
    else:
        tar.addfile(info)
