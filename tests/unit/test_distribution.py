"""Pure parts of baleine.distribution: challenges, auth headers, credentials,
manifests and platforms, endpoints, pull references, access rules and tokens."""

from __future__ import annotations

import base64
import json

import pytest

from baleine.client import credentials
from baleine.distribution.auth import AuthConfig, config_key, decode_header, encode_header, parse_challenges
from baleine.distribution.config import RegistryConfig
from baleine.distribution.manifest import (ManifestError, Platform, host_platform, matches, parse, parse_platform,
                                           select, sha256)
from baleine.distribution.server.access import Access, Rule, Tokens
from baleine.distribution.service import _pull_reference
from baleine.rules.errors import InvalidParameter, NotFound


def test_challenges():
    [c] = parse_challenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                           'scope="repository:library/busybox:pull"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                        "scope": "repository:library/busybox:pull"}
    [c] = parse_challenges('Basic realm="Registry Realm"')
    assert c.scheme == "basic" and c.params == {"realm": "Registry Realm"}
    cs = parse_challenges('Basic realm="a", Bearer realm="b",error="insufficient_scope"')
    assert [c.scheme for c in cs] == ["basic", "bearer"]
    assert cs[1].params["error"] == "insufficient_scope"
    assert parse_challenges('Bearer realm="x\\"y"')[0].params["realm"] == 'x"y'
    assert parse_challenges("") == [] and parse_challenges(None) == []


def test_registry_auth_header():
    auth = AuthConfig("alice", "s3cret", "localhost:5000")
    assert decode_header(encode_header(auth)) == auth
    assert encode_header(None) == "e30="
    assert decode_header("e30=") == AuthConfig()
    std = base64.b64encode(json.dumps({"username": "u", "password": "p?>"}).encode()).decode()
    assert decode_header(std).password == "p?>"
    assert decode_header("!!!not base64") == AuthConfig()
    assert decode_header(base64.b64encode(b"[1]").decode()) == AuthConfig()
    legacy = AuthConfig.from_dict({"auth": base64.b64encode(b"bob:pw:with:colons").decode()})
    assert (legacy.username, legacy.password) == ("bob", "pw:with:colons")


def test_config_keys():
    assert config_key("") == "https://index.docker.io/v1/"
    assert config_key("docker.io") == "https://index.docker.io/v1/"
    assert config_key("https://index.docker.io/v1/") == "https://index.docker.io/v1/"
    assert config_key("localhost:5000") == "localhost:5000"
    assert config_key("https://registry.example.org/v2/") == "registry.example.org"


def test_credentials_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert credentials.get("localhost:5000").empty
    assert credentials.store(AuthConfig("alice", "pw", "localhost:5000")) == "file"
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["auths"]["localhost:5000"]["auth"] == base64.b64encode(b"alice:pw").decode()
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o600
    got = credentials.get("localhost:5000")
    assert (got.username, got.password) == ("alice", "pw")
    credentials.store(AuthConfig("hub", "tok", "docker.io"))
    assert credentials.get("https://index.docker.io/v1/").username == "hub"
    assert credentials.erase("localhost:5000") is True
    assert credentials.erase("localhost:5000") is False
    assert credentials.get("localhost:5000").empty
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(credentials.CredentialsError):
        credentials.get("x")


INDEX = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "1" * 64, "size": 1,
     "platform": {"os": "linux", "architecture": "amd64"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "2" * 64, "size": 1,
     "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "3" * 64, "size": 1,
     "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "4" * 64, "size": 1,
     "platform": {"os": "unknown", "architecture": "unknown"},
     "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
]}


def test_manifests_and_platforms():
    raw = json.dumps(INDEX).encode()
    index = parse(raw)
    assert index.digest == sha256(raw) and len(index.manifests) == 4
    assert select(index, Platform("linux", "amd64")).digest.endswith("1" * 64)
    assert select(index, parse_platform("linux/arm64")).digest.endswith("2" * 64)
    assert select(index, parse_platform("linux/arm64/v8")).digest.endswith("2" * 64)
    assert select(index, parse_platform("linux/arm/v7")).digest.endswith("3" * 64)  # v6 runs on v7
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x in the manifest list entries"):
        select(index, parse_platform("linux/s390x"))
    assert host_platform().os == "linux"
    assert matches(Platform("linux", "arm", "v6"), Platform("linux", "arm", "v7"))
    assert not matches(Platform("linux", "arm", "v7"), Platform("linux", "arm", "v6"))
    with pytest.raises(InvalidParameter):
        parse_platform("linux//")
    with pytest.raises(ManifestError, match="schema 1 support has been removed"):
        parse(json.dumps({"schemaVersion": 1, "name": "x"}).encode())
    with pytest.raises(ManifestError, match="not valid JSON"):
        parse(b"{nope")
    with pytest.raises(ManifestError, match="invalid digest"):
        parse(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"digest": "md5:x", "size": 1}, "layers": []}).encode())
    with pytest.raises(ManifestError, match="unsupported manifest media type"):
        parse(json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode())


def test_pull_references():
    assert str(_pull_reference("busybox", "latest")) == "docker.io/library/busybox:latest"
    assert str(_pull_reference("localhost:5000/x", "1.2")) == "localhost:5000/x:1.2"
    d = "sha256:" + "a" * 64
    assert str(_pull_reference("busybox", d)) == f"docker.io/library/busybox@{d}"
    assert str(_pull_reference(f"busybox@{d}", "latest")) == f"docker.io/library/busybox@{d}"
    assert _pull_reference("busybox", "").is_name_only  # -a
    assert str(_pull_reference("busybox:1.36", "")) == "docker.io/library/busybox:1.36"
    with pytest.raises(InvalidParameter):
        _pull_reference("busybox", "bad tag!")


def test_endpoints():
    cfg = RegistryConfig.from_options(["http://127.0.0.1:5000/"], ["registry.internal:5000", "10.0.0.0/8"])
    hub = cfg.endpoints("docker.io")
    assert [e.url for e in hub] == ["http://127.0.0.1:5000", "https://registry-1.docker.io"]
    assert hub[0].mirror and not hub[1].mirror
    assert [e.url for e in cfg.endpoints("localhost:5000")] == ["https://localhost:5000", "http://localhost:5000"]
    assert [e.url for e in cfg.endpoints("127.0.0.2:1")] == ["https://127.0.0.2:1", "http://127.0.0.2:1"]
    assert [e.url for e in cfg.endpoints("registry.internal:5000")][-1] == "http://registry.internal:5000"
    assert cfg.is_insecure("10.1.2.3:5000")
    with pytest.raises(InvalidParameter, match="invalid mirror"):
        RegistryConfig.from_options(["ftp://x"], [])
    with pytest.raises(InvalidParameter, match="should not contain"):
        RegistryConfig.from_options([], ["http://x"])
    info = cfg.index_configs()
    assert info["Mirrors"] == ["http://127.0.0.1:5000"] and "10.0.0.0/8" in info["InsecureRegistryCIDRs"]


def test_access_rules_and_tokens():
    access = Access(None, [Rule.parse("*:public/*:pull"), Rule.parse("alice:*:*"), Rule.parse("+:team/*:pull,push")],
                    Tokens(b"k" * 32))
    assert access.allowed_actions(None, "public/x") == {"pull"}
    assert access.allowed_actions(None, "team/x") == set()
    assert access.allowed_actions("bob", "team/x") == {"pull", "push"}
    assert access.allowed_actions("alice", "other") == {"pull", "push", "delete"}
    granted = access.grant(None, ["repository:public/x:pull,push", "repository:team/y:pull"])
    assert granted == [{"type": "repository", "name": "public/x", "actions": ["pull"]},
                       {"type": "repository", "name": "team/y", "actions": []}]
    tokens = access.tokens
    assert tokens is not None
    tok = tokens.issue("bob", granted)
    claims = tokens.verify(tok)
    assert claims is not None and claims["sub"] == "bob" and claims["access"] == granted
    head, body, sig = tok.split(".")
    assert tokens.verify(f"{head}.{body}.{sig[:-2]}AA") is None
    assert Tokens(b"other" * 8).verify(tok) is None
    assert tokens.verify(tokens.issue("bob", [], ttl=-100)) is None
    with pytest.raises(ValueError):
        Rule.parse("x:y:fly")


def test_progress_display():
    import io

    from baleine.cli.progress import Display, StreamError

    msgs = [{"status": "Pulling from library/busybox", "id": "1.36"},
            {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
            {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
            {"status": "Downloading", "progressDetail": {"current": 50, "total": 100}, "id": "aaa"},
            {"status": "Pull complete", "progressDetail": {}, "id": "bbb"},
            {"status": "Digest: sha256:x"}]
    plain = io.StringIO()
    Display(plain, tty=False).run(msgs)
    assert plain.getvalue().splitlines() == ["1.36: Pulling from library/busybox", "aaa: Pulling fs layer",
                                             "bbb: Pulling fs layer", "bbb: Pull complete", "Digest: sha256:x"]
    term = io.StringIO()
    Display(term, tty=True).run(msgs)
    out = term.getvalue()
    assert "\x1b[2A\x1b[2K\raaa: Downloading [" in out  # redrawn two lines up, in place
    assert "50B/100B" in out and "\x1b[1A\x1b[2K\rbbb: Pull complete" in out
    with pytest.raises(StreamError, match="boom"):
        Display(io.StringIO(), tty=False).run([{"errorDetail": {"message": "boom"}, "error": "boom"}])
