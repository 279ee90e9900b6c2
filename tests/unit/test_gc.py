"""The garbage collector: roots, leases, candidates and the start-up sweep.

The layer store is an in-memory stand-in (the collector's logic is what is tested);
blobs live in a real content store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from baleine.engine.gc import GarbageCollector, Roots
from baleine.engine.images.content import ContentStore


@dataclass
class _Layer:
    chain_id: str
    parent: str
    blob: str


class _Layers:
    def __init__(self, *layers: _Layer) -> None:
        self.rows = {layer.chain_id: layer for layer in layers}

    def layers(self) -> list[_Layer]:
        return list(self.rows.values())

    def remove_layers(self, chain_ids_: set[str]) -> None:
        for cid in chain_ids_:
            self.rows.pop(cid, None)


def _setup(tmp_path: Path) -> tuple[GarbageCollector, _Layers, ContentStore, dict[str, str]]:
    content = ContentStore(str(tmp_path / "content"))
    blobs = {name: content.put(name.encode()) for name in ("base", "mid", "top", "config", "stray")}
    layers = _Layers(_Layer("c-base", "", blobs["base"]), _Layer("c-mid", "c-base", blobs["mid"]),
                     _Layer("c-top", "c-mid", blobs["top"]))
    return GarbageCollector(layers, content), layers, content, blobs


def test_a_root_keeps_its_layer_the_layers_below_and_their_blobs(tmp_path: Path) -> None:
    gc, layers, content, blobs = _setup(tmp_path)
    gc.add_roots("images", lambda: Roots(layers={"c-mid"}, blobs={blobs["config"]}))
    done = gc.collect(candidates={blobs["config"], blobs["stray"]})
    assert set(layers.rows) == {"c-base", "c-mid"}
    assert done.layers == {"c-top"}
    assert done.blobs == {blobs["top"], blobs["stray"]}
    assert content.exists(blobs["mid"]) and content.exists(blobs["config"])
    assert not content.exists(blobs["top"]) and not content.exists(blobs["stray"])


def test_a_lease_holds_until_released(tmp_path: Path) -> None:
    gc, layers, content, blobs = _setup(tmp_path)
    with gc.lease("pull") as lease:
        lease.add_layer("c-top")
        lease.add_blob(blobs["stray"])
        assert gc.collect(candidates={blobs["stray"]}).layers == set()
        assert content.exists(blobs["stray"])
    done = gc.collect(candidates={blobs["stray"]})
    assert done.layers == {"c-base", "c-mid", "c-top"}
    assert not content.exists(blobs["stray"])
    assert gc.leases.held() == []


def test_only_candidates_are_swept_at_run_time_every_blob_at_start_up(tmp_path: Path) -> None:
    gc, _, content, blobs = _setup(tmp_path)
    gc.add_roots("all", lambda: Roots(layers={"c-top"}))
    assert gc.collect().blobs == set()
    assert content.exists(blobs["stray"])
    assert gc.collect(sweep=True).blobs == {blobs["stray"], blobs["config"]}
