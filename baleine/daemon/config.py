"""``daemon.json``: the daemon's configuration file, in dockerd's format.

Every key is the long name of a ``baleine daemon`` flag, as dockerd's keys are its
flags' names (plural for the flags that repeat: ``hosts``, ``dns``,
``insecure-registries``, ``registry-mirrors``, ``default-address-pools``,
``log-opts``, ``labels``). The file and the command line are merged as dockerd
merges them: a directive given in both places is an error naming both values; a key
that names no option, or a value of the wrong type, is an error naming the key.

Pure but for reading the file: :func:`load` returns the settings, :func:`merge`
applies them to the parsed arguments.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_PATH = "/etc/baleine/daemon.json"


class ConfigError(Exception):
    """The configuration file cannot be used; the message is dockerd's."""


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"invalid value for {key}: {json.dumps(value)}: expected a string")
    return value


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"invalid value for {key}: {json.dumps(value)}: expected true or false")
    return value


def _integer(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"invalid value for {key}: {json.dumps(value)}: expected an integer")
    return value


def _strings(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"invalid value for {key}: {json.dumps(value)}: expected a list of strings")
    return list(value)


def _log_opts(key: str, value: Any) -> list[str]:
    """``{"max-size": "10m"}`` → the flag's ``["max-size=10m"]``."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"invalid value for {key}: {json.dumps(value)}: expected an object of strings")
    return [f"{k}={v}" for k, v in value.items()]


def _pools(key: str, value: Any) -> list[str]:
    """``[{"base": "10.0.0.0/8", "size": 24}]`` → the flag's ``["base=10.0.0.0/8,size=24"]``."""
    if not isinstance(value, list):
        raise ConfigError(f"invalid value for {key}: {json.dumps(value)}: expected a list of pools")
    out = []
    for pool in value:
        if (not isinstance(pool, dict) or set(pool) - {"base", "size"} or not isinstance(pool.get("base"), str)
                or isinstance(pool.get("size"), bool) or not isinstance(pool.get("size"), int)):
            raise ConfigError(f"invalid value for {key}: {json.dumps(pool)}: expected {{\"base\": CIDR, \"size\": N}}")
        out.append(f"base={pool['base']},size={pool['size']}")
    return out


@dataclass(frozen=True)
class Key:
    """One directive of the file: the argparse destination it sets and its decoder."""

    dest: str
    decode: Callable[[str, Any], Any]
    flag: str  # the flag's name, for messages


def _k(dest: str, decode: Callable[[str, Any], Any], flag: str) -> Key:
    return Key(dest, decode, flag)


# dockerd's key → what it sets. Keys name options Baleine has; the others are refused
# as unknown rather than silently ignored.
KEYS: dict[str, Key] = {
    "hosts": _k("host", _strings, "host"),
    "data-root": _k("data_root", _string, "data-root"),
    "exec-root": _k("exec_root", _string, "exec-root"),
    "default-runtime": _k("runtime", _string, "default-runtime"),
    "cgroup-parent": _k("cgroup_parent", _string, "cgroup-parent"),
    "container-monitor": _k("container_monitor", _string, "container-monitor"),  # Baleine's own
    "log-level": _k("log_level", _string, "log-level"),
    "log-format": _k("log_format", _string, "log-format"),
    "log-opts": _k("log_opt", _log_opts, "log-opt"),
    "group": _k("group", _string, "group"),
    "pidfile": _k("pidfile", _string, "pidfile"),
    "labels": _k("label", _strings, "label"),
    "bridge": _k("bridge", _string, "bridge"),
    "bip": _k("bip", _string, "bip"),
    "default-address-pools": _k("pools", _pools, "default-address-pool"),
    "dns": _k("dns", _strings, "dns"),
    "ip-forward": _k("ip_forward", _boolean, "ip-forward"),
    "iptables": _k("iptables", _boolean, "iptables"),
    "ip-masq": _k("ip_masq", _boolean, "ip-masq"),
    "icc": _k("icc", _boolean, "icc"),
    "mtu": _k("mtu", _integer, "mtu"),
    "insecure-registries": _k("insecure_registry", _strings, "insecure-registry"),
    "registry-mirrors": _k("registry_mirror", _strings, "registry-mirror"),
    "registry-hub": _k("registry_hub", _string, "registry-hub"),
    "registry-addr": _k("registry_addr", _string, "registry-addr"),
    "registry-root": _k("registry_root", _string, "registry-root"),
    "registry-htpasswd": _k("registry_htpasswd", _string, "registry-htpasswd"),
    "tls": _k("tls", _boolean, "tls"),
    "tlsverify": _k("tlsverify", _boolean, "tlsverify"),
    "tlscacert": _k("tlscacert", _string, "tlscacert"),
    "tlscert": _k("tlscert", _string, "tlscert"),
    "tlskey": _k("tlskey", _string, "tlskey"),
    "kube-addr": _k("kube_addr", _string, "kube-addr"),
    "ingress-image": _k("ingress_image", _string, "ingress-image"),
    "ingress-http-port": _k("ingress_http_port", _integer, "ingress-http-port"),
    "ingress-https-port": _k("ingress_https_port", _integer, "ingress-https-port"),
    "ui-addr": _k("ui_addr", _string, "ui-addr"),
    "ui-tlscert": _k("ui_tlscert", _string, "ui-tlscert"),
    "ui-tlskey": _k("ui_tlskey", _string, "ui-tlskey"),
}

# What SIGHUP reloads, as dockerd does (daemon/reload.go): the rest needs a restart.
RELOADABLE = ("log-level", "labels", "registry-mirrors", "insecure-registries")


def load(path: str, required: bool) -> dict[str, Any]:
    """The file's directives decoded to argparse values, by key.

    A missing file is ``{}`` unless ``required`` (the administrator named it). Raises
    ConfigError for unreadable JSON, unknown keys and bad values."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"open {path}: no such file or directory") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"open {path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise ConfigError(f"invalid JSON in {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"invalid configuration in {path}: expected a JSON object")
    unknown = sorted(k for k in doc if k not in KEYS)
    if unknown:
        raise ConfigError(f"the following directives don't match any configuration option: {', '.join(unknown)}")
    return {key: KEYS[key].decode(key, value) for key, value in doc.items()}


def explicit_dests(p: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The destinations the command line set itself (not by default)."""
    shadow = argparse.ArgumentParser(add_help=False)
    for action in p._actions:  # noqa: SLF001 - argparse offers no public walk of its actions
        if not action.option_strings or isinstance(action, argparse._HelpAction):  # noqa: SLF001
            continue
        kwargs: dict[str, Any] = {"dest": action.dest, "default": argparse.SUPPRESS}
        if isinstance(action, argparse._AppendAction):  # noqa: SLF001
            kwargs["action"] = "append"
        elif action.nargs == 0:
            kwargs["action"] = "store_const"
            kwargs["const"] = action.const
        else:
            kwargs.update(nargs=action.nargs, const=action.const)
        shadow.add_argument(*action.option_strings, **kwargs)
    ns, _ = shadow.parse_known_args(argv)
    return set(vars(ns))


def merge(args: argparse.Namespace, settings: dict[str, Any], explicit: set[str], path: str) -> None:
    """Apply the file's ``settings`` to ``args``; ConfigError naming every directive
    given both as a flag and in the file, with both values (dockerd's message)."""
    conflicts = []
    for key, value in settings.items():
        dest = KEYS[key].dest
        if dest in explicit:
            conflicts.append(f"{key}: (from flag: {_show(getattr(args, dest))}, from file: {_show(value)})")
    if conflicts:
        raise ConfigError(f"unable to configure the Baleine daemon with file {path}: the following directives are "
                          f"specified both as a flag and in the configuration file: {', '.join(conflicts)}")
    for key, value in settings.items():
        setattr(args, KEYS[key].dest, value)


def _show(value: Any) -> str:
    """A value as Go's ``%v`` prints it (lists as ``[a b]``, booleans lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_show(v) for v in value) + "]"
    return str(value)


def config_path(args: argparse.Namespace) -> tuple[str, bool]:
    """The file to read and whether it must exist (named with ``--config-file``)."""
    if args.config_file:
        return os.path.abspath(args.config_file), True
    return DEFAULT_PATH, False
