"""Compose projects from the dashboard: up, down, and every service's logs interleaved.

Routes (behind the dashboard's authentication and CSRF checks):

- ``POST /ui/compose/up`` ``{"project": NAME, "yaml": TEXT?}``: with ``yaml``, the
  file is kept under ``<data-root>/ui/projects/<NAME>/compose.yaml`` (mode 0600)
  and brought up; without it, the project comes up again from the files its
  containers name (``com.docker.compose.project.config_files``), as ``docker
  compose up -d`` run where it was first run. Answers ``{"output": …}`` with
  compose's progress lines, or 400 with the loader's or the daemon's message.
- ``POST /ui/compose/down`` ``{"project": NAME}``: ``docker compose down`` (its
  containers and networks; named volumes kept), from the labels when no file is known.
- ``GET /ui/compose/logs?project=NAME&tail=N``: the logs of every container of the
  project as newline-separated JSON documents ``{"service", "container", "stream",
  "text", "time"}``, merged as they arrive (follows until the client leaves).

Up and down run compose itself (``baleine.compose``: the same loader, dependency
order and hashing as ``baleine compose``) with its client on the daemon's own
socket, in a worker thread: compose's client is synchronous. The logs come from the
Engine API over the same socket, one stream per container, merged here.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import struct
from typing import Any

import aiohttp
from aiohttp import web

from ..compose.convert import LABEL_CONFIG_FILES, LABEL_PROJECT, LABEL_SERVICE, LABEL_WORKING_DIR
from .terminal import API_HOST, _connector
from .token import ui_dir

DATA_ROOT: web.AppKey[str] = web.AppKey("ui_data_root", str)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # compose's project name rule
MAX_FILE = 1 << 20


def add_routes(app: web.Application, data_root: str) -> None:
    app[DATA_ROOT] = data_root
    app.router.add_post("/ui/compose/up", compose_up)
    app.router.add_post("/ui/compose/down", compose_down)
    app.router.add_get("/ui/compose/logs", compose_logs)


def _bad(message: str) -> web.Response:
    return web.json_response({"message": message}, status=400)


async def _request(request: web.Request) -> tuple[str, str | None]:
    """(project name, compose file text or None); ValueError with the reason."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    name, text = body.get("project"), body.get("yaml")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"invalid project name {name!r}: lowercase letters, digits, dashes and underscores, "
                         "starting with a letter or digit")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_FILE):
        raise ValueError("yaml must be the text of a compose file (at most 1 MiB)")
    return name, text


def _save(data_root: str, name: str, text: str) -> str:
    """Keep the pasted file where the project will live; return its path (blocking)."""
    folder = os.path.join(ui_dir(data_root), "projects", name)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, "compose.yaml")
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return path


def _known_files(client: Any, name: str) -> tuple[list[str], str | None]:
    """The compose files and working directory a project's containers were made from."""
    filters = json.dumps({"label": [f"{LABEL_PROJECT}={name}"]})
    for c in client.containers.list(all=True, filters=filters):
        labels = c.get("Labels") or {}
        files = [f for f in (labels.get(LABEL_CONFIG_FILES) or "").split(",") if f]
        if files:
            return files, labels.get(LABEL_WORKING_DIR) or None
    return [], None


def _run(host: str, data_root: str, name: str, text: str | None, verb: str) -> str:
    """Compose ``verb`` (up or down) for project ``name``; its progress lines (blocking)."""
    from ..client.api import Client
    from ..compose.loader import Options, load
    from ..compose.model import Project
    from ..compose.progress import Progress
    from ..compose.runner import Runner

    client = Client(host)
    files, workdir = ([_save(data_root, name, text)], None) if text is not None else _known_files(client, name)
    if files and all(os.path.exists(f) for f in files):
        project = load(Options(files=files, project_name=name, project_directory=workdir))
    elif verb == "down":
        project = Project(name=name, working_dir=workdir or "", config_files=[], services={})
    else:
        raise ValueError(f"no compose file is known for project {name!r}: paste it to bring the project up")
    out = io.StringIO()
    runner = Runner(client, project, Progress(out, "plain"), out=lambda text: out.write(text + "\n"))
    try:
        if verb == "up":
            runner.up(build="never")
        else:
            runner.down()
    finally:
        runner.progress.done()
    return out.getvalue()


async def _compose(request: web.Request, verb: str) -> web.Response:
    from ..client import APIError
    from ..compose.errors import ComposeError

    try:
        name, text = await _request(request)
        if verb == "down":
            text = None
        output = await asyncio.to_thread(_run, request.config_dict[API_HOST], request.config_dict[DATA_ROOT], name,
                                         text, verb)
    except (ValueError, ComposeError) as exc:
        return _bad(str(exc))
    except APIError as exc:
        return web.json_response({"message": exc.message}, status=400 if exc.status < 500 else 500)
    return web.json_response({"output": output})


async def compose_up(request: web.Request) -> web.Response:
    return await _compose(request, "up")


async def compose_down(request: web.Request) -> web.Response:
    return await _compose(request, "down")


async def compose_logs(request: web.Request) -> web.StreamResponse:
    name = request.query.get("project", "")
    if not _NAME.match(name):
        return _bad(f"invalid project name {name!r}")
    tail = request.query.get("tail", "100")
    if not tail.isdigit() and tail != "all":
        return _bad("tail must be a number or all")
    connector, base = _connector(request.config_dict[API_HOST])
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as api:
        filters = json.dumps({"label": [f"{LABEL_PROJECT}={name}"]})
        async with api.get(f"{base}/containers/json", params={"all": "1", "filters": filters}) as r:
            containers = await r.json()
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson", "Cache-Control": "no-store"})
        await resp.prepare(request)
        lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        tasks = [asyncio.create_task(_follow(api, base, c, tail, lines)) for c in containers]
        try:
            while True:
                doc = await lines.get()
                await resp.write(json.dumps(doc).encode() + b"\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return resp


async def _follow(api: aiohttp.ClientSession, base: str, c: dict[str, Any], tail: str,
                  lines: asyncio.Queue[dict[str, Any]]) -> None:
    """One container's log lines into ``lines`` (docker's multiplexed frames unless it has a TTY)."""
    labels = c.get("Labels") or {}
    who = {"service": labels.get(LABEL_SERVICE, ""), "container": (c.get("Names") or ["/?"])[0].lstrip("/")}
    info_url = f"{base}/containers/{c['Id']}/json"
    async with api.get(info_url) as r:
        tty = bool(((await r.json()).get("Config") or {}).get("Tty"))
    params = {"follow": "1", "stdout": "1", "stderr": "1", "timestamps": "1", "tail": tail}
    async with api.get(f"{base}/containers/{c['Id']}/logs", params=params) as r:
        buffers = {1: b"", 2: b""}
        while True:
            if tty:
                chunk = await r.content.readany()
                if not chunk:
                    return
                stream, data = 1, chunk
            else:
                try:
                    header = await r.content.readexactly(8)
                except asyncio.IncompleteReadError:
                    return
                stream, size = header[0], struct.unpack(">I", header[4:])[0]
                data = await r.content.readexactly(size)
            buffers[stream] = buffers.get(stream, b"") + data
            *complete, buffers[stream] = buffers[stream].split(b"\n")
            for raw in complete:
                stamp, _, text = raw.decode(errors="replace").partition(" ")
                await lines.put({**who, "stream": "stderr" if stream == 2 else "stdout", "time": stamp,
                                 "text": text.rstrip("\r")})
