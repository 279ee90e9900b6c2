"""Volumes: named and anonymous volumes of the ``local`` driver.

A volume is a directory ``<data-root>/volumes/<name>/_data`` (dockerd's layout)
and a row in the store's ``volumes`` table holding its Docker-shaped document
(``Name``, ``Driver``, ``Mountpoint``, ``CreatedAt``, ``Labels``, ``Options``,
``Scope``). The row is committed after the directory exists; directories
without a row are garbage, removed at start.

The local driver's options are dockerd's: ``type``, ``o`` and ``device``, as for
mount(8): ``type=tmpfs,o=size=64m`` or ``type=none,o=bind,device=/srv/x`` (or
``type=nfs,...``). Such a volume is mounted on its ``_data`` when the first
container using it starts and unmounted when the last one stops; a plain
volume needs no mount. Users are counted by container ID (a set, so a retried
start never counts twice), rebuilt from running containers at daemon start.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from ...rules import filters as filters_mod
from ..runtime import mounts as mnt
from ...rules.errors import Conflict, EngineError, InvalidParameter, NotFound
from ..events import Events
from ..store import Store, dumps

log = logging.getLogger("baleine.volumes")

SCHEMA = """CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    doc TEXT NOT NULL               -- Docker-shaped volume document (see volumes.py)
)"""
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
LOCAL_OPTIONS = ("type", "o", "device")


@dataclass
class Volume:
    """A volume record."""

    doc: dict[str, Any]
    users: set[str] = field(default_factory=set)   # running containers using it (runtime only)

    @property
    def name(self) -> str:
        return self.doc["Name"]

    @property
    def path(self) -> str:
        """Where its data is on the host (``Mountpoint``)."""
        return self.doc["Mountpoint"]

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in (self.doc.get("Labels") or {})

    @property
    def options(self) -> dict[str, str]:
        return self.doc.get("Options") or {}


def validate_name(name: str) -> None:
    """InvalidParameter (dockerd's message) for a name the local driver refuses."""
    if not NAME_RE.match(name):
        raise InvalidParameter(f'create {name}: "{name}" includes invalid characters for a local volume name, only '
                               '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
                               "use absolute path")


def _validate_options(opts: dict[str, str]) -> None:
    for key in opts:
        if key not in LOCAL_OPTIONS:
            raise InvalidParameter(f'invalid option: "{key}"')
    if opts.get("type") and not opts.get("device") and opts.get("type") != "tmpfs":
        raise InvalidParameter('missing required option: "device"')
    if opts.get("device") and not opts.get("type"):
        raise InvalidParameter('missing required option: "type"')
    if "bind" in (opts.get("o") or "").split(",") and not os.path.isabs(opts.get("device") or ""):
        raise InvalidParameter(f"invalid option: device must be an absolute path for a bind mount: "
                               f"{opts.get('device')}")


class Volumes:
    """The volumes of one daemon (see module docstring)."""

    def __init__(self, store: Store, root: str, events: Events) -> None:
        self.store = store
        self.root = root  # <data-root>/volumes
        self.events = events
        os.makedirs(root, mode=0o701, exist_ok=True)
        with store.tx() as db:
            db.execute(SCHEMA)
        self.by_name: dict[str, Volume] = {}
        for row in store.query("SELECT doc FROM volumes"):
            v = Volume(json.loads(row["doc"]))
            self.by_name[v.name] = v

    # -- records -------------------------------------------------------------------

    def get(self, name: str) -> Volume:
        v = self.by_name.get(name)
        if v is None:
            raise NotFound(f"get {name}: no such volume")
        return v

    def list(self) -> list[Volume]:
        return sorted(self.by_name.values(), key=lambda v: v.doc["CreatedAt"])

    def create(self, name: str | None = None, driver: str = "", opts: dict[str, str] | None = None,
               labels: dict[str, str] | None = None, anonymous: bool = False) -> Volume:
        """Create a volume, or return the existing one of that name (as dockerd does).

        Raises InvalidParameter for a bad name or options, NotFound for a driver
        other than ``local``.
        """
        driver = driver or "local"
        if driver != "local":
            raise NotFound(f"error looking up volume plugin {driver}: plugin \"{driver}\" not found")
        opts = {str(k): str(v) for k, v in (opts or {}).items()}
        labels = {str(k): str(v) for k, v in (labels or {}).items()}
        if name:
            validate_name(name)
            existing = self.by_name.get(name)
            if existing is not None:
                return existing
        else:
            name = secrets.token_hex(32)
            anonymous = True
        if anonymous:
            labels.setdefault(ANONYMOUS_LABEL, "")
        _validate_options(opts)
        base = os.path.join(self.root, name)
        data = os.path.join(base, "_data")
        os.makedirs(data, exist_ok=True)
        os.chmod(data, 0o755)
        doc = {"CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "Driver": "local",
               "Labels": labels, "Mountpoint": data, "Name": name, "Options": opts or None, "Scope": "local"}
        try:
            with self.store.tx() as db:
                db.execute("INSERT INTO volumes VALUES (?,?)", (name, dumps(doc)))
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        v = Volume(doc)
        self.by_name[name] = v
        self.events.publish("volume", "create", name, {"driver": "local"})
        return v

    def remove(self, name: str, users: list[str], force: bool = False) -> None:
        """Remove a volume no container refers to (Conflict with dockerd's message if
        one does; with ``force``, a missing volume is no error)."""
        v = self.by_name.get(name)
        if v is None:
            if force:
                return
            raise NotFound(f"get {name}: no such volume")
        if users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        self._unmount(v)
        if mnt.is_mounted(v.path):
            raise EngineError(f"remove {name}: its data directory is still mounted")
        with self.store.tx() as db:
            db.execute("DELETE FROM volumes WHERE name=?", (name,))
        del self.by_name[name]
        shutil.rmtree(os.path.dirname(v.path), ignore_errors=True)
        self.events.publish("volume", "destroy", name, {"driver": "local"})

    def filter(self, f: filters_mod.Filters, referenced: set[str]) -> list[Volume]:
        """``GET /volumes`` filtering (dangling, driver, label, name)."""
        f.validate({"dangling", "driver", "label", "name"})
        out = []
        for v in self.list():
            if f.contains("dangling") and f.bool_value("dangling") == (v.name in referenced):
                continue
            if f.contains("driver") and not f.exact_match("driver", v.doc["Driver"]):
                continue
            if f.contains("name") and not f.match("name", v.name):
                continue
            if f.contains("label") and not f.match_kv("label", v.doc.get("Labels") or {}):
                continue
            out.append(v)
        return out

    # -- the local driver's mounts ----------------------------------------------------------

    def acquire(self, v: Volume, cid: str) -> str:
        """Count container ``cid`` as a user; mount the volume if it has mount options
        and is not mounted yet. Returns the host path of its data (blocking)."""
        if v.options.get("type") and not mnt.is_mounted(v.path):
            self._mount(v)
        v.users.add(cid)
        return v.path

    def release(self, v: Volume, cid: str) -> None:
        """Stop counting ``cid``; unmount the volume when it was the last user (blocking)."""
        v.users.discard(cid)
        if not v.users:
            self._unmount(v)

    def _mount(self, v: Volume) -> None:
        opts = v.options
        kind, data, device = opts.get("type", ""), opts.get("o", ""), opts.get("device", "")
        flags = [o for o in data.split(",") if o]
        try:
            if kind == "tmpfs":
                keep = ",".join(o for o in flags if "=" in o)
                mnt.mount("tmpfs", v.path, "tmpfs", 0, keep)
            elif "bind" in flags or "rbind" in flags:
                bits = mnt.MS_BIND | (mnt.MS_REC if "rbind" in flags else 0)
                if not os.path.exists(device):
                    # dockerd's wording (Go's errno text: the docker CLI exits 127 on it)
                    raise EngineError(f"error while mounting volume '{v.path}': failed to mount local volume: "
                                      f"mount {device}:{v.path}, flags: {bits:#x}: no such file or directory")
                mnt.mount(device, v.path, "none", bits)
                if "ro" in flags:
                    mnt.mount("none", v.path, "none", mnt.MS_BIND | mnt.MS_REMOUNT | mnt.MS_RDONLY)
            else:
                proc = subprocess.run(["mount", "-t", kind, "-o", data or "defaults", device, v.path],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    raise EngineError(proc.stderr.strip())
        except EngineError as exc:
            if str(exc).startswith("error while mounting volume"):
                raise
            raise EngineError(f"error while mounting volume '{v.path}': failed to mount local volume: "
                              f"mount {device or kind}:{v.path}: {exc}") from None

    def _unmount(self, v: Volume) -> None:
        if v.options.get("type"):
            for point in mnt.mounted_under(v.path):
                mnt.unmount(point, lazy=True)

    def recover(self, users: dict[str, set[str]]) -> None:
        """At start: users of each volume from running containers, unmount the
        volumes nobody uses, and remove directories without a record (blocking)."""
        for v in self.by_name.values():
            v.users = set(users.get(v.name, set()))
            if not v.users:
                self._unmount(v)
        for name in os.listdir(self.root):
            if name not in self.by_name:
                path = os.path.join(self.root, name)
                if not mnt.mounted_under(path):
                    shutil.rmtree(path, ignore_errors=True)

    def size(self, v: Volume) -> int:
        """Bytes used by a volume's files (``system df``; blocking)."""
        total = 0
        for root, _, files in os.walk(v.path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
        return total
