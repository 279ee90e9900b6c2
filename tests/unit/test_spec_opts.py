"""The OCI spec as composable options: each option owns its part of the spec."""

from __future__ import annotations

import pytest

from baleine.engine.runtime import spec as spec_mod
from baleine.engine.runtime.spec import SpecContext, SpecInput, build_spec
from baleine.rules.errors import InvalidParameter


@pytest.fixture
def rootfs(tmp_path) -> str:  # noqa: ANN001 - pytest's tmp_path
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nbob:x:1000:\n")
    return str(tmp_path)


def test_each_option_writes_its_part_only(rootfs: str) -> None:
    inp = SpecInput(rootfs=rootfs, args=["sh"], hostname="h")
    only_ns = build_spec(inp, cgroup_v2=True, opts=(spec_mod.with_namespaces,))
    assert list(only_ns) == ["ociVersion", "linux"] and list(only_ns["linux"]) == ["namespaces"]
    only_process = build_spec(inp, cgroup_v2=True, opts=(spec_mod.with_process, spec_mod.with_hostname))
    assert list(only_process) == ["ociVersion", "process", "hostname"]
    assert only_process["process"]["env"][:2] == ["PATH=" + spec_mod.DEFAULT_PATH_ENV, "HOSTNAME=h"]


def test_default_options_in_any_order_give_docker_key_order(rootfs: str) -> None:
    inp = SpecInput(rootfs=rootfs, args=["sh"], hostname="h", annotations={"a": "b"}, cgroups_path="/x")
    forward = build_spec(inp, cgroup_v2=True)
    backward = build_spec(inp, cgroup_v2=True, opts=tuple(reversed(spec_mod.DEFAULT_OPTS)))
    assert forward == backward
    assert list(forward) == ["ociVersion", "process", "root", "hostname", "mounts", "linux", "annotations"]
    assert list(forward["linux"]) == ["sysctl", "resources", "cgroupsPath", "namespaces", "seccomp", "devices",
                                      "maskedPaths", "readonlyPaths"]
    assert list(forward["linux"]["resources"])[0] == "devices"


def test_context_is_settled_before_any_option(rootfs: str) -> None:
    ctx = SpecContext.of(SpecInput(rootfs=rootfs, args=["sh"], user="bob", ipc_mode="", init_path="/i"), True)
    assert (ctx.user.uid, ctx.ipc, ctx.pid_private, ctx.with_init) == (1000, "private", True, True)
    with pytest.raises(InvalidParameter, match="No command specified"):
        build_spec(SpecInput(rootfs=rootfs, args=[]), opts=())


def test_a_custom_option_composes(rootfs: str) -> None:
    def with_label(spec: dict, ctx: SpecContext) -> None:
        spec.setdefault("annotations", {})["x"] = ctx.inp.hostname

    spec = build_spec(SpecInput(rootfs=rootfs, args=["sh"], hostname="h"), cgroup_v2=False,
                      opts=(*spec_mod.DEFAULT_OPTS, with_label))
    assert spec["annotations"] == {"x": "h"}
    assert {"type": "cgroup"} not in spec["linux"]["namespaces"]  # cgroup v1: the host's
