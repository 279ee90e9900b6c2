"""Compose: a multi-container application described in one file.

The package follows the Compose Specification (``compose-spec.schema.json`` beside
this file) the way docker compose v2 (compose-go) reads it, and drives a daemon
only through the Engine API, as docker compose does:

- loading, pure and side-effect free: ``yamlfile`` (YAML with ``!reset`` and
  ``!override``, positions for messages), ``dotenv`` (``.env`` files),
  ``interpolation`` (``${VAR:-default}`` and friends), ``merge`` (``-f`` override
  rules), ``schema`` (validation naming file and path), ``normalize`` (short
  syntaxes to the canonical model), ``graph`` (depends_on order and cycles),
  ``loader`` (discovery, ``include``, ``extends``, profiles: the entry point,
  :func:`loader.load`);
- the model: ``model.Project``; ``hashing`` (the ``com.docker.compose.config-hash``
  label); ``convert`` (a service → the ``POST /containers/create`` body, labels,
  names);
- running: ``runner`` (up, down, start order, recreation…) over
  ``baleine.client``, ``progress`` (terminal lines per resource), ``logs``
  (prefixed, coloured log streams).

The command line is ``baleine/cli/compose.py``.
"""

from __future__ import annotations

from .errors import ComposeError

__all__ = ["ComposeError"]
