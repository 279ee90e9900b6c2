"""GET /events: what docker emits for a container's life and for image actions, with
since/until and filters, through docker-py, `baleine events` and `docker events`."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import pytest

from ..conftest import BUSYBOX_TAR, DOCKER, Daemon, baleine_cmd


def api_events(d: Daemon, since: float, until: float | None = None, **filters: Any) -> list[dict[str, Any]]:
    """Past events through docker-py (``client.events(decode=True, since=, until=)``)."""
    client = d.api()
    return list(client.api.events(decode=True, since=since, until=until or time.time() + 0.01,
                                  filters=filters or None))


def actions(evs: list[dict[str, Any]]) -> list[str]:
    return [e["Action"] for e in evs]


def test_container_lifecycle_events(daemon: Daemon, name: str) -> None:
    since = time.time()
    client = daemon.api()
    c = client.containers.create("busybox", ["sh", "-c", "trap 'exit 7' TERM; sleep 300 & wait"], name=name,
                                 labels={"suite": "events"})
    new_name = f"{name}-renamed"
    try:
        c.start()
        c.pause()
        c.unpause()
        c.rename(new_name)
        ex = client.api.exec_create(c.id, ["sh", "-c", "exit 4"])
        client.api.exec_start(ex["Id"])
        c.kill(signal="SIGUSR1")
        c.stop(timeout=5)
        c.start()
        c.restart(timeout=5)
        c.remove(force=True)
        evs = api_events(daemon, since, container=c.id)
        got = actions(evs)
        assert got == ["create", "start", "pause", "unpause", "rename",
                       "exec_create: sh -c exit 4", "exec_start: sh -c exit 4", "exec_die",
                       "kill", "kill", "die", "stop", "start", "kill", "die", "stop", "start", "restart",
                       "kill", "die", "destroy"], got
        by_action = {}
        for e in evs:
            by_action.setdefault(e["Action"], []).append(e)
        for e in evs:
            assert e["Type"] == "container" and e["Actor"]["ID"] == c.id
            attrs = e["Actor"]["Attributes"]
            assert attrs["image"] == "busybox" and attrs["suite"] == "events"
            assert e["scope"] == "local" and e["time"] == e["timeNano"] // 10**9
            # The pre-1.22 fields docker still sends.
            assert e["status"] == e["Action"] and e["id"] == c.id and e["from"] == "busybox"
        assert by_action["create"][0]["Actor"]["Attributes"]["name"] == name
        assert by_action["rename"][0]["Actor"]["Attributes"]["oldName"] == "/" + name
        assert by_action["rename"][0]["Actor"]["Attributes"]["name"] == new_name
        assert [k["Actor"]["Attributes"]["signal"] for k in by_action["kill"]] == ["10", "15", "15", "9"]
        assert [d_["Actor"]["Attributes"]["exitCode"] for d_ in by_action["die"]] == ["7", "7", "137"]
        assert "execDuration" in by_action["die"][0]["Actor"]["Attributes"]
        exec_die = by_action["exec_die"][0]["Actor"]["Attributes"]
        assert exec_die["exitCode"] == "4" and exec_die["execID"] == ex["Id"]
        # Events come in order.
        stamps = [e["timeNano"] for e in evs]
        assert stamps == sorted(stamps)
    finally:
        daemon.cli("rm", "-f", c.id)


def test_attach_event_and_run(daemon: Daemon, name: str) -> None:
    since = time.time()
    assert daemon.cli("run", "--name", name, "busybox", "echo", "hi").out == "hi"
    daemon.ok("rm", name)
    got = actions(api_events(daemon, since, container=name))
    assert got == ["create", "attach", "start", "die", "destroy"], got


def test_image_events(daemon: Daemon, name: str, tmp_path) -> None:
    since = time.time()
    client = daemon.api()
    busybox = client.images.get("busybox:1.35")
    repo = f"ev-{name.lower()}"
    daemon.ok("tag", "busybox:1.35", f"{repo}:a")
    daemon.ok("tag", "busybox:1.35", f"{repo}:b")
    daemon.ok("rmi", f"{repo}:a")
    archive = tmp_path / "img.tar"
    daemon.ok("save", "-o", str(archive), f"{repo}:b")
    daemon.ok("rmi", f"{repo}:b")
    daemon.ok("load", "-i", str(archive))
    daemon.ok("rmi", f"{repo}:b")
    # import, then delete the imported image (untag + delete)
    rootfs = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "-cf", str(rootfs), "-C", str(tmp_path), "--files-from", "/dev/null"], check=True)
    imported = daemon.ok("import", str(rootfs), f"{repo}:imp")
    daemon.ok("rmi", f"{repo}:imp")
    evs = api_events(daemon, since, type="image")
    got = [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"].get("name")) for e in evs]
    bid = busybox.id
    assert got == [
        ("tag", bid, f"{repo}:a"),
        ("tag", bid, f"{repo}:b"),
        ("untag", bid, bid),
        ("save", bid, bid),
        ("untag", bid, bid),
        ("load", bid, bid),
        ("untag", bid, bid),
        ("import", imported, imported),
        ("untag", imported, imported),
        ("delete", imported, imported),
    ], got
    for e in evs:
        assert e["Type"] == "image" and e["status"] == e["Action"] and e["id"] == e["Actor"]["ID"]
    # The image filter matches image events by ID or name, with or without tag.
    assert actions(api_events(daemon, since, image=f"{repo}:a")) == ["tag"]
    assert len(api_events(daemon, since, image=imported)) == 3


def test_filters(daemon: Daemon, name: str) -> None:
    since = time.time()
    other = f"{name}-other"
    daemon.ok("run", "--name", name, "--label", "team=blue", "--label", "tier", "busybox", "true")
    assert daemon.cli("run", "--name", other, "--label", "team=red", "busybox", "sh", "-c", "exit 2").returncode == 2
    daemon.ok("rm", name, other)
    # container: ID or name, by prefix (so `name` also matches `name-other`).
    assert {e["Actor"]["Attributes"]["name"] for e in api_events(daemon, since, container=name)} == {name, other}
    assert {e["Actor"]["Attributes"]["name"] for e in api_events(daemon, since, container=other)} == {other}
    # event (several values OR), label (k or k=v; several values AND), type, image.
    die = api_events(daemon, since, event="die", container=name)
    assert [e["Actor"]["Attributes"]["exitCode"] for e in die] == ["0", "2"]
    assert actions(api_events(daemon, since, event=["start", "destroy"], container=other)) == ["start", "destroy"]
    assert {e["Actor"]["Attributes"]["name"] for e in api_events(daemon, since, label="team=red")} == {other}
    assert {e["Actor"]["Attributes"]["name"] for e in api_events(daemon, since, label=["team=blue", "tier"])} == {name}
    assert api_events(daemon, since, label=["team=red", "tier"]) == []
    assert api_events(daemon, since, type="image", container=name) == []
    assert len(api_events(daemon, since, image="busybox", container=name)) == 10
    # docker compares tags too: "busybox:1.35" is not what these containers were created from.
    assert api_events(daemon, since, image="busybox:1.35", container=name) == []
    assert api_events(daemon, since, image="alpine", container=name) == []


def test_exec_event_filter_is_fuzzy(daemon: Daemon, name: str) -> None:
    """``event=exec_create`` (also exec_start, health_status) matches "exec_create: cmd"."""
    since = time.time()
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "300")
    try:
        daemon.ok("exec", name, "true")
        got = actions(api_events(daemon, since, container=name, event=["exec_create", "exec_die"]))
        assert got == ["exec_create: true ", "exec_die"], got
        assert api_events(daemon, since, container=name, event="exec") == []
    finally:
        daemon.ok("rm", "-f", name)


def test_since_until(daemon: Daemon, name: str) -> None:
    t0 = time.time()
    daemon.ok("create", "--name", name, "busybox", "true")
    time.sleep(0.3)
    t1 = time.time()
    time.sleep(0.3)
    daemon.ok("rm", name)
    t2 = time.time()
    assert actions(api_events(daemon, t0, t2, container=name)) == ["create", "destroy"]
    assert actions(api_events(daemon, t0, t1, container=name)) == ["create"]
    assert actions(api_events(daemon, t1, t2, container=name)) == ["destroy"]
    # until alone: everything buffered up to it.
    client = daemon.api()
    assert "create" in actions(list(client.api.events(decode=True, until=t1, filters={"container": name})))
    # An exact nanosecond since includes that event.
    first = api_events(daemon, t0, t2, container=name)[0]
    exact = f"{first['timeNano'] // 10**9}.{first['timeNano'] % 10**9:09d}"
    r = client.api._get(client.api._url("/events"), params={"since": exact, "until": str(t2),
                                                           "filters": json.dumps({"container": [name]})})
    assert [json.loads(line)["Action"] for line in r.text.splitlines()] == ["create", "destroy"]
    # until before since is a 400 (docker-py's events() does not check statuses).
    r = client.api._get(client.api._url("/events"), params={"since": str(t2), "until": str(t0 - 10)})
    assert r.status_code == 400 and "cannot be after `until`" in r.json()["message"]


def test_live_stream_until(daemon: Daemon, name: str) -> None:
    """Without since, only new events are streamed, until `until` comes."""
    # (a duration means that long ago, as with docker: a time 4s ahead is absolute)
    proc = subprocess.Popen(baleine_cmd() + ["events", "--until", str(time.time() + 4), "--filter", f"container={name}",
                                             "--format", "{{.Action}} {{.Actor.Attributes.name}}"],
                            env=daemon.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        daemon.ok("create", "--name", name, "busybox", "true")
        daemon.ok("rm", name)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.splitlines() == [f"create {name}", f"destroy {name}"]


def test_cli_events_output(daemon: Daemon, name: str) -> None:
    since = str(time.time())
    cid = daemon.ok("create", "--name", name, "--label", "b=2", "--label", "a=1", "busybox", "true")
    daemon.ok("rm", name)
    out = daemon.ok("events", "--since", since, "--until", str(time.time() + 0.01), "--filter", f"container={name}",
                    "--filter", "event=create")
    lines = out.splitlines()
    assert len(lines) == 1
    stamp, rest = lines[0].split(" ", 1)
    assert rest == f"container create {cid} (a=1, b=2, image=busybox, name={name})"
    assert len(stamp.split(".")[1].rstrip("Z").split("+")[0].split("-")[0]) == 9
    # --format json
    out = daemon.ok("events", "--since", since, "--until", str(time.time() + 0.01), "--filter", f"container={name}",
                    "--format", "json")
    assert [json.loads(line)["Action"] for line in out.splitlines()] == ["create", "destroy"]
    r = daemon.cli("events", "--since", "yesterday-ish")
    assert r.returncode != 0


@pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")
def test_docker_cli_events(daemon: Daemon, name: str) -> None:
    since = str(time.time())
    r = daemon.docker("run", "--name", name, "--label", "k=v", "busybox", "sh", "-c", "exit 3")
    assert r.returncode == 3
    daemon.docker("rm", name)
    out = daemon.docker("events", "--since", since, "--until", str(time.time() + 0.01), "--filter",
                        f"container={name}", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}").out
    assert out.splitlines() == [f"container {a} {name}" for a in ("create", "attach", "start", "die", "destroy")]
    out = daemon.docker("events", "--since", since, "--until", str(time.time() + 0.01), "--filter",
                        f"container={name}", "--filter", "event=die").out
    line = out.splitlines()[0]
    assert " container die " in line and "exitCode=3" in line and "k=v" in line and f"name={name}" in line
    out = daemon.docker("events", "--since", since, "--until", str(time.time() + 0.01), "--filter", "label=k=v",
                        "--format", "{{json .}}").out
    assert [json.loads(x)["Action"] for x in out.splitlines()] == ["create", "attach", "start", "die", "destroy"]
    # docker's relative times (resolved to whole seconds, hence the pause)
    time.sleep(1.1)
    out = daemon.docker("events", "--since", "1m", "--until", "0s", "--filter", f"container={name}",
                        "--filter", "event=destroy", "--format", "{{.Action}}").out
    assert out == "destroy"


def test_load_event_from_fresh_archive(fresh_daemon: Daemon) -> None:
    since = time.time()
    fresh_daemon.ok("load", "-i", str(BUSYBOX_TAR))
    evs = api_events(fresh_daemon, since, type="image")
    image_id = fresh_daemon.api().images.get("busybox:1.35").id
    assert [(e["Action"], e["Actor"]["ID"]) for e in evs] == [("load", image_id)]


def test_resize_event(daemon: Daemon, name: str) -> None:
    since = time.time()
    client = daemon.api()
    c = client.containers.run("busybox", ["sleep", "300"], name=name, tty=True, detach=True)
    try:
        c.resize(height=30, width=100)
        evs = api_events(daemon, since, container=name, event="resize")
        assert [(e["Actor"]["Attributes"]["height"], e["Actor"]["Attributes"]["width"]) for e in evs] == \
            [("30", "100")]
    finally:
        c.remove(force=True)
