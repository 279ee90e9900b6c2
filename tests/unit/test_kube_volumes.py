"""kubelet/volumes.py: a pod's volumes on the host (real files, a real registry on
SQLite, a real tmpfs as root; no daemon, no mocks)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from baleine.kube.client import Client
from baleine.kube.kubelet import volumes as volmod
from baleine.kube.kubelet.volumes import PodVolumes, VolumeError, read_payload, write_atomic
from baleine.kube.manager import Context, Options
from baleine.kube.registry import Registry
from baleine.kube.storage import Storage

Obj = dict[str, Any]


def run(path: Path, body: Callable[[Context, Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        storage = Storage(str(path / "db" / "objects.db"))
        await storage.open()
        registry = Registry(storage)
        client = Client(registry)
        await client.create("namespaces", "", {"metadata": {"name": "default"}})
        try:
            return await body(Context(registry, None, Options(data_root=str(path / "root"))), client)
        finally:
            await storage.close()
    return asyncio.run(main())


def pod(volumes: list[Obj], **meta: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "uid": "uid-1", "labels": {"app": "web", "tier": "b"},
                         **meta},
            "spec": {"volumes": volumes, "containers": [{"name": "c", "resources": {"limits": {"memory": "64Mi"}}}]},
            "status": {"podIP": "10.0.0.9"}}


def test_atomic_writer_switches_at_once(tmp_path: Path) -> None:
    target = str(tmp_path / "vol")
    assert write_atomic(target, {"a": (b"1", 0o644), "dir/b": (b"2", 0o600)})
    first = os.readlink(os.path.join(target, "..data"))
    assert first.startswith("..") and os.readlink(os.path.join(target, "a")) == "..data/a"
    assert Path(target, "dir", "b").read_bytes() == b"2"
    assert stat.S_IMODE(os.stat(os.path.join(target, "dir", "b")).st_mode) == 0o600
    assert not write_atomic(target, {"a": (b"1", 0o644), "dir/b": (b"2", 0o600)})  # unchanged: untouched
    assert os.readlink(os.path.join(target, "..data")) == first
    assert write_atomic(target, {"a": (b"new", 0o644), "c": (b"3", 0o644)})
    assert sorted(os.listdir(target)) == sorted(["..data", os.readlink(os.path.join(target, "..data")), "a", "c"])
    assert Path(target, "a").read_bytes() == b"new" and not os.path.exists(os.path.join(target, first))
    assert read_payload(target) == {"a": (b"new", 0o644), "c": (b"3", 0o644)}


def test_configmap_secret_downward_and_projected_files(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        await client.create("configmaps", "default", {"metadata": {"name": "cfg"},
                                                      "data": {"a.conf": "A", "b.conf": "B"}})
        await client.create("secrets", "default", {"metadata": {"name": "s"}, "stringData": {"pw": "hunter2"}})
        vols = PodVolumes(ctx, pod([
            {"name": "all", "configMap": {"name": "cfg"}},
            {"name": "some", "configMap": {"name": "cfg", "defaultMode": 0o400,
                                           "items": [{"key": "b.conf", "path": "sub/renamed", "mode": 0o440}]}},
            {"name": "sec", "secret": {"secretName": "s"}},
            {"name": "gone", "secret": {"secretName": "nope", "optional": True}},
            {"name": "down", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory",
                                                     "divisor": "1Mi"}}]}},
            {"name": "proj", "projected": {"sources": [
                {"configMap": {"name": "cfg", "items": [{"key": "a.conf", "path": "a"}]}},
                {"secret": {"name": "s"}}, {"serviceAccountToken": {"path": "token"}}]}}]))
        await vols.setup()
        try:
            root = Path(vols.root)
            cm_dir = root / "kubernetes.io~configmap"
            assert (cm_dir / "all" / "a.conf").read_text() == "A" and (cm_dir / "all" / "b.conf").read_text() == "B"
            assert os.listdir(cm_dir / "some" / "sub") == ["renamed"]
            assert stat.S_IMODE(os.stat(cm_dir / "some" / "sub" / "renamed").st_mode) == 0o440
            assert (root / "kubernetes.io~secret" / "sec" / "pw").read_text() == "hunter2"
            assert [p for p in os.listdir(root / "kubernetes.io~secret" / "gone") if not p.startswith("..")] == []
            down = root / "kubernetes.io~downward-api" / "down"
            assert (down / "labels").read_text() == 'app="web"\ntier="b"' and (down / "name").read_text() == "p"
            assert (down / "mem").read_text() == "64"
            proj = root / "kubernetes.io~projected" / "proj"
            assert sorted(p for p in os.listdir(proj) if not p.startswith("..")) == ["a", "pw"]
            warnings = [e["message"] for e in ctx.registry.storage.list("events", "default")]
            assert any("serviceAccountToken" in m and "skipped" in m for m in warnings)
            mounts = vols.mounts({"name": "c", "volumeMounts": [
                {"name": "all", "mountPath": "/etc/app"},
                {"name": "all", "mountPath": "/etc/one.conf", "subPath": "a.conf"}]})
            assert mounts == [{"Type": "bind", "Source": str(cm_dir / "all"), "Target": "/etc/app", "ReadOnly": True},
                              {"Type": "bind", "Source": str(cm_dir / "all" / "a.conf"), "Target": "/etc/one.conf",
                               "ReadOnly": True}]
            # An update appears at once on refresh; a vanished source keeps the last content.
            cm = client.get("configmaps", "default", "cfg")
            cm["data"]["a.conf"] = "A2"
            await client.update("configmaps", cm)
            vols.pod["metadata"]["labels"]["tier"] = "c"
            await vols.refresh()
            assert (cm_dir / "all" / "a.conf").read_text() == "A2" and (proj / "a").read_text() == "A2"
            assert (down / "labels").read_text() == 'app="web"\ntier="c"'
            await client.delete("secrets", "default", "s")
            await vols.refresh()
            assert (root / "kubernetes.io~secret" / "sec" / "pw").read_text() == "hunter2"
        finally:
            await vols.teardown()
        assert not os.path.exists(os.path.dirname(vols.root))
    run(tmp_path, body)


def test_the_follower_projects_changes_without_being_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(volmod, "RESYNC", 0.2)

    async def body(ctx: Context, client: Client) -> None:
        await client.create("configmaps", "default", {"metadata": {"name": "cfg"}, "data": {"k": "1"}})
        vols = PodVolumes(ctx, pod([{"name": "v", "configMap": {"name": "cfg"}}]))
        await vols.setup()
        path = Path(vols.root) / "kubernetes.io~configmap" / "v" / "k"
        try:
            cm = client.get("configmaps", "default", "cfg")
            cm["data"]["k"] = "2"
            await client.update("configmaps", cm)
            for _ in range(100):
                if path.read_text() == "2":
                    break
                await asyncio.sleep(0.02)
            assert path.read_text() == "2"
        finally:
            await vols.teardown()
    run(tmp_path, body)


def test_missing_sources_fail_with_kubelets_messages(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        await client.create("configmaps", "default", {"metadata": {"name": "cfg"}, "data": {"k": "v"}})
        cases = [({"configMap": {"name": "none"}}, 'configmap "none" not found'),
                 ({"secret": {"secretName": "none"}}, 'secret "none" not found'),
                 ({"configMap": {"name": "cfg", "items": [{"key": "x", "path": "x"}]}},
                  "configmap references non-existent config key: x"),
                 ({"persistentVolumeClaim": {"claimName": "nope"}}, 'persistentvolumeclaim "nope" not found')]
        for source, message in cases:
            with pytest.raises(VolumeError) as info:
                await PodVolumes(ctx, pod([{"name": "v", **source}])).setup()
            assert str(info.value) == message
    run(tmp_path, body)


def test_host_path_types(tmp_path: Path) -> None:
    sock_path = str(tmp_path / "s.sock")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(sock_path)
    (tmp_path / "file").write_text("x")

    async def body(ctx: Context, client: Client) -> None:
        def hp(path: Path | str, kind: str) -> Obj:
            return {"name": "h", "hostPath": {"path": str(path), "type": kind}}
        ok = [hp(tmp_path / "new" / "dir", "DirectoryOrCreate"), hp(tmp_path / "new-file", "FileOrCreate"),
              hp(tmp_path, "Directory"), hp(tmp_path / "file", "File"), hp(sock_path, "Socket"),
              hp(tmp_path / "anything", "")]
        for volume in ok:
            vols = PodVolumes(ctx, pod([volume]))
            await vols.setup()
            assert vols.mounts({"volumeMounts": [{"name": "h", "mountPath": "/m", "readOnly": True}]}) == [
                {"Type": "bind", "Source": volume["hostPath"]["path"], "Target": "/m", "ReadOnly": True}]
        assert (tmp_path / "new" / "dir").is_dir() and (tmp_path / "new-file").is_file()
        bad = [(hp(tmp_path / "file", "Directory"), "is not a directory"),
               (hp(tmp_path, "File"), "is not a file"), (hp(tmp_path / "missing", "Directory"), "is not a directory"),
               (hp(tmp_path / "file", "Socket"), "is not a socket file"),
               (hp(tmp_path / "file", "CharDevice"), "is not a character device")]
        for volume, what in bad:
            with pytest.raises(VolumeError) as info:
                await PodVolumes(ctx, pod([volume])).setup()
            assert str(info.value) == f"hostPath type check failed: {volume['hostPath']['path']} {what}"
    try:
        run(tmp_path, body)
    finally:
        sock.close()


def test_empty_dirs_subpaths_and_memory_medium(tmp_path: Path) -> None:
    async def body(ctx: Context, client: Client) -> None:
        vols = PodVolumes(ctx, pod([{"name": "scratch", "emptyDir": {}},
                                    {"name": "ram", "emptyDir": {"medium": "Memory", "sizeLimit": "4Mi"}}]))
        await vols.setup()
        base = Path(vols.root) / "kubernetes.io~empty-dir"
        (base / "scratch" / "kept").write_text("data")
        await vols.setup()  # again (a restart): the data stays
        assert (base / "scratch" / "kept").read_text() == "data"
        container = {"name": "c", "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                     "volumeMounts": [{"name": "scratch", "mountPath": "/s", "mountPropagation": "HostToContainer"},
                                      {"name": "scratch", "mountPath": "/logs", "subPathExpr": "logs/$(POD)"},
                                      {"name": "ram", "mountPath": "/ram"}]}
        mounts = vols.mounts(container)
        assert mounts[0] == {"Type": "bind", "Source": str(base / "scratch"), "Target": "/s", "ReadOnly": False,
                             "BindOptions": {"Propagation": "rslave"}}
        logs = base / "scratch" / "logs" / "p"
        assert mounts[1]["Source"] == str(logs) and logs.is_dir()
        with pytest.raises(VolumeError):
            vols.mounts({"name": "c", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]})
        if os.geteuid() == 0:
            assert os.path.ismount(base / "ram")
            assert os.statvfs(base / "ram").f_blocks * os.statvfs(base / "ram").f_frsize == 4 * 1024 * 1024
        await vols.teardown()
        assert not (base / "ram").exists() and not os.path.exists(os.path.dirname(vols.root))
    run(tmp_path, body)
