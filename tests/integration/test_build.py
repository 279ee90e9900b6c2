"""Builds end to end (issue 4): ``baleine build`` against a real daemon, the shared
image sources, the Python layering case, the cache across restarts, multi-stage,
RUN mounts, and the safety rules of COPY, ADD and RUN."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import os
import shutil
import socketserver
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from ..conftest import BUSYBOX_TAR, IMAGES, Daemon


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)
    return root


def build(d: Daemon, ctx: Path, *args: str, ok: bool = True, **kw):
    r = d.cli("build", "--progress=plain", *args, str(ctx), **kw)
    if ok:
        assert r.returncode == 0, f"build failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def image_id(r) -> str:
    for line in r.stdout.splitlines():
        if line.startswith("Successfully built "):
            return line.split()[-1]
    raise AssertionError(f"no image ID in:\n{r.stdout}")


def run_out(d: Daemon, image: str, *cmd: str) -> str:
    return d.ok("run", "--rm", image, *cmd)


def mounts_under(root: Path) -> list[str]:
    """The mount points under ``root``, less the network sandbox pool's (standing state that
    gets new names as RUN steps take sandboxes: ``engine/networks/pool.py``)."""
    with open("/proc/self/mountinfo") as f:
        return sorted(p for p in (line.split()[4] for line in f)
                      if p.startswith(str(root)) and "/netns/pool-" not in p)


def layers_of(d: Daemon, image: str) -> list[str]:
    return d.inspect(image)["RootFS"]["Layers"]


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    return tmp_path / "ctx"


@pytest.fixture
def cleanup_images(daemon: Daemon):
    names: list[str] = []
    yield names
    if names:
        daemon.cli("rmi", "-f", *names)


# -- the shared image sources ----------------------------------------------------------------


def test_shared_busybox_source_builds_offline(daemon: Daemon, tmp_path: Path, cleanup_images) -> None:
    src = IMAGES / "src" / "busybox"
    if not (src / "rootfs.tar.gz").exists():
        pytest.skip("../shared/images/src/busybox/rootfs.tar.gz is not available")
    ctx = tmp_path / "busybox"
    shutil.copytree(src, ctx)
    cleanup_images.append("built/busybox:test")
    r = build(daemon, ctx, "-t", "built/busybox:test")
    assert "Step 2/3 : ADD rootfs.tar.gz /" in r.stdout
    assert run_out(daemon, "built/busybox:test", "sh", "-c", "echo built ok; ls /bin/busybox") == \
        "built ok\n/bin/busybox"
    info = daemon.inspect("built/busybox:test")
    assert info["Config"]["Cmd"] == ["sh"]
    assert len(info["RootFS"]["Layers"]) == 1


def test_shared_debian_source_builds_offline(bookworm_daemon: Daemon, tmp_path: Path) -> None:
    src = IMAGES / "src" / "debian"
    if not (src / "rootfs.tar.xz").exists():
        pytest.skip("../shared/images/src/debian/rootfs.tar.xz is not available")
    d = bookworm_daemon
    ctx = tmp_path / "debian"
    shutil.copytree(src, ctx)
    try:
        build(d, ctx, "-t", "built/debian:test", timeout=600)
        out = run_out(d, "built/debian:test", "sh", "-c", "cat /etc/debian_version; ls /usr/bin/apt-get")
        assert out.splitlines()[0].startswith("12") and "/usr/bin/apt-get" in out
        assert d.inspect("built/debian:test")["Config"]["Cmd"] == ["bash"]
    finally:
        d.cli("rmi", "-f", "built/debian:test")


@pytest.mark.parametrize("name", ["nginx", "postgres", "python", "redis"])
def test_shared_sources_needing_packages(bookworm_daemon: Daemon, name: str) -> None:
    # These install Debian packages with apt-get: they need a package source, which
    # this environment (no network, no local Debian mirror) does not have.
    src = IMAGES / "src" / name / "Dockerfile"
    if not src.exists():
        pytest.skip(f"../shared/images/src/{name} is not available")
    text = src.read_text()
    assert "apt-get install" in text
    pytest.skip(f"src/{name} installs Debian packages (apt-get update/install): it needs a Debian package "
                "source, and the test daemons have no network; the host's apt cache cannot stand in for a mirror "
                "(it lacks the signed index files apt checks, such as Translation-en)")


# -- the layering case ----------------------------------------------------------------------


def tiny_wheel(path: Path, name: str = "tinydep", version: str = "1.0") -> None:
    """A pure-Python wheel, made by hand (no build tools, no network)."""
    files = {
        f"{name}/__init__.py": "def greet(who):\n    return f'hello {who} from " + name + "'\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: baleine-tests\nRoot-Is-Purelib: true\n"
                                             "Tag: py3-none-any\n",
    }
    record = []
    with zipfile.ZipFile(path / f"{name}-{version}-py3-none-any.whl", "w") as z:
        for rel, data in files.items():
            z.writestr(rel, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{rel},sha256={digest},{len(data)}")
        record.append(f"{name}-{version}.dist-info/RECORD,,")
        z.writestr(f"{name}-{version}.dist-info/RECORD", "\n".join(record) + "\n")


PY_DOCKERFILE = """\
FROM python:3.11-slim
RUN python3 -m venv /venv
ENV PATH=/venv/bin:$PATH
WORKDIR /app
COPY requirements.txt /app/
COPY wheels/ /app/wheels/
RUN pip install --no-index --find-links /app/wheels -r requirements.txt
COPY app.py .
CMD ["python", "app.py"]
"""


def test_python_dependencies_layer_survives_code_change(bookworm_daemon: Daemon, tmp_path: Path) -> None:
    d = bookworm_daemon
    ctx = write(tmp_path / "py", {"Dockerfile": PY_DOCKERFILE, "requirements.txt": "tinydep==1.0\n",
                                  "app.py": "import tinydep\nprint(tinydep.greet('v1'))\n"})
    (ctx / "wheels").mkdir()
    tiny_wheel(ctx / "wheels")
    try:
        first = build(d, ctx, "-t", "pyapp:test", timeout=300)
        assert "Successfully installed tinydep-1.0" in first.stdout
        assert run_out(d, "pyapp:test") == "hello v1 from tinydep"
        layers1 = layers_of(d, "pyapp:test")

        (ctx / "app.py").write_text("import tinydep\nprint(tinydep.greet('v2'))\n")
        second = build(d, ctx, "-t", "pyapp:test", timeout=300)
        steps = second.stdout.split("Step ")
        by_text = {s.split(" : ", 1)[1].splitlines()[0]: s for s in steps[1:]}
        for text in ("RUN python3 -m venv /venv", "COPY requirements.txt /app/", "COPY wheels/ /app/wheels/",
                     "RUN pip install --no-index --find-links /app/wheels -r requirements.txt"):
            assert "Using cache" in by_text[text], f"{text} was not cached:\n{second.stdout}"
        assert "Using cache" not in by_text["COPY app.py ."]
        assert "Running in" not in second.stdout  # no RUN step ran again
        assert run_out(d, "pyapp:test") == "hello v2 from tinydep"
        layers2 = layers_of(d, "pyapp:test")
        # Every layer up to and including the dependencies is the same; only the code layer changed.
        assert layers2[:-1] == layers1[:-1]
        assert layers2[-1] != layers1[-1]
        # The dependency layer holds the package, the code layer only the code.
        hist = json.loads(d.ok("history", "--no-trunc", "--format", "{{json .}}", "pyapp:test").splitlines()[0])
        assert "CMD" in hist["CreatedBy"]
    finally:
        d.cli("rmi", "-f", "pyapp:test")


# -- basic behaviour ------------------------------------------------------------------------


def test_build_run_metadata_and_history(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": (
        "FROM busybox\n"
        "LABEL maintainer=me version=\"1 0\"\n"
        "ENV A=1 B=\"two words\"\n"
        "ENV C=${A}-$B\n"
        "WORKDIR /app\n"
        "WORKDIR sub\n"
        "COPY hello.txt .\n"
        "RUN cat hello.txt > copy.txt && echo \"A=$A C=$C\"\n"
        "EXPOSE 80 53/udp\n"
        "VOLUME /data\n"
        "USER 1000:1000\n"
        "STOPSIGNAL SIGINT\n"
        "HEALTHCHECK --interval=30s --retries=3 CMD true\n"
        "ENTRYPOINT [\"sh\", \"-c\"]\n"
        "CMD [\"cat /app/sub/copy.txt\"]\n"), "hello.txt": "hello\n"})
    cleanup_images.append("meta:test")
    r = build(daemon, ctx, "-t", "meta:test", "--label", "extra=1")
    assert "A=1 C=1-two words" in r.stdout
    assert "Step 16/16 : LABEL" in r.stdout
    cfg = daemon.inspect("meta:test")["Config"]
    assert cfg["Labels"] == {"maintainer": "me", "version": "1 0", "extra": "1"}
    assert "A=1" in cfg["Env"] and "B=two words" in cfg["Env"] and "C=1-two words" in cfg["Env"]
    assert cfg["WorkingDir"] == "/app/sub"
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["Volumes"] == {"/data": {}}
    assert cfg["User"] == "1000:1000"
    assert cfg["StopSignal"] == "SIGINT"
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 30_000_000_000, "Retries": 3}
    assert cfg["Entrypoint"] == ["sh", "-c"] and cfg["Cmd"] == ["cat /app/sub/copy.txt"]
    assert run_out(daemon, "meta:test") == "hello"
    hist = daemon.ok("history", "--no-trunc", "--format", "{{.CreatedBy}}\t{{.Size}}", "meta:test").splitlines()
    assert hist[0].startswith("LABEL")
    assert any(h.startswith("RUN /bin/sh -c cat hello.txt") for h in hist)
    assert any(h.startswith("ENV A=1 B=two words") and h.endswith("0B") for h in hist)


def test_no_change_rebuild_is_fully_cached_and_same_id(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY a.txt /\nRUN cat /a.txt > /b.txt\nCMD [\"cat\", \"/b.txt\"]\n",
                "a.txt": "a\n"})
    cleanup_images.append("nochange:test")
    first = image_id(build(daemon, ctx, "-t", "nochange:test"))
    second = build(daemon, ctx, "-t", "nochange:test")
    assert second.stdout.count("Using cache") == 3
    assert image_id(second) == first
    # touching a file (mtime only) keeps the cache; changing content does not
    os.utime(ctx / "a.txt", (1, 1))
    assert image_id(build(daemon, ctx, "-t", "nochange:test")) == first
    (ctx / "a.txt").write_text("changed\n")
    third = build(daemon, ctx, "-t", "nochange:test")
    assert image_id(third) != first
    assert third.stdout.count("Using cache") == 0
    assert run_out(daemon, "nochange:test") == "changed"
    # --no-cache runs everything again
    assert build(daemon, ctx, "--no-cache").stdout.count("Using cache") == 0


def test_quiet_iidfile_and_tags(daemon: Daemon, ctx: Path, tmp_path: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": "FROM busybox\nRUN echo quiet-output\n"})
    cleanup_images.extend(["q1:a", "q2:b"])
    iid = tmp_path / "iid"
    r = daemon.cli("build", "-q", "--iidfile", str(iid), "-t", "q1:a", "-t", "q2:b", str(ctx))
    assert r.returncode == 0, r.stderr
    assert "quiet-output" not in r.stdout
    assert r.out.startswith("sha256:") and iid.read_text() == r.out
    assert daemon.inspect("q1:a")["Id"] == r.out == daemon.inspect("q2:b")["Id"]
    # --rm is a boolean flag, as docker's: alone it never takes the next word (the path).
    for flags in (["--rm"], ["--rm=false"], ["--rm=1", "--force-rm"]):
        r = daemon.cli("build", "-q", *flags, str(ctx))
        assert (r.returncode, r.out) == (0, daemon.inspect("q1:a")["Id"]), (flags, r.stderr)
    r = daemon.cli("build", "-q", "--rm=nope", str(ctx))
    assert r.returncode == 125
    assert r.stderr.startswith('invalid argument "nope" for "--rm" flag: strconv.ParseBool: parsing "nope": '
                               "invalid syntax\nSee 'baleine build --help'.")


def test_build_args_and_scoping(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": (
        "ARG TAG=latest\n"
        "ARG UNUSED_GLOBAL=g\n"
        "FROM busybox:${TAG}\n"
        "ARG TAG\n"
        "ARG GREETING=hello\n"
        "ARG WHO\n"
        "ENV FROM_ENV=env-value\n"
        "ARG FROM_ENV=arg-value\n"
        "RUN echo \"tag=$TAG greeting=$GREETING who=$WHO from_env=$FROM_ENV\"\n"
        "RUN echo \"unused=${UNUSED_GLOBAL:-none}\"\n"
        "ARG TARGETPLATFORM\n"
        "RUN echo \"platform=$TARGETPLATFORM\"\n"
        "RUN echo \"proxy=$HTTP_PROXY\"\n"
        "MAINTAINER someone <someone@example.com>\n"
        "LABEL g=$GREETING\n")})
    cleanup_images.append("args:test")
    r = build(daemon, ctx, "-t", "args:test", "--build-arg", "GREETING=bonjour", "--build-arg", "WHO=world",
              "--build-arg", "NOT_DECLARED=x", "--build-arg", "HTTP_PROXY=http://proxy.invalid:3128",
              "--platform", "linux/amd64")
    assert "tag=latest greeting=bonjour who=world from_env=env-value" in r.stdout
    assert "unused=none" in r.stdout  # a global ARG is not visible in a stage without ARG
    assert "platform=linux/" in r.stdout
    # proxies reach RUN without an ARG, are not "unconsumed", and stay out of the history
    assert "proxy=http://proxy.invalid:3128" in r.stdout
    assert "[Warning] One or more build-args [NOT_DECLARED] were not consumed" in r.stdout
    history = daemon.ok("history", "--no-trunc", "--format", "{{.CreatedBy}}", "args:test")
    assert "proxy.invalid" not in history and "|3 FROM_ENV=" not in history
    assert daemon.inspect("args:test")["Author"] == "someone <someone@example.com>"
    r = build(daemon, ctx, "--platform", "linux/s390x", ok=False)
    assert r.returncode == 1 and "is not supported" in r.stderr
    cfg = daemon.inspect("args:test")["Config"]
    assert cfg["Labels"] == {"g": "bonjour"}
    assert not any(e.startswith(("GREETING=", "WHO=", "TAG=")) for e in cfg["Env"])
    # a different build arg value is a different cache key for RUN
    r2 = build(daemon, ctx, "--build-arg", "GREETING=hola", "--build-arg", "WHO=world")
    assert "greeting=hola" in r2.stdout


def test_multistage_target_and_parallel_stages(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    import secrets

    # The two independent stages wait for each other through a shared cache mount:
    # the build only succeeds if they run at the same time.
    sync = "sync-" + secrets.token_hex(4)
    wait_for = ("sh -c 'echo here > /sync/{me}; i=0; while [ ! -e /sync/{other} ]; do i=$((i+1)); "
                "[ $i -gt 300 ] && exit 7; sleep 0.1; done'")
    write(ctx, {"Dockerfile": (
        "FROM busybox AS one\n"
        f"RUN --mount=type=cache,target=/sync,id={sync} {wait_for.format(me='one', other='two')}\n"
        "RUN echo one > /one.txt\n"
        "FROM busybox AS two\n"
        f"RUN --mount=type=cache,target=/sync,id={sync} {wait_for.format(me='two', other='one')}\n"
        "RUN echo two > /two.txt\n"
        "FROM busybox AS broken\n"
        "RUN echo this-stage-must-not-run && exit 1\n"
        "FROM two AS final\n"
        "COPY --from=one /one.txt /\n"
        "COPY --from=0 /one.txt /copy-by-index.txt\n"
        "COPY --from=busybox /bin/busybox /from-image\n"
        "RUN cat /one.txt /two.txt /copy-by-index.txt\n"
        "FROM busybox AS other\n"
        "RUN echo other-stage\n")})
    cleanup_images.append("ms:test")
    r = build(daemon, ctx, "-t", "ms:test", "--target", "final", "--no-cache")
    assert "this-stage-must-not-run" not in r.stdout and "other-stage" not in r.stdout
    assert "one\ntwo\none" in r.stdout
    # each stage's output stays in one block
    assert r.stdout.index("Step 1/") < r.stdout.index("Step 2/") < r.stdout.index("Step 3/") < \
        r.stdout.index("Step 4/")
    assert run_out(daemon, "ms:test", "ls", "/from-image") == "/from-image"
    r = build(daemon, ctx, "--target", "nope", ok=False)
    assert r.returncode != 0 and "failed to reach build target nope" in r.stderr


def test_heredocs(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": (
        "FROM busybox\n"
        "ARG NAME=world\n"
        "COPY <<EOF /expanded.txt\n"
        "hello $NAME\n"
        "EOF\n"
        "COPY <<'EOF' /literal.txt\n"
        "hello $NAME\n"
        "EOF\n"
        "COPY <<A <<B /multi/\n"
        "first\n"
        "A\n"
        "second\n"
        "B\n"
        "RUN <<-EOS\n"
        "\techo from-run-heredoc\n"
        "\techo \"name=$NAME\" > /run.txt\n"
        "\tEOS\n"
        "RUN <<EOS\n"
        "#!/bin/sh\n"
        "echo shebang-script > /shebang.txt\n"
        "EOS\n"
        "RUN cat <<EOF > /inline.txt\n"
        "inline $NAME\n"
        "EOF\n")})
    cleanup_images.append("heredoc:test")
    r = build(daemon, ctx, "-t", "heredoc:test")
    assert "from-run-heredoc" in r.stdout
    out = run_out(daemon, "heredoc:test", "sh", "-c",
                  "cat /expanded.txt /literal.txt /multi/A /multi/B /run.txt /shebang.txt /inline.txt")
    assert out.splitlines() == ["hello world", "hello $NAME", "first", "second", "name=world", "shebang-script",
                                "inline world"]


def test_dockerignore(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY . /ctx/\nRUN find /ctx | sort\n",
                ".dockerignore": "# ignore\n*.log\nsecret\nbuild/**\n!build/keep.txt\nDockerfile\n",
                "a.txt": "a", "x.log": "log", "secret/key": "k", "build/out.o": "o", "build/keep.txt": "keep",
                "sub/y.log": "not ignored (* does not cross /)"})
    cleanup_images.append("ignore:test")
    r = build(daemon, ctx, "-t", "ignore:test")
    listing = run_out(daemon, "ignore:test", "find", "/ctx").splitlines()
    assert "/ctx/a.txt" in listing and "/ctx/build/keep.txt" in listing and "/ctx/sub/y.log" in listing
    for gone in ("/ctx/x.log", "/ctx/secret", "/ctx/secret/key", "/ctx/build/out.o", "/ctx/Dockerfile"):
        assert gone not in listing, r.stdout
    assert "/ctx/.dockerignore" in listing


def test_context_from_stdin(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    # a Dockerfile on stdin, no context
    cleanup_images.extend(["stdin:df", "stdin:tar", "stdin:f"])
    r = daemon.cli("build", "--progress=plain", "-t", "stdin:df", "-", input="FROM busybox\nRUN echo from-stdin\n")
    assert r.returncode == 0 and "from-stdin" in r.stdout, r.stderr
    # a tar context on stdin
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("Dockerfile", b"FROM busybox\nCOPY f.txt /\n"), ("f.txt", b"in-tar\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    r = daemon.cli("build", "-q", "-t", "stdin:tar", "-", input=buf.getvalue())
    assert r.returncode == 0, r.stderr
    assert run_out(daemon, "stdin:tar", "cat", "/f.txt") == "in-tar"
    # -f - with a directory context, and -f outside the context
    write(ctx, {"g.txt": "from-dir\n"})
    r = daemon.cli("build", "-q", "-t", "stdin:f", "-f", "-", str(ctx), input="FROM busybox\nCOPY g.txt /\n")
    assert r.returncode == 0, r.stderr
    assert run_out(daemon, "stdin:f", "cat", "/g.txt") == "from-dir"
    outside = ctx.parent / "Dockerfile.outside"
    outside.write_text("FROM busybox\nCOPY g.txt /h.txt\n")
    r = daemon.cli("build", "-q", "-f", str(outside), str(ctx))
    assert r.returncode == 0, r.stderr


def test_copy_semantics(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": (
        "FROM busybox\n"
        "COPY dir /d1\n"
        "COPY dir/ /d2/\n"
        "COPY file.sh /f/\n"
        "COPY file.sh /renamed.sh\n"
        "COPY *.txt /txt/\n"
        "COPY --chown=1234:4321 --chmod=0640 file.sh /owned.sh\n"
        "COPY --chown=root file.sh /named.sh\n"
        "COPY --parents dir/sub/deep.txt /parents/\n"
        "COPY --exclude=*.md dir/ /excluded/\n"
        "COPY [\"spaced name.txt\", \"/json form/\"]\n"
        "WORKDIR /work\n"
        "COPY file.sh rel.sh\n"),
        "dir/a.txt": "a", "dir/readme.md": "md", "dir/sub/deep.txt": "deep", "file.sh": "#!/bin/sh\necho hi\n",
        "one.txt": "1", "two.txt": "2", "spaced name.txt": "s"})
    os.chmod(ctx / "file.sh", 0o755)
    (ctx / "dir" / "link").symlink_to("a.txt")
    cleanup_images.append("copy:test")
    build(daemon, ctx, "-t", "copy:test")

    def sh(script: str) -> list[str]:
        return run_out(daemon, "copy:test", "sh", "-c", script).splitlines()

    assert sorted(sh("ls /d1")) == ["a.txt", "link", "readme.md", "sub"]
    assert sorted(sh("ls /d2")) == ["a.txt", "link", "readme.md", "sub"]
    assert sh("ls /f") == ["file.sh"]
    assert sorted(sh("ls /txt")) == ["one.txt", "spaced name.txt", "two.txt"]
    assert sh("stat -c '%a %u:%g' /renamed.sh /owned.sh /named.sh /work/rel.sh") == [
        "755 0:0", "640 1234:4321", "755 0:0", "755 0:0"]
    assert sh("readlink /d1/link") == ["a.txt"]
    assert sh("cat /parents/dir/sub/deep.txt") == ["deep"]
    assert sorted(sh("ls /excluded")) == ["a.txt", "link", "sub"]
    assert sh("cat '/json form/spaced name.txt'") == ["s"]
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY one.txt two.txt /not-a-dir\n"})
    r = build(daemon, ctx, ok=False)
    assert "the destination must be a directory and end with a /" in r.stderr
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY missing.txt /x\n"})
    r = build(daemon, ctx, ok=False)
    assert "Dockerfile:2: COPY failed: file not found in build context or excluded by .dockerignore: " \
           "stat missing.txt: file does not exist" in r.stderr
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY nomatch*.txt /x/\n"})
    assert "no source files were specified" in build(daemon, ctx, ok=False).stderr


def test_run_mounts_and_network(daemon: Daemon, ctx: Path, tmp_path: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=cache,target=/cache,id=counter echo x >> /cache/n && wc -l < /cache/n\n"
        "RUN --mount=type=bind,source=data,target=/mnt cat /mnt/value\n"
        "RUN --mount=type=bind,source=data,target=/mnt,rw echo changed > /mnt/value && cat /mnt/value\n"
        "RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch\n"
        "RUN --mount=type=secret,id=token cat /run/secrets/token\n"
        "RUN --mount=type=secret,id=token,env=TOKEN sh -c 'echo token-env=$TOKEN'\n"
        "RUN --network=none sh -c 'ip link 2>/dev/null | grep -c LOOPBACK || cat /proc/net/dev | wc -l'\n"
        "RUN ls /mnt /scratch /run/secrets 2>&1 || true\n"),
        "data/value": "original\n"})
    secret = tmp_path / "token.txt"
    secret.write_text("s3cr3t")
    cleanup_images.append("mounts:test")
    r = build(daemon, ctx, "-t", "mounts:test", "--secret", f"id=token,src={secret}")
    assert "\n1\n" in r.stdout
    assert "original" in r.stdout and "changed" in r.stdout
    assert "s3cr3t" in r.stdout and "token-env=s3cr3t" in r.stdout
    # the mount points were not left in the image, nor the bind source changed
    assert (ctx / "data" / "value").read_text() == "original\n"
    out = daemon.cli("run", "--rm", "mounts:test", "sh", "-c", "ls -d /mnt /scratch /run/secrets /cache 2>&1")
    assert "No such file" in out.stdout and "/mnt\n" not in out.stdout
    # the cache mount kept its content: a second uncached build counts 2
    r = build(daemon, ctx, "--no-cache", "--secret", f"id=token,src={secret}")
    assert "\n2\n" in r.stdout
    # a required secret that is missing fails
    write(ctx, {"Dockerfile": "FROM busybox\nRUN --mount=type=secret,id=missing,required cat /run/secrets/missing\n"})
    r = build(daemon, ctx, ok=False)
    assert r.returncode == 1 and "secret missing: not found" in r.stderr


def test_onbuild_triggers(daemon: Daemon, ctx: Path, tmp_path: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": "FROM busybox\nONBUILD RUN echo triggered > /trigger.txt\n"})
    cleanup_images.extend(["onbuild:parent", "onbuild:child"])
    build(daemon, ctx, "-t", "onbuild:parent")
    child = write(tmp_path / "child", {"Dockerfile": "FROM onbuild:parent\nRUN cat /trigger.txt\n"})
    r = build(daemon, child, "-t", "onbuild:child")
    assert "# Executing 1 build trigger" in r.stdout and "triggered" in r.stdout
    assert daemon.inspect("onbuild:child")["Config"]["OnBuild"] in (None, [])


def test_shell_instruction(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    write(ctx, {"Dockerfile": "FROM busybox\nSHELL [\"/bin/sh\", \"-xc\"]\nRUN echo traced\nCMD echo cmd\n"})
    cleanup_images.append("shell:test")
    r = build(daemon, ctx, "-t", "shell:test")
    assert "+ echo traced" in r.stdout
    assert daemon.inspect("shell:test")["Config"]["Cmd"] == ["/bin/sh", "-xc", "echo cmd"]


# -- errors --------------------------------------------------------------------------------


def test_parse_errors_name_file_and_line(daemon: Daemon, ctx: Path) -> None:
    write(ctx, {"Dockerfile": "FROM busybox\nRUN true\nFOO bar\n"})
    r = build(daemon, ctx, ok=False)
    assert r.returncode == 1
    assert "Dockerfile:3: unknown instruction: FOO" in r.stderr
    write(ctx, {"Dockerfile": "RUN true\n"})
    assert "Dockerfile:1: no build stage in current context" in build(daemon, ctx, ok=False).stderr
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY --nope=1 a b\n"})
    assert "Dockerfile:2: Unknown flag: nope" in build(daemon, ctx, ok=False).stderr
    write(ctx, {"Dockerfile": "FROM busybox\nRUN <<EOF\necho\n"})
    assert "Dockerfile:2: unterminated heredoc" in build(daemon, ctx, ok=False).stderr
    write(ctx, {"Dockerfile": "FROM busybox\nCMD [\"echo\", 1]\n"})
    assert "Dockerfile:2: when using JSON array syntax" in build(daemon, ctx, ok=False).stderr
    write(ctx, {"Dockerfile": "FROM busybox\nENV A=\"${B:?B must be set}\"\n"})
    r = build(daemon, ctx, ok=False)
    assert "Dockerfile:2" in r.stderr and "B must be set" in r.stderr
    write(ctx, {"Dockerfile": "FROM no-such-image-here\n"})
    r = build(daemon, ctx, ok=False)
    assert r.returncode == 1 and "no-such-image-here" in r.stderr


def test_no_change_rebuild_reuses_the_kept_context(daemon: Daemon, ctx: Path, cleanup_images) -> None:
    """A successful build's unpacked context serves the next build of the same bytes
    (``build/kept_contexts.py``); any change to the tree is a new context, and a
    context whose Dockerfile ``.dockerignore`` removed is not kept."""
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY . /ctx/\nCMD [\"cat\", \"/ctx/a.txt\"]\n",
                ".dockerignore": "*.log\n", "a.txt": "a\n", "x.log": "log\n"})
    cleanup_images.append("kept:test")
    kept = daemon.data_root / "tmp" / "kept-contexts"

    def entries() -> set[str]:
        return set(os.listdir(kept)) if kept.exists() else set()

    before = entries()
    first = image_id(build(daemon, ctx, "-t", "kept:test"))
    [name] = entries() - before  # (the daemon's other tests may have left some)
    os.utime(kept / name, (1, 1))  # taken and given back by the next build: its time moves
    second = build(daemon, ctx, "-t", "kept:test")
    assert image_id(second) == first and second.stdout.count("Using cache") == 2
    assert name in entries() and (kept / name).stat().st_mtime > 1
    (ctx / "a.txt").write_text("changed\n")
    (ctx / "b.txt").write_text("new\n")
    third = build(daemon, ctx, "-t", "kept:test")
    assert image_id(third) != first and "Using cache" not in third.stdout
    assert run_out(daemon, "kept:test") == "changed"
    assert run_out(daemon, "kept:test", "ls", "/ctx").split() == ["Dockerfile", "a.txt", "b.txt"]
    (ctx / "b.txt").unlink()
    assert run_out(daemon, image_id(build(daemon, ctx)), "ls", "/ctx").split() == ["Dockerfile", "a.txt"]
    # The same context after a changed step: the COPY's checksum comes from the kept
    # context's memo, and the step, not cached, still copies the files.
    (ctx / "Dockerfile").write_text("FROM busybox\nARG V\nRUN echo $V > /v\nCOPY a.txt /ctx/\n")
    for v in ("1", "2"):
        out = run_out(daemon, image_id(build(daemon, ctx, "--build-arg", f"V={v}")), "cat", "/v", "/ctx/a.txt")
        assert out.split() == [v, "changed"]
    # The Dockerfile ignored: removed from the context once read, so not kept; rebuilds still work.
    (ctx / ".dockerignore").write_text("*.log\nDockerfile\n")
    before = entries()
    ignored = image_id(build(daemon, ctx, "-t", "kept:test"))
    assert entries() <= before
    assert image_id(build(daemon, ctx, "-t", "kept:test")) == ignored
    # A context above 8 MiB is unpacked as it streams in, and not kept.
    (ctx / ".dockerignore").write_text("*.log\n")
    (ctx / "big.bin").write_bytes(os.urandom(9 << 20))
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY big.bin /\n")
    before = entries()
    big = image_id(build(daemon, ctx))
    assert run_out(daemon, big, "stat", "-c", "%s", "/big.bin") == str(9 << 20)
    assert entries() <= before


def test_failing_run_reports_code_and_force_rm_leaves_nothing(daemon: Daemon, ctx: Path) -> None:
    # Without --force-rm the failed step's container is kept (tests/compat/test_issue14_build.py).
    write(ctx, {"Dockerfile": "FROM busybox\nRUN touch /partial && for i in 1 2 3 4 5; do echo line$i; done; "
                              "echo oops >&2; exit 42\n"})
    before_images = daemon.ok("images", "-aq", "--no-trunc").split()
    before_layers = sorted(os.listdir(daemon.data_root / "overlay"))
    before_mounts = mounts_under(daemon.root)
    before_ps = daemon.ok("ps", "-aq")  # the session's daemon: other tests' kept containers
    r = build(daemon, ctx, "-t", "failing:test", "--force-rm", ok=False)
    assert r.returncode == 42  # as docker: the failed RUN's exit code
    assert "returned a non-zero code: 42" in r.stderr
    assert "line5" in r.stdout and "oops" in r.stdout
    assert daemon.ok("ps", "-aq") == before_ps
    assert daemon.ok("images", "-aq", "--no-trunc").split() == before_images
    assert sorted(os.listdir(daemon.data_root / "overlay")) == before_layers
    assert mounts_under(daemon.root) == before_mounts
    # a process that cannot start: the runtime's reason, not a bare exit code
    write(ctx, {"Dockerfile": "FROM busybox\nRUN [\"/nonexistent\"]\n"})
    r = build(daemon, ctx, "--force-rm", ok=False)
    assert r.returncode == 1
    assert "OCI runtime create failed" in r.stderr and "/nonexistent: no such file or directory" in r.stderr
    assert not os.listdir(daemon.data_root / "tmp" / "build")
    assert daemon.ok("ps", "-aq") == before_ps


def test_failing_run_tty_shows_last_lines(daemon: Daemon, ctx: Path) -> None:
    from .test_walkthrough import run_in_pty

    from ..conftest import baleine_cmd

    write(ctx, {"Dockerfile": "FROM busybox\nRUN for i in $(seq 1 30); do echo out-line-$i; done; exit 3\n"})
    code, out = run_in_pty(baleine_cmd() + ["build", "--force-rm", str(ctx)], daemon.env(), timeout=60)
    text = out.decode(errors="replace")
    assert code == 3
    assert "out-line-30" in text and "returned a non-zero code: 3" in text
    assert "ERROR" in text


def test_tty_output_statuses(daemon: Daemon, ctx: Path) -> None:
    from .test_walkthrough import run_in_pty

    from ..conftest import baleine_cmd

    write(ctx, {"Dockerfile": "FROM busybox\nENV X=1\nRUN echo tty-step\n"})
    build(daemon, ctx)
    code, out = run_in_pty(baleine_cmd() + ["build", "-t", "tty:test", str(ctx)], daemon.env(), timeout=60)
    text = out.decode(errors="replace")
    assert code == 0, text
    assert "CACHED" in text and "[3/3] RUN echo tty-step" in text
    assert "Built sha256:" in text and "Tagged tty:test" in text
    daemon.cli("rmi", "tty:test")


# -- safety ---------------------------------------------------------------------------------


def test_copy_cannot_read_outside_the_context(daemon: Daemon, ctx: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("host secret\n")
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY ../outside-secret.txt /x\n"})
    r = build(daemon, ctx, ok=False)
    assert "forbidden path outside the build context: ../outside-secret.txt" in r.stderr
    # a symlink in the context pointing outside it resolves inside the context
    (ctx / "abs-link").symlink_to(str(outside))
    (ctx / "rel-link").symlink_to("../outside-secret.txt")
    for link in ("abs-link", "rel-link"):
        write(ctx, {"Dockerfile": f"FROM busybox\nCOPY {link} /x\n"})
        r = build(daemon, ctx, ok=False)
        assert r.returncode == 1 and "not found in build context" in r.stderr, r.stderr
    # inside a copied directory, symlinks stay symlinks (their target is not read)
    (ctx / "d").mkdir()
    (ctx / "d" / "ln").symlink_to(str(outside))
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY d /d\nRUN readlink /d/ln && ! cat /d/ln 2>/dev/null\n"})
    r = build(daemon, ctx)
    assert str(outside) in r.stdout and "host secret" not in r.stdout
    # an absolute source path is taken from the context root
    write(ctx, {"Dockerfile": "FROM busybox\nCOPY /etc/passwd /x\n"})
    assert "not found in build context" in build(daemon, ctx, ok=False).stderr


def _evil_tar(path: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        def add(name: str, data: bytes = b"evil\n", **kw) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for k, v in kw.items():
                setattr(info, k, v)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
        add("ok.txt", b"fine\n")
        add("../../../../../../tmp/baleine-evil-dotdot")
        add("/tmp/baleine-evil-abs")
        link = tarfile.TarInfo("escape")
        link.type = tarfile.SYMTYPE
        link.linkname = "/tmp"
        tar.addfile(link)
        add("escape/baleine-evil-through-link")


def test_add_tar_cannot_write_outside_destination(daemon: Daemon, ctx: Path) -> None:
    ctx.mkdir(parents=True)
    _evil_tar(ctx / "evil.tar.gz")
    write(ctx, {"Dockerfile": "FROM busybox\nADD evil.tar.gz /dest/\nRUN cat /dest/ok.txt; find / -name "
                              "'baleine-evil*' 2>/dev/null | sort\n"})
    r = build(daemon, ctx, ok=False)
    for name in ("baleine-evil-dotdot", "baleine-evil-abs", "baleine-evil-through-link"):
        assert not Path("/tmp", name).exists()
        assert not (daemon.root / name).exists()
    if r.returncode == 0:
        # whatever was extracted stayed under /dest
        for line in r.stdout.splitlines():
            if "baleine-evil" in line:
                assert line.startswith("/dest/"), line
    else:
        assert "invalid" in r.stderr or "outside" in r.stderr or "ADD failed" in r.stderr, r.stderr


def test_add_local_archive_and_url(daemon: Daemon, ctx: Path, tmp_path: Path, cleanup_images) -> None:
    src = tmp_path / "tarsrc"
    write(src, {"pkg/file.txt": "from archive\n"})
    ctx.mkdir(parents=True)
    with tarfile.open(ctx / "a.tar.xz", "w:xz") as tar:
        tar.add(src / "pkg", "pkg")
    served = tmp_path / "www"
    write(served, {"remote.txt": "from http\n"})

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *a):
            pass

    server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        write(ctx, {"Dockerfile": (
            "FROM busybox\n"
            "ADD a.tar.xz /unpacked/\n"
            "COPY a.tar.xz /copied/\n"
            f"ADD http://127.0.0.1:{port}/remote.txt /downloaded/\n"
            "RUN cat /unpacked/pkg/file.txt /downloaded/remote.txt && ls /copied\n")})
        cleanup_images.append("add:test")
        r = build(daemon, ctx, "-t", "add:test", "--network=host")
        assert "from archive" in r.stdout and "from http" in r.stdout and "a.tar.xz" in r.stdout
    finally:
        server.shutdown()
        server.server_close()
    # offline: a clear refusal
    write(ctx, {"Dockerfile": "FROM busybox\nADD http://127.0.0.1:1/nothing /x\n"})
    r = build(daemon, ctx, ok=False)
    assert r.returncode == 1 and "failed to download http://127.0.0.1:1/nothing" in r.stderr


# -- cache ------------------------------------------------------------------------------------


def test_cache_survives_daemon_restart_and_prune(fresh_daemon: Daemon, ctx: Path) -> None:
    d = fresh_daemon
    d.ok("load", "-i", str(BUSYBOX_TAR))
    write(ctx, {"Dockerfile": "FROM busybox\nRUN echo built > /f\nCOPY x.txt /\nCMD [\"cat\", \"/f\"]\n",
                "x.txt": "x\n"})
    first = image_id(build(d, ctx, "-t", "cached:test"))
    d.stop()
    d.start()
    r = build(d, ctx, "-t", "cached:test")
    assert r.stdout.count("Using cache") == 3 and image_id(r) == first
    # the cache keeps its layers even when the image is gone
    d.ok("rmi", "cached:test")
    r = build(d, ctx, "-t", "cached:test")
    assert r.stdout.count("Using cache") == 3 and image_id(r) == first
    d.ok("rmi", "cached:test")
    out = d.ok("builder", "prune", "-f")
    assert "Total reclaimed space" in out
    r = build(d, ctx)
    assert "Using cache" not in r.stdout
