"""The cluster's PKI under ``<data-root>/kube/``: a CA, the server's and the admin's certificates.

Generated at first start (ECDSA P-256: fast to make, accepted by kubectl) and
kept: restarting the daemon keeps the kubeconfig valid. The admin certificate
(CN=admin, O=system:masters) is what the kubeconfig authenticates with.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class Paths:
    """Where the PKI and the kubeconfig live."""

    root: str

    def file(self, name: str) -> str:
        return os.path.join(self.root, name)

    @property
    def kubeconfig(self) -> str:
        return self.file("kubeconfig")


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, org: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _write(path: str, data: bytes, mode: int = 0o600) -> None:
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path + ".tmp", mode)
    os.replace(path + ".tmp", path)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _sign(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False, server_sans: list[str] | None = None,
          client: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + _VALIDITY)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        usage = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH]
        b = b.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    if server_sans is not None:
        names: list[x509.GeneralName] = []
        for san in server_sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ensure(paths: Paths, host: str) -> None:
    """Make the CA, server and admin certificates unless they exist (blocking: run in a thread).

    The server certificate names ``host`` (the listen address) besides
    127.0.0.1, ::1 and localhost; a new ``host`` renews the server certificate only.
    """
    os.makedirs(paths.root, mode=0o700, exist_ok=True)
    if not os.path.exists(paths.file("ca.crt")):
        ca_key = _key()
        ca = _sign(_name("baleine-kube-ca"), ca_key, _name("baleine-kube-ca"), ca_key, ca=True)
        _write(paths.file("ca.key"), _pem_key(ca_key))
        _write(paths.file("ca.crt"), _pem(ca), 0o644)
        for stale in ("server.crt", "admin.crt"):
            if os.path.exists(paths.file(stale)):
                os.unlink(paths.file(stale))
    with open(paths.file("ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(paths.file("ca.crt"), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    sans = sorted({"127.0.0.1", "::1", "localhost", "kubernetes", "kubernetes.default", host or "127.0.0.1"})
    if not _has_sans(paths.file("server.crt"), sans):
        key = _key()
        cert = _sign(_name("kube-apiserver"), key, ca.subject, ca_key, server_sans=sans)
        _write(paths.file("server.key"), _pem_key(key))
        _write(paths.file("server.crt"), _pem(cert), 0o644)
    if not os.path.exists(paths.file("admin.crt")):
        key = _key()
        cert = _sign(_name("admin", "system:masters"), key, ca.subject, ca_key, client=True)
        _write(paths.file("admin.key"), _pem_key(key))
        _write(paths.file("admin.crt"), _pem(cert))


def _has_sans(path: str, sans: list[str]) -> bool:
    try:
        with open(path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    have = {str(v) for v in ext.get_values_for_type(x509.IPAddress)} | set(ext.get_values_for_type(x509.DNSName))
    return set(sans) <= {str(ipaddress.ip_address(s)) if _is_ip(s) else s for s in have}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False
