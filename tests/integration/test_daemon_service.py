"""The daemon as a system service (issue 15): TLS on TCP with real clients,
daemon.json, SIGHUP reload, systemd's readiness and socket-activation protocols."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ..conftest import DOCKER, Daemon, destroy_daemon, new_daemon, reap_leftovers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}-key.pem", "-out", f"{name}.pem", cwd=d)


def make_cert(d: Path, ca: str, name: str, ext: str) -> None:
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}-key.pem",
            "-out", f"{name}.csr", cwd=d)
    (d / f"{name}.ext").write_text(ext)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def certs() -> Path:
    d = Path(tempfile.mkdtemp(prefix="bt-certs-"))
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "ca", "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    make_cert(d, "ca", "client", "extendedKeyUsage=clientAuth\n")
    make_cert(d, "otherca", "stranger", "extendedKeyUsage=clientAuth\n")
    yield d
    subprocess.run(["rm", "-rf", str(d)])


@pytest.fixture(scope="module")
def tls_daemon(certs: Path):
    port = free_port()
    d = new_daemon(extra_args=["-H", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
                               "--tlscert", str(certs / "server.pem"), "--tlskey", str(certs / "server-key.pem")])
    d.tcp_port = port  # type: ignore[attr-defined]
    yield d
    destroy_daemon(d)


def test_docker_cli_with_mutual_tls(tls_daemon: Daemon, certs: Path) -> None:
    host = f"tcp://127.0.0.1:{tls_daemon.tcp_port}"  # type: ignore[attr-defined]
    env = dict(tls_daemon.env())
    env.pop("DOCKER_HOST")
    r = subprocess.run([DOCKER, "-H", host, "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
                        "--tlscert", str(certs / "client.pem"), "--tlskey", str(certs / "client-key.pem"),
                        "version", "--format", "{{.Server.Version}}"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    # The environment's way, as DOCKER_CERT_PATH reads ca.pem, cert.pem, key.pem.
    cert_dir = certs / "docker-env"
    cert_dir.mkdir(exist_ok=True)
    for src, dst in (("ca.pem", "ca.pem"), ("client.pem", "cert.pem"), ("client-key.pem", "key.pem")):
        (cert_dir / dst).write_bytes((certs / src).read_bytes())
    env.update(DOCKER_HOST=host, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(cert_dir))
    r = subprocess.run([DOCKER, "ps", "-q"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def handshake(port: int, certs: Path, cert: str | None) -> None:
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(certs / f"{cert}.pem"), str(certs / f"{cert}-key.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            data = s.recv(1024)
            if not data:
                raise ssl.SSLError("connection closed by the server")
            assert data.startswith(b"HTTP/1.1 200")


def test_clients_without_a_good_certificate_are_refused(tls_daemon: Daemon, certs: Path) -> None:
    port = tls_daemon.tcp_port  # type: ignore[attr-defined]
    handshake(port, certs, "client")  # the control: a good certificate gets through
    for cert in (None, "stranger"):
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            handshake(port, certs, cert)
    # Plain HTTP on the TLS port gets no API either.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        assert not s.recv(1024).startswith(b"HTTP/1.1 200")


def run_daemon(args: list[str], timeout: float = 20, env: dict | None = None) -> subprocess.CompletedProcess:
    root = Path(tempfile.mkdtemp(prefix="bt-svc-"))
    try:
        return subprocess.run([sys.executable, "-m", "baleine.daemon.main", "--data-root", str(root / "data"),
                               "--exec-root", str(root / "exec"), "--config-file", "/dev/null",
                               "-H", f"unix://{root}/d.sock", *args],
                              capture_output=True, text=True, timeout=timeout, env=env)
    finally:
        reap_leftovers(root, "baleine")


def test_plain_tcp_on_all_addresses_refused() -> None:
    r = run_daemon(["-H", f"tcp://0.0.0.0:{free_port()}"])
    assert r.returncode != 0
    assert "--tlsverify" in r.stderr and "--tls=false" in r.stderr


def test_plain_tcp_with_tls_false_starts_and_warns() -> None:
    port = free_port()
    d = new_daemon(extra_args=["-H", f"tcp://0.0.0.0:{port}", "--tls=false"])
    try:
        assert "insecure" in d.log()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            assert s.recv(1024).startswith(b"HTTP/1.1 200")
    finally:
        destroy_daemon(d)


def test_daemon_json_conflict_and_unknown_key(tmp_path: Path) -> None:
    conf = tmp_path / "daemon.json"
    conf.write_text(json.dumps({"mtu": 1400}))
    r = run_daemon(["--config-file", str(conf), "--mtu", "1300"])
    assert r.returncode != 0
    assert "mtu: (from flag: 1300, from file: 1400)" in r.stderr
    conf.write_text(json.dumps({"no-such-key": True}))
    r = run_daemon(["--config-file", str(conf)])
    assert r.returncode != 0 and "no-such-key" in r.stderr


def test_daemon_json_read_and_sighup_reload(tmp_path: Path) -> None:
    conf = tmp_path / "daemon.json"
    conf.write_text(json.dumps({"registry-mirrors": ["http://127.0.0.1:5999"], "labels": ["tier=one"]}))
    d = new_daemon(extra_args=["--config-file", str(conf)])
    try:
        client = d.api()
        info = client.info()
        assert info["Labels"] == ["tier=one"]
        assert info["RegistryConfig"]["IndexConfigs"]["docker.io"]["Mirrors"] == ["http://127.0.0.1:5999/"] or \
            info["RegistryConfig"]["IndexConfigs"]["docker.io"]["Mirrors"] == ["http://127.0.0.1:5999"]
        conf.write_text(json.dumps({"registry-mirrors": ["http://127.0.0.1:5888"], "labels": ["tier=two"]}))
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            mirrors = client.info()["RegistryConfig"]["IndexConfigs"]["docker.io"]["Mirrors"]
            if mirrors and "5888" in mirrors[0]:
                break
            time.sleep(0.1)
        assert "5888" in mirrors[0]
        assert "reloaded configuration" in d.log()
        assert client.info()["Labels"] == ["tier=two"]
        # A bad file on reload changes nothing and the daemon lives on.
        conf.write_text("{")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert "5888" in client.info()["RegistryConfig"]["IndexConfigs"]["docker.io"]["Mirrors"][0]
        assert "configuration not reloaded" in d.log()
        client.close()
    finally:
        destroy_daemon(d)


def test_ready_notification_and_socket_activation(tmp_path: Path) -> None:
    """As systemd runs the unit: a socket handed over as fd 3 (LISTEN_FDS) is the one
    served, and READY=1 reaches NOTIFY_SOCKET once /_ping answers."""
    root = Path(tempfile.mkdtemp(prefix="bt-sd-"))
    notify_path = str(root / "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    api_path = str(root / "api.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(api_path)
    listener.listen(16)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, LISTEN_FDS="1")
    fd = listener.fileno()
    # As systemd does: the socket on fd 3, LISTEN_PID the daemon's own PID (this small
    # launcher execs the daemon, keeping its PID).
    launcher = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ['LISTEN_PID'] = str(os.getpid()); "
                "os.execv(sys.executable, [sys.executable] + sys.argv[2:])")
    proc = subprocess.Popen([sys.executable, "-c", launcher, str(fd), "-m", "baleine.daemon.main", "-H", "fd://",
                             "--kube-addr=",
                             "--config-file", "/dev/null", "--data-root", f"{root}/data", "--exec-root",
                             f"{root}/exec"], env=env, pass_fds=(fd,), stdout=subprocess.DEVNULL,
                            stderr=open(root / "log", "wb"), start_new_session=True)
    try:
        notify.settimeout(30)
        message = notify.recv(4096).decode()
        assert "READY=1" in message
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(api_path)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            assert s.recv(1024).startswith(b"HTTP/1.1 200")
    except BaseException:
        print((root / "log").read_text()[-3000:])
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        notify.close()
        listener.close()
        reap_leftovers(root, "baleine")


def test_socket_activation_without_sockets_fails() -> None:
    r = run_daemon(["-H", "fd://"])
    assert r.returncode != 0 and "socket activation" in r.stderr


REPO = Path(__file__).resolve().parent.parent.parent


@pytest.mark.skipif(not Path("/usr/bin/systemd-analyze").exists(), reason="systemd-analyze is not installed")
def test_unit_files_verify() -> None:
    units = REPO / "contrib" / "systemd"
    r = subprocess.run(["systemd-analyze", "verify", str(units / "baleine.service"), str(units / "baleine.socket")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    service = (units / "baleine.service").read_text()
    for line in ("Type=notify", "KillMode=process", "Delegate=yes", "Restart=on-failure", "-H fd://"):
        assert line in service


def test_socket_group_is_baleine(daemon: Daemon) -> None:
    import grp

    st = os.stat(daemon.socket)
    assert oct(st.st_mode & 0o777) == "0o660"
    assert st.st_uid == 0
    assert st.st_gid == grp.getgrnam("baleine").gr_gid  # install.sh made the group


def test_baleine_cli_with_mutual_tls(tls_daemon: Daemon, certs: Path) -> None:
    from ..conftest import baleine_cmd

    host = f"tcp://127.0.0.1:{tls_daemon.tcp_port}"  # type: ignore[attr-defined]
    env = dict(tls_daemon.env())
    env.pop("BALEINE_HOST")
    flags = ["--tlsverify", "--tlscacert", str(certs / "ca.pem"), "--tlscert", str(certs / "client.pem"),
             "--tlskey", str(certs / "client-key.pem")]
    r = subprocess.run(baleine_cmd() + ["-H", host, *flags, "version", "--format", "{{.Server.Version}}"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    cert_dir = certs / "baleine-env"
    cert_dir.mkdir(exist_ok=True)
    for src, dst in (("ca.pem", "ca.pem"), ("client.pem", "cert.pem"), ("client-key.pem", "key.pem")):
        (cert_dir / dst).write_bytes((certs / src).read_bytes())
    env.update(BALEINE_HOST=host, BALEINE_TLS_VERIFY="1", BALEINE_CERT_PATH=str(cert_dir))
    r = subprocess.run(baleine_cmd() + ["ps", "-q"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # Without a client certificate the daemon will not talk.
    env.update(BALEINE_CERT_PATH=str(certs / "nowhere"))
    r = subprocess.run(baleine_cmd() + ["--tlsverify", "--tlscacert", str(certs / "ca.pem"), "ps", "-q"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


def test_group_members_may_use_the_socket(daemon: Daemon) -> None:
    """A non-root member of the baleine group runs `baleine ps`; anyone else gets
    docker's "permission denied while trying to connect" message."""
    import grp

    from ..conftest import baleine_cmd

    gid = grp.getgrnam("baleine").gr_gid
    env = dict(daemon.env(), HOME="/tmp")
    as_member = subprocess.run(baleine_cmd() + ["ps", "-q"], env=env, capture_output=True, text=True, timeout=60,
                               user=61234, group=61234, extra_groups=[gid])
    assert as_member.returncode == 0, as_member.stderr
    outsider = subprocess.run(baleine_cmd() + ["ps", "-q"], env=env, capture_output=True, text=True, timeout=60,
                              user=61234, group=61234, extra_groups=[])
    assert outsider.returncode == 1
    assert "permission denied while trying to connect to the Baleine daemon socket" in outsider.stderr
