"""The loaded project: normalised services, networks and volumes, and what was read to
make them."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from . import graph
from .errors import ComposeError
from .normalize import PROJECT_ORDER, ordered, scale_of


@dataclass
class Project:
    """A compose project as loaded (see ``loader.load``).

    ``services`` holds the enabled services (profiles applied), each in canonical form
    (``normalize.normalize_service``); ``disabled`` the others. ``networks`` and
    ``volumes`` are the top-level definitions with their real ``name``; a ``default``
    network exists whenever a service uses it. ``environment`` is what interpolation
    used (the ``.env`` file(s) under the process environment).
    """

    name: str
    working_dir: str
    config_files: list[str]
    services: dict[str, dict[str, Any]]
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)
    disabled: dict[str, dict[str, Any]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    profiles: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def service(self, name: str) -> dict[str, Any]:
        """The enabled service ``name``; ComposeError("no such service: x") otherwise."""
        if name in self.services:
            return self.services[name]
        if name in self.disabled:
            raise ComposeError(f"service {name!r} is disabled by profiles (enable one of "
                               f"{', '.join(self.disabled[name].get('profiles') or [])})")
        raise ComposeError(f"no such service: {name}")

    def check_services(self, names: list[str]) -> list[str]:
        """``names`` if they are all services (ComposeError otherwise); all when empty."""
        for n in names:
            self.service(n)
        return names or sorted(self.services)

    def scale(self, name: str) -> int:
        return scale_of(self.services[name])

    def image(self, name: str) -> str:
        """The image a service runs: ``image``, or ``<project>-<service>`` for a build
        without one (docker compose's default name)."""
        svc = self.services[name]
        return svc.get("image") or f"{self.name}-{name}"

    def start_order(self, names: list[str] | None = None, with_deps: bool = True) -> list[str]:
        """Services to start, dependencies first (only ``names`` when ``with_deps`` is false)."""
        order = graph.start_order(self.services, names)
        if names is not None and not with_deps:
            order = [n for n in order if n in names]
        return order

    def used_networks(self, names: list[str] | None = None) -> list[str]:
        """Keys of the networks the given services (default: all) join."""
        out: list[str] = []
        for svc in (self.services[n] for n in (names or self.services)):
            for net in svc.get("networks") or {}:
                if net not in out:
                    out.append(net)
        return out

    def used_volumes(self, names: list[str] | None = None) -> list[str]:
        """Keys of the top-level volumes the given services (default: all) mount."""
        out: list[str] = []
        for svc in (self.services[n] for n in (names or self.services)):
            for v in svc.get("volumes") or []:
                if v.get("type") == "volume" and v.get("source") in self.volumes and v["source"] not in out:
                    out.append(v["source"])
        return out

    def to_dict(self) -> dict[str, Any]:
        """The model as ``compose config`` prints it (services, networks and volumes
        sorted by key, each in compose-go's field order)."""
        out: dict[str, Any] = {"name": self.name}
        out["services"] = {n: copy.deepcopy(self.services[n]) for n in sorted(self.services)}
        for kind in ("networks", "volumes", "secrets", "configs"):
            defs = getattr(self, kind)
            if defs:
                out[kind] = {n: copy.deepcopy(defs[n]) for n in sorted(defs)}
        for k in sorted(self.extensions):
            out[k] = copy.deepcopy(self.extensions[k])
        return ordered(out, PROJECT_ORDER)
