"""Registry authentication data: ``WWW-Authenticate`` challenges and token scopes.
Auth configs and the ``X-Registry-Auth`` header are Docker rules shared with the
client: they live in ``baleine.rules.registryauth`` and are re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..rules.registryauth import (HUB_ALIASES, INDEX_SERVER, AuthConfig, config_key, decode_header,  # noqa: F401
                                  encode_header, registry_host)


# -- challenges -------------------------------------------------------------------------

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM_RE = re.compile(r"\s*(" + _TOKEN + r")\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|(" + _TOKEN + r"))\s*,?")
_SCHEME_RE = re.compile(r"\s*(" + _TOKEN + r")(?:\s+|$)")


@dataclass
class Challenge:
    """One ``WWW-Authenticate`` challenge: a scheme (lowercased) and its parameters."""

    scheme: str
    params: dict[str, str]


def parse_challenges(header: str | None) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value (possibly several challenges).

    ``Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"``
    → ``[Challenge("bearer", {"realm": ..., "service": ..., "scope": ...})]``. Never raises.
    """
    out: list[Challenge] = []
    s = header or ""
    pos = 0
    while pos < len(s):
        m = _SCHEME_RE.match(s, pos)
        if not m:
            break
        scheme = m.group(1).lower()
        pos = m.end()
        params: dict[str, str] = {}
        while pos < len(s):
            pm = _PARAM_RE.match(s, pos)
            if not pm:
                break
            # A bare token followed by a space is the next challenge's scheme.
            value = pm.group(2)
            if value is not None:
                value = re.sub(r"\\(.)", r"\1", value)
            else:
                value = pm.group(3)
            params[pm.group(1).lower()] = value
            pos = pm.end()
        out.append(Challenge(scheme, params))
        while pos < len(s) and s[pos] in " ,":
            pos += 1
    return out


def scope(repository: str, actions: list[str] | tuple[str, ...]) -> str:
    """A token scope: ``repository:library/busybox:pull,push``."""
    return f"repository:{repository}:{','.join(actions)}"

__all__ = ["HUB_ALIASES", "INDEX_SERVER", "AuthConfig", "Challenge", "config_key", "decode_header", "encode_header",
           "parse_challenges", "registry_host", "scope"]
