"""The images backend over real stores (no layers: a config-only image suffices):
deletion collects off the event loop and publishes docker's events."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from baleine.engine.containers.records import Containers
from baleine.engine.events import Events
from baleine.engine.gc import Roots
from baleine.engine.images.content import ContentStore
from baleine.engine.images.records import Images, new_config
from baleine.engine.images.service import ImageService, event_owners
from baleine.engine.images.snapshots import Snapshots
from baleine.engine.store import Store


def _service(tmp_path: Path) -> tuple[ImageService, Images, Events]:
    store = Store(str(tmp_path / "db"))
    images = Images(store, ContentStore(str(tmp_path / "content")), Snapshots(str(tmp_path / "overlay"), store))
    events = Events()
    return ImageService(images, Containers(store, str(tmp_path / "containers")), None, events,  # type: ignore[arg-type]
                        str(tmp_path)), images, events


def test_delete_collects_in_a_worker_thread_and_publishes_untag_then_delete(tmp_path: Path) -> None:
    service, images, events = _service(tmp_path)
    img = images.create(new_config(), tags=["docker.io/library/x:latest"])
    collecting: list[threading.Thread] = []

    def probe() -> Roots:
        collecting.append(threading.current_thread())
        return Roots()

    images.gc.add_roots("probe", probe)

    async def run() -> list[dict[str, str]]:
        events.loop = asyncio.get_running_loop()
        return await service.delete("x")

    report = asyncio.run(run())
    assert report == [{"Untagged": "x:latest"}, {"Deleted": img.id}]
    assert collecting and threading.main_thread() not in collecting
    assert [(e["Action"], e["Actor"]["ID"]) for e in events.since(0)] == [("untag", img.id), ("delete", img.id)]
    assert not images.content.exists(img.id)


def test_an_untagged_parent_belongs_to_its_own_delete() -> None:
    report = [{"Untagged": "a:latest"}, {"Deleted": "sha256:child"}, {"Untagged": "b:1"}, {"Deleted": "sha256:p"}]
    assert event_owners(report, "sha256:child") == ["sha256:child", "sha256:child", "sha256:p", "sha256:p"]
    assert event_owners([{"Untagged": "a:latest"}], "sha256:asked") == ["sha256:asked"]


def test_the_wired_services_implement_their_backend_protocols() -> None:
    import inspect

    from baleine.build.service import BuildService
    from baleine.distribution.service import Distribution
    from baleine.engine.interface.build import BuildBackend
    from baleine.engine.interface.distribution import DistributionBackend
    from baleine.engine.interface.images import ImagesBackend

    for impl, proto in ((ImageService, ImagesBackend), (Distribution, DistributionBackend),
                        (BuildService, BuildBackend)):
        for name, member in vars(proto).items():
            if name.startswith("_") or not callable(member):
                continue
            mine = getattr(impl, name, None)
            assert mine is not None, f"{impl.__name__} lacks {name}"
            assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(member), name
            assert list(inspect.signature(mine).parameters) == list(inspect.signature(member).parameters), name
