"""Container records: creation from a request and an image, lookup, names, persistence.

A container's record is a Docker-shaped document (the ``docker inspect`` fields:
Id, Name, Created, Path, Args, Config, HostConfig, State, ...) plus a private
``Baleine`` section (its writable layer, its image's top layer, its runtime key,
whether it was stopped by hand). Documents are persisted in the store on every
state change. The lifecycle (start, stop, exit handling) lives in lifecycle.py.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import random
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..fieldtypes import BOOL, DICT, INT, LIST, STR, check_fields
from .createchecks import check_create_body
from ...rules.errors import Conflict, InvalidParameter, NotFound
from ..images.records import Image
from ..store import Store, dumps
from ...rules.timestamps import ZERO_TIME, now_rfc3339nano

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

_LEFT = ("admiring adoring affectionate agitated amazing angry awesome beautiful blissful bold boring brave busy "
         "charming clever compassionate competent condescending confident cool cranky crazy dazzling determined "
         "distracted dreamy eager ecstatic elastic elated elegant eloquent epic exciting fervent festive flamboyant "
         "focused friendly frosty funny gallant gifted goofy gracious great happy hardcore heuristic hopeful hungry "
         "infallible inspiring intelligent interesting jolly jovial keen kind laughing loving lucid magical modest "
         "musing mystifying naughty nervous nice nifty nostalgic objective optimistic peaceful pedantic pensive "
         "practical priceless quirky quizzical recursing relaxed reverent romantic sad serene sharp silly sleepy "
         "stoic strange stupefied suspicious sweet tender thirsty trusting unruffled upbeat vibrant vigilant "
         "vigorous wizardly wonderful xenodochial youthful zealous zen").split()
_RIGHT = ("agnesi albattani allen almeida antonelli archimedes ardinghelli aryabhata austin babbage banach "
          "bardeen bartik bassi beaver bell benz bhabha bhaskara black blackburn blackwell bohr booth borg bose "
          "bouman boyd brahmagupta brattain brown buck burnell cannon carson cartwright carver cerf chandrasekhar "
          "chaplygin chatelet chatterjee chaum chebyshev clarke cohen colden cori cray curie darwin davinci dewdney "
          "dhawan diffie dijkstra dirac driscoll dubinsky easley edison einstein elbakyan elgamal elion ellis "
          "engelbart euclid euler faraday feistel fermat fermi feynman franklin gagarin galileo galois ganguly gates "
          "gauss germain goldberg goldstine goldwasser golick goodall gould greider grothendieck haibt hamilton "
          "haslett hawking heisenberg hellman hermann herschel hertz heyrovsky hodgkin hofstadter hoover hopper "
          "hugle hypatia ishizaka jackson jang jemison jennings jepsen johnson joliot jones kalam kapitsa kare "
          "keldysh keller kepler khayyam khorana kilby kirch knuth kowalevski lalande lamarr lamport leakey leavitt "
          "lederberg lehmann lewin lichterman liskov lovelace lumiere mahavira margulis matsumoto maxwell mayer "
          "mccarthy mcclintock mclaren mclean mcnulty meitner mendel mendeleev meninsky merkle mestorf mirzakhani "
          "montalcini moore morse moser murdock napier nash neumann newton nightingale nobel noether northcutt "
          "noyce panini pare pascal pasteur payne perlman pike poincare poitras proskuriakova ptolemy raman "
          "ramanujan rhodes ride ritchie robinson roentgen rosalind rubin saha sammet sanderson satoshi shamir "
          "shannon shaw shirley shockley shtern sinoussi snyder solomon spence stonebraker sutherland swanson "
          "swartz swirles taussig tesla tharp thompson torvalds tu turing varahamihira vaughan villani visvesvaraya "
          "volhard wescoff wilbur wiles williams williamson wilson wing wozniak wright wu yalow yonath zhukovsky").split()


def random_name() -> str:
    """A docker-style ``adjective_scientist`` name."""
    return f"{random.choice(_LEFT)}_{random.choice(_RIGHT)}"


@dataclass
class Container:
    """A container: its persisted document plus runtime-only state."""

    doc: dict[str, Any]
    # Runtime-only: not persisted.
    exit_waiters: list[asyncio.Future[dict[str, Any]]] = field(default_factory=list)
    remove_waiters: list[asyncio.Future[dict[str, Any]]] = field(default_factory=list)
    pending_attach: list[asyncio.Future[None]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    link: Any = None  # MonitorLink of the running process
    watcher: asyncio.Task[None] | None = None
    restart_task: asyncio.Task[None] | None = None
    health_task: asyncio.Task[None] | None = None
    stopping: bool = False

    @property
    def id(self) -> str:
        return self.doc["Id"]

    @property
    def name(self) -> str:
        return self.doc["Name"]

    @property
    def state(self) -> dict[str, Any]:
        return self.doc["State"]

    @property
    def config(self) -> dict[str, Any]:
        return self.doc["Config"]

    @property
    def host_config(self) -> dict[str, Any]:
        return self.doc["HostConfig"]

    @property
    def private(self) -> dict[str, Any]:
        return self.doc["Baleine"]

    @property
    def running(self) -> bool:
        return bool(self.state.get("Running"))

    @property
    def paused(self) -> bool:
        return bool(self.state.get("Paused"))

    @property
    def status(self) -> str:
        return self.state.get("Status", "created")

    @property
    def key(self) -> str:
        """Short key naming its runtime directory (Unix socket paths are limited)."""
        return self.private["key"]

    def public(self) -> dict[str, Any]:
        """The document without private fields (a deep copy)."""
        out = {k: copy.deepcopy(v) for k, v in self.doc.items() if k != "Baleine"}
        return out


def new_state() -> dict[str, Any]:
    return {"Status": "created", "Running": False, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
            "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME}


def merge_env(image: list[str], user: list[str]) -> list[str]:
    """moby's merge of a create's Env with its image's: the user's entries as given
    (``KEY`` without ``=`` included: the runtime unsets it, see
    ``runtime.spec.replace_or_append_env``), then the image's whose keys the user's
    do not name."""
    if not user:
        return list(image)
    keys = {e.split("=", 1)[0] for e in user}
    return list(user) + [e for e in image if e.split("=", 1)[0] not in keys]


#: Field types of a create request's Config and HostConfig (what Go's decoder enforces).
_CONFIG_TYPES = {
    "Hostname": STR, "Domainname": STR, "User": STR, "WorkingDir": STR, "Image": STR,
    "StopSignal": STR, "MacAddress": STR, "AttachStdin": BOOL, "AttachStdout": BOOL,
    "AttachStderr": BOOL, "Tty": BOOL, "OpenStdin": BOOL, "StdinOnce": BOOL, "NetworkDisabled": BOOL,
    "ArgsEscaped": BOOL, "StopTimeout": INT, "Env": LIST, "OnBuild": LIST, "Shell": LIST,
    "Cmd": LIST, "Entrypoint": LIST, "Labels": DICT, "ExposedPorts": DICT, "Volumes": DICT,
    "Healthcheck": DICT, "HostConfig": DICT, "NetworkingConfig": DICT,
}
_HOST_CONFIG_TYPES = {
    "Binds": LIST, "CapAdd": LIST, "CapDrop": LIST, "Dns": LIST, "DnsOptions": LIST, "DnsSearch": LIST,
    "ExtraHosts": LIST, "GroupAdd": LIST, "SecurityOpt": LIST, "VolumesFrom": LIST, "Links": LIST,
    "NetworkMode": STR, "IpcMode": STR, "PidMode": STR, "UTSMode": STR, "CgroupParent": STR,
    "Runtime": STR, "CpusetCpus": STR, "CpusetMems": STR, "VolumeDriver": STR, "ContainerIDFile": STR,
    "AutoRemove": BOOL, "Privileged": BOOL, "PublishAllPorts": BOOL, "ReadonlyRootfs": BOOL,
    "Memory": INT, "MemorySwap": INT, "MemoryReservation": INT, "NanoCpus": INT, "CpuShares": INT,
    "CpuPeriod": INT, "CpuQuota": INT, "PidsLimit": INT, "ShmSize": INT, "OomScoreAdj": INT,
    "PortBindings": DICT, "RestartPolicy": DICT, "LogConfig": DICT, "Tmpfs": DICT, "Sysctls": DICT,
    "Annotations": DICT, "StorageOpt": DICT,
}



def check_types(body: dict[str, Any]) -> None:
    """Refuse a create request whose fields have the wrong JSON types (InvalidParameter)."""
    check_fields(body, _CONFIG_TYPES, "ContainerConfigWrapper", list_or_string=("Cmd", "Entrypoint"))
    check_fields(body.get("HostConfig") or {}, _HOST_CONFIG_TYPES, "HostConfig")
    check_create_body(body)


def merge_config(user: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """A container's Config from the request's and the image's (moby's merge).

    Raises InvalidParameter when neither gives a command.
    """
    cfg = copy.deepcopy(user)
    img = image or {}
    entry = cfg.get("Entrypoint")
    if entry in ([""], ""):
        # `--entrypoint ""` resets the image's entrypoint.
        cfg["Entrypoint"] = None
        entry_explicit = True
    else:
        entry_explicit = entry is not None and entry != []
    if isinstance(cfg.get("Cmd"), str):
        cfg["Cmd"] = [cfg["Cmd"]]
    if isinstance(cfg.get("Entrypoint"), str):
        cfg["Entrypoint"] = [cfg["Entrypoint"]]
    if not entry_explicit:
        if not cfg.get("Cmd"):
            cfg["Cmd"] = img.get("Cmd")
        if cfg.get("Entrypoint") is None and entry is None:
            cfg["Entrypoint"] = img.get("Entrypoint")
    cfg["Env"] = merge_env(img.get("Env") or [], cfg.get("Env") or [])
    for key in ("WorkingDir", "User", "StopSignal", "Domainname"):
        if not cfg.get(key) and img.get(key):
            cfg[key] = img[key]
    labels = dict(img.get("Labels") or {})
    labels.update(cfg.get("Labels") or {})
    cfg["Labels"] = labels
    for key in ("ExposedPorts", "Volumes"):
        merged = dict(img.get(key) or {})
        merged.update(cfg.get(key) or {})
        cfg[key] = merged or None
    hc_img = img.get("Healthcheck")
    hc = cfg.get("Healthcheck")
    if hc is None:
        cfg["Healthcheck"] = hc_img
    elif hc_img:
        merged_hc = dict(hc)
        if not merged_hc.get("Test"):
            merged_hc["Test"] = hc_img.get("Test")
        for k in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
            if not merged_hc.get(k) and hc_img.get(k):
                merged_hc[k] = hc_img[k]
        cfg["Healthcheck"] = merged_hc
    if cfg.get("OnBuild") is None:
        cfg["OnBuild"] = img.get("OnBuild")
    if not (cfg.get("Entrypoint") or cfg.get("Cmd")):
        raise InvalidParameter("no command specified")
    for key, default in (("Hostname", ""), ("Domainname", ""), ("User", ""), ("AttachStdin", False),
                         ("AttachStdout", False), ("AttachStderr", False), ("Tty", False),
                         ("OpenStdin", False), ("StdinOnce", False), ("WorkingDir", ""),
                         ("Image", ""), ("Volumes", None), ("Entrypoint", None), ("OnBuild", None)):
        cfg.setdefault(key, default)
    return cfg


class Containers:
    """The registry of containers, persisted in the store."""

    def __init__(self, store: Store, root: str) -> None:
        self.store = store
        self.root = root  # <data-root>/containers
        os.makedirs(root, exist_ok=True)
        self.by_id: dict[str, Container] = {}
        for row in store.query("SELECT doc FROM containers"):
            c = Container(json.loads(row["doc"]))
            self.by_id[c.id] = c

    def dir(self, c: Container) -> str:
        return os.path.join(self.root, c.id)

    def new_id(self) -> str:
        while True:
            cid = secrets.token_hex(32)
            if not any(k.startswith(cid[:12]) for k in self.by_id) and not cid[:12].isdigit():
                return cid

    def check_name(self, name: str, self_id: str = "") -> str:
        """The stored form ("/name") of a requested name; InvalidParameter/Conflict if unusable."""
        if not NAME_RE.match(name):
            raise InvalidParameter(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        full = name if name.startswith("/") else "/" + name
        for other in self.by_id.values():
            if other.name == full and other.id != self_id:
                raise Conflict(f'Conflict. The container name "{full}" is already in use by container '
                               f'"{other.id}". You have to remove (or rename) that container to be able to '
                               "reuse that name.")
        return full

    def unique_random_name(self) -> str:
        names = {c.name for c in self.by_id.values()}
        for _ in range(20):
            name = "/" + random_name()
            if name not in names:
                return name
        return f"/{random_name()}{random.randint(0, 99)}"

    def add(self, doc: dict[str, Any]) -> Container:
        """Persist a new container document and register it."""
        c = Container(doc)
        with self.store.tx() as db:
            db.execute("INSERT INTO containers VALUES (?,?,?)", (c.id, c.name, dumps(c.doc)))
        self.by_id[c.id] = c
        return c

    def save(self, c: Container) -> None:
        """Persist the document (after every state change)."""
        with self.store.tx() as db:
            db.execute("UPDATE containers SET name=?, doc=? WHERE id=?", (c.name, dumps(c.doc), c.id))

    def forget(self, c: Container) -> None:
        with self.store.tx() as db:
            db.execute("DELETE FROM containers WHERE id=?", (c.id,))
        self.by_id.pop(c.id, None)

    def get(self, ref: str) -> Container:
        """By full ID, name (with or without "/"), or unique ID prefix, as docker does."""
        if not ref:
            raise NotFound("No such container: ")
        c = self.by_id.get(ref)
        if c is not None:
            return c
        name = ref if ref.startswith("/") else "/" + ref
        for c in self.by_id.values():
            if c.name == name:
                return c
        matches = [c for cid, c in self.by_id.items() if cid.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidParameter(f"multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")

    def list(self) -> list[Container]:
        """All containers, newest first."""
        return sorted(self.by_id.values(), key=lambda c: c.doc["Created"], reverse=True)

    def using_image(self, image_id: str) -> list[tuple[str, bool]]:
        return [(c.id, c.running) for c in self.by_id.values() if c.doc.get("Image") == image_id]

    def top_layers(self) -> set[str]:
        return {c.private.get("top", "") for c in self.by_id.values()} - {""}

    def rename(self, c: Container, new_name: str) -> str:
        old = c.name
        full = self.check_name(new_name, self_id=c.id)
        if full == old:
            raise InvalidParameter("Renaming a container with the same name as its current name")
        c.doc["Name"] = full
        self.save(c)
        return old


def build_document(cid: str, name: str, config: dict[str, Any], host_config: dict[str, Any],
                   image: Image, image_ref: str, key: str, rw: str, log_path: str,
                   cdir: str) -> dict[str, Any]:
    """The initial document of a created container."""
    entry = config.get("Entrypoint") or []
    cmd = config.get("Cmd") or []
    argv = list(entry) + list(cmd)
    return {
        "Id": cid,
        "Created": now_rfc3339nano(),
        "Path": argv[0],
        "Args": argv[1:],
        "State": new_state(),
        "Image": image.id,
        "ResolvConfPath": os.path.join(cdir, "resolv.conf"),
        "HostnamePath": os.path.join(cdir, "hostname"),
        "HostsPath": os.path.join(cdir, "hosts"),
        "LogPath": log_path,
        "Name": name,
        "RestartCount": 0,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": host_config,
        "GraphDriver": {"Name": "overlay2", "Data": None},
        "Mounts": [],
        "Config": config,
        "NetworkSettings": {},
        "Baleine": {"key": key, "rw": rw, "top": image.top_layer, "image_ref": image_ref,
                    "manual_stop": False},
    }
