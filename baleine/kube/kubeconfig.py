"""The admin's kubeconfig, ``<data-root>/kube/kubeconfig`` (mode 0600): ``kubectl --kubeconfig`` just works."""

from __future__ import annotations

import base64
import os

import yaml

from .certs import Paths

CLUSTER = "baleine"


def _b64(path: str) -> str:
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def render(paths: Paths, server: str) -> str:
    """The kubeconfig text for the admin user against ``server`` (``https://host:port``)."""
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": CLUSTER,
        "clusters": [{"name": CLUSTER, "cluster": {"server": server,
                                                   "certificate-authority-data": _b64(paths.file("ca.crt"))}}],
        "users": [{"name": "admin", "user": {"client-certificate-data": _b64(paths.file("admin.crt")),
                                             "client-key-data": _b64(paths.file("admin.key"))}}],
        "contexts": [{"name": CLUSTER, "context": {"cluster": CLUSTER, "user": "admin", "namespace": "default"}}],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write(paths: Paths, server: str) -> None:
    """Write the kubeconfig atomically, mode 0600 (it holds the admin's key). Blocking."""
    tmp = paths.kubeconfig + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(render(paths, server))
    os.chmod(tmp, 0o600)
    os.replace(tmp, paths.kubeconfig)


def server_url(addr: str) -> str:
    """``https://host:port`` for a listen address (``[::1]:6443`` stays bracketed; 0.0.0.0 -> 127.0.0.1)."""
    host, _, port = addr.rpartition(":")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "[::1]"
    return f"https://{host}:{port}"
