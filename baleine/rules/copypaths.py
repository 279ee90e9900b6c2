"""``docker cp``'s path rules, shared by the daemon (archive endpoints) and the CLI.

Pure functions mirroring Go's ``path/filepath`` (``Clean``, ``Split``, ``Base``,
``Dir``, ``Join``) and moby's ``pkg/archive/copy.go``: a trailing ``/`` or ``/.``
asserts a directory and survives cleaning (:func:`preserve_trailing_dot_or_separator`);
``dir/.`` means "the contents of dir"; :func:`prepare_archive_copy` decides, from
what the source and the destination are, into which directory an archive is
extracted and how its top entry is renamed (:func:`rebase_name`).

No I/O here: the CLI imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CopyInfo",
    "CopyError",
    "asserts_directory",
    "go_base",
    "go_clean",
    "go_dir",
    "go_join",
    "go_split",
    "get_rebase_name",
    "has_trailing_separator",
    "prepare_archive_copy",
    "preserve_trailing_dot_or_separator",
    "rebase_name",
    "specifies_current_dir",
    "split_path_dir_entry",
]


class CopyError(Exception):
    """A copy that cannot be done; the message is moby's (``not a directory``...)."""


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` on Unix: the shortest equivalent path.

    Unlike ``os.path.normpath``, a leading ``//`` becomes ``/`` and ``..`` at the
    root is dropped; the empty path is ``"."``.
    """
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(comp)
    text = "/".join(out)
    if rooted:
        return "/" + text
    return text or "."


def go_join(*parts: str) -> str:
    """Go's ``filepath.Join``: the non-empty parts joined by ``/``, cleaned ("" if none)."""
    kept = [p for p in parts if p]
    return go_clean("/".join(kept)) if kept else ""


def go_split(path: str) -> tuple[str, str]:
    """Go's ``filepath.Split``: (everything up to and including the last ``/``, the rest)."""
    i = path.rfind("/")
    return path[:i + 1], path[i + 1:]


def go_base(path: str) -> str:
    """Go's ``filepath.Base``: the last element, trailing slashes ignored; ``"/"`` for
    a path of slashes, ``"."`` for the empty path."""
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path.rsplit("/", 1)[-1]


def go_dir(path: str) -> str:
    """Go's ``filepath.Dir``: all but the last element, cleaned."""
    head, _ = go_split(path)
    return go_clean(head)


def has_trailing_separator(path: str) -> bool:
    return path.endswith("/")


def specifies_current_dir(path: str) -> bool:
    """Whether the last element of ``path`` is ``.`` (``dir/.``)."""
    return go_base(path) == "."


def asserts_directory(path: str) -> bool:
    """Whether ``path`` says it is a directory: a trailing ``/`` or ``/.``."""
    return has_trailing_separator(path) or specifies_current_dir(path)


def preserve_trailing_dot_or_separator(cleaned: str, original: str) -> str:
    """``cleaned`` with the trailing ``/.`` or ``/`` of ``original`` put back."""
    if not specifies_current_dir(cleaned) and specifies_current_dir(original):
        if not has_trailing_separator(cleaned):
            cleaned += "/"
        cleaned += "."
    if not has_trailing_separator(cleaned) and has_trailing_separator(original):
        cleaned += "/"
    return cleaned


def split_path_dir_entry(path: str) -> tuple[str, str]:
    """(directory, entry) of ``path``, cleaned, keeping a trailing ``.`` entry."""
    cleaned = go_clean(path)
    if specifies_current_dir(path):
        cleaned += "/."
    return go_dir(cleaned), go_base(cleaned)


def get_rebase_name(path: str, resolved: str) -> tuple[str, str]:
    """moby ``GetRebaseName``: ``resolved`` with ``path``'s trailing ``/.`` or ``/``,
    and the name the archive's top entry must take ("" if unchanged)."""
    if specifies_current_dir(path) and not specifies_current_dir(resolved):
        resolved += "/."
    if has_trailing_separator(path) and not has_trailing_separator(resolved):
        resolved += "/"
    rebase = go_base(path) if go_base(path) != go_base(resolved) else ""
    return resolved, rebase


@dataclass
class CopyInfo:
    """What a copy source or destination is (moby ``archive.CopyInfo``)."""

    path: str
    exists: bool = False
    is_dir: bool = False
    rebase_name: str = ""


def rebase_name(name: str, old_base: str, new_base: str) -> str:
    """moby ``RebaseArchiveEntries`` on one entry name: the first occurrence of
    ``old_base`` replaced by ``new_base`` (``old_base`` ``/`` means "prefix")."""
    if old_base == "/":
        old_base = ""
    return name.replace(old_base, new_base, 1)


def prepare_archive_copy(src: CopyInfo, dst: CopyInfo) -> tuple[str, tuple[str, str] | None]:
    """moby ``PrepareArchiveCopy``: where to extract the archive of ``src`` so that it
    lands at ``dst``, and the ``(old, new)`` rebase of its entries (None: as is).

    Raises CopyError ``cannot copy directory`` (a directory onto an existing
    file) or ``no such directory`` (a file onto a missing ``dir/``).
    """
    dst_dir, dst_base = split_path_dir_entry(dst.path)
    _, src_base = split_path_dir_entry(src.path)
    if dst.exists and dst.is_dir:
        return dst.path, None
    if dst.exists and src.is_dir:
        raise CopyError("cannot copy directory")
    if not dst.exists and not src.is_dir and asserts_directory(dst.path):
        raise CopyError("no such directory")
    return dst_dir, (src.rebase_name or src_base, dst_base)
