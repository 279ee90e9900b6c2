"""top, stats, cp, export, update, port, container prune and system df: through
`baleine`, the docker CLI and docker-py, on the session daemon."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from ..conftest import BUSYBOX_TAR, DOCKER, Daemon, baleine_cmd
from .test_walkthrough import run_in_pty

needs_docker = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")


@pytest.fixture
def running(daemon: Daemon, name: str):
    """A running busybox container named after the test; removed afterwards."""
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "1000")
    try:
        yield name
    finally:
        daemon.cli("rm", "-f", name)


def _cgroup_file(daemon: Daemon, cid: str, v1: str, v2: str) -> str:
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return Path(f"/sys/fs/cgroup/{daemon.cgroup_parent}/{cid}/{v2}").read_text().strip()
    controller, _, name = v1.partition("/")
    return Path(f"/sys/fs/cgroup/{controller}/{daemon.cgroup_parent}/{cid}/{name}").read_text().strip()


# -- top -----------------------------------------------------------------------------


def test_top(daemon: Daemon, running: str) -> None:
    out = daemon.ok("top", running)
    lines = out.splitlines()
    out_ef_header = lines[0]
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert lines[0].startswith("UID" + " " * 17)  # docker's tabwriter: 20 columns minimum
    assert len(lines) == 2 and lines[1].split()[0] == "root" and lines[1].endswith("sleep 1000")
    out = daemon.ok("top", running, "-o", "pid,comm")
    assert out.splitlines()[0].split() == ["PID", "COMMAND"] and out.splitlines()[1].split()[1] == "sleep"
    r = daemon.cli("top", running, "-o", "user=PID")
    assert r.returncode == 1 and 'specifying "user=PID" is not allowed' in r.stderr
    r = daemon.cli("top")
    assert r.returncode == 1 and "'baleine top' requires at least 1 argument" in r.stderr
    if os.path.exists(DOCKER):
        theirs, ours = daemon.docker("top", running).out, daemon.ok("top", running, "-o", "pid,user,args")
        assert theirs.splitlines()[0] == out_ef_header and theirs.splitlines()[1].split()[1] == lines[1].split()[1]
        assert daemon.docker("top", running, "-o", "pid,user,args").out == ours
        assert daemon.api().containers.get(running).top()["Processes"][0][-1] == "sleep 1000"
    daemon.ok("stop", "-t", "0", running)
    r = daemon.cli("top", running)
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: Container ") \
        and r.stderr.strip().endswith("is not running")


# -- stats -----------------------------------------------------------------------------


def test_stats(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "--memory", "64m", "busybox", "sleep", "1000")
    try:
        out = daemon.ok("stats", "--no-stream", name).splitlines()
        assert re.split(r" {2,}", out[0]) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                       "NET I/O", "BLOCK I/O", "PIDS"]
        cid = daemon.inspect(name)["Id"]
        row = out[1]
        assert row.startswith(cid[:12] + "   " + name) and "/ 64MiB" in row and row.split()[-1] == "1"
        row = json.loads(daemon.ok("stats", "--no-stream", "--no-trunc", "--format", "json", name))
        assert row["ID"] == cid and row["Name"] == name and row["Container"] == name and row["PIDs"] == "1"
        assert row["MemUsage"].endswith(" / 64MiB") and row["CPUPerc"].endswith("%")
        r = daemon.cli("stats", "--no-stream", "nonexist-" + name)
        assert r.returncode == 1 and "No such container: nonexist-" in r.stderr
        # Streaming redraws in place, as docker does: cursor home, erase to end of line, erase below.
        proc = subprocess.Popen(baleine_cmd() + ["stats", name], env=daemon.env(), stdout=subprocess.PIPE)
        time.sleep(3)
        proc.kill()
        streamed = proc.communicate()[0].decode()
        assert streamed.startswith("\033[H") and " \033[K\n" in streamed and "\033[J" in streamed
        assert streamed.count("CONTAINER ID") >= 2

        # docker-py: stream=False gives two samples a second apart (precpu filled in).
        client = daemon.api()
        s = client.containers.get(name).stats(stream=False)
        assert s["id"] == cid and s["name"] == "/" + name
        assert s["precpu_stats"]["cpu_usage"]["total_usage"] > 0 and s["preread"] != "0001-01-01T00:00:00Z"
        assert s["cpu_stats"]["online_cpus"] >= 1 and s["cpu_stats"]["system_cpu_usage"] > 0
        assert s["memory_stats"]["limit"] == 64 * 1024 * 1024 and s["memory_stats"]["usage"] > 0
        assert s["pids_stats"]["current"] == 1 and "io_service_bytes_recursive" in s["blkio_stats"]
        one = client.api.stats(cid, stream=False, one_shot=True)
        assert one["preread"] == "0001-01-01T00:00:00Z" and one["precpu_stats"]["cpu_usage"]["total_usage"] == 0
        frames = client.api.stats(cid, stream=True, decode=True)
        first, second = next(frames), next(frames)
        frames.close()
        assert second["preread"] == first["read"]
        if os.path.exists(DOCKER):
            fmt = "{{.ID}} {{.Name}} {{.PIDs}} {{.MemUsage}}"
            docker_row = daemon.docker("stats", "--no-stream", "--format", fmt, name).out.split()
            assert docker_row[:3] == [cid[:12], name, "1"] and docker_row[-1] == "64MiB"
        daemon.ok("stop", "-t", "0", name)
        out = daemon.ok("stats", "--no-stream", name).splitlines()[1]
        assert "0.00%" in out and "0B / 0B" in out
    finally:
        daemon.cli("rm", "-f", name)


# -- cp ----------------------------------------------------------------------------------


def test_cp_from_container(daemon: Daemon, running: str, tmp_path: Path, monkeypatch) -> None:
    daemon.ok("exec", running, "sh", "-c", "mkdir -p /data/sub && echo one > /data/one && echo two > /data/sub/two"
              " && ln -s /data/one /data/link")
    monkeypatch.chdir(tmp_path)
    daemon.ok("cp", f"{running}:/data/one", ".")
    assert (tmp_path / "one").read_text() == "one\n"
    daemon.ok("cp", f"{running}:/data/one", "renamed")
    assert (tmp_path / "renamed").read_text() == "one\n"
    daemon.ok("cp", f"{running}:/data", "copy")
    assert (tmp_path / "copy" / "sub" / "two").read_text() == "two\n"
    daemon.ok("cp", f"{running}:/data", "copy")  # an existing directory: copied into it
    assert (tmp_path / "copy" / "data" / "one").exists()
    (tmp_path / "contents").mkdir()
    daemon.ok("cp", f"{running}:/data/.", "contents")
    assert sorted(os.listdir(tmp_path / "contents")) == ["link", "one", "sub"]
    daemon.ok("cp", f"{running}:/data/link", "asis")
    assert os.readlink(tmp_path / "asis") == "/data/one"
    daemon.ok("cp", "-L", f"{running}:/data/link", "followed")
    assert (tmp_path / "followed").read_text() == "one\n"
    daemon.ok("cp", f"{running}:/etc/hostname", "hostname")  # what the container sees (bind mount)
    assert (tmp_path / "hostname").read_text().strip() == daemon.inspect(running)["Config"]["Hostname"]
    raw = subprocess.run(baleine_cmd() + ["cp", f"{running}:/data/sub", "-"], env=daemon.env(),
                         capture_output=True, check=True).stdout
    assert tarfile.open(fileobj=io.BytesIO(raw)).getnames() == ["sub", "sub/two"]

    # On a terminal, a summary line (docker 28 prints only that one), sized by the tar stream.
    code, text = run_in_pty(baleine_cmd() + ["cp", f"{running}:/data/one", str(tmp_path / "tty")], daemon.env())
    assert code == 0 and text.decode().strip() == f"Successfully copied 2.05kB to {tmp_path}/tty"

    r = daemon.cli("cp", f"{running}:/nope", ".")
    assert r.returncode == 1 and r.stderr.strip() == \
        f"Error response from daemon: Could not find the file /nope in container {running}"
    r = daemon.cli("cp", f"{running}:/data/one", "missing/dir/x")
    assert r.returncode == 1 and r.stderr.strip() == \
        f'invalid output path: directory "{tmp_path}/missing/dir" does not exist'
    r = daemon.cli("cp", f"{running}:/data", "one")
    assert r.returncode == 1 and r.stderr.strip() == "cannot copy directory"
    r = daemon.cli("cp", "a", "b")
    assert r.returncode == 1 and r.stderr.strip() == "must specify at least one container source"
    r = daemon.cli("cp", f"{running}:/a", f"{running}:/b")
    assert r.returncode == 1 and r.stderr.strip() == "copying between containers is not supported"
    r = daemon.cli("cp", "x")
    assert r.returncode == 1 and "'baleine cp' requires 2 arguments" in r.stderr


def test_cp_to_container(daemon: Daemon, running: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.txt").write_text("hello\n")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "x").write_text("x\n")
    daemon.ok("cp", "f.txt", f"{running}:/tmp/")
    daemon.ok("cp", "f.txt", f"{running}:/tmp/g.txt")
    daemon.ok("cp", "d", f"{running}:/tmp/newd")
    daemon.ok("cp", "d/.", f"{running}:/tmp/contents")
    daemon.ok("cp", "d", f"{running}:/tmp/newd")  # existing directory: d goes inside it
    listing = daemon.ok("exec", running, "find", "/tmp", "-type", "f").split()
    assert sorted(listing) == ["/tmp/contents/sub/x", "/tmp/f.txt", "/tmp/g.txt", "/tmp/newd/d/sub/x",
                               "/tmp/newd/sub/x"]
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        t.add(tmp_path / "f.txt", arcname="from-stdin.txt")
    daemon.ok("cp", "-", f"{running}:/tmp", input=tar.getvalue())
    assert daemon.ok("exec", running, "cat", "/tmp/from-stdin.txt") == "hello"

    r = daemon.cli("cp", "f.txt", f"{running}:/nope/dir/")
    assert r.returncode == 1 and r.stderr.strip() == "no such directory"
    r = daemon.cli("cp", "f.txt", f"{running}:/nope/file")
    assert r.returncode == 1 and "Could not find the file /nope in container" in r.stderr
    r = daemon.cli("cp", "d", f"{running}:/tmp/f.txt")
    assert r.returncode == 1 and r.stderr.strip() == "cannot copy directory"
    r = daemon.cli("cp", "-", f"{running}:/tmp/new", input=tar.getvalue())
    assert r.returncode == 1 and f'destination "{running}:/tmp/new" must be a directory' in r.stderr
    r = daemon.cli("cp", "missing.txt", f"{running}:/tmp")
    assert r.returncode == 1 and r.stderr.strip() == f"lstat {tmp_path}/missing.txt: no such file or directory"

    # Symlinks in the container are resolved inside it, never on the host.
    marker = f"baleine-cp-{running}"
    daemon.ok("exec", running, "sh", "-c", "ln -s / /tmp/root && ln -s ../../../../../etc /tmp/up")
    (tmp_path / marker).write_text("inside\n")
    daemon.ok("cp", marker, f"{running}:/tmp/root/etc/")
    daemon.ok("cp", marker, f"{running}:/tmp/up/")
    assert not os.path.exists(f"/etc/{marker}")
    assert daemon.ok("exec", running, "cat", f"/etc/{marker}") == "inside"


def test_cp_stopped_container(daemon: Daemon, name: str, tmp_path: Path, monkeypatch) -> None:
    volume = f"{name}-vol"
    daemon.ok("run", "--name", name, "-v", f"{volume}:/vol", "-v", f"{tmp_path}:/host:ro", "busybox", "sh", "-c",
              "echo kept > /kept && echo in-volume > /vol/v")
    try:
        merged = daemon.inspect(name)["GraphDriver"]["Data"]["MergedDir"]
        monkeypatch.chdir(tmp_path)
        daemon.ok("cp", f"{name}:/kept", ".")
        assert (tmp_path / "kept").read_text() == "kept\n"
        daemon.ok("cp", f"{name}:/etc/hostname", ".")
        assert (tmp_path / "hostname").read_text().strip() == daemon.inspect(name)["Config"]["Hostname"]
        (tmp_path / "in.txt").write_text("in\n")
        daemon.ok("cp", "in.txt", f"{name}:/")
        # Volumes and binds are mounted in for the copy, as dockerd does.
        daemon.ok("cp", f"{name}:/vol/v", ".")
        assert (tmp_path / "v").read_text() == "in-volume\n"
        daemon.ok("cp", "in.txt", f"{name}:/vol/")
        r = daemon.cli("cp", "in.txt", f"{name}:/host/")
        assert r.returncode == 1 and r.stderr.strip() == "Error response from daemon: mounted volume is marked read-only"
        with open("/proc/self/mountinfo") as f:
            assert not any(line.split()[4].startswith(merged) for line in f), "overlay left mounted"
        daemon.ok("start", name)  # the overlay mounts again for the run
        assert daemon.ok("wait", name) == "0"
        assert {"A /kept", "A /in.txt"} <= set(daemon.ok("diff", name).splitlines())
        assert daemon.ok("run", "--rm", "-v", f"{volume}:/vol", "busybox", "cat", "/vol/in.txt") == "in"
    finally:
        daemon.cli("rm", "-f", name)
        daemon.cli("volume", "rm", volume)


@needs_docker
def test_cp_with_docker_clients(daemon: Daemon, running: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a\n")
    r = daemon.docker("cp", "src", f"{running}:/srv")
    assert r.returncode == 0, r.stderr
    r = daemon.docker("cp", f"{running}:/srv/.", "back")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back" / "a.txt").read_text() == "a\n"
    r = daemon.docker("cp", f"{running}:/nope", ".")
    assert r.returncode == 1 and f"Could not find the file /nope in container {running}" in r.stderr

    container = daemon.api().containers.get(running)
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as t:
        info = tarfile.TarInfo("py/hello.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"hi\n"))
    assert container.put_archive("/tmp", payload.getvalue())
    chunks, stat = container.get_archive("/tmp/py/hello.txt")
    assert stat["name"] == "hello.txt" and stat["size"] == 3 and stat["linkTarget"] == ""
    member = tarfile.open(fileobj=io.BytesIO(b"".join(chunks)))
    assert member.extractfile("hello.txt").read() == b"hi\n"
    _, dstat = container.get_archive("/tmp/py")
    assert dstat["mode"] & (1 << 31)  # Go's os.ModeDir
    import docker

    with pytest.raises(docker.errors.NotFound):
        container.get_archive("/nope")
    with pytest.raises(docker.errors.APIError, match="not a directory"):
        container.put_archive("/tmp/py/hello.txt", payload.getvalue())


# -- export -------------------------------------------------------------------------------


def test_export(daemon: Daemon, name: str, tmp_path: Path) -> None:
    daemon.ok("create", "--name", name, "busybox", "true")
    try:
        out = tmp_path / "fs.tar"
        daemon.ok("export", "-o", str(out), name)
        names = tarfile.open(out).getnames()
        assert "bin/sh" in names and ".dockerenv" in names and "etc/hostname" in names
        raw = subprocess.run(baleine_cmd() + ["export", name], env=daemon.env(), capture_output=True,
                             check=True).stdout
        assert tarfile.open(fileobj=io.BytesIO(raw)).getnames() == names
        r = daemon.cli("export", "-o", "/nonexistent-dir/x.tar", name)
        assert r.returncode == 1 and r.stderr.strip() == \
            "failed to export container: invalid output path: stat /nonexistent-dir: no such file or directory"
        r = daemon.cli("export", "-o", "/dev/null", name)
        assert r.returncode == 1 and r.stderr.strip() == \
            "failed to export container: cannot write to a character device file"
        assert oct(out.stat().st_mode & 0o777) == "0o600"  # as docker's atomic writer leaves it
        code, text = run_in_pty(baleine_cmd() + ["export", name], daemon.env())
        assert code == 1 and b"cowardly refusing to save to a terminal. Use the -o flag or redirect" in text
        if os.path.exists(DOCKER):
            r = subprocess.run([DOCKER, "export", name], env=daemon.env(), capture_output=True, check=True)
            assert tarfile.open(fileobj=io.BytesIO(r.stdout)).getnames() == names
    finally:
        daemon.cli("rm", "-f", name)


# -- update -------------------------------------------------------------------------------


def test_update(daemon: Daemon, running: str) -> None:
    cid = daemon.inspect(running)["Id"]
    assert daemon.ok("update", "--memory", "96m", "--memory-swap", "192m", "--cpus", "0.5", "--pids-limit", "40",
                     "--cpu-shares", "512", "--restart", "on-failure:2", running) == running
    hc = daemon.inspect(running)["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"], hc["CpuShares"]) == \
        (96 << 20, 192 << 20, 500_000_000, 40, 512)
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert _cgroup_file(daemon, cid, "memory/memory.limit_in_bytes", "memory.max") == str(96 << 20)
    assert _cgroup_file(daemon, cid, "pids/pids.max", "pids.max") == "40"
    assert _cgroup_file(daemon, cid, "cpu/cpu.cfs_quota_us", "cpu.max").split()[0] == "50000"

    r = daemon.cli("update", running)
    assert r.returncode == 1 and r.stderr.strip() == "you must provide one or more flags when using this command"
    r = daemon.cli("update", "--memory", "abc", running)
    assert r.returncode == 125 and 'invalid argument "abc" for "-m, --memory" flag: invalid size: \'abc\'' in r.stderr
    r = daemon.cli("update", "--memory", "1g", running)  # above the memory+swap limit in force
    assert r.returncode == 1 and r.stderr.strip() == (
        f"Error response from daemon: Cannot update container {cid}: Memory limit should be smaller than "
        "already set memoryswap limit, update the memoryswap at the same time")
    r = daemon.cli("update", "--cpu-period", "100000", running, "nonexist-" + running)
    assert r.returncode == 1
    assert "CPU Period cannot be updated as NanoCPUs has already been set" in r.stderr
    assert "No such container: nonexist-" in r.stderr

    if os.path.exists(DOCKER):
        r = daemon.docker("update", "--memory", "128m", "--memory-swap", "256m", running)
        assert r.returncode == 0 and r.out == running, r.stderr
        assert _cgroup_file(daemon, cid, "memory/memory.limit_in_bytes", "memory.max") == str(128 << 20)
        result = daemon.api().containers.get(running).update(cpu_shares=256)
        assert result["Warnings"] in ([], None)
        assert daemon.inspect(running)["HostConfig"]["CpuShares"] == 256

    daemon.ok("stop", "-t", "0", running)
    daemon.ok("update", "--memory", "160m", "--memory-swap", "320m", running)  # applied at the next start
    daemon.ok("start", running)
    assert _cgroup_file(daemon, cid, "memory/memory.limit_in_bytes", "memory.max") == str(160 << 20)


# -- port ---------------------------------------------------------------------------------


def test_port(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "-p", "127.0.0.1::80", "busybox", "sleep", "1000")
    try:
        host_port = daemon.inspect(name)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        assert daemon.ok("port", name) == f"80/tcp -> 127.0.0.1:{host_port}"
        assert daemon.ok("port", name, "80/tcp") == f"127.0.0.1:{host_port}"
        r = daemon.cli("port", name, "81/tcp")
        assert r.returncode == 1 and r.stderr.strip() == f"Error: No public port '81/tcp' published for {name}"
        if os.path.exists(DOCKER):
            assert daemon.docker("port", name).out == daemon.ok("port", name)
    finally:
        daemon.cli("rm", "-f", name)


# -- prune and disk usage ------------------------------------------------------------------


def test_container_prune(daemon: Daemon, name: str) -> None:
    label = f"prune-test={name}"
    daemon.ok("run", "--name", f"{name}-a", "-l", label, "busybox", "sh", "-c", "echo data > /file")
    daemon.ok("create", "--name", f"{name}-b", "-l", label, "-l", "keep=1", "busybox", "true")
    daemon.ok("run", "-d", "--name", f"{name}-c", "-l", label, "busybox", "sleep", "1000")
    try:
        ida, idb = daemon.inspect(f"{name}-a")["Id"], daemon.inspect(f"{name}-b")["Id"]
        out = daemon.ok("container", "prune", "-f", "--filter", f"label={label}", "--filter", "label!=keep")
        assert out.splitlines() == ["Deleted Containers:", ida, "", "Total reclaimed space: 5B"]
        out = daemon.ok("container", "prune", "-f", "--filter", f"label={label}", "--filter", "until=1h")
        assert out == "Total reclaimed space: 0B"  # b is younger than an hour
        if os.path.exists(DOCKER):
            r = daemon.docker("container", "prune", "-f", "--filter", f"label={label}")
            assert r.returncode == 0 and r.out.splitlines()[:2] == ["Deleted Containers:", idb], r.stderr
        else:
            daemon.ok("container", "prune", "-f", "--filter", f"label={label}")
        assert daemon.inspect(f"{name}-c")["State"]["Running"]  # running containers stay
        r = daemon.cli("inspect", f"{name}-b")
        assert r.returncode == 1
        result = daemon.api().containers.prune(filters={"label": label})
        assert result == {"ContainersDeleted": None, "SpaceReclaimed": 0}
    finally:
        daemon.cli("rm", "-f", f"{name}-a", f"{name}-b", f"{name}-c")


def test_system_df(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "--name", name, "busybox", "sh", "-c", "head -c 3000 /dev/zero > /blob")
    try:
        out = daemon.ok("system", "df").splitlines()
        assert out[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
        assert [line.split()[0] for line in out[1:]] == ["Images", "Containers", "Local", "Build"]
        rows = [json.loads(line) for line in daemon.ok("system", "df", "--format", "json").splitlines()]
        assert [r["Type"] for r in rows] == ["Images", "Containers", "Local Volumes", "Build Cache"]
        verbose = daemon.ok("system", "df", "-v")
        assert verbose.startswith("Images space usage:\n\nREPOSITORY") and "Build cache usage: " in verbose
        line = next(x for x in verbose.splitlines() if x.split() and x.split()[-1] == name)
        assert "3kB" in line.split()
        data = daemon.api().df()
        assert data["LayersSize"] > 0 and isinstance(data["BuildCache"], list) and isinstance(data["Volumes"], list)
        mine = next(c for c in data["Containers"] if c["Names"] == ["/" + name])
        assert mine["SizeRw"] == 3000 and mine["SizeRootFs"] > 3000
        image_id = daemon.inspect(name)["Image"]
        busybox = next(i for i in data["Images"] if i["Id"] == image_id)
        assert busybox["Containers"] >= 1 and busybox["SharedSize"] >= 0
        if os.path.exists(DOCKER):
            assert daemon.docker("system", "df").out == daemon.ok("system", "df")
            # Relative times ("3 seconds ago") may tick between the two runs: a few tries.
            # Lines are compared as sets: build cache entries used at the same moment
            # come in any order from Go's (unstable) sort.
            def verbose_lines(r: str) -> list[str]:
                return sorted(r.splitlines())

            for _ in range(3):
                if verbose_lines(daemon.docker("system", "df", "-v").out) == verbose_lines(
                        daemon.ok("system", "df", "-v")):
                    break
            else:
                assert verbose_lines(daemon.docker("system", "df", "-v").out) == verbose_lines(
                    daemon.ok("system", "df", "-v"))
    finally:
        daemon.cli("rm", "-f", name)


def test_system_prune(fresh_daemon: Daemon, tmp_path) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("run", "--name", "stopped", "busybox", "true")
    d.ok("network", "create", "unused-net")
    d.ok("run", "-v", "/anon", "--name", "anon", "busybox", "true")
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo built > /x\n")
    d.ok("build", "-q", str(tmp_path))  # a dangling image and build cache
    d.ok("run", "-d", "--name", "alive", "busybox", "sleep", "60")
    out = d.ok("system", "prune", "-f", "--volumes")
    assert "Deleted Containers:" in out and "Deleted Networks:\nunused-net" in out
    assert "Deleted Volumes:" in out and "Deleted build cache objects:" in out
    assert "Total reclaimed space:" in out.splitlines()[-1]
    assert d.ok("ps", "-aq", "--no-trunc") == d.inspect("alive")["Id"]
    assert "unused-net" not in d.ok("network", "ls")
    assert d.ok("volume", "ls", "-q") == ""
    assert d.ok("images", "-q", "--filter", "dangling=true") == ""
    if os.path.exists(DOCKER):  # the docker CLI's system prune drives the same endpoints
        d.ok("network", "create", "unused-2")
        r = d.docker("system", "prune", "-f")
        assert r.returncode == 0 and "unused-2" in r.out, r.stderr
    d.ok("rm", "-f", "alive")
