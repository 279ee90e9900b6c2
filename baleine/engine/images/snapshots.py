"""Overlay snapshots: unpacked layers shared by images, and containers' writable layers.

Every committed layer is one directory ``<root>/<dir>/diff`` keyed in the store by
its ChainID, unpacked once and shared by every image and container above it. A
container gets ``<root>/<dir>/{diff,work,merged}``: its writable layer, overlay's
work dir and the mount point of the overlay of its image's layers.

New layers are unpacked into ``<root>/tmp-<random>`` and renamed to their final
name before their row is committed; directories without a row are garbage
(``collect_garbage``), so a crash mid-unpack never leaves a half layer in use.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass

from ..runtime import mounts
from ...rules.errors import NotFound
from ..store import Store


@dataclass(frozen=True)
class Layer:
    """A committed, unpacked layer."""

    chain_id: str
    diff_id: str
    parent: str
    dir: str
    size: int
    blob: str
    media_type: str
    blob_size: int
    tar_size: int = 0


def chain_ids(diff_ids: list[str]) -> list[str]:
    """OCI ChainIDs for a stack of diff IDs, base first (image-spec config.md)."""
    import hashlib

    out: list[str] = []
    for diff_id in diff_ids:
        if not out:
            out.append(diff_id)
        else:
            out.append("sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest())
    return out


class Snapshots:
    """Layer and container directories under ``root``, indexed in ``store``."""

    def __init__(self, root: str, store: Store) -> None:
        self.root = root
        self.store = store
        os.makedirs(root, exist_ok=True)

    # -- layers -----------------------------------------------------------------

    def get(self, chain_id: str) -> Layer | None:
        row = self.store.one("SELECT * FROM layers WHERE chain_id=?", (chain_id,))
        return Layer(**dict(row)) if row else None

    def layers(self) -> list[Layer]:
        """Every committed layer (for the garbage collector and space accounting)."""
        return [Layer(**dict(row)) for row in self.store.query("SELECT * FROM layers")]

    def has(self, chain_id: str) -> bool:
        return self.get(chain_id) is not None

    def diff_path(self, dirname: str) -> str:
        return os.path.join(self.root, dirname, "diff")

    def prepare(self) -> str:
        """A new empty temporary directory to unpack a layer into; returns its path.

        Pass it to ``commit`` or ``discard``.
        """
        path = os.path.join(self.root, "tmp-" + secrets.token_hex(8))
        os.makedirs(path)
        return path

    def commit(self, tmp: str, chain_id: str, diff_id: str, parent: str, size: int,
               blob: str = "", media_type: str = "", blob_size: int = 0, tar_size: int = 0) -> Layer:
        """Publish an unpacked layer; idempotent when the layer already exists.

        ``tmp`` is a directory from ``prepare`` whose content was unpacked into
        ``tmp`` itself; it is consumed either way.
        """
        existing = self.get(chain_id)
        if existing is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            return existing
        dirname = "l" + secrets.token_hex(8)  # "c…" names are containers
        final = os.path.join(self.root, dirname)
        os.makedirs(final)
        os.rename(tmp, os.path.join(final, "diff"))
        _sync_dir(final)
        layer = Layer(chain_id, diff_id, parent, dirname, size, blob, media_type, blob_size, tar_size)
        with self.store.tx() as db:
            row = db.execute("SELECT 1 FROM layers WHERE chain_id=?", (chain_id,)).fetchone()
            if row is None:
                db.execute("INSERT INTO layers VALUES (?,?,?,?,?,?,?,?,?)",
                           (chain_id, diff_id, parent, dirname, size, blob, media_type, blob_size, tar_size))
                return layer
        # Lost a race with a concurrent unpack of the same layer: keep theirs.
        shutil.rmtree(final, ignore_errors=True)
        return self.get(chain_id)  # type: ignore[return-value]

    def discard(self, tmp: str) -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    def lowers(self, chain_id: str) -> list[str]:
        """The diff directories of a layer stack, topmost first; NotFound if incomplete."""
        dirs: list[str] = []
        while chain_id:
            layer = self.get(chain_id)
            if layer is None:
                raise NotFound(f"layer {chain_id} does not exist")
            dirs.append(self.diff_path(layer.dir))
            chain_id = layer.parent
        return dirs

    def remove_layers(self, chain_ids_: set[str]) -> None:
        """Delete these layers (rows first, then directories)."""
        for cid in chain_ids_:
            layer = self.get(cid)
            if layer is None:
                continue
            with self.store.tx() as db:
                db.execute("DELETE FROM layers WHERE chain_id=?", (cid,))
            shutil.rmtree(os.path.join(self.root, layer.dir), ignore_errors=True)

    # -- container layers -------------------------------------------------------

    def create_rw(self) -> str:
        """A new writable layer for a container; returns its directory name.

        Besides ``diff``, ``work`` and ``merged`` it has an ``init`` layer, below
        ``diff``, holding the mount points the runtime needs (/etc/hosts,
        /proc...), as Docker's "-init" layer does, so that they never show up as
        changes of the container.
        """
        dirname = "c" + secrets.token_hex(8)
        base = os.path.join(self.root, dirname)
        for sub in ("diff", "work", "merged"):
            os.makedirs(os.path.join(base, sub))
        _make_init_layer(os.path.join(base, "init"))
        return dirname

    def container_lowers(self, dirname: str, chain_id: str) -> list[str]:
        """The lower dirs of a container's overlay: its init layer, then the image's."""
        init = os.path.join(self.root, dirname, "init")
        return [init] + (self.lowers(chain_id) if chain_id else [])

    def rw_paths(self, dirname: str) -> tuple[str, str, str]:
        """(upper, work, merged) of a container layer."""
        base = os.path.join(self.root, dirname)
        return os.path.join(base, "diff"), os.path.join(base, "work"), os.path.join(base, "merged")

    def mount_rw(self, dirname: str, chain_id: str) -> str:
        """Mount a container's overlay (idempotent); return the merged path."""
        upper, work, merged = self.rw_paths(dirname)
        if mounts.is_mounted(merged):
            return merged
        mounts.mount_overlay(self.container_lowers(dirname, chain_id), upper, work, merged)
        return merged

    def unmount_rw(self, dirname: str) -> None:
        _, _, merged = self.rw_paths(dirname)
        for point in mounts.mounted_under(merged):
            mounts.unmount(point, lazy=True)

    def remove_rw(self, dirname: str) -> None:
        self.unmount_rw(dirname)
        shutil.rmtree(os.path.join(self.root, dirname), ignore_errors=True)

    # -- recovery ----------------------------------------------------------------

    def collect_garbage(self, live_rw: set[str]) -> list[str]:
        """Remove directories that no layer row nor live container references."""
        known = {row["dir"] for row in self.store.query("SELECT dir FROM layers")} | live_rw
        removed = []
        for name in os.listdir(self.root):
            if name not in known:
                path = os.path.join(self.root, name)
                for point in mounts.mounted_under(path):
                    mounts.unmount(point, lazy=True)
                shutil.rmtree(path, ignore_errors=True)
                removed.append(name)
        return removed


#: What Docker's init layer holds (moby daemon/initlayer): mount points and markers.
_INIT_DIRS = ("dev/pts", "dev/shm", "proc", "sys", "etc")
_INIT_FILES = (".dockerenv", "etc/resolv.conf", "etc/hosts", "etc/hostname", "dev/console")


def _make_init_layer(path: str) -> None:
    for d in _INIT_DIRS:
        os.makedirs(os.path.join(path, d), mode=0o755, exist_ok=True)
    for f in _INIT_FILES:
        with open(os.path.join(path, f), "w"):
            pass
    os.symlink("/proc/mounts", os.path.join(path, "etc", "mtab"))


def _sync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
