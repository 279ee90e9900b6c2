"""Pull and push benchmark: the five ``bookworm`` images (debian, python, nginx, redis,
postgres) pulled from a loopback registry into an empty store, then pushed into an
empty registry, timed.

    python3 bench/pull_push.py [--registry cncf|baleine] [--runs N]

The source registry is filled with skopeo from ../shared/images/bookworm.tar.xz
(not timed). Each run uses a new daemon with an empty data root and a new, empty
target registry. When a Docker engine (dockerd) is installed, the same pulls and
pushes are timed with ``docker`` and the ratios printed; otherwise only Baleine's
numbers are. Everything runs on 127.0.0.1 and is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import destroy_daemon, new_daemon  # noqa: E402
from tests.registries import bookworm_tar, skopeo, start_baleine, start_cncf  # noqa: E402

IMAGES = ["debian:bookworm-slim", "python:3.11-slim", "nginx:1.22", "redis:7.0", "postgres:15"]


def start(kind: str):  # noqa: ANN201
    return start_cncf() if kind == "cncf" else start_baleine()


def fill(reg, archive: Path) -> None:  # noqa: ANN001
    for image in IMAGES:
        r = skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}:{image}",
                   f"docker://{reg.host}/bench/{image}")
        if r.returncode != 0:
            raise SystemExit(f"skopeo copy {image} failed: {r.stderr}")


def timed(fn) -> float:  # noqa: ANN001
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_baleine(source, kind: str) -> tuple[float, float, list[float], list[float]]:  # noqa: ANN001
    d = new_daemon(prefix="bbench-", parent="/var/lib/baleine-bench")
    target = start(kind)
    try:
        pulls = []
        for image in IMAGES:
            pulls.append(timed(lambda: d.ok("pull", "-q", f"{source.host}/bench/{image}", timeout=600)))
        for image in IMAGES:
            d.ok("tag", f"{source.host}/bench/{image}", f"{target.host}/bench/{image}")
        pushes = []
        for image in IMAGES:
            pushes.append(timed(lambda: d.ok("push", "-q", f"{target.host}/bench/{image}", timeout=600)))
        return sum(pulls), sum(pushes), pulls, pushes
    finally:
        target.destroy()
        destroy_daemon(d)


def docker_engine() -> str | None:
    """The docker CLI when a Docker engine answers, else None."""
    docker = shutil.which("docker")
    if not docker or not shutil.which("dockerd"):
        return None
    env = dict(os.environ)
    env.pop("DOCKER_HOST", None)
    r = subprocess.run([docker, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                       env=env)
    return docker if r.returncode == 0 else None


def bench_docker(docker: str, source, kind: str) -> tuple[float, float]:  # noqa: ANN001
    env = dict(os.environ)
    env.pop("DOCKER_HOST", None)

    def run(*args: str) -> None:
        subprocess.run([docker, *args], check=True, capture_output=True, env=env, timeout=600)

    names = [f"{source.host}/bench/{i}" for i in IMAGES]
    subprocess.run([docker, "rmi", "-f", *names], capture_output=True, env=env)
    pull = sum(timed(lambda: run("pull", "-q", n)) for n in names)
    target = start(kind)
    try:
        for i in IMAGES:
            run("tag", f"{source.host}/bench/{i}", f"{target.host}/bench/{i}")
        push = sum(timed(lambda: run("push", "-q", f"{target.host}/bench/{i}")) for i in IMAGES)
        subprocess.run([docker, "rmi", "-f", *names, *[f"{target.host}/bench/{i}" for i in IMAGES]],
                       capture_output=True, env=env)
    finally:
        target.destroy()
    return pull, push


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--registry", choices=["cncf", "baleine"], default="cncf",
                   help="registry serving the images and receiving the pushes (default: cncf)")
    p.add_argument("--runs", type=int, default=3)
    o = p.parse_args()
    archive = bookworm_tar()
    source = start(o.registry)
    try:
        fill(source, archive)
        results = [bench_baleine(source, o.registry) for _ in range(o.runs)]
        pull = statistics.median(r[0] for r in results)
        push = statistics.median(r[1] for r in results)
        print(f"registry: {o.registry} on 127.0.0.1, {len(IMAGES)} bookworm images, {o.runs} runs (median)")
        print(f"baleine pull (empty store): {pull:6.2f} s   per image: "
              + ", ".join(f"{i.split(':')[0]} {t:.2f}" for i, t in zip(IMAGES, results[0][2])))
        print(f"baleine push (empty registry): {push:6.2f} s   per image: "
              + ", ".join(f"{i.split(':')[0]} {t:.2f}" for i, t in zip(IMAGES, results[0][3])))
        docker = docker_engine()
        if docker is None:
            print("docker engine: not installed here, no ratios")
        else:
            dpull, dpush = bench_docker(docker, source, o.registry)
            print(f"docker pull: {dpull:6.2f} s   ratio docker/baleine: {dpull / pull:.2f}x (target >= 1.5x)")
            print(f"docker push: {dpush:6.2f} s   ratio docker/baleine: {dpush / push:.2f}x")
    finally:
        source.destroy()
        shutil.rmtree(archive.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
