"""kubectl logs, exec, attach, run -i and port-forward against Baleine's Kubernetes API.

Most tests need no node agent: a Pod bound to the node ``ghost`` (which no agent
runs) gets Baleine containers made through the Engine API and labelled as the node
agent labels a pod's containers, and a status set through the status subresource,
then real kubectl drives it. ``kubectl run -i --rm`` needs the node agent to run
the pod; it is skipped on a tree without one.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import hashlib
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from ..conftest import BUSYBOX_TAR
from ..kubehelp import KUBECTL, NEEDS_KUBECTL, Kube, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL

NS = "default"
TICKER = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done"


@pytest.fixture(scope="module")
def kube() -> Iterator[Kube]:
    with kube_daemon() as k:
        k.daemon.ok("load", "-i", str(BUSYBOX_TAR))
        yield k


def env(k: Kube) -> dict[str, str]:
    out = {**os.environ, "HOME": str(k.home)}
    out.pop("KUBECONFIG", None)
    return out


def ghost_pod(k: Kube, name: str, containers: list[str], annotations: dict[str, str] | None = None,
              **container: object) -> str:
    """A pod bound to a node no agent runs (its containers get the fields ``container``); its uid."""
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": NS, "annotations": annotations or {}},
           "spec": {"nodeName": "ghost",
                    "containers": [{"name": c, "image": "busybox", **container} for c in containers]}}
    k.ok("apply", "-f", "-", input=json.dumps(pod))
    return json.loads(k.ok("get", "pod", name, "-o", "json"))["metadata"]["uid"]


def instance(k: Kube, pod: str, uid: str, container: str, restarts: int, script: str, *docker_args: str) -> str:
    """A Baleine container labelled as the node agent labels the pod's ``container``; its ID."""
    labels = {"io.kubernetes.pod.name": pod, "io.kubernetes.pod.namespace": NS, "io.kubernetes.pod.uid": uid,
              "io.kubernetes.container.name": container, "io.kubernetes.container.restartCount": str(restarts),
              "io.kubernetes.docker.type": "container"}
    args = [a for key, value in labels.items() for a in ("--label", f"{key}={value}")]
    name = f"k8s_{container}_{pod}_{NS}_{uid}_{restarts}"
    return k.daemon.ok("run", "-d", "--name", name, *args, *docker_args, "busybox", "sh", "-c", script).strip()


def set_running(k: Kube, pod: str, cid: str, containers: list[str]) -> str:
    """Mark the pod Running with the address of container ``cid``; that address."""
    ip = k.daemon.inspect(cid)["NetworkSettings"]["IPAddress"]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    statuses = [{"name": c, "ready": True, "restartCount": 0, "image": "busybox", "imageID": "", "started": True,
                 "containerID": f"docker://{cid}", "state": {"running": {"startedAt": now}}} for c in containers]
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "containerStatuses": statuses}
    k.ok("patch", "pod", pod, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))
    return ip


def lines_of(out: str) -> list[str]:
    return [line for line in out.splitlines() if line]


@pytest.fixture(scope="module")
def ticker(kube: Kube) -> str:
    """Pod ``ticker``: container ``main`` restarted once (the first instance said
    ``previous life``), the current one ticking."""
    uid = ghost_pod(kube, "ticker", ["main"])
    old = instance(kube, "ticker", uid, "main", 0, "echo previous life")
    wait_for(lambda: kube.daemon.inspect(old)["State"]["Status"] == "exited", 30, what="the first instance to exit")
    cid = instance(kube, "ticker", uid, "main", 1, TICKER)
    set_running(kube, "ticker", cid, ["main"])
    wait_for(lambda: "tick 3" in kube.ok("logs", "ticker"), 30, what="four ticks")
    return cid


def test_logs_tail_since_timestamps_limit_and_previous(kube: Kube, ticker: str) -> None:
    out = lines_of(kube.ok("logs", "ticker"))
    assert out[:2] == ["tick 0", "tick 1"] and "previous life" not in out
    assert lines_of(kube.ok("logs", "ticker", "--previous")) == ["previous life"]
    tail = lines_of(kube.ok("logs", "ticker", "--tail=2"))
    assert len(tail) == 2 and all(t.startswith("tick ") for t in tail)
    stamped = lines_of(kube.ok("logs", "ticker", "--timestamps", "--tail=3"))
    assert len(stamped) == 3
    for line in stamped:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick \d+", line), line
    assert kube.ok("logs", "ticker", "--limit-bytes=6") == "tick 0"
    time.sleep(2)
    recent = lines_of(kube.ok("logs", "ticker", "--since=1s"))
    assert recent and "tick 0" not in recent and len(recent) < len(lines_of(kube.ok("logs", "ticker")))
    since = stamped[-1].split(" ", 1)[0]
    later = lines_of(kube.ok("logs", "ticker", f"--since-time={since}", "--timestamps"))
    whole_second = since[:19] + "Z"  # metav1.Time travels with a precision of a second
    assert later[0][:19] == whole_second[:19] and len(later) >= 2
    assert "at most one of `sinceTime` or `sinceSeconds`" in kube.fails(
        "get", "--raw", f"/api/v1/namespaces/{NS}/pods/ticker/log?sinceSeconds=1&sinceTime={since}")


def test_logs_follow_streams_new_lines(kube: Kube, ticker: str) -> None:
    p = subprocess.Popen([KUBECTL, "--kubeconfig", kube.kubeconfig, "logs", "-f", "--tail=1", "ticker"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(kube))
    try:
        first = int(p.stdout.readline().split()[1])
        seen = [int(p.stdout.readline().split()[1]) for _ in range(4)]
        assert seen == list(range(first + 1, first + 5))  # new lines, in order, as they are written
    finally:
        p.kill()
        p.wait()
    # Following ends with the container's instance.
    uid = ghost_pod(kube, "brief", ["main"])
    cid = instance(kube, "brief", uid, "main", 0, "echo first; sleep 2; echo last")
    set_running(kube, "brief", cid, ["main"])
    started = time.monotonic()
    r = kube.run("logs", "-f", "brief", timeout=30)
    assert (r.returncode, r.stdout) == (0, "first\nlast\n") and time.monotonic() - started < 20, r.stderr


def test_logs_container_choice_and_errors(kube: Kube) -> None:
    uid = ghost_pod(kube, "duo", ["a", "b"], {"kubectl.kubernetes.io/default-container": "b"})
    instance(kube, "duo", uid, "a", 0, "echo from a; sleep 300")
    cid = instance(kube, "duo", uid, "b", 0, "echo from b; sleep 300")
    set_running(kube, "duo", cid, ["a", "b"])
    wait_for(lambda: kube.ok("logs", "duo", "-c", "a") == "from a\n", 30, what="a's log")
    r = kube.run("logs", "duo")  # kubectl defaults to the annotated container
    assert r.returncode == 0 and r.stdout == "from b\n", r.stderr
    assert "container nope is not valid for pod duo" in kube.fails("logs", "duo", "-c", "nope")
    # The API server itself does not guess between two containers.
    assert "a container name must be specified for pod duo, choose one of: [a b]" in kube.fails(
        "get", "--raw", f"/api/v1/namespaces/{NS}/pods/duo/log")
    assert 'previous terminated container "a" in pod "duo" not found' in kube.fails("logs", "duo", "-c", "a", "-p")
    ghost_pod(kube, "unborn", ["main"])
    kube.ok("patch", "pod", "unborn", "--subresource=status", "--type=merge", "-p", json.dumps({"status": {
        "phase": "Pending", "containerStatuses": [{"name": "main", "ready": False, "restartCount": 0, "image": "busybox",
                                                   "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}]}}))
    err = kube.fails("logs", "unborn")
    assert 'container "main" in pod "unborn" is waiting to start: ContainerCreating' in err
    assert "BadRequest" in err
    assert 'pods "nobody" not found' in kube.fails("logs", "nobody")


def test_exec_returns_exit_code_and_streams(kube: Kube, ticker: str) -> None:
    r = kube.run("exec", "ticker", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\ncommand terminated with exit code 3\n")
    assert kube.run("exec", "ticker", "--", "true").returncode == 0
    # Piped stdin: kubectl closes it (v5's close signal) when its input ends, so cat ends.
    r = kube.run("exec", "-i", "ticker", "--", "sh", "-c", "cat; echo done", input="line one\nline two\n")
    assert (r.returncode, r.stdout) == (0, "line one\nline two\ndone\n"), r.stderr
    # kubectl cp is tar over exec, binary both ways.
    payload = os.urandom(200_000)
    src = kube.home / "payload.bin"
    src.write_bytes(payload)
    kube.ok("cp", str(src), "ticker:/tmp/payload.bin")
    kube.ok("cp", "ticker:/tmp/payload.bin", str(kube.home / "back.bin"))
    assert (kube.home / "back.bin").read_bytes() == payload
    r = kube.run("exec", "ticker", "--", "no-such-command")
    assert r.returncode != 0 and "OCI runtime exec failed: exec failed: unable to start container process: " \
        "exec: \"no-such-command\": executable file not found in $PATH: unknown" in r.stderr, r.stderr
    assert "container nope is not valid for pod ticker" in kube.fails("exec", "ticker", "-c", "nope", "--", "true")
    uid = ghost_pod(kube, "idle", ["main"])
    stopped = instance(kube, "idle", uid, "main", 0, "true")
    set_running(kube, "idle", stopped, ["main"])
    wait_for(lambda: kube.daemon.inspect(stopped)["State"]["Status"] == "exited", 30, what="the container to exit")
    # Refused before the upgrade, to the WebSocket and to kubectl's SPDY retry alike.
    assert 'container not found ("main")' in kube.fails("exec", "idle", "--", "true")


def test_python_client_exec_and_port_forward(kube: Kube, ticker: str) -> None:
    """The kubernetes Python client speaks the channel protocols too (port-forward included)."""
    from kubernetes import client, config
    from kubernetes.stream import portforward, stream

    api = client.CoreV1Api(config.new_client_from_config(config_file=kube.kubeconfig))
    resp = stream(api.connect_get_namespaced_pod_exec, "ticker", NS, command=["sh", "-c", "echo hi; exit 2"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=30)
    assert resp.read_stdout() == "hi\n" and resp.returncode == 2
    uid = ghost_pod(kube, "web2", ["main"])
    cid = instance(kube, "web2", uid, "main", 0,
                   "mkdir -p /www && echo python was here > /www/index.html && httpd -f -p 8080 -h /www")
    set_running(kube, "web2", cid, ["main"])
    wait_for(lambda: "httpd" in kube.daemon.ok("top", cid), 30, what="httpd")
    pf = portforward(api.connect_get_namespaced_pod_portforward, "web2", NS, ports="8080")
    sock = pf.socket(8080)
    sock.setblocking(True)
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    reply = b""
    while chunk := sock.recv(4096):
        reply += chunk
    sock.close()
    assert reply.startswith(b"HTTP/1.") and reply.endswith(b"python was here\n") and pf.error(8080) is None


def _raw_exec(k: Kube, protocols: list[str], query: str) -> tuple[str | None, list[bytes]]:
    """A WebSocket exec as a bare client: (the subprotocol chosen, every message until the close)."""
    return _raw_stream(k, "ticker/exec", protocols, query)


def _raw_stream(k: Kube, path: str, protocols: list[str], query: str,
                meanwhile: Callable[[], object] | None = None) -> tuple[str | None, list[bytes]]:
    """A WebSocket session on pod subresource ``path`` as a bare client; ``meanwhile`` runs
    once it is open. (The subprotocol chosen, every message until the close.)"""
    import ssl

    import websocket

    certs = k.daemon.data_root / "kube"
    ws = websocket.create_connection(
        f"wss://127.0.0.1:{k.port}/api/v1/namespaces/{NS}/pods/{path}?{query}", subprotocols=protocols,
        sslopt={"ca_certs": str(certs / "ca.crt"), "certfile": str(certs / "admin.crt"),
                "keyfile": str(certs / "admin.key"), "cert_reqs": ssl.CERT_REQUIRED}, timeout=30)
    if meanwhile is not None:
        meanwhile()
    messages = []
    try:
        while True:
            opcode, data = ws.recv_data(control_frame=False)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            messages.append(data)
    except websocket.WebSocketConnectionClosedException:
        pass
    return ws.subprotocol, messages


def test_v4_channel_protocol_for_older_clients(kube: Kube, ticker: str) -> None:
    protocol, messages = _raw_exec(kube, ["v4.channel.k8s.io"], "command=sh&command=-c&command=echo%20hi%3B%20exit%209"
                                                                "&stdout=true&stderr=true")
    assert protocol == "v4.channel.k8s.io"
    assert messages[0] == b"\x01hi\n" and messages[-1][:1] == b"\x03"
    status = json.loads(messages[-1][1:])
    assert status["reason"] == "NonZeroExitCode" and status["details"]["causes"][0]["message"] == "9"
    # Offering both, the client's first choice wins.
    assert _raw_exec(kube, ["v4.channel.k8s.io", "v5.channel.k8s.io"], "command=true&stdout=1")[0] == \
        "v4.channel.k8s.io"
    import websocket

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:  # v1-v3 are not served
        _raw_exec(kube, ["v3.channel.k8s.io", "channel.k8s.io"], "command=true&stdout=1")
    assert refused.value.status_code == 400
    assert "Upgrade request required" in kube.fails("get", "--raw", f"/api/v1/namespaces/{NS}/pods/ticker/exec"
                                                                    "?command=true&stdout=1")


def _pty_kubectl(k: Kube, args: list[str], rows: int, cols: int) -> tuple[int, int]:
    """kubectl on a new pseudo-terminal of ``rows`` x ``cols``: (pid, master fd)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: kubectl on the terminal
        os.execve(KUBECTL, [KUBECTL, "--kubeconfig", k.kubeconfig, *args], env(k))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def _read_until(fd: int, pattern: str, timeout: float = 30) -> str:
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if re.search(pattern, out.decode(errors="replace")):
                return out.decode(errors="replace")
    raise AssertionError(f"never saw {pattern!r} in {out!r}")


def test_exec_it_is_a_real_terminal(kube: Kube, ticker: str) -> None:
    pid, fd = _pty_kubectl(kube, ["exec", "-it", "ticker", "--", "sh"], 30, 100)
    try:
        _read_until(fd, r"/ # ")
        os.write(fd, b"tty; stty size\n")
        _read_until(fd, r"/dev/pts/\d+\s+30 100")
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 132, 0, 0))  # the kernel signals SIGWINCH
        deadline = time.monotonic() + 20
        while True:
            os.write(fd, b"stty size\n")
            try:
                _read_until(fd, r"\n40 132", 2)
                break
            except AssertionError:
                assert time.monotonic() < deadline, "the resize never reached the terminal"
        os.write(fd, b"exit 7\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 7
        pid = 0
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def test_attach_to_a_running_container(kube: Kube) -> None:
    uid = ghost_pod(kube, "listener", ["main"])
    cid = instance(kube, "listener", uid, "main", 0, "read line; echo got $line", "-i")
    set_running(kube, "listener", cid, ["main"])
    r = kube.run("attach", "-i", "listener", input="hello\n", timeout=60)
    assert r.returncode == 0 and "got hello" in r.stdout, (r.stdout, r.stderr)


def test_attach_to_a_container_that_ends_meanwhile_is_refused(kube: Kube) -> None:
    """A container that ends while the attach is set up: an error on the error channel,
    which makes kubectl fall back to its logs (not a wait for a start that never comes)."""
    uid = ghost_pod(kube, "fleeting", ["main"], stdin=True, tty=True)
    cid = instance(kube, "fleeting", uid, "main", 0, "echo said; exec sleep 300", "-i", "-t")
    set_running(kube, "fleeting", cid, ["main"])
    # With a terminal the server first waits (up to a second) for the client's size,
    # which this client never sends: the container is killed meanwhile.
    _, messages = _raw_stream(kube, "fleeting/attach", ["v5.channel.k8s.io"], "stdin=true&stdout=true&tty=true",
                              meanwhile=lambda: kube.daemon.ok("kill", cid))
    assert messages and messages[-1][:1] == b"\x03", messages
    status = json.loads(messages[-1][1:])
    assert status["status"] == "Failure" and "container main is not running" in status["message"], status
    assert "said" in kube.ok("logs", "fleeting")


def test_attach_with_a_terminal(kube: Kube) -> None:
    uid = ghost_pod(kube, "console", ["main"], stdin=True, tty=True)  # kubectl looks: no TTY otherwise
    cid = instance(kube, "console", uid, "main", 0, "exec sh", "-i", "-t")
    set_running(kube, "console", cid, ["main"])
    pid, fd = _pty_kubectl(kube, ["attach", "-it", "console"], 25, 90)
    try:
        os.write(fd, b"\n")  # as kubectl says: "If you don't see a command prompt, try pressing enter."
        _read_until(fd, r"/ # ")
        os.write(fd, b"echo $((6*7)); stty size\n")
        _read_until(fd, r"\n42\s+25 90")  # the container's terminal took kubectl's size
        os.write(fd, b"exit\n")  # the container's shell ends, and with it the attach
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        pid = 0
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    wait_for(lambda: kube.daemon.inspect(cid)["State"]["Status"] == "exited", 30, what="the container to exit")


def test_port_forward(kube: Kube) -> None:
    uid = ghost_pod(kube, "web", ["main"])
    cid = instance(kube, "web", uid, "main", 0,
                   "mkdir -p /www && echo hello from the pod > /www/index.html && "
                   "head -c 3000000 /dev/urandom > /www/big && sha256sum /www/big > /www/big.sum && "
                   "httpd -f -p 8080 -h /www")
    set_running(kube, "web", cid, ["main"])
    p = subprocess.Popen([KUBECTL, "--kubeconfig", kube.kubeconfig, "port-forward", "pod/web", ":8080", ":9"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(kube))
    try:
        ports = {}
        while len(ports) < 2:
            line = p.stdout.readline()
            assert line, p.stderr.read()
            m = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
            if m:
                ports[int(m.group(2))] = int(m.group(1))
        for _ in range(3):  # one SPDY session, a pair of streams per connection
            body = wait_for(lambda: _get(f"http://127.0.0.1:{ports[8080]}/"), 30, what="the forwarded port")
            assert body == "hello from the pod\n"
        # Many connections at once, each a few megabytes: multiplexed, nothing lost or mixed.
        expected = _get(f"http://127.0.0.1:{ports[8080]}/big.sum").split()[0]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            digests = list(pool.map(lambda _: _digest(f"http://127.0.0.1:{ports[8080]}/big"), range(6)))
        assert digests == [expected] * 6
        # Nothing listens on 9: the connection ends and kubectl reports the kubelet-style error.
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{ports[9]}/", timeout=10).read()
    finally:
        p.kill()
        _, err = p.communicate()
    assert "error forwarding port 9 to pod web" in err


def _digest(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as r:
        return hashlib.sha256(r.read()).hexdigest()


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()
    except OSError:
        return None


def test_run_interactive_removes_its_pod(kube: Kube) -> None:
    """Needs the node agent to run the pods (skipped where there is none)."""
    probe = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe-agent", "namespace": NS},
             "spec": {"containers": [{"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                      "command": ["sleep", "300"]}]}}
    kube.ok("apply", "-f", "-", input=json.dumps(probe))
    try:
        if not wait_for_or_none(lambda: get_pod(kube, "probe-agent").get("spec", {}).get("nodeName"), 20):
            pytest.skip("no node agent runs pods on this tree")
    finally:
        kube.run("delete", "pod", "probe-agent", "--wait=false")
    run = ["run", "-i", "--rm", "--restart=Never", "--image=busybox", "--image-pull-policy=IfNotPresent"]
    r = kube.run(*run, "hi", "--", "sh", "-c", "echo hi", timeout=120)
    assert r.returncode == 0 and "hi" in r.stdout.splitlines(), (r.stdout, r.stderr)
    wait_for(lambda: kube.run("get", "pod", "hi").returncode != 0, 60, what="the pod to go")
    # Attached to the pod's stdin (stdinOnce): kubectl's end of input closes it.
    r = kube.run(*run, "echoer", "--", "sh", "-c", "read x; echo got $x; exit 4", input="ping\n", timeout=120)
    assert "got ping" in r.stdout and r.returncode == 4, (r.stdout, r.stderr)
    # With a terminal: kubectl run -it, a shell, its exit code.
    pid, fd = _pty_kubectl(kube, [*run[:1], "-it", *run[2:], "shell", "--", "sh"], 24, 80)
    try:
        os.write(fd, b"\n")
        _read_until(fd, r"/ # ", 120)
        os.write(fd, b"stty size; exit 5\n")
        _read_until(fd, r"24 80")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 5
        pid = 0
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


def get_pod(k: Kube, name: str) -> dict:
    r = k.run("get", "pod", name, "-o", "json")
    return json.loads(r.stdout) if r.returncode == 0 else {}


def wait_for_or_none(predicate, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return None
