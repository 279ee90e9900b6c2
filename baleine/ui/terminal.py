"""The in-page terminal: an exec with a TTY, its hijacked stream bridged to a WebSocket.

A browser cannot speak Docker's hijacked HTTP stream, so ``terminal_ws`` does it for
the page, as a client of the daemon's own API socket (the hijack takes over the
connection, which must therefore be a real one, not an in-process request).

WebSocket protocol (``GET /ui/terminal/{container}``, same auth as every route):
- browser → server: binary frames are the TTY's input; text frames are JSON control
  messages, ``{"resize": [cols, rows]}``.
- server → browser: binary frames are the TTY's output; the socket closes when the
  process exits (close code 1000) or cannot be started (close code 1011, reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import aiohttp
from aiohttp import web

log = logging.getLogger("baleine.ui")

API_HOST: web.AppKey[str] = web.AppKey("ui_api_host", str)
SHELL = ["/bin/sh", "-c", "if command -v bash >/dev/null; then exec bash; else exec sh; fi"]


def _connector(host: str) -> tuple[aiohttp.BaseConnector, str]:
    """An aiohttp connector and base URL for a daemon address (``unix://`` or ``tcp://``)."""
    if host.startswith("unix://"):
        return aiohttp.UnixConnector(path=host[len("unix://"):]), "http://baleine"
    return aiohttp.TCPConnector(), "http://" + host[len("tcp://"):]


async def _open_stream(host: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if host.startswith("unix://"):
        return await asyncio.open_unix_connection(host[len("unix://"):])
    name, _, port = host[len("tcp://"):].rpartition(":")
    return await asyncio.open_connection(name or "127.0.0.1", int(port or 2375))


async def _hijack(host: str, exec_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Start the exec and return the raw stream once the daemon has answered 101/200."""
    reader, writer = await _open_stream(host)
    body = json.dumps({"Detach": False, "Tty": True}).encode()
    writer.write((f"POST /exec/{exec_id}/start HTTP/1.1\r\nHost: baleine\r\nConnection: Upgrade\r\n"
                  f"Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                 + body)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status not in (b"101", b"200"):
        writer.close()
        raise RuntimeError(f"exec start answered {status.decode()}")
    return reader, writer


async def terminal_ws(request: web.Request) -> web.StreamResponse:
    host = request.config_dict[API_HOST]
    ws = web.WebSocketResponse(max_msg_size=1 << 20)
    await ws.prepare(request)
    connector, base = _connector(host)
    async with aiohttp.ClientSession(connector=connector) as api:
        try:
            cols, rows = int(request.query.get("cols", 80)), int(request.query.get("rows", 24))
            async with api.post(f"{base}/containers/{request.match_info['id']}/exec",
                                json={"AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
                                      "Tty": True, "Cmd": SHELL, "ConsoleSize": [rows, cols],
                                      "Env": ["TERM=xterm-256color"]}) as r:
                created = await r.json()
                if r.status != 201:
                    raise RuntimeError(created.get("message", r.reason))
            exec_id = created["Id"]
            reader, writer = await _hijack(host, exec_id)
        except (OSError, RuntimeError, aiohttp.ClientError, ValueError) as exc:
            await ws.close(code=1011, message=str(exc)[:120].encode())
            return ws
        pump = asyncio.create_task(_pump_output(reader, ws))
        try:
            await _pump_input(ws, writer, api, base, exec_id)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
            writer.close()
    return ws


async def _pump_output(reader: asyncio.StreamReader, ws: web.WebSocketResponse) -> None:
    """TTY output to the browser; closes the socket when the process ends."""
    while data := await reader.read(65536):
        await ws.send_bytes(data)
    await ws.close()


async def _pump_input(ws: web.WebSocketResponse, writer: asyncio.StreamWriter, api: aiohttp.ClientSession,
                      base: str, exec_id: str) -> None:
    """Browser input to the TTY, and resize requests to the exec."""
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.BINARY:
            writer.write(msg.data)
            await writer.drain()
        elif msg.type == aiohttp.WSMsgType.TEXT:
            with contextlib.suppress(ValueError, KeyError, TypeError, aiohttp.ClientError):
                cols, rows = json.loads(msg.data)["resize"]
                async with api.post(f"{base}/exec/{exec_id}/resize", params={"h": int(rows), "w": int(cols)}):
                    pass
