"""Registry credentials as Docker writes them: the ``AuthConfig``, the
``X-Registry-Auth`` header that carries it from client to daemon (both ends), and
the keys docker's config.json files them under. Pure (standard library only): the
client, the API and the registry client all import it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

#: The key Docker files Docker Hub credentials under in config.json, and the server
#: address it sends for the hub.
INDEX_SERVER = "https://index.docker.io/v1/"
HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/",
               "https://index.docker.io/v1", "index.docker.io/v1", "https://registry-1.docker.io",
               "https://docker.io")


@dataclass
class AuthConfig:
    """Credentials for one registry, as the Engine API's ``AuthConfig`` carries them."""

    username: str = ""
    password: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "AuthConfig":
        d = d or {}
        user = str(d.get("username") or d.get("Username") or "")
        password = str(d.get("password") or d.get("Password") or "")
        auth = d.get("auth") or d.get("Auth")
        if auth and not user:
            try:
                user, _, password = base64.b64decode(auth).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                pass
        return cls(user, password,
                   str(d.get("serveraddress") or d.get("ServerAddress") or ""),
                   str(d.get("identitytoken") or d.get("IdentityToken") or ""),
                   str(d.get("registrytoken") or d.get("RegistryToken") or ""))

    def to_dict(self) -> dict[str, str]:
        out = {"username": self.username, "password": self.password, "serveraddress": self.server_address}
        if self.identity_token:
            out["identitytoken"] = self.identity_token
        if self.registry_token:
            out["registrytoken"] = self.registry_token
        return out


def _b64decode(value: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not (clients send both)."""
    value = value.strip()
    padded = value + "=" * (-len(value) % 4)
    if "-" in value or "_" in value:
        return base64.urlsafe_b64decode(padded)
    return base64.b64decode(padded)


def decode_header(value: str | None) -> AuthConfig:
    """The AuthConfig of an ``X-Registry-Auth`` header (empty when absent or unreadable).

    Docker sends base64url(JSON); an unreadable header is treated as no credentials,
    as dockerd does.
    """
    if not value:
        return AuthConfig()
    try:
        doc = json.loads(_b64decode(value))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return AuthConfig()
    return AuthConfig.from_dict(doc if isinstance(doc, dict) else {})


def encode_header(auth: AuthConfig | None) -> str:
    """The ``X-Registry-Auth`` value for ``auth`` (``e30=``, i.e. ``{}``, for none)."""
    if auth is None or (auth.empty and not auth.server_address):
        return "e30="
    return base64.urlsafe_b64encode(json.dumps(auth.to_dict()).encode()).decode()


def config_key(server: str) -> str:
    """The key under ``auths`` in config.json for a server address or registry host.

    Docker Hub is filed under ``https://index.docker.io/v1/``; other registries by
    their host[:port] (a scheme or path given by the user is dropped).
    """
    s = server.strip()
    if not s or s in HUB_ALIASES:
        return INDEX_SERVER
    host = registry_host(s)
    return INDEX_SERVER if host in ("docker.io", "index.docker.io", "registry-1.docker.io") else host


def registry_host(server: str) -> str:
    """host[:port] of a server address: ``https://x:5000/v2/`` → ``x:5000``."""
    s = server.strip()
    if "://" in s:
        s = s.split("://", 1)[1]
    s = s.split("/", 1)[0]
    if s in ("index.docker.io", "registry-1.docker.io", ""):
        return "docker.io"
    return s
