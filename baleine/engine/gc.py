"""The one garbage collector of layers and content blobs, and the leases that pin them.

What is kept is decided by *roots*: every provider registered with ``add_roots``
(images, containers, the build cache, ...) names the layers (ChainIDs; the layers
below them are kept too) and blobs it still needs. Operations in progress (a pull,
a load, a build) hold a :class:`Lease` on what they have written but not yet
recorded, as containerd's leases do; a lease is released on success or failure,
after which its content is kept only if a root names it.

``collect`` removes every layer that no root and no lease keeps, the blobs of those
layers, and the candidate blobs the caller names (a deleted image's config, a failed
pull's downloads) that nothing keeps. ``sweep=True`` (start-up recovery) considers
every blob of the content store instead of candidates only: at run time a blob
written by an operation that took no lease must not be swept from under it.

Everything here blocks (rows, rmtree): call it from a worker thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("baleine.engine.gc")


@dataclass
class Roots:
    """What one provider keeps: layers (ChainIDs, with everything below) and blobs."""

    layers: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)


#: A root provider: called at each collection, from the collecting thread.
RootProvider = Callable[[], Roots]


class _Layer(Protocol):
    chain_id: str
    parent: str
    blob: str


class LayerStore(Protocol):
    """What the collector needs of the snapshotter."""

    def layers(self) -> list[_Layer]: ...

    def remove_layers(self, chain_ids_: set[str]) -> None: ...


class BlobStore(Protocol):
    """What the collector needs of the content store."""

    def digests(self) -> Iterable[str]: ...

    def delete(self, digest: str) -> None: ...


class Lease:
    """Layers and blobs an operation in progress still needs (thread-safe).

    Use as a context manager, or call ``release`` when done either way.
    """

    def __init__(self, leases: Leases, lease_id: int, label: str) -> None:
        self._leases = leases
        self.id = lease_id
        self.label = label
        self._lock = threading.Lock()
        self.layers: set[str] = set()
        self.blobs: set[str] = set()

    def add_blob(self, digest: str) -> None:
        with self._lock:
            self.blobs.add(digest)

    def add_layer(self, chain_id: str) -> None:
        with self._lock:
            self.layers.add(chain_id)

    def roots(self) -> Roots:
        with self._lock:
            return Roots(set(self.layers), set(self.blobs))

    def release(self) -> None:
        """Stop holding anything (idempotent)."""
        self._leases.release(self)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Leases:
    """The leases currently held; a root provider of the collector."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, Lease] = {}
        self._ids = itertools.count(1)

    def create(self, label: str = "") -> Lease:
        with self._lock:
            lease = Lease(self, next(self._ids), label)
            self._held[lease.id] = lease
            return lease

    def release(self, lease: Lease) -> None:
        with self._lock:
            self._held.pop(lease.id, None)

    def held(self) -> list[Lease]:
        with self._lock:
            return list(self._held.values())

    def roots(self) -> Roots:
        out = Roots()
        for lease in self.held():
            r = lease.roots()
            out.layers |= r.layers
            out.blobs |= r.blobs
        return out


@dataclass
class Collected:
    """What one collection removed."""

    layers: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)


class GarbageCollector:
    """Removes the layers and blobs that no root provider and no lease keeps."""

    def __init__(self, layers: LayerStore, blobs: BlobStore) -> None:
        self._layers = layers
        self._blobs = blobs
        self._providers: list[tuple[str, RootProvider]] = []
        # One collection at a time: two would race on the same rows and directories.
        self._lock = threading.Lock()
        self.leases = Leases()

    def add_roots(self, name: str, provider: RootProvider) -> None:
        """Register a root provider (``name`` is for logs and errors)."""
        self._providers.append((name, provider))

    @contextmanager
    def lease(self, label: str = "") -> Iterator[Lease]:
        """A lease held for the ``with`` body and released however it ends."""
        lease = self.leases.create(label)
        try:
            yield lease
        finally:
            lease.release()

    def roots(self) -> Roots:
        """The union of every provider's roots and every lease's."""
        out = self.leases.roots()
        for _name, provider in self._providers:
            r = provider()
            out.layers |= r.layers
            out.blobs |= r.blobs
        return out

    def collect(self, candidates: Iterable[str] = (), sweep: bool = False) -> Collected:
        """Remove unreferenced layers, their blobs and the unreferenced candidates.

        Blocking. ``sweep`` considers every blob of the content store (start-up only).
        """
        with self._lock:
            roots = self.roots()
            every = {layer.chain_id: layer for layer in self._layers.layers()}
            kept = _closure(roots.layers, every)
            unused = set(every) - kept
            blobs = set(candidates) | {every[c].blob for c in unused if every[c].blob}
            if sweep:
                blobs |= set(self._blobs.digests())
            keep_blobs = roots.blobs | {every[c].blob for c in kept}
            self._layers.remove_layers(unused)
            gone = blobs - keep_blobs - {""}
            for digest in gone:
                self._blobs.delete(digest)
        if unused or gone:
            log.debug("gc: %d layers, %d blobs removed", len(unused), len(gone))
        return Collected(unused, gone)


def _closure(tops: set[str], every: dict[str, _Layer]) -> set[str]:
    """The layers ``tops`` name and every layer below them."""
    out: set[str] = set()
    for top in tops:
        while top and top not in out and top in every:
            out.add(top)
            top = every[top].parent
    return out
