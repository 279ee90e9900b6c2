#!/usr/bin/env python3
"""Build times: a 10-step Dockerfile built cold, rebuilt with nothing changed, and
rebuilt after a one-line code change — with ``baleine build`` and, when a Docker
engine answers on /var/run/docker.sock, ``docker build`` (classic builder), as ratios.

Starts its own daemon on a temporary data root (like the tests) and loads the base
image from ../shared/images (busybox by default; ``--image python`` uses
python:3.11-slim from bookworm.tar.xz and installs a dependency with pip, offline,
from a wheel in the context). Each scenario is timed twice:

* ``cli``: the whole ``baleine build -q`` command (process start, context tar,
  request, build, output), what a user waits for;
* ``api``: ``POST /build`` from this process with the context tar made here, i.e.
  the engine's time without the CLI's interpreter start-up.

Cold builds run after ``builder prune -f`` and removing the image, so every step
runs. ``--no-change N`` times only the no-change rebuild, N times each way (after one
build), the quick A/B of issue 13. The daemon's root lives under ``--root-parent``
(``/var/lib/baleine-bench``: /tmp is slower to create files in on these disks).
Usage: bench/build.py [--rounds 5] [--image busybox|python] [--no-change N]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BOOKWORM, BUSYBOX_TAR, DOCKER, baleine_cmd, destroy_daemon, new_daemon  # noqa: E402

BUSYBOX_DOCKERFILE = """\
FROM busybox
ENV APP_HOME=/app
WORKDIR /app
COPY requirements.txt .
RUN mkdir -p deps && for p in $(cat requirements.txt); do echo "$p" > "deps/$p"; done
RUN echo "dependencies ready" > deps/.done
LABEL org.example.app=bench
COPY src/ ./src/
EXPOSE 8080
CMD ["sh", "/app/src/main.sh"]
"""

PYTHON_DOCKERFILE = """\
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /venv
ENV PATH=/venv/bin:$PATH
WORKDIR /app
COPY requirements.txt wheels/ /app/deps/
RUN pip install -q --no-index --find-links /app/deps -r /app/deps/requirements.txt
COPY src/ ./src/
EXPOSE 8080
CMD ["python", "src/main.py"]
"""


def tiny_wheel(path: Path) -> None:
    files = {"tinydep/__init__.py": "def greet(w):\n    return 'hello ' + w\n",
             "tinydep-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n",
             "tinydep-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
                                            "Tag: py3-none-any\n"}
    record = []
    with zipfile.ZipFile(path / "tinydep-1.0-py3-none-any.whl", "w") as z:
        for rel, data in files.items():
            z.writestr(rel, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{rel},sha256={digest},{len(data)}")
        record.append("tinydep-1.0.dist-info/RECORD,,")
        z.writestr("tinydep-1.0.dist-info/RECORD", "\n".join(record) + "\n")


def make_context(root: Path, image: str) -> Path:
    ctx = root / "ctx"
    (ctx / "src").mkdir(parents=True)
    if image == "python":
        (ctx / "Dockerfile").write_text(PYTHON_DOCKERFILE)
        (ctx / "requirements.txt").write_text("tinydep==1.0\n")
        (ctx / "wheels").mkdir()
        tiny_wheel(ctx / "wheels")
        for i in range(20):
            (ctx / "src" / f"mod{i}.py").write_text(f"VALUE = {i}\n" * 50)
        (ctx / "src" / "main.py").write_text("import tinydep\nprint(tinydep.greet('v0'))\n")
    else:
        (ctx / "Dockerfile").write_text(BUSYBOX_DOCKERFILE)
        (ctx / "requirements.txt").write_text("\n".join(f"pkg{i}" for i in range(30)) + "\n")
        for i in range(20):
            (ctx / "src" / f"lib{i}.sh").write_text(f"# library {i}\n" + "echo line\n" * 50)
        (ctx / "src" / "main.sh").write_text("echo version 0\n")
    return ctx


def change_code(ctx: Path, image: str, n: int) -> None:
    if image == "python":
        (ctx / "src" / "main.py").write_text(f"import tinydep\nprint(tinydep.greet('v{n}'))\n")
    else:
        (ctx / "src" / "main.sh").write_text(f"echo version {n}\n")


def tar_context(ctx: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(ctx), arcname=".")
    return buf.getvalue()


def api_build(socket_path: str, body: bytes, tag: str) -> str:
    """POST /build over the daemon's socket; return the image ID."""
    class Conn(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(socket_path)

    conn = Conn("localhost")
    conn.request("POST", f"/v1.47/build?t={tag}&q=1", body=body, headers={"Content-Type": "application/x-tar"})
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    image = ""
    for line in data.splitlines():
        msg = json.loads(line)
        if "error" in msg:
            raise RuntimeError(msg["error"])
        if "aux" in msg:
            image = msg["aux"]["ID"]
    if not image:
        raise RuntimeError(f"no image: {data}")
    return image


def docker_engine() -> bool:
    if not os.path.exists(DOCKER) or not os.path.exists("/var/run/docker.sock"):
        return False
    return subprocess.run([DOCKER, "info"], capture_output=True, env={**os.environ, "DOCKER_HOST":
                                                                      "unix:///var/run/docker.sock"}).returncode == 0


def timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def no_change_only(n: int, cli_build, api, daemon_pid: int) -> int:  # noqa: ANN001
    """Time ``n`` no-change rebuilds each way, alternating; print medians and minimums,
    and the CPU time per build of the CLI and of the daemon (steadier than wall
    times on a shared machine)."""
    cli_build()
    cli: list[float] = []
    eng: list[float] = []
    cli_cpu = daemon_cli = daemon_api = 0.0
    for _ in range(n):
        c0, d0 = children_cpu(), cpu_of(daemon_pid)
        cli.append(timed(cli_build))
        c1, d1 = children_cpu(), cpu_of(daemon_pid)
        eng.append(timed(api))
        d2 = cpu_of(daemon_pid)
        cli_cpu += c1 - c0
        daemon_cli += d1 - d0
        daemon_api += d2 - d1
    for name, r in (("cli", cli), ("api", eng)):
        print(f"no change {name}: median {statistics.median(r) * 1000:.1f} ms, min {min(r) * 1000:.1f} ms, "
              f"max {max(r) * 1000:.1f} ms ({n} runs)")
    print(f"CPU per no-change build: CLI {cli_cpu / n * 1000:.1f} ms, daemon {daemon_cli / n * 1000:.1f} ms "
          f"(cli) / {daemon_api / n * 1000:.1f} ms (api)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--image", choices=["busybox", "python"], default="busybox")
    ap.add_argument("--no-change", type=int, default=0, metavar="N",
                    help="only time N no-change rebuilds (cli and api), no cold or code-change builds")
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench",
                    help="where the daemon's data root is made (default /var/lib/baleine-bench)")
    args = ap.parse_args()

    d = new_daemon("bb-", parent=args.root_parent)
    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        if args.image == "python":
            d.ok("load", "-i", str(BOOKWORM), timeout=900)
        ctx = make_context(work, args.image)
        # A tree written in the last 2 s is "racily clean": the CLI does not cache its tar
        # (client/context_cache.py). Wait that out, as a user's tree not just edited.
        time.sleep(2.1)
        env = d.env()
        tag = "bench:build"

        def cli_build() -> None:
            subprocess.run(baleine_cmd() + ["build", "-q", "-t", tag, str(ctx)], env=env, check=True,
                           capture_output=True)

        def api() -> None:
            api_build(d.socket, tar_context(ctx), tag)

        def cold_reset() -> None:
            d.cli("rmi", "-f", tag)
            d.ok("builder", "prune", "-f")

        results: dict[str, dict[str, list[float]]] = {"cold": {"cli": [], "api": []},
                                                      "no change": {"cli": [], "api": []},
                                                      "code change": {"cli": [], "api": []}}
        cli_build()  # warm the page cache and the base image's layers
        if args.no_change:
            return no_change_only(args.no_change, cli_build, api, d.proc.pid)
        counter = 0
        for _ in range(args.rounds):
            for how, fn in (("cli", cli_build), ("api", api)):
                cold_reset()
                results["cold"][how].append(timed(fn))
                results["no change"][how].append(timed(fn))
                counter += 1
                change_code(ctx, args.image, counter)
                results["code change"][how].append(timed(fn))
        out = d.ok("run", "--rm", tag)
        print(f"image {args.image}, {args.rounds} rounds; the built image prints: {out!r}")
        print(f"{'scenario':<14}{'cli median':>12}{'cli min':>10}{'api median':>12}{'api min':>10}")
        for name, r in results.items():
            print(f"{name:<14}{statistics.median(r['cli']) * 1000:>10.0f}ms{min(r['cli']) * 1000:>8.0f}ms"
                  f"{statistics.median(r['api']) * 1000:>10.0f}ms{min(r['api']) * 1000:>8.0f}ms")
        if docker_engine():
            denv = {**os.environ, "DOCKER_HOST": "unix:///var/run/docker.sock", "DOCKER_BUILDKIT": "0"}
            if args.image == "busybox":
                subprocess.run([DOCKER, "load", "-i", str(BUSYBOX_TAR)], env=denv, capture_output=True)
            else:
                subprocess.run(f"xz -dc {BOOKWORM} | {DOCKER} load", shell=True, env=denv, capture_output=True)

            def docker_build() -> None:
                subprocess.run([DOCKER, "build", "-q", "-t", tag, str(ctx)], env=denv, check=True,
                               capture_output=True)
            dres: dict[str, list[float]] = {"cold": [], "no change": [], "code change": []}
            for _ in range(args.rounds):
                subprocess.run([DOCKER, "rmi", "-f", tag], env=denv, capture_output=True)
                subprocess.run([DOCKER, "builder", "prune", "-af"], env=denv, capture_output=True)
                subprocess.run([DOCKER, "image", "prune", "-f"], env=denv, capture_output=True)
                dres["cold"].append(timed(docker_build))
                dres["no change"].append(timed(docker_build))
                counter += 1
                change_code(ctx, args.image, counter)
                dres["code change"].append(timed(docker_build))
            print(f"{'scenario':<14}{'docker':>10}{'baleine':>10}{'ratio':>8}")
            for name, r in dres.items():
                ours, theirs = statistics.median(results[name]["cli"]), statistics.median(r)
                print(f"{name:<14}{theirs * 1000:>8.0f}ms{ours * 1000:>8.0f}ms{ours / theirs:>8.2f}")
        else:
            print("no Docker engine on /var/run/docker.sock: ratios against docker build not measured")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        destroy_daemon(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
