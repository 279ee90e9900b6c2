"""The keeping rules of a failed RUN's container (``build/failedrun.py``): which
image is its parent, its create body, and that nothing is left when it cannot be
registered. The image store and the registration hook are fakes (pure logic);
tests/compat/test_issue14_build.py runs the real thing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from baleine.build import failedrun
from baleine.build.builder import BuildOptions
from baleine.build.fsops import WorkArea
from baleine.build.state import State


class FakeImages:
    def __init__(self, existing: set[str]) -> None:
        self.ids = set(existing)
        self.deleted: list[str] = []

    def exists(self, image_id: str) -> bool:
        return image_id in self.ids

    def create(self, config: dict[str, Any]) -> Any:
        image_id = State(config).id
        self.ids.add(image_id)
        return SimpleNamespace(id=image_id)

    def delete(self, name: str, force: bool = False, prune: bool = True) -> list[dict[str, str]]:
        self.ids.discard(name)
        self.deleted.append(name)
        return [{"Deleted": name}]


def _run(images: FakeImages, hook: Any, opts: BuildOptions | None = None,
         base_images: dict[str, str] | None = None) -> Any:
    builder = SimpleNamespace(images=images, keep_failed=hook)
    return SimpleNamespace(builder=builder, opts=opts or BuildOptions(), base_images=base_images or {})


def _state() -> State:
    return State({"config": {"Env": ["PATH=/bin"]}, "rootfs": {"type": "layers", "diff_ids": []}, "history": []})


def _failed() -> failedrun.FailedRun:
    return failedrun.FailedRun("a" * 64, ["/bin/sh", "-c", "false"], ["A=1"], "2026-12-04T00:00:00Z", 1)


def _area(tmp_path: Path) -> WorkArea:
    (tmp_path / "merged").mkdir()
    (tmp_path / "diff").mkdir()
    return WorkArea("cx", str(tmp_path / "diff"), str(tmp_path / "merged"), "")


def test_unchanged_base_is_the_parent_and_nothing_is_created() -> None:
    images = FakeImages({"sha256:base"})
    state = _state()
    b = _run(images, None, base_images={state.id: "sha256:base"})
    assert failedrun.parent_image(b, state) == ("sha256:base", False)
    assert images.ids == {"sha256:base"}


def test_a_changed_state_is_committed_once() -> None:
    images = FakeImages(set())
    state = _state()
    b = _run(images, None)
    assert failedrun.parent_image(b, state) == (state.id, True)
    # Already there (an earlier failure of the same step): reused, not "made" by this call.
    assert failedrun.parent_image(b, state) == (state.id, False)


def test_body_resets_the_entrypoint_and_keeps_only_container_network_modes() -> None:
    run = _failed()
    for network, mode in (("", "default"), ("bridge", "default"), ("host", "host"), ("none", "none"),
                          ("mynet", "mynet"), ("container:x", "default")):
        body = failedrun.container_body(_run(FakeImages(set()), None, BuildOptions(network=network)), "sha256:p", run)
        assert body == {"Image": "sha256:p", "Cmd": ["/bin/sh", "-c", "false"], "Entrypoint": [""],
                        "Env": ["A=1"], "HostConfig": {"NetworkMode": mode}}


def test_force_rm_or_no_hook_keeps_nothing() -> None:
    assert failedrun.should_keep(_run(FakeImages(set()), lambda *a: None))
    assert not failedrun.should_keep(_run(FakeImages(set()), lambda *a: None, BuildOptions(force_remove=True)))
    assert not failedrun.should_keep(_run(FakeImages(set()), None))


def test_registration_failure_drops_the_image_it_made(tmp_path: Path) -> None:
    images = FakeImages(set())

    def hook(*args: Any) -> Any:
        raise OSError("no space left")
    b = _run(images, hook)
    state = _state()
    assert asyncio.run(failedrun.keep(b, state, _area(tmp_path), _failed())) is None
    assert images.ids == set() and images.deleted == [state.id]


def test_registration_failure_keeps_an_image_it_did_not_make(tmp_path: Path) -> None:
    state = _state()
    images = FakeImages({"sha256:base"})

    def hook(*args: Any) -> Any:
        raise OSError("no space left")
    b = _run(images, hook, base_images={state.id: "sha256:base"})
    assert asyncio.run(failedrun.keep(b, state, _area(tmp_path), _failed())) is None
    assert images.ids == {"sha256:base"} and images.deleted == []


def test_registered_container_gets_the_step_id_upper_and_code(tmp_path: Path) -> None:
    calls: list[tuple[Any, ...]] = []

    def hook(body: dict[str, Any], cid: str, upper: str, code: int, started: str, error: str) -> Any:
        calls.append((body["Image"], cid, upper, code, started, error))
        return SimpleNamespace(id=cid)
    state = _state()
    area = _area(tmp_path)
    b = _run(FakeImages(set()), hook)
    assert asyncio.run(failedrun.keep(b, state, area, _failed())) == "a" * 64
    assert calls == [(state.id, "a" * 64, area.upper, 1, "2026-12-04T00:00:00Z", "")]
