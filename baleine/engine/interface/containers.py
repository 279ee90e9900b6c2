"""The containers backend: what the Engine API (and any other client) may ask of
containers. Containers are named by ``ref`` (full ID, unique ID prefix or name);
an unknown one raises ``NotFound``, a request the container's state forbids
``Conflict``, a malformed one ``InvalidParameter`` (all from ``rules.errors``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from ...rules.filters import Filters
from ..containers.logs import LogEntry
from ..containers.records import Container


@dataclass
class ContainerView:
    """A container with what its JSON shapes need beyond the record: its sizes
    (``(rw, rootfs)``, only when asked for) and its graph driver data."""

    container: Container
    sizes: tuple[int, int] | None = None
    graph_driver: dict[str, Any] | None = None
    #: the image to show in lists: Config.Image while it still names the container's
    #: image, else the image ID (dockerd's rule); None: Config.Image as it is
    image: str | None = None


@dataclass
class LogsOptions:
    """What ``GET /containers/{id}/logs`` selects, as Docker's options carry it:
    ``since``/``until`` are docker timestamps or durations ("" or "0": none), ``tail``
    a count of lines ("all", "" or negative: all)."""

    stdout: bool
    stderr: bool
    follow: bool = False
    since: str = ""
    until: str = ""
    tail: str = "all"
    #: each entry's ``details`` carries the log attributes (``docker logs --details``)
    details: bool = False


class ContainersBackend(Protocol):
    async def create(self, body: dict[str, Any], name: str | None,
                     platform: str | None = None) -> tuple[str, list[str]]:
        """Create a container from a ``ContainerCreate`` body; (its ID, warnings).
        ``platform`` (the query's ``os/arch[/variant]``): NotFound if the image is for another."""

    async def list(self, filters: Filters, *, show_all: bool, limit: int, size: bool) -> list[ContainerView]:
        """moby's container list: running ones (all with ``show_all``) selected by
        ``filters`` (InvalidParameter for an unknown filter or status), in listing order,
        at most ``limit`` (all if <= 0), with sizes when ``size``."""

    async def inspect(self, ref: str, size: bool = False) -> ContainerView:
        """The container with its graph driver data (and sizes when ``size``)."""

    async def start(self, ref: str) -> None:
        """Start it (NotModified if running)."""

    async def stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        """Stop it: ``signal`` (its StopSignal), then SIGKILL after ``timeout`` s."""

    async def restart(self, ref: str, timeout: int | None, signal: str | None) -> None:
        """Stop (as ``stop``) then start."""

    async def kill(self, ref: str, signal: str | None) -> None:
        """Send ``signal`` (SIGKILL by default); Conflict if not running."""

    async def pause(self, ref: str) -> None:
        """Freeze its processes."""

    async def unpause(self, ref: str) -> None:
        """Thaw its processes."""

    async def remove_link(self, linker: str, alias: str) -> None:
        """Drop the legacy link ``alias`` from ``linker``'s ``HostConfig.Links`` (it
        takes effect at the next start); NotFound if there is no such link."""

    async def remove(self, ref: str, *, force: bool, volumes: bool) -> None:
        """Remove it (killing it first with ``force``; anonymous volumes too with ``volumes``)."""

    async def rename(self, ref: str, new_name: str) -> None:
        """Rename it (InvalidParameter if ``new_name`` is empty); publishes ``rename``."""

    async def wait(self, ref: str, condition: str) -> Awaitable[dict[str, Any]]:
        """Register a waiter for ``condition`` (not-running, next-exit, removed) and
        return what resolves to ``{"StatusCode", "Error"}`` once it is met: callers
        may answer in between (the docker CLI starts the container only then)."""

    async def resize(self, ref: str, height: int, width: int) -> None:
        """Resize its TTY; Conflict if not running; publishes ``resize``."""

    async def logs(self, ref: str, options: LogsOptions,
                   closed: Callable[[], bool]) -> tuple[bool, AsyncIterator[LogEntry]]:
        """(whether it has a TTY, its log entries of the selected streams); following
        ends with the container or when ``closed()``. InvalidParameter if no stream
        is selected, its log driver cannot be read, or a time or tail is malformed."""

    async def check_attach(self, ref: str, *, stream: bool, logs: bool) -> Container:
        """The container to attach to, after moby's refusals (Conflict when stopped,
        paused or restarting; InvalidParameter without stream nor logs)."""

    async def replay_logs(self, c: Container) -> list[LogEntry]:
        """Its logs so far (for ``attach?logs=1``)."""

    async def attached(self, c: Container) -> None:
        """Announce an attach (the ``attach`` event)."""

    async def attach_link(self, c: Container, stdin: bool, stdout: bool, stderr: bool) -> Any:
        """The link to its monitor's streams (waits for its next start if stopped)."""

    async def changes(self, ref: str) -> list[dict[str, Any]] | None:
        """Its filesystem changes (``{"Path", "Kind"}``) against its image, None if none."""

    async def top(self, ref: str, ps_args: str) -> dict[str, Any]:
        """``ps`` over its processes (``{"Titles", "Processes"}``); publishes ``top``."""

    async def stats(self, ref: str, *, stream: bool, one_shot: bool,
                    closed: Callable[[], bool]) -> AsyncIterator[dict[str, Any]]:
        """Its resource usage frames, one (not ``stream``) or one per second until it
        is removed or ``closed()``."""

    async def stat_path(self, ref: str, path: str) -> dict[str, Any]:
        """The stat of ``path`` in its filesystem (NotFound if absent)."""

    async def get_archive(self, ref: str, path: str,
                          open_out: Callable[[dict[str, Any]], Awaitable[BinaryIO]]) -> None:
        """Tar ``path`` into the writer ``open_out(stat)`` returns (written and flushed
        in a worker thread); publishes ``archive-path`` once it is all written."""

    async def put_archive(self, ref: str, path: str, body: BinaryIO, *, no_overwrite_dir_non_dir: bool,
                          copy_uid_gid: bool) -> None:
        """Extract the tar ``body`` (read in a worker thread) into directory ``path``;
        publishes ``extract-to-dir``."""

    async def export(self, ref: str, open_out: Callable[[], Awaitable[BinaryIO]]) -> None:
        """Tar its whole root filesystem into the writer ``open_out()`` returns;
        Conflict if it is dead or being removed; publishes ``export``."""

    async def update(self, ref: str, body: dict[str, Any]) -> list[str]:
        """Change its resources and restart policy; the warnings."""

    async def prune(self, filters: Filters) -> dict[str, Any]:
        """Remove stopped containers (``until``, ``label`` filters):
        ``{"ContainersDeleted", "SpaceReclaimed"}``; publishes ``prune``."""
