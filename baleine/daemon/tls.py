"""TLS for the daemon's TCP listeners, as dockerd does it.

``--tlsverify`` is mutual TLS: clients must present a certificate signed by
``--tlscacert``. ``--tls`` alone encrypts without checking clients. A TCP listener
with neither is refused unless it is on loopback, or the administrator said
``--tls=false`` in so many words (then it starts, with a loud warning): plain TCP
hands root on this host to anyone who can reach the port.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass

CERT_PATH_ENV = "BALEINE_CERT_PATH"


class TLSError(Exception):
    """The TLS settings cannot be used; the message says what to add or fix."""


@dataclass(frozen=True)
class TLSSettings:
    """What the flags (or daemon.json) said; ``tls`` is None when nobody said anything."""

    tls: bool | None = None
    verify: bool = False
    cacert: str = ""
    cert: str = ""
    key: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.tls) or self.verify

    def paths(self) -> tuple[str, str, str]:
        """CA, certificate and key, defaulting to ``$BALEINE_CERT_PATH`` (or ~/.baleine)/{ca,cert,key}.pem."""
        base = os.environ.get(CERT_PATH_ENV) or os.path.join(os.path.expanduser("~"), ".baleine")
        return (self.cacert or os.path.join(base, "ca.pem"), self.cert or os.path.join(base, "cert.pem"),
                self.key or os.path.join(base, "key.pem"))


def server_context(settings: TLSSettings) -> ssl.SSLContext:
    """The SSL context of a TCP listener; TLSError when a file is missing or unusable."""
    cacert, cert, key = settings.paths()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise TLSError(f"could not load the daemon's certificate {cert} and key {key}: {exc}") from None
    if settings.verify:
        try:
            ctx.load_verify_locations(cacert)
        except (OSError, ssl.SSLError) as exc:
            raise TLSError(f"could not read CA certificate {cacert}: {exc}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def is_loopback(host: str) -> bool:
    """Whether a listen address is on loopback (``localhost``, 127.0.0.0/8, ::1)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_plain_tcp(address: str, settings: TLSSettings) -> str | None:
    """Refuse (TLSError) or warn about (the warning's text) a TCP listener without TLS.

    None when the listener is encrypted or on loopback."""
    if settings.enabled:
        return None
    host = address.rpartition(":")[0] or "127.0.0.1"
    if is_loopback(host):
        return None
    if settings.tls is False:
        return (f"Binding to IP address without --tlsverify is insecure and gives root access on this machine "
                f"to everyone who has access to your network: tcp://{address}")
    raise TLSError(f"refusing to listen on tcp://{address} without TLS: anyone who reaches this port gets root "
                   f"on this machine. Add --tlsverify --tlscacert=ca.pem --tlscert=cert.pem --tlskey=key.pem "
                   f"(mutual TLS), or listen on 127.0.0.1, or say --tls=false to accept the risk")
