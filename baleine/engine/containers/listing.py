"""moby's container list filters (``GET /containers/json?filters=...``): which
containers a ``Filters`` selects. Pure over the records, but for resolving
``before``/``since`` containers and ``ancestor`` images."""

from __future__ import annotations

from typing import Any

from ...rules.errors import InvalidParameter
from ...rules.filters import Filters
from .records import Container

#: the filters ``GET /containers/json`` accepts
LIST_FILTERS = {"ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task", "label",
                "name", "network", "publish", "since", "status", "volume"}
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _status_matches(c: Container, wanted: list[str]) -> bool:
    for s in wanted:
        if s not in STATUSES:
            raise InvalidParameter(f"invalid filter 'status={s}'")
    return c.status in wanted


def filter_containers(containers: Any, images: Any, items: list[Container], f: Filters,
                      show_all: bool) -> list[Container]:
    """moby's container list filtering (all, status, id, name, label, ancestor, exited,
    before/since, health, expose/publish, volume, network); ``containers`` and
    ``images`` resolve the before/since and ancestor references."""
    if f.contains("status") or f.contains("exited") or f.contains("health"):
        show_all = True
    before = containers.get(f.get("before")[0]) if f.contains("before") else None
    since = containers.get(f.get("since")[0]) if f.contains("since") else None
    ancestors: set[str] = set()
    for a in f.get("ancestor") if f.contains("ancestor") else []:
        try:
            ancestors.add(images.get(a).id)
        except Exception:  # noqa: BLE001 - unknown ancestors match nothing
            continue
    return [c for c in items if (show_all or c.running) and _matches(c, f, before, since, ancestors)]


def _matches(c: Container, f: Filters, before: Container | None, since: Container | None,
             ancestors: set[str]) -> bool:
    if f.contains("status") and not _status_matches(c, f.get("status")):
        return False
    if f.contains("id") and not any(c.id.startswith(v) for v in f.get("id")):
        return False
    if f.contains("name") and not f.match("name", c.name):
        return False
    if f.contains("label") and not f.match_kv("label", c.config.get("Labels") or {}):
        return False
    if f.contains("exited"):
        if c.running or c.status == "created" or str(c.state.get("ExitCode")) not in f.get("exited"):
            return False
    if f.contains("health"):
        if (c.state.get("Health") or {}).get("Status", "none") not in f.get("health"):
            return False
    if f.contains("ancestor") and c.doc["Image"] not in ancestors and not any(
            c.config.get("Image") == a for a in f.get("ancestor")):
        return False
    if before is not None and c.doc["Created"] >= before.doc["Created"]:
        return False
    if since is not None and c.doc["Created"] <= since.doc["Created"]:
        return False
    return _matches_resources(c, f)


def _matches_resources(c: Container, f: Filters) -> bool:
    """The volume, network and expose filters."""
    if f.contains("volume") and not any(
            m.get("Name") in f.get("volume") or m.get("Destination") in f.get("volume")
            for m in c.doc.get("Mounts") or []):
        return False
    if f.contains("network") and not any(
            n in f.get("network") or (v or {}).get("NetworkID") in f.get("network")
            for n, v in ((c.doc.get("NetworkSettings") or {}).get("Networks") or {}).items()):
        return False
    exposed = c.config.get("ExposedPorts") or {}
    if f.contains("expose") and not any(p in exposed or p + "/tcp" in exposed for p in f.get("expose")):
        return False
    return True
