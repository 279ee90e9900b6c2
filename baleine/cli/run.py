"""``baleine run`` and ``baleine create``: docker's flags turned into a create request,
then (for run) attach, start and wait as the docker CLI does."""

from __future__ import annotations

import os
import sys

# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .usage import Namespace

from ..client import APIError
from ..client.transport import json_loads
from .context import CLIError, Context, Parser, split_csv
from .streams import configured_detach_keys, pump, terminal_size
from .usage import REMAINDER, SUPPRESS

USAGE = "[OPTIONS] IMAGE [COMMAND] [ARG...]"


def _parser(command: str) -> Parser:
    p = Parser(command, USAGE, "Create and run a new container from an image" if command == "run"
               else "Create a new container")
    a = p.add_argument
    if command == "run":
        a("-d", "--detach", action="store_true", help="Run container in background and print container ID")
        a("--rm", action="store_true", help="Automatically remove the container when it exits")
        a("--sig-proxy", default="true", help="Proxy received signals to the process")
        a("--detach-keys", default=None, help="Override the key sequence for detaching a container")
    else:
        a("--rm", action="store_true", help="Automatically remove the container when it exits")
    a("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    a("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    a("-a", "--attach", action="append", default=[], help="Attach to STDIN, STDOUT or STDERR")
    a("--name", help="Assign a name to the container")
    a("-e", "--env", action="append", default=[], help="Set environment variables")
    a("--env-file", action="append", default=[], help="Read in a file of environment variables")
    a("-w", "--workdir", help="Working directory inside the container")
    a("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    a("--group-add", action="append", default=[], help="Add additional groups to join")
    a("--entrypoint", default=None, help="Overwrite the default ENTRYPOINT of the image")
    a("-h", "--hostname", help="Container host name")
    a("--domainname", help="Container NIS domain name")
    a("-l", "--label", action="append", default=[], help="Set meta data on a container")
    a("--label-file", action="append", default=[], help="Read in a line delimited file of labels")
    a("--restart", default="no", help="Restart policy to apply when a container exits")
    a("-m", "--memory", help="Memory limit")
    a("--memory-swap", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    a("--memory-reservation", help="Memory soft limit")
    a("--cpus", help="Number of CPUs")
    a("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)")
    a("--cpu-period", type=int, help="Limit CPU CFS (Completely Fair Scheduler) period")
    a("--cpu-quota", type=int, help="Limit CPU CFS (Completely Fair Scheduler) quota")
    a("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    a("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    a("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)")
    a("--oom-score-adj", type=int, help="Tune host's OOM preferences (-1000 to 1000)")
    a("--read-only", action="store_true", help="Mount the container's root filesystem as read only")
    a("--cap-add", action="append", default=[], help="Add Linux capabilities")
    a("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    a("--privileged", action="store_true", help="Give extended privileges to this container")
    a("--security-opt", action="append", default=[], help="Security Options")
    a("--init", action="store_true", help="Run an init inside the container that forwards signals and reaps processes")
    a("--stop-signal", help="Signal to stop the container")
    a("--stop-timeout", type=int, help="Timeout (in seconds) to stop a container")
    a("--health-cmd", help="Command to run to check health")
    a("--health-interval", help="Time between running the check (ms|s|m|h)")
    a("--health-timeout", help="Maximum time to allow one check to run (ms|s|m|h)")
    a("--health-retries", type=int, help="Consecutive failures needed to report unhealthy")
    a("--health-start-period", help="Start period for the container to initialize before starting health-retries countdown")
    a("--health-start-interval", help="Time between running the check during the start period")
    a("--no-healthcheck", action="store_true", help="Disable any container-specified HEALTHCHECK")
    a("--network", "--net", dest="network", action="append", default=[], help="Connect a container to a network")
    a("--network-alias", "--net-alias", dest="network_alias", action="append", default=[],
      help="Add network-scoped alias for the container")
    a("--ip", help="IPv4 address (e.g., 172.30.100.104)")
    a("--ip6", help="IPv6 address")
    a("--mac-address", help="Container MAC address")
    a("--dns", action="append", default=[], help="Set custom DNS servers")
    a("--dns-option", "--dns-opt", dest="dns_option", action="append", default=[], help="Set DNS options")
    a("--dns-search", action="append", default=[], help="Set custom DNS search domains")
    a("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    a("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    a("-P", "--publish-all", action="store_true", help="Publish all exposed ports to random ports")
    a("--expose", action="append", default=[], help="Expose a port or a range of ports")
    a("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    a("--mount", action="append", default=[], help="Attach a filesystem mount to the container")
    a("--tmpfs", action="append", default=[], help="Mount a tmpfs directory")
    a("--volumes-from", action="append", default=[], help="Mount volumes from the specified container(s)")
    a("--volume-driver", help="Optional volume driver for the container")
    a("--log-driver", help="Logging driver for the container")
    a("--log-opt", action="append", default=[], help="Log driver options")
    a("--ulimit", action="append", default=[], help="Ulimit options")
    a("--sysctl", action="append", default=[], help="Sysctl options")
    a("--shm-size", help="Size of /dev/shm")
    a("--ipc", help="IPC mode to use")
    a("--pid", help="PID namespace to use")
    a("--uts", help="UTS namespace to use")
    a("--cgroupns", help="Cgroup namespace to use (host|private)")
    a("--cgroup-parent", help="Optional parent cgroup for the container")
    a("--device", action="append", default=[], help="Add a host device to the container")
    a("--device-cgroup-rule", action="append", default=[], help="Add a rule to the cgroup allowed devices list")
    a("--runtime", help="Runtime to use for this container")
    a("--platform", help="Set platform if server is multi-platform capable")
    a("--pull", default="missing", choices=["always", "missing", "never"], help="Pull image before running")
    a("--cidfile", help="Write the container ID to the file")
    a("-q", "--quiet", action="store_true", help="Suppress the pull output")
    a("--userns", help="User namespace to use")
    a("--isolation", help="Container isolation technology")
    a("--oom-kill-disable", action="store_true", help="Disable OOM Killer")
    a("image", help=SUPPRESS)
    a("args", nargs=REMAINDER, help=SUPPRESS)
    return p


def _duration_ns(value: str | None, flag: str) -> int:
    if not value:
        return 0
    from ..rules.units import parse_duration_ns

    try:
        return parse_duration_ns(value)
    except Exception as exc:  # noqa: BLE001 - shown to the user
        raise CLIError(f"invalid argument \"{value}\" for \"{flag}\" flag: {exc}\nSee 'baleine run --help'.", 125)


def _bytes(value: str | None, flag: str) -> int | None:
    if value is None or value == "":
        return None
    if value == "-1":
        return -1
    from ..rules.units import parse_bytes

    try:
        return parse_bytes(value)
    except Exception as exc:  # noqa: BLE001
        raise CLIError(f"invalid argument \"{value}\" for \"{flag}\" flag: {exc}\nSee 'baleine run --help'.", 125)


def read_env_files(paths: list[str]) -> list[str]:
    """docker's --env-file format: KEY=VALUE lines, comments, KEY alone takes the local value."""
    out = []
    for path in paths:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise CLIError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}", 125) from None
        for line in lines:
            line = line.lstrip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not key:
                raise CLIError(f"invalid environment variable: {line}", 125)
            if " " in key.strip() or "\t" in key:
                raise CLIError(f"variable '{key}' contains whitespaces", 125)
            if sep:
                out.append(f"{key}={value}")
            elif key in os.environ:
                out.append(f"{key}={os.environ[key]}")
            else:
                out.append(key)
    return out


def _env(values: list[str]) -> list[str]:
    out = []
    for v in values:
        if "=" not in v and v in os.environ:
            out.append(f"{v}={os.environ[v]}")
        else:
            if v.startswith("="):
                raise CLIError(f"invalid environment variable: {v}", 125)
            out.append(v)
    return out


def _labels(values: list[str], files: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for path in files:
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        k, _, v = line.partition("=")
                        labels[k] = v
        except OSError as exc:
            raise CLIError(f"open {path}: {exc.strerror}", 125) from None
    for v in values:
        k, _, val = v.partition("=")
        labels[k] = val
    return labels


def parse_ports(specs: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """docker's -p: [ip:][hostPort:]containerPort[/proto] with ranges → (ExposedPorts, PortBindings)."""
    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in specs:
        raw = spec
        proto = "tcp"
        if "/" in spec:
            spec, proto = spec.rsplit("/", 1)
        ip = ""
        if spec.startswith("["):
            end = spec.index("]")
            ip, spec = spec[1:end], spec[end + 2:]
        parts = spec.split(":")
        if len(parts) == 3:
            ip, host, container = parts
        elif len(parts) == 2:
            host, container = parts
        elif len(parts) == 1:
            host, container = "", parts[0]
        else:
            raise CLIError(f"invalid port format for --publish: {raw}", 125)
        if proto not in ("tcp", "udp", "sctp"):
            raise CLIError(f"invalid proto: {proto}", 125)
        cports = _port_range(container, raw)
        hports = _port_range(host, raw) if host else []
        if hports and len(hports) != len(cports) and len(hports) != 1 or (hports and len(cports) > 1 and len(hports) == 1):
            if not (len(cports) == 1 and len(hports) >= 1):
                raise CLIError(f"invalid ranges specified for container and host Ports: {container} and {host}", 125)
        for i, cport in enumerate(cports):
            key = f"{cport}/{proto}"
            exposed[key] = {}
            if len(cports) == 1 and len(hports) > 1:
                hp = f"{hports[0]}-{hports[-1]}"
            else:
                hp = str(hports[i]) if hports else ""
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": hp})
    return exposed, bindings


def _port_range(value: str, raw: str) -> list[int]:
    try:
        if "-" in value:
            lo, hi = (int(x) for x in value.split("-", 1))
        else:
            lo = hi = int(value)
    except ValueError:
        raise CLIError(f"invalid containerPort: {value}" if value else f"no port specified: {raw}<empty>", 125) from None
    if not (0 < lo <= 65535 and 0 < hi <= 65535) or hi < lo:
        raise CLIError(f"invalid port range: {value}", 125)
    return list(range(lo, hi + 1))


def parse_mount(spec: str) -> dict[str, Any]:
    """docker's --mount type=...,source=...,target=...[,readonly][,...]."""
    m: dict[str, Any] = {"Type": "volume"}
    for field in spec.split(","):
        key, sep, value = field.partition("=")
        key = key.strip().lower()
        if key in ("type",):
            m["Type"] = value
        elif key in ("source", "src"):
            m["Source"] = value
        elif key in ("target", "destination", "dst"):
            m["Target"] = value
        elif key in ("readonly", "ro"):
            m["ReadOnly"] = (value.lower() in ("", "1", "true")) if sep else True
        elif key == "bind-propagation":
            m.setdefault("BindOptions", {})["Propagation"] = value
        elif key == "bind-nonrecursive":
            m.setdefault("BindOptions", {})["NonRecursive"] = value.lower() in ("", "1", "true")
        elif key == "volume-nocopy":
            m.setdefault("VolumeOptions", {})["NoCopy"] = (value.lower() in ("", "1", "true")) if sep else True
        elif key == "volume-label":
            k, _, v = value.partition("=")
            m.setdefault("VolumeOptions", {}).setdefault("Labels", {})[k] = v
        elif key == "volume-driver":
            m.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            k, _, v = value.partition("=")
            m.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {}).setdefault("Options", {})[k] = v
        elif key == "tmpfs-size":
            from ..rules.units import parse_bytes

            m.setdefault("TmpfsOptions", {})["SizeBytes"] = parse_bytes(value)
        elif key == "tmpfs-mode":
            m.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
        elif key == "consistency":
            m["Consistency"] = value
        else:
            raise CLIError(f"invalid argument \"{spec}\" for \"--mount\" flag: unexpected key '{key}' in '{field}'", 125)
    if not m.get("Target"):
        raise CLIError(f"invalid argument \"{spec}\" for \"--mount\" flag: target is required", 125)
    return m


def _ulimits(values: list[str]) -> list[dict[str, Any]]:
    out = []
    for v in values:
        name, sep, limits = v.partition("=")
        if not sep:
            raise CLIError(f"invalid ulimit argument: {v}", 125)
        soft, _, hard = limits.partition(":")
        try:
            out.append({"Name": name, "Soft": int(soft), "Hard": int(hard or soft)})
        except ValueError:
            raise CLIError(f"invalid ulimit argument: {v}", 125) from None
    return out


def _restart(value: str) -> dict[str, Any]:
    name, _, count = value.partition(":")
    policy: dict[str, Any] = {"Name": name}
    if count:
        try:
            policy["MaximumRetryCount"] = int(count)
        except ValueError:
            raise CLIError("invalid restart policy format: maximum retry count must be an integer", 125) from None
    return policy


def build_request(o: Namespace, command: str) -> tuple[dict[str, Any], str | None]:
    """The ``POST /containers/create`` body and the container name."""
    detach = getattr(o, "detach", False)
    attach = [s.lower() for s in o.attach]
    for s in attach:
        if s not in ("stdin", "stdout", "stderr"):
            raise CLIError(f"invalid argument \"{s}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", 125)
    if detach and attach:
        raise CLIError("Conflicting options: -a and -d", 125)
    if command == "run" and not detach:
        attach_stdin = o.interactive if not attach else "stdin" in attach
        attach_stdout = not attach or "stdout" in attach
        attach_stderr = not attach or "stderr" in attach
    elif command == "create":
        attach_stdin = o.interactive if not attach else "stdin" in attach
        attach_stdout = not attach or "stdout" in attach
        attach_stderr = not attach or "stderr" in attach
    else:
        attach_stdin = attach_stdout = attach_stderr = False
    env = read_env_files(o.env_file) + _env(o.env)
    config: dict[str, Any] = {
        "Hostname": o.hostname or "",
        "Domainname": o.domainname or "",
        "User": o.user or "",
        "AttachStdin": bool(attach_stdin),
        "AttachStdout": bool(attach_stdout),
        "AttachStderr": bool(attach_stderr),
        "Tty": o.tty,
        "OpenStdin": o.interactive,
        "StdinOnce": bool(o.interactive and attach_stdin),
        "Env": env,
        "Cmd": o.args or None,
        "Image": o.image,
        "Labels": _labels(o.label, o.label_file),
        "WorkingDir": o.workdir or "",
        "Entrypoint": None if o.entrypoint is None else ([o.entrypoint] if o.entrypoint else [""]),
        "Volumes": None,
    }
    if o.stop_signal:
        config["StopSignal"] = o.stop_signal
    if o.stop_timeout is not None:
        config["StopTimeout"] = o.stop_timeout
    if o.mac_address:
        config["MacAddress"] = o.mac_address
    health = _healthcheck(o)
    if health is not None:
        config["Healthcheck"] = health
    exposed, bindings = parse_ports(o.publish)
    for e in o.expose:
        proto = "tcp"
        if "/" in e:
            e, proto = e.split("/", 1)
        for port in _port_range(e, e):
            exposed[f"{port}/{proto}"] = {}
    if exposed:
        config["ExposedPorts"] = exposed
    binds, volumes = [], {}
    for v in o.volume:
        if ":" not in v:
            # A destination alone is an anonymous volume.
            if not v.startswith("/"):
                raise CLIError(f"invalid volume specification: '{v}': invalid mount config for type \"volume\": "
                               f"invalid mount path: '{v}' mount path must be absolute", 125)
            volumes[v] = {}
        else:
            binds.append(v)
    if volumes:
        config["Volumes"] = volumes
    host: dict[str, Any] = {
        "Binds": binds or None,
        "AutoRemove": o.rm,
        "RestartPolicy": _restart(o.restart),
        "NetworkMode": o.network[0] if o.network else "default",
        "PortBindings": bindings,
        "PublishAllPorts": o.publish_all,
        "CapAdd": split_csv(o.cap_add) or None,
        "CapDrop": split_csv(o.cap_drop) or None,
        "Privileged": o.privileged,
        "ReadonlyRootfs": o.read_only,
        "SecurityOpt": o.security_opt or None,
        "Dns": o.dns,
        "DnsOptions": o.dns_option,
        "DnsSearch": o.dns_search,
        "ExtraHosts": o.add_host or None,
        "GroupAdd": o.group_add or None,
        "VolumesFrom": o.volumes_from or None,
        "Mounts": [parse_mount(m) for m in o.mount] or None,
        "Tmpfs": {t.split(":", 1)[0]: (t.split(":", 1)[1] if ":" in t else "") for t in o.tmpfs} or None,
        "Ulimits": _ulimits(o.ulimit) or None,
        "Sysctls": {s.split("=", 1)[0]: s.split("=", 1)[1] for s in o.sysctl if "=" in s} or None,
        "LogConfig": {"Type": o.log_driver or "", "Config": {k: v for k, _, v in
                                                             (x.partition("=") for x in o.log_opt)}},
        "IpcMode": o.ipc or "",
        "PidMode": o.pid or "",
        "UTSMode": o.uts or "",
        "CgroupnsMode": o.cgroupns or "",
        "CgroupParent": o.cgroup_parent or "",
        "Devices": [_device(d) for d in o.device] or None,
        "DeviceCgroupRules": o.device_cgroup_rule or None,
        "Init": True if o.init else None,
        "OomScoreAdj": o.oom_score_adj or 0,
        "Runtime": o.runtime or "",
    }
    mem = _bytes(o.memory, "--memory")
    if mem is not None:
        host["Memory"] = mem
    for flag, key in (("memory_swap", "MemorySwap"), ("memory_reservation", "MemoryReservation"),
                      ("shm_size", "ShmSize")):
        value = _bytes(getattr(o, flag), "--" + flag.replace("_", "-"))
        if value is not None:
            host[key] = value
    if o.cpus:
        from ..rules.units import parse_cpus

        try:
            host["NanoCpus"] = parse_cpus(o.cpus)
        except Exception as exc:  # noqa: BLE001
            raise CLIError(f"invalid argument \"{o.cpus}\" for \"--cpus\" flag: {exc}\nSee 'baleine run --help'.",
                           125) from None
    for flag, key in (("cpu_shares", "CpuShares"), ("cpu_period", "CpuPeriod"), ("cpu_quota", "CpuQuota"),
                      ("cpuset_cpus", "CpusetCpus"), ("cpuset_mems", "CpusetMems"), ("pids_limit", "PidsLimit")):
        value = getattr(o, flag)
        if value is not None:
            host[key] = value
    if o.tty and attach_stdin:
        size = terminal_size()
        if size:
            host["ConsoleSize"] = [size[0], size[1]]
    body: dict[str, Any] = dict(config)
    body["HostConfig"] = host
    # Aliases and addresses go to the daemon even for a predefined network: it refuses them there, as dockerd.
    if o.network and not o.network[0].startswith("container:") and (
            o.network[0] not in ("host", "none", "bridge", "default") or o.network_alias or o.ip or o.ip6):
        endpoint: dict[str, Any] = {}
        if o.network_alias:
            endpoint["Aliases"] = o.network_alias
        if o.ip or o.ip6:
            endpoint["IPAMConfig"] = {k: v for k, v in (("IPv4Address", o.ip), ("IPv6Address", o.ip6)) if v}
        body["NetworkingConfig"] = {"EndpointsConfig": {o.network[0]: endpoint}}
    return body, o.name


def _device(spec: str) -> dict[str, str]:
    parts = spec.split(":")
    host = parts[0]
    ctr = parts[1] if len(parts) > 1 and parts[1].startswith("/") else host
    perms = parts[-1] if len(parts) > 1 and not parts[-1].startswith("/") else "rwm"
    return {"PathOnHost": host, "PathInContainer": ctr, "CgroupPermissions": perms}


def _healthcheck(o: Namespace) -> dict[str, Any] | None:
    if o.no_healthcheck:
        if o.health_cmd:
            raise CLIError("--no-healthcheck conflicts with --health-* options", 125)
        return {"Test": ["NONE"]}
    if not (o.health_cmd or o.health_interval or o.health_timeout or o.health_retries or o.health_start_period
            or o.health_start_interval):
        return None
    hc: dict[str, Any] = {}
    if o.health_cmd:
        hc["Test"] = ["CMD-SHELL", o.health_cmd]
    for flag, key in (("health_interval", "Interval"), ("health_timeout", "Timeout"),
                      ("health_start_period", "StartPeriod"), ("health_start_interval", "StartInterval")):
        ns = _duration_ns(getattr(o, flag), "--" + flag.replace("_", "-"))
        if ns < 0:
            raise CLIError(f"--{flag.replace('_', '-')} cannot be negative", 125)
        hc[key] = ns
    if o.health_retries is not None:
        if o.health_retries < 0:
            raise CLIError("--health-retries cannot be negative", 125)
        hc["Retries"] = o.health_retries
    return hc


def _create(ctx: Context, body: dict[str, Any], name: str | None, pull: str, quiet: bool) -> str:
    if pull == "always":
        _pull(ctx, body["Image"], quiet)
    try:
        with ctx.api(code=125):
            try:
                result = ctx.client.containers.create(body, name=name or None)
            except APIError as exc:
                if exc.status != 404 or "No such image" not in exc.message or pull == "never":
                    raise
                print(f"Unable to find image '{_display_ref(body['Image'])}' locally", file=sys.stderr)
                _pull(ctx, body["Image"], quiet)
                result = ctx.client.containers.create(body, name=name or None)
    except CLIError as exc:
        message = exc.message
        if message.startswith("Error response from daemon: "):
            message = f"baleine: {message}\nSee 'baleine {ctx.command} --help'."
        raise CLIError(message, 125) from None
    for w in result.get("Warnings") or []:
        print(f"WARNING: {w}", file=sys.stderr)
    return result["Id"]


def _display_ref(image: str) -> str:
    if "@" in image or ":" in image.rsplit("/", 1)[-1]:
        return image
    return image + ":latest"


def _pull(ctx: Context, image: str, quiet: bool) -> None:
    ref = image
    tag = "latest"
    if "@" not in image and ":" in image.rsplit("/", 1)[-1]:
        ref, tag = image.rsplit(":", 1)
    with ctx.api(code=125):
        from .distribution import pull_headers

        for msg in ctx.client.images.pull(ref, tag, headers=pull_headers(image)):
            if msg.get("error"):
                raise CLIError(f"baleine: {msg['error']}\nSee 'baleine run --help'.", 125)
            if not quiet and msg.get("status") and not msg.get("progressDetail"):
                line = msg["status"] if not msg.get("id") else f"{msg['id']}: {msg['status']}"
                print(line, file=sys.stderr)


def create(ctx: Context, argv: list[str]) -> int:
    o = _parser("create").parse_args(argv)
    body, name = build_request(o, "create")
    cid = _create(ctx, body, name, o.pull, o.quiet)
    if o.cidfile:
        _write_cidfile(o.cidfile, cid)
    print(cid)
    return 0


def _write_cidfile(path: str, cid: str) -> None:
    if os.path.exists(path):
        raise CLIError(f"container ID file found, make sure the other container isn't running or delete {path}", 125)
    with open(path, "w") as f:
        f.write(cid)


def run(ctx: Context, argv: list[str]) -> int:
    o = _parser("run").parse_args(argv)
    body, name = build_request(o, "run")
    if o.tty and body["AttachStdin"] and not os.isatty(0):
        raise CLIError("the input device is not a TTY", 1)
    cid = _create(ctx, body, name, o.pull, o.quiet)
    if o.cidfile:
        _write_cidfile(o.cidfile, cid)
    client = ctx.client
    if o.detach:
        with ctx.api(code=125):
            try:
                client.containers.start(cid)
            except APIError as exc:
                raise CLIError(f"baleine: Error response from daemon: {exc.message}", _start_code(exc.message)) from None
        print(cid)
        return 0
    attach_stdin = body["AttachStdin"]
    sock = initial = None
    if body["AttachStdin"] or body["AttachStdout"] or body["AttachStderr"]:
        detach_keys = configured_detach_keys(o.detach_keys)
        with ctx.api(code=125):
            sock, initial = client.containers.attach(cid, bool(attach_stdin), bool(body["AttachStdout"]),
                                                     bool(body["AttachStderr"]), detach_keys=detach_keys or None)
    condition = "removed" if o.rm else "next-exit"
    with ctx.api(code=125):
        wait_resp = client.containers.wait_response(cid, condition)
    try:
        with ctx.api(code=125):
            client.containers.start(cid)
    except CLIError as exc:
        if sock is not None:
            sock.close()
        msg = exc.message.replace("Error response from daemon: ", "", 1)
        code = _start_code(msg)
        print(f"baleine: Error response from daemon: {msg}", file=sys.stderr)
        if o.rm:
            try:
                client.containers.remove(cid, force=True)
            except Exception:  # noqa: BLE001 - already gone with AutoRemove
                pass
        return code
    if sock is not None:
        def resize(h: int, w: int) -> None:
            try:
                client.containers.resize(cid, h, w)
            except Exception:  # noqa: BLE001 - the container may be gone
                pass

        if o.tty:
            size = terminal_size()
            if size:
                resize(*size)
        if pump(sock, initial or b"", o.tty, attach_stdin, resize, close_on_eof=True, detach_keys=detach_keys):
            return 0  # detached: the container runs on (docker says nothing either)
    try:
        result = json_loads(wait_resp.read() or b"{}")
    except (ValueError, OSError):
        result = {}
    if result.get("Error") and result["Error"].get("Message"):
        print(result["Error"]["Message"], file=sys.stderr)
        return 125
    return int(result.get("StatusCode", 125))


def _start_code(message: str) -> int:
    low = message.lower()
    if "executable file not found" in low or "no such file or directory" in low or "not found" in low and "exec" in low:
        return 127
    if "permission denied" in low:
        return 126
    return 125
