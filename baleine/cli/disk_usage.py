"""``baleine system df``: docker/cli 28's disk usage summary and ``-v`` details.

Summary (formatter/disk_usage.go): images are active when a container uses them,
their reclaimable size is ``LayersSize`` minus the unique size of the active
ones; containers are active when running, paused or restarting, and their
writable layers are reclaimable otherwise; volumes are active when referenced.
Sizes use go-units ``HumanSize`` (4 significant digits), except the verbose
image and container SIZE columns (3).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .. import gotemplate
from . import formatting
from .context import CLIError, Context, Parser

SUMMARY_FORMAT = "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
IMAGES_FORMAT = ("{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t"
                 "{{.UniqueSize}}\t{{.Containers}}")
CONTAINERS_FORMAT = ("{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t"
                     "{{.Status}}\t{{.Names}}")
VOLUMES_FORMAT = "{{.Name}}\t{{.Links}}\t{{.Size}}"
BUILD_CACHE_FORMAT = ("{{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t"
                      "{{.UsageCount}}\t{{.Shared}}")
VOLUME_HEADERS = {"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}
BUILD_CACHE_HEADERS = {"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
                       "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}


def human(n: float) -> str:
    """go-units ``HumanSize`` (precision 4), what ``system df`` prints."""
    return formatting.human_size(n, 4)


def _with_percent(reclaimable: int, total: int) -> str:
    if total > 0:
        return f"{human(reclaimable)} ({reclaimable * 100 // total}%)"
    return human(reclaimable)


def _container_active(c: dict[str, Any]) -> bool:
    state = c.get("State") or ""
    return any(s in state for s in ("running", "paused", "restarting"))


def summary_rows(data: dict[str, Any]) -> list[dict[str, str]]:
    """The four summary lines (Images, Containers, Local Volumes, Build Cache)."""
    images = data.get("Images") or []
    containers = data.get("Containers") or []
    volumes = data.get("Volumes") or []
    cache = data.get("BuildCache") or []
    layers = int(data.get("LayersSize") or 0)
    used = 0
    for i in images:
        if i.get("Containers", 0) != 0 and i.get("Size", -1) != -1 and i.get("SharedSize", -1) != -1:
            used += i["Size"] - i["SharedSize"]
    rw_total = sum(int(c.get("SizeRw") or 0) for c in containers)
    rw_free = sum(int(c.get("SizeRw") or 0) for c in containers if not _container_active(c))
    vol_sizes = [(v.get("UsageData") or {}) for v in volumes]
    vol_total = sum(u.get("Size", 0) for u in vol_sizes if u.get("Size", -1) != -1)
    vol_free = sum(u.get("Size", 0) for u in vol_sizes if u.get("Size", -1) != -1 and u.get("RefCount", 0) == 0)
    return [
        {"Type": "Images", "TotalCount": str(len(images)),
         "Active": str(sum(1 for i in images if i.get("Containers", 0) > 0)),
         "Size": human(layers), "Reclaimable": _with_percent(layers - used, layers)},
        {"Type": "Containers", "TotalCount": str(len(containers)),
         "Active": str(sum(1 for c in containers if _container_active(c))),
         "Size": human(rw_total), "Reclaimable": _with_percent(rw_free, rw_total)},
        {"Type": "Local Volumes", "TotalCount": str(len(volumes)),
         "Active": str(sum(1 for u in vol_sizes if u.get("RefCount", 0) > 0)),
         "Size": human(vol_total), "Reclaimable": _with_percent(vol_free, vol_total)},
        {"Type": "Build Cache", "TotalCount": str(len(cache)),
         "Active": str(sum(1 for b in cache if b.get("InUse"))),
         "Size": human(sum(b.get("Size", 0) for b in cache if not b.get("Shared"))),
         "Reclaimable": human(sum(b.get("Size", 0) for b in cache if not b.get("InUse") and not b.get("Shared")))},
    ]


def _repo_tag(ref: str) -> tuple[str, str]:
    last = ref.rsplit("/", 1)[-1]
    if "@" in ref:
        return ref.split("@", 1)[0], "<none>"
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, "latest"


def image_rows(images: list[dict[str, Any]], trunc: bool, now: float) -> list[dict[str, str]]:
    """Verbose image lines: the first tag of each image only, as docker shows them."""
    rows = []
    for i in images:
        tags = i.get("RepoTags") or []
        repo, tag = ("<none>", "<none>")
        if tags and tags[0] != "<none>:<none>":
            repo, tag = _repo_tag(tags[0])
        size, shared = int(i.get("Size", -1)), int(i.get("SharedSize", -1))
        created = int(i.get("Created", 0))
        iid = i.get("Id", "")
        rows.append({
            "Repository": repo, "Tag": tag, "Digest": "",
            "ID": formatting.truncate_id(iid) if trunc else iid,
            "CreatedSince": formatting.human_duration(max(0.0, now - created)) + " ago",
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
            "Size": formatting.human_size(size, 3), "VirtualSize": human(size),
            "SharedSize": "N/A" if shared == -1 else human(shared),
            "UniqueSize": "N/A" if size == -1 or shared == -1 else human(size - shared),
            "Containers": "N/A" if i.get("Containers", -1) == -1 else str(i["Containers"]),
        })
    return rows


def volume_rows(volumes: list[dict[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for v in volumes:
        usage = v.get("UsageData") or {}
        rows.append({"Name": v.get("Name", ""), "Driver": v.get("Driver", ""),
                     "Links": "N/A" if usage.get("RefCount", -1) == -1 else str(usage["RefCount"]),
                     "Size": "N/A" if usage.get("Size", -1) == -1 else human(usage["Size"])})
    return rows


def _since(ts: str | None, now: float) -> str:
    if not ts:
        return ""
    try:
        return formatting.human_duration(max(0.0, now - formatting.parse_timestamp(ts))) + " ago"
    except ValueError:
        return ""


def build_cache_rows(cache: list[dict[str, Any]], trunc: bool, now: float) -> list[dict[str, str]]:
    """Verbose build cache lines, most recently used first (docker's buildCacheSort)."""
    def last_used(b: dict[str, Any]) -> float:
        try:
            return formatting.parse_timestamp(b["LastUsedAt"]) if b.get("LastUsedAt") else float("-inf")
        except ValueError:
            return float("-inf")

    rows = []
    for b in sorted(cache, key=last_used, reverse=True):  # stable: ties keep their order
        cid = b.get("ID", "")
        cid = cid[:12] if trunc else cid
        rows.append({"ID": cid + ("*" if b.get("InUse") else ""), "CacheType": b.get("Type", ""),
                     "Size": formatting.human_size(b.get("Size", 0), 3),
                     "CreatedSince": _since(b.get("CreatedAt"), now), "LastUsedSince": _since(b.get("LastUsedAt"), now),
                     "UsageCount": str(b.get("UsageCount", 0)), "Shared": "true" if b.get("Shared") else "false",
                     "Description": b.get("Description", "")})
    return rows


def df(ctx: Context, argv: list[str]) -> int:
    p = Parser("system df", "[OPTIONS]", "Show docker disk usage")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("-v", "--verbose", action="store_true", help="Show detailed information on space usage")
    o = p.parse_args(argv)
    with ctx.api():
        data = ctx.client.system.df()
    try:
        if not o.verbose:
            sys.stdout.write(formatting.format_list(o.format, summary_rows(data), formatting.DISK_USAGE_HEADERS,
                                                    SUMMARY_FORMAT))
            return 0
        _verbose(data, o.format)
    except gotemplate.TemplateError as exc:
        raise CLIError(f"template parsing error: {exc}", 1) from None
    return 0


def _verbose(data: dict[str, Any], fmt: str | None) -> None:
    from .containers import _container_row

    now = time.time()
    is_table = fmt in (None, "", "table")
    containers = []
    for c in data.get("Containers") or []:
        c = dict(c, SizeRootFs=0)  # docker does not show the virtual size here
        containers.append(_container_row(c, is_table, now))
    images = image_rows(data.get("Images") or [], is_table, now)
    volumes = volume_rows(data.get("Volumes") or [])
    out = sys.stdout
    if not is_table:
        doc = {"Images": images, "Containers": [dict(r) for r in containers], "Volumes": volumes,
               "BuildCache": build_cache_rows(data.get("BuildCache") or [], False, now)}
        if fmt == "json":
            out.write(gotemplate.go_json(doc, escape_html=True) + "\n")
        else:
            out.write(gotemplate.render(fmt, doc) + "\n")
        return
    out.write("Images space usage:\n\n")
    out.write(formatting.format_list(None, images, formatting.IMAGE_HEADERS, IMAGES_FORMAT))
    out.write("\nContainers space usage:\n\n")
    out.write(formatting.format_list(None, containers, formatting.CONTAINER_HEADERS, CONTAINERS_FORMAT))
    out.write("\nLocal Volumes space usage:\n\n")
    out.write(formatting.format_list(None, volumes, VOLUME_HEADERS, VOLUMES_FORMAT))
    cache = data.get("BuildCache") or []
    total = sum(b.get("Size", 0) for b in cache if not b.get("Shared"))
    out.write(f"\nBuild cache usage: {human(total)}\n\n")
    out.write(formatting.format_list(None, build_cache_rows(cache, True, now), BUILD_CACHE_HEADERS,
                                     BUILD_CACHE_FORMAT))
