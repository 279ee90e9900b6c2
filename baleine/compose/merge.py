"""Merging compose models: ``-f a.yml -f b.yml``, ``extends``, the specification's rules.

As compose-go's ``override`` package:

- mappings merge key by key, recursively; scalars are replaced;
- sequences are appended, then made unique where the specification says an entry
  has an identity (``ports`` by host IP, published port, target and protocol;
  ``volumes`` by target; ``secrets``/``configs`` by target; ``cap_add``, ``dns``,
  ``expose``, ``profiles``… by value): a later entry replaces the earlier one in place;
- ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced, never appended;
- ``environment``, ``labels``, ``annotations``, ``sysctls``, ``build.args`` and other
  "list or dict" fields merge as mappings, whichever syntax each side uses;
- ``depends_on`` and a service's ``networks`` given as lists become mappings first;
- ``logging`` merges only when both sides name the same driver (or one names none);
- ``!reset`` removes the key, ``!override VALUE`` replaces it whole.

Everything here is pure: inputs are never modified.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .errors import ComposeError, format_path
from .yamlfile import Override, Reset


def clean(value: Any) -> Any:
    """A deep copy with ``!override`` unwrapped and ``!reset`` entries dropped."""
    if isinstance(value, Override):
        return clean(value.value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [clean(v) for v in value if not isinstance(v, Reset)]
    return copy.deepcopy(value)


def _matches(path: tuple[Any, ...], pattern: tuple[str, ...]) -> bool:
    if len(path) != len(pattern):
        return False
    for p, q in zip(path, pattern):
        if q == "*":
            continue
        if q == "[]":
            if not isinstance(p, int):
                return False
            continue
        if p != q:
            return False
    return True


def _compile(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.replace("[]", ".[]").split("."))


# -- field conversions ------------------------------------------------------------------


def to_mapping(value: Any, sep: str = "=") -> dict[str, Any]:
    """A "list or dict" value as a dict: ``["A=1", "B"]`` → ``{"A": "1", "B": None}``."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            text = str(item)
            key, found, val = text.partition(sep)
            out[key] = val if found else None
        return out
    return {str(value): None}


def to_list(value: Any) -> list[Any]:
    """A "string or list" value as a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def _names_to_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {str(v): None for v in value}
    return dict(value or {})


def _depends_on_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {str(v): {"condition": "service_started", "required": True} for v in value}
    return dict(value or {})


def _extra_hosts_list(value: Any) -> list[str]:
    if isinstance(value, dict):
        out = []
        for host, ip in value.items():
            for one in (ip if isinstance(ip, list) else [ip]):
                out.append(f"{host}={one}")
        return out
    return [str(v) for v in to_list(value)]


# -- identity of sequence entries -------------------------------------------------------


def _scalar_key(entry: Any) -> Any:
    if isinstance(entry, (dict, list)):
        return repr(entry)
    return str(entry)


def _key_value_key(entry: Any) -> Any:
    if isinstance(entry, str):
        return entry.partition("=")[0]
    return _scalar_key(entry)


def _port_key(entry: Any) -> Any:
    if isinstance(entry, dict):
        return (f"{entry.get('host_ip', '')}:{entry.get('published', '')}:{entry.get('target', '')}/"
                f"{entry.get('protocol', 'tcp')}")
    return str(entry)


def volume_target(entry: Any) -> Any:
    """The container path of a service volume, in short (``src:dst:ro``) or long syntax."""
    if isinstance(entry, dict):
        return entry.get("target")
    text = str(entry)
    parts = text.split(":")
    if len(parts) == 1:
        return parts[0]
    return parts[1]


def _mount_key(default_dir: str) -> Callable[[Any], Any]:
    def key(entry: Any) -> Any:
        if isinstance(entry, dict):
            target = entry.get("target")
            if target:
                return target
            source = entry.get("source", "")
            return f"{default_dir}/{source}" if default_dir else f"/{source}"
        return f"{default_dir}/{entry}" if default_dir else f"/{entry}"
    return key


def _env_file_key(entry: Any) -> Any:
    if isinstance(entry, dict):
        return entry.get("path")
    return str(entry)


def _device_key(entry: Any) -> Any:
    if isinstance(entry, dict):
        return entry.get("target") or entry.get("source")
    parts = str(entry).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


_UNIQUE: list[tuple[tuple[str, ...], Callable[[Any], Any]]] = [
    (_compile(p), f) for p, f in [
        ("services.*.build.tags", _scalar_key),
        ("services.*.build.platforms", _scalar_key),
        ("services.*.build.cache_from", _scalar_key),
        ("services.*.cap_add", _scalar_key),
        ("services.*.cap_drop", _scalar_key),
        ("services.*.devices", _device_key),
        ("services.*.configs", _mount_key("")),
        ("services.*.secrets", _mount_key("/run/secrets")),
        ("services.*.dns", _scalar_key),
        ("services.*.dns_opt", _scalar_key),
        ("services.*.dns_search", _scalar_key),
        ("services.*.env_file", _env_file_key),
        ("services.*.label_file", _scalar_key),
        ("services.*.expose", _scalar_key),
        ("services.*.extra_hosts", _scalar_key),
        ("services.*.links", _scalar_key),
        ("services.*.networks.*.aliases", _scalar_key),
        ("services.*.networks.*.link_local_ips", _scalar_key),
        ("services.*.ports", _port_key),
        ("services.*.profiles", _scalar_key),
        ("services.*.security_opt", _scalar_key),
        ("services.*.tmpfs", _scalar_key),
        ("services.*.volumes", volume_target),
        ("services.*.volumes_from", _scalar_key),
        ("services.*.group_add", _scalar_key),
        ("services.*.device_cgroup_rules", _scalar_key),
        ("networks.*.ipam.config", lambda e: e.get("subnet") if isinstance(e, dict) else _scalar_key(e)),
    ]
]


def _unique(seq: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    out: list[Any] = []
    index: dict[Any, int] = {}
    for entry in seq:
        k = key(entry)
        if k in index:
            out[index[k]] = entry
            continue
        index[k] = len(out)
        out.append(entry)
    return out


def enforce_unicity(model: Any, path: tuple[Any, ...] = ()) -> Any:
    """A copy of ``model`` where sequences with an identity hold each identity once
    (the last definition, at the first one's place)."""
    if isinstance(model, dict):
        return {k: enforce_unicity(v, path + (k,)) for k, v in model.items()}
    if isinstance(model, list):
        for pattern, key in _UNIQUE:
            if _matches(path, pattern):
                model = _unique(model, key)
                break
        return [enforce_unicity(v, path + (i,)) for i, v in enumerate(model)]
    return model


# -- merging ----------------------------------------------------------------------------


def _replace(base: Any, other: Any, path: tuple[Any, ...]) -> Any:
    return clean(other)


def _merge_as_mapping(conv: Callable[[Any], dict[str, Any]]) -> Callable[[Any, Any, tuple[Any, ...]], Any]:
    def merger(base: Any, other: Any, path: tuple[Any, ...]) -> Any:
        return _merge_mappings(conv(clean(base)), conv(other), path)
    return merger


def _merge_as_list(conv: Callable[[Any], list[Any]]) -> Callable[[Any, Any, tuple[Any, ...]], Any]:
    def merger(base: Any, other: Any, path: tuple[Any, ...]) -> Any:
        return conv(clean(base)) + conv(clean(other))
    return merger


def _merge_build(base: Any, other: Any, path: tuple[Any, ...]) -> Any:
    def conv(v: Any) -> Any:
        return {"context": v} if isinstance(v, str) else v
    return _merge_mappings(conv(clean(base)), conv(other), path)


def _merge_logging(base: Any, other: Any, path: tuple[Any, ...]) -> Any:
    if not isinstance(base, dict) or not isinstance(other, dict):
        return clean(other)
    if "driver" in other and "driver" in base and other["driver"] != base["driver"]:
        return clean(other)
    return _merge_mappings(clean(base), other, path)


def _merge_ulimit(base: Any, other: Any, path: tuple[Any, ...]) -> Any:
    if isinstance(base, dict) and isinstance(other, dict):
        return _merge_mappings(clean(base), other, path)
    return clean(other)


_SPECIALS: list[tuple[tuple[str, ...], Callable[[Any, Any, tuple[Any, ...]], Any]]] = [
    (_compile(p), f) for p, f in [
        ("services.*.command", _replace),
        ("services.*.entrypoint", _replace),
        ("services.*.healthcheck.test", _replace),
        ("services.*.environment", _merge_as_mapping(to_mapping)),
        ("services.*.labels", _merge_as_mapping(to_mapping)),
        ("services.*.annotations", _merge_as_mapping(to_mapping)),
        ("services.*.sysctls", _merge_as_mapping(to_mapping)),
        ("services.*.build", _merge_build),
        ("services.*.build.args", _merge_as_mapping(to_mapping)),
        ("services.*.build.labels", _merge_as_mapping(to_mapping)),
        ("services.*.build.additional_contexts", _merge_as_mapping(to_mapping)),
        ("services.*.deploy.labels", _merge_as_mapping(to_mapping)),
        ("services.*.volumes[].volume.labels", _merge_as_mapping(to_mapping)),
        ("networks.*.labels", _merge_as_mapping(to_mapping)),
        ("volumes.*.labels", _merge_as_mapping(to_mapping)),
        ("services.*.depends_on", _merge_as_mapping(_depends_on_mapping)),
        ("services.*.networks", _merge_as_mapping(_names_to_mapping)),
        ("services.*.extra_hosts", _merge_as_list(_extra_hosts_list)),
        ("services.*.build.extra_hosts", _merge_as_list(_extra_hosts_list)),
        ("services.*.dns", _merge_as_list(to_list)),
        ("services.*.dns_search", _merge_as_list(to_list)),
        ("services.*.tmpfs", _merge_as_list(to_list)),
        ("services.*.env_file", _merge_as_list(to_list)),
        ("services.*.label_file", _merge_as_list(to_list)),
        ("services.*.logging", _merge_logging),
        ("services.*.ulimits.*", _merge_ulimit),
    ]
]


def _merge_mappings(base: dict[Any, Any], other: dict[Any, Any], path: tuple[Any, ...]) -> dict[Any, Any]:
    out = dict(base)
    for key, value in other.items():
        if isinstance(value, Reset):
            out.pop(key, None)
            continue
        if key not in out or out[key] is None or (isinstance(key, str) and key.startswith("x-")):
            out[key] = clean(value)
            continue
        out[key] = merge_value(out[key], value, path + (key,))
    return out


def merge_value(base: Any, other: Any, path: tuple[Any, ...] = ()) -> Any:
    """``other`` (a later file, or the extending service) merged over ``base`` at ``path``.

    Raises ComposeError when a mapping meets a sequence where no rule reconciles them.
    """
    if isinstance(other, Override):
        return clean(other.value)
    if other is None:
        return None if not isinstance(base, (dict, list)) else clean(base)
    for pattern, merger in _SPECIALS:
        if _matches(path, pattern):
            return merger(base, other, path)
    if isinstance(base, dict):
        if not isinstance(other, dict):
            raise ComposeError(f"cannot override {format_path(path)}: a mapping cannot be merged with "
                               f"{type(other).__name__}")
        return _merge_mappings(clean(base), other, path)
    if isinstance(base, list):
        if not isinstance(other, list):
            raise ComposeError(f"cannot override {format_path(path)}: a sequence cannot be merged with "
                               f"{type(other).__name__}")
        return clean(base) + clean(other)
    return clean(other)


def merge(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Two whole compose models (``-f base -f other``), unicity enforced. Pure."""
    merged = _merge_mappings(clean(base), other, ())
    return enforce_unicity(merged)


def merge_service(base: dict[str, Any], other: dict[str, Any], name: str) -> dict[str, Any]:
    """A service (``other``) extending ``base``: the same rules, at ``services.<name>``."""
    merged = _merge_mappings(clean(base), other, ("services", name))
    return enforce_unicity({"services": {name: merged}})["services"][name]
