"""A container's mounts: ``-v``, ``--mount``, ``--volumes-from`` and image VOLUMEs;
the lifecycle's ``volumes`` hook.

At create (:meth:`MountPoints.on_create`) the request's ``HostConfig.Binds``,
``HostConfig.Mounts``, ``HostConfig.VolumesFrom`` and ``Config.Volumes`` become
one list of mount points, with dockerd's precedence (volumes-from first, then
binds and mounts replace the same destination, then an anonymous volume for
every VOLUME path left over) and dockerd's errors; named volumes are created
if missing, anonymous ones made. The list is kept twice in the container's
document: ``Mounts`` (the ``docker inspect`` shape) and, in the private
section, ``mounts`` (what the bundle needs: options, propagation, copy-up).

At start (:meth:`mounts`) volumes with mount options are mounted, an empty
volume is filled from the image's content at its path (and takes that
directory's owner and mode, as dockerd's copy-up does), and the OCI mounts
are returned. At removal, anonymous volumes go with ``rm -v`` / ``--rm``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
from typing import Any

from ..runtime import spec as ocispec
from .records import Container, Containers
from ...rules.errors import EngineError, InvalidParameter, NotFound
from ..volumes.local import Volume, Volumes, validate_name

log = logging.getLogger("baleine.mountpoints")

PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_BIND_MODES = {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated", *PROPAGATIONS}


def _abs_target(target: str, kind: str, spec: str | None = None) -> str:
    if not target or not target.startswith("/"):
        detail = f"invalid mount config for type \"{kind}\": invalid mount path: '{target}' mount path must be absolute"
        raise InvalidParameter(f"invalid volume specification: '{spec}': {detail}" if spec else detail)
    if os.path.normpath(target) == "/":
        raise InvalidParameter(f"invalid specification: destination can't be '/' in '{spec or target}'")
    return os.path.normpath(target)


def parse_bind(spec: str) -> dict[str, Any]:
    """One ``HostConfig.Binds`` entry (``src:dst[:mode]``) as a mount point.

    ``src`` is a host path (a bind) or a volume name. Raises InvalidParameter in
    dockerd's words.
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InvalidParameter(f"invalid volume specification: '{spec}'")
    src, dst = parts[0], parts[1]
    modes = [m for m in (parts[2].split(",") if len(parts) == 3 else []) if m]
    for m in modes:
        if m not in _BIND_MODES:
            raise InvalidParameter(f"invalid mode: {parts[2]}")
    if sum(m in ("ro", "rw") for m in modes) > 1 or sum(m in PROPAGATIONS for m in modes) > 1:
        raise InvalidParameter(f"invalid mode: {parts[2]}")
    kind = "bind" if src.startswith("/") else "volume"
    dst = _abs_target(dst, kind, spec)
    propagation = next((m for m in modes if m in PROPAGATIONS), "")
    if kind == "volume":
        validate_name(src)
        if propagation:
            raise InvalidParameter(f"invalid mode: {parts[2]}")
    elif "nocopy" in modes:
        raise InvalidParameter(f"invalid mode: {parts[2]}")
    return {"Type": kind, "Source": os.path.normpath(src) if kind == "bind" else "",
            "Name": src if kind == "volume" else "", "Destination": dst, "RW": "ro" not in modes,
            "Mode": parts[2] if len(parts) == 3 else ("z" if kind == "volume" else ""),
            "Propagation": (propagation or "rprivate") if kind == "bind" else "",
            "NoCopy": "nocopy" in modes, "CreateSource": True}


def parse_mount(m: dict[str, Any]) -> dict[str, Any]:
    """One ``HostConfig.Mounts`` entry (the API form of ``--mount``) as a mount point."""
    if not isinstance(m, dict):
        raise InvalidParameter("invalid mount config: expected an object")
    kind = m.get("Type") or "volume"
    if kind not in ("bind", "volume", "tmpfs"):
        raise InvalidParameter(f"invalid mount config for type \"{kind}\": mount type unknown")
    target = _abs_target(m.get("Target") or "", kind)
    source = m.get("Source") or ""
    ro = bool(m.get("ReadOnly"))
    point: dict[str, Any] = {"Type": kind, "Destination": target, "RW": not ro, "Mode": "", "Source": "",
                             "Name": "", "Propagation": ""}
    if kind == "bind":
        opts = m.get("BindOptions") or {}
        if not source:
            raise InvalidParameter('invalid mount config for type "bind": field Source must not be empty')
        if not source.startswith("/"):
            raise InvalidParameter(f"invalid mount config for type \"bind\": invalid mount path: '{source}' "
                                   "mount path must be absolute")
        propagation = opts.get("Propagation") or "rprivate"
        if propagation not in PROPAGATIONS:
            raise InvalidParameter(f"invalid mount config for type \"bind\": invalid propagation mode: "
                                   f"{propagation}")
        if not os.path.exists(source):
            if not opts.get("CreateMountpoint"):
                raise InvalidParameter(f"invalid mount config for type \"bind\": bind source path does not exist: "
                                       f"{source}")
        point.update(Source=os.path.normpath(source), Propagation=propagation,
                     NonRecursive=bool(opts.get("NonRecursive")), CreateSource=bool(opts.get("CreateMountpoint")))
    elif kind == "volume":
        opts = m.get("VolumeOptions") or {}
        if m.get("BindOptions"):
            raise InvalidParameter('invalid mount config for type "volume": BindOptions must not be specified')
        if source:
            validate_name(source)
        driver = (opts.get("DriverConfig") or {})
        point.update(Name=source, NoCopy=bool(opts.get("NoCopy")), Subpath=opts.get("Subpath") or "",
                     VolumeDriver=driver.get("Name") or "", VolumeOptions=driver.get("Options") or {},
                     VolumeLabels=opts.get("Labels") or {})
    else:
        if source:
            raise InvalidParameter('invalid mount config for type "tmpfs": source must not be specified')
        opts = m.get("TmpfsOptions") or {}
        data = []
        if opts.get("SizeBytes"):
            data.append(f"size={int(opts['SizeBytes'])}")
        if opts.get("Mode"):
            data.append(f"mode={int(opts['Mode']):o}")
        point["TmpfsData"] = data
    return point


def _public(p: dict[str, Any]) -> dict[str, Any]:
    """The ``Mounts`` entry docker inspect shows for a mount point."""
    out = {"Type": p["Type"]}
    if p["Type"] == "volume":
        out["Name"] = p["Name"]
    out.update(Source=p.get("Source", ""), Destination=p["Destination"])
    if p["Type"] == "volume":
        out["Driver"] = "local"
    out.update(Mode=p.get("Mode", ""), RW=p["RW"], Propagation=p.get("Propagation", ""))
    return out


def _safe_join(root: str, path: str) -> str | None:
    """``root``/``path`` with symlinks resolved inside ``root``; None if it escapes."""
    full = os.path.realpath(os.path.join(root, path.lstrip("/")))
    real_root = os.path.realpath(root)
    if full != real_root and not full.startswith(real_root + "/"):
        return None
    return full


def copy_up(src: str, dst: str) -> None:
    """dockerd's copy-up: when ``dst`` (a volume's data) is empty, fill it with the
    content of ``src`` (the image's directory), keeping owners, modes, times and
    links; and give ``dst`` the owner and mode of ``src``. Blocking."""
    if not os.path.isdir(src) or os.listdir(dst):
        return
    for entry in os.listdir(src):
        s, d = os.path.join(src, entry), os.path.join(dst, entry)
        if os.path.isdir(s) and not os.path.islink(s):
            shutil.copytree(s, d, symlinks=True, copy_function=shutil.copy2)
        else:
            shutil.copy2(s, d, follow_symlinks=False)
    for root, dirs, files in os.walk(dst):
        for name in dirs + files:
            d = os.path.join(root, name)
            s = os.path.join(src, os.path.relpath(d, dst))
            st = os.lstat(s)
            os.lchown(d, st.st_uid, st.st_gid)
    st = os.stat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, stat.S_IMODE(st.st_mode))


class MountPoints:
    """The lifecycle's ``volumes`` hook (see module docstring)."""

    def __init__(self, volumes: Volumes, containers: Containers) -> None:
        self.volumes = volumes
        self.containers = containers

    # -- create -------------------------------------------------------------------

    def on_create(self, c: Container, image: Any = None) -> None:
        """Resolve the mount points of a new container; make the volumes it needs.

        Raises InvalidParameter (malformed specs, duplicate destinations, a
        missing ``--mount`` bind source), NotFound (an unknown ``--volumes-from``
        container). Volumes made here are removed again if a later one fails.
        """
        hc, cfg = c.host_config, c.config
        points: dict[str, dict[str, Any]] = {}
        for ref in hc.get("VolumesFrom") or []:
            name, _, mode = ref.partition(":")
            if mode not in ("", "ro", "rw"):
                raise InvalidParameter(f"invalid mode for volumes-from: {mode}")
            other = self.containers.get(name)
            for p in other.private.get("mounts") or []:
                if p["Type"] == "tmpfs":
                    continue
                q = dict(p, Anonymous=False)
                if mode:
                    q["RW"] = mode == "rw"
                    q["Mode"] = mode
                points[q["Destination"]] = q
        explicit: set[str] = set()
        for spec in hc.get("Binds") or []:
            p = parse_bind(spec)
            if p["Destination"] in explicit:
                raise InvalidParameter(f"Duplicate mount point: {p['Destination']}")
            explicit.add(p["Destination"])
            points[p["Destination"]] = p
        for m in hc.get("Mounts") or []:
            p = parse_mount(m)
            if p["Destination"] in explicit:
                raise InvalidParameter(f"Duplicate mount point: {p['Destination']}")
            explicit.add(p["Destination"])
            points[p["Destination"]] = p
        for dest in cfg.get("Volumes") or {}:
            dest = _abs_target(dest, "volume")
            if dest not in points:
                points[dest] = {"Type": "volume", "Name": "", "Source": "", "Destination": dest, "RW": True,
                                "Mode": "", "Propagation": "", "NoCopy": False}
        made: list[Volume] = []
        try:
            for p in points.values():
                if p["Type"] == "volume":
                    existed = bool(p["Name"]) and p["Name"] in self.volumes.by_name
                    v = self.volumes.create(p["Name"] or None, p.get("VolumeDriver") or "",
                                            p.get("VolumeOptions"), p.get("VolumeLabels"))
                    if not existed:
                        made.append(v)
                    p["Name"], p["Source"] = v.name, v.path
                    p.setdefault("Anonymous", v.anonymous and not existed)
                elif p["Type"] == "bind" and not os.path.exists(p["Source"]):
                    if not p.get("CreateSource"):
                        raise InvalidParameter(f"invalid mount config for type \"bind\": bind source path does "
                                               f"not exist: {p['Source']}")
                    # -v creates a missing host directory, as dockerd does.
                    os.makedirs(p["Source"], exist_ok=True)
        except BaseException:
            for v in made:
                try:
                    self.volumes.remove(v.name, [])
                except EngineError:
                    pass
            raise
        ordered = sorted(points.values(), key=lambda p: p["Destination"])
        c.private["mounts"] = ordered
        c.doc["Mounts"] = [_public(p) for p in ordered]
        self.containers.save(c)

    # -- start ----------------------------------------------------------------------

    async def mounts(self, c: Container, rootfs: str) -> list[ocispec.Mount]:
        """The OCI mounts of a starting container (volumes mounted and filled first)."""
        return await asyncio.to_thread(self._mounts, c, rootfs)

    def _mounts(self, c: Container, rootfs: str) -> list[ocispec.Mount]:
        out: list[ocispec.Mount] = []
        for p in c.private.get("mounts") or []:
            kind = p["Type"]
            if kind == "tmpfs":
                opts = ["nosuid", "nodev", "noexec", *p.get("TmpfsData", [])]
                if not p["RW"]:
                    opts.append("ro")
                out.append(ocispec.Mount(p["Destination"], "tmpfs", "tmpfs", ocispec.merge_tmpfs_options(opts)))
                continue
            source = p["Source"]
            if kind == "volume":
                try:
                    v = self.volumes.get(p["Name"])
                except NotFound:
                    raise NotFound(f"error while mounting volume '{p['Name']}': get {p['Name']}: no such volume") \
                        from None
                source = self.volumes.acquire(v, c.id)
                if p.get("Subpath"):
                    source = _safe_join(v.path, p["Subpath"]) or ""
                    if not source or not os.path.exists(source):
                        raise InvalidParameter(f"cannot access path {p['Subpath']} in volume {v.name}")
                elif not p.get("NoCopy"):
                    image_dir = _safe_join(rootfs, p["Destination"])
                    if image_dir is not None:
                        try:
                            copy_up(image_dir, source)
                        except OSError as exc:
                            log.warning("copy-up of %s into volume %s: %s", p["Destination"], v.name, exc)
            elif not os.path.exists(source):
                raise InvalidParameter(f"invalid mount config for type \"bind\": bind source path does not exist: "
                                       f"{source}")
            opts = ["bind" if p.get("NonRecursive") else "rbind"]
            if not p["RW"]:
                opts.append("ro")
            opts.append(p.get("Propagation") or "rprivate")
            out.append(ocispec.Mount(p["Destination"], source, "bind", opts))
        return out

    def on_exited(self, c: Container) -> None:
        """A container stopped: it no longer uses its volumes (blocking, quick)."""
        for p in c.private.get("mounts") or []:
            if p["Type"] == "volume" and p["Name"] in self.volumes.by_name:
                try:
                    self.volumes.release(self.volumes.by_name[p["Name"]], c.id)
                except EngineError as exc:
                    log.warning("unmounting volume %s: %s", p["Name"], exc)

    # -- remove ---------------------------------------------------------------------

    async def on_remove(self, c: Container, remove_anonymous: bool) -> None:
        """A container is gone: stop counting it; with ``rm -v``, remove its
        anonymous volumes that no other container refers to."""
        self.on_exited(c)
        if not remove_anonymous:
            return
        for p in c.private.get("mounts") or []:
            if p["Type"] == "volume" and p.get("Anonymous"):
                users = self.users_of(p["Name"])
                if not users:
                    try:
                        await asyncio.to_thread(self.volumes.remove, p["Name"], [], True)
                    except EngineError as exc:
                        log.warning("removing anonymous volume %s: %s", p["Name"], exc)

    # -- queries ----------------------------------------------------------------------

    def users_of(self, name: str) -> list[str]:
        """IDs of the containers (any state) that refer to volume ``name``."""
        return [c.id for c in self.containers.by_id.values()
                if any(p["Type"] == "volume" and p["Name"] == name for p in c.private.get("mounts") or [])]

    def referenced(self) -> set[str]:
        return {p["Name"] for c in self.containers.by_id.values() for p in c.private.get("mounts") or []
                if p["Type"] == "volume"}

    def running_users(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for c in self.containers.by_id.values():
            if c.running:
                for p in c.private.get("mounts") or []:
                    if p["Type"] == "volume":
                        out.setdefault(p["Name"], set()).add(c.id)
        return out

    def host_path(self, c: Container, path: str) -> str | None:
        """Where container path ``path`` lives on the host when it is inside one of
        the container's volumes or binds (the deepest one), else None (it is in
        the container's own filesystem, or in a tmpfs only the container sees).
        For ``cp`` and ``diff`` on stopped containers."""
        path = os.path.normpath("/" + path.lstrip("/"))
        best = None
        for p in c.private.get("mounts") or []:
            dest = p["Destination"]
            if path == dest or path.startswith(dest.rstrip("/") + "/"):
                if best is None or len(dest) > len(best["Destination"]):
                    best = p
        if best is None or best["Type"] == "tmpfs":
            return None
        rest = os.path.relpath(path, best["Destination"])
        base = best["Source"]
        if best["Type"] == "volume" and best.get("Subpath"):
            base = os.path.join(base, best["Subpath"])
        return base if rest == "." else os.path.join(base, rest)

    def destinations(self, c: Container) -> list[str]:
        """The container paths that are mount points (for ``diff``'s exclusions)."""
        return [p["Destination"] for p in c.private.get("mounts") or []]
