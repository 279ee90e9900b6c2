"""config.json generation: pure checks, then real containers run by runc.

The runc tests need root, runc and the busybox image of ``shared/images``; each
makes its own bundle and runc state under a temporary directory, uses a cgroup
parent of its own, and removes the container, the cgroups and the files even
when it fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from baleine.engine.runtime import capabilities as caps
from baleine.engine.runtime import spec as spec_mod
from baleine.rules.errors import InvalidParameter
from baleine.engine.runtime.spec import Mount, SpecInput, build_spec, merge_tmpfs_options, write_config

RUNC = shutil.which("runc")
SHARED = Path(__file__).resolve().parents[3] / "shared"
BUSYBOX_TAR = Path(os.environ.get("BALEINE_BUSYBOX_TAR", SHARED / "images" / "busybox.tar"))

needs_runc = pytest.mark.skipif(
    not RUNC or os.geteuid() != 0 or not BUSYBOX_TAR.exists(),
    reason="needs root, runc and shared/images/busybox.tar")


def _mounts_by_dest(spec: dict) -> dict[str, dict]:
    return {m["destination"]: m for m in spec["mounts"]}


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (root / "etc" / "group").write_text("root:x:0:\nwheel:x:10:nobody\nnogroup:x:65534:\n")
    return str(root)


# --------------------------------------------------------------------------- pure


def test_defaults_match_docker(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], hostname="abc"), cgroup_v2=False)
    assert s["ociVersion"] == "1.0.2-dev"
    assert s["root"] == {"path": rootfs, "readonly": False}
    assert s["hostname"] == "abc"
    p = s["process"]
    assert p["terminal"] is False
    assert p["user"] == {"uid": 0, "gid": 0, "additionalGids": [0]}
    assert p["env"] == ["PATH=" + spec_mod.DEFAULT_PATH_ENV, "HOSTNAME=abc", "HOME=/root"]
    assert p["cwd"] == "/"
    assert set(p["capabilities"]) == {"bounding", "effective", "permitted"}
    assert p["capabilities"]["bounding"] == list(caps.DEFAULT_CAPABILITIES)
    assert "rlimits" not in p
    assert "noNewPrivileges" not in p
    assert p["oomScoreAdj"] == 0
    assert [m["destination"] for m in s["mounts"]] == [
        "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
    m = _mounts_by_dest(s)
    assert m["/dev"]["options"] == ["nosuid", "strictatime", "mode=755", "size=65536k"]
    assert m["/dev/pts"]["options"] == [
        "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
    assert "ro" in m["/sys"]["options"] and "ro" in m["/sys/fs/cgroup"]["options"]
    assert m["/dev/shm"]["options"][-1] == f"size={64 * 1024 * 1024}"
    linux = s["linux"]
    assert [n["type"] for n in linux["namespaces"]] == ["mount", "network", "uts", "pid", "ipc"]
    assert linux["maskedPaths"][:12] == list(spec_mod.DEFAULT_MASKED_PATHS)
    assert linux["readonlyPaths"] == list(spec_mod.DEFAULT_READONLY_PATHS)
    assert linux["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    assert {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"} in \
        linux["resources"]["devices"]
    assert linux["devices"] == []
    assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "cgroupsPath" not in linux


def test_cgroup_namespace_follows_cgroup_version(rootfs):
    v2 = build_spec(SpecInput(rootfs=rootfs, args=["sh"]), cgroup_v2=True)
    v1 = build_spec(SpecInput(rootfs=rootfs, args=["sh"]), cgroup_v2=False)
    assert {"type": "cgroup"} in v2["linux"]["namespaces"]
    assert {"type": "cgroup"} not in v1["linux"]["namespaces"]
    forced = build_spec(SpecInput(rootfs=rootfs, args=["sh"], cgroupns_mode="private"),
                        cgroup_v2=False)
    assert {"type": "cgroup"} in forced["linux"]["namespaces"]
    with pytest.raises(InvalidParameter):
        build_spec(SpecInput(rootfs=rootfs, args=["sh"], cgroupns_mode="bogus"))


def test_env_rules(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], tty=True, hostname="h",
                             env=["PATH=/bin", "A=1", "HOSTNAME", "B", "HOME=/x"]))
    assert s["process"]["env"] == ["PATH=/bin", "TERM=xterm", "A=1", "HOME=/x"]
    assert s["process"]["terminal"] is True
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], user="nobody"))
    assert "HOME=/nonexistent" in s["process"]["env"]


def test_user_and_capabilities_for_non_root(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["id"], user="nobody", group_add=["root", "7"]))
    assert s["process"]["user"] == {"uid": 65534, "gid": 65534, "additionalGids": [65534, 10, 0, 7]}
    # Like execve for a non-root user: only the bounding set.
    assert list(s["process"]["capabilities"]) == ["bounding"]
    with pytest.raises(InvalidParameter, match="unable to find user ghost"):
        build_spec(SpecInput(rootfs=rootfs, args=["id"], user="ghost"))


def test_cap_tweaks_reach_spec_and_seccomp(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], cap_add=["SYS_ADMIN"]))
    assert "CAP_SYS_ADMIN" in s["process"]["capabilities"]["effective"]
    names = {n for r in s["linux"]["seccomp"]["syscalls"] for n in r["names"]}
    assert "mount" in names and "unshare" in names
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], cap_drop=["ALL"]))
    assert s["process"]["capabilities"]["bounding"] == []
    with pytest.raises(InvalidParameter, match='unknown capability: "CAP_NOPE"'):
        build_spec(SpecInput(rootfs=rootfs, args=["sh"], cap_add=["nope"]))


def test_privileged(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], privileged=True))
    assert s["process"]["capabilities"]["bounding"] == caps.all_capabilities()
    assert "seccomp" not in s["linux"]
    assert "maskedPaths" not in s["linux"] and "readonlyPaths" not in s["linux"]
    m = _mounts_by_dest(s)
    assert "ro" not in m["/sys"]["options"] and "ro" not in m["/sys/fs/cgroup"]["options"]
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    paths = {d["path"] for d in s["linux"]["devices"]}
    assert "/dev/null" in paths and "/dev/console" not in paths
    assert not any(p.startswith("/dev/pts/") for p in paths)


def test_readonly_rootfs_marks_default_mounts_ro(rootfs, tmp_path):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], readonly_rootfs=True,
                             mounts=[Mount("/data", str(tmp_path))]))
    assert s["root"]["readonly"] is True
    m = _mounts_by_dest(s)
    for dest in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/data"):
        assert "ro" not in m[dest]["options"], dest
    assert "ro" in m["/sys"]["options"]


def test_user_mounts_replace_defaults_and_sort(rootfs, tmp_path):
    s = build_spec(SpecInput(
        rootfs=rootfs, args=["sh"],
        mounts=[Mount("/a/b/c", str(tmp_path)), Mount("/etc/hosts", str(tmp_path / "h")),
                Mount("/dev/shm", str(tmp_path), options=["bind", "ro"]),
                Mount("/x", "tmpfs", type="tmpfs", options=["size=1m"])],
        tmpfs={"/run": "exec,size=10m"}))
    dests = [m["destination"] for m in s["mounts"]]
    assert dests.count("/dev/shm") == 1
    user = dests[dests.index("/dev/mqueue") + 1:]
    assert user == ["/x", "/run", "/etc/hosts", "/dev/shm", "/a/b/c"]  # parents first
    m = _mounts_by_dest(s)
    assert m["/etc/hosts"]["options"] == ["rbind", "rprivate"]
    assert m["/dev/shm"]["options"] == ["bind", "ro"]
    assert m["/run"] == {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                         "options": ["nosuid", "nodev", "rprivate", "exec", "size=10m"]}
    # A user /dev drops every default mount under /dev.
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], mounts=[Mount("/dev", "/dev")]))
    assert not any(d["destination"].startswith("/dev/") for d in s["mounts"])


def test_merge_tmpfs_options():
    assert merge_tmpfs_options(["noexec", "nosuid", "nodev", "rprivate", "rw", "size=1m",
                                "size=2m", "shared", "mode=1777"]) == [
        "noexec", "nosuid", "nodev", "rw", "size=2m", "shared", "mode=1777"]
    with pytest.raises(InvalidParameter, match=r'invalid tmpfs option \["foo" "bar"\]'):
        merge_tmpfs_options(["foo=bar"])
    with pytest.raises(InvalidParameter):
        merge_tmpfs_options(["bogus"])


def test_namespace_modes(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], network_ns="host", pid_mode="host",
                             ipc_mode="host", uts_mode="host", hostname="h"), cgroup_v2=False)
    assert [n["type"] for n in s["linux"]["namespaces"]] == ["mount"]
    assert "hostname" not in s
    assert s["linux"]["sysctl"] == {}
    assert _mounts_by_dest(s)["/dev/shm"]["source"] == "/dev/shm"
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], network_ns="/run/netns/x",
                             ipc_mode="/proc/1/ns/ipc", pid_mode="/proc/1/ns/pid"),
                   cgroup_v2=False)
    ns = {n["type"]: n for n in s["linux"]["namespaces"]}
    assert ns["network"] == {"type": "network", "path": "/run/netns/x"}
    assert ns["ipc"]["path"] == "/proc/1/ns/ipc" and ns["pid"]["path"] == "/proc/1/ns/pid"
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], ipc_mode="none"))
    assert "/dev/shm" not in _mounts_by_dest(s)
    with pytest.raises(InvalidParameter, match="invalid IPC mode"):
        build_spec(SpecInput(rootfs=rootfs, args=["sh"], ipc_mode="container"))
    with pytest.raises(InvalidParameter, match="not allowed in host network"):
        build_spec(SpecInput(rootfs=rootfs, args=["sh"], network_ns="host",
                             sysctls={"net.ipv4.ip_forward": "1"}))


def test_sysctls_and_domainname(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], domainname="example.org",
                             sysctls={"net.ipv4.ip_unprivileged_port_start": "80",
                                      "kernel.shmmax": "1000"}))
    sysctl = s["linux"]["sysctl"]
    assert sysctl["kernel.domainname"] == "example.org"
    assert sysctl["net.ipv4.ip_unprivileged_port_start"] == "80"
    assert sysctl["kernel.shmmax"] == "1000"
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], network_ns="/proc/1/ns/net",
                             network_shared=True))
    assert s["linux"]["sysctl"] == {}


def test_resources(rootfs, monkeypatch):
    monkeypatch.setattr(spec_mod, "swap_accounting", lambda v2: True)
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], memory=64 << 20,
                             memory_reservation=32 << 20, nano_cpus=1_500_000_000,
                             cpu_shares=512, cpuset_cpus="0", pids_limit=0,
                             cgroups_path="/baleine/abc"))
    r = s["linux"]["resources"]
    assert r["memory"] == {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20}
    assert r["cpu"] == {"shares": 512, "cpus": "0", "period": 100000, "quota": 150000}
    assert r["pids"] == {"limit": -1}
    assert s["linux"]["cgroupsPath"] == "/baleine/abc"
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], memory=64 << 20, memory_swap=-1,
                             cpu_quota=50000, cpu_period=100000, pids_limit=20))
    r = s["linux"]["resources"]
    assert r["memory"] == {"limit": 64 << 20}
    assert r["cpu"] == {"period": 100000, "quota": 50000}
    assert r["pids"] == {"limit": 20}
    monkeypatch.setattr(spec_mod, "swap_accounting", lambda v2: False)
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], memory=64 << 20, memory_swap=100 << 20))
    assert s["linux"]["resources"]["memory"] == {"limit": 64 << 20}


@pytest.mark.parametrize("kwargs, message", [
    ({"memory": 1 << 20}, "Minimum memory limit allowed is 6MB"),
    ({"memory_swap": 1 << 30}, "always set the Memory limit"),
    ({"memory": 64 << 20, "memory_swap": 32 << 20}, "memoryswap limit should be larger"),
    ({"memory": 64 << 20, "memory_reservation": 128 << 20}, "less than memory reservation"),
    ({"nano_cpus": 10**9, "cpu_period": 100000}, "Nano CPUs and CPU Period"),
    ({"nano_cpus": 10**9, "cpu_quota": 100000}, "Nano CPUs and CPU Quota"),
    ({"nano_cpus": 10**15}, "Range of CPUs"),
    ({"cpu_period": 10}, "CPU cfs period"),
    ({"cpuset_cpus": "a-b"}, "Invalid value a-b for cpuset cpus"),
    ({"cpuset_cpus": "4096"}, "Requested CPUs are not available"),
    ({"oom_score_adj": 2000}, "range for oom score adj"),
    ({"args": []}, "No command specified"),
    ({"cwd": "relative"}, "needs to be an absolute path"),
    ({"tmpfs": {"rel": ""}}, "must be absolute"),
    ({"ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}, "invalid ulimit type: bogus"),
    ({"ulimits": [{"Name": "nofile", "Soft": 2, "Hard": 1}]}, "soft limit must be less"),
    ({"device_cgroup_rules": ["x 1:2 r"]}, "invalid device cgroup rule"),
    ({"devices": ["/nonexistent-device"]}, "error gathering device information"),
])
def test_invalid_settings(rootfs, kwargs, message):
    args = {"rootfs": rootfs, "args": ["sh"], **kwargs}
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        build_spec(SpecInput(**args))


def test_rlimits_are_clamped_to_the_daemons_hard_limit(rootfs):
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], ulimits=[
        {"Name": "nofile", "Soft": 1024, "Hard": 2048},
        {"Name": "nproc", "Soft": -1, "Hard": -1},
        {"Name": "nofile", "Soft": 1 << 40, "Hard": 1 << 40}]))
    rl = s["process"]["rlimits"]
    assert rl[0] == {"type": "RLIMIT_NOFILE", "hard": min(2048, hard), "soft": min(1024, hard)}
    assert rl[1]["type"] == "RLIMIT_NPROC"
    assert rl[2]["hard"] == hard and rl[2]["soft"] == hard


def test_devices_and_rules(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], devices=["/dev/null:/dev/mynull:r"],
                             device_cgroup_rules=["c 42:* rmw", "a"]))
    assert s["linux"]["devices"][0]["path"] == "/dev/mynull"
    assert s["linux"]["devices"][0]["type"] == "c"
    rules = s["linux"]["resources"]["devices"]
    assert rules[-3] == {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"}
    assert rules[-2] == {"allow": True, "type": "c", "major": 42, "minor": -1, "access": "rmw"}
    assert rules[-1] == {"allow": True, "type": "a", "major": -1, "minor": -1, "access": "rwm"}


def test_init_and_misc(rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["sleep", "1"], init_path="/usr/bin/tini",
                             no_new_privileges=True, oom_score_adj=500, apparmor="docker-default",
                             annotations={"a": "b"}, seccomp="unconfined"))
    assert s["process"]["args"] == ["/sbin/docker-init", "--", "sleep", "1"]
    init = _mounts_by_dest(s)["/sbin/docker-init"]
    assert init == {"destination": "/sbin/docker-init", "type": "bind",
                    "source": "/usr/bin/tini", "options": ["bind", "ro"]}
    assert s["process"]["noNewPrivileges"] is True
    assert s["process"]["oomScoreAdj"] == 500
    assert s["process"]["apparmorProfile"] == "docker-default"
    assert s["annotations"] == {"a": "b"}
    assert "seccomp" not in s["linux"]
    # No init in the host's PID namespace.
    s = build_spec(SpecInput(rootfs=rootfs, args=["x"], init_path="/i", pid_mode="host"))
    assert s["process"]["args"] == ["x"]


def test_seccomp_profile_from_file_and_text(rootfs, tmp_path):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile))
    for choice in (str(path), json.dumps(profile)):
        s = build_spec(SpecInput(rootfs=rootfs, args=["sh"], seccomp=choice))
        assert s["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW",
                                         "syscalls": [{"names": ["mkdir"],
                                                       "action": "SCMP_ACT_ERRNO"}]}
    with pytest.raises(InvalidParameter, match="opening seccomp profile"):
        build_spec(SpecInput(rootfs=rootfs, args=["sh"], seccomp=str(tmp_path / "missing")))


def test_write_config_is_atomic(tmp_path, rootfs):
    s = build_spec(SpecInput(rootfs=rootfs, args=["true"]))
    path = write_config(str(tmp_path), s)
    assert json.loads(Path(path).read_text()) == s
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".config.")] == []


# --------------------------------------------------------------------------- runc


@pytest.fixture(scope="session")
def busybox_layer(tmp_path_factory) -> Path:
    """The busybox image's single layer tar, extracted from the docker-save archive."""
    out = tmp_path_factory.mktemp("busybox-image")
    subprocess.run(["tar", "-xf", str(BUSYBOX_TAR), "-C", str(out)], check=True)
    manifest = json.loads((out / "manifest.json").read_text())
    return out / manifest[0]["Layers"][0]


class Runner:
    """Runs one-shot containers with runc under a private state dir and cgroup
    parent; :meth:`cleanup` removes whatever is left."""

    def __init__(self, base: Path, layer: Path):
        self.base = base
        self.layer = layer
        self.state = base / "state"
        self.parent = f"/baleine-test-{secrets.token_hex(4)}"
        self.ids: list[str] = []
        self.v2 = spec_mod.cgroup2()

    def bundle(self, name: str = "bundle") -> Path:
        bundle = self.base / name
        rootfs = bundle / "rootfs"
        rootfs.mkdir(parents=True)
        subprocess.run(["tar", "-xf", str(self.layer), "-C", str(rootfs)], check=True)
        return bundle

    def run(self, inp: SpecInput, bundle: Path, timeout: float = 60) -> subprocess.CompletedProcess:
        cid = "bt-" + secrets.token_hex(6)
        self.ids.append(cid)
        inp.cgroups_path = inp.cgroups_path or f"{self.parent}/{cid}"
        write_config(str(bundle), build_spec(inp))
        return subprocess.run([RUNC, "--root", str(self.state), "run", "--bundle", str(bundle), cid],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)

    def cgroup_dirs(self, leaf: str = "") -> list[Path]:
        rel = (self.parent + ("/" + leaf if leaf else "")).lstrip("/")
        if self.v2:
            return [Path("/sys/fs/cgroup") / rel]
        return [p / rel for p in Path("/sys/fs/cgroup").iterdir() if p.is_dir()]

    def cleanup(self) -> None:
        for cid in self.ids:
            subprocess.run([RUNC, "--root", str(self.state), "delete", "--force", cid],
                           capture_output=True, timeout=60)
            for d in self.cgroup_dirs(cid):
                if d.is_dir():
                    os.rmdir(d)
        for d in self.cgroup_dirs():
            if d.is_dir():
                os.rmdir(d)


@pytest.fixture
def runner(tmp_path, busybox_layer):
    r = Runner(tmp_path, busybox_layer)
    try:
        yield r
    finally:
        r.cleanup()


def _sh(script: str) -> list[str]:
    return ["sh", "-c", script]


@needs_runc
def test_runc_default_container(runner):
    bundle = runner.bundle()
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), hostname="c0ffee",
                               args=_sh("echo hello; hostname; id; env; "
                                        "grep -E '^(CapEff|Seccomp):' /proc/self/status; "
                                        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start; "
                                        "cat /proc/kcore | wc -c; touch /proc/sys/x || echo ro-proc")),
                     bundle)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "hello" in out and "c0ffee" in out
    assert "uid=0(root) gid=0(root)" in out
    assert "HOME=/root" in out and "HOSTNAME=c0ffee" in out
    assert re.search(r"CapEff:\s*00000000a80425fb", out)
    assert re.search(r"Seccomp:\s*2", out)
    assert "ro-proc" in out
    lines = out.splitlines()
    assert lines[lines.index("ro-proc") - 1].strip() == "0"  # /proc/kcore masked
    assert "0" in lines


@needs_runc
def test_runc_readonly_rootfs(runner):
    bundle = runner.bundle()
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), readonly_rootfs=True,
                               tmpfs={"/run": ""},
                               args=_sh("touch /x && echo root-rw; touch /dev/shm/x && echo shm-rw; "
                                        "touch /run/x && echo run-rw; true")), bundle)
    assert res.returncode == 0, res.stderr
    assert "root-rw" not in res.stdout
    assert "shm-rw" in res.stdout and "run-rw" in res.stdout


@needs_runc
def test_runc_cap_drop_all(runner):
    bundle = runner.bundle()
    rootfs = str(bundle / "rootfs")
    res = runner.run(SpecInput(rootfs=rootfs, args=_sh("chown 1:1 /tmp && echo chowned")), bundle)
    assert res.returncode == 0 and "chowned" in res.stdout, res.stderr
    res = runner.run(SpecInput(rootfs=rootfs, cap_drop=["ALL"],
                               args=_sh("grep CapEff /proc/self/status; chown 2:2 /tmp")), bundle)
    assert res.returncode != 0
    assert re.search(r"CapEff:\s*0{16}", res.stdout)
    assert "Operation not permitted" in res.stderr


@needs_runc
def test_runc_memory_and_pids_limits(runner):
    bundle = runner.bundle()
    if runner.v2:
        script = "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max"
        cpu = ["50000", "100000"]
    else:
        script = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                  "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                  "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
        cpu = ["50000", "100000"]
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), memory=32 << 20, pids_limit=17,
                               memory_reservation=16 << 20, nano_cpus=500_000_000,
                               cpu_shares=512, cpuset_cpus="0", args=_sh(script)), bundle)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(32 << 20), "17", *cpu]


@needs_runc
def test_runc_pids_limit_refuses_forks(runner):
    bundle = runner.bundle()
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), pids_limit=4,
                               args=_sh("for i in 1 2 3 4 5 6; do sleep 2 & done; wait; echo done")),
                     bundle)
    assert "can't fork" in res.stderr or "Resource temporarily unavailable" in res.stderr


@needs_runc
def test_runc_users(runner):
    bundle = runner.bundle()
    rootfs = bundle / "rootfs"
    with open(rootfs / "etc" / "passwd", "a") as f:
        f.write("nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(rootfs / "etc" / "group", "a") as f:
        f.write("nogroup:x:65534:\nstaff:x:50:nobody\n")
    res = runner.run(SpecInput(rootfs=str(rootfs), user="nobody",
                               args=_sh("id; echo $HOME; grep CapEff /proc/self/status")), bundle)
    assert res.returncode == 0, res.stderr
    assert "uid=65534(nobody) gid=65534(nogroup) groups=50(staff),65534(nogroup)" in res.stdout
    assert "/nonexistent" in res.stdout
    assert re.search(r"CapEff:\s*0{16}", res.stdout)
    res = runner.run(SpecInput(rootfs=str(rootfs), user="1000:1000", group_add=["staff"],
                               args=["id"]), bundle)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "uid=1000 gid=1000 groups=50(staff),1000"


@needs_runc
def test_runc_sysctl_domainname_and_ulimit(runner):
    bundle = runner.bundle()
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), domainname="example.org",
                               sysctls={"net.ipv4.ip_unprivileged_port_start": "99"},
                               ulimits=[{"Name": "nofile", "Soft": 512, "Hard": 1024}],
                               args=_sh("cat /proc/sys/kernel/domainname "
                                        "/proc/sys/net/ipv4/ip_unprivileged_port_start; "
                                        "grep 'open files' /proc/self/limits")), bundle)
    assert res.returncode == 0, res.stderr
    out = res.stdout.split()
    assert out[:2] == ["example.org", "99"]
    assert "512" in out and "1024" in out


@needs_runc
def test_runc_privileged(runner):
    bundle = runner.bundle()
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), privileged=True,
                               args=_sh("grep -E '^(CapBnd|Seccomp):' /proc/self/status; "
                                        "mount -t tmpfs none /tmp && echo mounted; "
                                        "ls /dev/loop-control /dev/null")), bundle)
    assert res.returncode in (0, 1), res.stderr
    assert re.search(r"Seccomp:\s*0", res.stdout)
    assert "mounted" in res.stdout


@needs_runc
def test_runc_tty_false_and_exit_code(runner):
    bundle = runner.bundle()
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), tty=False, cwd="/tmp",
                               args=_sh("pwd; test -t 0 || echo no-tty; exit 3")), bundle)
    assert res.returncode == 3
    assert res.stdout.split() == ["/tmp", "no-tty"]
