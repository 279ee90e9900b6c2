"""The builder: a Dockerfile and a context in, an image out, with a persistent cache.

``Builder.build`` parses the Dockerfile (``instructions.load``), works out which
stages the target needs (``planner.py``: its base stages, ``COPY --from`` and
``RUN --mount=from=`` sources, transitively), runs those stages as concurrent tasks
(a stage waits only for the stages it uses, so independent ones run in
parallel) and records the target's final state as the image.

Each instruction is a *step* (``steps/``, dispatched by :class:`BuildRun`) from
one image state (``state.py``: an image config: the layer diff IDs, the
container config, the history) to the next:

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
import json
import logging
import os
import posixpath
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..engine.runtime import mounts as mounts_mod
from ..rules import references
from ..rules.filters import Filters
from ..rules.errors import EngineError, InvalidParameter, NotFound
from ..engine.gc import Roots
from ..engine.images.records import Image
from ..rules.timestamps import now_rfc3339nano
from . import cache_from, fsops
from .cache import BuildCache
from .context import Context, ContextError, apply_dockerignore
from .errors import BuildError
from .executor import Executor
from .instructions import BuildFile, CopyInstr, Instruction, RunInstr, Stage, ValueInstr, load, parse_node
from .parser import DockerfileError, Node, parse
from .planner import Planner, Step, cache_key
from .shell import Lex, ShellError
from .state import PROXY_ARGS, State, base_config, check_platform, platform_args, scratch_config
from .steps import copy as copy_step, metadata as metadata_step, run as run_step, workdir as workdir_step

if TYPE_CHECKING:  # the engine's services, as the constructor takes them
    from ..distribution.service import Distribution
    from ..engine.events import Events
    from ..engine.gc import GarbageCollector
    from ..engine.images.content import ContentStore
    from ..engine.images.records import Images
    from ..engine.images.snapshots import Snapshots
    from ..engine.networks.manager import Networks
    from ..engine.runtime.runc import Runtime
    from ..engine.store import Store

log = logging.getLogger("baleine.build")



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
    #: images whose history may stand in for RUN steps (``--cache-from``)
    cache_from: list[str] = field(default_factory=list)
    #: ``rm``: remove a step's container once the step succeeded (Baleine keeps none then)
    remove: bool = True
    #: ``forcerm``: remove a step's container even when the step failed (``failedrun.py``)
    force_remove: bool = False


@dataclass
class BuildResult:
    image_id: str
    tags: list[str]
    warnings: list[str] = field(default_factory=list)


Emit = Callable[[dict[str, Any]], None]

#: The stage the running task builds (each stage is a task with its own context).
_STAGE: contextvars.ContextVar[int] = contextvars.ContextVar("baleine_build_stage", default=-1)


# -- the builder --------------------------------------------------------------------------


class Builder:
    """Builds images (see module docstring) from the engine's services, given one by one.

    ``store`` holds the cache's table; ``content``/``snapshots`` the blobs and
    layers steps write; ``images`` records results; ``gc`` collects layers (the
    cache's and running builds' are registered as its "build" roots);
    ``runtime`` runs RUN containers, with bundles under ``exec_root`` and
    cgroups under ``cgroup_parent``; ``events`` announces tags. ``cache_root``
    holds the cache's files (RUN cache mounts), ``scratch_root`` the builds'
    scratch space (emptied at start-up). ``networks`` (optional) gives RUN a
    bridge network, else it shares the host's; ``distribution`` (optional) pulls
    base images for ``--pull`` and missing bases, else they must be loaded first.
    ``keep_failed`` (optional) registers the container of a failed RUN (``failedrun.py``).
    :meth:`for_engine` wires all of them from an engine.
    """

    def __init__(self, *, store: Store, content: ContentStore, snapshots: Snapshots, images: Images,
                 gc: GarbageCollector, runtime: Runtime, events: Events, cache_root: str, scratch_root: str,
                 exec_root: str, cgroup_parent: str, networks: Networks | None = None,
                 distribution: Distribution | None = None,
                 keep_failed: Callable[..., Any] | None = None) -> None:
        self.store = store
        self.gc = gc
        self.snapshots = snapshots
        self.images = images
        self.runtime = runtime
        self.events = events
        self.networks = networks
        self.distribution = distribution
        #: ``(body, cid, upper, code, started_at) -> Container``: registers a failed RUN's
        #: container (``Lifecycle.create_exited``); None keeps none (``failedrun.py``)
        self.keep_failed = keep_failed
        self.exec_root = exec_root
        self.cache = BuildCache(store, cache_root)
        self.layers = fsops.Layers(snapshots, content)
        self.scratch_root = scratch_root
        self.executor = Executor(runtime, exec_root, scratch_root, cgroup_parent)
        #: ``async (reference, registry_auth, emit) -> Image``: pulls for ``--pull`` and missing bases.
        self.puller: Callable[..., Any] | None = self._pull if distribution is not None else None
        self.mount_users: dict[str, int] = {}
        self._mount_locks: dict[str, asyncio.Lock] = {}
        # The collector must keep the layers the cache and running builds use.
        gc.add_roots("build", lambda: Roots(layers=self.cache.layers() | self.layers.pinned()))
        self._recover()

    @classmethod
    def for_engine(cls, engine: Any) -> Builder:
        """A builder over ``engine``'s services (its data root's ``builder`` and
        ``tmp/build`` directories)."""
        return cls(store=engine.store, content=engine.content, snapshots=engine.snapshots, images=engine.images,
                   gc=engine.gc, runtime=engine.runtime, events=engine.events,
                   cache_root=os.path.join(engine.config.data_root, "builder"),
                   scratch_root=os.path.join(engine.tmp_dir, "build"), exec_root=engine.config.exec_root,
                   cgroup_parent=engine.config.cgroup_parent, networks=getattr(engine, "networks", None),
                   distribution=getattr(engine, "distribution", None),
                   keep_failed=getattr(getattr(engine, "lifecycle", None), "create_exited", None))

    def _recover(self) -> None:
        """After a crash: unmount what builds left mounted in their scratch space, and
        stop build containers still running (start-up removes their files)."""
        for point in mounts_mod.mounted_under(self.scratch_root):
            with contextlib.suppress(EngineError):
                mounts_mod.unmount(point, lazy=True)
        import subprocess

        runtime = self.runtime
        try:
            out = subprocess.run([runtime.path, "--root", runtime.root, "list", "-f", "json"], capture_output=True,
                                 text=True, timeout=30).stdout
            states = json.loads(out or "[]") or []
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return
        prefix = os.path.join(self.exec_root, "b")
        for st in states:
            bundle = st.get("bundle") or ""
            if bundle.startswith(prefix) and len(os.path.basename(bundle)) == 13:
                subprocess.run([runtime.path, "--root", runtime.root, "kill", "--all", st["id"], "KILL"],
                               capture_output=True, timeout=30)
                subprocess.run([runtime.path, "--root", runtime.root, "delete", "--force", st["id"]],
                               capture_output=True, timeout=30)

    async def build(self, context_dir: str, opts: BuildOptions, emit: Emit,
                    context_digests: dict[str, str] | None = None) -> BuildResult:
        """Build from the context unpacked at ``context_dir`` (its ``.dockerignore`` is
        applied there: files may be removed).

        ``context_digests`` is a memo of checksums of the context's files, filled
        as steps compute them; one from an earlier build of the very same unpacked
        context (``kept_contexts``) saves reading its files again.
        Raises DockerfileError/InvalidParameter for a bad Dockerfile or options,
        BuildError when a step fails, NotFound for a missing base image.
        """
        run = BuildRun(self, context_dir, opts, emit)
        if context_digests is not None:
            run.context_digests = context_digests
        return await run.run()

    async def prune(self, prune_all: bool = True, keep_storage: int = 0,
                    until: float | None = None, labels: Filters | None = None) -> tuple[list[str], int]:
        """``builder prune``: remove cache entries, least recently used first, keeping
        ``keep_storage`` bytes and entries used less than ``until`` seconds ago;
        ``prune_all`` also empties the RUN cache mounts. ``labels``' ``label``/``label!``
        filters select among the entries, which carry no labels: ``label=k`` selects
        none (``system prune --filter label=k`` keeps the cache), ``label!=k`` all.
        Returns (keys, bytes freed)."""
        if labels is not None and not labels.match_labels({}):
            return [], 0

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
            self.gc.collect()
            freed = max(0, before - self._layer_bytes())
            if prune_all and not keep_storage and until is None:
                freed += self.cache.prune_mounts()
            return [r.key for r in chosen], freed
        return await asyncio.to_thread(work)

    def _layer_bytes(self) -> int:
        return sum(layer.size for layer in self.snapshots.layers())

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

        assert self.distribution is not None
        await self.distribution.pull(str(ref), "", None, auth, sink)
        return await asyncio.to_thread(self.images.get, str(ref))

    async def attach_network(self, cid: str, mode: str = "bridge") -> tuple[str, Any]:
        """A network namespace for a RUN container as Docker's classic builder gives
        it: on the default bridge, on the network ``mode`` names, or the one of the
        running container ``container:<ref>`` names (NotFound/Conflict otherwise);
        (namespace path, handle for :meth:`detach_network`).

        Without the engine's network subsystem the container shares the host's network
        (as a standalone BuildKit without CNI does).
        """
        nets = self.networks
        if nets is None:
            if mode != "bridge":
                raise InvalidParameter(f"network mode {mode!r} needs the engine's networks")
            return "host", None
        from ..engine.containers.records import Container

        doc = {"Id": cid, "Name": "/build-" + cid[:12], "Config": {"Hostname": cid[:12], "ExposedPorts": None},
               "HostConfig": {"NetworkMode": mode, "Dns": [], "PortBindings": {}},
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
        if handle is not None and self.networks is not None:
            with contextlib.suppress(Exception):
                await self.networks.release(handle)


def _rfc3339(t: float) -> str:
    from ..rules.timestamps import format_rfc3339nano_ns

    return format_rfc3339nano_ns(int(t * 1e9))


# -- one build ----------------------------------------------------------------------------


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


class BuildRun:
    """One build: the Dockerfile, the context, the stages' results.

    Runs the planned stages as tasks and dispatches each step to ``steps/``,
    which it serves with: ``expand`` (variables), ``key``/``lookup``/``record``
    (the cache), ``history``/``add_layer`` (the new state), ``stage_result``,
    ``image`` and ``find_stage`` (``--from`` sources), ``error``, ``emit`` and
    ``message`` (progress), and ``builder`` (layers, executor, cache mounts).
    """

    def __init__(self, builder: Builder, context_dir: str, opts: BuildOptions, emit: Emit) -> None:
        self.builder = builder
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
        self.planner: Planner  # set by run(), once the Dockerfile is read
        self.total = 0
        self.image_cache: dict[str, Image] = {}
        #: checksums of the context's files by what asked (RUN bind mounts, COPY sources)
        self.context_digests: dict[str, str] = {}
        #: state ID -> ID of the base image it is unchanged from (a failed RUN's parent)
        self.base_images: dict[str, str] = {}

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
            self.planner = Planner(bf, self.opts.build_args, self.opts.target, self.opts.labels, self.expand,
                                   self.used_args)
            self.meta = self.planner.meta_args()
            target = self.planner.target()
            needed = self.planner.needed(target)
            steps = self.planner.plan(needed, target)
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
            self.builder.layers.unpin(self.pinned)
            await asyncio.to_thread(self._cleanup)
        for tag in tags:
            self.builder.events.publish("image", "tag", image.id, {"name": _familiar(tag)})
        return BuildResult(image.id, tags, self.warnings)

    def _cleanup(self) -> None:
        self.builder.cache.flush_used()  # the steps' cache hits, in one transaction
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

    async def _run_stage(self, stage: Stage, steps: list[Step]) -> None:
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

    async def stage_result(self, index: int) -> State:
        fut = self.results.get(index)
        if fut is None:
            raise InvalidParameter(f"build stage {index} is not part of this build")
        if not fut.done():
            self.seq.switch_to(index, _STAGE.get())
        return (await asyncio.shield(fut)).clone()

    async def _from(self, stage: Stage, step: Step) -> State:
        started = time.monotonic()
        check_platform(self.expand(stage.platform, self.planner.meta_env(), stage.node) if stage.platform else "")
        name = self.planner.base_name(stage)
        ref = self.planner.stage_ref(name, stage.index)
        self.step_event(step)
        if ref is not None:
            base = await self.stage_result(ref.index)
            state = State(base.config, {}, False)
            shown = state.short
        elif name.lower() == "scratch":
            state = State(scratch_config())
            shown = state.short
        else:
            image = await self.image(name)
            state = State(base_config(image))
            # The base's own parent (classic builds) means nothing in this image.
            state.cfg.pop("Image", None)
            self.base_images[state.id] = image.id
            shown = image.short_id
        self._pin(state)
        self.emit({"type": "step-done", "step": step.number, "id": shown,
                   "duration": time.monotonic() - started, "cached": False, "from": True})
        triggers = list(state.cfg.get("OnBuild") or [])
        if triggers:
            state.cfg["OnBuild"] = None
            state = await self._triggers(state, triggers, step)
        return state

    async def image(self, name: str) -> Image:
        """A base or ``--from`` image: local, or pulled through the hook."""
        if name in self.image_cache:
            return self.image_cache[name]
        images = self.builder.images
        try:
            references.parse(name)
        except InvalidParameter:
            raise InvalidParameter(f"invalid reference format: {name!r} is not a valid image name") from None
        image: Image | None = None
        if self.opts.pull and self.builder.puller is not None:
            image = await self.builder.puller(name, self.opts.registry_auth, self.emit)
        if image is None:
            try:
                image = await asyncio.to_thread(images.get, name)
            except NotFound:
                if self.builder.puller is not None:
                    image = await self.builder.puller(name, self.opts.registry_auth, self.emit)
                else:
                    raise NotFound(f"pull access denied for {_repo_name(name)}, repository does not exist or may "
                                   f"require 'docker login': image {name} is not present locally and no registry "
                                   "is configured (load it first, e.g. with `baleine load`)") from None
            else:
                if self.opts.pull and self.builder.puller is None:
                    self.message(f"[Warning] --pull: no registry is configured, using the local image {name}\n",
                                 warning=True)
        assert image is not None
        if image.config.get("os") not in (None, "", "linux"):
            raise InvalidParameter(f"image {name} is for {image.config.get('os')}, not linux")
        self.image_cache[name] = image
        return image

    async def _triggers(self, state: State, triggers: list[str], step: Step) -> State:
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
            sub = Step(step.number, instr, instr.original, step.stage)
            state = await self._dispatch(state, sub, trigger=True)
        return state

    async def _step(self, state: State, step: Step) -> State:
        self.step_event(step)
        return await self._dispatch(state, step)

    def step_event(self, step: Step) -> None:
        self.emit({"type": "step", "step": step.number, "total": self.total, "text": step.text,
                   "stage": step.stage.name or str(step.stage.index), "line": (step.instr.line if step.instr
                                                                               else step.stage.line)})

    def _pin(self, state: State) -> None:
        top = state.top
        if top:
            self.builder.layers.pin([top])
            self.pinned.append(top)

    # -- dispatch ------------------------------------------------------------------------

    async def _dispatch(self, state: State, step: Step, trigger: bool = False) -> State:
        instr = step.instr
        assert instr is not None
        started = time.monotonic()
        try:
            if isinstance(instr, RunInstr):
                new, cached = await run_step.run(self, state, instr, step)
            elif isinstance(instr, CopyInstr):
                new, cached = await copy_step.copy(self, state, instr, step)
            elif isinstance(instr, ValueInstr) and instr.keyword == "WORKDIR":
                new, cached = await workdir_step.workdir(self, state, instr, step)
            else:
                new, cached = await metadata_step.metadata(self, state, instr)
        except ShellError as exc:
            raise self.error(instr, str(exc)) from None
        except DockerfileError:
            raise
        except (InvalidParameter, NotFound) as exc:
            if isinstance(exc, BuildError):
                raise
            raise self.error(instr, str(exc), type(exc)) from None
        self._pin(new)
        if cached:
            self.emit({"type": "cached", "step": step.number})
        self.emit({"type": "step-done", "step": step.number, "id": new.short, "cached": cached,
                   "duration": time.monotonic() - started})
        return new

    def error(self, instr: Instruction, message: str, kind: type = InvalidParameter) -> EngineError:
        assert self.bf is not None
        if instr.line:
            message = f"{self.bf.filename}:{instr.line}: {instr.keyword} failed: {message}"
        else:
            message = f"{instr.keyword} failed: {message}"
        if kind is NotFound:
            return NotFound(message)
        return BuildError(message)

    def expand(self, word: str, env: dict[str, str], where: Instruction | Node | None = None) -> str:
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

    def key(self, state: State, *parts: Any) -> str:
        """The cache key of a step from ``state`` doing ``parts``."""
        return cache_key(state.id, *parts)

    def lookup(self, key: str) -> State | None:
        if self.opts.no_cache:
            return None
        return None if (cfg := self.builder.cache.get(key)) is None else State(cfg)

    async def lookup_sources(self, state: State, created_by: str) -> State | None:
        """A step's result taken from a ``--cache-from`` image (moby's ImageCache over
        its sources): an image whose history starts with ``state``'s and goes on
        with a layer made by ``created_by`` gives that layer. Unknown names are
        skipped, as the classic builder does."""
        if self.opts.no_cache or not self.opts.cache_from:
            return None
        sources = await asyncio.to_thread(self._cache_sources)
        return cache_from.next_step(sources, state.config, created_by)

    def _cache_sources(self) -> list[dict[str, Any]]:
        out = []
        for name in self.opts.cache_from:
            try:
                out.append(self.builder.images.get(name).config)
            except EngineError:
                continue
        return out

    def history(self, state: State, created_by: str, empty: bool) -> None:
        now = now_rfc3339nano()
        entry: dict[str, Any] = {"created": now, "created_by": created_by}
        if empty:
            entry["empty_layer"] = True
        state.config.setdefault("history", []).append(entry)
        state.config["created"] = now

    def record(self, key: str, state: State, description: str, size: int = 0) -> None:
        self.builder.cache.put(key, state.config, description, size)

    def add_layer(self, state: State, layer: Any, desc: str) -> None:
        if layer is not None:
            state.config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
            state.config["rootfs"].setdefault("diff_ids", [])
            state.config["rootfs"]["diff_ids"].append(layer.diff_id)
            self.pinned.append(layer.chain_id)  # pinned by Layers.commit; released with the build
        self.history(state, desc, empty=layer is None)

    def find_stage(self, ref: str) -> Stage | None:
        assert self.bf is not None
        low = ref.lower()
        for st in self.bf.stages:
            if st.name == low:
                return st
        if ref.isdigit() and int(ref) < len(self.bf.stages):
            return self.bf.stages[int(ref)]
        return None

    # -- the image ------------------------------------------------------------------------------

    def _commit_image(self, state: State, tags: list[str]) -> Image:
        """The image of ``state``, tagged. A rebuild giving an image that exists with
        these tags already (a no-change rebuild) writes nothing: ``Images.create``
        would only rewrite the same rows."""
        images = self.builder.images
        try:
            existing = images.get(state.id)
        except NotFound:
            existing = None
        if existing is not None and all(tag in existing.tags for tag in tags):
            return existing
        return images.create(state.config, tags=tags)


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


__all__ = ["BuildError", "BuildOptions", "BuildResult", "BuildRun", "Builder", "State", "Step",
           "check_platform", "platform_args"]
