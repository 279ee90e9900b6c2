"""The one metadata store: SQLite in WAL mode under the data root.

Every durable fact about images, tags, layers and containers lives here, changed
only inside transactions (``with store.tx() as db: ...``). Files the rows point at
(blobs, layer directories) are made durable *before* the row that references them is
committed, so after a crash a row never points at something half-written; files
without a row are garbage, collected at start-up (``Engine.recover`` and
``baleine.engine.gc``).

Each table has one owning module, the only one naming it in SQL: images, tags and
digests ``engine/images/records.py``; layers ``engine/images/snapshots.py``;
containers ``engine/containers/records.py``; the modules declaring their own
tables (networks, volumes, build_cache, distribution_blobs) own them
(``tests/unit/test_architecture_tables.py`` checks it).

The store is safe to use from the event loop and from worker threads: one
connection, serialised by a lock. Each statement is short, so the lock is never
held for long.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,            -- sha256:<hex> of the config blob
    parent TEXT NOT NULL DEFAULT '',-- local parent image (commit, build), '' if none
    created REAL NOT NULL,          -- when this store got it (unix time)
    meta TEXT NOT NULL DEFAULT '{}' -- small JSON: manifest digests, comment...
);
CREATE TABLE IF NOT EXISTS tags (
    ref TEXT PRIMARY KEY,           -- fully qualified "docker.io/library/busybox:latest"
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS tags_image ON tags(image_id);
CREATE TABLE IF NOT EXISTS digests (
    ref TEXT PRIMARY KEY,           -- "docker.io/library/busybox@sha256:<manifest>"
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS digests_image ON digests(image_id);
CREATE TABLE IF NOT EXISTS layers (
    chain_id TEXT PRIMARY KEY,      -- OCI ChainID of this layer and those below
    diff_id TEXT NOT NULL,          -- sha256 of the uncompressed layer tar
    parent TEXT NOT NULL DEFAULT '',-- chain id of the layer below, '' for a base layer
    dir TEXT NOT NULL UNIQUE,       -- directory name under <data-root>/overlay
    size INTEGER NOT NULL,          -- unpacked size in bytes
    blob TEXT NOT NULL DEFAULT '',  -- digest of the blob it came from (content store)
    media_type TEXT NOT NULL DEFAULT '',
    blob_size INTEGER NOT NULL DEFAULT 0,
    tar_size INTEGER NOT NULL DEFAULT 0 -- size of the uncompressed layer tar
);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,      -- with Docker's leading "/"
    doc TEXT NOT NULL               -- JSON document (see containers.py)
);
"""


#: Version of SCHEMA; a database from an older Baleine is migrated at open.
SCHEMA_VERSION = 1
#: Statements taking version N to N+1 (index N-1). Add to the end, never change.
MIGRATIONS: list[list[str]] = []


class Store:
    """A thread-safe handle on the metadata database.

    ``tx()`` yields the connection inside a transaction that commits on normal exit
    and rolls back on an exception. ``query``/``one`` are read helpers.
    """

    def __init__(self, path: str) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a crash never corrupts the database; at worst the
        # last transactions before a power loss are lost, which start-up recovery
        # handles like any interrupted operation.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # executescript commits implicitly, so it runs outside tx().
        with self._lock:
            self._db.executescript(SCHEMA)
            self._migrate()

    def _migrate(self) -> None:
        """Bring a database made by an older Baleine up to ``SCHEMA_VERSION``.

        ``MIGRATIONS[i]`` takes a database from version i+1 to i+2; each runs in its
        own transaction with the new version number, so a crash leaves a database
        at one version or the next, never in between.
        """
        version = self._db.execute("PRAGMA user_version").fetchone()[0] or 1
        for i, statements in enumerate(MIGRATIONS[version - 1:], start=version):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql in statements:
                    self._db.execute(sql)
                self._db.execute(f"PRAGMA user_version={i + 1}")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        if version == 1 and not MIGRATIONS:
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Run the body in one IMMEDIATE transaction (commit, or roll back on error)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """All rows of a read-only statement."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """The first row of a read-only statement, or None."""
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def dumps(doc: Any) -> str:
    """JSON for storage: compact, stable key order as given."""
    return json.dumps(doc, separators=(",", ":"))
