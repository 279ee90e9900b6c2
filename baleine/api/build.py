"""Build endpoints: ``POST /build`` (the classic builder's protocol) and ``POST /build/prune``.

``POST /build`` takes the context as the request body (a tar, maybe compressed,
or a bare Dockerfile) and the options as query parameters (``t``, ``dockerfile``,
``buildargs``, ``target``, ``nocache``, ``pull``, ``labels``, ``q``, ``rm``,
``forcerm``, ``networkmode``, ``platform``, ``extrahosts``, resource limits...), and streams
the JSON messages Docker's classic builder sends: ``{"stream": "Step 1/3 :
..."}``, ``{"aux": {"ID": "sha256:..."}}``, and ``{"errorDetail": {...},
"error": "..."}`` when a step fails — what ``DOCKER_BUILDKIT=0 docker build``
and docker-py's ``images.build`` read. Errors found before the first step (bad
options, a Dockerfile that does not parse) are plain HTTP errors, as with
Docker. A client sending ``X-Baleine-Progress: 1`` also gets each builder event
as a ``baleine`` member (what ``baleine build`` draws its terminal view from).

Translation only: the build itself is the build backend (``engine.interface.build``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..build.builder import BuildError, BuildOptions
from ..build.context import extract, is_tar
from ..engine.interface.build import BuildBackend
from ..rules.errors import EngineError, InvalidParameter
from ..rules.units import parse_bytes
from .bodies import BodyReader
from .requests import Router, backends_of, client_gone, qbool
from .responses import json_response

_SENTINEL = object()
#: Contexts up to this size are read whole and may be reused unpacked (``build.kept_contexts``).
KEPT_CONTEXT_BYTES = 8 << 20


def _json_param(request: web.Request, name: str) -> dict[str, Any]:
    raw = request.query.get(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidParameter(f"invalid {name} value: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidParameter(f"invalid {name} value: expected a JSON object")
    return value


def _int_param(request: web.Request, name: str) -> int:
    raw = request.query.get(name)
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameter(f"invalid {name} value: {raw!r}") from None


def options(request: web.Request) -> BuildOptions:
    """BuildOptions from the query and headers; InvalidParameter when malformed."""
    q = request.query
    if q.get("version") == "2":
        raise InvalidParameter("BuildKit (version=2) is not supported by this daemon: use the classic builder "
                               "(DOCKER_BUILDKIT=0)")
    if qbool(request, "squash"):
        raise InvalidParameter("squash is only supported with experimental mode")
    if q.get("remote"):
        raise InvalidParameter("remote build contexts (git, URLs) are not supported: send the context as the "
                               "request body")
    build_args = _json_param(request, "buildargs")
    labels = _json_param(request, "labels")
    for k, v in build_args.items():
        if v is not None and not isinstance(v, str):
            raise InvalidParameter(f"invalid buildargs value for {k}: expected a string")
    resources: dict[str, Any] = {}
    for param, field_ in (("memory", "memory"), ("memswap", "memory_swap"), ("cpushares", "cpu_shares"),
                          ("cpuperiod", "cpu_period"), ("cpuquota", "cpu_quota"), ("shmsize", "shm_size")):
        value = _int_param(request, param)
        if value:
            resources[field_] = value
    if q.get("cpusetcpus"):
        resources["cpuset_cpus"] = q["cpusetcpus"]
    if q.get("cpusetmems"):
        resources["cpuset_mems"] = q["cpusetmems"]
    extra_hosts: list[str] = []
    for raw in q.getall("extrahosts", []):
        extra_hosts.extend(h for h in raw.split(",") if h)
    auth: dict[str, Any] = {}
    header = request.headers.get("X-Registry-Config")
    if header:
        try:
            auth = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except (ValueError, TypeError):
            auth = {}
    secrets_: dict[str, bytes] = {}
    header = request.headers.get("X-Baleine-Build-Secrets")
    if header:
        try:
            raw = json.loads(base64.b64decode(header))
            secrets_ = {str(k): base64.b64decode(v) for k, v in raw.items()}
        except (ValueError, TypeError, AttributeError):
            raise InvalidParameter("invalid X-Baleine-Build-Secrets header") from None
    # default, bridge, host, none, a network's name or ID, or container:<name|id>
    # (the classic builder's choices); a missing one fails the first RUN.
    network = q.get("networkmode", "")
    if network == "container:" or any(ch.isspace() for ch in network):
        raise InvalidParameter(f"invalid network mode {network!r} for a build")
    return BuildOptions(
        dockerfile=q.get("dockerfile") or "Dockerfile",
        tags=[t for t in q.getall("t", []) if t],
        build_args={str(k): v for k, v in build_args.items()},
        target=q.get("target", ""),
        no_cache=qbool(request, "nocache"),
        pull=qbool(request, "pull"),
        labels={str(k): str(v) for k, v in labels.items()},
        quiet=qbool(request, "q"),
        network=network,
        platform=q.get("platform", ""),
        extra_hosts=extra_hosts,
        resources=resources,
        secrets=secrets_,
        registry_auth=auth,
        cache_from=_cache_from(q.get("cachefrom")),
        remove=qbool(request, "rm", True),
        force_remove=qbool(request, "forcerm"),
    )


def _cache_from(raw: str | None) -> list[str]:
    """``cachefrom``: a JSON list of image names."""
    if not raw:
        return []
    try:
        names = json.loads(raw)
    except ValueError:
        raise InvalidParameter("invalid cachefrom: expected a JSON list of image names") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidParameter("invalid cachefrom: expected a JSON list of image names")
    return [n for n in names if n]


def classic_text(ev: dict[str, Any]) -> str:
    """The text Docker's classic builder prints for one builder event."""
    kind = ev["type"]
    if kind == "step":
        return f"Step {ev['step']}/{ev['total']} : {ev['text']}\n"
    if kind == "cached":
        return " ---> Using cache\n"
    if kind == "running":
        return f" ---> Running in {ev['container']}\n"
    if kind == "output":
        return ev["text"]
    if kind == "removed":
        return f" ---> Removed intermediate container {ev['container']}\n"
    if kind == "step-done":
        return f" ---> {ev['id']}\n"
    if kind == "message":
        return ev["text"]
    return ""


def _familiar(ref: str) -> str:
    from ..rules import references

    try:
        return references.parse(ref).familiar()
    except InvalidParameter:
        return ref


async def build(request: web.Request) -> web.StreamResponse:
    backend = backends_of(request).build
    opts = options(request)
    structured = request.headers.get("X-Baleine-Progress") == "1"
    loop = asyncio.get_running_loop()
    ctx_dir = ""
    released = False

    async def release(succeeded: bool) -> None:
        nonlocal released
        if ctx_dir and not released:
            released = True
            await backend.release_context(ctx_dir, succeeded)
    try:
        head = await _read_head(request.content, 512)
        if head and not is_tar(head):
            # A bare Dockerfile as the body: an empty context holding it.
            body = head + await request.content.read()
            name = opts.dockerfile if "/" not in opts.dockerfile else "Dockerfile"
            opts.dockerfile = name
            ctx_dir = backend.new_context()

            def write() -> None:
                with open(os.path.join(ctx_dir, name), "wb") as f:
                    f.write(body)
            await asyncio.to_thread(write)
        elif head:
            # A small context whole, so that a build of the same bytes reuses it unpacked.
            data = await _read_head(request.content, KEPT_CONTEXT_BYTES + 1, head)
            if len(data) <= KEPT_CONTEXT_BYTES:
                ctx_dir = await backend.context_from_tar(data, opts.dockerfile)
            else:
                ctx_dir = backend.new_context()
                await asyncio.to_thread(extract, BodyReader(request, loop, data), ctx_dir)
        else:
            ctx_dir = backend.new_context()
        return await _run(request, backend, opts, ctx_dir, structured, release)
    finally:
        await release(False)  # nothing if the build's end released it


async def _read_head(content: Any, n: int, head: bytes = b"") -> bytes:
    """The body's first ``n`` bytes (fewer at its end), after ``head`` already read."""
    parts, size = [head], len(head)
    while size < n:
        chunk = await content.read(n - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


async def _run(request: web.Request, backend: BuildBackend, opts: BuildOptions, ctx_dir: str,
               structured: bool, release: Callable[[bool], Awaitable[None]]) -> web.StreamResponse:
    """Run the build, streaming its messages. ``release(built)`` gives the context back
    before the response ends: a client's next build of the same context, sent as soon
    as this one's response is over, finds it kept."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    result: dict[str, Any] = {}

    async def runner() -> None:
        try:
            result["value"] = await backend.build(ctx_dir, opts, queue.put_nowait)
        except BaseException as exc:  # noqa: BLE001 - reported to the client below
            result["error"] = exc
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            queue.put_nowait(_SENTINEL)

    task = asyncio.create_task(runner())
    resp: web.StreamResponse | None = None
    held: list[bytes] = []  # quiet mode keeps the output for the error case

    async def send(message: dict[str, Any]) -> None:
        nonlocal resp
        if resp is None:
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            await resp.prepare(request)
        await resp.write(json.dumps(message).encode() + b"\r\n")

    try:
        while True:
            try:
                # Events already queued are taken as they are (no timer, no task each).
                ev = queue.get_nowait() if not queue.empty() else await asyncio.wait_for(queue.get(), 1.0)
            except asyncio.TimeoutError:
                # A client that went away cancels the build (a long silent RUN
                # would otherwise only notice at its next output).
                if client_gone(request):
                    raise ConnectionResetError("the client closed the connection") from None
                continue
            if ev is _SENTINEL:
                break
            text = classic_text(ev)
            message: dict[str, Any] = {}
            if text:
                message["stream"] = text
            if structured:
                message["baleine"] = ev
            if not message:
                continue
            if opts.quiet and not structured:
                held.append(json.dumps(message).encode())
                continue
            await send(message)
        await task
    except (ConnectionError, RuntimeError):
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if resp is None:
            raise
        return resp
    exc = result.get("error")
    if exc is not None:
        if resp is None and not held and isinstance(exc, EngineError) and not isinstance(exc, BuildError):
            raise exc  # nothing sent yet: a plain HTTP error, as Docker does
        if opts.quiet:
            for raw in held:
                await send(json.loads(raw))
        message = str(exc) if isinstance(exc, EngineError) else f"internal error: {exc}"
        detail: dict[str, Any] = {"message": message}
        if isinstance(exc, BuildError) and exc.code:
            detail["code"] = exc.code
        err: dict[str, Any] = {"errorDetail": detail, "error": message}
        if structured and isinstance(exc, BuildError):
            err["baleine"] = {"type": "error", "tail": exc.tail, "code": exc.code}
        await send(err)
    else:
        res = result["value"]
        await send({"aux": {"ID": res.image_id}})
        if opts.quiet:
            await send({"stream": res.image_id + "\n"})
        else:
            await send({"stream": f"Successfully built {res.image_id[7:19]}\n"})
            for tag in res.tags:
                await send({"stream": f"Successfully tagged {_familiar(tag)}\n"})
    assert resp is not None
    await release(exc is None)
    await resp.write_eof()
    return resp


async def prune(request: web.Request) -> web.Response:
    """``POST /build/prune``: ``all``, ``keep-storage`` (``reserved-space``), ``filters`` (``until``)."""
    from ..rules import filters as filters_mod
    from ..rules.units import parse_duration

    f = filters_mod.parse(request.query.get("filters"))
    until = None
    if f.contains("until"):
        until = parse_duration(f.get("until")[0])
    keep = request.query.get("keep-storage") or request.query.get("reserved-space") or "0"
    try:
        keep_bytes = int(keep)
    except ValueError:
        keep_bytes = parse_bytes(keep)
    deleted, freed = await backends_of(request).build.prune(qbool(request, "all"), keep_bytes, until, f)
    return json_response({"CachesDeleted": [d[7:] for d in deleted] or None, "SpaceReclaimed": freed})


def register(router: Router) -> None:
    router.post("/build", build)
    router.post("/build/prune", prune)
