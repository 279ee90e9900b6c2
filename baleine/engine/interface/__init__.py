"""The engine's interface: one backend per resource, the only door into the engine.

Each module here declares a resource's backend as a typed ``Protocol`` whose methods
state their contracts (arguments, result, errors from :mod:`baleine.rules.errors`).
Every method is async and does its own threading, event publication, filtering and
pruning: a caller (the Docker Engine API, the Kubernetes API, the dashboard) decodes
its request, calls one method and encodes the answer, nothing else.

The implementations live in the engine's rooms (``engine/containers``,
``engine/images``, ...), the distribution and build services; ``baleine.daemon``
wires them into one :class:`Backends`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the Protocols import the engine's types; the dataclass needs only names
    from .build import BuildBackend
    from .containers import ContainersBackend
    from .distribution import DistributionBackend
    from .exec import ExecBackend
    from .images import ImagesBackend
    from .networks import NetworksBackend
    from .system import SystemBackend
    from .volumes import VolumesBackend


@dataclass
class Backends:
    """Every backend of one engine, as the daemon wired them.

    Each field is typed by its resource's Protocol in this package.
    """

    containers: ContainersBackend | None = None
    exec: ExecBackend | None = None
    images: ImagesBackend | None = None
    networks: NetworksBackend | None = None
    volumes: VolumesBackend | None = None
    system: SystemBackend | None = None
    build: BuildBackend | None = None
    distribution: DistributionBackend | None = None
