"""The containers backend (``engine.interface.containers.ContainersBackend``) over
the engine's container rooms: records, lifecycle, logs, stats, top, files, update,
disk usage. Every method resolves the container itself, runs blocking work in a
thread and publishes the events Docker publishes for the operation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, BinaryIO

from ...rules.errors import Conflict, InvalidParameter, NotFound
from ...rules.filters import Filters
from ...rules.timestamps import parse_since
from ...filesystem import layers
from . import disk_usage, files, links, listing, logattrs, shown_image, logs as logs_mod, stats as stats_mod, top as top_mod, update as update_mod
from ..interface.containers import ContainerView, LogsOptions
from .logs import LogEntry
from .records import Container


def _log_time(text: str, now: float) -> float | None:
    """A logs ``since``/``until`` as unix seconds (None when absent)."""
    return None if text in ("", "0") else parse_since(text, now)


def _tail(text: str) -> int | None:
    """A logs ``tail``: a count of lines, or None for all ("all", "", negative)."""
    if text in ("all", ""):
        return None
    try:
        tail = int(text)
    except ValueError:
        raise InvalidParameter(f"invalid value for tail: {text!r}") from None
    return None if tail < 0 else tail


class ContainersService:
    """Implements ``ContainersBackend`` for one engine (its ``containers``, ``images``,
    ``lifecycle``, ``runtime``, ``snapshots``, ``events`` attributes)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    # -- helpers -----------------------------------------------------------------------

    def _get(self, ref: str) -> Container:
        return self.engine.containers.get(ref)

    def _publish(self, c: Container, action: str, **extra: Any) -> None:
        self.engine.events.publish("container", action, c.id, self.engine.lifecycle.attributes(c, **extra))

    async def _sizes(self, c: Container) -> tuple[int, int]:
        return await asyncio.to_thread(disk_usage.container_sizes, self.engine, c)

    def _graph_driver(self, c: Container) -> dict[str, Any]:
        """overlay2's GraphDriver data of ``docker inspect``."""
        snapshots = self.engine.snapshots
        upper, work = snapshots.rw_paths(c.private["rw"])[:2]
        top = c.private.get("top", "")
        try:
            lowers = snapshots.lowers(top) if top else []
        except Exception:  # noqa: BLE001 - a half-removed image still inspects
            lowers = []
        return {"Name": "overlay2", "Data": {"LowerDir": ":".join(lowers), "MergedDir": self.engine.rootfs(c),
                                             "UpperDir": upper, "WorkDir": work}}

    # -- records -----------------------------------------------------------------------

    async def create(self, body: dict[str, Any], name: str | None,
                     platform: str | None = None) -> tuple[str, list[str]]:
        # On the loop, not in a thread: checking the name and adding the record must
        # not interleave with another create (the work is a few small writes).
        c, warnings = self.engine.lifecycle.create(body, name, platform)
        return c.id, warnings

    async def list(self, filters: Filters, *, show_all: bool, limit: int, size: bool) -> list[ContainerView]:
        filters.validate(listing.LIST_FILTERS)
        engine = self.engine
        # A limit considers every container, running or not (dockerd's
        # includeContainerInList): `ps -n 3` and `ps -l` show the last created.
        selected = listing.filter_containers(engine.containers, engine.images, engine.containers.list(), filters,
                                             show_all or limit > 0)
        if limit > 0:
            selected = selected[:limit]
        shown = shown_image.ImageNames(engine.images)
        return [ContainerView(c, await self._sizes(c) if size else None, image=shown.of(c)) for c in selected]

    async def inspect(self, ref: str, size: bool = False) -> ContainerView:
        c = self._get(ref)
        return ContainerView(c, await self._sizes(c) if size else None, self._graph_driver(c))

    async def rename(self, ref: str, new_name: str) -> None:
        c = self._get(ref)
        if not new_name:
            raise InvalidParameter("Neither old nor new names may be empty")
        old = self.engine.containers.rename(c, new_name)
        self._publish(c, "rename", oldName=old)

    async def remove_link(self, linker: str, alias: str) -> None:
        c = self._get(linker)
        kept = [e for e in c.host_config.get("Links") or [] if links.parse(e)[1] != alias]
        if len(kept) == len(c.host_config.get("Links") or []):
            raise NotFound(f"No such container: {linker.lstrip('/')}/{alias}")
        c.host_config["Links"] = kept or None
        self.engine.containers.save(c)

    async def remove(self, ref: str, *, force: bool, volumes: bool) -> None:
        await self.engine.lifecycle.remove(self._get(ref), force=force, volumes=volumes)

    async def prune(self, filters: Filters) -> dict[str, Any]:
        filters.validate(disk_usage.PRUNE_FILTERS)
        return await disk_usage.prune_containers(self.engine, filters)

    async def update(self, ref: str, body: dict[str, Any]) -> list[str]:
        return await update_mod.update(self.engine.lifecycle, self._get(ref), body)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, ref: str) -> None:
        await self.engine.lifecycle.start(self._get(ref))

    async def stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        await self.engine.lifecycle.stop(self._get(ref), timeout, signal)

    async def restart(self, ref: str, timeout: int | None, signal: str | None) -> None:
        await self.engine.lifecycle.restart(self._get(ref), timeout, signal)

    async def kill(self, ref: str, signal: str | None) -> None:
        await self.engine.lifecycle.kill(self._get(ref), signal)

    async def pause(self, ref: str) -> None:
        await self.engine.lifecycle.pause(self._get(ref))

    async def unpause(self, ref: str) -> None:
        await self.engine.lifecycle.unpause(self._get(ref))

    async def wait(self, ref: str, condition: str) -> Awaitable[dict[str, Any]]:
        task = asyncio.ensure_future(self.engine.lifecycle.wait(self._get(ref), condition))
        await asyncio.sleep(0)  # let the waiter register (and fail early on a bad condition)
        if task.done() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        return task

    async def resize(self, ref: str, height: int, width: int) -> None:
        c = self._get(ref)
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        if c.link is not None:
            c.link.send(b"R", f"{height} {width}".encode())
            self._publish(c, "resize", height=height, width=width)

    # -- streams -----------------------------------------------------------------------

    async def logs(self, ref: str, options: LogsOptions,
                   closed: Callable[[], bool]) -> tuple[bool, AsyncIterator[LogEntry]]:
        c = self._get(ref)
        if not (options.stdout or options.stderr):
            raise InvalidParameter("Bad parameters: you must choose at least one stream")
        if (c.host_config.get("LogConfig") or {}).get("Type") == "none":
            raise InvalidParameter('configured logging driver does not support reading')
        now = time.time()
        since, until = _log_time(options.since, now), _log_time(options.until, now)
        tail = _tail(options.tail)
        return bool(c.config.get("Tty")), self._log_entries(c, options, since, until, tail, closed)

    async def _log_entries(self, c: Container, options: LogsOptions, since: float | None, until: float | None,
                           tail: int | None, closed: Callable[[], bool]) -> AsyncIterator[LogEntry]:
        wanted = {name for name, on in (("stdout", options.stdout), ("stderr", options.stderr)) if on}
        details = b""
        if options.details:
            log_options = (c.host_config.get("LogConfig") or {}).get("Config") or {}
            details = logattrs.details_prefix(logattrs.extra_attributes(
                log_options, c.config.get("Labels") or {}, c.config.get("Env") or []))

        def running() -> bool:
            # Following ends with the container, or when the client goes away.
            return options.follow and c.running and c.id in self.engine.containers.by_id and not closed()

        async for entry in logs_mod.follow(c.doc["LogPath"], running, since, until, tail):
            if entry.stream in wanted:
                entry.details = details
                yield entry

    async def check_attach(self, ref: str, *, stream: bool, logs: bool) -> Container:
        c = self._get(ref)
        if not (stream or logs):
            raise InvalidParameter("at least one of stream or logs must be set")
        if stream and not c.running and c.status not in ("created", "exited", "restarting") and not logs:
            raise Conflict("You cannot attach to a stopped container, start it first")
        # moby's ContainerAttach refuses these before hijacking the connection.
        if c.paused:
            raise Conflict(f"container {ref} is paused, unpause the container before attach")
        if c.state.get("Restarting"):
            raise Conflict(f"container {ref} is restarting, wait until the container is running")
        return c

    async def replay_logs(self, c: Container) -> list[LogEntry]:
        return await asyncio.to_thread(logs_mod.read_existing, c.doc["LogPath"])

    async def attached(self, c: Container) -> None:
        self._publish(c, "attach")

    async def attach_link(self, c: Container, stdin: bool, stdout: bool, stderr: bool) -> Any:
        return await self.engine.lifecycle.attach_link(c, stdin, stdout, stderr)

    async def stats(self, ref: str, *, stream: bool, one_shot: bool,
                    closed: Callable[[], bool]) -> AsyncIterator[dict[str, Any]]:
        c = self._get(ref)
        by_id = self.engine.containers.by_id
        return stats_mod.stats_stream(c, self.engine.lifecycle.settings.cgroup_parent, stream=stream,
                                      one_shot=one_shot, exists=lambda: c.id in by_id, closed=closed)

    # -- processes and files -----------------------------------------------------------

    async def top(self, ref: str, ps_args: str) -> dict[str, Any]:
        c = self._get(ref)
        result = await top_mod.top(self.engine.runtime, c, ps_args)
        self._publish(c, "top")
        return result

    async def changes(self, ref: str) -> list[dict[str, Any]] | None:
        return await asyncio.to_thread(self._changes, self._get(ref))

    def _changes(self, c: Container) -> list[dict[str, Any]] | None:
        snapshots = self.engine.snapshots
        upper = snapshots.rw_paths(c.private["rw"])[0]
        lowers = snapshots.container_lowers(c.private["rw"], c.private.get("top", ""))
        return [{"Path": ch.path, "Kind": ch.kind} for ch in layers.changes(upper, lowers)] or None

    def _root(self, c: Container) -> Any:
        """The container's root as ``docker cp`` sees it (its volumes mounted in)."""
        return files.container_root(self.engine.snapshots, c, mountpoints=self.engine.lifecycle.volumes)

    async def stat_path(self, ref: str, path: str) -> dict[str, Any]:
        c = self._get(ref)
        async with self._root(c) as root:
            return (await asyncio.to_thread(files.stat_path, root, path, ref)).stat

    async def get_archive(self, ref: str, path: str,
                          open_out: Callable[[dict[str, Any]], Awaitable[BinaryIO]]) -> None:
        c = self._get(ref)
        async with self._root(c) as root:
            info = await asyncio.to_thread(files.stat_path, root, path, ref)
            out = await open_out(info.stat)

            def run() -> None:
                files.write_archive(root, info, out)
                out.flush()

            await asyncio.to_thread(run)
        self._publish(c, "archive-path")

    async def put_archive(self, ref: str, path: str, body: BinaryIO, *, no_overwrite_dir_non_dir: bool,
                          copy_uid_gid: bool) -> None:
        c = self._get(ref)
        async with self._root(c) as root:
            await asyncio.to_thread(files.extract, root, c, path, body, ref,
                                    no_overwrite_dir_non_dir=no_overwrite_dir_non_dir, copy_uid_gid=copy_uid_gid)
        self._publish(c, "extract-to-dir")

    async def export(self, ref: str, open_out: Callable[[], Awaitable[BinaryIO]]) -> None:
        c = self._get(ref)
        if c.status == "dead":
            raise Conflict(f"You cannot export container {c.id} which is Dead")
        if c.status == "removing":
            raise Conflict(f"You cannot export container {c.id} which is being removed")
        async with files.container_root(self.engine.snapshots, c, processes_view=False) as rootfs:
            out = await open_out()

            def run() -> None:
                files.export(rootfs, out)
                out.flush()

            await asyncio.to_thread(run)
        self._publish(c, "export")
