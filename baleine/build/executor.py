"""Running a RUN step: one short-lived container on a build work area, through runc.

The container's root filesystem is the work area's overlay (``fsops.Layers``),
its configuration is built by the engine's OCI spec builder (``spec.py``: the
same namespaces, capabilities, seccomp profile and masked paths as ``docker
run``), and it runs in the foreground under ``runc run`` with its stdout and
stderr on pipes the builder reads. Nothing is registered as a container here
(the bundle and runc's state are removed in every case, and start-up recovery
removes them after a crash); only a failed RUN's files may be kept, as a
registered container, by ``failedrun.py``.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from ..engine.containers import etcfiles
from ..engine.runtime import spec as ocispec
from ..engine.runtime.runc import Runtime


@dataclass
class RunRequest:
    """What one RUN needs besides its root filesystem.

    ``network`` is "none" (an empty namespace), "host", or a namespace path.
    ``mounts`` are extra mounts (RUN --mount); ``resources`` holds the build's
    limits by SpecInput field name (memory, cpu_shares...).
    """

    args: list[str]
    env: list[str]
    cwd: str = "/"
    user: str = ""
    network: str = "host"
    mounts: list[ocispec.Mount] = field(default_factory=list)
    extra_hosts: list[str] = field(default_factory=list)
    resources: dict[str, object] = field(default_factory=dict)
    dns: list[str] | None = None
    dns_options: list[str] | None = None


class Executor:
    """Runs build containers with the engine's runtime binary."""

    def __init__(self, runtime: Runtime, exec_root: str, scratch: str, cgroup_parent: str) -> None:
        self.runtime = runtime
        self.exec_root = exec_root
        self.scratch = scratch
        self.cgroup_parent = cgroup_parent

    @staticmethod
    def new_id() -> str:
        """A container ID whose short form is not all digits (as dockerd's): a failed
        RUN's container keeps it as a registered container's ID."""
        while True:
            cid = secrets.token_hex(32)
            if not cid[:12].isdigit():
                return cid

    async def run(self, cid: str, rootfs: str, req: RunRequest,
                  on_output: Callable[[int, str], None]) -> int:
        """Run ``req.args`` in ``rootfs``; stream decoded output to ``on_output(fd, text)``.

        Returns the exit code (128+N for a signal). Raises InvalidParameter for an
        unusable configuration (unknown user...) and EngineError when the runtime
        fails. Cancelling kills the container.
        """
        key = "b" + cid[:12]
        bundle = os.path.join(self.exec_root, key)
        etc = os.path.join(self.scratch, key)
        host_net = req.network == "host"
        hostname = cid[:12]
        try:
            await asyncio.to_thread(self._prepare, bundle, etc, rootfs, req, hostname, host_net, cid)
            return await self._run(cid, bundle, on_output)
        finally:
            await asyncio.to_thread(shutil.rmtree, bundle, True)
            await asyncio.to_thread(shutil.rmtree, etc, True)

    def _prepare(self, bundle: str, etc: str, rootfs: str, req: RunRequest, hostname: str, host_net: bool,
                 cid: str) -> None:
        etcfiles.write_all(etc, hostname, "", etcfiles.hosts_text(hostname, "", None, req.extra_hosts, host_net),
                           etcfiles.resolv_text(req.dns, None, req.dns_options, host_net))
        mounts = [ocispec.Mount("/etc/resolv.conf", os.path.join(etc, "resolv.conf"), "bind", ["rbind", "rprivate"]),
                  ocispec.Mount("/etc/hostname", os.path.join(etc, "hostname"), "bind", ["rbind", "rprivate"]),
                  ocispec.Mount("/etc/hosts", os.path.join(etc, "hosts"), "bind", ["rbind", "rprivate"])]
        netns: str | None
        if req.network == "none":
            netns = None
        elif host_net:
            netns = "host"
        else:
            netns = req.network
        inp = ocispec.SpecInput(rootfs=rootfs, args=list(req.args), env=list(req.env), cwd=req.cwd or "/",
                                user=req.user, hostname=hostname, mounts=mounts + list(req.mounts),
                                network_ns=netns, cgroups_path=f"/{self.cgroup_parent}/{cid}")
        for name, value in req.resources.items():
            if value:
                setattr(inp, name, value)
        spec = ocispec.build_spec(inp)
        os.makedirs(bundle, exist_ok=True)
        ocispec.write_config(bundle, spec)

    async def _run(self, cid: str, bundle: str, on_output: Callable[[int, str], None]) -> int:
        self.runtime.warm_cgroup_lock()
        proc = await self.runtime.command(
            "run", "--bundle", bundle, cid,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)

        async def pump(stream: asyncio.StreamReader, fd: int) -> None:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            while True:
                chunk = await stream.read(65536)
                if not chunk:
                    tail = decoder.decode(b"", final=True)
                    if tail:
                        on_output(fd, tail)
                    return
                text = decoder.decode(chunk)
                if text:
                    on_output(fd, text)

        try:
            assert proc.stdout is not None and proc.stderr is not None
            await asyncio.gather(pump(proc.stdout, 1), pump(proc.stderr, 2))
            code = await proc.wait()
        except BaseException:
            # Cancelled (the client went away) or failed: kill and forget the container.
            # On a normal exit `runc run` has deleted it already.
            await asyncio.shield(self._abort(cid, proc))
            raise
        if code < 0:
            code = 128 - code
        return code

    async def _abort(self, cid: str, proc: asyncio.subprocess.Process) -> None:
        await self._kill(cid)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except (asyncio.TimeoutError, ProcessLookupError):
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        await self._delete(cid)

    async def _kill(self, cid: str) -> None:
        proc = await self.runtime.command(
            "kill", "--all", cid, "KILL",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await proc.wait()

    async def _delete(self, cid: str) -> None:
        proc = await self.runtime.command(
            "delete", "--force", cid,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await proc.wait()


_RUNC_FAILED = re.compile(r'level=error msg="runc run failed: ((?:[^"\\]|\\.)*)"')


def runtime_failure(lines: list[str]) -> str | None:
    """runc's own error when it could not start the process (from its log line on
    stderr), or None when the process ran and exited."""
    for line in reversed(lines[-3:]):
        m = _RUNC_FAILED.search(line)
        if m:
            return m.group(1).replace('\\"', '"').replace("\\\\", "\\")
    return None


__all__ = ["Executor", "RunRequest", "runtime_failure"]
