"""What every command shares: the API client (starting a daemon when none answers;
commands call its resource methods, ``ctx.client.containers.start(...)``, inside
``with ctx.api():`` to get docker's error messages),
docker-style argument parsing, and docker-style errors and exit codes."""

from __future__ import annotations

import os
import sys

# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any

from ..client import DEFAULT_HOST, APIError, Client, ConnectionFailed
from .usage import Parser  # noqa: F401 - the commands' parser, re-exported (argparse only when needed)


class CLIError(Exception):
    """Stop the command: print ``message`` on stderr and exit with ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def die(exc: CLIError) -> int:
    if exc.message:
        stream = sys.stdout if exc.code == 0 else sys.stderr
        print(exc.message, file=stream)
    return exc.code


class Context:
    """Per-invocation state: the daemon address and a lazily connected client."""

    def __init__(self, host: str | None, command: str, tls: Any = None) -> None:
        """``tls``: the ``client.tls.TLSOptions`` of the global flags and environment, or None."""
        self.explicit_host = host or os.environ.get("BALEINE_HOST")
        self.host = self.explicit_host or DEFAULT_HOST
        self.command = command
        self.tls = tls
        self._client: Client | None = None
        self.err_code = 125 if command in ("run", "create") else 1

    @property
    def client(self) -> Client:
        if self._client is None:
            client = Client(self.host, tls=self.tls)
            if not self.explicit_host and not client.ping():
                start_daemon(client)
            self._client = client
        return self._client

    def api(self, code: int | None = None, prefix: str = "Error response from daemon: ") -> APIErrors:
        """``with ctx.api():`` turns API and connection errors into docker-style CLI errors."""
        return APIErrors(self, self.err_code if code is None else code, prefix)

    def each(self, names: list[str], action: Callable[[str], Any], echo: bool = True) -> int:
        """Apply ``action`` to each name, printing it (docker's multi-target commands);
        errors are printed and make the exit code 1."""
        status = 0
        for name in names:
            try:
                with self.api():
                    result = action(name)
                if echo:
                    print(name if result is None else result)
            except CLIError as exc:
                print(exc.message, file=sys.stderr)
                status = 1
        return status


class APIErrors:
    """The context manager of :meth:`Context.api` (a class, not ``contextlib``: every
    command uses it, and contextlib's imports cost 2 ms of the CLI's start-up)."""

    __slots__ = ("ctx", "code", "prefix")

    def __init__(self, ctx: Context, code: int, prefix: str) -> None:
        self.ctx, self.code, self.prefix = ctx, code, prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if isinstance(exc, APIError):
            raise CLIError(f"{self.prefix}{exc.message}", self.code) from None
        if isinstance(exc, ConnectionFailed):
            raise CLIError(connection_message(self.ctx.host, exc), self.code) from None
        return False


def connection_message(host: str, exc: ConnectionFailed) -> str:
    """docker's words for a daemon that cannot be reached (or that refused us)."""
    if exc.permission:
        path = host[len("unix://"):] if host.startswith("unix://") else host
        return (f"permission denied while trying to connect to the Baleine daemon socket at {host}: "
                f"dial unix {path}: connect: permission denied")
    return f"Cannot connect to the Baleine daemon at {host}. Is the baleine daemon running?"


def start_daemon(client: Client) -> None:
    """Start ``baleine daemon`` in the background and wait until it answers."""
    import subprocess
    import time

    if os.geteuid() != 0:
        return
    log_dir = "/var/log/baleine"
    log_path = os.path.join(log_dir, "daemon.log")
    try:
        os.makedirs(log_dir, exist_ok=True)
    except OSError:
        log_path = ""
    # The daemon writes (and rotates) its own log file; its stderr goes nowhere.
    with open(os.devnull, "ab") as null:
        subprocess.Popen([sys.executable, "-m", "baleine.daemon.main", "-H", client.host,
                          *(["--log-file", log_path] if log_path else [])],
                         stdin=subprocess.DEVNULL, stdout=null, stderr=null, start_new_session=True,
                         close_fds=True, cwd="/")  # `-m` would import a `baleine` folder in the cwd
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if client.ping(timeout=1):
            print("Started the Baleine daemon in the background (log: %s)" % (log_path or "none"), file=sys.stderr)
            return
        time.sleep(0.05)


def split_csv(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x for x in v.split(",") if x)
    return out
