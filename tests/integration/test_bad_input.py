"""Bad input gets a clear message and the right status or exit code; nothing is left
half-created and the daemon keeps serving."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from baleine.client import APIError, Client

from ..conftest import Daemon


@pytest.fixture
def api(daemon: Daemon) -> Client:
    return Client(daemon.host)


def _status(api: Client, method: str, path: str, params=None, body=None) -> tuple[int, str]:
    try:
        api.call(method, path, params, body)
    except APIError as exc:
        return exc.status, exc.message
    return 200, ""


def _container_count(daemon: Daemon) -> int:
    return len(daemon.cli("ps", "-aq").out.split())


def test_malformed_json_body(api: Client, daemon: Daemon) -> None:
    before = _container_count(daemon)
    for body in (b"{not json", b"[1, 2", b'"just a string"', b"[]"):
        status, message = _status(api, "POST", "/containers/create", None, body)
        assert status == 400, (body, status, message)
        assert message
    assert _container_count(daemon) == before
    assert api.ping()


@pytest.mark.parametrize("path,method", [
    ("/containers/nope-nope/json", "GET"), ("/containers/nope-nope/start", "POST"),
    ("/containers/nope-nope/stop", "POST"), ("/containers/nope-nope", "DELETE"),
    ("/containers/nope-nope/logs?stdout=1", "GET"), ("/images/nope-nope:1/json", "GET"),
    ("/images/nope-nope:1", "DELETE"), ("/images/nope-nope:1/history", "GET"),
    ("/exec/0123456789/json", "GET"),
])
def test_unknown_objects_are_404(api: Client, path: str, method: str) -> None:
    status, message = _status(api, method, path.split("?")[0], dict(
        p.split("=") for p in path.split("?")[1].split("&")) if "?" in path else None)
    assert status == 404
    assert "No such" in message


def test_malformed_references(api: Client, daemon: Daemon) -> None:
    for ref in ("library/UPPER", "bad::tag", "a@sha256:short", "-leading"):
        status, message = _status(api, "POST", "/containers/create", None, {"Image": ref, "Cmd": ["true"]})
        assert status == 400, (ref, status, message)
        assert "invalid reference format" in message
    r = daemon.cli("tag", "busybox", "Bad:Tag")
    assert r.returncode != 0 and "invalid reference format" in r.stderr
    r = daemon.cli("run", "--rm", "Bad/Name")
    assert r.returncode == 125 and "invalid reference format" in r.stderr


def test_bad_flags_and_values(daemon: Daemon) -> None:
    r = daemon.cli("run", "--memory", "lots", "busybox", "true")
    assert r.returncode == 125 and "invalid argument" in r.stderr
    r = daemon.cli("run", "--restart", "sometimes", "busybox", "true")
    assert r.returncode == 125 and "invalid restart policy" in r.stderr
    r = daemon.cli("ps", "--filter", "nonsense")
    assert r.returncode != 0 and "bad format of filter" in r.stderr
    r = daemon.cli("ps", "--filter", "color=red")
    assert r.returncode != 0 and "invalid filter" in r.stderr
    r = daemon.cli("run", "-p", "99999:80", "busybox", "true")
    assert r.returncode == 125
    r = daemon.cli("logs", "--since", "not-a-time", "whatever")
    assert r.returncode != 0


def test_bad_mount(daemon: Daemon, name: str) -> None:
    before = _container_count(daemon)
    r = daemon.cli("run", "--name", name, "--mount", "type=bind,target=/x,wrong=1", "busybox", "true")
    assert r.returncode == 125 and "unexpected key" in r.stderr
    r = daemon.cli("run", "--name", name, "--mount", "type=bind,source=/x", "busybox", "true")
    assert r.returncode == 125
    assert _container_count(daemon) == before


def test_unknown_signal(daemon: Daemon, name: str, api: Client) -> None:
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "30")
    try:
        r = daemon.cli("kill", "-s", "SIGNOPE", name)
        assert r.returncode == 1 and "signal" in r.stderr.lower()
        status, _ = _status(api, "POST", f"/containers/{name}/kill", {"signal": "NOPE"})
        assert status == 400
        assert daemon.inspect(name)["State"]["Running"]
    finally:
        daemon.cli("rm", "-f", name)


def test_conflicts(daemon: Daemon, name: str, api: Client) -> None:
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "30")
    try:
        r = daemon.cli("run", "--name", name, "busybox", "true")
        assert r.returncode == 125 and "is already in use" in r.stderr
        r = daemon.cli("rm", name)
        assert r.returncode == 1 and "stop the container before removing or force remove" in r.stderr
        # The only name of an image a container uses cannot go without --force.
        daemon.ok("commit", name, f"solo-{name.lower()}:1")
        other = name + "-2"
        daemon.ok("create", "--name", other, f"solo-{name.lower()}:1", "true")
        r = daemon.cli("rmi", f"solo-{name.lower()}:1")
        assert r.returncode == 1 and "conflict: unable to remove repository reference" in r.stderr
        daemon.ok("rm", other)
        daemon.ok("rmi", f"solo-{name.lower()}:1")
        status, _ = _status(api, "POST", f"/containers/{name}/start")
        assert status == 304 or status == 200
    finally:
        daemon.cli("rm", "-f", name)


def test_bad_archives(daemon: Daemon, tmp_path) -> None:
    images_before = daemon.ok("images", "-q", "--no-trunc")
    cases = {
        "garbage.tar": b"this is not a tar archive at all" * 100,
        "empty.tar": _tar({}),
        "no-manifest.tar": _tar({"hello.txt": b"hi"}),
        "bad-manifest.tar": _tar({"manifest.json": b"{nope"}),
        "missing-layer.tar": _tar({"manifest.json": json.dumps(
            [{"Config": "c.json", "RepoTags": ["x:y"], "Layers": ["l/layer.tar"]}]).encode(),
            "c.json": json.dumps({"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode()}),
        "wrong-diffid.tar": _tar({"manifest.json": json.dumps(
            [{"Config": "c.json", "RepoTags": ["x:y"], "Layers": ["l/layer.tar"]}]).encode(),
            "c.json": json.dumps({"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode(),
            "l/layer.tar": _tar({"file": b"content"})}),
    }
    for fname, data in cases.items():
        path = tmp_path / fname
        path.write_bytes(data)
        r = daemon.cli("load", "-i", str(path))
        assert r.returncode == 1, (fname, r.stdout)
        assert r.stderr.strip(), fname
    assert daemon.ok("images", "-q", "--no-trunc") == images_before
    r = daemon.cli("import", str(tmp_path / "garbage.tar"), "imported:bad")
    assert r.returncode == 1
    assert "imported" not in daemon.ok("images")


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_version_checks(daemon: Daemon) -> None:
    too_new = Client(daemon.host, version="1.99")
    with pytest.raises(APIError) as exc:
        too_new.call("GET", "/version")
    assert exc.value.status == 400 and "too new" in exc.value.message
    too_old = Client(daemon.host, version="1.12")
    with pytest.raises(APIError) as exc:
        too_old.call("GET", "/version")
    assert "too old" in exc.value.message


def test_search_is_refused_clearly(daemon: Daemon) -> None:
    r = daemon.cli("search", "postgres")
    assert r.returncode == 1 and "search is not supported by this registry" in r.stderr
    r = daemon.docker("search", "postgres")
    assert r.returncode == 1 and "not supported" in r.stderr
