"""The nested fields of a create request, checked at the door as dockerd checks them.

dockerd decodes ``POST /containers/create`` into Go structs: a label that is a
number, a ulimit given as a string, a memory size past int64, a host port that is
a number are refused by Go's decoder before anything is stored ("json: cannot
unmarshal number into Go struct field …"); port keys and MAC addresses are then
checked by the daemon ("invalid port specification", "invalid MAC address").
Baleine stores what it accepts and Go clients (the docker CLI, compose) read it
back into the same structs, so a value of the wrong type that got in would break
``docker ps`` or ``inspect`` for every container. :func:`check_create_body` raises
InvalidParameter (400) naming the field; the top-level field types are
``records.check_types``'s.

The other refusals dockerd makes at create, before anything is stored, live here
too, each with dockerd's message: the network-mode conflicts (validateNetMode),
security options (parseSecurityOpt), log options (ValidateLogOpts), the PID mode,
an image of another platform than the one asked (NotFound: the docker CLI then
tries a pull); and the warnings a create returns (``create_warnings``).
"""

from __future__ import annotations

import re
from typing import Any

from ..fieldtypes import INT64_MAX, INT64_MIN, json_kind
from ...rules.errors import InvalidParameter, NotFound

_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")
_PORT_PROTOCOLS = ("tcp", "udp", "sctp")


def _type_error(value: Any, struct: str, path: str, go_type: str) -> InvalidParameter:
    """Go's UnmarshalTypeError: the innermost struct, the field's path, the Go type."""
    return InvalidParameter(f"json: cannot unmarshal {json_kind(value)} into Go struct field {struct}.{path} "
                            f"of type {go_type}")


def _string_map(doc: dict[str, Any], key: str, struct: str, path: str) -> None:
    """``doc[key]`` is null or an object whose values are strings (map[string]string);
    a null value becomes "" in place, as Go decodes it."""
    value = doc.get(key)
    if value is None:
        return
    if not isinstance(value, dict):
        raise _type_error(value, struct, path, "map[string]string")
    for name, item in value.items():
        if item is None:
            value[name] = ""
        elif not isinstance(item, str):
            raise _type_error(item, struct, path, "string")


def _int64(value: Any, struct: str, path: str) -> None:
    """A JSON number that fits in an int64 (Go refuses fractions and overflows)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(value, struct, path, "int64")
    if isinstance(value, float) or not INT64_MIN <= value <= INT64_MAX:
        raise InvalidParameter(f"json: cannot unmarshal number {value} into Go struct field {struct}.{path} "
                               "of type int64")


def _config_fields(body: dict[str, Any]) -> None:
    _string_map(body, "Labels", "ContainerConfigWrapper", "Labels")
    volumes = body.get("Volumes")
    if isinstance(volumes, dict):
        for item in volumes.values():
            if item is not None and not isinstance(item, dict):
                raise _type_error(item, "ContainerConfigWrapper", "Volumes", "struct {}")
    exposed = body.get("ExposedPorts")
    if isinstance(exposed, dict):
        for key, item in exposed.items():
            _port_key(key)
            if item is not None and not isinstance(item, dict):
                raise _type_error(item, "ContainerConfigWrapper", "ExposedPorts", "struct {}")
    mac = body.get("MacAddress")
    if mac and not _MAC.match(mac):
        raise InvalidParameter(f"invalid MAC address {mac}")


def _port_key(key: str) -> None:
    """``port[/proto]`` as nat.Port: a port (or range) of 1-65535 and a known protocol."""
    port, _, proto = key.partition("/")
    lo, _, hi = port.partition("-")
    try:
        numbers = [int(lo)] + ([int(hi)] if hi else [])
    except ValueError:
        raise InvalidParameter(f"invalid port specification: \"{port}\"") from None
    if not all(0 < n <= 65535 for n in numbers) or (hi and numbers[1] < numbers[0]):
        raise InvalidParameter(f"invalid port specification: \"{port}\"")
    if proto and proto.lower() not in _PORT_PROTOCOLS:
        raise InvalidParameter(f"invalid proto: {proto}")


def _host_config_fields(hc: dict[str, Any]) -> None:
    for key in ("Sysctls", "Annotations", "StorageOpt"):
        _string_map(hc, key, "HostConfig", f"HostConfig.{key}")
    for key in ("Memory", "MemorySwap", "MemoryReservation", "ShmSize", "NanoCpus", "CpuShares", "CpuPeriod",
                "CpuQuota", "PidsLimit", "KernelMemory", "KernelMemoryTCP"):
        _int64(hc.get(key), "HostConfig", f"HostConfig.{key}")
    if (hc.get("ShmSize") or 0) < 0:
        raise InvalidParameter("SHM size can not be less than 0")
    log_cfg = hc.get("LogConfig")
    if isinstance(log_cfg, dict):
        _string_map(log_cfg, "Config", "LogConfig", "HostConfig.LogConfig.Config")
    ulimits = hc.get("Ulimits")
    if ulimits is not None:
        if not isinstance(ulimits, list):
            raise _type_error(ulimits, "HostConfig", "HostConfig.Ulimits", "[]*container.Ulimit")
        for limit in ulimits:
            _ulimit(limit)
    bindings = hc.get("PortBindings")
    if isinstance(bindings, dict):
        for key, items in bindings.items():
            _port_key(key)
            _port_bindings(items)


def _ulimit(limit: Any) -> None:
    if limit is None:
        return
    if not isinstance(limit, dict):
        raise _type_error(limit, "HostConfig", "HostConfig.Ulimits", "container.Ulimit")
    if limit.get("Name") is not None and not isinstance(limit["Name"], str):
        raise _type_error(limit["Name"], "Ulimit", "HostConfig.Ulimits.Name", "string")
    for key in ("Soft", "Hard"):
        _int64(limit.get(key), "Ulimit", f"HostConfig.Ulimits.{key}")


def _port_bindings(items: Any) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        raise _type_error(items, "HostConfig", "HostConfig.PortBindings", "nat.PortMap")
    for item in items:
        if item is None:
            continue
        if not isinstance(item, dict):
            raise _type_error(item, "HostConfig", "HostConfig.PortBindings", "nat.PortBinding")
        for key in ("HostIp", "HostPort"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise _type_error(item[key], "PortBinding", f"HostConfig.PortBindings.{key}", "string")


def check_create_body(body: dict[str, Any]) -> None:
    """Raise InvalidParameter for the first nested field of a create body that Go's
    decoder or dockerd's create checks refuse (the top-level types are checked first)."""
    _config_fields(body)
    hc = body.get("HostConfig")
    if isinstance(hc, dict):
        _host_config_fields(hc)


def check_net_mode(body: dict[str, Any]) -> None:
    """dockerd's validateNetMode for a container sharing another's network: no port
    publishing or exposing of its own (the request's, before the image's are merged)."""
    hc = body.get("HostConfig") or {}
    mode = hc.get("NetworkMode") or ""
    if not mode.startswith("container:"):
        return
    if not mode.split(":", 1)[1]:
        raise InvalidParameter("Invalid network mode: invalid container format container:<name|id>")
    if hc.get("PortBindings") or hc.get("PublishAllPorts"):
        raise InvalidParameter("conflicting options: port publishing and the container type network mode")
    if body.get("ExposedPorts"):
        raise InvalidParameter("conflicting options: port exposing and the container type network mode")


def check_pid_mode(mode: str | None) -> None:
    """Go's PidMode.Valid: "", "host", or "container:" and a name."""
    if not mode or mode == "host" or (mode.startswith("container:") and mode.split(":", 1)[1]):
        return
    raise InvalidParameter(f"invalid PID mode: {mode}")


def create_warnings(body: dict[str, Any]) -> list[str]:
    """The warnings dockerd returns with a create it accepts (printed by the CLI)."""
    hc = body.get("HostConfig") or {}
    warnings = []
    if hc.get("NetworkMode") == "host" and hc.get("PortBindings"):
        warnings.append("Published ports are discarded when using host network mode")
    return warnings


#: the options dockerd's parseSecurityOpt knows (the CLI translates the rest, e.g.
#: systempaths=unconfined, before sending)
_SECURITY_KEYS = ("label", "apparmor", "seccomp", "no-new-privileges", "writable-cgroups")


def check_security_opts(opts: list[str] | None) -> None:
    """dockerd's parseSecurityOpt: ``key=value`` (or the deprecated ``key:value``)
    with a known key, ``no-new-privileges`` and ``disable`` alone."""
    for opt in opts or []:
        if opt in ("no-new-privileges", "disable"):
            continue
        sep = "=" if "=" in opt else ":" if ":" in opt else ""
        if not sep:
            raise InvalidParameter(f"invalid --security-opt 1: {_go_quote(opt)}")
        key, _, value = opt.partition(sep)
        if key not in _SECURITY_KEYS:
            raise InvalidParameter(f"invalid --security-opt 2: {_go_quote(opt)}")
        if key in ("no-new-privileges", "writable-cgroups") and value.lower() not in _GO_BOOLS:
            raise InvalidParameter(f"invalid --security-opt 2: {_go_quote(opt)}")


_GO_BOOLS = ("1", "t", "true", "0", "f", "false")

#: each log driver's options (moby's validators); "none" takes anything
_LOG_OPTS = {
    "json-file": ("max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"),
    "local": ("max-file", "max-size", "compress"),
}
#: the drivers dockerd registers (a name outside them is "no log driver named ...")
_DOCKERD_LOG_DRIVERS = ("json-file", "local", "none", "syslog", "journald", "gelf", "fluentd", "awslogs",
                        "splunk", "etwlogs", "gcplogs", "logentries")
#: options every driver takes (moby's ValidateLogOpts strips them first)
_COMMON_LOG_OPTS = ("mode", "max-buffer-size")


def check_log_opts(driver: str, opts: dict[str, str] | None) -> None:
    """moby's ValidateLogOpts: the delivery mode, then the driver's own keys."""
    if driver == "none":
        return
    opts = opts or {}
    mode = opts.get("mode", "")
    if mode not in ("", "blocking", "non-blocking"):
        raise InvalidParameter(f"logger: logging mode not supported: {mode}")
    if driver not in _DOCKERD_LOG_DRIVERS:
        raise InvalidParameter(f"logger: no log driver named '{driver}' is registered")
    known = _LOG_OPTS.get(driver)
    if known is None:
        return
    for key in opts:
        if key in _COMMON_LOG_OPTS or key in known:
            continue
        if driver == "json-file":
            raise InvalidParameter(f"unknown log opt '{key}' for json-file log driver")
        raise InvalidParameter(f"unknown log opt '{key}' for log driver {driver}")


_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm",
                 "i386": "386"}
_OSES = ("linux", "windows", "darwin", "freebsd")


def parse_platform(text: str) -> tuple[str, str, str]:
    """containerd's platforms.Parse, normalized: (os, architecture, variant)."""
    parts = text.strip().lower().split("/")
    if not parts[0] or len(parts) > 3 or any(not p for p in parts):
        raise InvalidParameter(f"error parsing specified platform: \"{text}\": invalid platform specifier")
    if len(parts) == 1:
        parts = [parts[0], "amd64"] if parts[0] in _OSES else ["linux", parts[0]]
    os_name, arch = parts[0], _ARCH_ALIASES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else ""
    if arch == "arm64" and variant == "v8":
        variant = ""
    return os_name, arch, variant


def check_platform(ref: str, image_config: dict[str, Any], platform: str | None) -> None:
    """NotFound, worded as dockerd's, when ``platform`` is given and the image is
    for another (the docker CLI then tries a pull of the wanted platform)."""
    if not platform:
        return
    want_os, want_arch, want_variant = parse_platform(platform)
    img_os = image_config.get("os") or "linux"
    img_arch = _ARCH_ALIASES.get(image_config.get("architecture") or "", image_config.get("architecture") or "")
    img_variant = image_config.get("variant") or ""
    if img_arch == "arm64" and img_variant == "v8":
        img_variant = ""
    if img_os == want_os and img_arch == want_arch and (not want_variant or want_variant == img_variant):
        return
    wanted = "/".join(p for p in (want_os, want_arch, want_variant) if p)
    actual = "/".join(p for p in (img_os, img_arch, img_variant) if p)
    raise NotFound(f"image with reference {ref} was found but does not match the specified platform: "
                   f"wanted {wanted}, actual: {actual}")


def _go_quote(text: str) -> str:
    """Go's %q for the printable strings these messages quote."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
