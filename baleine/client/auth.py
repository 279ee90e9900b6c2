"""The ``X-Registry-Auth`` header a client sends with pull, push and build: the
credentials docker's config.json (or its credential helper) holds for a registry,
encoded as the daemon expects them (``e30=``, i.e. ``{}``, when there are none)."""

from __future__ import annotations

from ..rules.registryauth import encode_header
from . import credentials


def registry_header(domain: str) -> dict[str, str]:
    """``{"X-Registry-Auth": ...}`` for a registry host; raises
    ``credentials.CredentialsError`` when config.json or a helper fails."""
    return {"X-Registry-Auth": encode_header(credentials.get(domain))}


def pull_headers(image: str) -> dict[str, str]:
    """The header for pulling ``image``; no header when the name does not parse
    (the daemon will say why). Raises ``credentials.CredentialsError`` as above."""
    from ..rules import references
    from ..rules.errors import InvalidParameter

    try:
        domain = references.parse(image).domain
    except InvalidParameter:
        return {}
    return registry_header(domain)
