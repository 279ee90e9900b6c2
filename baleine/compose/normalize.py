"""From a merged compose model to the canonical one that ``compose config`` prints and
everything else reads: short syntaxes expanded, defaults filled, sizes and durations
in one form, keys in compose-go's order.

Services: ``build`` becomes ``{context, dockerfile}``; ``command``/``entrypoint``
strings are split like a shell; ``environment`` (with ``env_file`` read in, and
bare ``KEY`` entries looked up in the project environment), ``labels``,
``sysctls`` become mappings of strings; ``ports`` become ``{mode, host_ip, target,
published, protocol}`` (one per port of a range); ``volumes`` become ``{type,
source, target, read_only, bind|volume|tmpfs}``; ``depends_on`` becomes
``{service: {condition, required[, restart]}}``, including the dependencies that
``links``, ``network_mode: service:x`` and ``volumes_from`` imply; a service with
neither ``networks`` nor ``network_mode`` joins ``default``; durations are written
as Go writes them (``1m30s``) and sizes in bytes.

Networks and volumes get their real names: ``<project>_<key>`` unless ``name`` is
set, the key itself when ``external``.

Pure functions; errors are ComposeError.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from typing import Any

from . import dotenv
from .errors import ComposeError
from .merge import to_list, to_mapping

# compose-go's struct field order (types.ServiceConfig and friends): the order of
# `compose config` output and of the JSON the config hash is computed from.
SERVICE_ORDER = [
    "name", "profiles", "annotations", "attach", "build", "develop", "blkio_config", "cap_add", "cap_drop",
    "cgroup_parent", "cgroup", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period",
    "cpu_rt_runtime", "cpus", "cpuset", "cpu_shares", "command", "configs", "container_name", "credential_spec",
    "depends_on", "deploy", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "dockerfile",
    "domainname", "entrypoint", "provider", "environment", "env_file", "expose", "extends", "external_links",
    "extra_hosts", "group_add", "gpus", "hostname", "healthcheck", "image", "init", "ipc", "isolation", "labels",
    "label_file", "links", "logging", "log_driver", "log_opt", "mem_limit", "mem_reservation", "memswap_limit",
    "mem_swappiness", "mac_address", "models", "net", "network_mode", "networks", "oom_kill_disable",
    "oom_score_adj", "pid", "pids_limit", "platform", "ports", "privileged", "pull_policy", "read_only",
    "restart", "runtime", "scale", "secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period",
    "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode",
    "uts", "volume_driver", "volumes", "volumes_from", "working_dir", "post_start", "pre_stop",
]
BUILD_ORDER = ["context", "dockerfile", "dockerfile_inline", "entitlements", "args", "ssh", "labels", "cache_from",
               "cache_to", "no_cache", "additional_contexts", "pull", "extra_hosts", "isolation", "network",
               "target", "secrets", "tags", "ulimits", "platforms", "privileged", "shm_size"]
PORT_ORDER = ["name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"]
VOLUME_ORDER = ["type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"]
BIND_ORDER = ["selinux", "propagation", "create_host_path", "recursive"]
SERVICE_NETWORK_ORDER = ["aliases", "driver_opts", "gw_priority", "interface_name", "ipv4_address", "ipv6_address",
                         "link_local_ips", "mac_address", "priority"]
DEPENDENCY_ORDER = ["condition", "restart", "required"]
HEALTHCHECK_ORDER = ["test", "timeout", "interval", "retries", "start_period", "start_interval", "disable"]
DEPLOY_ORDER = ["mode", "replicas", "labels", "update_config", "rollback_config", "resources", "restart_policy",
                "placement", "endpoint_mode"]
RESOURCE_ORDER = ["cpus", "memory", "pids", "devices", "generic_resources"]
NETWORK_ORDER = ["name", "driver", "driver_opts", "ipam", "external", "internal", "attachable", "labels",
                 "enable_ipv4", "enable_ipv6"]
VOLUME_DEF_ORDER = ["name", "driver", "driver_opts", "external", "labels"]
PROJECT_ORDER = ["name", "services", "networks", "volumes", "secrets", "configs", "models"]

# Which dicts are structs (ordered fields) rather than maps (sorted keys), by path
# inside a service; "*" is any key, "[]" any index.
STRUCT_ORDERS: dict[tuple[str, ...], list[str]] = {
    (): SERVICE_ORDER,
    ("build",): BUILD_ORDER,
    ("ports", "[]"): PORT_ORDER,
    ("volumes", "[]"): VOLUME_ORDER,
    ("volumes", "[]", "bind"): BIND_ORDER,
    ("volumes", "[]", "volume"): ["labels", "nocopy", "subpath"],
    ("volumes", "[]", "tmpfs"): ["size", "mode"],
    ("networks", "*"): SERVICE_NETWORK_ORDER,
    ("depends_on", "*"): DEPENDENCY_ORDER,
    ("healthcheck",): HEALTHCHECK_ORDER,
    ("deploy",): DEPLOY_ORDER,
    ("deploy", "resources"): ["limits", "reservations"],
    ("deploy", "resources", "limits"): RESOURCE_ORDER,
    ("deploy", "resources", "reservations"): RESOURCE_ORDER,
    ("deploy", "restart_policy"): ["condition", "delay", "max_attempts", "window"],
    ("logging",): ["driver", "options"],
    ("env_file", "[]"): ["path", "required", "format"],
    ("ulimits", "*"): ["single", "soft", "hard"],
    ("secrets", "[]"): ["source", "target", "uid", "gid", "mode"],
    ("configs", "[]"): ["source", "target", "uid", "gid", "mode"],
    ("extends",): ["file", "service"],
}


def struct_order(path: tuple[Any, ...]) -> list[str] | None:
    """The field order of the struct at ``path`` in a service, None for a map."""
    for pattern, order in STRUCT_ORDERS.items():
        if len(pattern) != len(path):
            continue
        if all(q == "*" and not isinstance(p, int) or q == "[]" and isinstance(p, int) or q == p
               for p, q in zip(path, pattern)):
            return order
    return None


def ordered(d: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """``d`` with keys in ``order``; other keys (``x-`` extensions…) after, sorted."""
    out = {k: d[k] for k in order if k in d}
    for k in sorted(k for k in d if k not in out):
        out[k] = d[k]
    return out


def order_service(svc: dict[str, Any], path: tuple[Any, ...] = ()) -> Any:
    """A service with every struct's keys in compose-go's order and maps sorted."""
    def walk(value: Any, p: tuple[Any, ...]) -> Any:
        if isinstance(value, dict):
            order = struct_order(p)
            items = ordered(value, order) if order is not None else {k: value[k] for k in sorted(value, key=str)}
            return {k: walk(v, p + (k,)) for k, v in items.items()}
        if isinstance(value, list):
            return [walk(v, p + (i,)) for i, v in enumerate(value)]
        return value
    return walk(svc, path)


# -- scalars ------------------------------------------------------------------------------


def _str(value: Any) -> str:
    """A YAML scalar as the string compose passes on (``true``, ``1.5``, ``3``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def duration(value: Any, where: str) -> str:
    """A duration (``"1m30s"``, ``"90s"``) as Go prints it (``1m30s``); a bare number
    (only reachable through interpolation casts) counts seconds."""
    from ..rules.units import format_duration_ns, parse_duration_ns

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # compose-go reads a bare number as seconds
        return format_duration_ns(int(value * 1_000_000_000))
    try:
        return format_duration_ns(parse_duration_ns(str(value)))
    except Exception as exc:  # noqa: BLE001 - Go's message
        raise ComposeError(str(exc), path=where) from None


def duration_ns(value: str | None) -> int:
    """A normalised duration in nanoseconds (0 for None)."""
    if not value:
        return 0
    from ..rules.units import parse_duration_ns

    return parse_duration_ns(value)


def size(value: Any, where: str) -> int:
    """A size (``512m``, ``1gb``, ``1024``) in bytes."""
    if isinstance(value, bool):
        raise ComposeError(f"invalid size: {value!r}", path=where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    from ..rules.units import parse_bytes

    try:
        return parse_bytes(str(value))
    except Exception:  # noqa: BLE001
        raise ComposeError(f"invalid size: {value!r}", path=where) from None


def integer(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise ComposeError(f"{value!r} must be an integer", path=where)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ComposeError(f"{_str(value)!r} must be an integer", path=where) from None


def boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    low = str(value).lower()
    if low in ("true", "yes", "y", "on", "1"):
        return True
    if low in ("false", "no", "n", "off", "0"):
        return False
    raise ComposeError(f"{value!r} must be a boolean", path=where)


def is_remote(context: str) -> bool:
    return "://" in context or context.startswith(("git@", "github.com/"))


def abspath(path: str, base: str) -> str:
    """``path`` made absolute against ``base``, ``~`` expanded."""
    path = os.path.expanduser(path)
    if os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(base, path))


# -- ports ---------------------------------------------------------------------------------


def _range(text: str, where: str, what: str) -> tuple[int, int]:
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
        else:
            lo = hi = int(text)
    except ValueError:
        raise ComposeError(f"invalid {what}: {text}", path=where) from None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or hi < lo:
        raise ComposeError(f"invalid {what}: {text}", path=where)
    return lo, hi


def parse_port(spec: Any, where: str) -> list[dict[str, Any]]:
    """One ``ports`` entry (short or long syntax) → long-syntax entries."""
    if isinstance(spec, dict):
        entry = dict(spec)
        if "target" not in entry:
            raise ComposeError("missing required property 'target'", path=where)
        target = entry["target"]
        if isinstance(target, str) and "-" in target:
            raise ComposeError(f"invalid containerPort: {target}", path=where)
        entry["target"] = integer(target, where + ".target")
        if entry.get("published") is not None and entry.get("published") != "":
            entry["published"] = _str(entry["published"])
        else:
            entry.pop("published", None)
        entry["protocol"] = str(entry.get("protocol") or "tcp").lower()
        entry["mode"] = entry.get("mode") or "ingress"
        if not entry.get("host_ip"):
            entry.pop("host_ip", None)
        return [ordered(entry, PORT_ORDER)]
    text = _str(spec)
    raw = text
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
        proto = proto.lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise ComposeError(f"invalid proto: {proto}", path=where)
    ip = ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            raise ComposeError(f"invalid port specification: {raw!r}", path=where)
        ip, text = text[1:end], text[end + 2:]
        parts = text.split(":")
        if len(parts) == 1:
            parts = ["", parts[0]]
        parts = [ip] + parts
    else:
        parts = text.split(":")
        if len(parts) > 3:
            raise ComposeError(f"invalid port specification: {raw!r}", path=where)
    if len(parts) == 3:
        ip, host, container = parts
    elif len(parts) == 2:
        host, container = parts
    else:
        host, container = "", parts[0]
    if not container:
        raise ComposeError(f"no port specified: {raw}", path=where)
    clo, chi = _range(container, where, "containerPort")
    hlo = hhi = None
    if host:
        hlo, hhi = _range(host, where, "hostPort")
        if hhi - hlo != chi - clo and chi != clo:
            raise ComposeError(f"invalid ranges specified for container and host Ports: {container} and {host}",
                               path=where)
    out = []
    for i, cport in enumerate(range(clo, chi + 1)):
        entry: dict[str, Any] = {"mode": "ingress"}
        if ip:
            entry["host_ip"] = ip
        entry["target"] = cport
        if host:
            if chi == clo and hhi != hlo:
                entry["published"] = f"{hlo}-{hhi}"
            else:
                entry["published"] = str(hlo + i)
        entry["protocol"] = proto
        out.append(entry)
    return out


# -- volumes -------------------------------------------------------------------------------

_PROPAGATIONS = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}


def is_bind_source(source: str) -> bool:
    """A short-syntax source that is a host path rather than a volume name."""
    return source.startswith(("/", ".", "~")) or (len(source) > 1 and source[1] == ":")


def parse_volume(spec: Any, where: str, base: str | None = None) -> dict[str, Any]:
    """One service ``volumes`` entry → long syntax; relative bind sources made absolute
    against ``base`` when given."""
    if isinstance(spec, dict):
        entry = dict(spec)
        vtype = entry.get("type") or "volume"
        entry["type"] = vtype
        if not entry.get("target"):
            raise ComposeError("missing required property 'target'", path=where)
        if vtype == "bind":
            if not entry.get("source"):
                raise ComposeError("bind mount requires a source", path=where)
            if base is not None:
                entry["source"] = abspath(str(entry["source"]), base)
            bind = dict(entry.get("bind") or {})
            bind.setdefault("create_host_path", True)
            entry["bind"] = ordered(bind, BIND_ORDER)
        if "read_only" in entry:
            entry["read_only"] = boolean(entry["read_only"], where + ".read_only")
            if not entry["read_only"]:
                del entry["read_only"]
        if vtype == "tmpfs" and isinstance(entry.get("tmpfs"), dict) and "size" in entry["tmpfs"]:
            entry["tmpfs"] = dict(entry["tmpfs"], size=size(entry["tmpfs"]["size"], where + ".tmpfs.size"))
        return ordered(entry, VOLUME_ORDER)
    text = str(spec)
    parts = text.split(":")
    if len(parts) == 1:
        if not text.startswith("/"):
            raise ComposeError(f"invalid volume specification: {text!r}: mount path must be absolute", path=where)
        return {"type": "volume", "target": text}
    if len(parts) > 3:
        raise ComposeError(f"invalid volume specification: {text!r}", path=where)
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    if not target.startswith("/"):
        raise ComposeError(f"invalid volume specification: {text!r}: mount path must be absolute", path=where)
    entry = {}
    if is_bind_source(source):
        entry["type"] = "bind"
        entry["source"] = abspath(source, base) if base is not None else source
    else:
        entry["type"] = "volume"
        entry["source"] = source
    entry["target"] = target
    bind: dict[str, Any] = {}
    volume: dict[str, Any] = {}
    for opt in options:
        if opt == "ro":
            entry["read_only"] = True
        elif opt == "rw":
            pass
        elif opt in ("z", "Z"):
            bind["selinux"] = opt
        elif opt in _PROPAGATIONS:
            bind["propagation"] = opt
        elif opt == "nocopy":
            volume["nocopy"] = True
        elif opt in ("cached", "delegated", "consistent"):
            entry["consistency"] = opt
        elif opt:
            raise ComposeError(f"invalid volume specification: {text!r}: unknown option {opt!r}", path=where)
    if entry["type"] == "bind":
        bind["create_host_path"] = True
        entry["bind"] = ordered(bind, BIND_ORDER)
    elif volume:
        entry["volume"] = volume
    return ordered(entry, VOLUME_ORDER)


# -- paths ----------------------------------------------------------------------------------


def resolve_service_paths(svc: dict[str, Any], base: str) -> dict[str, Any]:
    """Relative host paths of a (merged, not yet normalised) service made absolute
    against ``base``: build context, env_file, label_file, bind sources."""
    svc = dict(svc)
    build = svc.get("build")
    if isinstance(build, str):
        build = {"context": build}
    if isinstance(build, dict):
        build = dict(build)
        context = str(build.get("context") or ".")
        if not is_remote(context):
            build["context"] = abspath(context, base)
        svc["build"] = build
    if "env_file" in svc and svc["env_file"] is not None:
        files = []
        for entry in to_list(svc["env_file"]):
            if isinstance(entry, dict):
                entry = dict(entry, path=abspath(str(entry.get("path", "")), base))
            else:
                entry = abspath(str(entry), base)
            files.append(entry)
        svc["env_file"] = files
    if "label_file" in svc and svc["label_file"] is not None:
        svc["label_file"] = [abspath(str(p), base) for p in to_list(svc["label_file"])]
    if svc.get("volumes"):
        vols = []
        for i, v in enumerate(svc["volumes"]):
            if isinstance(v, str):
                source = v.split(":", 1)[0] if ":" in v else ""
                if source and is_bind_source(source):
                    v = parse_volume(v, f"volumes[{i}]", base)
            elif isinstance(v, dict) and v.get("type") == "bind" and v.get("source"):
                v = dict(v, source=abspath(str(v["source"]), base))
            vols.append(v)
        svc["volumes"] = vols
    ext = svc.get("extends")
    if isinstance(ext, dict) and ext.get("file"):
        svc["extends"] = dict(ext, file=abspath(str(ext["file"]), base))
    return svc


def resolve_paths(model: dict[str, Any], base: str) -> dict[str, Any]:
    """``resolve_service_paths`` for every service, and ``file`` of secrets and configs."""
    model = dict(model)
    if isinstance(model.get("services"), dict):
        model["services"] = {n: resolve_service_paths(s or {}, base) for n, s in model["services"].items()}
    for kind in ("secrets", "configs"):
        if isinstance(model.get(kind), dict):
            model[kind] = {n: (dict(d, file=abspath(str(d["file"]), base)) if isinstance(d, dict) and d.get("file")
                               else d) for n, d in model[kind].items()}
    return model


# -- services --------------------------------------------------------------------------------


def _command(value: Any, where: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [_str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise ComposeError(f"invalid command line: {exc}", path=where) from None


def _string_map(value: Any, sep: str = "=") -> dict[str, str]:
    return {str(k): ("" if v is None else _str(v)) for k, v in to_mapping(value, sep).items()}


def _extra_hosts(value: Any) -> list[str]:
    out = []
    if isinstance(value, dict):
        for host, ip in value.items():
            for one in (ip if isinstance(ip, list) else [ip]):
                out.append(f"{host}={one}")
        return out
    for entry in to_list(value):
        text = str(entry)
        if "=" in text:
            out.append(text)
        else:
            host, _, ip = text.partition(":")
            out.append(f"{host}={ip}")
    return out


def _environment(name: str, svc: dict[str, Any], env: Mapping[str, str]) -> dict[str, str | None]:
    """env_file contents, then ``environment`` over them; bare keys looked up in ``env``."""
    result: dict[str, str | None] = {}
    for entry in svc.get("env_file") or []:
        path = entry["path"] if isinstance(entry, dict) else entry
        required = entry.get("required", True) if isinstance(entry, dict) else True
        if not os.path.exists(path):
            if required:
                raise ComposeError(f"env file {path} not found: stat {path}: no such file or directory",
                                   path=f"services.{name}.env_file")
            continue

        def lookup(key: str) -> str | None:
            value = result.get(key)
            return value if value is not None else env.get(key)

        result.update(dotenv.read(path, lookup))
    for key, value in to_mapping(svc.get("environment")).items():
        if value is None:
            result[key] = env.get(key)
        else:
            result[key] = _str(value)
    return result


def _depends_on(value: Any, where: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if isinstance(value, list):
        for dep in value:
            out[str(dep)] = {"condition": "service_started", "required": True}
        return out
    for dep, spec in (value or {}).items():
        spec = dict(spec or {})
        entry: dict[str, Any] = {"condition": spec.get("condition") or "service_started"}
        if spec.get("restart") is not None and boolean(spec["restart"], f"{where}.{dep}.restart"):
            entry["restart"] = True
        entry["required"] = boolean(spec.get("required", True), f"{where}.{dep}.required")
        out[str(dep)] = entry
    return out


def _healthcheck(value: dict[str, Any], where: str) -> dict[str, Any]:
    hc = dict(value)
    if hc.get("disable") is not None and boolean(hc["disable"], where + ".disable"):
        if hc.get("test") not in (None, ["NONE"]):
            raise ComposeError("test and disable can't be set at the same time", path=where)
        return {"test": ["NONE"]}
    hc.pop("disable", None)
    test = hc.get("test")
    if isinstance(test, str):
        hc["test"] = ["CMD-SHELL", test]
    elif isinstance(test, list):
        hc["test"] = [_str(t) for t in test]
    for key in ("timeout", "interval", "start_period", "start_interval"):
        if hc.get(key) is not None:
            hc[key] = duration(hc[key], f"{where}.{key}")
    if hc.get("retries") is not None:
        hc["retries"] = integer(hc["retries"], where + ".retries")
    return hc


def normalize_service(name: str, raw: dict[str, Any], env: Mapping[str, str], base: str) -> dict[str, Any]:
    """One service in canonical form (see the module docstring). ``base`` is the project
    directory (paths were already made absolute by ``resolve_paths``)."""
    where = f"services.{name}"
    svc = {k: v for k, v in (raw or {}).items() if v is not None or k in ("command", "entrypoint")}
    svc.pop("extends", None)
    if "build" in svc:
        build = svc["build"]
        if isinstance(build, str):
            build = {"context": build}
        build = dict(build)
        build.setdefault("context", base)
        if not is_remote(str(build["context"])):
            build["context"] = abspath(str(build["context"]), base)
        if not build.get("dockerfile_inline"):
            build.setdefault("dockerfile", "Dockerfile")
        if "args" in build:
            build["args"] = {k: (_str(v) if v is not None else env.get(k)) for k, v in to_mapping(build["args"]).items()}
        for key in ("labels",):
            if key in build:
                build[key] = _string_map(build[key])
        if "extra_hosts" in build:
            build["extra_hosts"] = _extra_hosts(build["extra_hosts"])
        if "shm_size" in build:
            build["shm_size"] = size(build["shm_size"], where + ".build.shm_size")
        svc["build"] = ordered(build, BUILD_ORDER)
    for key in ("command", "entrypoint"):
        if key in svc:
            svc[key] = _command(svc[key], f"{where}.{key}")
            if svc[key] is None:
                del svc[key]
    if "environment" in svc or "env_file" in svc:
        if "env_file" in svc:
            svc["env_file"] = [dict(e, path=abspath(str(e.get("path", "")), base), required=e.get("required", True))
                               if isinstance(e, dict) else {"path": abspath(str(e), base), "required": True}
                               for e in to_list(svc["env_file"])]
        environment = _environment(name, svc, env)
        if environment:
            svc["environment"] = environment
        else:
            svc.pop("environment", None)
    for key in ("labels", "annotations"):
        if key in svc:
            svc[key] = _string_map(svc[key])
    if "sysctls" in svc:
        svc["sysctls"] = _string_map(svc["sysctls"])
    if "label_file" in svc:
        labels: dict[str, str] = {}
        for path in svc["label_file"]:
            labels.update({k: v for k, v in dotenv.read(path).items()})
        labels.update(svc.get("labels") or {})
        svc["labels"] = labels
    if "ports" in svc:
        ports = []
        for i, p in enumerate(svc["ports"]):
            ports.extend(parse_port(p, f"{where}.ports[{i}]"))
        svc["ports"] = ports
    if "expose" in svc:
        svc["expose"] = [_str(e) for e in to_list(svc["expose"])]
    if "volumes" in svc:
        svc["volumes"] = [parse_volume(v, f"{where}.volumes[{i}]", base) for i, v in enumerate(svc["volumes"])]
    if "tmpfs" in svc:
        svc["tmpfs"] = [str(t) for t in to_list(svc["tmpfs"])]
    for key in ("dns", "dns_search"):
        if key in svc:
            svc[key] = [str(t) for t in to_list(svc[key])]
    if "extra_hosts" in svc:
        svc["extra_hosts"] = _extra_hosts(svc["extra_hosts"])
    if "networks" in svc:
        nets = svc["networks"]
        if isinstance(nets, list):
            nets = {str(n): None for n in nets}
        out_nets: dict[str, Any] = {}
        for net, spec in nets.items():
            if spec is None:
                out_nets[net] = None
                continue
            spec = dict(spec)
            if "aliases" in spec:
                spec["aliases"] = [str(a) for a in spec["aliases"]]
            out_nets[net] = ordered(spec, SERVICE_NETWORK_ORDER)
        svc["networks"] = out_nets
    elif "network_mode" not in svc:
        svc["networks"] = {"default": None}
    depends = _depends_on(svc.get("depends_on"), where + ".depends_on")
    # Implied dependencies (compose-go adds them too): links, network_mode, volumes_from.
    for link in svc.get("links") or []:
        target = str(link).split(":", 1)[0]
        depends.setdefault(target, {"condition": "service_started", "restart": True, "required": True})
    mode = str(svc.get("network_mode") or "")
    if mode.startswith("service:"):
        depends.setdefault(mode[len("service:"):], {"condition": "service_started", "restart": True,
                                                     "required": True})
    for source in svc.get("volumes_from") or []:
        source = str(source)
        if not source.startswith("container:"):
            depends.setdefault(source.split(":", 1)[0], {"condition": "service_started", "required": True})
    if depends:
        svc["depends_on"] = {k: ordered(v, DEPENDENCY_ORDER) for k, v in depends.items()}
    else:
        svc.pop("depends_on", None)
    if "healthcheck" in svc:
        svc["healthcheck"] = _healthcheck(svc["healthcheck"], where + ".healthcheck")
    if "stop_grace_period" in svc:
        svc["stop_grace_period"] = duration(svc["stop_grace_period"], where + ".stop_grace_period")
    for key in ("mem_limit", "mem_reservation", "memswap_limit", "shm_size"):
        if key in svc:
            svc[key] = size(svc[key], f"{where}.{key}") if svc[key] != -1 else -1
    for key in ("cpu_shares", "cpu_quota", "cpu_period", "pids_limit", "oom_score_adj", "scale", "cpu_count"):
        if key in svc:
            svc[key] = integer(svc[key], f"{where}.{key}")
    if "cpus" in svc:
        try:
            svc["cpus"] = float(svc["cpus"])
        except (TypeError, ValueError):
            raise ComposeError(f"invalid cpus value: {svc['cpus']!r}", path=where + ".cpus") from None
    for key in ("init", "read_only", "privileged", "tty", "stdin_open", "oom_kill_disable"):
        if key in svc:
            svc[key] = boolean(svc[key], f"{where}.{key}")
    if "deploy" in svc:
        deploy = dict(svc["deploy"] or {})
        if deploy.get("replicas") is not None:
            deploy["replicas"] = integer(deploy["replicas"], where + ".deploy.replicas")
        resources = dict(deploy.get("resources") or {})
        for part in ("limits", "reservations"):
            if resources.get(part):
                res = dict(resources[part])
                if "memory" in res:
                    res["memory"] = size(res["memory"], f"{where}.deploy.resources.{part}.memory")
                if "cpus" in res:
                    try:
                        res["cpus"] = float(res["cpus"])
                    except (TypeError, ValueError):
                        raise ComposeError(f"invalid cpus value: {res['cpus']!r}",
                                           path=f"{where}.deploy.resources.{part}.cpus") from None
                if "pids" in res:
                    res["pids"] = integer(res["pids"], f"{where}.deploy.resources.{part}.pids")
                resources[part] = ordered(res, RESOURCE_ORDER)
        if resources:
            deploy["resources"] = resources
        if "labels" in deploy:
            deploy["labels"] = _string_map(deploy["labels"])
        from .rollout import parse_policy  # rolling-update policies are checked at load, before anything runs

        for key in ("update_config", "rollback_config"):
            parse_policy(deploy.get(key), f"{where}.deploy.{key}")
        svc["deploy"] = ordered(deploy, DEPLOY_ORDER)
        replicas = deploy.get("replicas")
        if replicas is not None and svc.get("scale") is not None and svc["scale"] != replicas:
            raise ComposeError("can't set distinct values on 'scale' and 'deploy.replicas'", path=where)
    if "logging" in svc:
        logging = dict(svc["logging"] or {})
        if "options" in logging:
            logging["options"] = {str(k): _str(v) for k, v in (logging["options"] or {}).items()}
        svc["logging"] = ordered(logging, ["driver", "options"])
    if "restart" in svc:
        svc["restart"] = _str(svc["restart"])
    for key in ("user", "working_dir", "hostname", "domainname", "container_name", "stop_signal", "image",
                "network_mode", "pid", "ipc"):
        if key in svc:
            svc[key] = _str(svc[key])
    if "ulimits" in svc:
        svc["ulimits"] = {k: (integer(v, f"{where}.ulimits.{k}") if not isinstance(v, dict)
                              else {kk: integer(vv, f"{where}.ulimits.{k}.{kk}") for kk, vv in v.items()})
                          for k, v in svc["ulimits"].items()}
    if "secrets" in svc:
        svc["secrets"] = [{"source": s, "target": f"/run/secrets/{s}"} if isinstance(s, str)
                          else dict(s, target=s.get("target") or f"/run/secrets/{s['source']}")
                          for s in svc["secrets"]]
    if "configs" in svc:
        svc["configs"] = [{"source": c} if isinstance(c, str) else dict(c) for c in svc["configs"]]
    if "x-baleine-autoscale" in svc:  # checked at load, before anything runs (compose/autoscale.py)
        from .autoscale import EXTENSION, normalize as normalize_autoscale

        svc[EXTENSION] = normalize_autoscale(svc, where)
    if "x-baleine-ingress" in svc:  # checked at load; becomes the io.baleine.ingress label (compose/ingress.py)
        from .ingress import apply as apply_ingress

        apply_ingress(svc, where)
    return order_service(svc)


def scale_of(svc: dict[str, Any]) -> int:
    """How many containers a normalised service runs (``scale``, ``deploy.replicas``, 1)."""
    if svc.get("scale") is not None:
        return int(svc["scale"])
    replicas = (svc.get("deploy") or {}).get("replicas")
    if svc.get("x-baleine-autoscale"):  # within the autoscaler's [min, max]
        from .autoscale import initial_scale

        return initial_scale(svc, 1 if replicas is None else int(replicas))
    return 1 if replicas is None else int(replicas)


# -- networks and volumes ----------------------------------------------------------------------


def _external(value: Any, key: str, kind: str) -> tuple[bool, str | None]:
    """``external: true`` or the legacy ``external: {name: x}`` → (external, name)."""
    if isinstance(value, dict):
        return True, value.get("name")
    return bool(value), None


def normalize_network(project: str, key: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    net = dict(raw or {})
    external, legacy_name = _external(net.get("external"), key, "network")
    if legacy_name and not net.get("name"):
        net["name"] = legacy_name
    if external:
        net["external"] = True
        net.setdefault("name", key)
    else:
        net.pop("external", None)
        net.setdefault("name", f"{project}_{key}")
    if "labels" in net:
        net["labels"] = _string_map(net["labels"])
    if "driver_opts" in net:
        net["driver_opts"] = {str(k): _str(v) for k, v in (net["driver_opts"] or {}).items()}
    for flag in ("internal", "attachable", "enable_ipv6", "enable_ipv4"):
        if flag in net:
            net[flag] = boolean(net[flag], f"networks.{key}.{flag}")
    return ordered(net, NETWORK_ORDER)


def normalize_volume(project: str, key: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    vol = dict(raw or {})
    external, legacy_name = _external(vol.get("external"), key, "volume")
    if legacy_name and not vol.get("name"):
        vol["name"] = legacy_name
    if external:
        vol["external"] = True
        vol.setdefault("name", key)
    else:
        vol.pop("external", None)
        vol.setdefault("name", f"{project}_{key}")
    if "labels" in vol:
        vol["labels"] = _string_map(vol["labels"])
    if "driver_opts" in vol:
        vol["driver_opts"] = {str(k): _str(v) for k, v in (vol["driver_opts"] or {}).items()}
    return ordered(vol, VOLUME_DEF_ORDER)


_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def normalize_project_name(name: str) -> str:
    """A directory name made into a project name (lowercase, only ``[a-z0-9_-]``,
    starting with a letter or digit), as compose does for the default name."""
    name = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return name.lstrip("_-")


def check_project_name(name: str) -> str:
    """An explicit project name (``-p``, ``name:``, ``COMPOSE_PROJECT_NAME``), validated."""
    if not name:
        raise ComposeError("project name must not be empty")
    if not _PROJECT_NAME.match(name):
        raise ComposeError(f"invalid project name {name!r}: must consist only of lowercase alphanumeric "
                           "characters, hyphens, and underscores as well as start with a letter or number")
    return name
