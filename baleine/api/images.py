"""Image endpoints: list, inspect, history, tag, remove, prune, load, save, import, commit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ..engine.images import archive, commit as commit_mod
from ..rules import filters as filters_mod, references
from ..rules.errors import EngineError, InvalidParameter
from . import shapes
from .bodies import BodyReader, ResponseWriter
from .server import Router, engine_of, json_response, qbool, read_json

IMAGE_FILTERS = {"before", "dangling", "label", "reference", "since", "until"}


def _filter_images(engine: Any, f: filters_mod.Filters, show_all: bool) -> list[Any]:
    items = engine.images.list()
    before = engine.images.get(f.get("before")[0]) if f.contains("before") else None
    since = engine.images.get(f.get("since")[0]) if f.contains("since") else None
    dangling = f.bool_value("dangling") if f.contains("dangling") else None
    out = []
    parents = {img.parent for img in items if img.parent}
    for img in items:
        is_dangling = not img.tags and not img.digests
        if dangling is True and not is_dangling:
            continue
        if dangling is False and is_dangling:
            continue
        if not show_all and is_dangling and img.id in parents and dangling is None:
            continue  # intermediate images are hidden without -a
        if f.contains("label") and not f.match_kv("label", img.container_config.get("Labels") or {}):
            continue
        if before is not None and img.created_local >= before.created_local:
            continue
        if since is not None and img.created_local <= since.created_local:
            continue
        if f.contains("reference"):
            shown = [t for t in img.tags + img.digests
                     if any(_familiar_match(p, shapes._familiar(t)) for p in f.get("reference"))]
            if not shown:
                continue
            img.tags = [t for t in img.tags if t in shown]
            img.digests = [t for t in img.digests if t in shown]
        out.append(img)
    return out


def _familiar_match(pattern: str, familiar: str) -> bool:
    """distribution's FamiliarMatch: Go path.Match against "name:tag" and "name"."""
    import re

    rx = re.compile("".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
                            for c in pattern) + r"\Z")
    name = familiar.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return bool(rx.match(familiar) or rx.match(name))


async def list_(request: web.Request) -> web.Response:
    engine = engine_of(request)
    f = filters_mod.parse(request.query.get("filters"))
    f.validate(IMAGE_FILTERS)
    if request.query.get("filter"):
        f.add("reference", request.query["filter"])
    images = await asyncio.to_thread(_filter_images, engine, f, qbool(request, "all"))
    counts: dict[str, int] = {}
    for c in engine.containers.by_id.values():
        counts[c.doc["Image"]] = counts.get(c.doc["Image"], 0) + 1
    # Docker fills Containers only when asked (it costs a walk of all containers there).
    with_counts = qbool(request, "shared-size")
    return json_response([shapes.image_summary(img, counts.get(img.id, 0) if with_counts else -1)
                              for img in images])


async def inspect(request: web.Request) -> web.Response:
    engine = engine_of(request)
    img = engine.images.get(request.match_info["name"])
    return json_response(shapes.image_inspect(img))


async def history(request: web.Request) -> web.Response:
    engine = engine_of(request)
    return json_response(engine.images.history(request.match_info["name"]))


async def tag(request: web.Request) -> web.Response:
    engine = engine_of(request)
    repo = request.query.get("repo", "")
    tag_ = request.query.get("tag", "")
    if not repo:
        raise InvalidParameter("repository name must have at least one component")
    target = f"{repo}:{tag_}" if tag_ else repo
    full = engine.images.tag(request.match_info["name"], target)
    img = engine.images.get(full)
    image_event(engine, "tag", img.id, shapes._familiar(full), img)
    return web.Response(status=201)


def image_event(engine: Any, action: str, image_id: str, name: str, img: Any = None) -> None:
    """An image event as moby's ``LogImageEvent`` sends it: the image's labels (when it
    still exists) and ``name``, for the image ID."""
    attrs: dict[str, str] = {}
    if img is None:
        try:
            img = engine.images.get(image_id)
        except EngineError:
            img = None
    if img is not None:
        attrs.update({k: str(v) for k, v in (img.container_config.get("Labels") or {}).items()})
    attrs["name"] = name
    engine.events.publish("image", action, image_id, attrs)


async def remove(request: web.Request) -> web.Response:
    engine = engine_of(request)
    name = request.match_info["name"]
    img = engine.images.get(name)
    report = engine.images.delete(name, force=qbool(request, "force"), prune=not qbool(request, "noprune"))
    # Docker names untag and delete events by the image ID (not the reference). An
    # "Untagged" item belongs to the image of the next "Deleted" one (a pruned parent
    # is untagged, then deleted), else to the image asked for.
    owners: list[str] = []
    owner = img.id
    for item in reversed(report):
        owner = item.get("Deleted") or owner
        owners.append(owner)
    owners.reverse()
    for item, image_id in zip(report, owners):
        if "Untagged" in item:
            image_event(engine, "untag", image_id, image_id, img if image_id == img.id else None)
        elif "Deleted" in item:
            engine.events.publish("image", "delete", image_id, {"name": image_id})
    return json_response(report)


async def prune(request: web.Request) -> web.Response:
    engine = engine_of(request)
    f = filters_mod.parse(request.query.get("filters"))
    f.validate({"dangling", "label", "until", "label!"})
    only_dangling = f.bool_value("dangling", True) if f.contains("dangling") else True
    used = {c.doc["Image"] for c in engine.containers.by_id.values()}
    deleted: list[dict[str, str]] = []
    reclaimed = 0
    for img in engine.images.list():
        if img.id in used or not engine.images.exists(img.id):
            continue
        if only_dangling and (img.tags or img.digests):
            continue
        if f.contains("label") and not f.match_labels(img.container_config.get("Labels") or {}):
            continue
        if engine.images.children(img.id):
            continue
        before = engine.store.one("SELECT COUNT(*) AS n FROM layers")["n"]
        try:
            for ref in img.tags + img.digests:
                deleted.append({"Untagged": shapes._familiar(ref)})
            deleted.extend(r for r in engine.images.delete(img.id, force=True) if "Deleted" in r)
        except EngineError:
            continue
        reclaimed += img.size if engine.store.one("SELECT COUNT(*) AS n FROM layers")["n"] < before else 0
    engine.events.publish("image", "prune", "", {"reclaimed": str(reclaimed)})
    return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})


async def load(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    quiet = qbool(request, "quiet")
    loop = asyncio.get_running_loop()
    reader = BodyReader(request, loop)
    messages: list[str] = []
    loader = archive.Loader(engine.images, engine.content, engine.snapshots, messages.append)
    lines = await asyncio.to_thread(loader.load, reader)
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    loaded: list[str] = []
    for line in lines:
        await resp.write(json.dumps({"stream": line + "\n"}).encode() + b"\r\n")
        if line.startswith("Loaded image"):
            try:
                image_id = engine.images.get(line.split(": ", 1)[1]).id
            except EngineError:
                continue
            if image_id not in loaded:
                loaded.append(image_id)
    for image_id in loaded:
        # One event per image (not per tag), named by its ID, as docker's load sends.
        image_event(engine, "load", image_id, image_id)
    await resp.write_eof()
    del quiet
    return resp


async def save(request: web.Request) -> web.StreamResponse:
    engine = engine_of(request)
    names = request.query.getall("names", []) if "name" not in request.match_info else [request.match_info["name"]]
    if not names:
        raise InvalidParameter("no image names given")
    for name in names:
        engine.images.get(name)  # 404 before any byte is sent
    resp = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
    await resp.prepare(request)
    writer = ResponseWriter(resp, asyncio.get_running_loop())

    def run() -> None:
        archive.save(engine.images, engine.content, engine.snapshots, names, writer, engine.tmp_dir)
        writer.flush()

    try:
        await asyncio.to_thread(run)
    except (ConnectionError, RuntimeError):
        return resp
    await resp.write_eof()
    saved: list[str] = []
    for name in names:
        try:
            image_id = engine.images.get(name).id
        except EngineError:
            continue
        if image_id not in saved:
            saved.append(image_id)
            image_event(engine, "save", image_id, image_id)
    return resp


async def create(request: web.Request) -> web.StreamResponse:
    """``POST /images/create``: import from a tarball (``fromSrc=-``), or pull (``fromImage``,
    served by api/distribution.py)."""
    engine = engine_of(request)
    src = request.query.get("fromSrc")
    if src is None:
        from . import distribution

        return await distribution.pull(request)
    if src != "-":
        raise InvalidParameter("importing from a URL is not supported; use fromSrc=-")
    repo = request.query.get("repo", "")
    tag_ = request.query.get("tag", "")
    changes = request.query.getall("changes", [])
    message = request.query.get("message", "")
    reader = BodyReader(request, asyncio.get_running_loop())
    img = await asyncio.to_thread(commit_mod.import_tarball, engine.images, engine.content, engine.snapshots,
                                  reader, repo, tag_, message, changes)
    image_event(engine, "import", img.id, img.id, img)
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    await resp.write(json.dumps({"status": img.id}).encode() + b"\r\n")
    await resp.write_eof()
    return resp


async def commit(request: web.Request) -> web.Response:
    engine = engine_of(request)
    c = engine.containers.get(request.query.get("container", ""))
    overrides = await read_json(request, {}) or {}
    pause = qbool(request, "pause", True)
    paused_here = False
    if pause and c.running and not c.paused:
        await engine.lifecycle.runtime.pause(c.id)
        paused_here = True
    try:
        img = await asyncio.to_thread(
            commit_mod.commit, engine.images, engine.content, engine.snapshots, c,
            request.query.get("repo", ""), request.query.get("tag", ""), request.query.get("comment", ""),
            request.query.get("author", ""), request.query.getall("changes", []), overrides)
    finally:
        if paused_here:
            await engine.lifecycle.runtime.resume(c.id)
    engine.events.publish("container", "commit", c.id,
                          engine.lifecycle.attributes(c, comment=request.query.get("comment", ""), imageID=img.id,
                                                      imageRef=_commit_ref(request)))
    return json_response({"Id": img.id}, status=201)


def register(router: Router) -> None:
    router.get("/images/json", list_)
    router.post("/images/load", load)
    router.get("/images/get", save)
    router.post("/images/create", create)
    router.post("/images/prune", prune)
    router.get("/images/{name:.+}/json", inspect)
    router.get("/images/{name:.+}/history", history)
    router.get("/images/{name:.+}/get", save)
    router.post("/images/{name:.+}/tag", tag)
    router.delete("/images/{name:.+}", remove)
    router.post("/commit", commit)


def _commit_ref(request: web.Request) -> str:
    """The reference a commit tagged (docker's ``imageRef`` attribute), "" if none."""
    repo, tag_ = request.query.get("repo", ""), request.query.get("tag", "")
    if not repo:
        return ""
    try:
        ref = references.parse(f"{repo}:{tag_}" if tag_ else repo)
    except EngineError:
        return ""
    return ref.with_default_tag().familiar()
