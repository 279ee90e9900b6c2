"""Engine API client over a Unix socket (or TCP), for the ``baleine`` CLI.

Standard library only, so that the CLI starts fast. ``Client.call`` sends a request
and decodes JSON, raising ``APIError`` (status and the daemon's message) on errors;
``Client.stream`` returns the raw response for streamed bodies; ``Client.hijack``
upgrades a connection for attach and exec and returns the raw socket.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterator
from typing import Any, BinaryIO

from . import API_VERSION

DEFAULT_HOST = "unix:///run/baleine/baleine.sock"


class APIError(Exception):
    """The daemon answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConnectionFailed(Exception):
    """No daemon answered at the configured host."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None = None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


def _query(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    items = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "1" if v else "0"
        if isinstance(v, (list, tuple)):
            items.extend((k, str(x)) for x in v)
        else:
            items.append((k, str(v)))
    return ("?" + urllib.parse.urlencode(items)) if items else ""


class Client:
    """A connection factory for one daemon address (``unix://`` or ``tcp://``)."""

    def __init__(self, host: str = DEFAULT_HOST, version: str = API_VERSION) -> None:
        self.host = host
        self.version = version

    def _conn(self, timeout: float | None = None) -> http.client.HTTPConnection:
        if self.host.startswith("unix://"):
            return _UnixConnection(self.host[len("unix://"):], timeout)
        if self.host.startswith("tcp://") or self.host.startswith("http://"):
            addr = self.host.split("://", 1)[1]
            host, _, port = addr.rpartition(":")
            return http.client.HTTPConnection(host or "127.0.0.1", int(port or 2375), timeout=timeout)
        if self.host.startswith("/"):
            return _UnixConnection(self.host, timeout)
        raise ConnectionFailed(f"unsupported host: {self.host}")

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        return f"/v{self.version}{path}{_query(params)}"

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None, timeout: float | None = None
              ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = self._conn(timeout)
        hdrs = {"User-Agent": "Baleine-Client"}
        hdrs.update(headers or {})
        data: Any = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            else:
                data = body
                hdrs.setdefault("Content-Type", "application/x-tar")
            if hasattr(data, "read"):
                hdrs.setdefault("Transfer-Encoding", "chunked")
        try:
            conn.request(method, self.url(path, params), body=data, headers=hdrs,
                         encode_chunked=hasattr(data, "read"))
            resp = conn.getresponse()
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            conn.close()
            raise ConnectionFailed(str(exc)) from None
        except OSError as exc:
            conn.close()
            raise ConnectionFailed(str(exc)) from None
        return conn, resp

    @staticmethod
    def _error(resp: http.client.HTTPResponse) -> APIError:
        raw = resp.read()
        try:
            message = json.loads(raw).get("message", "")
        except (ValueError, AttributeError):
            message = raw.decode(errors="replace").strip()
        return APIError(resp.status, message or resp.reason)

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None, timeout: float | None = None) -> Any:
        """Send a request; return the decoded JSON body (None when empty)."""
        conn, resp = self._send(method, path, params, body, headers, timeout)
        try:
            if resp.status >= 400:
                raise self._error(resp)
            raw = resp.read()
            if resp.status == 304:
                return None
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode(errors="replace")
        finally:
            conn.close()

    def status(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> int:
        """Send a request; return its status (errors ≥ 400 raise APIError)."""
        conn, resp = self._send(method, path, params, body, None)
        try:
            if resp.status >= 400:
                raise self._error(resp)
            resp.read()
            return resp.status
        finally:
            conn.close()

    def stream(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
               headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        """Send a request; return the open response to read incrementally."""
        _, resp = self._send(method, path, params, body, headers)
        if resp.status >= 400:
            raise self._error(resp)
        return resp

    def json_stream(self, method: str, path: str, params: dict[str, Any] | None = None,
                    body: Any = None, headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Yield the JSON objects of a streamed body (load, pull, build, events)."""
        resp = self.stream(method, path, params, body, headers)
        decoder = json.JSONDecoder()
        buf = ""
        while True:
            chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
            if not chunk:
                break
            buf += chunk.decode(errors="replace")
            while True:
                buf = buf.lstrip()
                if not buf:
                    break
                try:
                    obj, end = decoder.raw_decode(buf)
                except ValueError:
                    break
                buf = buf[end:]
                yield obj
        resp.close()

    def hijack(self, method: str, path: str, params: dict[str, Any] | None = None,
               body: Any = None) -> tuple[socket.socket, bytes]:
        """Upgrade a connection (attach, exec start); return the socket and any bytes
        already read past the response head."""
        conn = self._conn()
        try:
            conn.connect()
        except OSError as exc:
            raise ConnectionFailed(str(exc)) from None
        sock = conn.sock
        data = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {self.url(path, params)} HTTP/1.1\r\nHost: localhost\r\n"
                "User-Agent: Baleine-Client\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        sock.sendall(head + data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionFailed("connection closed during upgrade")
            buf += chunk
        head_raw, rest = buf.split(b"\r\n\r\n", 1)
        status_line = head_raw.split(b"\r\n", 1)[0].decode()
        status = int(status_line.split()[1])
        if status >= 400:
            headers = head_raw.decode(errors="replace").lower()
            body_bytes = rest
            length = 0
            for line in headers.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            while len(body_bytes) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body_bytes += chunk
            sock.close()
            try:
                message = json.loads(body_bytes).get("message", "")
            except ValueError:
                message = body_bytes.decode(errors="replace")
            raise APIError(status, message)
        return sock, rest

    def ping(self, timeout: float = 2.0) -> bool:
        try:
            conn, resp = self._send("GET", "/_ping", None, None, None, timeout)
        except ConnectionFailed:
            return False
        resp.read()
        conn.close()
        return resp.status == 200


def upload(fileobj: BinaryIO) -> Iterator[bytes]:
    """Chunks of a file for a streamed request body."""
    while chunk := fileobj.read(1 << 20):
        yield chunk
