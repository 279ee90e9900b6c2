"""The persistent build cache: step results by key, and RUN cache-mount directories.

A build step's *key* digests everything its result depends on: the state it
starts from (the image config so far, which names every layer below and the
history), the instruction after variable expansion, the build arguments in
scope, and for COPY/ADD the content and metadata of the files copied (see
``builder.py``). Its *result* is the image config after the step. Both live in
the ``build_cache`` table of the engine's store, so the cache survives daemon
restarts; the layers a result names are kept alive by the cache (the image
store's garbage collection asks :meth:`BuildCache.layers`) until ``builder
prune`` removes the entries.

``RUN --mount=type=cache`` directories live under ``<data-root>/buildkit/mounts``
(one per cache id) and are removed by ``builder prune`` too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..engine.images.snapshots import chain_ids
from ..engine.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,           -- sha256 of what the step depends on
    result TEXT NOT NULL,           -- image config after the step (JSON)
    description TEXT NOT NULL DEFAULT '', -- the instruction, for `builder prune` output
    created REAL NOT NULL,
    last_used REAL NOT NULL,
    size INTEGER NOT NULL DEFAULT 0 -- bytes of the layer this step added (0 for metadata steps)
);
"""


def digest(*parts: Any) -> str:
    """``sha256:<hex>`` of a canonical JSON rendering of ``parts``."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class CacheRecord:
    """One cache entry as ``builder prune`` and ``system df`` report it."""

    key: str
    description: str
    created: float
    last_used: float
    size: int


class BuildCache:
    """Step results by key in the store, and cache-mount directories on disk.

    Thread-safe (the store serialises statements). ``layers`` is what the
    image store's layer collection must keep.
    """

    def __init__(self, store: Store, root: str) -> None:
        self.store = store
        self.root = root
        self.mounts_root = os.path.join(root, "mounts")
        os.makedirs(self.mounts_root, exist_ok=True)
        with store.tx() as db:
            db.execute(SCHEMA)
        self._mount_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        # key -> ChainIDs its result names; loaded once, then kept in step with the
        # table (only this process writes it), so layer collection stays cheap.
        self._chains: dict[str, list[str]] | None = None
        # key -> when a build last took it from the cache, not yet written (get).
        self._used: dict[str, float] = {}

    # -- step results -------------------------------------------------------------

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached result config for ``key``, or None.

        A hit is marked used in memory; :meth:`flush_used` writes the marks, in one
        transaction per build instead of one per step. Whatever reads ``last_used``
        (:meth:`records`) flushes first, so nobody sees a stale value.
        """
        row = self.store.one("SELECT result FROM build_cache WHERE key=?", (key,))
        if row is None:
            return None
        with self._guard:
            self._used[key] = time.time()
        return json.loads(row["result"])

    def flush_used(self) -> None:
        """Write the ``last_used`` marks of the hits since the last flush (blocking)."""
        with self._guard:
            used, self._used = self._used, {}
        if used:
            with self.store.tx() as db:
                db.executemany("UPDATE build_cache SET last_used=? WHERE key=?",
                               [(when, key) for key, when in used.items()])

    def put(self, key: str, result: dict[str, Any], description: str, size: int = 0) -> None:
        """Record a step result. Its layers must already be committed."""
        now = time.time()
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO build_cache(key, result, description, created, last_used, size) "
                       "VALUES (?,?,?,?,?,?)",
                       (key, json.dumps(result, separators=(",", ":")), description[:500], now, now, size))
        with self._guard:
            if self._chains is not None:
                self._chains[key] = _chains_of(result)

    def layers(self) -> set[str]:
        """ChainIDs of every layer a cache entry names (kept by layer collection)."""
        with self._guard:
            if self._chains is None:
                chains: dict[str, list[str]] = {}
                for row in self.store.query("SELECT key, result FROM build_cache"):
                    try:
                        chains[row["key"]] = _chains_of(json.loads(row["result"]))
                    except ValueError:
                        continue
                self._chains = chains
            out: set[str] = set()
            for ids in self._chains.values():
                out.update(ids)
            return out

    def records(self) -> list[CacheRecord]:
        self.flush_used()
        return [CacheRecord(r["key"], r["description"], r["created"], r["last_used"], r["size"])
                for r in self.store.query("SELECT key, description, created, last_used, size FROM build_cache "
                                          "ORDER BY last_used")]

    def remove(self, keys: list[str]) -> None:
        with self.store.tx() as db:
            db.executemany("DELETE FROM build_cache WHERE key=?", [(k,) for k in keys])
        with self._guard:
            if self._chains is not None:
                for k in keys:
                    self._chains.pop(k, None)

    # -- cache mounts -------------------------------------------------------------

    def mount_dir(self, cache_id: str, private: bool = False) -> str:
        """The directory of a ``type=cache`` mount (created empty on first use).

        ``private`` gives a fresh directory for each concurrent user, as BuildKit's
        ``sharing=private`` does when the shared one is busy.
        """
        name = hashlib.sha256(cache_id.encode()).hexdigest()[:32]
        path = os.path.join(self.mounts_root, name)
        if private:
            path = os.path.join(self.mounts_root, name + "-" + os.urandom(4).hex())
        os.makedirs(path, exist_ok=True)
        return path

    def mount_lock(self, cache_id: str) -> threading.Lock:
        """The lock serialising ``sharing=locked`` users of one cache id."""
        with self._guard:
            return self._mount_locks.setdefault(cache_id, threading.Lock())

    def mounts_size(self) -> int:
        return _tree_size(self.mounts_root)

    def prune_mounts(self) -> int:
        """Remove every cache-mount directory; return the bytes freed."""
        freed = 0
        for name in os.listdir(self.mounts_root):
            path = os.path.join(self.mounts_root, name)
            freed += _tree_size(path)
            shutil.rmtree(path, ignore_errors=True)
        return freed


def _chains_of(config: dict[str, Any]) -> list[str]:
    return chain_ids(list((config.get("rootfs") or {}).get("diff_ids") or []))


def _tree_size(path: str) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


__all__ = ["BuildCache", "CacheRecord", "digest"]
