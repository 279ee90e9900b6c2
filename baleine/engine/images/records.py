"""Image records: configs, tags, digests, history, lookup and deletion.

An image is its config blob (the image ID is the config's sha256 digest) plus the
unpacked layers its ``rootfs.diff_ids`` name. Tags (``docker.io/library/busybox:latest``)
and repository digests point at image IDs. Layer directories are shared with other
images and with containers; they are removed only when nothing references them
(``baleine.engine.gc``: this store is one of its root providers, see ``roots``).

This module owns the ``images``, ``tags`` and ``digests`` tables: nobody else
names them in SQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...rules import references
from ..gc import GarbageCollector, Roots
from .content import ContentStore, sha256_digest
from ...rules.errors import Conflict, InvalidParameter, NotFound
from .snapshots import Snapshots, chain_ids
from ..store import Store, dumps


@dataclass
class Image:
    """An image as the store knows it."""

    id: str
    config: dict[str, Any]
    parent: str = ""
    created_local: float = 0.0
    tags: list[str] = field(default_factory=list)  # fully qualified references
    digests: list[str] = field(default_factory=list)  # name@sha256:...
    meta: dict[str, Any] = field(default_factory=dict)
    size: int = 0

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def chain_ids(self) -> list[str]:
        return chain_ids(self.diff_ids)

    @property
    def top_layer(self) -> str:
        """ChainID of the topmost layer, '' for an image without layers."""
        ids = self.chain_ids
        return ids[-1] if ids else ""

    @property
    def container_config(self) -> dict[str, Any]:
        """The ``config`` section (Cmd, Env, Entrypoint...), never None."""
        return self.config.get("config") or {}

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]


class Images:
    """The image store (see module docstring).

    ``containers_using`` is a callback giving, for an image ID, the containers that
    use it as ``(container_id, running)`` pairs; the engine wires it. Removing an
    image hands its layers and config blob to ``gc``, whose roots include ``roots``.
    """

    def __init__(self, store: Store, content: ContentStore, snapshots: Snapshots,
                 gc: GarbageCollector | None = None) -> None:
        self.store = store
        self.content = content
        self.snapshots = snapshots
        self.gc = gc or GarbageCollector(snapshots, content)
        self.containers_using: Callable[[str], list[tuple[str, bool]]] = lambda _id: []
        self._config_cache: dict[str, dict[str, Any]] = {}

    # -- reading ----------------------------------------------------------------

    def _load(self, image_id: str) -> Image:
        row = self.store.one("SELECT * FROM images WHERE id=?", (image_id,))
        if row is None:
            raise NotFound(f"No such image: {image_id}")
        config = self._config_cache.get(image_id)
        if config is None:
            config = json.loads(self.content.read(image_id))
            self._config_cache[image_id] = config
        tags = [r["ref"] for r in self.store.query("SELECT ref FROM tags WHERE image_id=? ORDER BY ref", (image_id,))]
        digests = [r["ref"] for r in self.store.query("SELECT ref FROM digests WHERE image_id=? ORDER BY ref", (image_id,))]
        img = Image(image_id, config, row["parent"], row["created"], tags, digests, json.loads(row["meta"]))
        img.size = self._size(img)
        return img

    def _size(self, img: Image) -> int:
        total = 0
        for cid in img.chain_ids:
            layer = self.snapshots.get(cid)
            if layer is not None:
                total += layer.size
        return total

    def count(self) -> int:
        """How many images the store holds."""
        row = self.store.one("SELECT COUNT(*) AS n FROM images")
        return int(row["n"]) if row else 0

    def repository_tags(self, name: str) -> list[tuple[str, str]]:
        """(tag, image ID) of every tag of repository ``name`` (fully qualified), by tag."""
        rows = self.store.query("SELECT ref, image_id FROM tags WHERE ref LIKE ? ORDER BY ref", (name + ":%",))
        out = []
        for row in rows:
            tag = row["ref"][len(name) + 1:]
            if "/" not in tag and ":" not in tag:
                out.append((tag, row["image_id"]))
        return out

    def exists(self, image_id: str) -> bool:
        return self.store.one("SELECT 1 FROM images WHERE id=?", (image_id,)) is not None

    def get(self, name: str) -> Image:
        """Find an image by ID, short ID, tag or digest reference, as docker does.

        Raises NotFound ("No such image: NAME") or InvalidParameter for a malformed name.
        """
        image_id = self.resolve_id(name)
        if image_id is None:
            raise NotFound(f"No such image: {name}")
        return self._load(image_id)

    def resolve_id(self, name: str) -> str | None:
        """The image ID ``name`` designates, or None."""
        if not name:
            raise InvalidParameter("invalid reference format")
        bare = name[7:] if name.startswith("sha256:") else name
        if len(bare) == 64 and _is_hex(bare):
            return "sha256:" + bare if self.exists("sha256:" + bare) else None
        if name.startswith("sha256:"):
            return self._by_prefix(bare) if _is_hex(bare) else None
        try:
            ref = references.parse(name)
        except InvalidParameter:
            if _is_hex(name):
                return self._by_prefix(name)
            raise
        if ref.digest:
            row = self.store.one("SELECT image_id FROM digests WHERE ref=?", (f"{ref.name}@{ref.digest}",))
            if row:
                return row["image_id"]
            # A digest may also be the config digest (image ID).
            return ref.digest if self.exists(ref.digest) else None
        row = self.store.one("SELECT image_id FROM tags WHERE ref=?", (str(ref.with_default_tag()),))
        if row:
            return row["image_id"]
        if _is_hex(name) and ref.tag is None:
            return self._by_prefix(name)
        return None

    def _by_prefix(self, prefix: str) -> str | None:
        rows = self.store.query("SELECT id FROM images WHERE id LIKE ?", (f"sha256:{prefix}%",))
        if len(rows) > 1:
            raise NotFound(f"No such image: {prefix} (ambiguous short ID)")
        return rows[0]["id"] if rows else None

    def list(self) -> list[Image]:
        return [self._load(r["id"]) for r in self.store.query("SELECT id FROM images ORDER BY created DESC")]

    def children(self, image_id: str) -> list[str]:
        return [r["id"] for r in self.store.query("SELECT id FROM images WHERE parent=?", (image_id,))]

    def config_blob(self, image_id: str) -> bytes:
        return self.content.read(image_id)

    # -- writing ----------------------------------------------------------------

    def create(self, config: dict[str, Any] | bytes, parent: str = "", tags: list[str] = (),
               digests: list[str] = (), meta: dict[str, Any] | None = None) -> Image:
        """Record an image whose layers are all committed; tag it; return it.

        ``config`` as bytes is stored verbatim (its digest is the image ID); as a
        dict it is serialised compactly. Existing tags move to the new image.
        """
        raw = config if isinstance(config, bytes) else json.dumps(config, separators=(",", ":")).encode()
        parsed = json.loads(raw)
        for cid in chain_ids(list((parsed.get("rootfs") or {}).get("diff_ids") or [])):
            if not self.snapshots.has(cid):
                raise NotFound(f"layer {cid} of the image is not in the store")
        image_id = self.content.put(raw)
        with self.store.tx() as db:
            db.execute("INSERT OR IGNORE INTO images(id, parent, created, meta) VALUES (?,?,?,?)",
                       (image_id, parent, time.time(), dumps(meta or {})))
            if meta:
                db.execute("UPDATE images SET meta=? WHERE id=?", (dumps(meta), image_id))
            for tag in tags:
                db.execute("INSERT OR REPLACE INTO tags VALUES (?,?)", (tag, image_id))
            for digest in digests:
                db.execute("INSERT OR REPLACE INTO digests VALUES (?,?)", (digest, image_id))
        return self._load(image_id)

    def tag(self, name: str, target: str) -> str:
        """Point reference ``target`` at the image ``name``; return the full reference."""
        img = self.get(name)
        ref = references.parse(target)
        if ref.digest:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        full = str(ref.with_default_tag())
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO tags VALUES (?,?)", (full, img.id))
        return full

    def delete(self, name: str, force: bool = False, prune: bool = True) -> list[dict[str, str]]:
        """Untag or delete an image exactly as moby's ``ImageDelete`` does.

        Returns the report: ``{"Untagged": ref}`` and ``{"Deleted": id}`` items.
        Raises NotFound, or Conflict with docker's wording when the image is in use
        ("must be forced" conflicts yield to ``force``, "cannot be forced" ones never).
        """
        img = self.get(name)
        records: list[dict[str, str]] = []
        refs = img.tags + img.digests
        removed_ref = False
        if not img.id[7:].startswith(name[7:] if name.startswith("sha256:") else name):
            ref = references.parse(name)
            full = f"{ref.name}@{ref.digest}" if ref.digest else str(ref.with_default_tag())
            if not force and _single_reference(refs):
                users = self.containers_using(img.id)
                if users:
                    raise Conflict(f'conflict: unable to remove repository reference "{name}" (must force) - '
                                   f"container {users[0][0][:12]} is using its referenced image {img.short_id}")
            self._untag(full)
            records.append({"Untagged": _familiar(full)})
            refs = [r for r in refs if r != full]
            if not ref.digest and not any("@" not in r and _repo(r) == ref.name for r in refs):
                # The last tag of a repository took its digests with it.
                for r in [r for r in refs if "@" in r and _repo(r) == ref.name]:
                    self._untag(r)
                    records.append({"Untagged": _familiar(r)})
                    refs.remove(r)
            if refs:
                return records
            removed_ref = True
        elif _single_reference(refs):
            self._raise_conflict(img.id, hard=True, soft_stopped=not force, soft_refs=False)
            for r in refs:
                self._untag(r)
                records.append({"Untagged": _familiar(r)})
        self._delete_helper(img.id, records, force, prune, quiet=removed_ref)
        return records

    def _conflict(self, image_id: str, hard: bool, soft_refs: bool, soft_stopped: bool) -> tuple[str, bool, bool] | None:
        """(message, hard, used) of the first conflict deleting this image, or None."""
        if hard and self.children(image_id):
            return "image has dependent child images", True, False
        users = self.containers_using(image_id)
        if hard:
            for cid, running in users:
                if running:
                    return f"image is being used by running container {cid[:12]}", True, True
        if soft_refs and self.store.one("SELECT 1 FROM tags WHERE image_id=? UNION SELECT 1 FROM digests WHERE image_id=?",
                                        (image_id, image_id)):
            return "image is referenced in multiple repositories", False, False
        if soft_stopped:
            for cid, running in users:
                if not running:
                    return f"image is being used by stopped container {cid[:12]}", False, True
        return None

    def _raise_conflict(self, image_id: str, hard: bool, soft_refs: bool, soft_stopped: bool) -> None:
        found = self._conflict(image_id, hard, soft_refs, soft_stopped)
        if found:
            raise _conflict_error(image_id, *found[:2])

    def _delete_helper(self, image_id: str, records: list[dict[str, str]], force: bool, prune: bool,
                       quiet: bool) -> None:
        found = self._conflict(image_id, hard=True, soft_refs=not force, soft_stopped=not force)
        if found:
            message, hard, used = found
            if quiet and (not self._dangling(image_id) or used):
                return
            raise _conflict_error(image_id, message, hard)
        img = self._load(image_id)
        for r in img.tags + img.digests:
            self._untag(r)
            records.append({"Untagged": _familiar(r)})
        self._remove(img)
        records.append({"Deleted": img.id})
        if prune and img.parent and self.exists(img.parent):
            self._delete_helper(img.parent, records, force=False, prune=True, quiet=True)

    def _dangling(self, image_id: str) -> bool:
        return self.store.one("SELECT 1 FROM tags WHERE image_id=? UNION SELECT 1 FROM digests WHERE image_id=?",
                              (image_id, image_id)) is None and not self.children(image_id)

    def _untag(self, ref: str) -> None:
        with self.store.tx() as db:
            db.execute("DELETE FROM tags WHERE ref=?", (ref,))
            db.execute("DELETE FROM digests WHERE ref=?", (ref,))

    def untag_all(self, image_id: str) -> list[str]:
        img = self._load(image_id)
        for ref in img.tags + img.digests:
            self._untag(ref)
        return img.tags + img.digests

    def _remove(self, img: Image) -> None:
        """Drop the image's row; its config, manifests and layers go to the collector."""
        with self.store.tx() as db:
            db.execute("DELETE FROM images WHERE id=?", (img.id,))
        self._config_cache.pop(img.id, None)
        self.gc.collect(candidates={img.id} | set(img.meta.get("blobs") or []))

    def collect_layers(self) -> None:
        """Remove the layers and blobs nothing keeps (blocking; see ``baleine.engine.gc``)."""
        self.gc.collect()

    def roots(self) -> Roots:
        """What the images keep: their layers, config blobs and manifests (a gc root provider)."""
        out = Roots()
        for row in self.store.query("SELECT id, meta FROM images"):
            out.blobs.add(row["id"])
            out.blobs.update(json.loads(row["meta"]).get("blobs") or [])
            try:
                config = self._config_cache.get(row["id"]) or json.loads(self.content.read(row["id"]))
            except FileNotFoundError:
                continue  # recovery removes such a row's image; nothing to keep for it
            top = chain_ids(list((config.get("rootfs") or {}).get("diff_ids") or []))
            if top:
                out.layers.add(top[-1])
        return out

    # -- history ----------------------------------------------------------------

    def history(self, name: str) -> list[dict[str, Any]]:
        """``docker history`` entries, newest first, in the API's shape."""
        img = self.get(name)
        entries = img.config.get("history") or []
        layers = [self.snapshots.get(c) for c in img.chain_ids]
        # Which local image each non-empty layer's top corresponds to.
        known: dict[int, str] = {len(entries) - 1: img.id} if entries else {}
        parent, depth = img.parent, 1
        while parent and self.exists(parent):
            p = self._load(parent)
            n = len(p.config.get("history") or [])
            if n:
                known[n - 1] = p.id
            parent = p.parent
            depth += 1
        out: list[dict[str, Any]] = []
        li = 0
        for i, h in enumerate(entries):
            size = 0
            if not h.get("empty_layer"):
                layer = layers[li] if li < len(layers) else None
                size = layer.size if layer else 0
                li += 1
            out.append({
                "Id": known.get(i, "<missing>"),
                "Created": int(_parse_time(h.get("created"))),
                "CreatedBy": h.get("created_by", ""),
                "Tags": (img.tags if i == len(entries) - 1 else None),
                "Size": size,
                "Comment": h.get("comment", ""),
            })
        if not entries:
            out.append({"Id": img.id, "Created": int(_parse_time(img.config.get("created"))),
                        "CreatedBy": "", "Tags": img.tags, "Size": img.size, "Comment": ""})
        out.reverse()
        for e in out:
            if e["Tags"] is not None:
                e["Tags"] = [_familiar(t) for t in e["Tags"]]
        return out


def _conflict_error(image_id: str, message: str, hard: bool) -> Conflict:
    word = "cannot be forced" if hard else "must be forced"
    return Conflict(f"conflict: unable to delete {image_id[7:19]} ({word}) - {message}")


def _repo(ref: str) -> str:
    """Repository part of a full tag or digest reference."""
    if "@" in ref:
        return ref.split("@", 1)[0]
    head, _, tail = ref.rpartition(":")
    return head if "/" not in tail else ref


def _single_reference(refs: list[str]) -> bool:
    """moby's isSingleReference: at most one tag, and all references in one repository."""
    if len(refs) <= 1:
        return len(refs) == 1
    tags = [r for r in refs if "@" not in r]
    if len(tags) > 1:
        return False
    canonical = {_repo(r) for r in refs if "@" in r}
    single = tags[0] if tags else refs[0]
    return len(canonical) == 1 and _repo(single) in canonical


def familiar(ref: str) -> str:
    """A full reference as docker shows it ("busybox:latest"); unparsable ones as given."""
    try:
        return references.parse(ref).familiar()
    except InvalidParameter:
        return ref


_familiar = familiar


def _is_hex(s: str) -> bool:
    return bool(s) and all(c in "0123456789abcdef" for c in s)


def _parse_time(value: str | None) -> float:
    if not value:
        return 0.0
    from ...rules.timestamps import parse_rfc3339

    try:
        return parse_rfc3339(value)
    except (ValueError, InvalidParameter):  # a malformed date in an old image: unknown
        return 0.0


def new_config(base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fresh image config skeleton (for import/commit), optionally copied from base."""
    if base is not None:
        return json.loads(json.dumps(base))
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }


__all__ = ["Image", "Images", "new_config", "sha256_digest"]
