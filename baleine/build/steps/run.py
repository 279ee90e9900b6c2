"""RUN: the command in a build container (``executor.py``) on a work area over the
state's layers, with its ``--mount``s (bind, cache, tmpfs, secret), committed as a
layer when it succeeds; when it fails, its container is kept (``failedrun.py``)
unless the build says ``--force-rm``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import posixpath
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import failedrun, fsops
from ...engine.runtime import mounts as mounts_mod
from ...engine.runtime import spec as ocispec
from ...rules.errors import InvalidParameter, NotFound
from ...rules.timestamps import now_rfc3339nano
from ...rules.units import parse_bytes
from ..errors import BuildError
from ..context import Context, ContextError, tree_digest
from ..executor import Executor, RunRequest, runtime_failure
from ..instructions import MountSpec, RunInstr, parse_mount
from ..parser import parse_heredoc
from ..planner import Step
from ..state import PROXY_ARGS, State
from .sources import from_identity, release_dir, source_root

#: How many output lines a failing RUN reports.
TAIL_LINES = 10

if TYPE_CHECKING:
    from ..builder import BuildRun


async def run(b: BuildRun, state: State, instr: RunInstr, step: Step) -> tuple[State, bool]:
    """RUN ``instr`` from ``state``: (new state, whether it came from the cache).

    Emits the container's output as ``output`` events; raises BuildError (with
    the exit code and the output's last lines) when the command fails.
    """
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
    network = instr.network or b.opts.network or "default"
    if network in ("bridge", "default", ""):
        network = "default"
    # Build args in scope reach RUN as environment variables (ENV wins).
    env_names = set(state.env_map())
    arg_env = [f"{k}={v}" for k, v in sorted(state.args.items()) if v is not None and k not in env_names]
    proxy_env = [f"{k}={v}" for k, v in sorted(b.opts.build_args.items())
                 if k in PROXY_ARGS and v is not None and k not in state.args and k not in env_names]
    mounts = [expand_mount(b, m, env_map) for m in instr.mounts]
    mount_ids = []
    for m in mounts:
        ident: Any = [m.type, m.target, m.source, m.from_, m.readonly, m.id, m.sharing]
        if m.type == "bind":
            ident.append(await bind_identity(b, m, state))
        mount_ids.append(ident)
    # As Docker's history shows them: "|2 A=1 B=2 /bin/sh -c ..." when ARGs are in scope.
    shown = (f"|{len(arg_env)} {' '.join(arg_env)} " if arg_env else "") + " ".join(cmd)
    desc = f"RUN {shown}"
    if pipe_file:
        desc += f" (<<{pipe_file[0]})"
    key = b.key(state, "RUN", cmd, arg_env, mount_ids, network, pipe_file,
                    state.cfg.get("User") or "", state.cfg.get("WorkingDir") or "/")
    hit = b.lookup(key)
    if hit is None and (hit := await b.lookup_sources(state, desc)) is not None:
        await asyncio.to_thread(b.record, key, hit, desc)
    if hit is not None:
        hit.args, hit.cmd_set = state.args, state.cmd_set
        return hit, True
    new = state.clone()
    cid = Executor.new_id()
    b.emit({"type": "running", "step": step.number, "container": cid[:12]})
    tail: list[str] = []
    partial = [""]

    def on_output(fd: int, text: str) -> None:
        b.emit({"type": "output", "step": step.number, "fd": fd, "text": text})
        buf = partial[0] + text
        lines = buf.split("\n")
        partial[0] = lines.pop()
        tail.extend(lines)
        del tail[:-TAIL_LINES]

    area = await asyncio.to_thread(b.builder.layers.open, state.top, True)
    net_handle = None
    started_at = now_rfc3339nano()
    try:
        async with run_mounts(b, mounts, state, area, pipe_file, cid) as (extra_mounts, stubs, secret_env):
            netns = network
            if network not in ("host", "none"):
                mode = "bridge" if network == "default" else network
                netns, net_handle = await b.builder.attach_network(cid, mode)
            resolv = (net_handle.private.get("resolv") or {}) if net_handle is not None else {}
            req = RunRequest(args=cmd, env=arg_env + proxy_env + state.env + secret_env,
                             cwd=state.cfg.get("WorkingDir") or "/", user=state.cfg.get("User") or "",
                             network=netns, mounts=extra_mounts,
                             extra_hosts=list(b.opts.extra_hosts), resources=dict(b.opts.resources),
                             dns=resolv.get("Dns"), dns_options=resolv.get("DnsOptions"))
            try:
                code = await b.builder.executor.run(cid, area.merged, req, on_output)
            except InvalidParameter as exc:
                raise b.error(instr, str(exc)) from None
    except BaseException:
        await b.builder.detach_network(net_handle)
        await asyncio.to_thread(b.builder.layers.discard, area)
        raise
    await b.builder.detach_network(net_handle)
    if partial[0]:
        tail.append(partial[0])
        del tail[:-TAIL_LINES]
    if code != 0:
        failure = runtime_failure(tail)
        # The process never started (no such executable...): Docker reports the runtime's error.
        error = "" if failure is None else \
            f"failed to create task for container: OCI runtime create failed: {failure}: unknown"
        failed = failedrun.FailedRun(cid, cmd, arg_env + proxy_env + state.env, started_at, code, error)
        # Shielded: a build cancelled meanwhile (another stage failed) must not leave half of it.
        await asyncio.shield(asyncio.ensure_future(_keep_or_drop(b, state, area, step, failed)))
        if error:
            raise BuildError(error, tail=tail)
        raise BuildError(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}", code=code, tail=tail)
    b.emit({"type": "removed", "step": step.number, "container": cid[:12]})
    layer = await asyncio.to_thread(b.builder.layers.commit, area, stubs)
    b.add_layer(new, layer, desc)
    await asyncio.to_thread(b.record, key, new, desc, layer.size if layer else 0)
    return new, False


async def _keep_or_drop(b: BuildRun, state: State, area: fsops.WorkArea, step: Step,
                        failed: failedrun.FailedRun) -> None:
    """A failed RUN's container is kept for debugging (moby removes a step's container
    only after the step succeeded, or with --force-rm), else dropped; the work area
    is consumed either way."""
    if failedrun.should_keep(b) and await failedrun.keep(b, state, area, failed) is not None:
        await asyncio.to_thread(b.builder.layers.discard, area)
    else:
        await _drop(b, area, step, failed.cid)


async def _drop(b: BuildRun, area: fsops.WorkArea, step: Step, cid: str) -> None:
    """Discard a failed RUN's work area: its container is gone."""
    await asyncio.to_thread(b.builder.layers.discard, area)
    b.emit({"type": "removed", "step": step.number, "container": cid[:12]})


def expand_mount(b: BuildRun, m: MountSpec, env: dict[str, str]) -> MountSpec:
    """The mount with its values expanded (as BuildKit re-reads --mount at dispatch)."""
    buf = io.StringIO()
    csv.writer(buf).writerow([f"{k}={v}" for k, v in m.raw.items() if k != "sharing_set"])
    return parse_mount(buf.getvalue().rstrip("\r\n"), lambda v: b.expand(v, env))


async def bind_identity(b: BuildRun, m: MountSpec, state: State) -> str:
    """What a bind mount's source is, for the cache key: its files' checksum (or
    the ``from`` stage's or image's identity)."""
    if m.from_:
        return await from_identity(b, m.from_, state)
    key = m.source or "/"
    if key not in b.context_digests:
        def work() -> str:
            try:
                sources = b.context.sources(m.source or ".")
            except (NotFound, ContextError):
                return "missing"
            return tree_digest(sources)
        b.context_digests[key] = await asyncio.to_thread(work)
    return b.context_digests[key]


@dataclass
class _Mounts:
    """What RUN's ``--mount``s add to the container, and what undoes them."""

    base: str  # scratch directory for secrets, pipes and writable copies
    rootfs: fsops.RootFS
    workdir: str
    out: list[ocispec.Mount] = field(default_factory=list)
    stubs: list[str] = field(default_factory=list)  # mount points the runtime will create
    secret_env: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], Any]] = field(default_factory=list)
    locks: list[asyncio.Lock] = field(default_factory=list)

    def target(self, m: MountSpec) -> str:
        """The absolute mount point of ``m``, noted as a stub when the image lacks it."""
        if not m.target:
            raise InvalidParameter(f"invalid mount target \"\" for {m.type} mount: target is required")
        dest = _abs(m.target, self.workdir)
        if self.rootfs.lstat(dest) is None:
            self.stubs.append(dest)
        return dest


@contextlib.asynccontextmanager
async def run_mounts(b: BuildRun, specs: list[MountSpec], state: State, area: fsops.WorkArea,
                     pipe_file: tuple[str, str] | None, cid: str):  # noqa: ANN201
    """The OCI mounts of RUN --mount (and a heredoc script), the mount points to
    drop from the layer if the runtime had to create them, and secret env vars."""
    base = os.path.join(b.scratch, "m-" + cid[:12])
    os.makedirs(base, exist_ok=True)
    ms = _Mounts(base, fsops.RootFS(area.merged), state.cfg.get("WorkingDir") or "/")
    try:
        if pipe_file is not None:
            _pipe_mount(ms, pipe_file)
        for i, m in enumerate(specs):
            if m.type == "secret":
                _secret_mount(b, ms, m, i)
            elif m.type == "tmpfs":
                dest = ms.target(m)
                opts = ["nosuid", "nodev"] + ([f"size={parse_bytes(m.size)}"] if m.size else [])
                ms.out.append(ocispec.Mount(dest, "tmpfs", "tmpfs", opts))
            elif m.type == "cache":
                await _cache_mount(b, ms, m)
            elif m.type == "bind":
                await _bind_mount(b, ms, m, state, i)
            else:
                ms.target(m)
                raise InvalidParameter(f'unsupported mount type "{m.type}"')
        yield ms.out, ms.stubs, ms.secret_env
    finally:
        for lock in ms.locks:
            lock.release()
        for fn in reversed(ms.cleanups):
            result = fn()
            if asyncio.iscoroutine(result):
                await result
        await asyncio.to_thread(release_dir, base)


def _pipe_mount(ms: _Mounts, pipe_file: tuple[str, str]) -> None:
    """A heredoc script with a shebang, run from /dev/pipes."""
    pipes = os.path.join(ms.base, "pipes")
    os.makedirs(pipes)
    path = os.path.join(pipes, pipe_file[0])
    with open(path, "w") as f:
        f.write(pipe_file[1])
    os.chmod(path, 0o755)
    ms.out.append(ocispec.Mount("/dev/pipes", pipes, "bind", ["rbind", "ro", "rprivate"]))


def _secret_mount(b: BuildRun, ms: _Mounts, m: MountSpec, i: int) -> None:
    """``type=secret``: a read-only file (default /run/secrets/<id>) and/or an env var."""
    target = m.target
    sid = m.id or (posixpath.basename(target) if target else m.source)
    if not target and not m.env:
        target = "/run/secrets/" + sid
    data = b.opts.secrets.get(sid)
    if data is None:
        if m.required:
            raise InvalidParameter(f"secret {sid}: not found")
        return
    if m.env:
        ms.secret_env.append(f"{m.env}={data.decode(errors='replace')}")
    if not target:
        return
    spath = os.path.join(ms.base, f"secret-{i}")
    fd = os.open(spath, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chown(spath, m.uid or 0, m.gid or 0)
    os.chmod(spath, m.mode if m.mode is not None else 0o400)
    dest = _abs(target, ms.workdir)
    ms.out.append(ocispec.Mount(dest, spath, "bind", ["rbind", "ro", "rprivate"]))
    if ms.rootfs.lstat(dest) is None:
        ms.stubs.append(dest)


async def _cache_mount(b: BuildRun, ms: _Mounts, m: MountSpec) -> None:
    """``type=cache``: a directory kept across builds, shared, locked or private."""
    dest = ms.target(m)
    builder = b.builder
    cache_id = m.id or dest
    users_now = builder.mount_users.get(cache_id, 0)
    if m.sharing == "locked":
        lock = builder.mount_lock(cache_id)
        await lock.acquire()
        ms.locks.append(lock)
    private = m.sharing == "private" and users_now > 0
    path = await asyncio.to_thread(builder.cache.mount_dir, cache_id, private)
    if private:
        ms.cleanups.append(lambda p=path: shutil.rmtree(p, ignore_errors=True))
    builder.mount_users[cache_id] = users_now + 1
    ms.cleanups.append(lambda c=cache_id: builder.mount_users.__setitem__(c, builder.mount_users.get(c, 1) - 1))
    if not os.listdir(path) and (m.uid is not None or m.gid is not None or m.mode is not None):
        os.chown(path, m.uid or 0, m.gid or 0)
        os.chmod(path, m.mode if m.mode is not None else 0o755)
    ms.out.append(ocispec.Mount(dest, path, "bind", ["rbind", "rprivate"] + (["ro"] if m.readonly else [])))


async def _bind_mount(b: BuildRun, ms: _Mounts, m: MountSpec, state: State, i: int) -> None:
    """``type=bind``: a path of the context (or ``from`` a stage or image); writes
    to a read-write one go to a private copy and are discarded, as BuildKit does."""
    dest = ms.target(m)
    if m.from_:
        root, what, _ = await enter(source_root(b, m.from_, state), ms.cleanups)
        ctx = Context(root, what)
    else:
        ctx = b.context
    try:
        src = ctx.resolve(m.source or "/")
    except NotFound:
        raise InvalidParameter(f"failed to compute cache key: \"{m.source}\" not found") from None
    if m.readonly:
        ms.out.append(ocispec.Mount(dest, src, "bind", ["rbind", "ro", "rprivate"]))
    else:
        ms.out.append(ocispec.Mount(dest, await asyncio.to_thread(scratch_copy, src, ms.base, i),
                                    "bind", ["rbind", "rprivate"]))


async def enter(cm: Any, cleanups: list[Callable[[], Any]]) -> Any:
    """Enter the async context manager ``cm``; its exit joins ``cleanups``."""
    value = await cm.__aenter__()
    cleanups.append(lambda: cm.__aexit__(None, None, None))
    return value


def scratch_copy(src: str, base: str, i: int) -> str:
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


def _abs(path: str, workdir: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(workdir, path))
