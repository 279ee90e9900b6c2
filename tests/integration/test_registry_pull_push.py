"""``baleine pull/push/login`` against Baleine's registry and the CNCF registry
(``docker-registry``), both on loopback; Docker Hub names served through
``--registry-mirror``; and every kind of bad input."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import textwrap

import pytest
import requests

from ..conftest import BUSYBOX_TAR, Daemon, destroy_daemon, new_daemon
from ..registries import (any_registry, bookworm_archive, fake_registry, htpasswd, skopeo,  # noqa: F401
                          skopeo_push_archive, start_baleine, start_cncf)

DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def image_ids(d: Daemon) -> set[str]:
    return set(d.ok("images", "-aq", "--no-trunc").split())


def digest_of(output: str) -> str:
    m = re.search(r"digest: (sha256:[0-9a-f]{64})", output) or re.search(r"Digest: (sha256:[0-9a-f]{64})", output)
    assert m, output
    return m.group(1)


def test_push_then_pull_by_tag_and_digest(fresh_daemon, any_registry):
    d, reg = fresh_daemon, any_registry
    d.ok("load", "-i", str(BUSYBOX_TAR))
    ref = f"{reg.host}/test/busybox:1.35"
    d.ok("tag", "busybox:1.35", ref)
    out = d.ok("push", ref)
    assert f"The push refers to repository [{reg.host}/test/busybox]" in out
    assert "Pushed" in out
    digest = digest_of(out)
    # Baleine compressed the loaded (uncompressed) layer for the registry, as docker does.
    manifest = requests.get(f"{reg.url}/v2/test/busybox/manifests/1.35",
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert manifest.headers["Docker-Content-Digest"] == digest
    layer = manifest.json()["layers"][0]
    assert layer["mediaType"] == DOCKER_LAYER
    assert requests.get(f"{reg.url}/v2/test/busybox/blobs/{layer['digest']}").content[:2] == b"\x1f\x8b"
    assert f"{reg.host}/test/busybox@{digest}" in d.inspect(ref)["RepoDigests"]
    # A second push has nothing to upload.
    again = d.ok("push", ref)
    assert "Layer already exists" in again and "Pushed" not in again and digest_of(again) == digest
    # Push to another repository of the same registry: the layer is mounted, not uploaded.
    d.ok("tag", "busybox:1.35", f"{reg.host}/other/busybox:x")
    out = d.ok("push", f"{reg.host}/other/busybox:x")
    assert "Mounted from test/busybox" in out
    # Remove everything, pull back by tag.
    d.ok("rmi", "-f", "busybox:1.35", "busybox:latest", ref, f"{reg.host}/other/busybox:x")
    assert image_ids(d) == set()
    out = d.ok("pull", ref)
    assert "Pull complete" in out and f"Digest: {digest}" in out
    assert f"Status: Downloaded newer image for {ref}" in out
    assert out.splitlines()[-1] == ref
    info = d.inspect(ref)
    assert info["RepoDigests"] == [f"{reg.host}/test/busybox@{digest}"]
    assert d.ok("run", "--rm", ref, "echo", "pulled") == "pulled"
    assert digest in d.ok("images", "--digests")
    # By digest: already there, and usable by digest.
    out = d.ok("pull", f"{reg.host}/test/busybox@{digest}")
    assert "Image is up to date" in out
    assert d.ok("run", "--rm", f"{reg.host}/test/busybox@{digest}", "echo", "by digest") == "by digest"
    # A moved tag: pull gets the new image; the old one stays, reachable by digest.
    d.ok("pull", f"{reg.host}/test/busybox@{digest}")
    d.ok("rmi", "-f", ref)
    out = d.ok("pull", "-q", f"{reg.host}/test/busybox@{digest}")
    assert out == f"{reg.host}/test/busybox@{digest}"
    # --platform that the image does not have.
    r = d.cli("pull", "--platform", "linux/arm64", ref)
    assert r.returncode == 1 and "does not match the specified platform" in r.stderr


def test_pull_all_tags_and_images_digests(fresh_daemon, any_registry):
    d, reg = fresh_daemon, any_registry
    for tag in ("a", "b"):
        skopeo_push_archive(BUSYBOX_TAR, "busybox:1.35", reg, f"multi:{tag}")
    out = d.ok("pull", "-a", f"{reg.host}/multi")
    assert "a: Pulling from multi" in out and "b: Pulling from multi" in out
    tags = d.ok("images", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}", f"{reg.host}/multi").splitlines()
    assert sorted(t.split()[0] for t in tags) == [f"{reg.host}/multi:a", f"{reg.host}/multi:b"]
    assert all(t.split()[1].startswith("sha256:") for t in tags)


def test_hub_names_through_a_mirror_fetch_only_missing_layers(any_registry, bookworm_archive):
    """``pull postgres``, ``pull postgres:15`` and ``pull localhost:PORT/postgres:15``
    against a loopback registry standing in for Docker Hub; a pull whose base layer is
    present fetches only the other layers (counted on the registry side)."""
    reg = any_registry
    skopeo_push_archive(bookworm_archive, "postgres:15", reg, "library/postgres:15")
    skopeo_push_archive(bookworm_archive, "debian:bookworm-slim", reg, "library/debian:bookworm-slim")
    for dest in ("library/postgres:latest", "postgres:15"):
        r = skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                   f"docker://{reg.host}/library/postgres:15", f"docker://{reg.host}/{dest}")
        assert r.returncode == 0, r.stderr
    pg = requests.get(f"{reg.url}/v2/library/postgres/manifests/15",
                      headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}).json()
    deb = requests.get(f"{reg.url}/v2/library/debian/manifests/bookworm-slim",
                       headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}).json()
    base_layer = deb["layers"][0]["digest"]
    assert pg["layers"][0]["digest"] == base_layer
    d = new_daemon(extra_args=["--registry-mirror", reg.url])
    try:
        out = d.ok("pull", "debian:bookworm-slim", timeout=300)
        assert out.splitlines()[-1] == "docker.io/library/debian:bookworm-slim"
        before = reg.blob_gets()
        assert before.get(base_layer) == 1
        out = d.ok("pull", "postgres:15", timeout=300)
        assert f"{base_layer[7:19]}: Already exists" in out
        after = reg.blob_gets()
        fetched = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        new_layers = {l["digest"] for l in pg["layers"][1:]}
        assert base_layer not in fetched
        assert set(fetched) == new_layers | {pg["config"]["digest"]}
        assert all(n == 1 for n in fetched.values())
        # postgres (latest) is the same image: nothing to download at all.
        out = d.ok("pull", "postgres", timeout=300)
        assert out.splitlines()[-1] == "docker.io/library/postgres:latest"
        assert reg.blob_gets() == after
        # The same image by its registry name: only the manifest is fetched.
        local = f"localhost:{reg.port}/postgres:15"
        out = d.ok("pull", local, timeout=300)
        assert out.splitlines()[-1] == local
        assert reg.blob_gets() == after
        ids = {d.inspect(n)["Id"] for n in ("postgres", "postgres:15", local)}
        assert len(ids) == 1
        digests = d.inspect("postgres:15")["RepoDigests"]
        assert any(x.startswith("postgres@sha256:") for x in digests)
        assert any(x.startswith(f"localhost:{reg.port}/postgres@sha256:") for x in digests)
        assert "PostgreSQL) 15" in d.ok("run", "--rm", "--entrypoint", "postgres", "postgres:15", "--version")
    finally:
        destroy_daemon(d)


# -- bad input ----------------------------------------------------------------------------------


def test_unknown_repository_tag_and_registry_down(daemon, any_registry):
    reg = any_registry
    before = image_ids(daemon)
    r = daemon.cli("pull", f"{reg.host}/nosuch/repo:1")
    assert r.returncode == 1
    assert re.search(rf"(repository {reg.host}/nosuch/repo not found: name unknown|manifest for "
                     rf"{reg.host}/nosuch/repo:1 not found: manifest unknown)", r.stderr), r.stderr
    skopeo_push_archive(BUSYBOX_TAR, "busybox:1.35", reg, "busybox:1.35")
    r = daemon.cli("pull", f"{reg.host}/busybox:nosuch")
    assert r.returncode == 1
    assert f"manifest for {reg.host}/busybox:nosuch not found: manifest unknown" in r.stderr
    port = reg.port
    reg.stop()
    r = daemon.cli("pull", f"{reg.host}/busybox:1.35")
    assert r.returncode == 1
    assert f'"http://127.0.0.1:{port}/v2/": dial tcp 127.0.0.1:{port}: connect: connection refused' in r.stderr
    r = daemon.cli("push", f"{reg.host}/busybox:1.35")
    assert r.returncode == 1
    assert image_ids(daemon) == before


def make_other_image(d: Daemon, name: str) -> str:
    """An image unrelated to busybox (so that its layer is not shared), tagged ``name``."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"not busybox\n"
        info = tarfile.TarInfo("marker")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    d.cli("import", "-", name, input=buf.getvalue(), check=True)
    return d.inspect(name)["Id"]


def test_corrupted_blob_leaves_nothing(fresh_daemon, any_registry):
    daemon, reg = fresh_daemon, any_registry
    skopeo_push_archive(BUSYBOX_TAR, "busybox:1.35", reg, "corrupt:1")
    manifest = requests.get(f"{reg.url}/v2/corrupt/manifests/1",
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}).json()
    layer = manifest["layers"][0]["digest"]
    hexd = layer[7:]
    path = (reg.root / "data" / "blobs" / "sha256" / hexd) if reg.kind == "baleine" else \
        (reg.root / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexd[:2] / hexd / "data")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    # An existing image under the same name must survive the failed pull.
    name = f"{reg.host}/corrupt:1"
    old = make_other_image(daemon, name)
    before = image_ids(daemon)
    r = daemon.cli("pull", name)
    assert r.returncode == 1
    assert f"filesystem layer verification failed for digest {layer}" in r.stderr
    assert image_ids(daemon) == before
    assert daemon.inspect(name)["Id"] == old
    assert not (daemon.data_root / "content" / "blobs" / "sha256" / hexd).exists()


def test_truncated_download_is_resumed_or_refused(fresh_daemon, fake_registry):
    daemon, fake = fresh_daemon, fake_registry
    ref = f"{fake.host}/busybox:trunc"
    before = image_ids(daemon)
    fake.truncate = 100  # every attempt breaks halfway
    r = daemon.cli("pull", ref)
    assert r.returncode == 1 and "unexpected EOF" in r.stderr, r.stderr
    assert image_ids(daemon) == before
    assert not (daemon.data_root / "content" / "blobs" / "sha256" / fake.layer_digest[7:]).exists()
    fake.truncate = 1  # one broken transfer: resumed where it stopped
    fake.requests.clear()
    out = daemon.ok("pull", ref)
    assert "Pull complete" in out
    ranges = [rng for m, p, rng in fake.requests if m == "GET" and fake.layer_digest in p]
    assert ranges[0] == "" and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"
    assert daemon.inspect(ref)["Id"] == fake.image_id


def test_corrupt_and_malformed_from_a_fake_registry(fresh_daemon, fake_registry):
    daemon, fake = fresh_daemon, fake_registry
    before = image_ids(daemon)
    fake.malformed = True
    r = daemon.cli("pull", f"{fake.host}/busybox:bad")
    assert r.returncode == 1 and "invalid manifest" in r.stderr, r.stderr
    fake.malformed = False
    fake.corrupt = True
    r = daemon.cli("pull", f"{fake.host}/busybox:bad")
    assert r.returncode == 1 and "verification failed" in r.stderr, r.stderr
    assert image_ids(daemon) == before


# -- credentials ------------------------------------------------------------------------------


@pytest.fixture(params=["baleine-basic", "baleine-token", "cncf-basic"])
def auth_registry(request, tmp_path):
    users = htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})
    if request.param == "baleine-basic":
        reg = start_baleine(tmp_path / "reg", "--htpasswd", str(users))
    elif request.param == "baleine-token":
        reg = start_baleine(tmp_path / "reg", "--htpasswd", str(users), "--token", "--anonymous-pull")
    else:
        reg = start_cncf(tmp_path / "reg", htpasswd_file=users)
    try:
        yield reg
    finally:
        reg.destroy()


def test_login_push_pull_logout(fresh_daemon, auth_registry):
    d, reg = fresh_daemon, auth_registry
    d.ok("load", "-i", str(BUSYBOX_TAR))
    ref = f"{reg.host}/private/busybox:1"
    d.ok("tag", "busybox:1.35", ref)
    r = d.cli("push", ref)
    assert r.returncode == 1 and ("unauthorized" in r.stderr or "denied" in r.stderr), r.stderr
    r = d.cli("login", "-u", "alice", "-p", "wrong", reg.host)
    assert r.returncode == 1 and ("401" in r.stderr or "unauthorized" in r.stderr), r.stderr
    r = d.cli("login", "-u", "alice", "--password-stdin", reg.host, input="s3cret\n")
    assert r.returncode == 0 and "Login Succeeded" in r.stdout, r.stderr
    config = json.loads((d.root / "docker-config" / "config.json").read_text())
    assert reg.host in config["auths"]
    assert "Pushed" in d.ok("push", ref)
    d.ok("rmi", ref)
    assert "Pull complete" in d.ok("pull", ref) or "Already exists" in d.ok("pull", ref)
    assert "Removing login credentials" in d.ok("logout", reg.host)
    assert reg.host not in json.loads((d.root / "docker-config" / "config.json").read_text())["auths"]
    d.ok("tag", "busybox:1.35", f"{reg.host}/private/busybox:2")
    r = d.cli("push", f"{reg.host}/private/busybox:2")
    assert r.returncode == 1
    r = d.cli("pull", f"{reg.host}/private/busybox:1")
    if "token" in str(reg.args):
        assert r.returncode == 0  # anonymous pulls are allowed there
    else:
        assert r.returncode == 1 and "pull access denied" in r.stderr, r.stderr


def test_credential_helper(fresh_daemon, tmp_path):
    """credHelpers: the docker-credential-<name> program supplies the credentials."""
    d = fresh_daemon
    users = htpasswd(tmp_path / "htpasswd", {"bob": "hunter2"})
    reg = start_baleine(tmp_path / "reg", "--htpasswd", str(users))
    try:
        bindir = tmp_path / "bin"
        bindir.mkdir()
        store = tmp_path / "helper-store.json"
        store.write_text(json.dumps({reg.host: {"Username": "bob", "Secret": "hunter2"}}))
        helper = bindir / "docker-credential-testhelper"
        helper.write_text(textwrap.dedent(f"""\
            #!/usr/bin/env python3
            import json, sys
            store = json.load(open({str(store)!r}))
            action = sys.argv[1]
            data = sys.stdin.read().strip()
            if action == "get":
                if data not in store:
                    print("credentials not found in native keychain"); sys.exit(1)
                print(json.dumps(dict(store[data], ServerURL=data)))
            elif action == "store":
                doc = json.loads(data); store[doc["ServerURL"]] = doc
                json.dump(store, open({str(store)!r}, "w"))
            elif action == "erase":
                store.pop(data, None); json.dump(store, open({str(store)!r}, "w"))
            """))
        helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
        cfg = d.root / "docker-config"
        cfg.mkdir(exist_ok=True)
        (cfg / "config.json").write_text(json.dumps({"credHelpers": {reg.host: "testhelper"}}))
        env = d.env()
        env["PATH"] = f"{bindir}:{env['PATH']}"
        from ..conftest import baleine_cmd

        def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
            return subprocess.run(baleine_cmd() + list(args), env=env, capture_output=True, text=True, timeout=120,
                                  input=input)

        run("load", "-i", str(BUSYBOX_TAR))
        run("tag", "busybox:1.35", f"{reg.host}/helped:1")
        r = run("push", f"{reg.host}/helped:1")
        assert r.returncode == 0 and "Pushed" in r.stdout, r.stderr
        r = run("logout", reg.host)
        assert r.returncode == 0
        assert reg.host not in json.loads(store.read_text())
        r = run("push", f"{reg.host}/helped:1")
        assert r.returncode == 1
        r = run("login", "-u", "bob", "--password-stdin", reg.host, input="hunter2\n")
        assert r.returncode == 0, r.stderr
        assert json.loads(store.read_text())[reg.host]["Secret"] == "hunter2"
        assert "auth" not in json.loads((cfg / "config.json").read_text())["auths"].get(reg.host, {})
    finally:
        reg.destroy()


def test_insecure_registry_flag_and_tls(tmp_path):
    """A registry on a non-loopback name is TLS-only unless --insecure-registry lists it;
    a TLS registry with a self-signed certificate works when listed."""
    from ..registries import self_signed

    cert, key = self_signed(tmp_path)
    reg = start_baleine(tmp_path / "reg", tls=(cert, key))
    d = new_daemon(extra_args=["--insecure-registry", reg.host])
    try:
        skopeo_push_archive(BUSYBOX_TAR, "busybox:1.35", reg, "tls/busybox:1")
        out = d.ok("pull", f"{reg.host}/tls/busybox:1")
        assert "Pull complete" in out
    finally:
        destroy_daemon(d)
        reg.destroy()



def test_run_pulls_a_missing_image(fresh_daemon, any_registry):
    d, reg = fresh_daemon, any_registry
    skopeo_push_archive(BUSYBOX_TAR, "busybox:1.35", reg, "runme:1")
    r = d.cli("run", "--rm", f"{reg.host}/runme:1", "echo", "pulled by run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "pulled by run"
    assert f"Unable to find image '{reg.host}/runme:1' locally" in r.stderr
    r = d.cli("run", "--rm", f"{reg.host}/runme:nosuch", "true")
    assert r.returncode == 125 and "manifest unknown" in r.stderr


def test_hub_disabled_for_tests(daemon):
    """Test daemons run with --registry-hub none: a Docker Hub name fails at once,
    without any traffic leaving the machine."""
    r = daemon.cli("pull", "nosuchimage-for-baleine")
    assert r.returncode == 1
    assert "pull access denied for nosuchimage-for-baleine" in r.stderr
    assert "--registry-hub none" in r.stderr
    r = daemon.cli("run", "--rm", "nosuchimage-for-baleine")
    assert r.returncode == 125 and "Unable to find image 'nosuchimage-for-baleine:latest' locally" in r.stderr


def test_client_upload_modes(any_registry, tmp_path):
    """The registry client's monolithic, single-PATCH and chunked uploads, HEAD and
    cross-repository mount, against both registries."""
    import asyncio
    import hashlib
    import os

    from baleine.distribution.client import Registry, TokenCache, new_session
    from baleine.distribution.config import Endpoint

    reg = any_registry
    blobs = {}
    for mode in ("monolithic", "patch", "chunked"):
        data = os.urandom(700_000)
        path = tmp_path / mode
        path.write_bytes(data)
        blobs[mode] = ("sha256:" + hashlib.sha256(data).hexdigest(), len(data), str(path))

    async def run() -> None:
        async with new_session() as http:
            client = Registry(http, Endpoint(reg.url), None, TokenCache(), ["repository:modes:pull,push"])
            await client.ping()
            seen: list[int] = []
            for mode, (digest, size, path) in blobs.items():
                assert await client.blob_size("modes", digest) is None
                await client.upload("modes", digest, size, path, seen.append, monolithic=mode == "monolithic",
                                    chunk_size=256_000 if mode == "chunked" else 0)
                assert await client.blob_size("modes", digest) == size
            assert seen and seen[-1] == size
            digest = blobs["chunked"][0]
            assert await client.start_upload("modes-copy", mount=digest, from_repo="modes") is None
            assert await client.blob_size("modes-copy", digest) == blobs["chunked"][1]

    asyncio.run(run())
    for digest, size, path in blobs.values():
        got = requests.get(f"{reg.url}/v2/modes/blobs/{digest}")
        assert got.status_code == 200 and len(got.content) == size
