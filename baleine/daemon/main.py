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

from ..rules.units import parse_bytes

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
    # Networking, as dockerd's flags (see baleine/engine/networks).
    p.add_argument("-b", "--bridge", default="", help="Interface name of the default bridge network")
    p.add_argument("--bip", default="", help="Address and prefix of the default bridge (e.g. 10.210.0.1/24)")
    p.add_argument("--default-address-pool", dest="pools", action="append", default=[],
                   help="Pool networks without a subnet are cut from (base=CIDR,size=N)")
    p.add_argument("--dns", action="append", default=[], help="DNS server containers use by default")
    for flag, what in (("ip-forward", "Enable host-wide IPv4 forwarding"), ("iptables", "Manage iptables rules"),
                       ("ip-masq", "Masquerade containers' outbound traffic"),
                       ("icc", "Let containers of the default bridge talk to each other")):
        p.add_argument(f"--{flag}", type=_flag, nargs="?", const=True, default=True, help=what)
    p.add_argument("--mtu", type=int, default=1500, help="MTU of the default bridge's interfaces")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="REGISTRY",
                   help="Registry (host[:port] or CIDR) reached over plain HTTP or without TLS verification")
    p.add_argument("--registry-mirror", action="append", default=[], metavar="URL",
                   help="Preferred Docker Hub mirror (http[s]://host[:port])")
    p.add_argument("--registry-hub", default="", metavar="URL",
                   help="Docker Hub's registry (default https://registry-1.docker.io); 'none': mirrors only")
    p.add_argument("--registry-addr", default="", metavar="HOST:PORT",
                   help="Also serve a registry (OCI distribution) on this address, no container needed")
    p.add_argument("--registry-root", default="", metavar="DIR",
                   help="Storage of the built-in registry (default <data-root>/registry)")
    p.add_argument("--registry-htpasswd", default="", metavar="FILE",
                   help="Require Basic auth for the built-in registry (htpasswd file, bcrypt)")
    return p


def _flag(value: str) -> bool:
    """dockerd's boolean flags: ``--iptables``, ``--iptables=false``."""
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value: {value!r}")


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
    from ..distribution.config import RegistryConfig
    from ..rules.errors import InvalidParameter

    try:
        RegistryConfig.from_options(args.registry_mirror, args.insecure_registry, args.registry_hub or None)
    except InvalidParameter as exc:
        raise SystemExit(f"baleine daemon: {exc}") from None
    config.extra.update(registry_mirrors=args.registry_mirror, insecure_registries=args.insecure_registry,
                        registry_hub=args.registry_hub)
    config.extra.update(bridge=args.bridge, bip=args.bip, pools=args.pools, dns=args.dns, ip_forward=args.ip_forward,
                        iptables=args.iptables, ip_masq=args.ip_masq, icc=args.icc, mtu=args.mtu)
    engine = Engine(config)
    # First: a registry that cannot start stops the daemon before it holds anything.
    registry = await _start_registry(args, config.data_root)
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
    if registry is not None:
        await registry.stop()
    await runner.cleanup()
    await engine.close()
    try:
        os.unlink(pidfile)
    except OSError:
        pass


async def _start_registry(args: argparse.Namespace, data_root: str):  # noqa: ANN202 - server.Running | None
    """The built-in registry server, when ``--registry-addr`` asks for it."""
    if not args.registry_addr:
        return None
    from ..distribution.server.serve import Options, start

    opts = Options(root=args.registry_root or os.path.join(data_root, "registry"), addr=args.registry_addr,
                   htpasswd=args.registry_htpasswd or None)
    try:
        running = await start(opts)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot start the registry on {args.registry_addr}: {exc}") from None
    logging.getLogger("baleine").info("registry listening on %s", running.url)
    return running


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
