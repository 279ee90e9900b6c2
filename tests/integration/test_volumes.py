"""Volumes and mounts: named and anonymous volumes, copy-up, -v, --mount, --tmpfs,
--volumes-from, local driver options, Mounts in inspect, bad input."""

from __future__ import annotations

import json
import os
import re
import tempfile

import pytest

from ..conftest import Daemon


@pytest.fixture
def made(daemon: Daemon):
    """Containers and volumes a test makes, removed even when it fails."""
    things: dict[str, list[str]] = {"containers": [], "volumes": []}
    yield things
    if things["containers"]:
        daemon.cli("rm", "-f", *things["containers"])
    if things["volumes"]:
        daemon.cli("volume", "rm", "-f", *things["volumes"])


def volume_names(daemon: Daemon) -> set[str]:
    return set(daemon.ok("volume", "ls", "-q").split())


def test_named_volume_outlives_its_containers(daemon: Daemon, name: str, made) -> None:
    vol = f"{name}-v"
    made["volumes"].append(vol)
    made["containers"].append(name)
    assert daemon.ok("volume", "create", "--label", "app=x", vol) == vol
    daemon.ok("run", "--name", name, "-v", f"{vol}:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    mounts = daemon.inspect(name)["Mounts"]
    info = json.loads(daemon.ok("volume", "inspect", vol))[0]
    assert mounts == [{"Type": "volume", "Name": vol, "Source": info["Mountpoint"], "Destination": "/data",
                       "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}]
    assert info["Labels"] == {"app": "x"} and info["Driver"] == "local" and info["Scope"] == "local"
    r = daemon.cli("volume", "rm", vol)
    assert r.returncode == 1 and f"remove {vol}: volume is in use - [{daemon.inspect(name)['Id']}]" in r.stderr
    daemon.ok("rm", "-v", name)  # -v never removes a named volume
    made["containers"].remove(name)
    assert daemon.ok("run", "--rm", "-v", f"{vol}:/data:ro", "busybox", "cat", "/data/f") == "kept"
    r = daemon.cli("run", "--rm", "-v", f"{vol}:/data:ro", "busybox", "touch", "/data/g")
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert daemon.ok("volume", "rm", vol) == vol
    made["volumes"].remove(vol)
    assert vol not in volume_names(daemon)


def test_anonymous_volumes_go_with_rm_v_and_auto_remove(daemon: Daemon, name: str, made) -> None:
    made["containers"].append(name)
    daemon.ok("run", "--name", name, "-v", "/data", "busybox", "touch", "/data/f")
    mount = daemon.inspect(name)["Mounts"][0]
    assert re.fullmatch(r"[0-9a-f]{64}", mount["Name"]) and mount["Destination"] == "/data"
    labels = json.loads(daemon.ok("volume", "inspect", mount["Name"]))[0]["Labels"]
    assert "com.docker.volume.anonymous" in labels
    daemon.ok("rm", name)  # without -v the volume stays
    made["containers"].remove(name)
    assert mount["Name"] in volume_names(daemon)
    made["volumes"].append(mount["Name"])
    out = daemon.ok("volume", "prune", "-f")
    assert mount["Name"] in out and "Total reclaimed space" in out
    made["volumes"].remove(mount["Name"])
    daemon.ok("run", "--name", name, "-v", "/data", "busybox", "true")
    made["containers"].append(name)
    anon = daemon.inspect(name)["Mounts"][0]["Name"]
    daemon.ok("rm", "-v", name)
    made["containers"].remove(name)
    assert anon not in volume_names(daemon)
    before = volume_names(daemon)
    daemon.ok("run", "--rm", "-v", "/data", "busybox", "true")
    assert volume_names(daemon) == before


def test_copy_up_from_the_image(daemon: Daemon, name: str, made) -> None:
    vol = f"{name}-etc"
    made["volumes"] += [vol, f"{name}-empty"]
    out = daemon.ok("run", "--rm", "-v", f"{vol}:/etc", "busybox", "sh", "-c", "grep -c root /etc/passwd")
    assert int(out) >= 1
    path = json.loads(daemon.ok("volume", "inspect", vol))[0]["Mountpoint"]
    assert os.path.exists(os.path.join(path, "passwd"))
    # volume-nocopy: nothing copied.
    out = daemon.ok("run", "--rm", "--mount", f"type=volume,source={name}-empty,target=/etc,volume-nocopy",
                    "busybox", "ls", "-A", "/etc")
    assert "passwd" not in out.split()
    # Not empty any more: the next container sees the volume, not the image.
    daemon.ok("run", "--rm", "-v", f"{vol}:/etc", "busybox", "sh", "-c", "echo mine > /etc/motd")
    assert daemon.ok("run", "--rm", "-v", f"{vol}:/etc", "busybox", "cat", "/etc/motd") == "mine"


def test_mount_flag_tmpfs_and_binds(daemon: Daemon, name: str, made) -> None:
    host = tempfile.mkdtemp(prefix="bvol-", dir=str(daemon.root))
    with open(os.path.join(host, "h"), "w") as f:
        f.write("from host")
    out = daemon.ok("run", "--rm", "--mount", f"type=bind,source={host},target=/h,readonly",
                    "--mount", "type=tmpfs,target=/t,tmpfs-size=1m", "--tmpfs", "/t2:size=2m",
                    "busybox", "sh", "-c", "cat /h/h; echo; touch /h/x 2>/dev/null || echo ro; df -k /t /t2 | tail -2")
    lines = out.splitlines()
    assert lines[0] == "from host" and lines[1] == "ro"
    assert lines[2].split()[1] == "1024" and lines[3].split()[1] == "2048"
    # -v creates a missing host directory; --mount refuses it, as docker does.
    missing = os.path.join(host, "new", "dir")
    daemon.ok("run", "--rm", "-v", f"{missing}:/m", "busybox", "touch", "/m/f")
    assert os.path.exists(os.path.join(missing, "f"))
    r = daemon.cli("run", "--rm", "--mount", f"type=bind,source={host}/nope,target=/x", "busybox", "true")
    assert r.returncode == 125
    assert f'invalid mount config for type "bind": bind source path does not exist: {host}/nope' in r.stderr
    r = daemon.cli("run", "--rm", "-v", "/a:/x", "-v", "/b:/x", "busybox", "true")
    assert r.returncode == 125 and "Duplicate mount point: /x" in r.stderr
    r = daemon.cli("run", "--rm", "-v", "/a:/x:bogus", "busybox", "true")
    assert r.returncode == 125 and "invalid mode: bogus" in r.stderr
    r = daemon.cli("run", "--rm", "-v", "bad/name:/x", "busybox", "true")
    assert r.returncode == 125 and "includes invalid characters for a local volume name" in r.stderr


def test_volumes_from(daemon: Daemon, name: str, made) -> None:
    vol = f"{name}-v"
    made["volumes"].append(vol)
    made["containers"] += [name, name + "-b"]
    host = tempfile.mkdtemp(prefix="bvf-", dir=str(daemon.root))
    daemon.ok("create", "--name", name, "-v", f"{vol}:/data", "-v", f"{host}:/host", "busybox", "true")
    daemon.ok("run", "--rm", "--volumes-from", name, "busybox", "sh", "-c", "echo a > /data/a; echo b > /host/b")
    out = daemon.ok("run", "--name", name + "-b", "--volumes-from", f"{name}:ro", "busybox", "sh", "-c",
                    "cat /data/a /host/b; touch /data/c 2>/dev/null || echo ro")
    assert out.split() == ["a", "b", "ro"]
    dests = {m["Destination"]: m["RW"] for m in daemon.inspect(name + "-b")["Mounts"]}
    assert dests == {"/data": False, "/host": False}
    r = daemon.cli("run", "--rm", "--volumes-from", "nosuchcontainer", "busybox", "true")
    assert r.returncode == 125 and "No such container: nosuchcontainer" in r.stderr


def test_local_driver_options(daemon: Daemon, name: str, made) -> None:
    tmpfs_vol, bind_vol = f"{name}-tmpfs", f"{name}-bind"
    made["volumes"] += [tmpfs_vol, bind_vol]
    daemon.ok("volume", "create", "-o", "type=tmpfs", "-o", "o=size=3m", tmpfs_vol)
    out = daemon.ok("run", "--rm", "-v", f"{tmpfs_vol}:/v", "busybox", "sh", "-c", "df -k /v | tail -1")
    assert out.split()[1] == "3072"
    path = json.loads(daemon.ok("volume", "inspect", tmpfs_vol))[0]["Mountpoint"]
    with open("/proc/self/mountinfo") as f:
        assert path not in f.read(), "unmounted when its last user stopped"
    device = tempfile.mkdtemp(prefix="bdev-", dir=str(daemon.root))
    daemon.ok("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={device}", bind_vol)
    daemon.ok("run", "--rm", "-v", f"{bind_vol}:/v", "busybox", "sh", "-c", "echo there > /v/f")
    with open(os.path.join(device, "f")) as f:
        assert f.read().strip() == "there"
    daemon.ok("volume", "rm", bind_vol)
    made["volumes"].remove(bind_vol)
    assert os.path.exists(os.path.join(device, "f")), "removing the volume must not touch the device"
    r = daemon.cli("volume", "create", "-o", "bogus=1", f"{name}-bad")
    assert r.returncode == 1 and 'invalid option: "bogus"' in r.stderr
    r = daemon.cli("volume", "create", "-d", "nfs-plugin", f"{name}-bad")
    assert r.returncode == 1 and 'plugin "nfs-plugin" not found' in r.stderr


def test_volume_listing(daemon: Daemon, name: str, made) -> None:
    used, unused = f"{name}-used", f"{name}-unused"
    made["volumes"] += [used, unused]
    made["containers"].append(name)
    daemon.ok("volume", "create", "--label", "k=v", unused)
    daemon.ok("create", "--name", name, "-v", f"{used}:/u", "busybox", "true")
    dangling = daemon.ok("volume", "ls", "-q", "--filter", "dangling=true").split()
    assert unused in dangling and used not in dangling
    assert daemon.ok("volume", "ls", "-q", "--filter", "label=k=v").split() == [unused]
    assert daemon.ok("volume", "ls", "--filter", f"name={unused}", "--format", "{{.Name}} {{.Driver}}") == \
        f"{unused} local"
    # prune without --all keeps named volumes; with it, the unused named one goes.
    assert unused not in daemon.ok("volume", "prune", "-f")
    out = daemon.ok("volume", "prune", "-f", "-a", "--filter", "label=k=v")
    assert unused in out and used not in out
    made["volumes"].remove(unused)
    r = daemon.cli("volume", "inspect", unused)
    assert r.returncode == 1 and f"No such volume: {unused}" in r.stderr


def test_diff_ignores_volume_content(daemon: Daemon, name: str, made) -> None:
    vol = f"{name}-v"
    made["volumes"].append(vol)
    made["containers"].append(name)
    daemon.ok("run", "--name", name, "-v", f"{vol}:/data", "busybox", "sh", "-c", "touch /data/in-volume /outside")
    diff = daemon.ok("diff", name).splitlines()
    assert "A /outside" in diff
    assert not any("in-volume" in line for line in diff)
