"""Real clients through Baleine (``DOCKER_HOST``): ``docker pull/push/login`` and
docker-py's ``pull``/``push``/``login``, against Baleine's registry and the CNCF
registry on loopback."""

from __future__ import annotations

import json
import os

import pytest

from ..conftest import BUSYBOX_TAR, DOCKER
from ..registries import any_registry, htpasswd, skopeo_push_archive, start_baleine, start_cncf# noqa: F401

needs_docker = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")


@needs_docker
def test_docker_cli_push_and_pull(fresh_daemon, any_registry):
    d, reg = fresh_daemon, any_registry
    d.ok("load", "-i", str(BUSYBOX_TAR))
    ref = f"{reg.host}/cli/busybox:1.35"
    r = d.docker("tag", "busybox:1.35", ref)
    assert r.returncode == 0, r.stderr
    r = d.docker("push", ref)
    assert r.returncode == 0, r.stderr
    assert f"The push refers to repository [{reg.host}/cli/busybox]" in r.stdout
    assert "1.35: digest: sha256:" in r.stdout
    digest = r.stdout.split("digest: ", 1)[1].split()[0]
    r = d.docker("rmi", ref)
    assert r.returncode == 0, r.stderr
    d.ok("rmi", "-f", "busybox:1.35", "busybox:latest")
    r = d.docker("pull", ref)
    assert r.returncode == 0, r.stderr
    assert f"Digest: {digest}" in r.stdout and r.stdout.strip().splitlines()[-1] == ref
    r = d.docker("image", "inspect", "--format", "{{json .RepoDigests}}", ref)
    assert json.loads(r.stdout) == [f"{reg.host}/cli/busybox@{digest}"]
    r = d.docker("images", "--digests", "--format", "{{.Digest}}", f"{reg.host}/cli/busybox")
    assert r.stdout.strip() == digest
    r = d.docker("run", "--rm", f"{reg.host}/cli/busybox@{digest}", "echo", "ok")
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    r = d.docker("pull", f"{reg.host}/cli/busybox:nosuch")
    assert r.returncode == 1 and "not found: manifest unknown" in r.stderr


@needs_docker
@pytest.mark.parametrize("kind", ["baleine", "cncf"])
def test_docker_cli_login(fresh_daemon, tmp_path, kind):
    d = fresh_daemon
    users = htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})
    reg = start_baleine(tmp_path / "reg", "--htpasswd", str(users)) if kind == "baleine" \
        else start_cncf(tmp_path / "reg", htpasswd_file=users)
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        ref = f"{reg.host}/private/busybox:1"
        d.ok("tag", "busybox:1.35", ref)
        r = d.docker("login", "-u", "alice", "--password-stdin", reg.host, input="wrong\n")
        assert r.returncode != 0
        r = d.docker("login", "-u", "alice", "--password-stdin", reg.host, input="s3cret\n")
        assert r.returncode == 0 and "Login Succeeded" in r.stdout, r.stderr
        r = d.docker("push", ref)
        assert r.returncode == 0, r.stderr
        d.ok("rmi", ref)
        r = d.docker("pull", ref)
        assert r.returncode == 0, r.stderr
        r = d.docker("logout", reg.host)
        assert r.returncode == 0
        r = d.docker("pull", ref)
        assert r.returncode != 0 and "pull access denied" in r.stderr, r.stderr
    finally:
        reg.destroy()


def test_docker_py_pull_and_push(fresh_daemon, any_registry):
    d, reg = fresh_daemon, any_registry
    skopeo_push_archive(BUSYBOX_TAR, "busybox:1.35", reg, "py/busybox:1.35")
    client = d.api()
    try:
        image = client.images.pull(f"{reg.host}/py/busybox", tag="1.35")
        assert f"{reg.host}/py/busybox:1.35" in image.tags
        assert image.attrs["RepoDigests"][0].startswith(f"{reg.host}/py/busybox@sha256:")
        assert client.containers.run(image.id, ["echo", "from docker-py"], remove=True) == b"from docker-py\n"
        image.tag(f"{reg.host}/py/copy", "v1")
        messages = list(client.images.push(f"{reg.host}/py/copy", tag="v1", stream=True, decode=True))
        assert not [m for m in messages if "error" in m], messages
        assert any((m.get("aux") or {}).get("Tag") == "v1" for m in messages)
        client.images.remove(f"{reg.host}/py/copy:v1")
        again = client.images.pull(f"{reg.host}/py/copy", tag="v1")
        assert again.id == image.id
        import docker

        with pytest.raises(docker.errors.NotFound):
            client.images.pull(f"{reg.host}/py/nosuch", tag="1")
        dist = client.images.get_registry_data(f"{reg.host}/py/busybox:1.35")
        assert dist.id.startswith("sha256:")
        assert dist.has_platform("linux/amd64")
    finally:
        client.close()


def test_docker_py_login_and_auth_config(fresh_daemon, tmp_path):
    d = fresh_daemon
    users = htpasswd(tmp_path / "htpasswd", {"alice": "s3cret"})
    reg = start_baleine(tmp_path / "reg", "--htpasswd", str(users), "--token")
    client = d.api()
    try:
        import docker

        with pytest.raises(docker.errors.APIError):
            client.login("alice", "wrong", registry=reg.host, reauth=True)
        assert client.login("alice", "s3cret", registry=reg.host, reauth=True)["Status"] == "Login Succeeded"
        d.ok("load", "-i", str(BUSYBOX_TAR))
        client.images.get("busybox:1.35").tag(f"{reg.host}/py/busybox", "1")
        out = client.images.push(f"{reg.host}/py/busybox", tag="1",
                                 auth_config={"username": "alice", "password": "s3cret"})
        assert "digest: sha256:" in out and '"error"' not in out, out
        client.images.remove(f"{reg.host}/py/busybox:1")
        client.images.pull(f"{reg.host}/py/busybox", tag="1",
                           auth_config={"username": "alice", "password": "s3cret"})
        with pytest.raises(docker.errors.APIError, match="unauthorized"):
            client.images.pull(f"{reg.host}/py/busybox", tag="1", auth_config={"username": "alice",
                                                                                  "password": "bad"})
    finally:
        client.close()
        reg.destroy()
