"""Issue 14, the images/exec/logs/build items: what the docker CLI and docker-py see
from Baleine must be what they see from dockerd."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Callable

import docker
import pytest

from ..conftest import BUSYBOX_TAR, DOCKER, Daemon


@pytest.fixture
def sleeper(daemon: Daemon):
    """A running busybox container, removed afterwards."""
    name = "i14-" + uuid.uuid4().hex[:8]
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "300")
    yield name
    daemon.cli("rm", "-f", name)


@pytest.mark.parametrize("client", ["docker", "cli"])
def test_exec_missing_user_is_dockerds_error(daemon: Daemon, sleeper: str, client: str) -> None:
    r = getattr(daemon, client)("exec", "-u", "nosuchuser", sleeper, "true")
    assert r.returncode == 126, (r.returncode, r.stdout, r.stderr)
    assert "unable to find user nosuchuser: no matching entries in passwd file" in r.stdout + r.stderr
    assert "unable to upgrade" not in r.stderr


@pytest.mark.parametrize("args,words", [
    (["nosuchbinary"], 'exec: "nosuchbinary": executable file not found in $PATH'),
    (["-w", "/no/such/dir", "CONTAINER", "true"], "no such file or directory"),
])
def test_exec_start_failures_exit_126(daemon: Daemon, sleeper: str, args: list[str], words: str) -> None:
    # dockerd records 126 for every exec that fails to start (its ContainerExecStart's
    # deferred clean-up overrides the 127 that translateContainerdStartErr set).
    argv = [sleeper if a == "CONTAINER" else a for a in args]
    if "CONTAINER" not in args:
        argv = [sleeper] + argv
    r = daemon.docker("exec", *argv)
    assert r.returncode == 126, (r.returncode, r.stdout, r.stderr)
    assert "OCI runtime exec failed" in r.stdout + r.stderr
    assert words in r.stdout + r.stderr


# -- images whose config lacks an optional field ---------------------------------------

def _variant(tmp_path: Path, tags: list[str], change: Callable[[dict], None] | None = None) -> Path:
    """busybox's docker-save archive with its config changed by ``change`` (so a new
    image ID) and the manifest naming ``tags`` (none: an untagged image)."""
    out = tmp_path / f"variant-{uuid.uuid4().hex[:6]}.tar"
    with tarfile.open(BUSYBOX_TAR) as src, tarfile.open(out, "w") as dst:
        manifest = json.load(src.extractfile("manifest.json"))
        config = json.load(src.extractfile(manifest[0]["Config"]))
        if change is not None:
            change(config)
        blob = json.dumps(config).encode()
        name = hashlib.sha256(blob).hexdigest() + ".json"
        manifest[0].update(Config=name, RepoTags=tags or None)
        for member in src.getmembers():
            if member.name in ("manifest.json", "repositories") or member.name.endswith(".json") \
                    and "/" not in member.name:
                continue
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        for fname, data in ((name, blob), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(fname)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


def _drop_created(config: dict) -> None:
    config.pop("created", None)
    for h in config.get("history") or []:
        h.pop("created", None)


def test_image_without_created_is_listed(daemon: Daemon, tmp_path: Path) -> None:
    tag = f"nocreated-{uuid.uuid4().hex[:6]}:v1"
    daemon.ok("load", "-i", str(_variant(tmp_path, [tag], _drop_created)))
    try:
        r = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.CreatedSince}}")
        assert r.returncode == 0, r.stderr
        assert tag in r.stdout and "busybox:latest" in r.stdout
        dc = daemon.api()
        listed = {t: i["Created"] for i in dc.api.images() for t in i["RepoTags"] or []}
        assert listed[tag] == 0 and listed["busybox:latest"] > 0
        assert dc.images.get(tag).attrs["Created"] == ""
        r = daemon.docker("system", "df")
        assert r.returncode == 0, r.stderr
        r = daemon.docker("history", tag)
        assert r.returncode == 0, r.stderr
        assert daemon.docker("image", "inspect", tag).returncode == 0
        dc.close()
    finally:
        daemon.cli("rmi", "-f", tag)


@pytest.mark.parametrize("created", ["yesterday", "2024-13-45T99:00:00Z"])
def test_image_with_a_bad_created_breaks_no_listing(daemon: Daemon, tmp_path: Path, created: str) -> None:
    tag = f"badcreated-{uuid.uuid4().hex[:6]}:v1"

    def bad(config: dict) -> None:
        config["created"] = created

    r = daemon.docker("load", "-i", str(_variant(tmp_path, [tag], bad)))
    try:
        if r.returncode != 0:  # refused at load: with a clear message
            assert "created" in r.stderr, r.stderr
        for args in (["images"], ["system", "df"], ["history", "busybox"]):
            r2 = daemon.docker(*args)
            assert r2.returncode == 0, (args, r2.stderr)
        if r.returncode == 0:
            assert tag.split(":")[0] in daemon.docker("images").stdout
            assert daemon.docker("history", tag).returncode == 0
    finally:
        daemon.cli("rmi", "-f", tag)


def test_image_config_with_non_string_labels_refused_at_load(daemon: Daemon, tmp_path: Path) -> None:
    tag = f"badlabels-{uuid.uuid4().hex[:6]}:v1"

    def bad(config: dict) -> None:
        config.setdefault("config", {})["Labels"] = {"n": 1, "ok": "yes"}

    dc = daemon.api()
    try:
        with pytest.raises(docker.errors.APIError) as exc:
            dc.images.load(_variant(tmp_path, [tag], bad).read_bytes())
        assert exc.value.status_code == 400
        assert "Labels" in str(exc.value)
        assert daemon.docker("images").returncode == 0
        assert tag.split(":")[0] not in daemon.docker("images").stdout
    finally:
        dc.close()
        daemon.cli("rmi", "-f", tag)


# -- load's answer ---------------------------------------------------------------------

def test_load_answers_one_line_per_name(daemon: Daemon, tmp_path: Path) -> None:
    a, b = (f"twotags-{uuid.uuid4().hex[:6]}:{t}" for t in ("x", "y"))
    archive = _variant(tmp_path, [a, b], lambda c: c.setdefault("config", {}).update(Env=["V=1"]))
    dc = daemon.api()
    try:
        chunks = list(dc.api.load_image(archive.read_bytes()))
        assert [c.get("stream") for c in chunks] == [f"Loaded image: {a}\n", f"Loaded image: {b}\n"]
        untagged = _variant(tmp_path, [], lambda c: c.setdefault("config", {}).update(Env=["V=2"]))
        r = daemon.docker("load", "-i", str(untagged))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().startswith("Loaded image ID: sha256:") and r.stdout.count("Loaded") == 1
        loaded = dc.images.load(untagged.read_bytes())
        assert len(loaded) == 1 and loaded[0].tags == []
    finally:
        dc.close()
        daemon.cli("rmi", "-f", a, b)


# -- ps after the image's tag is gone --------------------------------------------------

def test_ps_shows_image_id_after_rmi_force(daemon: Daemon, tmp_path: Path) -> None:
    tag = f"inuse-{uuid.uuid4().hex[:6]}:v1"
    daemon.ok("tag", "busybox", tag)
    name = "i14ps-" + uuid.uuid4().hex[:6]
    daemon.ok("create", "--name", name, tag, "true")
    try:
        r = daemon.docker("rmi", "-f", tag)
        assert r.returncode == 0, r.stderr
        image_id = daemon.inspect("busybox")["Id"]
        shown = daemon.docker("ps", "-a", "--filter", f"name={name}", "--format", "{{.Image}}").stdout.strip()
        assert shown == image_id[len("sha256:"):len("sha256:") + 12] or shown == image_id, shown
        dc = daemon.api()
        assert dc.api.containers(all=True, filters={"name": name})[0]["Image"] == image_id
        dc.close()
    finally:
        daemon.cli("rm", "-f", name)


# -- logs ------------------------------------------------------------------------------

_FIXED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")


@pytest.mark.parametrize("client", ["docker", "cli"])
def test_logs_timestamps_have_nine_digits(daemon: Daemon, client: str) -> None:
    name = "i14logs-" + uuid.uuid4().hex[:6]
    daemon.ok("run", "--name", name, "busybox", "sh", "-c", "seq 1 60")
    try:
        r = getattr(daemon, client)("logs", "-t", name)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert len(lines) == 60
        for line in lines:
            assert _FIXED.match(line), line
        # the stored times keep their own (trimmed) form; only the output is fixed
    finally:
        daemon.cli("rm", "-f", name)


@pytest.mark.parametrize("client", ["docker", "cli"])
def test_logs_details_show_log_opt_attributes(daemon: Daemon, client: str) -> None:
    name = "i14det-" + uuid.uuid4().hex[:6]
    daemon.ok("run", "--name", name, "--label", "team=a b", "--label", "other=x", "-e", "STAGE=prod",
              "--log-opt", "labels=team", "--log-opt", "env=STAGE", "busybox", "echo", "hello")
    plain = "i14det-" + uuid.uuid4().hex[:6]
    daemon.ok("run", "--name", plain, "busybox", "echo", "hello")
    try:
        r = getattr(daemon, client)("logs", "--details", name)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "STAGE=prod,team=a+b hello\n"
        r = getattr(daemon, client)("logs", "--details", plain)
        assert r.stdout == " hello\n"
        assert getattr(daemon, client)("logs", name).stdout == "hello\n"
    finally:
        daemon.cli("rm", "-f", name, plain)


@pytest.mark.parametrize("args,message", [
    (["--log-driver", "asdf"], "logger: no log driver named 'asdf' is registered"),
    (["--log-opt", "nosuch=1"], "unknown log opt 'nosuch' for json-file log driver"),
    (["--log-opt", "mode=weird"], "logger: logging mode not supported: weird"),
])
def test_log_driver_errors_worded_as_dockerd(daemon: Daemon, args: list[str], message: str) -> None:
    r = daemon.docker("create", *args, "busybox", "true")
    assert r.returncode == 1, (r.returncode, r.stderr)  # docker create's exit code for a daemon error
    assert f"Error response from daemon: {message}" in r.stderr
    dc = daemon.api()
    try:
        log_config = {"Type": args[1]} if args[0] == "--log-driver" else \
            {"Type": "json-file", "Config": dict([args[1].split("=", 1)])}
        with pytest.raises(docker.errors.APIError) as exc:
            dc.api.create_container("busybox", "true", host_config={"LogConfig": log_config})
        assert exc.value.status_code == 400 and message in str(exc.value)
    finally:
        dc.close()


# -- volume prune under an older API version -------------------------------------------

def test_volume_prune_follows_the_pinned_api_version(daemon: Daemon) -> None:
    named = [f"i14vol-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for n in named:
        daemon.ok("volume", "create", n)
    try:
        # 1.47: named volumes stay unless --all
        r = daemon.docker("volume", "prune", "-f")
        assert r.returncode == 0, r.stderr
        assert named[0] in daemon.docker("volume", "ls", "-q").stdout.split()
        # a client pinning 1.41 gets 1.41's prune: every unused volume
        env = daemon.env() | {"DOCKER_API_VERSION": "1.41"}
        r = subprocess.run([DOCKER, "volume", "prune", "-f"], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        left = daemon.docker("volume", "ls", "-q").stdout.split()
        assert not set(named) & set(left), left
        daemon.ok("volume", "create", named[0])
        old = docker.DockerClient(base_url=daemon.host, version="1.41")
        try:
            assert named[0] in (old.volumes.prune().get("VolumesDeleted") or [])
        finally:
            old.close()
    finally:
        daemon.cli("volume", "rm", "-f", *named)


# -- system prune with a label filter and the build cache -------------------------------

def _classic(daemon: Daemon, *args: str) -> subprocess.CompletedProcess:
    env = daemon.env() | {"DOCKER_BUILDKIT": "0"}
    return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=180)


def _cache_entries(daemon: Daemon) -> int:
    dc = daemon.api()
    try:
        return len(dc.df().get("BuildCache") or [])
    finally:
        dc.close()


@pytest.mark.parametrize("client", ["docker", "cli"])
def test_system_prune_label_filter_keeps_build_cache(daemon: Daemon, tmp_path: Path, client: str) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM busybox\nRUN echo {uuid.uuid4().hex} > /stamp\n")
    tag = f"i14cache-{uuid.uuid4().hex[:6]}"
    r = _classic(daemon, "build", "-t", tag, str(ctx))
    assert r.returncode == 0, r.stderr
    try:
        before = _cache_entries(daemon)
        assert before > 0
        r = getattr(daemon, client)("system", "prune", "-f", "--filter", "label=i14-nosuch=1")
        assert r.returncode == 0, r.stderr
        assert _cache_entries(daemon) == before
        # without the filter the same prune does empty the cache (the check above can fail)
        assert daemon.docker("builder", "prune", "-af").returncode == 0
        assert _cache_entries(daemon) == 0
    finally:
        daemon.cli("rmi", "-f", tag)


# -- build networkmode -----------------------------------------------------------------

def test_build_networkmode_names_a_network_or_a_container(daemon: Daemon) -> None:
    net = f"i14bn-{uuid.uuid4().hex[:6]}"
    octet = 100 + int(uuid.uuid4().hex[:2], 16) % 100
    subnet = f"10.213.{octet}."
    daemon.ok("network", "create", "--subnet", f"{subnet}0/24", net)
    box = f"i14bc-{uuid.uuid4().hex[:6]}"
    dc = daemon.api()
    try:
        daemon.ok("run", "-d", "--name", box, "--network", net, "busybox", "sleep", "300")
        box_ip = daemon.inspect(box)["NetworkSettings"]["Networks"][net]["IPAddress"]
        for mode, wanted in ((net, f"inet {subnet}"), (f"container:{box}", f"inet {box_ip}/")):
            df = f"FROM busybox\nRUN ip addr > /addrs; grep -q '{wanted}' /addrs || (cat /addrs; exit 3)\n"
            out = list(dc.api.build(fileobj=io.BytesIO(df.encode()), decode=True, network_mode=mode, rm=True))
            assert not any("error" in m for m in out), (mode, out)
            assert any("aux" in m for m in out)
        df = b"FROM busybox\nRUN true\n"
        out = list(dc.api.build(fileobj=io.BytesIO(df), decode=True, network_mode="i14-no-such-net", nocache=True))
        errors = [m for m in out if "errorDetail" in m]
        assert errors and "i14-no-such-net" in errors[0]["error"]
    finally:
        dc.close()
        daemon.cli("rm", "-f", box)
        daemon.cli("network", "rm", net)


# -- commit's pause and the freezer after a daemon crash ----------------------------------

def test_commit_pause_of_created_or_exited_container(daemon: Daemon) -> None:
    created, exited = (f"i14cm-{uuid.uuid4().hex[:6]}" for _ in range(2))
    daemon.ok("create", "--name", created, "busybox", "true")
    daemon.ok("run", "--name", exited, "busybox", "true")
    dc = daemon.api()
    try:
        for name in (created, exited):
            r = daemon.docker("commit", "--pause=true", name, f"{name}:img")
            assert r.returncode == 0, r.stderr
            assert dc.api.commit(name, repository=name, tag="py", pause=True)["Id"].startswith("sha256:")
            assert daemon.inspect(name)["State"]["Paused"] is False
    finally:
        dc.close()
        daemon.cli("rm", "-f", created, exited)
        daemon.cli("rmi", "-f", f"{created}:img", f"{exited}:img", f"{created}:py", f"{exited}:py")


def test_freezer_state_recovered_after_daemon_kill() -> None:
    import signal

    from ..conftest import destroy_daemon, new_daemon

    d = new_daemon()
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        d.ok("run", "-d", "--name", "frozen", "busybox", "sleep", "300")
        cid = d.inspect("frozen")["Id"]
        # frozen behind the daemon's back, as a commit's freeze left it when the
        # daemon was killed before recording it
        runc = subprocess.run(["runc", "--root", str(d.exec_root / "runc"), "pause", cid],
                              capture_output=True, text=True)
        assert runc.returncode == 0, runc.stderr
        assert d.inspect("frozen")["State"]["Paused"] is False
        d.stop(signal.SIGKILL)
        d.start()
        state = d.inspect("frozen")["State"]
        assert state["Paused"] is True and state["Status"] == "paused", state
        r = d.docker("unpause", "frozen")
        assert r.returncode == 0, r.stderr
        assert d.ok("exec", "frozen", "echo", "alive") == "alive"
    finally:
        destroy_daemon(d, "test_freezer_state_recovered_after_daemon_kill")


# -- build --cache-from ------------------------------------------------------------------

def test_classic_build_cache_from(daemon: Daemon, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM busybox\nRUN echo {uuid.uuid4().hex} > /stamp\nCMD [\"cat\", \"/stamp\"]\n")
    src, again, plain = (f"i14cf-{uuid.uuid4().hex[:6]}" for _ in range(3))
    try:
        r = _classic(daemon, "build", "-t", src, str(ctx))
        assert r.returncode == 0, r.stderr
        stamp = daemon.ok("run", "--rm", src)
        assert daemon.docker("builder", "prune", "-af").returncode == 0  # only the image is left
        r = _classic(daemon, "build", "--cache-from", src, "-t", again, str(ctx))
        assert r.returncode == 0, r.stderr
        assert "Using cache" in r.stdout and "Running in" not in r.stdout, r.stdout
        assert daemon.ok("run", "--rm", again) == stamp
        assert daemon.inspect(again)["RootFS"] == daemon.inspect(src)["RootFS"]
        assert daemon.docker("builder", "prune", "-af").returncode == 0
        r = _classic(daemon, "build", "-t", plain, str(ctx))  # without it: the step runs
        assert r.returncode == 0 and "Running in" in r.stdout, r.stdout
    finally:
        daemon.cli("rmi", "-f", src, again, plain)
