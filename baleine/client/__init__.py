"""A typed Engine API client, organised per resource as docker-py's ``APIClient``.

``Client(host)`` is the transport (``transport.py``: HTTP/1.1 over a Unix socket or
TCP, hijacked connections, ``APIError``, ``ConnectionFailed``) plus one attribute per
resource, each a module of this package that writes its URLs once:
``client.containers``, ``client.images``, ``client.networks``, ``client.volumes``,
``client.exec``, ``client.build``, ``client.system``. Resource modules are imported
on first use: the CLI's start-up time is benchmarked.

Helpers for what a client prepares before a request live here too: ``auth`` and
``credentials`` (the ``X-Registry-Auth`` header from docker's config.json) and
``build_context`` (the build-context tar, ``.dockerignore`` applied).
"""

from __future__ import annotations

from .api import Client
from .transport import DEFAULT_HOST, APIError, ConnectionFailed, Response, Transport

__all__ = ["DEFAULT_HOST", "APIError", "Client", "ConnectionFailed", "Response", "Transport"]
