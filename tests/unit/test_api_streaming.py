"""The API's two streaming pumps (baleine.api.streaming), served by a real aiohttp
application with the API's middleware."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from baleine.api.app import api_middleware
from baleine.api.streaming import TarSink, pump_json, pump_tar
from baleine.rules.errors import EngineError, NotFound


def _serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
           check: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        app = web.Application(middlewares=[api_middleware])
        app.router.add_get("/", handler)
        async with TestClient(TestServer(app)) as client:
            return await check(client)

    return asyncio.run(run())


def test_pump_json_writes_one_document_per_line_and_closes_the_source() -> None:
    closed: list[bool] = []

    async def messages() -> AsyncIterator[dict[str, int]]:
        try:
            for i in range(3):
                yield {"n": i}
        finally:
            closed.append(True)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await pump_json(request, messages(), terminator=b"\r\n")

    async def check(client: TestClient) -> tuple[str, bytes]:
        resp = await client.get("/")
        return resp.headers["Content-Type"], await resp.read()

    assert _serve(handler, check) == ("application/json", b'{"n": 0}\r\n{"n": 1}\r\n{"n": 2}\r\n')
    assert closed == [True]


def _tar_handler(fail_before: bool, fail_after: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def produce(sink: TarSink) -> None:
        if fail_before:
            raise NotFound("No such container: x")
        out = await sink.open({"X-Test": "1"})

        def run() -> None:
            out.write(b"part")
            out.flush()
            if fail_after:
                raise EngineError("disk on fire")

        await asyncio.to_thread(run)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await pump_tar(request, produce)

    return handler


async def _answer(client: TestClient) -> tuple[int, str, str, bytes]:
    resp = await client.get("/")
    body = io.BytesIO()
    try:
        body.write(await resp.read())
    except Exception:  # noqa: BLE001 - a cut-short chunked body
        pass
    return resp.status, resp.headers.get("Content-Type", ""), resp.headers.get("X-Test", ""), body.getvalue()


def test_pump_tar_streams_with_the_producer_headers() -> None:
    assert _serve(_tar_handler(False, False), _answer) == (200, "application/x-tar", "1", b"part")


def test_pump_tar_answers_errors_raised_before_opening() -> None:
    status, ctype, _, body = _serve(_tar_handler(True, False), _answer)
    assert (status, ctype) == (404, "application/json")
    assert b"No such container: x" in body


def test_pump_tar_cuts_short_on_errors_after_opening() -> None:
    status, ctype, _, body = _serve(_tar_handler(False, True), _answer)
    assert (status, ctype) == (200, "application/x-tar")
    assert b"disk on fire" not in body
