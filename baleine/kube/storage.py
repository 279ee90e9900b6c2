"""Object storage: one SQLite file, ``<data-root>/kube/objects.db``, owned by this module alone.

A separate file rather than a table in the engine's store: the API server is
independent of the engine (it runs without it, and has its own lifecycle), and
its write rhythm (every status update, every watchable change) should not
contend with the engine's database lock.

Contract: every write takes the next value of a global counter as the object's
``metadata.resourceVersion`` (a decimal string), commits, then publishes one
watch event. Reads come from an in-memory copy loaded at open; objects are
returned as deep copies (callers may mutate them). Writes are serialized by an
asyncio lock and run SQLite in a worker thread.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sqlite3
from typing import Any

from .watch import Event, Hub

Key = tuple[str, str, str]  # resource, namespace ("" for cluster-scoped), name

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kube_objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (resource, namespace, name));
CREATE TABLE IF NOT EXISTS kube_counter (id INTEGER PRIMARY KEY CHECK (id = 0), rv INTEGER NOT NULL);
INSERT OR IGNORE INTO kube_counter VALUES (0, 0);
"""


class Storage:
    """Objects by (resource, namespace, name), with a global resourceVersion."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._objects: dict[Key, dict[str, Any]] = {}
        self._lock = asyncio.Lock()
        self.rv = 0
        self.hub = Hub()

    async def open(self) -> None:
        await asyncio.to_thread(self._open)
        self.hub = Hub(self.rv)

    def _open(self) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self.rv = self._db.execute("SELECT rv FROM kube_counter").fetchone()[0]
        for resource, ns, name, body in self._db.execute("SELECT resource, namespace, name, body FROM kube_objects"):
            self._objects[(resource, ns, name)] = json.loads(body)

    async def close(self) -> None:
        self.hub.close()
        if self._db is not None:
            await asyncio.to_thread(self._db.close)
            self._db = None

    # --- reads --------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self._objects.get((resource, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects of ``resource`` (in ``namespace`` unless None), sorted by namespace then name."""
        keys = sorted(k for k in self._objects if k[0] == resource and (namespace is None or k[1] == namespace))
        return [copy.deepcopy(self._objects[k]) for k in keys]

    def all(self) -> list[tuple[Key, dict[str, Any]]]:
        """Every object (for the garbage collector); copies."""
        return [(k, copy.deepcopy(v)) for k, v in self._objects.items()]

    # --- writes -------------------------------------------------------------

    async def put(self, resource: str, obj: dict[str, Any], event: str) -> dict[str, Any]:
        """Store ``obj`` (created or modified, as ``event`` says) with the next resourceVersion."""
        meta = obj["metadata"]
        key = (resource, meta.get("namespace", ""), meta["name"])
        async with self._lock:
            rv = self.rv + 1
            meta["resourceVersion"] = str(rv)
            body = json.dumps(obj, separators=(",", ":"))
            await asyncio.to_thread(self._write, "INSERT OR REPLACE INTO kube_objects VALUES (?,?,?,?,?)",
                                    (*key, rv, body), rv)
            self.rv = rv
            self._objects[key] = copy.deepcopy(obj)
            self.hub.publish(Event(event, resource, rv, copy.deepcopy(obj)))
        return obj

    async def delete(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Remove an object; the DELETED event carries it with a new resourceVersion. None if absent."""
        key = (resource, namespace, name)
        async with self._lock:
            obj = self._objects.get(key)
            if obj is None:
                return None
            rv = self.rv + 1
            await asyncio.to_thread(self._write, "DELETE FROM kube_objects WHERE resource=? AND namespace=? AND name=?",
                                    key, rv)
            self.rv = rv
            del self._objects[key]
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(rv)
            self.hub.publish(Event("DELETED", resource, rv, copy.deepcopy(obj)))
        return obj

    def _write(self, sql: str, args: tuple[Any, ...], rv: int) -> None:
        assert self._db is not None
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(sql, args)
            self._db.execute("UPDATE kube_counter SET rv=?", (rv,))
