"""The ``io.baleine.ingress`` container label: routes of the ingress proxy to a container (pure).

Format (what compose writes for ``x-baleine-ingress``, and what a user may write
by hand on ``docker run --label``): a JSON list of objects

    [{"host": "web.example.test", "path": "/", "port": 80}, {"path": "/api", "port": 8080, "tls": "web-tls"}]

- ``host`` (optional): a DNS name (``a.example.org``) or a one-label wildcard
  (``*.example.org``); absent or "": every host (the default server).
- ``path`` (optional, default ``/``): starts with ``/``; matched as a Kubernetes
  ``Prefix`` path (element-wise on ``/``, longest match wins).
- ``port`` (required in the label; compose fills it in): the container port, 1..65535.
- ``tls`` (optional): the name of a ``kubernetes.io/tls`` Secret in the namespace
  ``default``; when it is missing the host is served with the fake certificate.

A single object instead of a list is accepted too. :func:`check` validates the
decoded value (raising :class:`LabelError` naming the field at fault), :func:`parse`
reads a label leniently (a bad label routes nothing), :func:`format_label` writes it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

LABEL = "io.baleine.ingress"
KEYS = ("host", "path", "port", "tls")

_SECRET = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Entry:
    """One route: requests for ``host`` under ``path`` go to the container's ``port``."""

    host: str
    path: str
    port: int
    tls: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"host": self.host, "path": self.path, "port": self.port}
        if self.tls:
            out["tls"] = self.tls
        return out


class LabelError(ValueError):
    """A bad route; ``field`` is where, relative to the extension (``[1].host``, ``port``, "")."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def valid_host(host: str) -> bool:
    """A host an Ingress rule could name (the API server's own check)."""
    # Imported here: compose reads this module, and the API's validation costs ~20 ms to import.
    from .validation import host_causes

    return not host_causes(host, "host")


def _port(value: Any, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise LabelError(f"port must be an integer, not {value!r}", at)
    port = int(value)
    if not 1 <= port <= 65535:
        raise LabelError(f"port {port} is out of range 1..65535", at)
    return port


def check_entry(raw: Any, default_port: int | None, prefix: str = "") -> Entry:
    """One route from its decoded mapping; ``default_port`` when it names none (None: required)."""
    dot = "." if prefix else ""
    if not isinstance(raw, dict):
        raise LabelError(f"a route must be a mapping of {', '.join(KEYS)}, not {raw!r}", prefix)
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise LabelError(f"unknown key {unknown[0]!r} (allowed: {', '.join(KEYS)})", f"{prefix}{dot}{unknown[0]}")
    host = raw.get("host") or ""
    if not isinstance(host, str) or (host and not valid_host(host)):
        raise LabelError(f"host {host!r} is not a DNS name or a wildcard like *.example.org", f"{prefix}{dot}host")
    path = raw.get("path") if raw.get("path") is not None else "/"
    if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() or c in "{};" for c in path):
        raise LabelError(f"path {path!r} must start with '/' (and hold no spaces, braces or ';')",
                         f"{prefix}{dot}path")
    if raw.get("port") is None:
        if default_port is None:
            raise LabelError("no port to route to: name one with port (or give the service ports or expose)",
                             f"{prefix}{dot}port")
        port = default_port
    else:
        port = _port(raw["port"], f"{prefix}{dot}port")
    tls = raw.get("tls") or ""
    if not isinstance(tls, str) or (tls and not _SECRET.match(tls)):
        raise LabelError(f"tls must name a Secret (a DNS name), not {tls!r}", f"{prefix}{dot}tls")
    return Entry(host, path, port, tls)


def check(raw: Any, default_port: int | None = None) -> list[Entry]:
    """The routes of an extension or decoded label (a mapping or a non-empty list of them)."""
    if isinstance(raw, dict):
        return [check_entry(raw, default_port)]
    if not isinstance(raw, list) or not raw:
        raise LabelError("must be a mapping {host, path, port, tls} or a non-empty list of them")
    return [check_entry(e, default_port, f"[{i}]") for i, e in enumerate(raw)]


def format_label(entries: list[Entry]) -> str:
    return json.dumps([e.as_dict() for e in entries], separators=(",", ":"))


def parse(text: str) -> tuple[list[Entry], str]:
    """The routes of a label's value, and the problem ("" when none): a bad label routes nothing."""
    try:
        return check(json.loads(text)), ""
    except ValueError as exc:  # JSONDecodeError and LabelError
        field = getattr(exc, "field", "")
        return [], f"{LABEL}{field}: {exc}" if field else f"{LABEL}: {exc}"
