"""Containers through the `baleine` CLI: run options, ps, logs, attach, resize,
isolation and limits."""

from __future__ import annotations

import json
import os
import subprocess
import time

from ..conftest import Daemon, baleine_cmd
from .test_walkthrough import run_in_pty


def test_run_options(daemon: Daemon, name: str, tmp_path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=yes\nEMPTY=\n")
    out = daemon.ok("run", "--rm", "--name", name, "-e", "A=1", "--env-file", str(env_file), "-w", "/tmp",
                    "-u", "1000:1000", "--hostname", "myhost", "-l", "k=v", "busybox", "sh", "-c",
                    "echo $A $FROM_FILE; pwd; id -u; id -g; hostname")
    assert out.splitlines() == ["1 yes", "/tmp", "1000", "1000", "myhost"]
    out = daemon.ok("run", "--rm", "--entrypoint", "echo", "busybox", "from", "entrypoint")
    assert out == "from entrypoint"
    out = daemon.ok("run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /x 2>&1; echo $?")
    assert out.endswith("1") and "Read-only file system" in out
    out = daemon.ok("run", "--rm", "--cap-drop", "ALL", "busybox", "sh", "-c", "chown 1 /tmp 2>&1; echo $?")
    assert out.endswith("1")
    out = daemon.ok("run", "--rm", "--init", "busybox", "ps", "-o", "pid,comm")
    assert "docker-init" in out.splitlines()[1] or "tini" in out.splitlines()[1]
    out = daemon.ok("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
    assert [line.split(":")[1].strip() for line in out.splitlines()] == ["lo"]


def test_resource_limits(daemon: Daemon, name: str) -> None:
    out = daemon.ok("run", "--rm", "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5", "busybox", "sh", "-c",
                    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
                    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || "
                    "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max")
    lines = out.split()
    assert str(64 * 1024 * 1024) in lines and "50" in lines and "50000" in lines
    info = daemon.ok("run", "-d", "--name", name, "--memory", "64m", "busybox", "sleep", "30")
    try:
        hc = daemon.inspect(name)["HostConfig"]
        assert hc["Memory"] == 64 * 1024 * 1024
    finally:
        daemon.cli("rm", "-f", name)
    del info


def test_isolation(daemon: Daemon) -> None:
    out = daemon.ok("run", "--rm", "busybox", "sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'")
    pid, count = out.split()
    assert pid == "1" and int(count) <= 3
    caps = daemon.ok("run", "--rm", "busybox", "grep", "CapEff", "/proc/self/status").split()[1]
    assert caps == "00000000a80425fb"  # docker's default capability set
    for path in ("/proc/keys", "/proc/timer_list", "/proc/sched_debug"):
        if os.path.exists(path):  # masked: reads as /dev/null inside
            assert daemon.ok("run", "--rm", "busybox", "sh", "-c", f"cat {path} | wc -c") == "0"
    r = daemon.cli("run", "--rm", "busybox", "sh", "-c", "echo x > /proc/sys/kernel/domainname")
    assert r.returncode != 0  # /proc/sys is read-only
    seccomp = daemon.ok("run", "--rm", "busybox", "grep", "Seccomp:", "/proc/self/status").split()[1]
    assert seccomp == "2"
    assert daemon.ok("run", "--rm", "--privileged", "busybox", "grep", "Seccomp:", "/proc/self/status").split()[1] == "0"


def test_ps_formats_and_filters(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "-l", "role=web", "busybox", "sleep", "60")
    exited = name + "-x"
    daemon.cli("run", "--name", exited, "-l", "role=batch", "busybox", "sh", "-c", "exit 3")
    try:
        header = daemon.ok("ps").splitlines()[0]
        assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        running = daemon.ok("ps", "--format", "{{.Names}}").split()
        assert name in running and exited not in running
        everything = daemon.ok("ps", "-a", "--format", "{{.Names}}").split()
        assert exited in everything
        assert daemon.ok("ps", "-a", "--filter", "label=role=batch", "--format", "{{.Names}}") == exited
        assert daemon.ok("ps", "-a", "--filter", "exited=3", "--format", "{{.Names}} {{.Status}}").startswith(
            f"{exited} Exited (3)")
        assert daemon.ok("ps", "-a", "--filter", "status=running", "--filter", f"name={name}", "-q") == \
            daemon.inspect(name)["Id"][:12]
        full = daemon.ok("ps", "-q", "--no-trunc", "--filter", f"name={name}")
        assert full == daemon.inspect(name)["Id"]
        row = json.loads(daemon.ok("ps", "--filter", f"name={name}", "--format", "{{json .}}"))
        assert row["Names"] == name and row["State"] == "running" and row["Labels"] == "role=web"
        assert daemon.ok("ps", "--filter", f"name={name}", "--format", '{{.Label "role"}}') == "web"
        table = daemon.ok("ps", "--filter", f"name={name}", "--format", "table {{.Names}}\t{{.Image}}").splitlines()
        assert table[0].split() == ["NAMES", "IMAGE"] and table[1].split() == [name, "busybox"]
        assert len(daemon.ok("ps", "-a", "-n", "1", "-q").split()) == 1
        assert daemon.ok("ps", "-l", "--format", "{{.Names}}") in (name, exited)
        sized = daemon.ok("ps", "-s", "--filter", f"name={name}", "--format", "{{.Size}}")
        assert "virtual" in sized
    finally:
        daemon.cli("rm", "-f", name, exited)


def test_logs_options(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "--name", name, "busybox", "sh", "-c", "echo one; echo two >&2; sleep 1.2; echo three")
    try:
        r = daemon.cli("logs", name)
        assert r.stdout == "one\nthree\n" and r.stderr == "two\n"
        stamped = daemon.ok("logs", "-t", name).splitlines()
        assert stamped[0].endswith(" one") and stamped[0][4] == "-" and stamped[0].split()[0].endswith("Z")
        assert daemon.ok("logs", "--tail", "1", name) == "three"
        assert daemon.ok("logs", "-n", "0", name) == ""
        first = stamped[0].split()[0]
        later = daemon.ok("logs", "--since", stamped[-1].split()[0], name)
        assert later == "three"
        earlier = daemon.cli("logs", "--until", first, name)
        assert earlier.stdout == "one\n"
    finally:
        daemon.cli("rm", "-f", name)


def test_log_rotation(daemon: Daemon, name: str) -> None:
    script = "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line-$i-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done"
    daemon.ok("run", "--name", name, "--log-opt", "max-size=4k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
              script)
    try:
        log_path = daemon.inspect(name)["LogPath"]
        files = sorted(os.listdir(os.path.dirname(log_path)))
        logs = [f for f in files if "-json.log" in f]
        assert len(logs) == 3, files
        for f in logs:
            assert os.path.getsize(os.path.join(os.path.dirname(log_path), f)) <= 4096
        lines = daemon.ok("logs", name).splitlines()
        # Rotation dropped the oldest lines; what remains is the unbroken tail.
        assert lines[-1].startswith("line-300-")
        numbers = [int(line.split("-")[1]) for line in lines]
        assert numbers == list(range(numbers[0], 301))
    finally:
        daemon.cli("rm", "-f", name)


def test_logs_follow_across_rotation(daemon: Daemon, name: str) -> None:
    script = "i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo line-$i-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb; sleep 0.005; done"
    daemon.ok("run", "-d", "--name", name, "--log-opt", "max-size=2k", "--log-opt", "max-file=5", "busybox",
              "sh", "-c", "sleep 1; " + script)
    try:
        r = daemon.cli("logs", "-f", name, timeout=60)
        numbers = [int(line.split("-")[1]) for line in r.out.splitlines()]
        assert numbers[-1] == 200
        assert numbers == list(range(numbers[0], 201))
    finally:
        daemon.cli("rm", "-f", name)


def test_attach_and_detach(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-dit", "--name", name, "busybox", "sh")
    try:
        code, out = run_in_pty(baleine_cmd() + ["attach", name], daemon.env(),
                               send=[b"echo attached-$((40+2))\r", b"\x10\x11"])
        assert b"attached-42" in out
        assert code == 0
        assert daemon.inspect(name)["State"]["Running"]  # detached, not stopped
    finally:
        daemon.cli("rm", "-f", name)


def test_tty_resize(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-dit", "--name", name, "busybox", "sh")
    try:
        from baleine.client import Client

        api = Client(daemon.host)
        api.call("POST", f"/containers/{name}/resize", {"h": 33, "w": 101})
        eid = api.call("POST", f"/containers/{name}/exec", None,
                       {"Cmd": ["stty", "size"], "Tty": True, "AttachStdout": True})["Id"]
        sock, rest = api.hijack("POST", f"/exec/{eid}/start", None, {"Tty": True, "ConsoleSize": [20, 70]})
        data = rest
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data.strip() == b"20 70"
        r = daemon.cli("exec", name, "sh", "-c", "stty size < /proc/1/fd/0")
        assert r.out == "33 101"
    finally:
        daemon.cli("rm", "-f", name)


def test_stdin_pipe_run(daemon: Daemon) -> None:
    r = daemon.cli("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input="shout\n")
    assert r.out == "SHOUT"
    r = subprocess.run(baleine_cmd() + ["run", "--rm", "-i", "busybox", "wc", "-c"], env=daemon.env(),
                       input=b"x" * 100000, capture_output=True)
    assert r.stdout.strip() == b"100000"


def test_stop_and_kill(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'echo got-term; exit 9' TERM; "
              "trap 'exit 7' USR1; while true; do sleep 0.1; done")
    time.sleep(0.3)
    t0 = time.monotonic()
    daemon.ok("stop", name)
    assert time.monotonic() - t0 < 5
    info = daemon.inspect(name)["State"]
    assert info["ExitCode"] == 9 and daemon.ok("logs", name) == "got-term"
    daemon.ok("start", name)
    time.sleep(0.3)
    daemon.ok("kill", "-s", "USR1", name)
    assert daemon.ok("wait", name) == "7"
    daemon.ok("rm", name)
    r = daemon.cli("kill", name)
    assert r.returncode == 1 and "No such container" in r.stderr


def test_restart_and_rename_and_top_level_commands(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "60")
    try:
        first = daemon.inspect(name)["State"]["StartedAt"]
        daemon.ok("restart", "-t", "0", name)
        assert daemon.inspect(name)["State"]["StartedAt"] != first
        daemon.ok("pause", name)
        assert daemon.inspect(name)["State"]["Status"] == "paused"
        assert "(Paused)" in daemon.ok("ps", "--filter", f"name={name}", "--format", "{{.Status}}")
        daemon.ok("unpause", name)
        daemon.ok("rename", name, name + "-new")
        assert daemon.inspect(name + "-new")["Name"] == f"/{name}-new"
    finally:
        daemon.cli("rm", "-f", name, name + "-new")


def test_disconnected_clients_release_their_handlers(daemon: Daemon, name: str) -> None:
    """A client leaving `logs -f` or `wait` must not leave work behind in the daemon."""
    from baleine.client import Client

    api = Client(daemon.host)
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "60")
    try:
        baseline = api.call("GET", "/info")["NGoroutines"]
        streams = [api.stream("GET", f"/containers/{name}/logs", {"follow": 1, "stdout": 1}),
                   api.stream("POST", f"/containers/{name}/wait")]
        time.sleep(0.3)
        assert api.call("GET", "/info")["NGoroutines"] >= baseline + 2
        for s in streams:
            s.close()
        deadline = time.monotonic() + 5
        while api.call("GET", "/info")["NGoroutines"] > baseline and time.monotonic() < deadline:
            time.sleep(0.1)
        assert api.call("GET", "/info")["NGoroutines"] <= baseline
    finally:
        daemon.cli("rm", "-f", name)


def test_exec_detached_and_options(daemon: Daemon, name: str) -> None:
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "60")
    try:
        assert daemon.ok("exec", "-d", name, "sh", "-c", "sleep 0.3; echo later > /tmp/done") == ""
        deadline = time.monotonic() + 10
        while daemon.cli("exec", name, "cat", "/tmp/done").out != "later" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert daemon.ok("exec", name, "cat", "/tmp/done") == "later"
        out = daemon.ok("exec", "-u", "1000:1000", "-w", "/tmp", "-e", "V=x", name, "sh", "-c", "id -u; pwd; echo $V")
        assert out.splitlines() == ["1000", "/tmp", "x"]
        r = daemon.cli("exec", name, "no-such-binary")  # 126 as dockerd gives for any exec start failure
        assert r.returncode == 126 and "executable file not found" in r.out + r.stderr
        daemon.ok("stop", "-t", "0", name)
        r = daemon.cli("exec", name, "true")
        assert r.returncode == 1 and "is not running" in r.stderr
    finally:
        daemon.cli("rm", "-f", name)
