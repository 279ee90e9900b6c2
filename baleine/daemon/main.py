"""``baleine daemon``: serve the Engine API in the foreground (dockerd's flag names).

Settings come from the command line and ``/etc/baleine/daemon.json``
(``--config-file``; see :mod:`.config`); TCP listeners take TLS (:mod:`.tls`);
under systemd the daemon takes the sockets it is handed (``-H fd://``) and reports
readiness once the API answers (:mod:`.systemd`). SIGHUP reloads what dockerd
reloads: the log level, labels, registry mirrors and insecure registries.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..rules.units import parse_bytes
from . import slowcallbacks

DEFAULT_HOST = "unix:///run/baleine/baleine.sock"
DEFAULT_GROUP = "baleine"
KUBE_ADDR = "127.0.0.1:6443"
log = logging.getLogger("baleine")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="baleine daemon", description="Run the Baleine engine in the foreground")
    p.add_argument("-H", "--host", action="append", default=[],
                   help=f"Daemon socket(s) to listen on (default {DEFAULT_HOST})")
    p.add_argument("--data-root", default="/var/lib/baleine", help="Root of persistent state")
    p.add_argument("--exec-root", default="/run/baleine", help="Root of execution state")
    p.add_argument("--runtime", "--default-runtime", dest="runtime", default="runc",
                   help="OCI runtime to run containers with")
    p.add_argument("--cgroup-parent", default="baleine", help="Parent cgroup of containers")
    p.add_argument("--container-monitor", default="python", choices=["python", "conmon"],
                   help="Monitor process of containers (conmon: less memory per container)")
    p.add_argument("--config-file", default="", metavar="FILE",
                   help="Daemon configuration file (default /etc/baleine/daemon.json)")
    p.add_argument("--log-level", "-l", default="info", choices=["debug", "info", "warn", "error", "fatal"])
    p.add_argument("--log-format", default="text", choices=["text", "json"], help="Format of the daemon's log")
    p.add_argument("--log-file", default="", metavar="FILE",
                   help="Also write the daemon's log to FILE, rotated at 10 MiB (3 kept)")
    p.add_argument("--log-opt", action="append", default=[], help="Default log driver options (max-size, max-file)")
    p.add_argument("--label", action="append", default=[], help="Key=value labels of this daemon (in info)")
    p.add_argument("--group", "-G", default=DEFAULT_GROUP,
                   help="Group owning the Unix socket (membership is root-equivalent)")
    # TLS on TCP listeners, as dockerd's flags (see baleine/daemon/tls.py).
    p.add_argument("--tls", type=_flag, nargs="?", const=True, default=None,
                   help="Use TLS; implied by --tlsverify")
    p.add_argument("--tlsverify", type=_flag, nargs="?", const=True, default=False,
                   help="Use TLS and verify the remote (clients must present a certificate signed by the CA)")
    p.add_argument("--tlscacert", default="", help="Trust certs signed only by this CA (default ~/.baleine/ca.pem)")
    p.add_argument("--tlscert", default="", help="Path to TLS certificate file (default ~/.baleine/cert.pem)")
    p.add_argument("--tlskey", default="", help="Path to TLS key file (default ~/.baleine/key.pem)")
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
    p.add_argument("--hpa-sync-period", type=_period, default=15.0, metavar="SECONDS",
                   help="seconds between the HorizontalPodAutoscaler's and the compose autoscaler's syncs "
                        "(Kubernetes' 15 s)")
    p.add_argument("--ingress-image", default="nginx:1.22", metavar="IMAGE",
                   help="nginx image the Ingress controller runs (not pulled when present)")
    p.add_argument("--ingress-http-port", type=int, default=80, metavar="PORT",
                   help="host port the Ingress controller serves HTTP on (default 80)")
    p.add_argument("--ingress-https-port", type=int, default=443, metavar="PORT",
                   help="host port the Ingress controller serves HTTPS on (default 443)")
    p.add_argument("--kube-addr", default=None, metavar="HOST:PORT",
                   help=f"Serve the Kubernetes API here (default {KUBE_ADDR}; empty: off)")
    p.add_argument("--ui-addr", default="", metavar="HOST:PORT", help="Serve the web dashboard here (default: off)")
    p.add_argument("--ui-tlscert", default="", metavar="FILE", help="Serve the dashboard over HTTPS: certificate")
    p.add_argument("--ui-tlskey", default="", metavar="FILE", help="Serve the dashboard over HTTPS: key")
    # Hidden, for tests: asyncio debug mode, logging every callback that held the loop
    # SECONDS or more (see slowcallbacks). BALEINE_LOOP_DEBUG sets the default.
    p.add_argument("--debug-slow-callback", type=float, metavar="SECONDS", help=argparse.SUPPRESS,
                   default=float(os.environ.get("BALEINE_LOOP_DEBUG") or 0) or None)
    return p


def _flag(value: str) -> bool:
    """dockerd's boolean flags: ``--iptables``, ``--iptables=false``."""
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value: {value!r}")


def _period(value: str) -> float:
    """A positive period: seconds (``1.5``) or a Go duration (``15s``, as Kubernetes' flags)."""
    from ..rules.errors import InvalidParameter
    from ..rules.units import parse_duration

    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parse_duration(value)
        except InvalidParameter as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value!r}")
    return seconds


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
    listeners = check_hosts(args)  # before the engine holds anything
    from ..api.app import make_app
    from ..engine.engine import EngineConfig
    from . import wiring

    size, files = _log_opts(args.log_opt)
    config = EngineConfig(data_root=os.path.abspath(args.data_root), exec_root=os.path.abspath(args.exec_root),
                          runtime=args.runtime, cgroup_parent=args.cgroup_parent, log_max_size=size,
                          log_max_file=files, container_monitor=args.container_monitor)
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
    config.extra.update(labels=list(args.label))
    engine = wiring.build_engine(config)
    # First: a registry that cannot start stops the daemon before it holds anything.
    registry = await _start_registry(args, config.data_root)
    await engine.open()
    backends = wiring.make_backends(engine)
    autoscaler = wiring.start_autoscaler(engine, backends, args.hpa_sync_period)  # compose's x-baleine-autoscale
    app = make_app(backends)
    hosts = args.host or [DEFAULT_HOST]
    ui = _mount_ui(args, lambda: make_app(backends), config.data_root,
                   next((h for h in hosts if h.startswith("unix://")), hosts[0]))  # the terminal's exec socket
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    for host in hosts:
        await _listen(runner, host, args, listeners)
    ui_runner = await _start_ui(args, ui, config.data_root)
    pidfile = args.pidfile or os.path.join(config.exec_root, "baleine.pid")
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))
    log.info("API listening on %s", ", ".join(hosts))
    # Start-up is done: from here on no callback may hold the loop (tests watch it).
    slowcallbacks.watch(args.debug_slow_callback)
    kube, kube_failure = None, None
    try:  # after the Engine API: it must not delay it
        kube = await _start_kube(args, config, backends)
    except SystemExit as exc:
        kube_failure = exc  # shut down in order, then exit with it
    if ui is not None:
        from ..ui.kube import attach

        attach(ui, kube)  # the dashboard's Kubernetes pages read this server's registry
    from .systemd import notify

    notify("READY=1\nSTATUS=API listening")  # the sites accept connections: the API answers
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: reload(args, engine))
    if kube_failure is None:
        await stop.wait()
    notify("STOPPING=1")
    logging.getLogger("baleine").info("shutting down (containers keep running)")
    await autoscaler.stop()
    await engine.lifecycle.shutdown()
    if registry is not None:
        await registry.stop()
    if kube is not None:
        await kube.stop()
    if ui_runner is not None:
        await ui_runner.cleanup()
    await runner.cleanup()
    slowcallbacks.unwatch()
    # End this step of the loop: asyncio times a step from its start, when the watch
    # was still on, so the shutdown below must run in a step of its own.
    await asyncio.sleep(0)
    await engine.close()
    try:
        os.unlink(pidfile)
    except OSError:
        pass
    if kube_failure is not None:
        raise kube_failure


async def _start_kube(args: argparse.Namespace, config: Any, backends: Any):  # noqa: ANN202 - kube.server.Running | None
    """The Kubernetes API server and the cluster's components (baleine/kube) over the
    engine's ``backends``; the default address being taken only warns."""
    addr = KUBE_ADDR if args.kube_addr is None else args.kube_addr
    if not addr:
        return None
    try:
        # Imported in a thread: the server's modules (cryptography, the schemas) take
        # longer to import than the loop may be held.
        server = await asyncio.to_thread(importlib.import_module, "baleine.kube.server")
        from ..kube.manager import Options

        extra = {"dns": list(config.extra.get("dns") or []), "iptables": config.extra.get("iptables") is not False}
        options = Options(data_root=config.data_root, exec_root=config.exec_root,
                          hpa_sync_period=args.hpa_sync_period, ingress_image=args.ingress_image,
                          ingress_http_port=args.ingress_http_port, ingress_https_port=args.ingress_https_port,
                          extra=extra)
        return await server.start(config.data_root, addr, backends, options)
    except (OSError, ValueError, ImportError) as exc:
        if args.kube_addr is not None:
            raise SystemExit(f"cannot serve the Kubernetes API on {addr}: {exc}") from None
        log.warning("Kubernetes API not served on %s: %s", addr, exc)
        return None


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


@dataclass
class Listeners:
    """What the hosts need, checked before the engine opens: TLS contexts of TCP hosts
    (None: plain) and the sockets systemd handed over for ``fd://``."""

    tls: dict[str, ssl.SSLContext | None] = field(default_factory=dict)
    fds: list[socket.socket] = field(default_factory=list)


def check_hosts(args: argparse.Namespace) -> Listeners:
    """Validate every ``-H``; SystemExit naming what to fix (plain TCP beyond loopback,
    unreadable certificates, ``fd://`` without sockets, unknown schemes)."""
    from .tls import TLSError, check_plain_tcp, server_context

    out = Listeners()
    for host in args.host or [DEFAULT_HOST]:
        if host.startswith("unix://"):
            continue
        if host.startswith("tcp://"):
            settings = tls_settings(args)
            try:
                warning = check_plain_tcp(host[len("tcp://"):], settings)
                out.tls[host] = server_context(settings) if settings.enabled else None
            except TLSError as exc:
                raise SystemExit(f"baleine daemon: {exc}") from None
            if warning:
                log.warning("%s", warning)
        elif host.startswith("fd://"):
            from .systemd import listen_fds

            out.fds = out.fds or listen_fds()
            if not out.fds:
                raise SystemExit("baleine daemon: no sockets found via socket activation: make sure the service "
                                 "was started by systemd")
        else:
            raise SystemExit(f"baleine daemon: unsupported host: {host}")
    return out


def _mount_ui(args: argparse.Namespace, make_api: Callable[[], web.Application], data_root: str,
              api_host: str) -> web.Application | None:
    """The dashboard's app around an Engine API app (see baleine/ui/server.py), when ``--ui-addr`` asks.

    The dashboard gets an API app of its own: mounting re-prefixes an app's routes, so the
    one served on the daemon's sockets cannot be shared."""
    if not args.ui_addr:
        return None
    from ..ui.server import make_ui_app

    return make_ui_app(make_api(), data_root, api_host, secure=bool(args.ui_tlscert))


async def _start_ui(args: argparse.Namespace, ui: web.Application | None, data_root: str) -> web.AppRunner | None:
    if ui is None:
        return None
    from ..ui.server import start_ui

    try:
        running = await start_ui(ui, args.ui_addr, data_root, args.ui_tlscert, args.ui_tlskey)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot serve the dashboard on {args.ui_addr}: {exc}") from None
    logging.getLogger("baleine").info("dashboard on %s://%s (`baleine ui` prints the login address)",
                                      "https" if args.ui_tlscert else "http", args.ui_addr)
    return running


async def _listen(runner: web.AppRunner, host: str, args: argparse.Namespace, listeners: Listeners) -> None:
    """Serve ``host`` (``unix://PATH``, ``tcp://ADDR:PORT``, ``fd://``) as ``check_hosts`` prepared it."""
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
        _own_socket(path, args.group)
        return
    if host.startswith("tcp://"):
        addr = host[len("tcp://"):]
        hostname, _, port = addr.rpartition(":")
        ctx = listeners.tls[host]
        site = web.TCPSite(runner, hostname.strip("[]") or "127.0.0.1", int(port or (2376 if ctx else 2375)),
                           ssl_context=ctx)
        await site.start()
        return
    if host.startswith("fd://"):
        for sock in listeners.fds:
            await web.SockSite(runner, sock).start()
        return
    raise SystemExit(f"unsupported host: {host}")


def _own_socket(path: str, group: str) -> None:
    """The API socket is root:GROUP 0660 (root:root 0660 when the group does not exist:
    nobody but root gets in by accident)."""
    import grp

    os.chmod(path, 0o660)
    if not group:
        return
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        if group != DEFAULT_GROUP:
            log.warning("group %s not found: the socket stays root:root", group)
        return
    os.chown(path, 0, gid)


def tls_settings(args: argparse.Namespace) -> "TLSSettings":  # noqa: F821 - imported lazily
    from .tls import TLSSettings

    return TLSSettings(tls=args.tls, verify=bool(args.tlsverify), cacert=args.tlscacert, cert=args.tlscert,
                       key=args.tlskey)


def reload(args: argparse.Namespace, engine: Any) -> None:
    """SIGHUP: re-read the configuration file and apply what dockerd reloads (log level,
    labels, registry mirrors, insecure registries); log what changed. A bad file
    changes nothing."""
    from ..distribution.config import RegistryConfig
    from ..rules.errors import InvalidParameter
    from .config import RELOADABLE, ConfigError, config_path, load

    path, required = config_path(args)
    try:
        settings = {k: v for k, v in load(path, required).items() if k in RELOADABLE}
        mirrors = settings.get("registry-mirrors", args.registry_mirror)
        insecure = settings.get("insecure-registries", args.insecure_registry)
        registry = RegistryConfig.from_options(mirrors, insecure, args.registry_hub or None)
    except (ConfigError, InvalidParameter) as exc:
        log.error("reload: configuration not reloaded: %s", exc)
        return
    if "log-level" in settings:
        args.log_level = settings["log-level"]
        logging.getLogger().setLevel(_level(args.log_level))
    if "labels" in settings:
        args.label = settings["labels"]
        engine.config.extra["labels"] = list(args.label)
    args.registry_mirror, args.insecure_registry = mirrors, insecure
    engine.distribution.config = registry
    log.info("reloaded configuration from %s: %s", path,
             ", ".join(f"{k}={v}" for k, v in sorted(settings.items())) or "nothing to reload")


def _level(name: str) -> str:
    return {"warn": "WARNING", "fatal": "CRITICAL"}.get(name, name.upper())


def load_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line merged with the configuration file; SystemExit with dockerd's
    message when they conflict or the file is bad."""
    from .config import ConfigError, config_path, explicit_dests, load, merge

    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser()
    args = p.parse_args(argv)
    path, required = config_path(args)
    try:
        merge(args, load(path, required), explicit_dests(p, argv), path)
    except ConfigError as exc:
        raise SystemExit(f"baleine daemon: {exc}") from None
    return args


def main(argv: list[str] | None = None) -> int:
    args = load_args(argv)
    if os.geteuid() != 0:
        print("baleine daemon must run as root", file=sys.stderr)
        return 1
    from .logs import setup

    setup(_level(args.log_level), args.log_format, args.log_file)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
