"""docker-py 7 (a client no one here wrote) against Baleine: containers, exec, logs,
images, archives, events, errors."""

from __future__ import annotations

import io
import tarfile
import time

import docker
import pytest

from ..conftest import BUSYBOX_OCI, Daemon


@pytest.fixture
def dc(daemon: Daemon):
    client = daemon.api()
    yield client
    client.close()


def test_version_negotiation(dc) -> None:
    assert dc.api.api_version == "1.47"
    assert dc.ping() is True
    v = dc.version()
    assert v["ApiVersion"] == "1.47" and v["MinAPIVersion"] == "1.24"
    assert dc.info()["Driver"] == "overlay2"


def test_run_output_and_exit_code(dc, name: str) -> None:
    out = dc.containers.run("busybox", ["sh", "-c", "echo hello; echo oops >&2"], name=name, remove=True,
                            stderr=True)
    assert b"hello" in out and b"oops" in out
    with pytest.raises(docker.errors.ContainerError) as exc:
        dc.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    assert exc.value.exit_status == 3


def test_detached_lifecycle(dc, name: str) -> None:
    c = dc.containers.run("busybox", ["sh", "-c", "echo started; sleep 60"], name=name, detach=True,
                          labels={"team": "core"}, environment={"FOO": "bar"})
    try:
        c.reload()
        assert c.status == "running"
        assert c.labels["team"] == "core"
        assert "FOO=bar" in c.attrs["Config"]["Env"]
        deadline = time.time() + 5
        while b"started" not in c.logs() and time.time() < deadline:
            time.sleep(0.1)
        assert c.logs() == b"started\n"
        assert [x.id for x in dc.containers.list(filters={"label": "team=core"})] == [c.id]
        c.pause()
        c.reload()
        assert c.status == "paused"
        c.unpause()
        c.stop(timeout=1)
        assert c.wait(timeout=10)["StatusCode"] == 137
        c.reload()
        assert c.status == "exited"
        c.start()
        c.reload()
        assert c.status == "running"
        c.kill()
        c.wait(timeout=10)
        c.rename(name + "-renamed")
        c.reload()
        assert c.name == name + "-renamed"
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        dc.containers.get(c.id)


def test_exec_run(dc, name: str) -> None:
    c = dc.containers.run("busybox", ["sleep", "60"], name=name, detach=True)
    try:
        r = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 4"])
        assert r.exit_code == 4 and b"out" in r.output and b"err" in r.output
        r = c.exec_run(["sh", "-c", "echo $FOO; pwd; id -u"], environment={"FOO": "x"}, workdir="/tmp", user="1000:1000")
        assert r.output.split() == [b"x", b"/tmp", b"1000"]
        r = c.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
        assert r.output == (b"out\n", b"err\n")
        r = c.exec_run("tty", tty=True)
        assert r.output.startswith(b"/dev/pts/")
        # Exec through the low-level API with a socket, stdin included.
        eid = dc.api.exec_create(c.id, ["cat"], stdin=True)["Id"]
        sock = dc.api.exec_start(eid, socket=True)
        sock._sock.sendall(b"round trip\n")
        sock._sock.shutdown(1)
        data = b""
        while True:
            chunk = sock._sock.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data.endswith(b"round trip\n")
        for _ in range(50):
            if dc.api.exec_inspect(eid)["Running"] is False:
                break
            time.sleep(0.05)
        assert dc.api.exec_inspect(eid)["ExitCode"] == 0
    finally:
        c.remove(force=True)


def test_logs_stream_and_options(dc, name: str) -> None:
    c = dc.containers.run("busybox", ["sh", "-c", "for i in 1 2 3 4; do echo $i; sleep 0.2; done"], name=name,
                          detach=True)
    try:
        lines = list(c.logs(stream=True, follow=True))
        assert b"".join(lines) == b"1\n2\n3\n4\n"
        assert c.logs(tail=2) == b"3\n4\n"
        stamped = c.logs(timestamps=True).splitlines()[0]
        assert stamped.endswith(b" 1") and b"T" in stamped.split()[0]
    finally:
        c.remove(force=True)


def test_attach_socket_with_stdin(dc, name: str) -> None:
    c = dc.containers.create("busybox", ["sh", "-c", "read line; echo got $line"], name=name, stdin_open=True,
                             detach=True)
    try:
        sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        c.start()
        sock._sock.sendall(b"hi\n")
        data = b""
        deadline = time.time() + 10
        while b"got hi" not in data and time.time() < deadline:
            chunk = sock._sock.recv(4096)
            if not chunk:
                break
            data += chunk
        assert b"got hi" in data
        assert c.wait(timeout=10)["StatusCode"] == 0
    finally:
        c.remove(force=True)


def test_images_load_save_tag_remove(dc, daemon: Daemon) -> None:
    with open(BUSYBOX_OCI, "rb") as f:
        loaded = dc.images.load(f.read())
    assert any("busybox:1.35" in t for img in loaded for t in img.tags)
    img = dc.images.get("busybox:1.35")
    assert img.attrs["RootFS"]["Layers"]
    assert img.tag("pytest/copy", "v1")
    assert "pytest/copy:v1" in dc.images.get("pytest/copy:v1").tags
    data = b"".join(img.save(named=True))
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        names = t.getnames()
    assert "manifest.json" in names and "index.json" in names
    history = img.history()
    assert history[0]["Id"] == img.id
    dc.images.remove("pytest/copy:v1")
    with pytest.raises(docker.errors.ImageNotFound):
        dc.images.get("pytest/copy:v1")
    with pytest.raises(docker.errors.ImageNotFound):
        dc.images.get("no-such-image:here")


def test_commit(dc, name: str) -> None:
    c = dc.containers.run("busybox", ["sh", "-c", "echo data > /file"], name=name, detach=True)
    try:
        c.wait(timeout=10)
        img = c.commit(repository="pytest/committed", tag="v1", message="msg", author="me",
                       changes=["ENV A=1", 'CMD ["cat", "/file"]'])
        assert img.attrs["Author"] == "me" and "A=1" in img.attrs["Config"]["Env"]
        out = dc.containers.run("pytest/committed:v1", remove=True)
        assert out == b"data\n"
    finally:
        c.remove(force=True)
        try:
            dc.images.remove("pytest/committed:v1", force=True)
        except docker.errors.ImageNotFound:
            pass


def test_events(dc, name: str) -> None:
    since = int(time.time()) - 1
    dc.containers.run("busybox", "true", name=name, remove=True)
    until = int(time.time()) + 2
    events = list(dc.events(since=since, until=until, decode=True, filters={"container": name}))
    actions = [e["Action"] for e in events]
    for expected in ("create", "start", "die", "destroy"):
        assert expected in actions, actions


def test_errors_map_to_exceptions(dc, daemon: Daemon) -> None:
    with pytest.raises(docker.errors.NotFound):
        dc.containers.get("no-such-container")
    with pytest.raises(docker.errors.APIError) as exc:
        dc.api.create_container("busybox", "true", name="bad name!")
    assert exc.value.status_code == 400
    c = dc.containers.create("busybox", "true", name="dup-name-test")
    try:
        with pytest.raises(docker.errors.APIError) as exc:
            dc.containers.create("busybox", "true", name="dup-name-test")
        assert exc.value.status_code == 409
    finally:
        c.remove()
    with pytest.raises(docker.errors.APIError) as exc:
        dc.api.kill(dc.containers.create("busybox", "true").id, signal="NOPE")
    assert exc.value.status_code in (400, 409)
    # A malformed body is a 400 and the daemon keeps serving.
    resp = dc.api._post(dc.api._url("/containers/create"), data="{not json",
                        headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert dc.ping()
    for cont in dc.containers.list(all=True, filters={"status": "created"}):
        cont.remove()
