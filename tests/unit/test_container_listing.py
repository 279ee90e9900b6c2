"""moby's container list filters (baleine.engine.containers.listing)."""

from __future__ import annotations

import pytest

from baleine.engine.containers.listing import filter_containers
from baleine.engine.containers.records import Container
from baleine.rules.errors import InvalidParameter, NotFound
from baleine.rules.filters import Filters


def _c(cid: str, *, status: str = "exited", exit_code: int = 0, created: str = "2024-01-01T00:00:00Z",
       labels: dict | None = None, image: str = "busybox", image_id: str = "sha256:bb",
       mounts: list | None = None, networks: dict | None = None, exposed: dict | None = None,
       health: str | None = None) -> Container:
    state = {"Running": status in ("running", "paused"), "Paused": status == "paused", "Status": status,
             "ExitCode": exit_code}
    if health:
        state["Health"] = {"Status": health}
    return Container({"Id": cid, "Name": "/" + cid, "Created": created, "Image": image_id, "State": state,
                      "Config": {"Labels": labels or {}, "Image": image, "ExposedPorts": exposed or {}},
                      "HostConfig": {}, "Baleine": {}, "Mounts": mounts or [],
                      "NetworkSettings": {"Networks": networks or {}}})


class _Records:
    """Looks containers or images up by ID, as the engine's records do."""

    def __init__(self, items: dict[str, object]) -> None:
        self.items = items

    def get(self, ref: str) -> object:
        if ref not in self.items:
            raise NotFound(f"No such object: {ref}")
        return self.items[ref]


class _Image:
    def __init__(self, image_id: str) -> None:
        self.id = image_id


ITEMS = [
    _c("a1", status="running", created="2024-01-01T00:00:01Z", labels={"tier": "web"},
       networks={"front": {"NetworkID": "n1"}}, exposed={"80/tcp": {}}, health="healthy"),
    _c("b2", status="exited", exit_code=3, created="2024-01-01T00:00:02Z", mounts=[{"Name": "data",
                                                                                  "Destination": "/data"}]),
    _c("c3", status="created", created="2024-01-01T00:00:03Z", image="alpine", image_id="sha256:al"),
    _c("d4", status="paused", created="2024-01-01T00:00:04Z", labels={"tier": "db"}),
]


def _ids(f: Filters, show_all: bool = False) -> list[str]:
    containers = _Records({c.id: c for c in ITEMS})
    images = _Records({"busybox": _Image("sha256:bb")})
    return [c.id for c in filter_containers(containers, images, ITEMS, f, show_all)]


@pytest.mark.parametrize(("filters", "show_all", "expected"), [
    ({}, False, ["a1", "d4"]),
    ({}, True, ["a1", "b2", "c3", "d4"]),
    ({"status": ["exited"]}, False, ["b2"]),  # a status filter implies all
    ({"exited": ["3"]}, False, ["b2"]),
    ({"exited": ["0"]}, False, []),  # created containers never match exited
    ({"id": ["c"]}, True, ["c3"]),
    ({"name": ["d"]}, True, ["d4"]),
    ({"label": ["tier=web"]}, True, ["a1"]),
    ({"label": ["tier"]}, True, ["a1", "d4"]),
    ({"ancestor": ["busybox"]}, True, ["a1", "b2", "d4"]),
    ({"ancestor": ["nowhere"]}, True, []),
    ({"before": ["c3"]}, True, ["a1", "b2"]),
    ({"since": ["b2"]}, True, ["c3", "d4"]),
    ({"health": ["healthy"]}, False, ["a1"]),
    ({"health": ["none"]}, False, ["b2", "c3", "d4"]),
    ({"volume": ["/data"]}, True, ["b2"]),
    ({"network": ["n1"]}, True, ["a1"]),
    ({"network": ["front"]}, True, ["a1"]),
    ({"expose": ["80"]}, True, ["a1"]),
])
def test_filters_select_as_moby(filters: dict, show_all: bool, expected: list[str]) -> None:
    assert _ids(Filters(filters), show_all) == expected


def test_unknown_status_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="invalid filter 'status=sleeping'"):
        _ids(Filters({"status": ["sleeping"]}))


def test_unknown_before_container_is_not_found() -> None:
    with pytest.raises(NotFound):
        _ids(Filters({"before": ["zz"]}), True)
