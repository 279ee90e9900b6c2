"""Running a registry server: bind, optional TLS, the root's lock, graceful stop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
import sys
from dataclasses import dataclass, field

from aiohttp import web

from .access import Access, Htpasswd, Rule, Tokens
from .app import Settings, make_app
from .gc import lock

log = logging.getLogger("baleine.registry")


@dataclass
class Options:
    """``baleine registry serve``'s options."""

    root: str
    addr: str = "127.0.0.1:5000"
    htpasswd: str | None = None
    token: bool = False
    rules: list[str] = field(default_factory=list)
    anonymous_pull: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    delete_enabled: bool = True
    stats: bool = False


def _split_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep:
        return addr or "0.0.0.0", 5000
    return (host.strip("[]") or "0.0.0.0"), int(port)


def build(opts: Options) -> tuple[web.Application, ssl.SSLContext | None]:
    """The application and TLS context for ``opts``; ValueError/SystemExit on bad options."""
    root = os.path.abspath(opts.root)
    os.makedirs(root, exist_ok=True)
    users = Htpasswd(opts.htpasswd) if opts.htpasswd else None
    rules = [Rule.parse(r) for r in opts.rules]
    if opts.anonymous_pull:
        rules.append(Rule("*", "*", frozenset({"pull"})))
        if users is not None and not any(r.subject != "*" for r in rules):
            rules.append(Rule("+", "*", frozenset({"pull", "push", "delete"})))
    tokens = Tokens.for_root(root) if opts.token else None
    access = Access(users, rules, tokens)
    settings = Settings(root, access, token=opts.token, delete_enabled=opts.delete_enabled, stats=opts.stats)
    ctx = None
    if opts.tls_cert or opts.tls_key:
        if not (opts.tls_cert and opts.tls_key):
            raise ValueError("--tls-cert and --tls-key go together")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
    return make_app(settings), ctx


@dataclass
class Running:
    """A started registry server: ``stop()`` it to release the port and the root."""

    runner: web.AppRunner
    lock_fd: int
    url: str

    async def stop(self) -> None:
        try:
            await self.runner.cleanup()
        finally:
            os.close(self.lock_fd)


async def start(opts: Options, access_log: bool = True) -> Running:
    """Bind and start serving ``opts`` (port 0 picks a free port: see ``url``).

    Used by ``baleine registry serve`` and by the daemon's built-in registry
    (``baleine daemon --registry-addr``). Raises ValueError/OSError/SystemExit on
    bad options or a port in use, holding nothing then.
    """
    fd = lock(os.path.abspath(opts.root))
    try:
        app, ctx = build(opts)
        runner = web.AppRunner(app, access_log=logging.getLogger("baleine.registry.access") if access_log else None,
                               access_log_format='%a "%r" %s %b "%{User-Agent}i"', handle_signals=False,
                               shutdown_timeout=2.0)
        await runner.setup()
        host, port = _split_addr(opts.addr)
        site = web.TCPSite(runner, host, port, ssl_context=ctx, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
    except BaseException:
        os.close(fd)
        raise
    bound = site._server.sockets[0].getsockname() if site._server and site._server.sockets else (host, port)  # type: ignore[union-attr]
    scheme = "https" if ctx else "http"
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    log.info("registry at %s listening on %s://%s:%s", opts.root, scheme, shown, bound[1])
    return Running(runner, fd, f"{scheme}://{shown}:{bound[1]}")


async def serve(opts: Options, ready: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT. Prints ``listening on <url>`` once bound (port 0
    picks a free port, and the line says which)."""
    running = await start(opts)
    try:
        print(f"listening on {running.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        await running.stop()


def run(opts: Options) -> int:
    level = os.environ.get("BALEINE_REGISTRY_LOG", "INFO").upper()
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(opts))
    except KeyboardInterrupt:
        pass
    return 0
