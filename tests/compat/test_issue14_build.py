"""Issue 14: a failed RUN keeps its container with the classic builder, as dockerd's
does (moby's ``dispatch`` removes a step's container after success or with
``--force-rm`` only), through ``DOCKER_BUILDKIT=0 docker build`` and docker-py,
against a real daemon."""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from ..conftest import BUSYBOX_TAR, DOCKER, Daemon

pytestmark = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")

FAILING = "FROM busybox\nRUN echo hi > /f && false\n"
MESSAGE = "The command '/bin/sh -c echo hi > /f && false' returned a non-zero code: 1"


@pytest.fixture
def classic(daemon: Daemon) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``docker ARGS`` with the classic builder."""
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = daemon.env()
        env["DOCKER_BUILDKIT"] = "0"
        return subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=180)
    return run


def _context(root: Path, dockerfile: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(dockerfile)
    return root


def _step_containers(output: str) -> list[str]:
    """The short IDs of the ``Running in`` lines of a classic build's output."""
    return re.findall(r"---> Running in ([0-9a-f]{12})", output)


def _file_from(daemon: Daemon, cid: str, path: str) -> bytes:
    """``docker cp CID:PATH -``: the file out of the tar stream."""
    env = daemon.env()
    p = subprocess.run([DOCKER, "cp", f"{cid}:{path}", "-"], env=env, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tar:
        member = tar.getmembers()[0]
        f = tar.extractfile(member)
        assert f is not None
        return f.read()


def _all_ids(daemon: Daemon, *args: str) -> set[str]:
    return set(daemon.docker_ok(*args, "-aq", "--no-trunc").split())


def test_failed_run_keeps_its_container_with_the_cli(daemon: Daemon, classic, tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx", FAILING)
    r = classic("build", str(ctx))
    assert r.returncode == 1, r.stdout + r.stderr
    assert MESSAGE in r.stderr
    (cid,) = _step_containers(r.stdout)
    assert f"Removed intermediate container {cid}" not in r.stdout
    busybox = daemon.docker_ok("image", "inspect", "-f", "{{.Id}}", "busybox").strip()[7:19]
    committed = ""
    try:
        row = daemon.docker_ok("ps", "-a", "--no-trunc", "--filter", f"id={cid}", "--format",
                      "{{.ID}}|{{.Status}}|{{.Image}}|{{.Command}}|{{.Names}}").strip()
        short, status, image, command, names = row.split("|")
        assert short[:12] == cid
        assert status.startswith("Exited (1)")
        assert image[7:19] == busybox  # the parent step: FROM busybox itself
        assert "/bin/sh -c echo hi > /f && false" in command
        assert re.fullmatch(r"[a-z]+_[a-z]+[0-9]*", names)
        info = daemon.api().api.inspect_container(cid)
        assert info["State"]["ExitCode"] == 1 and info["Config"]["Cmd"] == ["/bin/sh", "-c",
                                                                              "echo hi > /f && false"]
        assert _file_from(daemon, cid, "/f") == b"hi\n"
        committed = daemon.docker_ok("commit", cid).strip()
        assert daemon.docker("run", "--rm", committed, "cat", "/f").out.strip() == "hi"
        # The container runs its RUN again when started: it fails the same way.
        assert daemon.docker("start", "-a", cid).returncode == 1
    finally:
        daemon.docker("rm", "-f", cid)
        if committed:
            daemon.docker("rmi", committed)


def test_a_committed_parent_is_an_image_rmi_refuses_while_the_container_exists(
        daemon: Daemon, classic, tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx", "FROM busybox\nRUN echo one > /one\nENV STAGE=two\n"
                                     "RUN echo hi > /f && cat /one && exit 3\n")
    before = _all_ids(daemon, "images")
    r = classic("build", str(ctx))
    assert r.returncode == 3  # the CLI exits with the step's code (errorDetail.code)
    assert "The command '/bin/sh -c echo hi > /f && cat /one && exit 3' returned a non-zero code: 3" in r.stderr
    assert "one" in r.stdout
    cid = _step_containers(r.stdout)[-1]
    info = daemon.api().api.inspect_container(cid)
    parent = info["Image"]
    try:
        assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 3
        assert "STAGE=two" in info["Config"]["Env"]
        # The parent step (after ENV) exists as an untagged image, the only new one.
        assert _all_ids(daemon, "images") - before == {parent}
        assert daemon.docker_ok("image", "inspect", "-f", "{{len .RepoTags}}", parent).strip() == "0"
        assert _file_from(daemon, cid, "/f") == b"hi\n"
        assert _file_from(daemon, cid, "/one") == b"one\n"
        refused = daemon.docker("rmi", parent)
        assert refused.returncode != 0 and "is being used by stopped container" in refused.stderr
    finally:
        daemon.docker("rm", "-f", cid)
        daemon.docker("rmi", parent)
    assert _all_ids(daemon, "images") == before


def test_force_rm_leaves_no_container(daemon: Daemon, classic, tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx", FAILING)
    containers, images = _all_ids(daemon, "ps"), _all_ids(daemon, "images")
    r = classic("build", "--force-rm", str(ctx))
    assert r.returncode == 1 and MESSAGE in r.stderr
    (cid,) = _step_containers(r.stdout)
    assert f"Removed intermediate container {cid}" in r.stdout
    assert _all_ids(daemon, "ps") == containers
    assert _all_ids(daemon, "images") == images


def test_successful_build_leaves_no_container_and_no_extra_image(daemon: Daemon, classic, tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx", "FROM busybox\nRUN echo ok > /ok\nENV A=1\nRUN cat /ok\n")
    containers, images = _all_ids(daemon, "ps"), _all_ids(daemon, "images")
    r = classic("build", "--no-cache", str(ctx))
    assert r.returncode == 0, r.stderr
    built = re.search(r"Successfully built ([0-9a-f]{12})", r.stdout)
    assert built is not None
    try:
        assert _all_ids(daemon, "ps") == containers
        added = _all_ids(daemon, "images") - images
        assert [i[7:19] for i in added] == [built.group(1)]
    finally:
        daemon.docker("rmi", built.group(1))


def test_docker_py_failed_build_keeps_the_container(daemon: Daemon, api: docker.APIClient) -> None:
    client = docker.DockerClient(base_url=daemon.host, version="auto", timeout=120)
    try:
        with pytest.raises(docker.errors.BuildError) as err:
            client.images.build(fileobj=io.BytesIO(FAILING.encode()), rm=True)
        assert MESSAGE in str(err.value)
        log = "".join(chunk.get("stream", "") for chunk in err.value.build_log)
        (cid,) = _step_containers(log)
        try:
            (listed,) = api.containers(all=True, filters={"id": cid})
            assert listed["State"] == "exited" and listed["Status"].startswith("Exited (1)")
            stream, _ = api.get_archive(cid, "/f")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                f = tar.extractfile("f")
                assert f is not None and f.read() == b"hi\n"
        finally:
            api.remove_container(cid, force=True)
        with pytest.raises(docker.errors.BuildError) as err:
            client.images.build(fileobj=io.BytesIO(FAILING.encode()), forcerm=True)
        log = "".join(chunk.get("stream", "") for chunk in err.value.build_log)
        (gone,) = _step_containers(log)
        assert api.containers(all=True, filters={"id": gone}) == []
    finally:
        client.close()


def test_a_failed_stage_keeps_its_container_and_cancels_the_others(daemon: Daemon, classic, tmp_path: Path) -> None:
    # Stages a and b run at once: b fails, a is cancelled (its container removed, as
    # dockerd removes the container of a cancelled step); only b's is kept.
    ctx = _context(tmp_path / "ctx", "FROM busybox AS a\nRUN sleep 5 && touch /a\n"
                                     "FROM busybox AS b\nRUN echo hi > /f && false\n"
                                     "FROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /f /f\n")
    containers = _all_ids(daemon, "ps")
    r = classic("build", str(ctx))
    assert r.returncode == 1 and MESSAGE in r.stderr
    kept = _all_ids(daemon, "ps") - containers
    try:
        assert len(kept) == 1
        (cid,) = kept
        assert cid[:12] in _step_containers(r.stdout)
        assert _file_from(daemon, cid, "/f") == b"hi\n"
    finally:
        for cid in kept:
            daemon.docker("rm", "-f", cid)
    assert not os.listdir(daemon.data_root / "tmp" / "build")


def test_baleine_build_keeps_it_too(daemon: Daemon, tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx", FAILING)
    containers = _all_ids(daemon, "ps")
    r = daemon.cli("build", "--progress=plain", str(ctx))
    assert r.returncode == 1 and MESSAGE in r.stderr
    kept = _all_ids(daemon, "ps") - containers
    try:
        assert len(kept) == 1
        (cid,) = kept
        assert daemon.ok("ps", "-a", "--filter", f"id={cid}", "--format", "{{.Status}}").startswith("Exited (1)")
        assert daemon.cli("start", "-a", cid).returncode == 1
    finally:
        for cid in kept:
            daemon.docker("rm", "-f", cid)
    r = daemon.cli("build", "--progress=plain", "--force-rm", str(ctx))
    assert r.returncode == 1 and _all_ids(daemon, "ps") == containers


def test_a_run_that_cannot_start_keeps_a_created_container(daemon: Daemon, classic, tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx", "FROM busybox\nRUN [\"/nonexistent\"]\n")
    containers = _all_ids(daemon, "ps")
    r = classic("build", str(ctx))
    assert r.returncode == 1 and "/nonexistent: no such file or directory" in r.stderr
    kept = _all_ids(daemon, "ps") - containers
    try:
        assert len(kept) == 1
        (cid,) = kept
        state = daemon.api().api.inspect_container(cid)["State"]
        assert state["Status"] == "created" and state["ExitCode"] == 127
        assert "/nonexistent: no such file or directory" in state["Error"]
    finally:
        for cid in kept:
            daemon.docker("rm", "-f", cid)


def test_kept_container_survives_a_daemon_restart_and_its_removal_frees_the_parent(
        fresh_daemon: Daemon, tmp_path: Path) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    env = d.env()
    env["DOCKER_BUILDKIT"] = "0"
    ctx = _context(tmp_path / "ctx", "FROM busybox\nRUN echo one > /one\nRUN echo hi > /f && rm /one && false\n")
    images = _all_ids(d, "images")
    r = subprocess.run([DOCKER, "build", str(ctx)], env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 1 and "returned a non-zero code: 1" in r.stderr
    cid = _step_containers(r.stdout)[-1]
    d.stop()
    d.start()
    assert d.docker_ok("ps", "-a", "--filter", f"id={cid}", "--format", "{{.Status}}").startswith("Exited (1)")
    assert _file_from(d, cid, "/f") == b"hi\n"
    assert sorted(d.docker_ok("diff", cid).split("\n")) == ["A /f", "D /one"]
    parent = d.api().api.inspect_container(cid)["Image"]
    d.docker_ok("rm", cid)
    d.docker_ok("rmi", parent)
    assert _all_ids(d, "images") == images
