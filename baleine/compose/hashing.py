"""The ``com.docker.compose.config-hash`` label: what tells ``up`` a service's
configuration changed.

docker compose computes it as sha256 of ``json.Marshal`` of compose-go's
``ServiceConfig`` with ``build``, ``pull_policy``, ``scale``, ``deploy.replicas``,
``depends_on`` and ``profiles`` cleared (changing them does not recreate
containers). We apply the same recipe to the canonical service: struct fields in
compose-go's order, maps with sorted keys, empty values omitted (``omitempty``)
except ``command`` and ``entrypoint``, which are always present (null when
unset), and Go's JSON escaping (``<``, ``>``, ``&`` as ``\\u003c``…).
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from .normalize import struct_order

_EXCLUDED = ("build", "pull_policy", "scale", "depends_on", "profiles")
_ALWAYS = ("command", "entrypoint")


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == 0 and not isinstance(value, bool) \
        or (isinstance(value, (list, dict)) and not value)


def _go_value(value: Any, path: tuple[Any, ...]) -> Any:
    if isinstance(value, dict):
        order = struct_order(path)
        if order is None:  # a Go map: sorted keys, empty values kept
            return {k: _go_value(value[k], path + (k,)) for k in sorted(value, key=str)}
        out: dict[str, Any] = {}
        keys = [k for k in order if k in value] + sorted(k for k in value if k not in order)
        for k in keys:
            if k.startswith("x-"):
                continue  # extensions are json:"-"
            v = value[k]
            if path == () and k in _ALWAYS:
                out[k] = _go_value(v, path + (k,))
                continue
            if _empty(v):
                continue
            out[k] = _go_value(v, path + (k,))
        return out
    if isinstance(value, list):
        return [_go_value(v, path + (i,)) for i, v in enumerate(value)]
    return value


def go_json(value: Any) -> str:
    """``value`` encoded as Go's encoding/json writes it (compact, HTML-escaped)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def service_hash(service: dict[str, Any]) -> str:
    """The config hash of a canonical service (hex sha256)."""
    svc = copy.deepcopy(service)
    for key in _EXCLUDED:
        svc.pop(key, None)
    if isinstance(svc.get("deploy"), dict):
        svc["deploy"].pop("replicas", None)
    svc.setdefault("command", None)
    svc.setdefault("entrypoint", None)
    return hashlib.sha256(go_json(_go_value(svc, ())).encode()).hexdigest()
