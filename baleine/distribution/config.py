"""Which URLs serve a registry: mirrors for Docker Hub, insecure registries, the
scheme fallback. Pure except for the host-name resolution of ``is_insecure``.

As in dockerd: Docker Hub (``docker.io``) is served by each ``--registry-mirror``
in turn, then by ``https://registry-1.docker.io``. Any other registry is served over
HTTPS, unless it is insecure (listed by ``--insecure-registry`` as a host, host:port
or CIDR, or on the loopback network, which dockerd allows by default), in which
case HTTPS without certificate verification is tried first, then plain HTTP.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from ..rules.errors import InvalidParameter

HUB_DOMAIN = "docker.io"
HUB_REGISTRY = "https://registry-1.docker.io"
DEFAULT_INSECURE_CIDRS = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class Endpoint:
    """One base URL serving a registry's ``/v2/`` API."""

    url: str  # scheme://host[:port], no trailing slash
    verify_tls: bool = True
    mirror: bool = False

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0]

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]


@dataclass
class RegistryConfig:
    """The daemon's registry options (``--registry-mirror``, ``--insecure-registry``)."""

    mirrors: list[str] = field(default_factory=list)
    insecure: list[str] = field(default_factory=list)
    #: Docker Hub's registry URL; "none" turns Hub access off (only the mirrors serve
    #: docker.io), so that an offline daemon or a test never sends a request outside.
    hub: str = HUB_REGISTRY
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5

    @classmethod
    def from_options(cls, mirrors: list[str] | None, insecure: list[str] | None, hub: str | None = None,
                     **kw: Any) -> "RegistryConfig":
        """Validate and normalise the options; InvalidParameter with dockerd's words."""
        norm_mirrors = []
        for m in mirrors or []:
            m = m.strip().rstrip("/")
            if "://" not in m:
                raise InvalidParameter(f"invalid mirror: unsupported scheme \"\" in \"{m}\"")
            scheme, rest = m.split("://", 1)
            if scheme not in ("http", "https"):
                raise InvalidParameter(f"invalid mirror: unsupported scheme \"{scheme}\" in \"{m}\"")
            if "/" in rest and rest.split("/", 1)[1] not in ("", "v2"):
                raise InvalidParameter(f"invalid mirror: path, query, or fragment at end of the URI \"{m}\"")
            norm_mirrors.append(f"{scheme}://{rest.split('/', 1)[0]}")
        norm_insecure = []
        for r in insecure or []:
            r = r.strip()
            if "://" in r:
                raise InvalidParameter(f"insecure registry {r} should not contain '://'")
            norm_insecure.append(r.rstrip("/"))
        hub = (hub or HUB_REGISTRY).rstrip("/")
        if hub != "none" and not hub.startswith(("http://", "https://")):
            raise InvalidParameter(f"invalid registry hub URL \"{hub}\": expected http[s]://host[:port] or none")
        return cls(norm_mirrors, norm_insecure, hub, **kw)

    def index_configs(self) -> dict[str, Any]:
        """``RegistryConfig`` of ``GET /info``."""
        cidrs = list(DEFAULT_INSECURE_CIDRS[:1]) + [r for r in self.insecure if _is_cidr(r)]
        index = {"docker.io": {"Name": "docker.io", "Mirrors": list(self.mirrors), "Secure": True,
                               "Official": True}}
        for r in self.insecure:
            if not _is_cidr(r):
                index[r] = {"Name": r, "Mirrors": [], "Secure": False, "Official": False}
        return {"AllowNondistributableArtifactsCIDRs": None, "AllowNondistributableArtifactsHostnames": None,
                "InsecureRegistryCIDRs": cidrs, "IndexConfigs": index, "Mirrors": list(self.mirrors)}

    def is_insecure(self, host: str) -> bool:
        """Whether ``host[:port]`` may be used without TLS verification / over plain HTTP."""
        if host in self.insecure:
            return True
        name = _strip_port(host)
        if name in self.insecure:
            return True
        cidrs = [ipaddress.ip_network(c, strict=False) for c in (*DEFAULT_INSECURE_CIDRS, *self.insecure)
                 if _is_cidr(c)]
        for addr in _addresses(name):
            if any(addr in net for net in cidrs if net.version == addr.version):
                return True
        return False

    def endpoints(self, domain: str) -> list[Endpoint]:
        """The endpoints to try, in order, for a reference's domain."""
        if domain == HUB_DOMAIN:
            eps = [Endpoint(m, verify_tls=not self.is_insecure(m.split("://", 1)[1]), mirror=True)
                   for m in self.mirrors]
            if self.hub != "none":
                eps.append(Endpoint(self.hub, verify_tls=self.hub == HUB_REGISTRY or
                                    not self.is_insecure(self.hub.split("://", 1)[1])))
            return eps
        if self.is_insecure(domain):
            return [Endpoint(f"https://{domain}", verify_tls=False), Endpoint(f"http://{domain}", verify_tls=False)]
        return [Endpoint(f"https://{domain}")]


def _is_cidr(s: str) -> bool:
    if "/" not in s:
        return False
    try:
        ipaddress.ip_network(s, strict=False)
        return True
    except ValueError:
        return False


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _addresses(name: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(name)]
    except ValueError:
        pass
    if name == "localhost":
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    out = []
    for info in infos:
        try:
            out.append(ipaddress.ip_address(info[4][0].split("%", 1)[0]))
        except ValueError:
            continue
    return out
