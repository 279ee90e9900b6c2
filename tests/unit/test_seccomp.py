"""Seccomp profiles: resolution of Docker's conditional rules, then real runc runs."""

from __future__ import annotations

import json
import re

import pytest

from baleine.engine.runtime import capabilities as caps
from baleine.engine.runtime import seccomp
from baleine.rules.errors import InvalidParameter
from baleine.engine.runtime.spec import SpecInput
from tests.unit.test_spec import _sh, busybox_layer, needs_runc, runner  # noqa: F401

DEFAULT_CAPS = list(caps.DEFAULT_CAPABILITIES)
KERNEL = (6, 1, 0)


def _names(profile: dict) -> set[str]:
    return {n for r in profile["syscalls"] for n in r["names"]}


def _rules_for(profile: dict, name: str) -> list[dict]:
    return [r for r in profile["syscalls"] if name in r["names"]]


def test_default_profile_source_is_dockers():
    src = seccomp.default_profile_source()
    assert src["defaultAction"] == "SCMP_ACT_ERRNO"
    assert src["defaultErrnoRet"] == 1
    assert src["archMap"][0]["architecture"] == "SCMP_ARCH_X86_64"
    first = src["syscalls"][0]
    assert first["action"] == "SCMP_ACT_ALLOW" and "read" in first["names"]
    assert "mount" not in first["names"] and "unshare" not in first["names"]


def test_default_profile_amd64_default_caps():
    p = seccomp.default_profile(DEFAULT_CAPS, arch="amd64", kernel=KERNEL)
    assert p["defaultAction"] == "SCMP_ACT_ERRNO"
    assert p["defaultErrnoRet"] == 1
    assert p["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    names = _names(p)
    assert {"read", "write", "execve", "arch_prctl", "modify_ldt", "ptrace", "chroot",
            "clone", "clone3"} <= names
    assert not names & {"mount", "umount2", "unshare", "setns", "reboot", "bpf",
                        "open_by_handle_at", "s390_runtime_instr", "kexec_load"}
    clone = _rules_for(p, "clone")
    assert clone == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]}]
    assert _rules_for(p, "clone3") == [
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    # Only OCI keys survive.
    for rule in p["syscalls"]:
        assert set(rule) <= {"names", "action", "errnoRet", "args"}
    assert set(p) == {"defaultAction", "defaultErrnoRet", "architectures", "syscalls"}


def test_sys_admin_opens_mount_and_drops_clone_filters():
    p = seccomp.default_profile(DEFAULT_CAPS + ["CAP_SYS_ADMIN"], arch="amd64", kernel=KERNEL)
    names = _names(p)
    assert {"mount", "unshare", "setns", "clone3"} <= names
    assert not any(r.get("args") for r in _rules_for(p, "clone"))
    assert not any(r["action"] == "SCMP_ACT_ERRNO" for r in _rules_for(p, "clone3"))


@pytest.mark.parametrize("cap, syscall", [
    ("CAP_SYS_PTRACE", "kcmp"), ("CAP_SYS_TIME", "settimeofday"), ("CAP_SYS_BOOT", "reboot"),
    ("CAP_SYS_MODULE", "init_module"), ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
    ("CAP_SYS_NICE", "mbind"), ("CAP_BPF", "bpf"), ("CAP_PERFMON", "perf_event_open"),
])
def test_capability_conditional_rules(cap, syscall):
    assert syscall not in _names(seccomp.default_profile(DEFAULT_CAPS, arch="amd64", kernel=KERNEL))
    assert syscall in _names(seccomp.default_profile(DEFAULT_CAPS + [cap], arch="amd64",
                                                     kernel=KERNEL))


def test_chroot_needs_sys_chroot():
    caps_without = [c for c in DEFAULT_CAPS if c != "CAP_SYS_CHROOT"]
    assert "chroot" not in _names(seccomp.default_profile(caps_without, arch="amd64",
                                                          kernel=KERNEL))


def test_arch_conditions():
    arm = seccomp.default_profile(DEFAULT_CAPS, arch="arm64", kernel=KERNEL)
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert "set_tls" in _names(arm) and "arch_prctl" not in _names(arm)
    s390 = seccomp.default_profile(DEFAULT_CAPS, arch="s390x", kernel=KERNEL)
    assert s390["architectures"] == ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]
    assert [r["args"][0]["index"] for r in _rules_for(s390, "clone")] == [1]
    unknown = seccomp.default_profile(DEFAULT_CAPS, arch="", kernel=KERNEL)
    assert "architectures" not in unknown


def test_min_kernel_condition():
    old = seccomp.default_profile(DEFAULT_CAPS, arch="amd64", kernel=(4, 4, 0))
    assert "ptrace" not in _names(old)
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["a"], "action": "SCMP_ACT_ERRNO", "excludes": {"minKernel": "5.10"}}]}
    assert _names(seccomp.setup(prof, [], arch="amd64", kernel=(5, 4, 0))) == {"a"}
    assert _names(seccomp.setup(prof, [], arch="amd64", kernel=(5, 10, 1))) == set()


def test_parse_kernel_version():
    assert seccomp.parse_kernel_version("6.18.44-fc-v669") == (6, 18, 44)
    assert seccomp.parse_kernel_version("4.8") == (4, 8, 0)
    with pytest.raises(InvalidParameter):
        seccomp.parse_kernel_version("abc")


def test_host_resolution_is_consistent():
    p = seccomp.default_profile(DEFAULT_CAPS)
    if seccomp.native_arch() == "amd64":
        assert p["architectures"][0] == "SCMP_ARCH_X86_64"
    assert "read" in _names(p)


def test_load_profile_variants():
    assert seccomp.load_profile("{}", DEFAULT_CAPS) is None
    legacy = seccomp.load_profile(json.dumps({
        "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"name": "read", "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
                     {"names": ["write"], "action": "SCMP_ACT_LOG", "comment": "x"}],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"]}), DEFAULT_CAPS)
    assert legacy == {
        "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
                     {"names": ["write"], "action": "SCMP_ACT_LOG"}]}


@pytest.mark.parametrize("text, message", [
    ("not json", "Decoding seccomp profile failed"),
    ("[]", "Decoding seccomp profile failed"),
    ('{"defaultAction": "SCMP_ACT_NOPE"}', "invalid seccomp default action"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],'
     ' "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}', "use either 'architectures' or 'archMap'"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"],'
     ' "action": "SCMP_ACT_ALLOW"}]}', "use either 'name' or 'names'"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"], "action": "DENY"}]}',
     "invalid seccomp action"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"], '
     '"action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "EQ"}]}]}',
     "invalid seccomp argument operator"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"], '
     '"action": "SCMP_ACT_ERRNO", "errnoRet": -1}]}', "errnoRet"),
])
def test_load_profile_errors(text, message):
    with pytest.raises(InvalidParameter, match=re.escape(message)):
        seccomp.load_profile(text, DEFAULT_CAPS)


# --------------------------------------------------------------------------- runc


@needs_runc
def test_runc_default_profile_refuses_namespaces_and_mount(runner):
    bundle = runner.bundle()
    rootfs = str(bundle / "rootfs")
    script = ("grep Seccomp: /proc/self/status; echo works; "
              "unshare -U true && echo userns-ok; "
              "mount -t tmpfs none /tmp && echo mount-ok; true")
    res = runner.run(SpecInput(rootfs=rootfs, args=_sh(script)), bundle)
    assert res.returncode == 0, res.stderr
    assert re.search(r"Seccomp:\s*2", res.stdout)
    assert "works" in res.stdout
    assert "userns-ok" not in res.stdout and "mount-ok" not in res.stdout
    assert "Operation not permitted" in res.stderr

    # The same container unconfined: creating a user namespace needs no
    # capability, so only seccomp was stopping it.
    res = runner.run(SpecInput(rootfs=rootfs, seccomp="unconfined", args=_sh(script)), bundle)
    assert res.returncode == 0, res.stderr
    assert re.search(r"Seccomp:\s*0", res.stdout)
    try:
        userns_allowed = int(open("/proc/sys/user/max_user_namespaces").read()) > 0
    except OSError:
        userns_allowed = False
    if userns_allowed:
        assert "userns-ok" in res.stdout, res.stderr


@needs_runc
def test_runc_custom_profile_with_errno_and_log(runner, tmp_path):
    bundle = runner.bundle()
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_LOG",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
            {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
        ]}))
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), seccomp=str(profile),
                               args=_sh("echo works; mkdir /tmp/d && echo mkdir-ok; "
                                        "rmdir /tmp && echo rmdir-ok; true")), bundle)
    assert res.returncode == 0, res.stderr
    assert "works" in res.stdout
    assert "mkdir-ok" not in res.stdout and "rmdir-ok" not in res.stdout
    assert "No space left on device" in res.stderr  # errnoRet 28 = ENOSPC
    assert "Operation not permitted" in res.stderr  # runc's default errno: EPERM


@needs_runc
def test_runc_cap_add_sys_admin_allows_mount(runner):
    bundle = runner.bundle()
    res = runner.run(SpecInput(rootfs=str(bundle / "rootfs"), cap_add=["SYS_ADMIN"],
                               args=_sh("mount -t tmpfs none /tmp && echo mount-ok")), bundle)
    assert res.returncode == 0, res.stderr
    assert "mount-ok" in res.stdout


def _kernel_config() -> str:
    import gzip
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return f.read()
    except OSError:
        return ""


def test_host_profile_leaves_out_only_what_the_kernel_cannot_run():
    """The host's profile drops x32 exactly when the kernel has no x32 ABI (each
    architecture costs runc a filter to compile); an explicit arch keeps Docker's list."""
    if seccomp.native_arch() != "amd64":
        pytest.skip("x32 is an amd64 sub-architecture")
    p = seccomp.default_profile(DEFAULT_CAPS)
    runs_x32 = seccomp.kernel_runs("SCMP_ARCH_X32")
    expected = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"] + (["SCMP_ARCH_X32"] if runs_x32 else [])
    assert p["architectures"] == expected
    config = _kernel_config()
    if config:
        assert runs_x32 == ("CONFIG_X86_X32_ABI=y" in config)
    assert seccomp.kernel_runs("SCMP_ARCH_X86") and seccomp.kernel_runs("SCMP_ARCH_ARM")
    explicit = seccomp.default_profile(DEFAULT_CAPS, arch="amd64", kernel=KERNEL)
    assert explicit["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
