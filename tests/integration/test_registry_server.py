"""``baleine registry serve`` / ``gc``: the OCI Distribution API, checked with skopeo
(a client no one here wrote) and with raw HTTP for the corners of the spec."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from ..conftest import BUSYBOX_OCI, BUSYBOX_TAR, baleine_cmd
from ..registries import baleine_registry, htpasswd, self_signed, skopeo, start_baleine# noqa: F401

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def archive_config_digest(archive: Path) -> str:
    """The image ID (config digest) recorded in a docker-save archive."""
    import tarfile

    with tarfile.open(archive) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
    return "sha256:" + manifest[0]["Config"].split("/")[-1].replace(".json", "")


def push_blob(base: str, repo: str, data: bytes) -> str:
    r = requests.post(f"{base}/v2/{repo}/blobs/uploads/", params={"digest": sha(data)}, data=data)
    assert r.status_code == 201, r.text
    return sha(data)


def put_manifest(base: str, repo: str, ref: str, doc: dict, media: str = OCI_MANIFEST) -> requests.Response:
    return requests.put(f"{base}/v2/{repo}/manifests/{ref}", data=json.dumps(doc).encode(),
                        headers={"Content-Type": media})


def small_image(base: str, repo: str, tag: str, payload: bytes = b"layer") -> tuple[str, dict]:
    """Push a one-layer OCI image made of ``payload``; return (manifest digest, manifest)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    c = push_blob(base, repo, config)
    l = push_blob(base, repo, payload)
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": len(config)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l, "size": len(payload)}]}
    r = put_manifest(base, repo, tag, doc)
    assert r.status_code == 201, r.text
    return r.headers["Docker-Content-Digest"], doc


def test_skopeo_round_trip(baleine_registry, tmp_path):
    """Archives pushed with skopeo come back out identical: same manifest digest,
    same config (image ID), blobs matching their digests."""
    reg = baleine_registry
    for archive, src, repo in ((BUSYBOX_TAR, "busybox:1.35", "busybox:1.35"),
                               (BUSYBOX_OCI, "busybox:1.35", "oci/busybox:1.35")):
        kind = "docker-archive" if archive == BUSYBOX_TAR else "oci-archive"
        digest_file = tmp_path / "digest"
        r = skopeo("copy", "--dest-tls-verify=false", "--digestfile", str(digest_file),
                   f"{kind}:{archive}" + (f":{src}" if kind == "docker-archive" else ""),
                   f"docker://{reg.host}/{repo}")
        assert r.returncode == 0, r.stderr
        pushed = digest_file.read_text().strip()
        raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reg.host}/{repo}")
        assert raw.returncode == 0, raw.stderr
        assert sha(raw.stdout.encode()) == pushed
        out = tmp_path / repo.replace("/", "_").replace(":", "_")
        r = skopeo("copy", "--src-tls-verify=false", f"docker://{reg.host}/{repo}", f"dir:{out}")
        assert r.returncode == 0, r.stderr
        manifest = (out / "manifest.json").read_bytes()
        assert sha(manifest) == pushed
        doc = json.loads(manifest)
        for desc in [doc["config"], *doc["layers"]]:
            blob = (out / desc["digest"].split(":")[1]).read_bytes()
            assert sha(blob) == desc["digest"] and len(blob) == desc["size"]
        if kind == "docker-archive":
            assert doc["config"]["digest"] == archive_config_digest(archive)
    # Registry to registry (HEAD-first, blobs already there): same digest again.
    r = skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
               f"docker://{reg.host}/busybox:1.35", f"docker://{reg.host}/copies/busybox:again")
    assert r.returncode == 0, r.stderr
    a = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reg.host}/copies/busybox:again").stdout
    b = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reg.host}/busybox:1.35").stdout
    assert a == b
    # Deduplicated storage: every blob once, however many repositories hold it.
    blobs = os.listdir(reg.root / "data" / "blobs" / "sha256")
    assert len(blobs) == len(set(blobs))
    tags = skopeo("list-tags", "--tls-verify=false", f"docker://{reg.host}/busybox")
    assert json.loads(tags.stdout)["Tags"] == ["1.35"]


def test_uploads_ranges_and_errors(baleine_registry):
    base = baleine_registry.url
    s = requests.Session()
    assert s.get(f"{base}/v2/").headers["Docker-Distribution-API-Version"] == "registry/2.0"
    data = os.urandom(300_000)
    digest = sha(data)
    # Chunked upload: POST, PATCH with Content-Range, status, PATCH, PUT ?digest=.
    r = s.post(f"{base}/v2/team/app/blobs/uploads/")
    assert r.status_code == 202 and r.headers["Location"]
    loc = base + r.headers["Location"]
    r = s.patch(loc, data=data[:100_000], headers={"Content-Range": "0-99999", "Content-Type": "application/octet-stream"})
    assert r.status_code == 202 and r.headers["Range"] == "0-99999"
    loc = base + r.headers["Location"]
    # Out of order: refused with 416 and the current range.
    r = s.patch(loc, data=b"x", headers={"Content-Range": "5-5"})
    assert r.status_code == 416 and r.headers["Range"] == "0-99999"
    assert r.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
    r = s.get(loc)
    assert r.status_code == 204 and r.headers["Range"] == "0-99999"
    r = s.patch(loc, data=data[100_000:250_000], headers={"Content-Range": "100000-249999"})
    assert r.status_code == 202
    r = s.put(base + r.headers["Location"], params={"digest": digest}, data=data[250_000:])
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == digest
    # Blob reads: HEAD, GET, ranges.
    r = s.head(f"{base}/v2/team/app/blobs/{digest}")
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(data)
    r = s.get(f"{base}/v2/team/app/blobs/{digest}", headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206 and r.content == data[1000:2000]
    assert s.get(f"{base}/v2/team/app/blobs/{digest}").content == data
    # A wrong digest is rejected and nothing is stored.
    wrong = sha(b"something else")
    r = s.post(f"{base}/v2/team/app/blobs/uploads/", params={"digest": wrong}, data=b"not that")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "DIGEST_INVALID"
    assert s.head(f"{base}/v2/team/app/blobs/{wrong}").status_code == 404
    assert not (baleine_registry.root / "data" / "blobs" / "sha256" / sha(b"not that")[7:]).exists()
    # Unknown blob / upload / repository.
    r = s.get(f"{base}/v2/team/app/blobs/{sha(b'nope')}")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
    assert s.get(f"{base}/v2/team/app/blobs/uploads/{'0' * 32}").status_code == 404
    r = s.get(f"{base}/v2/nosuch/manifests/latest")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    r = s.get(f"{base}/v2/Bad_Name/tags/list")
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "NAME_INVALID"
    # Cross-repository mount.
    r = s.post(f"{base}/v2/other/blobs/uploads/", params={"mount": digest, "from": "team/app"})
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == digest
    assert s.head(f"{base}/v2/other/blobs/{digest}").status_code == 200
    # A blob linked only in another repository is not readable through this one.
    assert s.head(f"{base}/v2/third/blobs/{digest}").status_code == 404
    # Cancelling an upload.
    r = s.post(f"{base}/v2/team/app/blobs/uploads/")
    loc = base + r.headers["Location"]
    assert s.delete(loc).status_code == 204
    assert s.get(loc).status_code == 404


def test_manifests_tags_catalog_referrers(baleine_registry):
    base = baleine_registry.url
    s = requests.Session()
    digest, doc = small_image(base, "lib/app", "v1")
    r = s.get(f"{base}/v2/lib/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert r.status_code == 200 and r.headers["Content-Type"] == OCI_MANIFEST
    assert r.headers["Docker-Content-Digest"] == digest == sha(r.content)
    assert s.head(f"{base}/v2/lib/app/manifests/{digest}").headers["Docker-Content-Digest"] == digest
    # Verification: missing blobs, malformed JSON, wrong digest in the URL.
    bad = dict(doc, layers=[{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(b"x"), "size": 1}])
    r = put_manifest(base, "lib/app", "bad", bad)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    r = s.put(f"{base}/v2/lib/app/manifests/bad", data=b"{not json", headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "MANIFEST_INVALID"
    r = put_manifest(base, "lib/app", sha(b"other"), doc)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "DIGEST_INVALID"
    assert s.get(f"{base}/v2/lib/app/manifests/bad").status_code == 404
    # Tags with pagination.
    for t in ("v2", "v3", "a", "z"):
        assert put_manifest(base, "lib/app", t, doc).status_code == 201
    r = s.get(f"{base}/v2/lib/app/tags/list", params={"n": 2})
    assert r.json() == {"name": "lib/app", "tags": ["a", "v1"]}
    assert 'rel="next"' in r.headers["Link"]
    nxt = r.headers["Link"].split(";")[0].strip("<>")
    assert s.get(base + nxt).json()["tags"] == ["v2", "v3"]
    assert s.get(f"{base}/v2/lib/app/tags/list", params={"last": "v3"}).json()["tags"] == ["z"]
    # Catalog with pagination.
    small_image(base, "alpha", "1")
    small_image(base, "zeta/x", "1")
    assert s.get(f"{base}/v2/_catalog").json()["repositories"] == ["alpha", "lib/app", "zeta/x"]
    r = s.get(f"{base}/v2/_catalog", params={"n": 1})
    assert r.json()["repositories"] == ["alpha"] and "last=alpha" in r.headers["Link"]
    # Referrers: an artifact whose subject is the image.
    empty = push_blob(base, "lib/app", b"{}")
    sig = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
           "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}],
           "subject": {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(json.dumps(doc))},
           "annotations": {"org.example": "yes"}}
    raw = json.dumps(sig).encode()
    r = s.put(f"{base}/v2/lib/app/manifests/{sha(raw)}", data=raw, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201 and r.headers["OCI-Subject"] == digest
    r = s.get(f"{base}/v2/lib/app/referrers/{digest}")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    entries = r.json()["manifests"]
    assert [e["digest"] for e in entries] == [sha(raw)]
    assert entries[0]["artifactType"] == "application/vnd.example.sig"
    assert entries[0]["annotations"] == {"org.example": "yes"}
    r = s.get(f"{base}/v2/lib/app/referrers/{digest}", params={"artifactType": "application/other"})
    assert r.json()["manifests"] == [] and r.headers["OCI-Filters-Applied"] == "artifactType"
    # Deletion: a tag, then a manifest by digest (its tags go with it).
    assert s.delete(f"{base}/v2/lib/app/manifests/z").status_code == 202
    assert s.get(f"{base}/v2/lib/app/manifests/z").status_code == 404
    assert s.delete(f"{base}/v2/lib/app/manifests/{sha(raw)}").status_code == 202
    assert s.get(f"{base}/v2/lib/app/referrers/{digest}").json()["manifests"] == []


def test_gc_removes_only_unreferenced_blobs(tmp_path):
    reg = start_baleine(tmp_path / "reg")
    try:
        base = reg.url
        keep, _ = small_image(base, "keep", "1", b"kept layer")
        gone, _ = small_image(base, "gone", "1", b"dropped layer")
        orphan = push_blob(base, "keep", b"never referenced")
        assert requests.delete(f"{base}/v2/gone/manifests/{gone}").status_code == 202
        r = subprocess.run(baleine_cmd() + ["registry", "gc", "--root", str(reg.root / "data")],
                           capture_output=True, text=True)
        assert r.returncode == 1 and "in use by a running server" in r.stderr
        reg.stop()
        r = subprocess.run(baleine_cmd() + ["registry", "gc", "--root", str(reg.root / "data")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        blobs = {"sha256:" + n for n in os.listdir(reg.root / "data" / "blobs" / "sha256")}
        assert orphan not in blobs and sha(b"dropped layer") not in blobs and gone not in blobs
        assert keep in blobs and sha(b"kept layer") in blobs
        reg2 = start_baleine(tmp_path / "reg")
        try:
            r = requests.get(f"{reg2.url}/v2/keep/manifests/1")
            assert r.status_code == 200
            assert requests.get(f"{reg2.url}/v2/keep/blobs/{sha(b'kept layer')}").content == b"kept layer"
        finally:
            reg2.stop()
    finally:
        reg.destroy()


def test_concurrent_pushes_of_one_blob(baleine_registry):
    base = baleine_registry.url
    data = os.urandom(2_000_000)

    def push(i: int) -> int:
        r = requests.post(f"{base}/v2/repo{i}/blobs/uploads/")
        r = requests.patch(base + r.headers["Location"], data=data)
        r = requests.put(base + r.headers["Location"], params={"digest": sha(data)})
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(push, range(8))) == [201] * 8
    for i in range(8):
        assert requests.get(f"{base}/v2/repo{i}/blobs/{sha(data)}").content == data
    blobs = os.listdir(baleine_registry.root / "data" / "blobs" / "sha256")
    assert blobs.count(sha(data)[7:]) == 1
    assert os.listdir(baleine_registry.root / "data" / "uploads") == []


def test_htpasswd_basic_auth(tmp_path):
    users = htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})
    reg = start_baleine(tmp_path / "reg", "--htpasswd", str(users))
    try:
        r = requests.get(f"{reg.url}/v2/")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic ")
        assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert requests.get(f"{reg.url}/v2/", auth=("alice", "wrong")).status_code == 401
        assert requests.get(f"{reg.url}/v2/", auth=("alice", "s3cret")).status_code == 200
        src = f"docker-archive:{BUSYBOX_TAR}:busybox:1.35"
        r = skopeo("copy", "--dest-tls-verify=false", src, f"docker://{reg.host}/busybox:1")
        assert r.returncode != 0
        r = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:wrong", src, f"docker://{reg.host}/busybox:1")
        assert r.returncode != 0
        r = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret", src, f"docker://{reg.host}/busybox:1")
        assert r.returncode == 0, r.stderr
        r = skopeo("inspect", "--tls-verify=false", "--creds", "alice:s3cret", f"docker://{reg.host}/busybox:1")
        assert r.returncode == 0, r.stderr
    finally:
        reg.destroy()


def test_token_service_scopes(tmp_path):
    """Anonymous users may pull and not push; alice may push; tokens carry the scopes."""
    users = htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})
    reg = start_baleine(tmp_path / "reg", "--htpasswd", str(users), "--token", "--anonymous-pull")
    try:
        r = requests.get(f"{reg.url}/v2/")
        assert r.status_code == 401
        challenge = r.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ") and f'realm="{reg.url}/token"' in challenge
        src = f"docker-archive:{BUSYBOX_TAR}:busybox:1.35"
        r = skopeo("copy", "--dest-tls-verify=false", src, f"docker://{reg.host}/busybox:1")
        assert r.returncode != 0
        r = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret", src, f"docker://{reg.host}/busybox:1")
        assert r.returncode == 0, r.stderr
        r = skopeo("inspect", "--tls-verify=false", f"docker://{reg.host}/busybox:1")
        assert r.returncode == 0, r.stderr
        # The token service grants what the rules allow, no more.
        tok = requests.get(f"{reg.url}/token", params={"service": "baleine-registry",
                                                        "scope": "repository:busybox:pull,push"}).json()["token"]
        claims = json.loads(_b64(tok.split(".")[1]))
        assert claims["access"] == [{"type": "repository", "name": "busybox", "actions": ["pull"]}]
        r = requests.post(f"{reg.url}/v2/busybox/blobs/uploads/", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 401
        tok = requests.get(f"{reg.url}/token", params={"scope": "repository:busybox:pull,push"},
                           auth=("alice", "s3cret")).json()["token"]
        r = requests.post(f"{reg.url}/v2/busybox/blobs/uploads/", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 202
        assert requests.get(f"{reg.url}/token", auth=("alice", "nope")).status_code == 401
    finally:
        reg.destroy()


def _b64(s: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def test_tls(tmp_path):
    cert, key = self_signed(tmp_path)
    reg = start_baleine(tmp_path / "reg", tls=(cert, key))
    try:
        assert reg.scheme == "https"
        assert requests.get(f"{reg.url}/v2/", verify=str(cert)).status_code == 200
        certs = tmp_path / "certs"
        certs.mkdir()
        (certs / "ca.crt").write_bytes(cert.read_bytes())
        r = skopeo("copy", "--dest-cert-dir", str(certs), f"docker-archive:{BUSYBOX_TAR}:busybox:1.35",
                   f"docker://{reg.host}/busybox:tls")
        assert r.returncode == 0, r.stderr
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{reg.url}/v2/")  # not trusted without the certificate
    finally:
        reg.destroy()
