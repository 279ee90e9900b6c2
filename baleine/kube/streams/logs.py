"""``GET pods/{name}/log``: a container's logs as plain text, as the kubelet serves them.

Query (``PodLogOptions``): ``container``, ``follow``, ``previous``, ``tailLines``,
``sinceSeconds`` | ``sinceTime`` (RFC 3339), ``timestamps`` (each line prefixed with
its time, RFC 3339 with nine fractional digits, as the kubelet writes them),
``limitBytes`` (the stream stops after that many bytes). stdout and stderr are
interleaved as they were written. Bad options are 422 ``PodLogOptions "x" is
invalid``; a pod not yet bound to a node has empty logs (the API server has
nowhere to ask); a container without an instance is 400 in the kubelet's words.
Following ends when the container's instance stops or the client leaves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from ...engine.interface.containers import LogsOptions
from ...rules.errors import InvalidParameter
from ...rules.timestamps import parse_rfc3339, parse_rfc3339_ns
from ..status import APIError, Cause
from . import pods

if TYPE_CHECKING:
    from ..manager import Context
    from ..server import Target

TRUE = ("1", "true", "True")


@dataclass
class PodLogOptions:
    container: str = ""
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since: float | None = None  # unix seconds
    limit_bytes: int | None = None


def _int(request: web.BaseRequest, key: str) -> int | None:
    value = request.query.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise APIError(400, f"{key}: invalid value {value!r}: an integer is required") from None


def parse_options(request: web.BaseRequest, pod_name: str) -> PodLogOptions:
    """The request's ``PodLogOptions``, validated as ``ValidatePodLogOptions`` (422)."""
    q = request.query
    opts = PodLogOptions(q.get("container", ""), q.get("follow") in TRUE, q.get("previous") in TRUE,
                         q.get("timestamps") in TRUE, _int(request, "tailLines"), None, _int(request, "limitBytes"))
    since_seconds, since_time = _int(request, "sinceSeconds"), q.get("sinceTime") or None
    problems: list[Cause] = []
    if opts.tail_lines is not None and opts.tail_lines < 0:
        problems.append(Cause("FieldValueInvalid", f"Invalid value: {opts.tail_lines}: must be greater than or "
                                                   f"equal to 0", "tailLines"))
    if opts.limit_bytes is not None and opts.limit_bytes < 1:
        problems.append(Cause("FieldValueInvalid", f"Invalid value: {opts.limit_bytes}: must be greater than 0",
                              "limitBytes"))
    if since_seconds is not None and since_time is not None:
        problems.append(Cause("FieldValueForbidden",
                              "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified", ""))
    elif since_seconds is not None:
        if since_seconds < 1:
            problems.append(Cause("FieldValueInvalid", f"Invalid value: {since_seconds}: must be greater than 0",
                                  "sinceSeconds"))
        opts.since = time.time() - since_seconds
    elif since_time is not None:
        try:
            opts.since = parse_rfc3339(since_time)
        except InvalidParameter as exc:
            raise APIError(400, f"sinceTime: {exc}") from None
    if problems:
        listed = [f"{c.field}: {c.message}" if c.field else c.message for c in problems]
        what = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
        raise APIError(422, f'PodLogOptions "{pod_name}" is invalid: {what}', kind="PodLogOptions", name=pod_name,
                       causes=problems)
    return opts


def kubelet_time(docker_time: str) -> bytes:
    """A log entry's time as the kubelet prints it (``2006-01-02T15:04:05.000000000Z``)."""
    try:
        ns = parse_rfc3339_ns(docker_time)
    except InvalidParameter:
        return docker_time.encode()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)).encode() + b".%09dZ" % frac


def _gone(request: web.BaseRequest) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def serve(request: web.Request, target: Target, ctx: Context) -> web.StreamResponse:
    """The ``pods/log`` subresource handler."""
    pod = pods.get_pod(ctx, target)
    opts = parse_options(request, pod["metadata"]["name"])
    name = pods.container_name(pod, opts.container)
    if not (pod.get("spec") or {}).get("nodeName"):
        return web.Response(body=b"", content_type="text/plain")
    c = await pods.log_container(ctx, pod, name, opts.previous)
    assert ctx.backends is not None and ctx.backends.containers is not None
    selection = LogsOptions(stdout=True, stderr=True, follow=opts.follow and not opts.previous,
                            since="" if opts.since is None else f"{opts.since:.9f}",
                            tail="all" if opts.tail_lines is None else str(opts.tail_lines))
    _, entries = await ctx.backends.containers.logs(c.id, selection, lambda: _gone(request))
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await resp.prepare(request)
    budget = opts.limit_bytes
    try:
        async for entry in entries:
            data = kubelet_time(entry.time) + b" " + entry.data if opts.timestamps else entry.data
            if budget is not None:
                data = data[:budget]
                budget -= len(data)
            await resp.write(data)
            if budget == 0:
                break
    except ConnectionError:  # the client left
        return resp
    finally:
        aclose = getattr(entries, "aclose", None)
        if aclose is not None:
            await aclose()
    await resp.write_eof()
    return resp
