"""The real docker CLI 28 (DOCKER_HOST=unix://…) against Baleine: the everyday
commands, their output and exit codes."""

from __future__ import annotations

import json
import os
import time

import pytest

from ..conftest import BUSYBOX_TAR, DOCKER, Daemon

pytestmark = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")


def test_version_and_info(daemon: Daemon) -> None:
    assert daemon.docker("version", "--format", "{{.Server.APIVersion}}").out == "1.47"
    info = json.loads(daemon.docker("info", "--format", "{{json .}}").out)
    assert info["Driver"] == "overlay2" and info["OSType"] == "linux"
    assert daemon.docker("system", "info").returncode == 0


def test_container_commands(daemon: Daemon, name: str) -> None:
    d = daemon.docker
    r = d("run", "-d", "--name", name, "-e", "X=1", "busybox", "sh", "-c", "echo hi; sleep 60")
    assert r.returncode == 0 and len(r.out) == 64
    try:
        assert d("ps", "--filter", f"name={name}", "--format", "{{.Names}}").out == name
        assert d("inspect", "-f", "{{.State.Running}}", name).out == "true"
        time.sleep(0.3)
        assert d("logs", name).out == "hi"
        assert d("exec", name, "sh", "-c", "echo $X").out == "1"
        assert d("exec", name, "sh", "-c", "exit 5").returncode == 5
        assert d("exec", "-u", "1000", name, "id", "-u").out == "1000"
        assert d("exec", "-w", "/tmp", name, "pwd").out == "/tmp"
        assert d("pause", name).returncode == 0
        assert d("inspect", "-f", "{{.State.Status}}", name).out == "paused"
        assert d("unpause", name).returncode == 0
        assert d("exec", "-i", name, "cat", input="piped\n").out == "piped"
        assert d("diff", name).returncode == 0
        assert d("stop", "-t", "1", name).out == name
        assert d("wait", name).out == "137"
        assert d("start", name).out == name
        assert d("restart", "-t", "0", name).out == name
        assert d("kill", name).out == name
        assert d("rename", name, name + "2").returncode == 0
    finally:
        d("rm", "-f", name, name + "2")
    r = d("rm", name)
    assert r.returncode == 1 and "No such container" in r.stderr


def test_run_foreground_and_errors(daemon: Daemon, name: str) -> None:
    d = daemon.docker
    r = d("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 3 and r.stdout == "out\n" and r.stderr == "err\n"
    r = d("run", "--rm", "-i", "busybox", "sh", "-c", "cat | wc -l", input="a\nb\nc\n")
    assert r.out == "3"
    r = d("run", "--rm", "busybox", "nonexistent-binary")
    assert r.returncode == 127 and "executable file not found" in r.stderr
    r = d("run", "--rm", "--name", "x y", "busybox", "true")
    assert r.returncode == 125
    r = d("run", "--name", name, "busybox", "true")
    assert r.returncode == 0
    r = d("run", "--name", name, "busybox", "true")
    assert r.returncode == 125 and "already in use" in r.stderr
    d("rm", name)


def test_image_commands(daemon: Daemon, tmp_path, name: str) -> None:
    d = daemon.docker
    out = d("load", "-i", str(BUSYBOX_TAR))
    assert "Loaded image: busybox:1.35" in out.out
    ref = f"cli-{name.lower()}:v1"
    assert d("tag", "busybox:1.35", ref).returncode == 0
    listing = d("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").out.splitlines()
    assert any(line.startswith(ref) for line in listing)
    assert d("image", "inspect", "-f", "{{.Os}}", ref).out == "linux"
    hist = d("history", ref).out.splitlines()
    assert hist[0].split()[:2] == ["IMAGE", "CREATED"] and len(hist) == 3
    saved = tmp_path / "x.tar"
    assert d("save", "-o", str(saved), ref).returncode == 0
    assert d("rmi", ref).out == f"Untagged: {ref}"
    assert f"Loaded image: {ref}" in d("load", "-i", str(saved)).out
    cname = name + "-c"
    d("run", "--name", cname, ref, "touch", "/made")
    new = f"cli-commit-{name.lower()}"
    r = d("commit", "-m", "msg", "-c", "ENV Z=9", cname, new)
    assert r.out.startswith("sha256:")
    assert d("run", "--rm", new, "sh", "-c", "ls /made && echo $Z").out.splitlines() == ["/made", "9"]
    d("rm", cname)
    assert d("rmi", new, ref).returncode == 0
    r = d("rmi", "never-heard-of-it")
    assert r.returncode == 1 and "No such image" in r.stderr


def test_events_stream(daemon: Daemon, name: str) -> None:
    since = str(int(time.time()) - 1)
    daemon.docker("run", "--rm", "--name", name, "busybox", "true")
    until = str(int(time.time()) + 1)
    out = daemon.docker("events", "--since", since, "--until", until, "--filter", f"container={name}",
                        "--format", "{{.Action}}").out.split()
    for action in ("create", "start", "die", "destroy"):
        assert action in out, out


def test_tty_exec_and_run(daemon: Daemon, name: str) -> None:
    from ..integration.test_walkthrough import run_in_pty

    code, out = run_in_pty([DOCKER, "run", "--rm", "-it", "busybox", "sh", "-c", "tty; exit 6"], daemon.env())
    assert code == 6 and b"/dev/pts/0" in out
    daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "60")
    try:
        code, out = run_in_pty([DOCKER, "exec", "-it", name, "sh"], daemon.env(),
                               send=b"stty size; exit 2\r")
        assert code == 2
    finally:
        daemon.docker("rm", "-f", name)
