"""Client-side TLS, as the docker CLI does it: ``--tls`` encrypts, ``--tlsverify``
also checks the daemon's certificate against ``--tlscacert``; the client presents
``--tlscert``/``--tlskey`` when it has them. The environment's way:
``BALEINE_TLS_VERIFY`` (non-empty) and ``BALEINE_CERT_PATH`` (a folder with
``ca.pem``, ``cert.pem``, ``key.pem``; ``~/.baleine`` by default).

Imported only when TLS is asked for: ``ssl`` costs the CLI's start-up.
"""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass


@dataclass(frozen=True)
class TLSOptions:
    verify: bool = False
    cacert: str = ""
    cert: str = ""
    key: str = ""

    @classmethod
    def from_flags(cls, flags: dict[str, str], environ: dict[str, str] | None = None) -> TLSOptions | None:
        """The options the flags and the environment ask for; None when TLS is off."""
        env = os.environ if environ is None else environ
        verify = "tlsverify" in flags or bool(env.get("BALEINE_TLS_VERIFY"))
        if not verify and "tls" not in flags and not any(k in flags for k in ("tlscacert", "tlscert", "tlskey")):
            return None
        base = env.get("BALEINE_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".baleine")
        return cls(verify=verify, cacert=flags.get("tlscacert") or os.path.join(base, "ca.pem"),
                   cert=flags.get("tlscert") or os.path.join(base, "cert.pem"),
                   key=flags.get("tlskey") or os.path.join(base, "key.pem"))

    def context(self) -> ssl.SSLContext:
        """The SSL context; OSError/ssl.SSLError when a named file cannot be used."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.verify:
            ctx.load_verify_locations(self.cacert)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if os.path.exists(self.cert) and os.path.exists(self.key):
            ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def wrap(self, sock: socket.socket, hostname: str) -> socket.socket:
        return self.context().wrap_socket(sock, server_hostname=hostname)
