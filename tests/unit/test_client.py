"""baleine.client: the URLs its resource methods send (over a real Unix socket to a
tiny recording server), the build-context tar and the X-Registry-Auth header."""

from __future__ import annotations

import base64
import json
import socket
import tarfile
import threading
from pathlib import Path

import pytest

from baleine import API_VERSION
from baleine.client import APIError, Client
from baleine.client.auth import pull_headers
from baleine.client.build_context import BuildContextError, prepare


class Recorder:
    """An HTTP/1.1 server on a Unix socket answering each request with ``reply``
    (status, JSON body) and recording (request line, headers, body)."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.reply: tuple[int, object] = (200, {})
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    buf += conn.recv(65536)
                head, body = buf.split(b"\r\n\r\n", 1)
                lines = head.decode().split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                while len(body) < int(headers.get("content-length", 0)):
                    body += conn.recv(65536)
                self.requests.append((lines[0], headers, body))
                status, payload = self.reply
                data = json.dumps(payload).encode()
                conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, len(data), data))

    def last(self) -> str:
        return self.requests[-1][0]


@pytest.fixture()
def server(tmp_path: Path):  # noqa: ANN201
    rec = Recorder(tmp_path / "s.sock")
    yield rec, Client(f"unix://{tmp_path}/s.sock")
    rec.sock.close()


def test_resource_methods_write_docker_urls(server) -> None:  # noqa: ANN001
    rec, client = server
    v = f"/v{API_VERSION}"
    client.containers.stop("web", timeout=3)
    assert rec.last() == f"POST {v}/containers/web/stop?t=3 HTTP/1.1"
    client.containers.stop("web")
    assert rec.last() == f"POST {v}/containers/web/stop HTTP/1.1"  # None is not sent
    client.containers.remove("web", force=True, volumes=False)
    assert rec.last() == f"DELETE {v}/containers/web?force=1&v=0 HTTP/1.1"
    client.containers.list(all=True, filters='{"label":{"a=b":true}}')
    assert rec.last() == f"GET {v}/containers/json?all=1&filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D HTTP/1.1"
    client.images.tag("busybox", "me/box", "1")
    assert rec.last() == f"POST {v}/images/busybox/tag?repo=me%2Fbox&tag=1 HTTP/1.1"
    client.containers.put_archive("c", "/tmp", b"tar", no_overwrite_dir_non_dir=True)
    assert rec.last() == f"PUT {v}/containers/c/archive?path=%2Ftmp&noOverwriteDirNonDir=true HTTP/1.1"
    client.networks.connect("net", "web", {"Aliases": ["w"]})
    line, headers, body = rec.requests[-1]
    assert line == f"POST {v}/networks/net/connect HTTP/1.1"
    assert json.loads(body) == {"Container": "web", "EndpointConfig": {"Aliases": ["w"]}}
    assert headers["content-type"] == "application/json"


def test_errors_carry_status_and_message(server) -> None:  # noqa: ANN001
    rec, client = server
    rec.reply = (404, {"message": "No such container: nope"})
    with pytest.raises(APIError) as info:
        client.containers.inspect("nope")
    assert (info.value.status, info.value.message) == (404, "No such container: nope")


def test_resources_are_built_once_and_unknown_ones_refused() -> None:
    client = Client("unix:///nonexistent.sock")
    assert client.containers is client.containers
    with pytest.raises(AttributeError):
        client.nothing  # noqa: B018


def _names(body) -> list[str]:  # noqa: ANN001
    with body, tarfile.open(fileobj=body) as tar:
        return sorted(tar.getnames())


def test_build_context_applies_dockerignore_but_keeps_the_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("Dockerfile\nsecret*\n!secret.keep\n")
    (tmp_path / "secret.txt").write_text("x")
    (tmp_path / "secret.keep").write_text("x")
    (tmp_path / "app.py").write_text("x")
    body, name = prepare(str(tmp_path), "")
    assert name == "Dockerfile"
    assert _names(body) == [".dockerignore", "Dockerfile", "app.py", "secret.keep"]


def test_build_context_dockerfile_outside_travels_under_a_private_name(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a").write_text("x")
    (tmp_path / "Other.Dockerfile").write_text("FROM scratch\n")
    body, name = prepare(str(ctx), str(tmp_path / "Other.Dockerfile"))
    assert name.startswith(".dockerfile.")
    assert _names(body) == sorted(["a", name])


def test_build_context_errors_use_docker_wording(tmp_path: Path) -> None:
    with pytest.raises(BuildContextError, match=r'unable to prepare context: path ".*missing" not found'):
        prepare(str(tmp_path / "missing"), "")
    with pytest.raises(BuildContextError, match="remote build contexts are not supported"):
        prepare("https://example.org/repo.git", "")


def test_pull_headers_from_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def decoded(image: str) -> tuple[str, str, str]:
        header = pull_headers(image)["X-Registry-Auth"]
        doc = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        return doc.get("username"), doc.get("password"), doc.get("serveraddress")

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert decoded("localhost:5000/app") == ("", "", "localhost:5000")  # no credentials stored
    auth = base64.b64encode(b"alice:pw").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"localhost:5000": {"auth": auth}}}))
    assert decoded("localhost:5000/app:1") == ("alice", "pw", "localhost:5000")
    assert pull_headers("UPPER/Case") == {}  # not a reference: the daemon says why
