"""Garbage collection of a registry's storage (``baleine registry gc``).

Mark: every manifest of every repository (only those reachable from a tag, and
their referrers, with ``delete_untagged``) and everything it references: its
config and layers, or the manifests of an index. Sweep: blobs nothing marked,
repository links to swept blobs, and abandoned uploads. Runs only while no server
uses the root (the server holds ``.lock``), as distribution's gc requires.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field

from .. import manifest as mf
from .storage import Storage


class RootInUse(Exception):
    """A server is running on this root."""


def lock(root: str) -> int:
    """Take the root's lock (exclusive, non-blocking); return the fd to keep open.

    Raises RootInUse when a server (or another gc) holds it.
    """
    os.makedirs(root, exist_ok=True)
    fd = os.open(os.path.join(root, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RootInUse(f"the registry at {root} is in use by a running server; stop it first") from None
    return fd


@dataclass
class Report:
    marked: int = 0
    deleted: list[str] = field(default_factory=list)
    manifests_deleted: list[str] = field(default_factory=list)
    reclaimed: int = 0
    uploads: int = 0


def collect(root: str, dry_run: bool = False, delete_untagged: bool = False) -> Report:
    """Run a mark-and-sweep over ``root``; return what was (or would be) removed."""
    fd = lock(root)
    try:
        return _collect(Storage(root), dry_run, delete_untagged)
    finally:
        os.close(fd)


def _collect(st: Storage, dry_run: bool, delete_untagged: bool) -> Report:
    report = Report()
    marked: set[str] = set()
    for repo in st.repositories():
        revisions = st.revisions(repo)
        roots = set(revisions)
        if delete_untagged:
            roots = set(st.tag_map(repo).values())
            # Manifests reachable from tags (through indexes), then their referrers.
            reach = _reachable(st, roots)
            changed = True
            while changed:
                changed = False
                for d in list(reach):
                    for r in st.referrers(repo, d):
                        if r["digest"] not in reach:
                            reach |= _reachable(st, {r["digest"]})
                            changed = True
            for d in revisions:
                if d not in reach:
                    report.manifests_deleted.append(f"{repo}@{d}")
                    if not dry_run:
                        st.delete_manifest(repo, d)
            roots = reach & set(revisions)
        for d in roots:
            _mark(st, d, marked)
    report.marked = len(marked)
    for digest in st.all_blobs():
        if digest in marked:
            continue
        report.deleted.append(digest)
        report.reclaimed += st.blob_size(digest) or 0
        if not dry_run:
            st.delete_blob(digest)
    if not dry_run:
        for repo in st.repositories():
            for d in st.layer_links(repo):
                if st.blob_size(d) is None:
                    st.unlink(repo, d)
        for uuid in list(st.uploads()):
            st.cancel_upload(uuid)
            report.uploads += 1
    return report


def _reachable(st: Storage, roots: set[str]) -> set[str]:
    out: set[str] = set()
    todo = list(roots)
    while todo:
        d = todo.pop()
        if d in out:
            continue
        out.add(d)
        raw = st.read_blob(d)
        if raw is None:
            continue
        try:
            doc = mf.parse(raw)
        except mf.ManifestError:
            continue
        if isinstance(doc, mf.Index):
            todo.extend(m.digest for m in doc.manifests)
    return out


def _mark(st: Storage, digest: str, marked: set[str]) -> None:
    if digest in marked:
        return
    marked.add(digest)
    raw = st.read_blob(digest)
    if raw is None:
        return
    try:
        doc = mf.parse(raw)
    except mf.ManifestError:
        return
    if isinstance(doc, mf.Index):
        for m in doc.manifests:
            _mark(st, m.digest, marked)
    else:
        marked.add(doc.config.digest)
        marked.update(layer.digest for layer in doc.layers)
