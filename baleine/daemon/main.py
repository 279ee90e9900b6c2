"""``baleine daemon``: serve the Engine API in the foreground (dockerd's flag names)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys

from aiohttp import web

from ..engine.units import parse_bytes

DEFAULT_HOST = "unix:///run/baleine/baleine.sock"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="baleine daemon", description="Run the Baleine engine in the foreground")
    p.add_argument("-H", "--host", action="append", default=[],
                   help=f"Daemon socket(s) to listen on (default {DEFAULT_HOST})")
    p.add_argument("--data-root", default="/var/lib/baleine", help="Root of persistent state")
    p.add_argument("--exec-root", default="/run/baleine", help="Root of execution state")
    p.add_argument("--runtime", "--default-runtime", dest="runtime", default="runc",
                   help="OCI runtime to run containers with")
    p.add_argument("--cgroup-parent", default="baleine", help="Parent cgroup of containers")
    p.add_argument("--log-level", "-l", default="info", choices=["debug", "info", "warn", "error", "fatal"])
    p.add_argument("--log-opt", action="append", default=[], help="Default log driver options (max-size, max-file)")
    p.add_argument("--group", "-G", default="", help="Group owning the Unix socket")
    p.add_argument("-p", "--pidfile", default="", help="Path of the daemon's PID file")
    return p


def _log_opts(opts: list[str]) -> tuple[int, int]:
    size, files = 0, 1
    for opt in opts:
        key, _, value = opt.partition("=")
        if key == "max-size":
            size = parse_bytes(value)
        elif key == "max-file":
            files = int(value)
        else:
            raise SystemExit(f"unknown log opt '{key}' for json-file log driver")
    return size, files


async def serve(args: argparse.Namespace) -> None:
    from ..api.server import make_app
    from ..engine.engine import Engine, EngineConfig

    size, files = _log_opts(args.log_opt)
    config = EngineConfig(data_root=os.path.abspath(args.data_root), exec_root=os.path.abspath(args.exec_root),
                          runtime=args.runtime, cgroup_parent=args.cgroup_parent, log_max_size=size,
                          log_max_file=files)
    engine = Engine(config)
    await engine.open()
    app = make_app(engine)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    hosts = args.host or [DEFAULT_HOST]
    for host in hosts:
        await _listen(runner, host, args.group)
    pidfile = args.pidfile or os.path.join(config.exec_root, "baleine.pid")
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))
    logging.getLogger("baleine").info("API listening on %s", ", ".join(hosts))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logging.getLogger("baleine").info("shutting down (containers keep running)")
    await engine.lifecycle.shutdown()
    await runner.cleanup()
    await engine.close()
    try:
        os.unlink(pidfile)
    except OSError:
        pass


async def _listen(runner: web.AppRunner, host: str, group: str) -> None:
    if host.startswith("unix://"):
        path = host[len("unix://"):]
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if os.path.exists(path):
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)  # a stale socket from a crash
            else:
                raise SystemExit(f"another daemon is listening on {path}")
            finally:
                probe.close()
        site = web.UnixSite(runner, path)
        await site.start()
        os.chmod(path, 0o660)
        if group:
            import grp

            try:
                os.chown(path, 0, grp.getgrnam(group).gr_gid)
            except KeyError:
                pass
        return
    if host.startswith("tcp://"):
        addr = host[len("tcp://"):]
        hostname, _, port = addr.rpartition(":")
        site = web.TCPSite(runner, hostname or "127.0.0.1", int(port or 2375))
        await site.start()
        return
    raise SystemExit(f"unsupported host: {host}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if os.geteuid() != 0:
        print("baleine daemon must run as root", file=sys.stderr)
        return 1
    level = {"warn": "WARNING", "fatal": "CRITICAL"}.get(args.log_level, args.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
