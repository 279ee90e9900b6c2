"""Builds through real clients: ``DOCKER_BUILDKIT=0 docker build`` (docker CLI 28,
the classic builder protocol) and docker-py's ``images.build``."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import docker
import pytest

from ..conftest import DOCKER, Daemon


def write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(data)
    return root


@pytest.fixture
def classic(daemon: Daemon):
    if not os.path.exists(DOCKER):
        pytest.skip("docker CLI not installed")

    def run(*args: str, **kw):
        env = daemon.env()
        env["DOCKER_BUILDKIT"] = "0"
        import subprocess

        p = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True, timeout=180, **kw)
        return p
    return run


def test_docker_cli_classic_build(daemon: Daemon, classic, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": "ARG BASE=busybox\nFROM $BASE AS base\nARG MSG=default\nCOPY app.txt /app/\n"
                      "RUN echo \"msg=$MSG\" && cat /app/app.txt > /app/out.txt\nFROM base\nCMD [\"cat\", \"/app/out.txt\"]\n",
        "app.txt": "hello from docker build\n", "ignored.txt": "x", ".dockerignore": "ignored.txt\n"})
    iid = tmp_path / "iid"
    try:
        r = classic("build", "-t", "classic:test", "--build-arg", "MSG=hi", "--iidfile", str(iid), str(ctx))
        assert r.returncode == 0, r.stderr
        assert "Sending build context to Docker daemon" in r.stdout
        assert "Step 1/7 : ARG BASE=busybox" in r.stdout or "Step 1/" in r.stdout
        assert "msg=hi" in r.stdout
        assert "Successfully built" in r.stdout and "Successfully tagged classic:test" in r.stdout
        assert iid.read_text().startswith("sha256:")
        assert daemon.ok("run", "--rm", "classic:test") == "hello from docker build"
        # rebuild: cached, same image
        r2 = classic("build", "-t", "classic:test", "--build-arg", "MSG=hi", str(ctx))
        assert r2.returncode == 0 and "Using cache" in r2.stdout
        assert iid.read_text()[7:19] in r2.stdout
        # quiet
        r3 = classic("build", "-q", "--build-arg", "MSG=hi", str(ctx))
        assert r3.returncode == 0 and r3.stdout.strip() == iid.read_text()
        # the .dockerignore was applied by the docker CLI
        r4 = classic("run", "--rm", "classic:test", "ls", "/app")
        assert r4.stdout.split() == ["app.txt", "out.txt"]
    finally:
        daemon.cli("rmi", "-f", "classic:test")


def test_docker_cli_classic_build_failure(daemon: Daemon, classic, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo before-failure && exit 9\n"})
    r = classic("build", str(ctx))
    assert r.returncode == 9  # docker exits with the failed RUN's code
    assert "before-failure" in r.stdout
    assert "returned a non-zero code: 9" in r.stderr
    write(ctx, {"Dockerfile": "FROM busybox\nBOGUS x\n"})
    r = classic("build", str(ctx))
    assert r.returncode == 1 and "unknown instruction: BOGUS" in r.stderr


def test_docker_cli_build_from_stdin(daemon: Daemon, classic) -> None:
    r = classic("build", "-q", "-", input="FROM busybox\nRUN echo stdin-dockerfile\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("sha256:")


@pytest.fixture
def dc(daemon: Daemon):
    client = daemon.api()
    yield client
    client.close()


def test_dockerpy_build_and_errors(dc, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox AS main\nARG WHO\nLABEL who=$WHO\n"
                                                 "RUN echo built-by-$WHO\nFROM busybox AS other\nRUN exit 1\n"})
    try:
        image, logs = dc.images.build(path=str(ctx), tag="dockerpy:build", buildargs={"WHO": "py"},
                                      labels={"extra": "label"}, target="main", rm=True)
        streams = "".join(chunk.get("stream", "") for chunk in logs)
        assert "built-by-py" in streams
        assert "dockerpy:build" in image.tags
        assert image.labels == {"who": "py", "extra": "label"}
        with pytest.raises(docker.errors.BuildError) as exc:
            dc.images.build(path=str(ctx), target="other", forcerm=True)
        assert "returned a non-zero code: 1" in str(exc.value)
        with pytest.raises(docker.errors.APIError):
            dc.images.build(fileobj=io.BytesIO(b"FROM busybox\nNOPE\n"))
    finally:
        try:
            dc.images.remove("dockerpy:build", force=True)
        except docker.errors.ImageNotFound:
            pass


def test_dockerpy_build_fileobj_and_custom_context(dc) -> None:
    image, _ = dc.images.build(fileobj=io.BytesIO(b"FROM busybox\nENV FROM_FILEOBJ=1\n"))
    assert "FROM_FILEOBJ=1" in image.attrs["Config"]["Env"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM busybox\nCOPY f /f\n"), ("f", b"custom\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    image, _ = dc.images.build(fileobj=buf, custom_context=True, tag="dockerpy:custom")
    try:
        out = dc.containers.run("dockerpy:custom", ["cat", "/f"], remove=True)
        assert out == b"custom\n"
    finally:
        dc.images.remove("dockerpy:custom", force=True)
    result = dc.api.prune_builds()
    assert "SpaceReclaimed" in result
