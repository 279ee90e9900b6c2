"""Overlay snapshots: the one snapshotter for images' layers, containers' writable
layers, build work areas and unpack staging (containerd's ``core/snapshots``).

Committed snapshots are layers: one directory ``<root>/l<hex>/diff`` named in the
store (table ``layers``) by its ChainID, unpacked once and shared by every image
and container above it. Active snapshots are keys: ``<root>/<key>/{diff,work,merged}``
(a writable layer, overlay's work dir, a mount point), plus ``init`` below ``diff``
for containers (Docker's "-init" layer). The contract:

* :meth:`Snapshots.prepare` ``(key, parent) -> mounts``: a new writable snapshot
  over the layer ``parent`` (and below); :meth:`Snapshots.view` a read-only one;
* :meth:`Snapshots.mounts` ``(key)``: how to mount it, as data
  (:class:`~baleine.engine.runtime.mounts.Mount`); the caller mounts them with
  :func:`~baleine.engine.runtime.mounts.mount_all` (at :meth:`mountpoint` or
  anywhere);
* :meth:`Snapshots.commit` ``(name, key)``: turn the (unmounted) key's ``diff``
  into the layer ``name``; :meth:`Snapshots.remove` ``(key)`` forgets a key;
* :meth:`Snapshots.stat` / :meth:`Snapshots.walk`: what exists.

A key records its parent and kind in ``<key>/snapshot.json``; container keys
made before that file existed are read as active, with their init layer, and
their parent given by the caller.

Crash safety: a key's directory is made before its mounts are returned and a
layer directory is renamed into place before its row is committed; directories
that no row nor live container names are garbage (:meth:`collect_garbage`), so
a crash mid-prepare, mid-unpack or mid-commit never leaves a half layer in use.
Blocking (file system, sqlite): call from worker threads.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..runtime import mounts
from ..runtime.mounts import Mount
from ...rules.errors import InvalidParameter, NotFound
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


@dataclass(frozen=True)
class Info:
    """What :meth:`Snapshots.stat` tells of a snapshot: ``kind`` is "committed"
    (a layer, ``name`` its ChainID), "active" or "view" (``name`` its key)."""

    name: str
    kind: str
    parent: str


_META = "snapshot.json"


class Snapshots:
    """Layer and active directories under ``root``, layers indexed in ``store``."""

    def __init__(self, root: str, store: Store) -> None:
        self.root = root
        self.store = store
        os.makedirs(root, exist_ok=True)

    # -- committed snapshots (layers) ----------------------------------------------

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

    # -- active snapshots ------------------------------------------------------------

    @staticmethod
    def new_key(prefix: str = "c") -> str:
        """A fresh key: ``prefix`` + random hex ("c" for containers and build work
        areas, "tmp-" for unpack staging, "v" for views; never "l", the layers')."""
        return prefix + secrets.token_hex(8)

    def prepare(self, key: str, parent: str, *, init: bool = False) -> list[Mount]:
        """A new writable snapshot ``key`` over the layer ``parent`` ('' for none).

        ``init`` puts the container init layer (mount points for /etc/hosts,
        /proc...) between ``parent`` and the writable layer, so that they never
        show up as changes. Returns its mounts; NotFound when a layer below is
        missing (nothing is left then).
        """
        base = self._new_dir(key)
        try:
            for sub in ("diff", "work", "merged"):
                os.makedirs(os.path.join(base, sub))
            if init:
                _make_init_layer(os.path.join(base, "init"))
            _write_meta(base, {"kind": "active", "parent": parent, "init": init})
            return self.mounts(key)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise

    def view(self, key: str, parent: str) -> list[Mount]:
        """A new read-only snapshot ``key`` of the layer ``parent`` (empty for '')."""
        base = self._new_dir(key)
        try:
            for sub in ("diff", "merged"):
                os.makedirs(os.path.join(base, sub))
            _write_meta(base, {"kind": "view", "parent": parent, "init": False})
            return self.mounts(key)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise

    def mounts(self, key: str, parent: str | None = None) -> list[Mount]:
        """How to mount ``key``: overlay of its lowers (topmost first) under its
        writable layer, or a bind mount when there is a single directory.

        ``parent`` serves keys made before their parent was recorded (containers
        of older data roots); a recorded parent wins.
        """
        base = os.path.join(self.root, key)
        meta = _read_meta(base, parent)
        lowers = ([os.path.join(base, "init")] if meta["init"] else []) + self.lowers(meta["parent"])
        upper = os.path.join(base, "diff")
        if meta["kind"] == "view":
            if len(lowers) <= 1:
                return [Mount("bind", lowers[0] if lowers else upper, ("rbind", "ro"))]
            return [Mount("overlay", "overlay", ("lowerdir=" + ":".join(lowers),))]
        if not lowers:
            return [Mount("bind", upper, ("rbind", "rw"))]
        return [Mount("overlay", "overlay", ("lowerdir=" + ":".join(lowers), f"upperdir={upper}",
                                             f"workdir={os.path.join(base, 'work')}"))]

    def mountpoint(self, key: str) -> str:
        """The directory reserved for mounting ``key`` (its ``merged``)."""
        return os.path.join(self.root, key, "merged")

    def upper(self, key: str) -> str:
        """The writable directory of ``key``: where its changes land (overlay's form:
        whiteouts, opaque directories), and what :meth:`commit` publishes."""
        return os.path.join(self.root, key, "diff")

    def commit(self, name: str, key: str, *, diff_id: str, size: int, blob: str = "", media_type: str = "",
               blob_size: int = 0, tar_size: int = 0) -> Layer:
        """Publish the writable layer of ``key`` (unmounted) as the layer ``name``
        (its ChainID) on the key's parent, and remove the key.

        Idempotent: when ``name`` exists already (a concurrent unpack or build
        won), the key is dropped and the existing layer returned.
        """
        base = os.path.join(self.root, key)
        parent = _read_meta(base, None)["parent"]
        existing = self.get(name)
        if existing is not None:
            self.remove(key)
            return existing
        dirname = "l" + secrets.token_hex(8)  # "c…" names are containers
        final = os.path.join(self.root, dirname)
        os.makedirs(final)
        os.rename(os.path.join(base, "diff"), os.path.join(final, "diff"))
        _sync_dir(final)
        self.remove(key)
        layer = Layer(name, diff_id, parent, dirname, size, blob, media_type, blob_size, tar_size)
        with self.store.tx() as db:
            row = db.execute("SELECT 1 FROM layers WHERE chain_id=?", (name,)).fetchone()
            if row is None:
                db.execute("INSERT INTO layers VALUES (?,?,?,?,?,?,?,?,?)",
                           (name, diff_id, parent, dirname, size, blob, media_type, blob_size, tar_size))
                return layer
        # Lost a race with a concurrent commit of the same layer: keep theirs.
        shutil.rmtree(final, ignore_errors=True)
        return self.get(name)  # type: ignore[return-value]

    def remove(self, key: str) -> None:
        """Unmount whatever is mounted inside ``key`` and delete it (missing: no-op)."""
        base = os.path.join(self.root, key)
        mounts.unmount_all(base)
        shutil.rmtree(base, ignore_errors=True)

    def stat(self, name: str) -> Info:
        """The layer ``name`` (a ChainID) or the key ``name``; NotFound otherwise."""
        layer = self.get(name)
        if layer is not None:
            return Info(name, "committed", layer.parent)
        base = os.path.join(self.root, name)
        if not name or "/" in name or not os.path.isdir(base):
            raise NotFound(f"snapshot {name} does not exist")
        meta = _read_meta(base, "")
        return Info(name, meta["kind"], meta["parent"])

    def walk(self) -> Iterator[Info]:
        """Every layer, then every key (directories that are no layer's)."""
        dirs = set()
        for row in self.store.query("SELECT chain_id, parent, dir FROM layers"):
            dirs.add(row["dir"])
            yield Info(row["chain_id"], "committed", row["parent"])
        for name in sorted(os.listdir(self.root)):
            if name not in dirs:
                meta = _read_meta(os.path.join(self.root, name), "")
                yield Info(name, meta["kind"], meta["parent"])

    # -- containers' keys (paths and mounting, for their callers) ----------------------

    def container_lowers(self, dirname: str, chain_id: str) -> list[str]:
        """The lower dirs of a container's overlay: its init layer, then the image's."""
        init = os.path.join(self.root, dirname, "init")
        return [init] + (self.lowers(chain_id) if chain_id else [])

    def rw_paths(self, dirname: str) -> tuple[str, str, str]:
        """(upper, work, merged) of a container layer."""
        base = os.path.join(self.root, dirname)
        return os.path.join(base, "diff"), os.path.join(base, "work"), os.path.join(base, "merged")

    def mount_rw(self, key: str, parent: str = "") -> str:
        """Mount ``key`` at its :meth:`mountpoint` (idempotent); return that path.

        ``parent`` as for :meth:`mounts`.
        """
        target = self.mountpoint(key)
        mounts.mount_all(self.mounts(key, parent), target)
        return target

    def unmount_rw(self, key: str) -> None:
        """Unmount ``key``'s mount point (and anything below it)."""
        mounts.unmount_all(self.mountpoint(key))

    def remove_rw(self, key: str) -> None:
        self.remove(key)

    # -- recovery ----------------------------------------------------------------

    def collect_garbage(self, live_rw: set[str]) -> list[str]:
        """Remove directories that no layer row nor live container references."""
        known = {row["dir"] for row in self.store.query("SELECT dir FROM layers")} | live_rw
        removed = []
        for name in os.listdir(self.root):
            if name not in known:
                self.remove(name)
                removed.append(name)
        return removed

    def _new_dir(self, key: str) -> str:
        if not key or "/" in key or key.startswith(("l", ".")):
            raise InvalidParameter(f"invalid snapshot key: {key!r}")
        base = os.path.join(self.root, key)
        try:
            os.makedirs(base)
        except FileExistsError:
            raise InvalidParameter(f"snapshot {key} already exists") from None
        return base


def _write_meta(base: str, meta: dict[str, Any]) -> None:
    with open(os.path.join(base, _META), "w", encoding="utf-8") as f:
        json.dump(meta, f)


def _read_meta(base: str, parent: str | None) -> dict[str, Any]:
    """A key's recorded kind and parent; a key without a record (older data roots)
    is an active container layer whose parent the caller gave."""
    try:
        with open(os.path.join(base, _META), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        init = os.path.isdir(os.path.join(base, "init"))
        return {"kind": "active", "parent": parent or "", "init": init}


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
