"""The builder: a Dockerfile and a context in, an image out, with a persistent cache.

``Builder.build`` parses the Dockerfile (``instructions.load``), works out which
stages the target needs (its base stages, ``COPY --from`` and ``RUN
--mount=from=`` sources, transitively), runs those stages as concurrent tasks
(a stage waits only for the stages it uses, so independent ones run in
parallel) and records the target's final state as the image.

Each instruction is a *step* from one image state (an image config: the layer
diff IDs, the container config, the history) to the next:

* metadata instructions (ENV, LABEL, CMD, ENTRYPOINT, EXPOSE, USER, VOLUME,
  STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, ARG, MAINTAINER) change the config
  and add an ``empty_layer`` history entry;
* RUN runs a container through the engine's runtime (``executor.py``) on an
  overlay work area and commits what it changed as a layer (``fsops.py``);
* COPY and ADD write the layer directly, reading only inside the context (or
  another stage's or image's root filesystem for ``--from``);
* WORKDIR adds a layer only when it has to create the directory.

Every step is looked up in the cache (``cache.py``) first, by a key made of the
state it starts from, the instruction after variable expansion, the build
arguments in scope (RUN) and the checksums of the files it reads (COPY, ADD,
RUN bind mounts). A hit reuses the recorded result config (and with it the
layers and history timestamps), so rebuilding an unchanged Dockerfile yields the
same image ID, and a code change reruns only the steps from the first one that
reads the changed files.

Variables are expanded as Docker does (``shell.py``): FROM with the global ARGs;
ADD, COPY, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG defaults
and COPY/ADD/RUN flag values with the stage's ARGs and ENV (ENV wins); RUN,
CMD, ENTRYPOINT, HEALTHCHECK and SHELL are left to the shell. ARGs are visible
to RUN as environment variables without being stored in the image.

Progress is reported through an ``emit`` callback (always called on the event
loop) with events the API turns into Docker's classic build stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import hashlib
import json
import logging
import os
import platform as platform_mod
import posixpath
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engine.runtime import mounts as mounts_mod
from ..rules import references
from ..engine.runtime import spec as ocispec, users
from ..rules.errors import EngineError, InvalidParameter, NotFound
from ..engine.gc import Roots
from ..engine.images.records import Image
from ..engine.images.snapshots import Layer, chain_ids
from ..rules.timestamps import now_rfc3339nano
from . import fsops, metadata
from .cache import BuildCache, digest
from .context import Context, ContextError, Source, apply_dockerignore, file_digest, tree_digest
from .executor import Executor, RunRequest, runtime_failure
from .instructions import (ArgInstr, BuildFile, CopyInstr, EnvInstr, Instruction, KeyValue, LabelInstr,
                           MaintainerInstr, MountSpec, RunInstr, Stage, ValueInstr, load, parse_mount, parse_node)
from .parser import DockerfileError, Node, parse, parse_heredoc
from .shell import Lex, ShellError

log = logging.getLogger("baleine.build")

DEFAULT_SHELL = ["/bin/sh", "-c"]
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Build arguments usable without an ARG instruction, kept out of the cache key and history.
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY",
              "no_proxy", "ALL_PROXY", "all_proxy")
#: How many output lines a failing RUN reports.
TAIL_LINES = 10
CACHE_VERSION = "baleine-build-v1"


class BuildError(EngineError):
    """A build step failed. ``code`` is a RUN's exit code (errorDetail.code)."""

    status = 400

    def __init__(self, message: str, code: int = 0, tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.tail = tail or []


@dataclass
class BuildOptions:
    """What ``POST /build`` (or ``baleine build``) asked for."""

    dockerfile: str = "Dockerfile"
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str | None] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    quiet: bool = False
    network: str = ""
    platform: str = ""
    extra_hosts: list[str] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)
    registry_auth: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildResult:
    image_id: str
    tags: list[str]
    warnings: list[str] = field(default_factory=list)


Emit = Callable[[dict[str, Any]], None]

#: The stage the running task builds (each stage is a task with its own context).
_STAGE: contextvars.ContextVar[int] = contextvars.ContextVar("baleine_build_stage", default=-1)


def host_platform() -> tuple[str, str, str]:
    """(os, architecture, variant) of this machine, in OCI terms."""
    machine = platform_mod.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "i686": "386", "i386": "386"}.get(
        machine, machine)
    variant = "v7" if machine == "armv7l" else ""
    return "linux", arch, variant


def platform_string() -> str:
    os_, arch, variant = host_platform()
    return f"{os_}/{arch}" + (f"/{variant}" if variant else "")


def check_platform(value: str) -> None:
    """InvalidParameter unless ``value`` is empty or names this machine's platform."""
    if not value:
        return
    os_, arch, variant = host_platform()
    parts = value.lower().split("/")
    ok = parts[0] == os_ and (len(parts) < 2 or parts[1] in (arch, "x86_64" if arch == "amd64" else arch)) and \
        (len(parts) < 3 or parts[2] == variant or (arch == "amd64" and parts[2] == "v1"))
    if not ok or len(parts) > 3:
        raise InvalidParameter(f"platform {value!r} is not supported: this daemon builds for "
                               f"{platform_string()} only")


def platform_args() -> dict[str, str]:
    """The predefined platform ARGs (BUILDPLATFORM, TARGETARCH...)."""
    os_, arch, variant = host_platform()
    plat = platform_string()
    out = {}
    for prefix in ("BUILD", "TARGET"):
        out[prefix + "PLATFORM"] = plat
        out[prefix + "OS"] = os_
        out[prefix + "ARCH"] = arch
        out[prefix + "VARIANT"] = variant
    return out


# -- image states ------------------------------------------------------------------------


def config_bytes(config: dict[str, Any]) -> bytes:
    """The stored form of an image config (as ``Images.create`` writes it)."""
    return json.dumps(config, separators=(",", ":")).encode()


@dataclass
class State:
    """A stage's image state between steps."""

    config: dict[str, Any]
    args: dict[str, str | None] = field(default_factory=dict)
    cmd_set: bool = False

    @property
    def id(self) -> str:
        """The image ID this state would have (sha256 of its stored config)."""
        return "sha256:" + hashlib.sha256(config_bytes(self.config)).hexdigest()

    @property
    def short(self) -> str:
        return self.id[7:19]

    @property
    def cfg(self) -> dict[str, Any]:
        """The container config section (created if missing)."""
        c = self.config.get("config")
        if c is None:
            c = self.config["config"] = {}
        return c

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def top(self) -> str:
        ids = chain_ids(self.diff_ids)
        return ids[-1] if ids else ""

    @property
    def env(self) -> list[str]:
        return list(self.cfg.get("Env") or [])

    def env_map(self) -> dict[str, str]:
        out = {}
        for e in self.env:
            k, _, v = e.partition("=")
            out[k] = v
        return out

    @property
    def shell(self) -> list[str]:
        return list(self.cfg.get("Shell") or DEFAULT_SHELL)

    def expand_env(self) -> dict[str, str]:
        """Variables for expansion: declared ARGs with a value, overridden by ENV."""
        out = {k: v for k, v in self.args.items() if v is not None}
        out.update(self.env_map())
        return out

    def clone(self) -> "State":
        return State(copy.deepcopy(self.config), dict(self.args), self.cmd_set)


def scratch_config() -> dict[str, Any]:
    os_, arch, variant = host_platform()
    cfg: dict[str, Any] = {"architecture": arch, "os": os_}
    if variant:
        cfg["variant"] = variant
    cfg.update({"config": {"Env": [DEFAULT_PATH]}, "rootfs": {"type": "layers", "diff_ids": []}, "history": []})
    return cfg


def base_config(image: Image) -> dict[str, Any]:
    """A stage's starting config from an image: the image's, without per-build fields."""
    cfg = copy.deepcopy(image.config)
    for key in ("container", "container_config", "docker_version", "id", "parent"):
        cfg.pop(key, None)
    cfg.setdefault("config", {})
    if cfg["config"] is None:
        cfg["config"] = {}
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    cfg.setdefault("history", [])
    return cfg


# -- the builder --------------------------------------------------------------------------


class Builder:
    """Builds images for one engine (see module docstring).

    ``puller`` is an optional hook ``async (reference, registry_auth) -> Image``
    used for ``--pull`` and for base images missing locally; without it such
    images must be loaded first.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        root = engine.config.data_root
        self.cache = BuildCache(engine.store, os.path.join(root, "builder"))
        self.layers = fsops.Layers(engine.snapshots, engine.content)
        self.scratch_root = os.path.join(engine.tmp_dir, "build")
        self.executor = Executor(engine.runtime, engine.config.exec_root, self.scratch_root,
                                 engine.config.cgroup_parent)
        self.puller: Callable[..., Any] | None = self._pull if getattr(engine, "distribution", None) else None
        self._mount_users: dict[str, int] = {}
        self._mount_locks: dict[str, asyncio.Lock] = {}
        # The image store's layer collection must keep what the cache and running builds use.
        engine.gc.add_roots("build", lambda: Roots(layers=self.cache.layers() | self.layers.pinned()))
        self._recover()

    def _recover(self) -> None:
        """After a crash: unmount what builds left mounted in their scratch space, and
        stop build containers still running (start-up removes their files)."""
        for point in mounts_mod.mounted_under(self.scratch_root):
            with contextlib.suppress(EngineError):
                mounts_mod.unmount(point, lazy=True)
        import subprocess

        runtime = self.engine.runtime
        try:
            out = subprocess.run([runtime.path, "--root", runtime.root, "list", "-f", "json"], capture_output=True,
                                 text=True, timeout=30).stdout
            states = json.loads(out or "[]") or []
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return
        prefix = os.path.join(self.engine.config.exec_root, "b")
        for st in states:
            bundle = st.get("bundle") or ""
            if bundle.startswith(prefix) and len(os.path.basename(bundle)) == 13:
                subprocess.run([runtime.path, "--root", runtime.root, "kill", "--all", st["id"], "KILL"],
                               capture_output=True, timeout=30)
                subprocess.run([runtime.path, "--root", runtime.root, "delete", "--force", st["id"]],
                               capture_output=True, timeout=30)

    async def build(self, context_dir: str, opts: BuildOptions, emit: Emit) -> BuildResult:
        """Build from the context unpacked at ``context_dir`` (consumed: files may be removed).

        Raises DockerfileError/InvalidParameter for a bad Dockerfile or options,
        BuildError when a step fails, NotFound for a missing base image.
        """
        run = _Build(self, context_dir, opts, emit)
        return await run.run()

    async def prune(self, prune_all: bool = True, keep_storage: int = 0,
                    until: float | None = None) -> tuple[list[str], int]:
        """``builder prune``: remove cache entries, least recently used first, keeping
        ``keep_storage`` bytes and entries used less than ``until`` seconds ago;
        ``prune_all`` also empties the RUN cache mounts. Returns (keys, bytes freed)."""
        def work() -> tuple[list[str], int]:
            records = self.cache.records()  # least recently used first
            now = time.time()
            chosen = [r for r in records if until is None or now - r.last_used >= until]
            if keep_storage:
                # Remove the least recently used entries until what remains fits.
                total = sum(r.size for r in records)
                trimmed = []
                for r in chosen:
                    if total <= keep_storage:
                        break
                    trimmed.append(r)
                    total -= r.size
                chosen = trimmed
            before = self._layer_bytes()
            self.cache.remove([r.key for r in chosen])
            self.engine.gc.collect()
            freed = max(0, before - self._layer_bytes())
            if prune_all and not keep_storage and until is None:
                freed += self.cache.prune_mounts()
            return [r.key for r in chosen], freed
        return await asyncio.to_thread(work)

    def _layer_bytes(self) -> int:
        return sum(layer.size for layer in self.engine.snapshots.layers())

    def disk_usage(self) -> list[dict[str, Any]]:
        """``system df`` BuildCache entries."""
        out = []
        for r in self.cache.records():
            out.append({"ID": r.key[7:19], "Parent": "", "Type": "regular", "Description": r.description,
                        "InUse": False, "Shared": False, "Size": r.size,
                        "CreatedAt": _rfc3339(r.created), "LastUsedAt": _rfc3339(r.last_used),
                        "UsageCount": 1})
        return out

    # -- cache mounts ---------------------------------------------------------------

    def mount_lock(self, cache_id: str) -> asyncio.Lock:
        return self._mount_locks.setdefault(cache_id, asyncio.Lock())

    # -- engine services ------------------------------------------------------------

    async def _pull(self, name: str, registry_auth: dict[str, Any], emit: Emit | None = None) -> Image:
        """Pull ``name`` with the engine's distribution service (``--pull``, missing bases)."""
        from ..distribution.auth import AuthConfig, registry_host

        ref = references.parse(name).with_default_tag() if not references.parse(name).digest else \
            references.parse(name)
        auth = AuthConfig()
        for server, cfg in (registry_auth or {}).items():
            if registry_host(server) == ref.domain:
                auth = AuthConfig.from_dict(cfg)
                break

        def sink(msg: dict[str, Any]) -> None:
            if emit is not None and msg.get("status") and not msg.get("progressDetail"):
                emit({"type": "message", "text": (f"{msg['id']}: " if msg.get("id") else "") + msg["status"] + "\n"})

        await self.engine.distribution.pull(str(ref), "", None, auth, sink)
        return await asyncio.to_thread(self.engine.images.get, str(ref))

    async def attach_network(self, cid: str) -> tuple[str, Any]:
        """A network namespace on the default bridge for a RUN container, as Docker's
        classic builder gives it; (namespace path, handle for :meth:`detach_network`).

        Without the engine's network subsystem the container shares the host's network
        (as a standalone BuildKit without CNI does).
        """
        nets = getattr(self.engine, "networks", None)
        if nets is None:
            return "host", None
        from ..engine.containers.records import Container

        doc = {"Id": cid, "Name": "/build-" + cid[:12], "Config": {"Hostname": cid[:12], "ExposedPorts": None},
               "HostConfig": {"NetworkMode": "bridge", "Dns": [], "PortBindings": {}},
               "NetworkSettings": {"Networks": {}}, "State": {}, "Baleine": {"key": "b" + cid[:12]}}
        c = Container(doc)
        try:
            ns = await nets.prepare(c)
        except BaseException:
            with contextlib.suppress(Exception):
                await nets.release(c)
            raise
        return ns or "none", c

    async def detach_network(self, handle: Any) -> None:
        if handle is not None:
            with contextlib.suppress(Exception):
                await self.engine.networks.release(handle)


def _rfc3339(t: float) -> str:
    from ..rules.timestamps import format_rfc3339nano_ns

    return format_rfc3339nano_ns(int(t * 1e9))


# -- one build ----------------------------------------------------------------------------


@dataclass
class _Step:
    number: int
    instr: Instruction | None
    text: str
    stage: Stage


class _Sequencer:
    """Keeps the output of concurrent stages in readable blocks.

    One stage's events go out live; events of stages running meanwhile are held
    and sent, in stage order, when the live stage finishes. Events without a
    step are sent at once.
    """

    def __init__(self, emit: Emit) -> None:
        self.out = emit
        self.stage_of: dict[int, int] = {}  # step number -> stage index
        self.current: int | None = None
        self.held: dict[int, list[dict[str, Any]]] = {}
        self.finished: set[int] = set()

    def __call__(self, ev: dict[str, Any]) -> None:
        stage = self.stage_of.get(ev.get("step", -1))
        if stage is None:
            self.out(ev)
            return
        if self.current is None and not self.held:
            self.current = stage
        if stage == self.current:
            self.out(ev)
        else:
            self.held.setdefault(stage, []).append(ev)

    def stage_done(self, stage: int) -> None:
        self.finished.add(stage)
        if self.current not in (None, stage):
            return
        self.current = None
        while self.held:
            nxt = min(self.held)
            for ev in self.held.pop(nxt):
                self.out(ev)
            if nxt not in self.finished:
                self.current = nxt
                return

    def switch_to(self, stage: int, waiting: int) -> None:
        """Stage ``waiting`` waits for ``stage``: if it is the live one, show
        ``stage`` live meanwhile."""
        if stage in self.finished or self.current != waiting:
            return
        self.current = stage
        for ev in self.held.pop(stage, []):
            self.out(ev)

    def flush(self) -> None:
        for stage in sorted(self.held):
            for ev in self.held.pop(stage):
                self.out(ev)
        self.current = None


class _Build:
    """One build: the Dockerfile, the context, the stages' results."""

    def __init__(self, builder: Builder, context_dir: str, opts: BuildOptions, emit: Emit) -> None:
        self.b = builder
        self.engine = builder.engine
        self.context_dir = context_dir
        self.context = Context(context_dir)
        self.opts = opts
        self.seq = _Sequencer(emit)
        self.emit: Emit = self.seq
        self.id = secrets.token_hex(8)
        self.scratch = os.path.join(builder.scratch_root, self.id)
        self.results: dict[int, asyncio.Future[State]] = {}
        self.pinned: list[str] = []
        self.used_args: set[str] = set()
        self.warnings: list[str] = []
        self.lex: Lex = Lex()
        self.bf: BuildFile | None = None
        self.meta: dict[str, str | None] = {}
        self.total = 0
        self.image_cache: dict[str, Image] = {}
        self.context_digests: dict[str, str] = {}

    # -- orchestration ---------------------------------------------------------------

    async def run(self) -> BuildResult:
        opts = self.opts
        check_platform(opts.platform)
        tags = [_full_tag(t) for t in opts.tags]
        os.makedirs(self.scratch, exist_ok=True)
        try:
            bf = await asyncio.to_thread(self._load)
            self.bf = bf
            self.lex = Lex(bf.escape)
            for w in bf.dockerfile.warnings:
                self.message(w + "\n")
            self.meta = self._meta_args(bf)
            target = self._target(bf)
            needed = self._needed(bf, target)
            steps = self._plan(bf, needed, target)
            self.total = len(steps)
            self.seq.stage_of = {s.number: s.stage.index for s in steps}
            loop = asyncio.get_running_loop()
            for st in needed:
                self.results[st.index] = loop.create_future()
            tasks = [asyncio.create_task(self._run_stage(st, [s for s in steps if s.stage is st]))
                     for st in needed]
            try:
                await _gather_fail_fast(tasks)
            finally:
                for fut in self.results.values():
                    if not fut.done():
                        fut.cancel()
                self.seq.flush()
            final = self.results[target.index].result()
            self._warn_unused_args()
            image = await asyncio.to_thread(self._commit_image, final, tags)
        finally:
            self.b.layers.unpin(self.pinned)
            await asyncio.to_thread(self._cleanup)
        for tag in tags:
            self.engine.events.publish("image", "tag", image.id, {"name": _familiar(tag)})
        return BuildResult(image.id, tags, self.warnings)

    def _cleanup(self) -> None:
        for point in mounts_mod.mounted_under(self.scratch):
            mounts_mod.unmount(point, lazy=True)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _load(self) -> BuildFile:
        name = self.opts.dockerfile or "Dockerfile"
        try:
            path = self.context.resolve(name)
            with open(path, "rb") as f:
                text = f.read()
        except (NotFound, FileNotFoundError, IsADirectoryError, ContextError):
            # Docker also accepts the lower-case name when the default is missing.
            alt = None
            if name == "Dockerfile":
                try:
                    alt = self.context.resolve("dockerfile")
                    with open(alt, "rb") as f:
                        text = f.read()
                except (NotFound, FileNotFoundError, IsADirectoryError):
                    alt = None
            if alt is None:
                raise InvalidParameter(f"Cannot locate specified Dockerfile: {name}") from None
        if not text.strip():
            raise InvalidParameter(f"the Dockerfile ({name}) cannot be empty")
        bf = load(text, posixpath.basename(name) if not name.startswith(".dockerfile.") else "Dockerfile")
        apply_dockerignore(self.context_dir, name)
        return bf

    def _meta_args(self, bf: BuildFile) -> dict[str, str | None]:
        """Global ARGs (before the first FROM), build args overriding defaults."""
        values: dict[str, str | None] = {}
        env = dict(platform_args())
        for instr in bf.meta_args:
            for decl in instr.args:
                self.used_args.add(decl.key)
                if decl.key in self.opts.build_args and self.opts.build_args[decl.key] is not None:
                    value: str | None = self.opts.build_args[decl.key]
                elif decl.default is not None:
                    value = self._expand(decl.default, env, instr)
                else:
                    value = None
                values[decl.key] = value
                if value is not None:
                    env[decl.key] = value
        return values

    def _meta_env(self) -> dict[str, str]:
        env = dict(platform_args())
        env.update({k: v for k, v in self.meta.items() if v is not None})
        return env

    def _target(self, bf: BuildFile) -> Stage:
        if not self.opts.target:
            return bf.stages[-1]
        for st in bf.stages:
            if st.name == self.opts.target.lower():
                return st
        raise InvalidParameter(f"failed to reach build target {self.opts.target} in Dockerfile")

    def _stage_ref(self, bf: BuildFile, name: str, before: int) -> Stage | None:
        """The stage a FROM/--from value names (by name or index), or None for an image."""
        low = name.lower()
        for st in bf.stages[:before]:
            if st.name and st.name == low:
                return st
        if name.isdigit():
            idx = int(name)
            if idx < before:
                return bf.stages[idx]
            raise InvalidParameter(f"invalid from flag value {name}: refers to current or future build stage")
        for st in bf.stages[before:]:
            if st.name and st.name == low:
                raise InvalidParameter(f"invalid from flag value {name}: refers to current or future build stage")
        return None

    def _base_name(self, st: Stage) -> str:
        return self._expand(st.base, self._meta_env(), st.node)

    def _needed(self, bf: BuildFile, target: Stage) -> list[Stage]:
        """The target and every stage it depends on, in Dockerfile order."""
        deps: dict[int, set[int]] = {}
        for st in bf.stages:
            d: set[int] = set()
            base = self._stage_ref(bf, self._base_name(st), st.index)
            if base is not None:
                d.add(base.index)
            env = self._meta_env()
            for instr in st.instructions:
                if isinstance(instr, ArgInstr):
                    for decl in instr.args:
                        v = self.opts.build_args.get(decl.key)
                        if v is None:
                            v = decl.default if decl.default is not None else self.meta.get(decl.key)
                        if v is not None:
                            env[decl.key] = v
                elif isinstance(instr, EnvInstr):
                    for kv in instr.pairs:
                        with contextlib.suppress(InvalidParameter):
                            env[kv.key] = self._expand(kv.value, env, instr)
                elif isinstance(instr, CopyInstr) and instr.from_:
                    ref = self._expand(instr.from_, env, instr)
                    src = self._stage_ref(bf, ref, st.index)
                    if src is not None:
                        d.add(src.index)
                elif isinstance(instr, RunInstr):
                    for m in instr.mounts:
                        if m.from_:
                            src = self._stage_ref(bf, m.from_, st.index)
                            if src is not None:
                                d.add(src.index)
            deps[st.index] = d
        needed: set[int] = set()
        todo = [target.index]
        while todo:
            i = todo.pop()
            if i in needed:
                continue
            needed.add(i)
            todo.extend(deps[i])
        return [st for st in bf.stages if st.index in needed]

    def _plan(self, bf: BuildFile, needed: list[Stage], target: Stage) -> list[_Step]:
        steps: list[_Step] = []
        for st in needed:
            steps.append(_Step(0, None, st.node.original.strip(), st))
            for instr in st.instructions:
                steps.append(_Step(0, instr, instr.original, st))
            if st is target and self.opts.labels:
                line = "LABEL " + " ".join(f'"{k}"="{v}"' for k, v in sorted(self.opts.labels.items()))
                node = Node("LABEL", [], line, start_line=0, end_line=0)
                instr = LabelInstr(node, [KeyValue(k, v) for k, v in sorted(self.opts.labels.items())])
                instr.node.original = line
                steps.append(_Step(0, instr, line, st))
        for i, s in enumerate(steps, 1):
            s.number = i
        return steps

    # -- events ---------------------------------------------------------------------

    def message(self, text: str, **extra: Any) -> None:
        self.emit({"type": "message", "text": text, **extra})

    def _warn_unused_args(self) -> None:
        unused = sorted(k for k in self.opts.build_args if k not in self.used_args and k not in PROXY_ARGS
                        and k not in platform_args())
        if unused:
            text = f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed"
            self.warnings.append(text)
            self.message(text + "\n", warning=True)

    # -- stages ------------------------------------------------------------------------

    async def _run_stage(self, stage: Stage, steps: list[_Step]) -> None:
        fut = self.results[stage.index]
        _STAGE.set(stage.index)
        try:
            state = await self._from(stage, steps[0])
            for step in steps[1:]:
                state = await self._step(state, step)
            fut.set_result(state)
            self.seq.stage_done(stage.index)
        except BaseException as exc:
            if not fut.done():
                if isinstance(exc, asyncio.CancelledError):
                    fut.cancel()
                else:
                    fut.set_exception(exc)
                    fut.exception()  # retrieved: the build reports it once
            raise

    async def _stage_result(self, index: int) -> State:
        fut = self.results.get(index)
        if fut is None:
            raise InvalidParameter(f"build stage {index} is not part of this build")
        if not fut.done():
            self.seq.switch_to(index, _STAGE.get())
        return (await asyncio.shield(fut)).clone()

    async def _from(self, stage: Stage, step: _Step) -> State:
        started = time.monotonic()
        check_platform(self._expand(stage.platform, self._meta_env(), stage.node) if stage.platform else "")
        name = self._base_name(stage)
        assert self.bf is not None
        ref = self._stage_ref(self.bf, name, stage.index)
        self.step_event(step)
        if ref is not None:
            base = await self._stage_result(ref.index)
            state = State(base.config, {}, False)
            shown = state.short
        elif name.lower() == "scratch":
            state = State(scratch_config())
            shown = state.short
        else:
            image = await self._image(name)
            state = State(base_config(image))
            # The base's own parent (classic builds) means nothing in this image.
            state.cfg.pop("Image", None)
            shown = image.short_id
        self._pin(state)
        self.emit({"type": "step-done", "step": step.number, "id": shown,
                   "duration": time.monotonic() - started, "cached": False, "from": True})
        triggers = list(state.cfg.get("OnBuild") or [])
        if triggers:
            state.cfg["OnBuild"] = None
            state = await self._triggers(state, triggers, step)
        return state

    async def _image(self, name: str) -> Image:
        """A base or ``--from`` image: local, or pulled through the hook."""
        if name in self.image_cache:
            return self.image_cache[name]
        images = self.engine.images
        try:
            references.parse(name)
        except InvalidParameter:
            raise InvalidParameter(f"invalid reference format: {name!r} is not a valid image name") from None
        image: Image | None = None
        if self.opts.pull and self.b.puller is not None:
            image = await self.b.puller(name, self.opts.registry_auth, self.emit)
        if image is None:
            try:
                image = await asyncio.to_thread(images.get, name)
            except NotFound:
                if self.b.puller is not None:
                    image = await self.b.puller(name, self.opts.registry_auth, self.emit)
                else:
                    raise NotFound(f"pull access denied for {_repo_name(name)}, repository does not exist or may "
                                   f"require 'docker login': image {name} is not present locally and no registry "
                                   "is configured (load it first, e.g. with `baleine load`)") from None
            else:
                if self.opts.pull and self.b.puller is None:
                    self.message(f"[Warning] --pull: no registry is configured, using the local image {name}\n",
                                 warning=True)
        assert image is not None
        if image.config.get("os") not in (None, "", "linux"):
            raise InvalidParameter(f"image {name} is for {image.config.get('os')}, not linux")
        self.image_cache[name] = image
        return image

    async def _triggers(self, state: State, triggers: list[str], step: _Step) -> State:
        self.message(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) != 1 else ''}\n",
                     step=step.number)
        assert self.bf is not None
        try:
            df = parse("\n".join(triggers), "ONBUILD")
        except DockerfileError as exc:
            raise InvalidParameter(f"failed to parse ONBUILD triggers of the base image: {exc.message}") from None
        for node in df.nodes:
            try:
                instr = parse_node(node, df.escape)
            except ValueError as exc:
                raise InvalidParameter(f"ONBUILD trigger {node.original.strip()!r}: {exc}") from None
            if not isinstance(instr, Instruction):
                raise InvalidParameter("FROM isn't allowed as an ONBUILD trigger")
            sub = _Step(step.number, instr, instr.original, step.stage)
            state = await self._dispatch(state, sub, trigger=True)
        return state

    async def _step(self, state: State, step: _Step) -> State:
        self.step_event(step)
        return await self._dispatch(state, step)

    def step_event(self, step: _Step) -> None:
        self.emit({"type": "step", "step": step.number, "total": self.total, "text": step.text,
                   "stage": step.stage.name or str(step.stage.index), "line": (step.instr.line if step.instr
                                                                               else step.stage.line)})

    def _pin(self, state: State) -> None:
        top = state.top
        if top:
            self.b.layers.pin([top])
            self.pinned.append(top)

    # -- dispatch ------------------------------------------------------------------------

    async def _dispatch(self, state: State, step: _Step, trigger: bool = False) -> State:
        instr = step.instr
        assert instr is not None
        started = time.monotonic()
        try:
            if isinstance(instr, RunInstr):
                new, cached = await self._run(state, instr, step)
            elif isinstance(instr, CopyInstr):
                new, cached = await self._copy(state, instr, step)
            elif isinstance(instr, ValueInstr) and instr.keyword == "WORKDIR":
                new, cached = await self._workdir(state, instr, step)
            else:
                new, cached = await self._metadata(state, instr)
        except ShellError as exc:
            raise self._error(instr, str(exc)) from None
        except DockerfileError:
            raise
        except (InvalidParameter, NotFound) as exc:
            if isinstance(exc, BuildError):
                raise
            raise self._error(instr, str(exc), type(exc)) from None
        self._pin(new)
        if cached:
            self.emit({"type": "cached", "step": step.number})
        self.emit({"type": "step-done", "step": step.number, "id": new.short, "cached": cached,
                   "duration": time.monotonic() - started})
        return new

    def _error(self, instr: Instruction, message: str, kind: type = InvalidParameter) -> EngineError:
        assert self.bf is not None
        if instr.line:
            message = f"{self.bf.filename}:{instr.line}: {instr.keyword} failed: {message}"
        else:
            message = f"{instr.keyword} failed: {message}"
        if kind is NotFound:
            return NotFound(message)
        return BuildError(message)

    def _expand(self, word: str, env: dict[str, str], where: Instruction | Node | None = None) -> str:
        """Expand one word; a failure names the file and line when ``where`` is given
        (otherwise the ShellError is turned into one by ``_dispatch``)."""
        try:
            return self.lex.process_word(word, env)
        except ShellError as exc:
            if where is None:
                raise
            node = where.node if isinstance(where, Instruction) else where
            filename = self.bf.filename if self.bf is not None else "Dockerfile"
            raise DockerfileError(str(exc), filename, node.start_line) from None

    def _key(self, state: State, *parts: Any) -> str:
        return digest(CACHE_VERSION, state.id, *parts)

    def _lookup(self, key: str) -> State | None:
        if self.opts.no_cache:
            return None
        return None if (cfg := self.b.cache.get(key)) is None else State(cfg)

    def _history(self, state: State, created_by: str, empty: bool) -> None:
        now = now_rfc3339nano()
        entry: dict[str, Any] = {"created": now, "created_by": created_by}
        if empty:
            entry["empty_layer"] = True
        state.config.setdefault("history", []).append(entry)
        state.config["created"] = now

    def _record(self, key: str, state: State, description: str, size: int = 0) -> None:
        self.b.cache.put(key, state.config, description, size)

    # -- metadata instructions ------------------------------------------------------------

    async def _metadata(self, state: State, instr: Instruction) -> tuple[State, bool]:
        new = state.clone()
        if isinstance(instr, ArgInstr):
            parts = []
            for decl in instr.args:
                key = decl.key
                self.used_args.add(key)
                value: str | None
                given = self.opts.build_args.get(key)
                if key in self.opts.build_args and given is not None:
                    value = given
                elif decl.default is not None:
                    value = self._expand(decl.default, new.expand_env())
                elif key in self.meta:
                    value = self.meta[key]
                elif key in platform_args():
                    value = platform_args()[key]
                else:
                    value = None
                new.args[key] = value
                parts.append(f"{key}={value}" if value is not None else key)
            desc = "ARG " + " ".join(parts)
        elif isinstance(instr, MaintainerInstr):
            new.config["author"] = instr.maintainer
            desc = f"MAINTAINER {instr.maintainer}"
        else:
            flags = metadata.Flags(new.cmd_set)
            desc = metadata.apply(new.cfg, instr, state.expand_env(), self.lex, flags)
            new.cmd_set = flags.cmd_set
        key = self._key(state, "meta", desc, sorted(new.args.items(), key=lambda kv: kv[0]) if isinstance(
            instr, ArgInstr) else None)
        hit = self._lookup(key)
        if hit is not None:
            hit.args, hit.cmd_set = new.args, new.cmd_set
            return hit, True
        self._history(new, desc, empty=True)
        await asyncio.to_thread(self._record, key, new, desc)
        return new, False

    # -- WORKDIR ---------------------------------------------------------------------------

    async def _workdir(self, state: State, instr: ValueInstr, step: _Step) -> tuple[State, bool]:
        env = state.expand_env()
        value = self._expand(instr.value, env)
        wd = metadata.workdir(state.cfg.get("WorkingDir") or "/", value)
        user = state.cfg.get("User") or ""
        desc = f"WORKDIR {wd}"
        key = self._key(state, "WORKDIR", wd, user)
        hit = self._lookup(key)
        if hit is not None:
            hit.args, hit.cmd_set = state.args, state.cmd_set
            return hit, True
        new = state.clone()
        new.cfg["WorkingDir"] = wd

        def work() -> Layer | None:
            area = self.b.layers.open(state.top)
            try:
                rootfs = fsops.RootFS(area.merged)
                if rootfs.is_dir(wd):
                    self.b.layers.discard(area)
                    return None
                uid = gid = 0
                if user:
                    u = users.resolve_user(area.merged, user)
                    uid, gid = u.uid, u.gid
                rootfs.mkdir_all(wd, uid, gid)
            except BaseException:
                self.b.layers.discard(area)
                raise
            return self.b.layers.commit(area)

        layer = await asyncio.to_thread(work)
        self._add_layer(new, layer, desc)
        await asyncio.to_thread(self._record, key, new, desc, layer.size if layer else 0)
        return new, False

    def _add_layer(self, state: State, layer: Any, desc: str) -> None:
        if layer is not None:
            state.config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
            state.config["rootfs"].setdefault("diff_ids", [])
            state.config["rootfs"]["diff_ids"].append(layer.diff_id)
            self.pinned.append(layer.chain_id)  # pinned by Layers.commit; released with the build
        self._history(state, desc, empty=layer is None)

    # -- COPY / ADD -------------------------------------------------------------------------

    async def _copy(self, state: State, instr: CopyInstr, step: _Step) -> tuple[State, bool]:
        env = state.expand_env()
        kw = instr.keyword
        srcs = [self._expand(s, env) for s in instr.sources]
        dest_raw = self._expand(instr.dest, env)
        chown = self._expand(instr.chown, env) if instr.chown else ""
        chmod_s = self._expand(instr.chmod, env) if instr.chmod else ""
        chmod = _parse_chmod(chmod_s) if chmod_s else None
        excludes = [self._expand(e, env) for e in instr.excludes]
        from_ = self._expand(instr.from_, env) if instr.from_ else ""
        workdir = state.cfg.get("WorkingDir") or "/"
        dest = dest_raw if dest_raw.startswith("/") else posixpath.join(workdir, dest_raw)
        dest_is_dir = dest_raw.endswith("/") or dest_raw in (".", "..") or dest_raw.endswith("/.")
        contents = []
        for f in instr.contents:
            data = _expand_heredoc(self.lex, f.data, env) if f.expand else f.data
            contents.append((f.name, data))
        urls = [s for s in srcs if _is_url(s)] if instr.add else []
        if instr.add and instr.checksum and not urls:
            raise InvalidParameter("checksum can't be specified for local sources")
        for s in srcs:
            if instr.add and _is_git(s):
                raise InvalidParameter(f"ADD of a git repository ({s}) is not supported by this builder")
        local = [s for s in srcs if s not in urls]
        unpack = instr.add if instr.unpack is None else bool(instr.unpack)

        async with self._source_root(from_, state) as (root, what, with_owner):
            ctx = Context(root, what)

            def prepare() -> tuple[list[Source], list[tuple[str, str, float | None]], str]:
                sources: list[Source] = []
                for s in local:
                    sources.extend(ctx.sources(s, excludes))
                downloads = []
                for u in urls:
                    ddir = os.path.join(self.scratch, "dl-" + secrets.token_hex(6))
                    os.makedirs(ddir)
                    path, name, mtime = fsops.download(u, ddir)
                    if instr.checksum:
                        got = "sha256:" + file_digest(path)
                        if got != instr.checksum:
                            raise InvalidParameter(f"digest mismatch for {u}: expected {instr.checksum}, got {got}")
                    downloads.append((path, name, mtime))
                sums = tree_digest(sources, with_owner=with_owner, excludes=excludes) if sources else ""
                if downloads:
                    sums += "".join(":" + file_digest(p) for p, _, _ in downloads)
                return sources, downloads, sums

            sources, downloads, sums = await asyncio.to_thread(prepare)
            count = len(sources) + len(downloads) + len(contents)
            if count == 0:
                raise InvalidParameter("no source files were specified")
            if count > 1 and not dest_is_dir:
                dest_is_dir = await asyncio.to_thread(self._is_dir_in, state, dest)
                if not dest_is_dir:
                    raise InvalidParameter(f"When using {kw} with more than one source file, the destination must "
                                           "be a directory and end with a /")
            shown_src = " ".join(([f"<<{n}" for n, _ in contents]) + srcs)
            desc = f"{kw} {shown_src} {dest_raw}".replace("  ", " ")
            # The sources' content and metadata decide, not where they come from: a
            # rebuilt stage with the same files keeps this step cached.
            key = self._key(state, kw, dest, dest_is_dir, chown, chmod, instr.link, instr.parents, excludes, unpack,
                            sums, [(n, d) for n, d in contents], [os.path.basename(u) for u in urls], bool(from_))
            hit = self._lookup(key)
            if hit is not None:
                hit.args, hit.cmd_set = state.args, state.cmd_set
                return hit, True
            new = state.clone()

            def work() -> Layer | None:
                area = self.b.layers.open(state.top)
                try:
                    rootfs = fsops.RootFS(area.merged)
                    own = fsops.Ownership(0, 0, chmod)
                    if chown:
                        own.uid, own.gid = _parse_chown(chown, area.merged)
                    elif with_owner:
                        own.uid = own.gid = None
                    fsops.copy_sources(sources, dest, rootfs, own, dest_is_dir=dest_is_dir, parents=instr.parents,
                                       excludes=excludes, unpack=unpack and not from_)
                    for name, data in contents:
                        target = posixpath.join(dest, name) if dest_is_dir else dest
                        fsops.write_file(rootfs, target, data.encode(), fsops.Ownership(own.uid or 0, own.gid or 0,
                                                                                       chmod))
                    for path, name, mtime in downloads:
                        target = posixpath.join(dest, name) if dest_is_dir else dest
                        with open(path, "rb") as f:
                            data = f.read()
                        fsops.write_file(rootfs, target, data, fsops.Ownership(own.uid or 0, own.gid or 0, chmod),
                                         mode=0o600, mtime=mtime)
                except BaseException:
                    self.b.layers.discard(area)
                    raise
                return self.b.layers.commit(area)

            layer = await asyncio.to_thread(work)
        self._add_layer(new, layer, desc)
        await asyncio.to_thread(self._record, key, new, desc, layer.size if layer else 0)
        return new, False

    def _is_dir_in(self, state: State, path: str) -> bool:
        area = self.b.layers.open(state.top)
        try:
            return fsops.RootFS(area.merged).is_dir(path)
        finally:
            self.b.layers.discard(area)

    async def _from_identity(self, ref: str, state: State) -> str:
        assert self.bf is not None
        st = self._find_stage(ref)
        if st is not None:
            return (await self._stage_result(st.index)).id
        return (await self._image(ref)).id

    def _find_stage(self, ref: str) -> Stage | None:
        assert self.bf is not None
        low = ref.lower()
        for st in self.bf.stages:
            if st.name == low:
                return st
        if ref.isdigit() and int(ref) < len(self.bf.stages):
            return self.bf.stages[int(ref)]
        return None

    @contextlib.asynccontextmanager
    async def _source_root(self, ref: str, state: State):  # noqa: ANN201 - async context manager
        """(root dir, description, keeps owners) of a copy source: the context, or a
        stage's / image's root filesystem mounted read-only."""
        if not ref:
            yield self.context_dir, "build context", False
            return
        st = self._find_stage(ref)
        if st is not None:
            top = (await self._stage_result(st.index)).top
            what = f"build stage {ref}"
        else:
            image = await self._image(ref)
            top = image.top_layer
            what = f"image {ref}"
        path = await asyncio.to_thread(self._mount_ro, top)
        try:
            yield path, what, True
        finally:
            await asyncio.to_thread(self._drop_view, path)

    def _mount_ro(self, top: str) -> str:
        """Mount a read-only view of the layer ``top``; return its mount point."""
        snapshots = self.engine.snapshots
        key = snapshots.new_key("v")
        try:
            mounts_mod.mount_all(snapshots.view(key, top), snapshots.mountpoint(key))
        except BaseException:
            snapshots.remove(key)
            raise
        return snapshots.mountpoint(key)

    def _drop_view(self, path: str) -> None:
        """Drop a view :meth:`_mount_ro` made (``path`` is its mount point)."""
        self.engine.snapshots.remove(os.path.basename(os.path.dirname(path)))

    def _unmount_ro(self, path: str) -> None:
        for point in mounts_mod.mounted_under(path):
            mounts_mod.unmount(point, lazy=True)
        shutil.rmtree(path, ignore_errors=True)

    # -- RUN -----------------------------------------------------------------------------------

    async def _run(self, state: State, instr: RunInstr, step: _Step) -> tuple[State, bool]:
        env_map = state.expand_env()
        cmd = list(instr.cmd)
        files = instr.files
        pipe_file: tuple[str, str] | None = None
        if files:
            if len(cmd) != 1 or not instr.prepend_shell:
                raise InvalidParameter(f"parsing produced an invalid run command: {cmd}")
            doc = parse_heredoc(cmd[0])
            if doc is not None:
                data = files[0].text()
                if data.startswith("#!"):
                    pipe_file = (files[0].name, data)
                    cmd = [posixpath.join("/dev/pipes", files[0].name)]
                else:
                    cmd = [data]
            else:
                full = cmd[0]
                for f in files:
                    full += "\n" + f.content + f.name
                cmd = [full]
        if instr.prepend_shell and pipe_file is None:
            cmd = state.shell + cmd
        network = instr.network or self.opts.network or "default"
        if network in ("bridge", "default", ""):
            network = "default"
        # Build args in scope reach RUN as environment variables (ENV wins).
        env_names = set(state.env_map())
        arg_env = [f"{k}={v}" for k, v in sorted(state.args.items()) if v is not None and k not in env_names]
        proxy_env = [f"{k}={v}" for k, v in sorted(self.opts.build_args.items())
                     if k in PROXY_ARGS and v is not None and k not in state.args and k not in env_names]
        mounts = [self._expand_mount(m, env_map) for m in instr.mounts]
        mount_ids = []
        for m in mounts:
            ident: Any = [m.type, m.target, m.source, m.from_, m.readonly, m.id, m.sharing]
            if m.type == "bind":
                ident.append(await self._bind_identity(m, state))
            mount_ids.append(ident)
        # As Docker's history shows them: "|2 A=1 B=2 /bin/sh -c ..." when ARGs are in scope.
        shown = (f"|{len(arg_env)} {' '.join(arg_env)} " if arg_env else "") + " ".join(cmd)
        desc = f"RUN {shown}"
        if pipe_file:
            desc += f" (<<{pipe_file[0]})"
        key = self._key(state, "RUN", cmd, arg_env, mount_ids, network, pipe_file,
                        state.cfg.get("User") or "", state.cfg.get("WorkingDir") or "/")
        hit = self._lookup(key)
        if hit is not None:
            hit.args, hit.cmd_set = state.args, state.cmd_set
            return hit, True
        new = state.clone()
        cid = Executor.new_id()
        self.emit({"type": "running", "step": step.number, "container": cid[:12]})
        tail: list[str] = []
        partial = [""]

        def on_output(fd: int, text: str) -> None:
            self.emit({"type": "output", "step": step.number, "fd": fd, "text": text})
            buf = partial[0] + text
            lines = buf.split("\n")
            partial[0] = lines.pop()
            tail.extend(lines)
            del tail[:-TAIL_LINES]

        area = await asyncio.to_thread(self.b.layers.open, state.top, True)
        net_handle = None
        try:
            async with self._run_mounts(mounts, state, area, pipe_file, cid) as (extra_mounts, stubs, secret_env):
                netns = network
                if network == "default":
                    netns, net_handle = await self.b.attach_network(cid)
                resolv = (net_handle.private.get("resolv") or {}) if net_handle is not None else {}
                req = RunRequest(args=cmd, env=arg_env + proxy_env + state.env + secret_env,
                                 cwd=state.cfg.get("WorkingDir") or "/", user=state.cfg.get("User") or "",
                                 network=netns, mounts=extra_mounts,
                                 extra_hosts=list(self.opts.extra_hosts), resources=dict(self.opts.resources),
                                 dns=resolv.get("Dns"), dns_options=resolv.get("DnsOptions"))
                try:
                    code = await self.b.executor.run(cid, area.merged, req, on_output)
                except InvalidParameter as exc:
                    raise self._error(instr, str(exc)) from None
        except BaseException:
            await self.b.detach_network(net_handle)
            await asyncio.to_thread(self.b.layers.discard, area)
            raise
        await self.b.detach_network(net_handle)
        if partial[0]:
            tail.append(partial[0])
            del tail[:-TAIL_LINES]
        self.emit({"type": "removed", "step": step.number, "container": cid[:12]})
        if code != 0:
            await asyncio.to_thread(self.b.layers.discard, area)
            failure = runtime_failure(tail)
            if failure is not None:
                # The process never started (no such executable...): Docker reports the runtime's error.
                raise BuildError(f"failed to create task for container: OCI runtime create failed: {failure}: "
                                 "unknown", tail=tail)
            raise BuildError(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}", code=code, tail=tail)
        layer = await asyncio.to_thread(self.b.layers.commit, area, stubs)
        self._add_layer(new, layer, desc)
        await asyncio.to_thread(self._record, key, new, desc, layer.size if layer else 0)
        return new, False

    def _expand_mount(self, m: MountSpec, env: dict[str, str]) -> MountSpec:
        """The mount with its values expanded (as BuildKit re-reads --mount at dispatch)."""
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerow([f"{k}={v}" for k, v in m.raw.items() if k != "sharing_set"])
        return parse_mount(buf.getvalue().rstrip("\r\n"), lambda v: self._expand(v, env))

    async def _bind_identity(self, m: MountSpec, state: State) -> str:
        if m.from_:
            return await self._from_identity(m.from_, state)
        key = m.source or "/"
        if key not in self.context_digests:
            def work() -> str:
                try:
                    sources = self.context.sources(m.source or ".")
                except (NotFound, ContextError):
                    return "missing"
                return tree_digest(sources)
            self.context_digests[key] = await asyncio.to_thread(work)
        return self.context_digests[key]

    @contextlib.asynccontextmanager
    async def _run_mounts(self, specs: list[MountSpec], state: State, area: fsops.WorkArea,
                          pipe_file: tuple[str, str] | None, cid: str):  # noqa: ANN201
        """The OCI mounts of RUN --mount (and a heredoc script), the mount points to
        drop from the layer if the runtime had to create them, and secret env vars."""
        out: list[ocispec.Mount] = []
        stubs: list[str] = []
        secret_env: list[str] = []
        cleanups: list[Callable[[], Any]] = []
        locks: list[asyncio.Lock] = []
        rootfs = fsops.RootFS(area.merged)
        base = os.path.join(self.scratch, "m-" + cid[:12])
        os.makedirs(base, exist_ok=True)
        workdir = state.cfg.get("WorkingDir") or "/"
        try:
            if pipe_file is not None:
                pipes = os.path.join(base, "pipes")
                os.makedirs(pipes)
                path = os.path.join(pipes, pipe_file[0])
                with open(path, "w") as f:
                    f.write(pipe_file[1])
                os.chmod(path, 0o755)
                out.append(ocispec.Mount("/dev/pipes", pipes, "bind", ["rbind", "ro", "rprivate"]))
            for i, m in enumerate(specs):
                target = m.target
                if m.type == "secret":
                    sid = m.id or (posixpath.basename(target) if target else m.source)
                    if not target and not m.env:
                        target = "/run/secrets/" + sid
                    data = self.opts.secrets.get(sid)
                    if data is None:
                        if m.required:
                            raise InvalidParameter(f"secret {sid}: not found")
                        continue
                    if m.env:
                        secret_env.append(f"{m.env}={data.decode(errors='replace')}")
                    if not target:
                        continue
                    spath = os.path.join(base, f"secret-{i}")
                    fd = os.open(spath, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                    os.chown(spath, m.uid or 0, m.gid or 0)
                    os.chmod(spath, m.mode if m.mode is not None else 0o400)
                    dest = _abs(target, workdir)
                    out.append(ocispec.Mount(dest, spath, "bind", ["rbind", "ro", "rprivate"]))
                    if rootfs.lstat(dest) is None:
                        stubs.append(dest)
                    continue
                if not target:
                    raise InvalidParameter(f"invalid mount target \"\" for {m.type} mount: target is required")
                dest = _abs(target, workdir)
                if rootfs.lstat(dest) is None:
                    stubs.append(dest)
                if m.type == "tmpfs":
                    opts = ["nosuid", "nodev"]
                    if m.size:
                        from ..rules.units import parse_bytes

                        opts.append(f"size={parse_bytes(m.size)}")
                    out.append(ocispec.Mount(dest, "tmpfs", "tmpfs", opts))
                elif m.type == "cache":
                    cache_id = m.id or dest
                    users_now = self.b._mount_users.get(cache_id, 0)
                    if m.sharing == "locked":
                        lock = self.b.mount_lock(cache_id)
                        await lock.acquire()
                        locks.append(lock)
                    private = m.sharing == "private" and users_now > 0
                    path = await asyncio.to_thread(self.b.cache.mount_dir, cache_id, private)
                    if private:
                        cleanups.append(lambda p=path: shutil.rmtree(p, ignore_errors=True))
                    self.b._mount_users[cache_id] = users_now + 1
                    cleanups.append(lambda c=cache_id: self.b._mount_users.__setitem__(
                        c, self.b._mount_users.get(c, 1) - 1))
                    if not os.listdir(path) and (m.uid is not None or m.gid is not None or m.mode is not None):
                        os.chown(path, m.uid or 0, m.gid or 0)
                        os.chmod(path, m.mode if m.mode is not None else 0o755)
                    out.append(ocispec.Mount(dest, path, "bind", ["rbind", "rprivate"] + (["ro"] if m.readonly
                                                                                           else [])))
                elif m.type == "bind":
                    if m.from_:
                        src_root = await self._enter(self._source_root(m.from_, state), cleanups)
                        root = src_root[0]
                        ctx = Context(root, src_root[1])
                    else:
                        ctx = self.context
                    try:
                        src = ctx.resolve(m.source or "/")
                    except NotFound:
                        raise InvalidParameter(f"failed to compute cache key: \"{m.source}\" not found") from None
                    if m.readonly:
                        out.append(ocispec.Mount(dest, src, "bind", ["rbind", "ro", "rprivate"]))
                    else:
                        # Writes to a read-write bind mount are discarded, as BuildKit does.
                        out.append(ocispec.Mount(dest, await asyncio.to_thread(self._scratch_copy, src, base, i),
                                                 "bind", ["rbind", "rprivate"]))
                else:
                    raise InvalidParameter(f'unsupported mount type "{m.type}"')
            yield out, stubs, secret_env
        finally:
            for lock in locks:
                lock.release()
            for fn in reversed(cleanups):
                result = fn()
                if asyncio.iscoroutine(result):
                    await result
            await asyncio.to_thread(self._unmount_ro, base)

    async def _enter(self, cm: Any, cleanups: list[Callable[[], Any]]) -> Any:
        value = await cm.__aenter__()
        cleanups.append(lambda: cm.__aexit__(None, None, None))
        return value

    def _scratch_copy(self, src: str, base: str, i: int) -> str:
        """A private writable copy of a bind-mount source (its changes are thrown away)."""
        upper = os.path.join(base, f"rw-{i}")
        if os.path.isdir(src):
            lower_work = os.path.join(base, f"rw-{i}-w")
            merged = os.path.join(base, f"rw-{i}-m")
            up = os.path.join(base, f"rw-{i}-u")
            for d in (lower_work, merged, up):
                os.makedirs(d)
            mounts_mod.mount_overlay([src], up, lower_work, merged)
            return merged
        shutil.copy2(src, upper)
        return upper

    # -- the image ------------------------------------------------------------------------------

    def _commit_image(self, state: State, tags: list[str]) -> Image:
        return self.engine.images.create(state.config, tags=tags)


# -- helpers -----------------------------------------------------------------------------------


async def _gather_fail_fast(tasks: list[asyncio.Task[Any]]) -> None:
    """Wait for all tasks; on the first failure cancel the others and raise it."""
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _full_tag(tag: str) -> str:
    try:
        ref = references.parse(tag)
    except InvalidParameter:
        raise InvalidParameter(f"invalid reference format: repository name ({tag}) must be lowercase"
                               if tag != tag.lower() else f"invalid tag {tag!r}: invalid reference format") from None
    if ref.digest:
        raise InvalidParameter(f"invalid tag {tag!r}: a tag cannot contain a digest")
    return str(ref.with_default_tag())


def _familiar(ref: str) -> str:
    try:
        return references.parse(ref).familiar()
    except InvalidParameter:
        return ref


def _repo_name(name: str) -> str:
    try:
        return references.parse(name).familiar().split(":")[0].split("@")[0]
    except InvalidParameter:
        return name


def _abs(path: str, workdir: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(workdir, path))


def _is_url(s: str) -> bool:
    return s.startswith("http://") or s.startswith("https://")


def _is_git(s: str) -> bool:
    return s.startswith("git@") or s.startswith("git://") or (_is_url(s) and (s.endswith(".git") or ".git#" in s))


def _parse_chmod(value: str) -> int:
    try:
        mode = int(value, 8)
    except ValueError:
        raise InvalidParameter(f"invalid chmod parameter: {value!r} is not an octal mode") from None
    if mode < 0 or mode > 0o7777:
        raise InvalidParameter(f"invalid chmod parameter: {value!r} is out of range")
    return mode


def _parse_chown(spec: str, rootfs: str) -> tuple[int, int]:
    """Docker's --chown: ``user[:group]``, names looked up in the destination's files;
    a lone user is also used as the group."""
    parts = spec.split(":")
    if len(parts) > 2:
        raise InvalidParameter(f"invalid chown string format: {spec}")
    user, group = (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    prefix = "unable to convert uid/gid chown string to host mapping: "
    if user.isdigit():
        uid = int(user)
    else:
        passwd = users.read_in_root(rootfs, "/etc/passwd") or ""
        found = [e for e in users.parse_passwd(passwd) if e.name == user]
        if not found:
            raise InvalidParameter(f"{prefix}can't find uid for user {user}: no such user: {user}")
        uid = found[0].uid
    if group.isdigit():
        gid = int(group)
    else:
        text = users.read_in_root(rootfs, "/etc/group") or ""
        groups = [g for g in users.parse_group(text) if g.name == group]
        if not groups:
            raise InvalidParameter(f"{prefix}can't find gid for group {group}: no such group: {group}")
        gid = groups[0].gid
    return uid, gid


def _expand_heredoc(lex: Lex, data: str, env: dict[str, str]) -> str:
    """Expand variables in a heredoc as a shell does: quotes are literal, a
    backslash escapes only ``$``, backquote and itself."""
    out = []
    i = 0
    esc = lex.escape
    while i < len(data):
        ch = data[i]
        if ch == esc:
            nxt = data[i + 1] if i + 1 < len(data) else ""
            if nxt in ("$", "`", esc):
                out.append(ch + nxt)
                i += 2
                continue
            out.append(ch + ch)  # a literal escape character for the lexer
            i += 1
            continue
        out.append(ch)
        i += 1
    return Lex(esc, skip_quotes=True).process_word("".join(out), env)


__all__ = ["BuildError", "BuildOptions", "BuildResult", "Builder", "check_platform", "platform_args"]
