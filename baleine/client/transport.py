"""The Engine API transport: HTTP/1.1 over a Unix socket (or TCP), for the ``baleine`` CLI.

It speaks just the HTTP/1.1 the daemon uses (Content-Length and chunked bodies,
connection upgrade for attach and exec) over plain sockets. ``http.client`` would
do, but importing it (and the ``email`` and ``ssl`` packages it pulls in) costs
more than everything else a CLI command does, and ``baleine run`` is benchmarked.

The resource modules of this package (``containers``, ``images``...) write the
URLs; this module only moves requests and responses. ``Transport.call`` sends a request and decodes JSON, raising ``APIError`` (status and
the daemon's message) on errors; ``Transport.stream`` returns the open ``Response``
for streamed bodies; ``Transport.hijack`` upgrades a connection for attach and exec
and returns the raw socket.
"""

from __future__ import annotations

# _socket, not socket: socket's import builds its enums (AddressFamily, SocketKind...),
# 8 ms of CPU, most of the CLI's start-up once argparse and re are gone. A Unix
# socket of _socket has everything the CLI uses (sendall, recv, shutdown, settimeout).
import _socket

# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator
    from typing import Any, BinaryIO

from .. import API_VERSION

DEFAULT_HOST = "unix:///run/baleine/baleine.sock"


class APIError(Exception):
    """The daemon answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConnectionFailed(Exception):
    """No daemon answered at the configured host (``permission`` when the socket
    refused us: not root, not in its group)."""

    def __init__(self, message: str, permission: bool = False) -> None:
        super().__init__(message)
        self.permission = permission


# JSON without the json package on the common path: json.decoder and json.encoder
# compile regular expressions at import (``re`` and ``enum``: a third of the CLI's
# start-up). The C accelerator module they use is driven directly instead, with
# json.dumps'/json.loads' default settings, so the results are the same; anything
# unusual (an error, a type json cannot encode) is redone by the json package
# itself, for its exact exception.
_WS = " \t\n\r"


class _DecodeSettings:
    """json.JSONDecoder()'s settings, as ``_json.make_scanner`` reads them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


class _Unencodable(Exception):
    """A value json.dumps would refuse (or hand to ``default``)."""


def _refuse(obj: object) -> Any:  # noqa: ANN401
    raise _Unencodable


_scanner: Any = None


def json_loads(text: str | bytes) -> Any:  # noqa: ANN401
    """``json.loads(text)``: the same value, or the same exception."""
    global _scanner
    try:
        if isinstance(text, (bytes, bytearray)):
            # json.loads guesses UTF-16/32 from NUL bytes and honours a BOM: leave those to it.
            if b"\x00" in text[:4] or text[:3] == b"\xef\xbb\xbf":
                raise _Unencodable
            text = text.decode()
        if _scanner is None:
            import _json

            _scanner = _json.make_scanner(_DecodeSettings)
        start = len(text) - len(text.lstrip(_WS))
        obj, end = _scanner(text, start)
        if end == len(text.rstrip(_WS)) and not text.startswith("\ufeff"):
            return obj
    except Exception:  # noqa: BLE001, S110 - json.loads below says what is wrong, in its words
        pass
    import json

    return json.loads(text)


def _decode_objects(buf: str) -> Iterator[Any]:
    """Yield the complete JSON values at the start of ``buf`` (whitespace between
    them skipped, as ``str.lstrip`` does); return what is left (a partial value)."""
    global _scanner
    if _scanner is None:
        import _json

        _scanner = _json.make_scanner(_DecodeSettings)
    while True:
        buf = buf.lstrip()
        if not buf:
            return buf
        try:
            obj, end = _scanner(buf, 0)
        except (StopIteration, ValueError):
            return buf
        buf = buf[end:]
        yield obj


def json_dumps(obj: Any) -> str:  # noqa: ANN401
    """``json.dumps(obj)`` (default settings): the same text, or the same exception."""
    import _json

    # A new encoder each time: its circular-reference markers must start empty.
    encode = _json.make_encoder({}, _refuse, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True)
    try:
        return "".join(encode(obj, 0))
    except (_Unencodable, ValueError, TypeError, RecursionError):
        import json

        return json.dumps(obj)


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str, safe: str = "") -> str:
    """Percent-encode ``text`` for a URL, keeping ``safe`` characters (urllib's
    ``quote``, which costs the CLI more to import than to reimplement)."""
    keep = _SAFE | frozenset(safe.encode())
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode())


def urlencode(items: list[tuple[str, str]]) -> str:
    """``k=v&…`` with both sides percent-encoded (spaces as ``+``, like urllib's)."""
    return "&".join(f"{quote(k).replace('%20', '+')}={quote(v).replace('%20', '+')}" for k, v in items)


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
    return ("?" + urlencode(items)) if items else ""


class Response:
    """A response whose body is read on demand (Content-Length, chunked, or until close)."""

    def __init__(self, sock: socket.socket, status: int, reason: str, headers: dict[str, str],
                 buffered: bytes) -> None:
        self.sock = sock
        self.status = status
        self.reason = reason
        self.headers = headers
        self._buf = buffered
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._remaining = int(length) if length is not None and not self._chunked else None
        self._chunk_left = 0
        self._done = status in (204, 304) or self._remaining == 0

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        return data

    def _fill(self, n: int) -> None:
        while len(self._buf) < n:
            self._buf += self._recv()

    def _line(self) -> bytes:
        while b"\r\n" not in self._buf:
            self._buf += self._recv()
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def read1(self, n: int = 65536) -> bytes:
        """Up to ``n`` bytes of body as soon as any are available; b"" at the end."""
        if self._done:
            return b""
        try:
            if self._chunked:
                if self._chunk_left == 0:
                    size = int(self._line().split(b";")[0] or b"0", 16)
                    if size == 0:
                        self._line()  # the empty line after the last chunk (no trailers)
                        self._done = True
                        return b""
                    self._chunk_left = size
                if not self._buf:
                    self._buf = self._recv()
                data = self._buf[:min(n, self._chunk_left)]
                self._buf = self._buf[len(data):]
                self._chunk_left -= len(data)
                if self._chunk_left == 0:
                    self._fill(2)
                    self._buf = self._buf[2:]
                return data
            if not self._buf:
                self._buf = self._recv()
            take = n if self._remaining is None else min(n, self._remaining)
            data, self._buf = self._buf[:take], self._buf[take:]
            if self._remaining is not None:
                self._remaining -= len(data)
                if self._remaining == 0:
                    self._done = True
            return data
        except EOFError:
            self._done = True
            return b""

    def read(self, n: int = -1) -> bytes:
        """``n`` bytes (fewer only at the end), or the whole rest with ``n < 0``."""
        out = bytearray()
        while n < 0 or len(out) < n:
            chunk = self.read1(65536 if n < 0 else n - len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def close(self) -> None:
        self.sock.close()


class Transport:
    """Requests to one daemon address (``unix://PATH`` or ``tcp://HOST:PORT``)."""

    def __init__(self, host: str = DEFAULT_HOST, version: str = API_VERSION, tls: Any = None) -> None:
        """``tls``: a ``client.tls.TLSOptions`` for TCP hosts, or None."""
        self.host = host
        self.version = version
        self.tls = tls

    def _connect(self, timeout: float | None = None) -> socket.socket:
        host = self.host
        try:
            if host.startswith("unix://") or host.startswith("/"):
                sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(host[len("unix://"):] if host.startswith("unix://") else host)
            elif host.startswith(("tcp://", "http://")):
                addr = host.split("://", 1)[1].rstrip("/")
                name, _, port = addr.rpartition(":")
                name = name.strip("[]") or "127.0.0.1"
                import socket

                sock = socket.create_connection((name, int(port or (2376 if self.tls else 2375))), timeout)
                if self.tls is not None:
                    sock = self.tls.wrap(sock, name)
            else:
                raise ConnectionFailed(f"unsupported host: {host}")
        except PermissionError as exc:
            raise ConnectionFailed(str(exc), permission=True) from None
        except OSError as exc:
            raise ConnectionFailed(str(exc)) from None
        sock.settimeout(None)
        return sock

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        return f"/v{self.version}{quote(path, safe='/:@')}{_query(params)}"

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None, timeout: float | None = None,
              upgrade: bool = False) -> Response:
        sock = self._connect(timeout)
        hdrs = {"Host": "localhost", "User-Agent": "Baleine-Client"}
        if upgrade:
            hdrs.update({"Connection": "Upgrade", "Upgrade": "tcp"})
        hdrs.update(headers or {})
        data: bytes | None = None
        stream = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json_dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            elif isinstance(body, (bytes, bytearray)):
                data = bytes(body)
                hdrs.setdefault("Content-Type", "application/x-tar")
            else:
                stream = body
                hdrs.setdefault("Content-Type", "application/x-tar")
                hdrs["Transfer-Encoding"] = "chunked"
        if data is not None:
            hdrs["Content-Length"] = str(len(data))
        elif stream is None and method in ("POST", "PUT"):
            hdrs["Content-Length"] = "0"
        head = f"{method} {self.url(path, params)} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        try:
            sock.sendall(head.encode() + (data or b""))
            if stream is not None:
                while chunk := stream.read(1 << 20):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            resp = self._response(sock)
            if method == "HEAD":
                resp._done = True  # a HEAD response has no body, whatever its Content-Length says
            return resp
        except (OSError, EOFError) as exc:
            sock.close()
            raise ConnectionFailed(str(exc) or "connection closed") from None

    @staticmethod
    def _response(sock: socket.socket) -> Response:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return Response(sock, int(parts[1]), parts[2] if len(parts) > 2 else "", headers, rest)

    @staticmethod
    def _error(resp: Response) -> APIError:
        raw = resp.read()
        resp.close()
        try:
            message = json_loads(raw).get("message", "")
        except (ValueError, AttributeError):
            message = raw.decode(errors="replace").strip()
        return APIError(resp.status, message or resp.reason)

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None, timeout: float | None = None) -> Any:
        """Send a request; return the decoded JSON body (None when empty)."""
        resp = self._send(method, path, params, body, headers, timeout)
        if resp.status >= 400:
            raise self._error(resp)
        raw = resp.read()
        resp.close()
        if not raw or resp.status == 304:
            return None
        try:
            return json_loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def status(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> int:
        """Send a request; return its status (errors ≥ 400 raise APIError)."""
        resp = self._send(method, path, params, body, None)
        if resp.status >= 400:
            raise self._error(resp)
        resp.read()
        resp.close()
        return resp.status

    def stream(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
               headers: dict[str, str] | None = None) -> Response:
        """Send a request; return the response once its head has arrived."""
        resp = self._send(method, path, params, body, headers)
        if resp.status >= 400:
            raise self._error(resp)
        return resp

    def json_stream(self, method: str, path: str, params: dict[str, Any] | None = None,
                    body: Any = None, headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Yield the JSON objects of a streamed body (load, pull, build, events), as
        ``json.JSONDecoder().raw_decode`` reads them one after the other."""
        resp = self.stream(method, path, params, body, headers)
        buf = ""
        try:
            while True:
                chunk = resp.read1(65536)
                buf += chunk.decode(errors="replace")
                # Objects are decoded once a line ends after them (the daemons end each
                # message with one), or at the end: a partial object would make the
                # scanner raise json.decoder's error, importing json and re.
                if "\n" in buf or not chunk:
                    buf = yield from _decode_objects(buf)
                if not chunk:
                    break
        finally:
            resp.close()

    def hijack(self, method: str, path: str, params: dict[str, Any] | None = None,
               body: Any = None) -> tuple[socket.socket, bytes]:
        """Upgrade a connection (attach, exec start); return the socket and any bytes
        already received past the response head."""
        resp = self._send(method, path, params, body if body is not None else None, None, upgrade=True)
        if resp.status >= 400:
            raise self._error(resp)
        return resp.sock, resp._buf

    def ping(self, timeout: float = 2.0) -> bool:
        try:
            resp = self._send("GET", "/_ping", None, None, None, timeout)
        except ConnectionFailed:
            return False
        resp.read()
        resp.close()
        return resp.status == 200


def upload(fileobj: BinaryIO) -> Iterator[bytes]:
    """Chunks of a file for a streamed request body."""
    while chunk := fileobj.read(1 << 20):
        yield chunk
