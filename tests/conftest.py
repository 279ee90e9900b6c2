"""Shared fixtures: a real Baleine daemon on a temporary data root, exec root and
socket, with the test images loaded, and helpers to drive it through the
``baleine`` CLI, the docker CLI and docker-py.

Everything a test session creates lives under one temporary directory and one
cgroup parent, and is removed at the end: containers, monitors, mounts, runc
state, cgroups.

Every daemon runs with asyncio's debug mode; at its teardown, any callback that
held its event loop longer than 100 ms fails the test (or session) that owned it
(see ``tests/loopcheck.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import loopcheck

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BALEINE_SHARED", REPO.parent / "shared"))
IMAGES = SHARED / "images"
BUSYBOX_TAR = IMAGES / "busybox.tar"
BUSYBOX_OCI = IMAGES / "busybox.oci.tar"
BOOKWORM = IMAGES / "bookworm.tar.xz"
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


# BALEINE_FROM_SOURCE=1 runs the daemon, the CLI and the monitors from this checkout
# rather than from the package installed in the interpreter (several checkouts, one
# /opt/baleine).
FROM_SOURCE = os.environ.get("BALEINE_FROM_SOURCE") == "1"
if FROM_SOURCE:
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)


def baleine_cmd() -> list[str]:
    """The baleine CLI of the interpreter running the tests (the installed one)."""
    script = Path(sys.executable).with_name("baleine")
    if script.exists() and not FROM_SOURCE:
        return [str(script)]
    return [sys.executable, "-m", "baleine.cli.main"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.strip()


@dataclass
class Daemon:
    """A running daemon and ways to talk to it."""

    root: Path
    host: str
    cgroup_parent: str
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def socket(self) -> str:
        return self.host[len("unix://"):]

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "exec"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["BALEINE_HOST"] = self.host
        env["DOCKER_HOST"] = self.host
        env.pop("DOCKER_CONTEXT", None)
        if FROM_SOURCE or not Path(sys.executable).with_name("baleine").exists():
            # Not installed in this interpreter: `-m baleine…` must find the checkout
            # whatever directory a test runs the CLI from.
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        env["DOCKER_CONFIG"] = str(self.root / "docker-config")
        return env

    def start(self) -> None:
        self.log_path = self.root / "daemon.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "baleine.daemon.main", "-H", self.host, "--data-root", str(self.data_root),
             "--exec-root", str(self.exec_root), "--cgroup-parent", self.cgroup_parent,
             "--debug-slow-callback", str(loopcheck.THRESHOLD), *self.extra_args],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {self.log()}")
            r = subprocess.run(baleine_cmd() + ["version", "--format", "{{.Server.Version}}"], env=self.env(),
                               capture_output=True, text=True)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"daemon did not answer: {self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-4000:] if self.log_path else ""
        except OSError:
            return ""

    def slow_callbacks(self) -> list[loopcheck.SlowCallback]:
        """Callbacks that blocked the daemon's loop so far (all its runs: the log is appended to)."""
        try:
            return loopcheck.slow_callbacks(self.log_path.read_text(errors="replace")) if self.log_path else []
        except OSError:
            return []

    def cli(self, *args: str, input: str | bytes | None = None, timeout: float = 120,
            check: bool = False) -> Result:
        """Run ``baleine ARGS`` against this daemon."""
        return _run(baleine_cmd() + list(args), self.env(), input, timeout, check)

    def docker(self, *args: str, input: str | bytes | None = None, timeout: float = 120,
               check: bool = False) -> Result:
        """Run the real docker CLI against this daemon."""
        return _run([DOCKER] + list(args), self.env(), input, timeout, check)

    def docker_ok(self, *args: str, **kw) -> str:
        """The docker CLI's output; the test fails if it does."""
        r = self.docker(*args, **kw)
        assert r.returncode == 0, f"docker {' '.join(args)}: {r.stderr}"
        return r.out

    def ok(self, *args: str, **kw) -> str:
        r = self.cli(*args, **kw)
        assert r.returncode == 0, f"baleine {' '.join(args)} failed ({r.returncode}): {r.stderr}{r.stdout}"
        return r.out

    def api(self):
        """A docker-py client for this daemon."""
        import docker

        return docker.DockerClient(base_url=self.host, version="auto", timeout=120)

    def inspect(self, name: str) -> dict:
        return json.loads(self.ok("inspect", name))[0]

    def cleanup_containers(self) -> None:
        ids = self.cli("ps", "-aq", "--no-trunc").out.split()
        if ids:
            self.cli("rm", "-f", *ids)


def _run(argv: list[str], env: dict[str, str], input, timeout: float, check: bool) -> Result:
    text = not isinstance(input, bytes)
    p = subprocess.run(argv, env=env, input=input, capture_output=True, timeout=timeout, text=text)
    out, err = p.stdout, p.stderr
    if not text:
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
    r = Result(p.returncode, out, err)
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} failed ({r.returncode}): {r.stderr}")
    return r


def new_daemon(prefix: str = "bt-", extra_args: list[str] | None = None, parent: str = "/tmp") -> Daemon:
    # Short paths: Unix socket paths are limited to 108 bytes.
    os.makedirs(parent, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(root, 0o755)
    # Test daemons leave the host's IP forwarding alone, and their containers' DNS
    # goes to 127.0.0.1, never to the host's resolvers beyond this machine.
    d = Daemon(root=root, host=f"unix://{root}/d.sock", cgroup_parent=f"baleine-test-{root.name}",
               # --registry-hub none: no test ever reaches for Docker Hub (only loopback traffic).
               # No Kubernetes API unless a test asks (one port, 6443, for the whole host), and
               # no /etc/baleine/daemon.json: test daemons are configured by their flags alone.
               extra_args=["--ip-forward=false", "--dns", "127.0.0.1", "--registry-hub", "none",
                           "--kube-addr=", "--config-file", "/dev/null",
                           *(extra_args or [])])
    try:
        d.start()
    except BaseException:
        d.stop()
        reap_leftovers(d.root, d.cgroup_parent)
        raise
    return d


def destroy_daemon(d: Daemon, owner: str = "") -> None:
    """Stop the daemon and remove everything it made, even after a failed test;
    then fail (``pytest.fail``) if it ever blocked its event loop (see
    ``tests/loopcheck.py``; only a warning with ``BALEINE_LOOP_CHECK=0``)."""
    try:
        if d.proc is not None and d.proc.poll() is None:
            d.cleanup_containers()
    except Exception:  # noqa: BLE001 - cleanup must go on
        pass
    d.stop()
    slow = d.slow_callbacks()  # before reap_leftovers removes the log with the root
    reap_leftovers(d.root, d.cgroup_parent)
    if slow:
        message = loopcheck.report(owner or os.environ.get("PYTEST_CURRENT_TEST", str(d.root)), slow)
        if loopcheck.ENFORCED and any(cb.blocking for cb in slow):
            pytest.fail(message, pytrace=False)
        warnings.warn(message, stacklevel=2)


def _warn_left_chains(data_root: str) -> None:
    """Warn (pytest shows it) when either family still holds a chain of the daemon's
    tag after the reap: a leak the next session would have to find by hand."""
    from baleine.engine.networks import daemon_tag

    tag = daemon_tag(data_root)
    for tool in ("iptables-save", "ip6tables-save"):
        if not shutil.which(tool):
            continue
        out = subprocess.run([tool], capture_output=True, text=True).stdout
        left = sorted({line.split()[0] for line in out.splitlines() if line.startswith(":") and tag in line})
        if left:
            warnings.warn(f"{tool}: chains of {data_root} left after the reap: {left}", stacklevel=3)


def reap_leftovers(root: Path, cgroup_parent: str) -> None:
    """Kill monitors and container processes, unmount, remove cgroups and files."""
    prefix = str(root)
    state = root / "exec" / "runc"
    if state.exists():
        for cid in os.listdir(state):
            subprocess.run(["runc", "--root", str(state), "kill", cid, "KILL"], capture_output=True)
            subprocess.run(["runc", "--root", str(state), "delete", "--force", cid], capture_output=True)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if prefix in cmdline and int(pid) != os.getpid():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.1)
    # The daemon's bridges, veths, namespaces and iptables chains (found by its tag).
    from baleine.engine.networks.reap import reap

    reap(str(root / "data"), str(root / "exec"))
    from baleine.kube.proxy.kernel import reap as reap_proxy  # its chains, dummy interface and route

    reap_proxy(str(root / "data"))
    _warn_left_chains(str(root / "data"))
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    for base in Path("/sys/fs/cgroup").iterdir():
        target = base / cgroup_parent
        if target.is_dir():
            for sub in sorted(target.rglob("*"), key=lambda p: len(str(p)), reverse=True):
                if sub.is_dir():
                    try:
                        sub.rmdir()
                    except OSError:
                        pass
            try:
                target.rmdir()
            except OSError:
                pass
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    """One daemon for the session, with busybox loaded."""
    d = new_daemon()
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        yield d
    finally:
        destroy_daemon(d, "the session's daemon fixture")


@pytest.fixture(scope="session")
def bookworm_daemon() -> Iterator[Daemon]:
    """One daemon for the session with busybox and ../shared/images/bookworm.tar.xz
    (debian, python, nginx, redis, postgres: 315 MB unpacked, loaded once). Its
    autoscaler syncs every second (compose acceptance), as a test's would."""
    d = new_daemon(extra_args=["--hpa-sync-period", "1s"])
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        d.ok("load", "-i", str(BOOKWORM), timeout=600)
        yield d
    finally:
        destroy_daemon(d, "the session's bookworm_daemon fixture")


@pytest.fixture(scope="session")
def nginx_tar(bookworm_daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``nginx:1.22`` alone, saved once from the session's bookworm daemon: loading it
    takes a few seconds where the whole bookworm archive takes half a minute."""
    path = tmp_path_factory.mktemp("nginx") / "nginx.tar"
    bookworm_daemon.ok("save", "-o", str(path), "nginx:1.22", timeout=300)
    return path


@pytest.fixture
def fresh_daemon(request) -> Iterator[Daemon]:
    """A daemon of the test's own (for crash and restart tests)."""
    d = new_daemon()
    try:
        yield d
    finally:
        destroy_daemon(d, request.node.nodeid)


@pytest.fixture
def name(request) -> str:
    """A container name unique to the test."""
    import re
    import secrets

    base = re.sub(r"[^a-zA-Z0-9_.-]", "-", request.node.name)[:40].strip("-")
    return f"{base}-{secrets.token_hex(3)}"
