"""What the daemon remembers about blobs it exchanged with registries.

For each layer (by diff ID) pushed or pulled: the compressed blob's digest, media
type and size, and which registry and repository hold it. The pusher uses it to
skip the compression and upload of a layer a registry already has (HEAD by the
remembered digest), and to mount it from another repository of the same registry,
as dockerd's "v2 metadata" service does. Rows are hints: every one is checked
against the registry before it is relied on.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS distribution_blobs (
    diff_id TEXT NOT NULL,          -- sha256 of the uncompressed layer tar
    digest TEXT NOT NULL,           -- the blob as a registry stores it
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    registry TEXT NOT NULL,         -- host[:port]
    repository TEXT NOT NULL,       -- path in that registry
    PRIMARY KEY (diff_id, digest, registry, repository)
)
"""


@dataclass(frozen=True)
class BlobRecord:
    diff_id: str
    digest: str
    media_type: str
    size: int
    registry: str
    repository: str


class BlobMetadata:
    """The ``distribution_blobs`` table of the engine's store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.tx() as db:
            db.execute(_SCHEMA)

    def record(self, r: BlobRecord) -> None:
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO distribution_blobs VALUES (?,?,?,?,?,?)",
                       (r.diff_id, r.digest, r.media_type, r.size, r.registry, r.repository))

    def for_diff_id(self, diff_id: str) -> list[BlobRecord]:
        rows = self.store.query("SELECT * FROM distribution_blobs WHERE diff_id=?", (diff_id,))
        return [BlobRecord(**dict(r)) for r in rows]

    def forget(self, digest: str, registry: str, repository: str) -> None:
        with self.store.tx() as db:
            db.execute("DELETE FROM distribution_blobs WHERE digest=? AND registry=? AND repository=?",
                       (digest, registry, repository))
