"""Registries for the registry tests: Baleine's own server and the CNCF registry
(Debian's ``docker-registry``), each started on loopback with its own temporary
storage and stopped (process, port, files) afterwards, and helpers around them
(htpasswd files, self-signed certificates, skopeo, blob GET counting).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import BOOKWORM, BUSYBOX_TAR, baleine_cmd

CNCF = "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


def free_port() -> int:
    """A port free on 127.0.0.1 right now (bind to port 0 and let it go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def htpasswd(path: Path, users: dict[str, str]) -> Path:
    """Write an htpasswd file with bcrypt hashes (cost 4: tests need no slow hashes)."""
    import bcrypt

    path.write_text("".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode()}\n"
                            for u, p in users.items()))
    return path


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 / localhost (openssl)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@dataclass
class Registry:
    """A running registry process on 127.0.0.1."""

    kind: str
    root: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    scheme: str = "http"
    args: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def blob_gets(self) -> dict[str, int]:
        """How many times each blob was fetched (GET, not HEAD), by digest."""
        counts: dict[str, int] = {}
        if self.kind == "baleine":
            for m in re.finditer(r'"GET /v2/\S+/blobs/(sha256:[0-9a-f]{64}) HTTP/1\.1" (200|206)', self.log()):
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        else:
            for m in re.finditer(r'"GET /v2/\S+/blobs/(sha256:[0-9a-f]{64}) HTTP/1\.1" (200|206|307)', self.log()):
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts


def start_baleine(root: Path | None = None, *args: str, tls: tuple[Path, Path] | None = None) -> Registry:
    """``baleine registry serve`` on a free port, with request logging."""
    root = root or Path(tempfile.mkdtemp(prefix="breg-", dir="/tmp"))
    root.mkdir(parents=True, exist_ok=True)
    reg = Registry("baleine", root, scheme="https" if tls else "http", args=list(args))
    reg.log_path = root / "registry.log"
    extra = list(args)
    if tls:
        extra += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    out = open(root / "stdout", "w")
    log = open(reg.log_path, "w")
    reg.proc = subprocess.Popen(baleine_cmd() + ["registry", "serve", "--addr", "127.0.0.1:0", "--root",
                                                 str(root / "data"), *extra],
                                stdout=out, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = re.search(r"listening on \w+://127\.0\.0\.1:(\d+)", (root / "stdout").read_text())
        if m:
            reg.port = int(m.group(1))
            return reg
        if reg.proc.poll() is not None:
            break
        time.sleep(0.05)
    reg.destroy()
    raise RuntimeError(f"baleine registry did not start: {reg.log()}")


def start_cncf(root: Path | None = None, htpasswd_file: Path | None = None,
               tls: tuple[Path, Path] | None = None) -> Registry:
    """The CNCF distribution registry (``docker-registry``) on a free port."""
    if not os.path.exists(CNCF):
        pytest.skip("docker-registry (the CNCF registry) is not installed")
    root = root or Path(tempfile.mkdtemp(prefix="creg-", dir="/tmp"))
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = ["version: 0.1", "log:", "  level: info", "  accesslog:", "    disabled: false",
             "storage:", "  filesystem:", f"    rootdirectory: {root / 'data'}", "  delete:", "    enabled: true",
             "http:", f"  addr: 127.0.0.1:{port}", "  secret: baleine-tests"]
    if tls:
        lines += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
    if htpasswd_file:
        lines += ["auth:", "  htpasswd:", "    realm: basic-realm", f"    path: {htpasswd_file}"]
    (root / "config.yml").write_text("\n".join(lines) + "\n")
    reg = Registry("cncf", root, port, scheme="https" if tls else "http")
    reg.log_path = root / "registry.log"
    log = open(reg.log_path, "w")
    reg.proc = subprocess.Popen([CNCF, "serve", str(root / "config.yml")], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(port)
    except RuntimeError:
        reg.destroy()
        raise RuntimeError(f"docker-registry did not start: {reg.log()}") from None
    return reg


@pytest.fixture
def baleine_registry():
    reg = start_baleine()
    try:
        yield reg
    finally:
        reg.destroy()


@pytest.fixture
def cncf_registry():
    reg = start_cncf()
    try:
        yield reg
    finally:
        reg.destroy()


@pytest.fixture(params=["baleine", "cncf"])
def any_registry(request):
    """Each test runs against Baleine's registry and against the CNCF one."""
    reg = start_baleine() if request.param == "baleine" else start_cncf()
    try:
        yield reg
    finally:
        reg.destroy()


def skopeo(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    if not os.path.exists(SKOPEO):
        pytest.skip("skopeo is not installed")
    env = dict(os.environ)
    env.pop("REGISTRY_AUTH_FILE", None)
    return subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def skopeo_push_archive(archive: Path, image: str, registry: Registry, dest: str, *extra: str) -> None:
    """``skopeo copy docker-archive:ARCHIVE:IMAGE docker://REGISTRY/DEST``."""
    r = skopeo("copy", "--dest-tls-verify=false", *extra, f"docker-archive:{archive}:{image}",
               f"docker://{registry.host}/{dest}")
    assert r.returncode == 0, r.stderr


_BOOKWORM_TAR: list[Path] = []


def bookworm_tar() -> Path:
    """The bookworm archive, decompressed once per session (skopeo reads plain tars)."""
    if _BOOKWORM_TAR and _BOOKWORM_TAR[0].exists():
        return _BOOKWORM_TAR[0]
    d = Path(tempfile.mkdtemp(prefix="bookworm-", dir="/tmp"))
    out = d / "bookworm.tar"
    with open(out, "wb") as f:
        subprocess.run(["xz", "-dc", str(BOOKWORM)], stdout=f, check=True)
    _BOOKWORM_TAR.append(out)
    return out


@pytest.fixture(scope="session")
def bookworm_archive():
    path = bookworm_tar()
    try:
        yield path
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


__all__ = ["BUSYBOX_TAR", "Registry", "start_baleine", "start_cncf", "skopeo", "sys"]


# -- a misbehaving registry --------------------------------------------------------------------


class FakeRegistry:
    """A minimal registry (stdlib HTTP server in a thread) serving one busybox image,
    which can be told to misbehave: send truncated blobs (``truncate`` times, the
    connection closed halfway), corrupt the layer, or serve a malformed manifest.
    It honours ``Range`` so that clients can resume. Records every request."""

    def __init__(self) -> None:
        import hashlib
        import http.server
        import tarfile
        import threading

        with tarfile.open(BUSYBOX_TAR) as tf:
            index = json.load(tf.extractfile("manifest.json"))[0]  # type: ignore[arg-type]
            self.config = tf.extractfile(index["Config"]).read()  # type: ignore[union-attr]
            self.layer = tf.extractfile(index["Layers"][0]).read()  # type: ignore[union-attr]
        d = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()  # noqa: E731
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(self.config),
                       "size": len(self.config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d(self.layer),
                        "size": len(self.layer)}]}).encode()
        self.image_id = d(self.config)
        self.layer_digest = d(self.layer)
        self.blobs = {d(self.config): self.config, d(self.layer): self.layer}
        self.truncate = 0
        self.corrupt = False
        self.malformed = False
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Range header)
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # noqa: ANN002 - quiet
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self):  # noqa: N802
                self.do_GET()

            def do_GET(self):  # noqa: N802
                fake.requests.append((self.command, self.path, self.headers.get("Range", "")))
                if self.path == "/v2/":
                    return self._send(200, b"{}")
                if "/manifests/" in self.path:
                    if fake.malformed:
                        return self._send(200, b'{"schemaVersion": 2, "layers": "nope"',
                                          {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
                    return self._send(200, fake.manifest, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
                if "/blobs/" in self.path:
                    digest = self.path.rsplit("/", 1)[1]
                    blob = fake.blobs.get(digest)
                    if blob is None:
                        return self._send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
                    if fake.corrupt and digest == fake.layer_digest:
                        blob = blob[:-10] + b"corrupted!"
                    start = 0
                    rng = self.headers.get("Range", "")
                    if rng.startswith("bytes=") and self.command == "GET":
                        start = int(rng[6:].split("-")[0])
                    body = blob[start:]
                    if self.command == "GET" and fake.truncate and digest == fake.layer_digest:
                        fake.truncate -= 1
                        self.send_response(206 if start else 200)
                        self.send_header("Content-Length", str(len(body)))
                        if start:
                            self.send_header("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}")
                        self.end_headers()
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    headers = {"Content-Type": "application/octet-stream"}
                    if start:
                        headers["Content-Range"] = f"bytes {start}-{len(blob) - 1}/{len(blob)}"
                    return self._send(206 if start else 200, body, headers)
                return self._send(404, b"{}")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def fake_registry():
    fake = FakeRegistry()
    try:
        yield fake
    finally:
        fake.close()
