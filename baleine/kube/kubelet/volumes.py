"""A pod's volumes on the host, and the Docker mounts of its containers.

Contracts (Kubernetes 1.32 volume plugins, on one machine):

- :meth:`PodVolumes.setup` makes every volume of ``pod['spec']['volumes']`` ready
  under ``<data-root>/kube/pods/<uid>/volumes/<plugin>/<name>`` and is idempotent
  (a daemon restart or a container restart keeps emptyDir data):

  * ``emptyDir``: a directory; ``medium: Memory`` mounts a tmpfs on it (size
    ``sizeLimit``), shared by every container of the pod;
  * ``configMap``, ``secret``, ``downwardAPI``, ``projected``: files written the
    way kubelet's AtomicWriter does (a timestamped ``..<time>`` directory, a
    ``..data`` symlink to it swapped by rename, and each visible entry a symlink
    through ``..data``), so an update appears all at once; ``items`` choose and
    rename keys, ``defaultMode``/``mode`` set permissions (0644 by default), a
    missing source is an error unless ``optional``; ``serviceAccountToken`` and
    ``clusterTrustBundle`` projections are skipped with a Warning event;
  * ``persistentVolumeClaim``: the Baleine volume bound to the claim (its
    ``spec.volumeName``, made by ``controllers/pvc.py``), mounted as a Docker
    volume (no copy-up), so the engine counts its users;
  * ``hostPath``: the host path, after the ``type`` check (``DirectoryOrCreate``
    and ``FileOrCreate`` create it).

  Any failure raises :class:`VolumeError` with kubelet's message.
- :meth:`PodVolumes.mounts` gives a container's Docker ``HostConfig.Mounts``:
  binds (``subPath``/``subPathExpr`` as a bind of the subdirectory, created when
  missing), volume mounts for claims, read-only for configMap/secret/downwardAPI/
  projected as in Kubernetes; ``mountPropagation`` maps to bind propagation.
- :meth:`PodVolumes.refresh` re-projects the file volumes whose content changed
  (set :attr:`pod` first to follow label/annotation changes). ``setup`` also
  starts a follower that calls it on every ConfigMap/Secret change of the pod's
  namespace and every :data:`RESYNC` seconds; :meth:`stop` ends it.
- :meth:`PodVolumes.teardown` stops the follower, unmounts tmpfs and removes the
  pod's volume directories; claims' data stays in their Baleine volumes.

Blocking file work runs in threads (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import logging
import os
import shutil
import stat
from typing import TYPE_CHECKING, Any

from ..client import Client
from .env import EnvError, container_env, downward_value, expand, parse_quantity, secret_data

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]
#: path -> (content, mode) of one file volume.
Payload = dict[str, tuple[bytes, int]]
log = logging.getLogger("baleine.kube.kubelet.volumes")

#: Seconds between resyncs of file volumes (kubelet's is about a minute).
RESYNC = 10.0
DEFAULT_MODE = 0o644
_PLUGINS = {"emptyDir": "kubernetes.io~empty-dir", "configMap": "kubernetes.io~configmap",
            "secret": "kubernetes.io~secret", "downwardAPI": "kubernetes.io~downward-api",
            "projected": "kubernetes.io~projected"}
_FILE_KINDS = ("configMap", "secret", "downwardAPI", "projected")
_DATA = "..data"


class VolumeError(Exception):
    """A volume cannot be set up (the pod stays ContainerCreating with this message)."""


def volume_kind(volume: Obj) -> str:
    """The volume source a ``volumes[]`` entry names (``emptyDir``, ``hostPath``...)."""
    for key in ("emptyDir", "configMap", "secret", "downwardAPI", "projected", "persistentVolumeClaim", "hostPath"):
        if key in volume:
            return key
    others = [k for k in volume if k != "name"]
    return others[0] if others else "emptyDir"


# --- the atomic writer ------------------------------------------------------------------
def write_atomic(target: str, payload: Payload) -> bool:
    """Make ``target`` hold exactly ``payload`` the way kubelet's AtomicWriter does;
    False (and nothing touched) when it already does. Blocking: run in a thread."""
    os.makedirs(target, exist_ok=True)
    if read_payload(target) == payload:
        return False
    old = os.readlink(os.path.join(target, _DATA)) if os.path.islink(os.path.join(target, _DATA)) else None
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("..%Y_%m_%d_%H_%M_%S.%f")
    fresh = os.path.join(target, stamp)
    os.makedirs(fresh)
    for path, (content, mode) in payload.items():
        full = os.path.join(fresh, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(content)
        os.chmod(full, mode)
    os.chmod(fresh, 0o755)
    tmp = os.path.join(target, _DATA + "_tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(stamp, tmp)
    os.rename(tmp, os.path.join(target, _DATA))  # the switch: atomic
    tops = {p.split("/", 1)[0] for p in payload}
    for top in tops:
        link = os.path.join(target, top)
        if not os.path.islink(link):
            os.symlink(os.path.join(_DATA, top), link)
    for entry in os.listdir(target):
        if not entry.startswith("..") and entry not in tops:
            os.unlink(os.path.join(target, entry))
    if old and old != stamp:
        shutil.rmtree(os.path.join(target, old), ignore_errors=True)
    return True


def read_payload(target: str) -> Payload | None:
    """What ``target``'s ``..data`` holds (None when it was never written)."""
    data = os.path.join(target, _DATA)
    if not os.path.isdir(data):
        return None
    out: Payload = {}
    for root, _, files in os.walk(data, followlinks=True):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, data)] = (f.read(), stat.S_IMODE(os.stat(full).st_mode))
    return out


# --- payloads -----------------------------------------------------------------------
def _items(data: dict[str, bytes], items: list[Obj] | None, mode: int, what: str, optional: bool) -> Payload:
    """keyToPath: every key as a file, or only ``items`` (a missing key is an error
    unless optional)."""
    if not items:
        return {k: (v, mode) for k, v in data.items()}
    out: Payload = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            raise VolumeError(f"configmap references non-existent config key: {key}" if what == "configMap"
                              else f"references non-existent secret key: {key}")
        out[_clean(item.get("path") or key)] = (data[key], int(item.get("mode") or mode))
    return out


def _clean(path: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or parts[0].startswith(".."):
        raise VolumeError(f"invalid path {path!r}")
    return "/".join(parts)


def _format_map(values: dict[str, str]) -> bytes:
    """Labels/annotations as kubelet's downward API writes them: sorted ``k="v"`` lines."""
    lines = []
    for k in sorted(values):
        v = str(values[k]).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'{k}="{v}"')
    return "\n".join(lines).encode()


class PodVolumes:
    """The volumes of one pod (see the module's contracts)."""

    def __init__(self, ctx: Context, pod: Obj) -> None:
        self.ctx = ctx
        #: The pod as last seen (the agent may replace it before :meth:`refresh`).
        self.pod = pod
        self.client = Client(ctx.registry, "kubelet")
        meta = pod["metadata"]
        self.namespace: str = meta.get("namespace") or "default"
        self.root = os.path.join(ctx.options.data_root, "kube", "pods", meta["uid"], "volumes")
        #: volume name -> resolved source: ("dir", path) or ("volume", baleine volume name).
        self._sources: dict[str, tuple[str, str]] = {}
        self._follower: asyncio.Task[None] | None = None
        self._skipped_warned: set[str] = set()
        #: Baleine volume name -> its Mountpoint (for claims' subPaths).
        self._mountpoints: dict[str, str] = {}
        #: One writer of the file volumes at a time (setup, refresh, the follower).
        self._writing = asyncio.Lock()
        self._inflight: asyncio.Future[bool] | None = None

    # --- setup ----------------------------------------------------------------------
    @property
    def volumes(self) -> list[Obj]:
        return list((self.pod.get("spec") or {}).get("volumes") or [])

    def path_of(self, volume: Obj) -> str:
        """The host directory of a plugin volume."""
        return os.path.join(self.root, _PLUGINS[volume_kind(volume)], volume["name"])

    async def setup(self) -> None:
        """Make every volume ready (idempotent); VolumeError when one cannot be."""
        for volume in self.volumes:
            kind = volume_kind(volume)
            if kind == "emptyDir":
                await self._empty_dir(volume)
            elif kind in _FILE_KINDS:
                payload = await self._payload(volume)
                path = self.path_of(volume)
                await self._write(path, payload)
                self._sources[volume["name"]] = ("dir", path)
            elif kind == "persistentVolumeClaim":
                name = await self._claim_volume(volume)
                self._sources[volume["name"]] = ("volume", name)
                await self._learn_mountpoint(name)
            elif kind == "hostPath":
                self._sources[volume["name"]] = ("dir", await asyncio.to_thread(self._host_path, volume))
            else:
                raise VolumeError(f"volume {volume['name']}: the {kind} volume source is not supported")
        if self._follower is None and any(volume_kind(v) in _FILE_KINDS for v in self.volumes):
            self._follower = asyncio.create_task(self._follow(), name=f"volumes {self.namespace}/"
                                                                       f"{self.pod['metadata'].get('name')}")

    async def _empty_dir(self, volume: Obj) -> None:
        path = self.path_of(volume)
        spec = volume.get("emptyDir") or {}
        await asyncio.to_thread(os.makedirs, path, 0o777, True)
        os.chmod(path, 0o777)  # kubelet's emptyDir is world-writable
        if spec.get("medium") == "Memory" and not os.path.ismount(path):
            opts = "mode=0777"
            if spec.get("sizeLimit"):
                opts += f",size={int(parse_quantity(spec['sizeLimit']))}"
            await _run("mount", "-t", "tmpfs", "-o", opts, "tmpfs", path)
        self._sources[volume["name"]] = ("dir", path)

    async def _claim_volume(self, volume: Obj) -> str:
        """The Baleine volume of the claim: waits a few seconds for a fresh claim to bind."""
        name = (volume.get("persistentVolumeClaim") or {}).get("claimName", "")
        for _ in range(50):
            claim = self.client.get("persistentvolumeclaims", self.namespace, name)
            if claim is None:
                raise VolumeError(f'persistentvolumeclaim "{name}" not found')
            if claim["metadata"].get("deletionTimestamp"):
                raise VolumeError(f'persistentvolumeclaim "{name}" is being deleted')
            bound = (claim.get("status") or {}).get("phase") == "Bound" and (claim.get("spec") or {}).get("volumeName")
            if bound:
                return str(claim["spec"]["volumeName"])
            await asyncio.sleep(0.1)
        raise VolumeError(f'persistentvolumeclaim "{name}" is not bound')

    async def _learn_mountpoint(self, name: str) -> None:
        volumes = self.ctx.backends.volumes if self.ctx.backends is not None else None
        if volumes is None:
            return
        try:
            self._mountpoints[name] = (await volumes.inspect(name))["Mountpoint"]
        except Exception as exc:  # noqa: BLE001 - the engine's NotFound, said as kubelet says it
            raise VolumeError(f'volume "{name}" of the claim is missing: {exc}') from None

    def _host_path(self, volume: Obj) -> str:
        """kubelet's hostPath type checks (``pkg/volume/hostpath``). Blocking."""
        spec = volume.get("hostPath") or {}
        path, kind = spec.get("path", ""), spec.get("type") or ""
        if kind == "DirectoryOrCreate" and not os.path.exists(path):
            os.makedirs(path, 0o755, exist_ok=True)
        elif kind == "FileOrCreate" and not os.path.exists(path):
            with open(path, "a"):
                pass
            os.chmod(path, 0o644)
        checks = {"Directory": (stat.S_ISDIR, "is not a directory"),
                  "DirectoryOrCreate": (stat.S_ISDIR, "is not a directory"),
                  "File": (stat.S_ISREG, "is not a file"), "FileOrCreate": (stat.S_ISREG, "is not a file"),
                  "Socket": (stat.S_ISSOCK, "is not a socket file"),
                  "CharDevice": (stat.S_ISCHR, "is not a character device"),
                  "BlockDevice": (stat.S_ISBLK, "is not a block device")}
        if kind in checks:
            test, what = checks[kind]
            try:
                mode = os.stat(path).st_mode
            except OSError:
                raise VolumeError(f"hostPath type check failed: {path} {what}") from None
            if not test(mode):
                raise VolumeError(f"hostPath type check failed: {path} {what}")
        elif kind:
            raise VolumeError(f"hostPath type {kind!r} is not supported")
        return path

    # --- file volumes ------------------------------------------------------------------
    async def _payload(self, volume: Obj) -> Payload:
        kind = volume_kind(volume)
        spec = volume.get(kind) or {}
        mode = int(spec.get("defaultMode") if spec.get("defaultMode") is not None else DEFAULT_MODE)
        if kind == "projected":
            out: Payload = {}
            for source in spec.get("sources") or []:
                out.update(await self._projection(volume, source, mode))
            return out
        return await self._projection(volume, {kind: spec}, mode)

    async def _projection(self, volume: Obj, source: Obj, mode: int) -> Payload:
        if "configMap" in source:
            spec = source["configMap"] or {}
            cm = self.client.get("configmaps", self.namespace, spec.get("name", ""))
            if cm is None:
                if spec.get("optional"):
                    return {}
                raise VolumeError(f'configmap "{spec.get("name", "")}" not found')
            data = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
            data.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
            return _items(data, spec.get("items"), mode, "configMap", bool(spec.get("optional")))
        if "secret" in source:
            spec = source["secret"] or {}
            name = spec.get("secretName") or spec.get("name") or ""
            sec = self.client.get("secrets", self.namespace, name)
            if sec is None:
                if spec.get("optional"):
                    return {}
                raise VolumeError(f'secret "{name}" not found')
            return _items(secret_data(sec), spec.get("items"), mode, "secret", bool(spec.get("optional")))
        if "downwardAPI" in source:
            return self._downward((source["downwardAPI"] or {}).get("items") or [], mode)
        skipped = next(iter(k for k in source), "?")
        await self._warn_skipped(volume, skipped)
        return {}

    def _downward(self, items: list[Obj], mode: int) -> Payload:
        meta = self.pod.get("metadata") or {}
        out: Payload = {}
        for item in items:
            path = _clean(item.get("path", ""))
            if "fieldRef" in item:
                field = (item["fieldRef"] or {}).get("fieldPath", "")
                if field in ("metadata.labels", "metadata.annotations"):
                    value = _format_map(meta.get(field.split(".")[1]) or {})
                else:
                    value = self._env_value({"fieldRef": item["fieldRef"]}).encode()
            elif "resourceFieldRef" in item:
                value = self._env_value({"resourceFieldRef": item["resourceFieldRef"]}).encode()
            else:
                continue
            out[path] = (value, int(item.get("mode") or mode))
        return out

    def _env_value(self, source: Obj) -> str:
        """A downward API value, by the env rules (one source of truth)."""
        containers = (self.pod.get("spec") or {}).get("containers") or [{}]
        try:
            return downward_value(self.ctx, self.pod, containers[0], source)
        except EnvError as exc:
            raise VolumeError(str(exc)) from None

    async def _warn_skipped(self, volume: Obj, source: str) -> None:
        key = f"{volume['name']}/{source}"
        if key in self._skipped_warned:
            return
        self._skipped_warned.add(key)
        await self.client.event(self.pod, "Warning", "FailedMount",
                                f"volume {volume['name']}: the projected {source} source is not supported by "
                                "Baleine and was skipped")

    # --- mounts -------------------------------------------------------------------------
    def mounts(self, container: Obj) -> list[dict[str, Any]]:
        """Docker ``HostConfig.Mounts`` for ``container``'s ``volumeMounts`` (after
        :meth:`setup`); VolumeError for a mount of an unknown volume."""
        by_name = {v["name"]: v for v in self.volumes}
        out: list[dict[str, Any]] = []
        env: list[str] | None = None
        for vm in container.get("volumeMounts") or []:
            volume = by_name.get(vm.get("name", ""))
            source = self._sources.get(vm.get("name", ""))
            if volume is None or source is None:
                raise VolumeError(f"unable to find volume {vm.get('name')!r} of container {container.get('name')}")
            sub = vm.get("subPath") or ""
            if vm.get("subPathExpr"):
                env = env if env is not None else self._safe_env(container)
                sub = expand(vm["subPathExpr"], dict(e.split("=", 1) for e in env if "=" in e))
            kind = volume_kind(volume)
            read_only = bool(vm.get("readOnly")) or kind in _FILE_KINDS or \
                bool((volume.get("persistentVolumeClaim") or {}).get("readOnly"))
            out.append(self._mount(source, _clean(sub) if sub else "", vm, read_only))
        return out

    def _safe_env(self, container: Obj) -> list[str]:
        try:
            return container_env(self.ctx, self.pod, container)
        except EnvError as exc:
            raise VolumeError(str(exc)) from None

    def _mount(self, source: tuple[str, str], sub: str, vm: Obj, read_only: bool) -> dict[str, Any]:
        kind, where = source
        target = vm.get("mountPath", "")
        if kind == "volume":
            opts: dict[str, Any] = {"NoCopy": True}
            if sub:
                opts["Subpath"] = sub
                self._volume_subdir(where, sub)
            return {"Type": "volume", "Source": where, "Target": target, "ReadOnly": read_only,
                    "VolumeOptions": opts}
        path = os.path.join(where, sub) if sub else where
        if sub and not os.path.lexists(path):
            os.makedirs(path, 0o755, exist_ok=True)  # kubelet creates a missing subPath
        mount: dict[str, Any] = {"Type": "bind", "Source": path, "Target": target, "ReadOnly": read_only}
        propagation = {"Bidirectional": "rshared", "HostToContainer": "rslave"}.get(vm.get("mountPropagation") or "")
        if propagation:
            mount["BindOptions"] = {"Propagation": propagation}
        return mount

    def _volume_subdir(self, volume: str, sub: str) -> None:
        """Create a claim's missing subPath (the engine refuses a missing Subpath)."""
        mountpoint = self._mountpoints.get(volume)
        if mountpoint:
            os.makedirs(os.path.join(mountpoint, sub), 0o755, exist_ok=True)

    # --- updates and teardown ----------------------------------------------------------
    async def refresh(self) -> None:
        """Re-project the file volumes whose source changed (a source that vanished
        keeps the last content, as kubelet does)."""
        for volume in self.volumes:
            if volume_kind(volume) not in _FILE_KINDS:
                continue
            try:
                payload = await self._payload(volume)
            except VolumeError as exc:
                log.debug("refresh of %s kept: %s", volume["name"], exc)
                continue
            if await self._write(self.path_of(volume), payload):
                log.debug("volume %s of %s/%s updated", volume["name"], self.namespace,
                          self.pod["metadata"].get("name"))

    async def _write(self, path: str, payload: Payload) -> bool:
        """:func:`write_atomic` in a thread, one at a time; a cancelled caller does
        not stop the thread, and :meth:`teardown` waits for it."""
        async with self._writing:
            self._inflight = asyncio.ensure_future(asyncio.to_thread(write_atomic, path, payload))
            return await asyncio.shield(self._inflight)

    async def _follow(self) -> None:
        """Refresh on every ConfigMap/Secret change of the namespace, and every RESYNC s."""
        changed = asyncio.Event()

        async def watch(resource: str) -> None:
            events = self.client.watch(resource, self.namespace)
            try:
                async for _ in events:
                    changed.set()
            finally:
                await events.aclose()

        watchers = [asyncio.create_task(watch(r)) for r in ("configmaps", "secrets")]
        try:
            while True:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), RESYNC)
                changed.clear()
                try:
                    await self.refresh()
                except Exception:  # noqa: BLE001 - keep following
                    log.exception("refreshing the volumes of %s failed", self.pod["metadata"].get("name"))
        finally:
            for task in watchers:
                task.cancel()
            for task in watchers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def stop(self) -> None:
        """Stop following sources (the daemon stops; the directories stay)."""
        task, self._follower = self._follower, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def teardown(self) -> None:
        """Stop following, unmount tmpfs, remove the pod's volume directories (not PVC data)."""
        await self.stop()
        if self._inflight is not None:
            await asyncio.gather(self._inflight, return_exceptions=True)
        empty = os.path.join(self.root, _PLUGINS["emptyDir"])
        for volume in self.volumes:
            path = os.path.join(empty, volume["name"])
            if volume_kind(volume) == "emptyDir" and os.path.ismount(path):
                await _run("umount", "-l", path)
        await asyncio.to_thread(shutil.rmtree, os.path.dirname(self.root), True)


async def _run(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode:
        raise VolumeError(f"{' '.join(argv)}: {err.decode(errors='replace').strip()}")
