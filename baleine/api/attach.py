"""``POST /containers/{id}/attach`` and ``relay``, the pump between a hijacked
connection and a monitor's streams that attach and exec start share."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ..rules import detachkeys as detach_keys_mod
from ..rules.errors import Conflict
from .hijack import STDERR, STDOUT, Hijacked
from .requests import Router, backends_of, qbool


async def attach(request: web.Request) -> web.StreamResponse:
    containers = backends_of(request).containers
    await request.read()
    stdin, stdout, stderr = qbool(request, "stdin"), qbool(request, "stdout"), qbool(request, "stderr")
    stream, logs_too = qbool(request, "stream"), qbool(request, "logs")
    c = await containers.check_attach(request.match_info["id"], stream=stream, logs=logs_too)
    tty = bool(c.config.get("Tty"))
    detach_keys = detach_keys_mod.parse(request.query.get("detachKeys"))
    hj = Hijacked(request, tty)
    await hj.start()
    try:
        if logs_too:
            for entry in await containers.replay_logs(c):
                if (entry.stream == "stdout" and stdout) or (entry.stream == "stderr" and stderr):
                    await hj.write(entry.data, STDERR if entry.stream == "stderr" else STDOUT)
        # Docker announces every attach, after the logs replay and before streaming.
        await containers.attached(c)
        if stream and (c.running or c.status in ("created", "exited", "restarting")):
            # A stopped container is attached at its next start (`docker start -a`);
            # until then, give up if the client leaves.
            with_stdin = stdin and bool(c.config.get("OpenStdin"))
            waiting = asyncio.ensure_future(containers.attach_link(c, with_stdin, stdout, stderr))
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=1.0)
                if hj.closed and not waiting.done():
                    waiting.cancel()
                    return hj.response()
            link = waiting.result()
            # As dockerd: stdin closes with the client only without a TTY, and detach
            # keys are looked for only on a terminal (otherwise stdin is data).
            await relay(hj, link, stdin=with_stdin, close_stdin_on_eof=bool(c.config.get("StdinOnce")) and not tty,
                        detach_keys=detach_keys if tty else b"")
    except Conflict as exc:
        await hj.write(str(exc).encode() + b"\n", STDERR)
    finally:
        hj.close()
    return hj.response()


async def relay(hj: Hijacked, link: Any, *, stdin: bool, close_stdin_on_eof: bool,
                detach_keys: bytes = b"", on_state: Any = None) -> None:
    """Pump bytes between a hijacked connection and a monitor link until the
    process ends (the monitor closes) or the client detaches."""
    detached = asyncio.Event()

    async def upstream() -> None:
        matched = 0
        while True:
            data = await hj.read()
            if not data:
                # As dockerd: the process's stdin closes with the client's only when
                # asked (StdinOnce, no TTY), and output goes on while the client is
                # there; otherwise the stream ends and the process keeps its stdin.
                if close_stdin_on_eof:
                    link.send(b"C")
                if hj.closed or not close_stdin_on_eof:
                    detached.set()
                return
            if detach_keys:
                out = bytearray()
                for b in data:
                    if b == detach_keys[matched]:
                        matched += 1
                        if matched == len(detach_keys):
                            if out:
                                link.send(b"I", bytes(out))
                            detached.set()
                            return
                        continue
                    if matched:
                        out += detach_keys[:matched]
                        matched = 0
                    out.append(b)
                data = bytes(out)
            if data:
                link.send(b"I", data)
                await link.drain()

    async def downstream() -> None:
        while True:
            item = await link.read()
            if item is None:
                return
            kind, payload = item
            if kind == b"1":
                await hj.write(payload, STDOUT)
            elif kind == b"2":
                await hj.write(payload, STDERR)
            elif kind == b"S" and on_state is not None:
                on_state(json.loads(payload))

    up = asyncio.create_task(upstream()) if stdin else None
    down = asyncio.create_task(downstream())
    waits = {down, asyncio.create_task(detached.wait())}
    try:
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            if t is not down:
                t.cancel()
        if detached.is_set() and not down.done():
            down.cancel()
    finally:
        if up is not None:
            up.cancel()
        link.close()


def register(router: Router) -> None:
    router.post("/containers/{id}/attach", attach)
