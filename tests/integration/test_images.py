"""Image store: load (legacy and OCI layouts, compressed or not), save, import,
tag, rmi semantics, history, images listing and filters."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import subprocess
import tarfile

import pytest
import zstandard

from ..conftest import BUSYBOX_OCI, BUSYBOX_TAR, Daemon

COMPRESSORS = {
    "none": lambda b: b,
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
@pytest.mark.parametrize("archive", [BUSYBOX_TAR, BUSYBOX_OCI], ids=["legacy", "oci"])
def test_load_every_format(fresh_daemon: Daemon, tmp_path, kind: str, archive) -> None:
    d = fresh_daemon
    path = tmp_path / f"img.{kind}"
    path.write_bytes(COMPRESSORS[kind](archive.read_bytes()))
    out = d.ok("load", "-i", str(path))
    assert "Loaded image: busybox:1.35" in out
    assert d.ok("run", "--rm", "busybox:1.35", "echo", "ok") == "ok"
    # Loading from stdin works the same.
    assert "busybox:1.35" in d.ok("load", input=path.read_bytes())


def test_layers_shared_between_images(fresh_daemon: Daemon) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("load", "-i", str(BUSYBOX_OCI))
    overlay = d.data_root / "overlay"
    layer_dirs = [p for p in overlay.iterdir() if p.name.startswith("l")]
    assert len(layer_dirs) == 1  # both archives carry the same layer: unpacked once


def test_save_load_round_trip(daemon: Daemon, tmp_path, name: str) -> None:
    ref = f"roundtrip-{name.lower()}:v1"
    daemon.ok("tag", "busybox:1.35", ref)
    out = tmp_path / "saved.tar"
    daemon.ok("save", "-o", str(out), ref)
    with tarfile.open(out) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
        index = json.load(t.extractfile("index.json"))
    assert "oci-layout" in names
    assert manifest[0]["RepoTags"] == [ref]
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == "docker.io/library/" + ref
    image_id = daemon.inspect(ref)["Id"]
    daemon.ok("rmi", ref)
    assert f"Loaded image: {ref}" in daemon.ok("load", "-i", str(out))
    assert daemon.inspect(ref)["Id"] == image_id
    # skopeo, a reader no one here wrote, understands the archive too.
    if subprocess.run(["which", "skopeo"], capture_output=True).returncode == 0:
        r = subprocess.run(["skopeo", "inspect", f"docker-archive:{out}"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run(["skopeo", "inspect", f"oci-archive:{out}"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    daemon.ok("rmi", ref)
    # save to stdout
    r = subprocess.run(["sh", "-c", " ".join(daemon_cli_words(daemon)) + " save busybox:1.35 | tar -t"],
                       capture_output=True, text=True, env=daemon.env())
    assert r.returncode == 0 and "manifest.json" in r.stdout


def test_import_with_changes(daemon: Daemon, tmp_path, name: str) -> None:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    busybox = "/bin/busybox"
    (root / "bin" / "busybox").write_bytes(open(busybox, "rb").read())
    (root / "bin" / "busybox").chmod(0o755)
    (root / "hello").write_text("imported\n")
    tar = tmp_path / "rootfs.tar.gz"
    subprocess.run(["tar", "-czf", str(tar), "-C", str(root), "."], check=True)
    ref = f"imported-{name.lower()}:1"
    out = daemon.ok("import", "-c", 'CMD ["/bin/busybox", "cat", "/hello"]', "-c", "ENV X=1", "-m", "from test",
                    str(tar), ref)
    assert out.startswith("sha256:")
    assert daemon.ok("run", "--rm", ref) == "imported"
    info = daemon.inspect(ref)
    assert "X=1" in info["Config"]["Env"] and info["Comment"] == "from test"
    hist = daemon.ok("history", "--format", "{{.Comment}}", ref)
    assert hist == "from test"
    # import from stdin
    out = daemon.ok("import", "-", f"{ref}-stdin", input=tar.read_bytes())
    assert out.startswith("sha256:")
    daemon.ok("rmi", ref, f"{ref}-stdin")


def test_rmi_untag_versus_delete(daemon: Daemon, name: str) -> None:
    a, b = f"t1-{name.lower()}", f"t2-{name.lower()}"
    daemon.ok("tag", "busybox:1.35", a)
    daemon.ok("tag", "busybox:1.35", b)
    out = daemon.ok("rmi", a)
    assert out == f"Untagged: {a}:latest"  # other tags remain: only untagged
    image_id = daemon.inspect("busybox:1.35")["Id"]
    r = daemon.cli("rmi", image_id[7:19])
    assert r.returncode == 1 and "must be forced" in r.stderr and "multiple repositories" in r.stderr
    daemon.ok("rmi", b)


def test_images_listing_filters_and_formats(daemon: Daemon, name: str) -> None:
    ref = f"listme-{name.lower()}"
    daemon.ok("tag", "busybox:1.35", f"{ref}:a")
    try:
        table = daemon.ok("images")
        assert table.splitlines()[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
        assert daemon.ok("images", ref, "--format", "{{.Repository}}:{{.Tag}}") == f"{ref}:a"
        assert daemon.ok("images", "--filter", f"reference={ref}:*", "--format", "{{.Tag}}") == "a"
        ids = daemon.ok("images", "-q", ref)
        assert len(ids) == 12
        full = daemon.ok("images", "-q", "--no-trunc", ref)
        assert full.startswith("sha256:")
        js = json.loads(daemon.ok("images", ref, "--format", "{{json .}}"))
        assert js["Repository"] == ref and js["Tag"] == "a"
        assert "DIGEST" in daemon.ok("images", "--digests").splitlines()[0]
    finally:
        daemon.ok("rmi", f"{ref}:a")


def test_history_flags(daemon: Daemon) -> None:
    lines = daemon.ok("history", "busybox:1.35").splitlines()
    assert lines[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    raw = daemon.ok("history", "-H=false", "--no-trunc", "--format", "{{.Size}}|{{.CreatedBy}}", "busybox:1.35")
    sizes = [line.split("|")[0] for line in raw.splitlines()]
    assert all(s.isdigit() for s in sizes) and int(sizes[-1]) > 1_000_000
    assert "ADD file:" in raw and "…" not in raw
    quiet = daemon.ok("history", "-q", "busybox:1.35").splitlines()
    assert quiet[-1] == "<missing>"


def test_image_inspect(daemon: Daemon) -> None:
    info = json.loads(daemon.ok("image", "inspect", "busybox:1.35"))[0]
    assert info["Id"].startswith("sha256:") and info["Config"]["Cmd"] == ["sh"]
    assert info["RootFS"]["Layers"] and info["Os"] == "linux"
    assert daemon.ok("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", "busybox:1.35") == "linux/amd64"
    r = daemon.cli("image", "inspect", "nope:nope")
    assert r.returncode == 1 and "No such image: nope:nope" in r.stderr


def test_image_prune(fresh_daemon: Daemon) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("run", "--name", "mk", "busybox", "touch", "/x")
    image_id = d.ok("commit", "mk")
    d.ok("rm", "mk")
    assert image_id in d.ok("images", "-q", "--no-trunc", "--filter", "dangling=true")
    out = d.ok("image", "prune", "-f")
    assert f"deleted: {image_id}" in out
    assert d.ok("images", "-q", "--filter", "dangling=true") == ""


def daemon_cli_words(daemon: Daemon) -> list[str]:
    from ..conftest import baleine_cmd

    return baleine_cmd()


def test_forced_rmi_keeps_layers_until_the_container_goes(fresh_daemon: Daemon) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    d.ok("run", "--name", "user", "busybox:1.35", "true")
    d.ok("rmi", "-f", "busybox:1.35", "busybox:latest")
    overlay = d.data_root / "overlay"
    assert [p for p in overlay.iterdir() if p.name.startswith("l")]  # the container still needs it
    assert d.ok("start", "-a", "user") == ""  # and still runs
    d.ok("rm", "user")
    assert [p for p in overlay.iterdir() if p.name.startswith("l")] == []
