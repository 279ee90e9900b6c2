"""``Client``: the transport plus one lazily imported attribute per API resource."""

from __future__ import annotations

import sys

from .transport import Transport

# Annotations only (typing is not imported at run time: the CLI's start-up is benchmarked).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .build import Build
    from .containers import Containers
    from .exec import Exec
    from .images import Images
    from .networks import Networks
    from .system import System
    from .volumes import Volumes

# attribute -> (module of this package, class): imported the first time it is used.
_RESOURCES: dict[str, tuple[str, str]] = {
    "containers": ("containers", "Containers"),
    "images": ("images", "Images"),
    "networks": ("networks", "Networks"),
    "volumes": ("volumes", "Volumes"),
    "exec": ("exec", "Exec"),
    "build": ("build", "Build"),
    "system": ("system", "System"),
}


class Client(Transport):
    """Requests to one daemon, grouped per resource: ``client.containers.start(id)``.

    The generic ``call``/``stream``/``json_stream``/``hijack`` of ``Transport`` stay
    available (tests use them to send malformed requests on purpose); code that
    speaks the API itself goes through the resource attributes.
    """

    containers: Containers
    images: Images
    networks: Networks
    volumes: Volumes
    exec: Exec
    build: Build
    system: System

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not set yet: build the resource once, then cache it.
        spec = _RESOURCES.get(name)
        if spec is None:
            raise AttributeError(name)
        module, cls = spec
        dotted = f"{__package__}.{module}"
        __import__(dotted)  # not importlib.import_module: importlib costs the CLI's start-up
        resource = getattr(sys.modules[dotted], cls)(self)
        setattr(self, name, resource)
        return resource
