"""``baleine kube config``: print the admin kubeconfig of the daemon's Kubernetes API server.

The daemon writes it at ``<data-root>/kube/kubeconfig`` (mode 0600, see
baleine/kube/kubeconfig.py). The data root is asked from the daemon's ``/info``
(``DockerRootDir``), so no Kubernetes-specific route enters the Docker API;
``--data-root`` reads it without a daemon. Reading needs the file's owner (root),
exactly like the admin key it holds.
"""

from __future__ import annotations

import os
import sys

from .context import CLIError, Context, Parser


def config(ctx: Context, argv: list[str]) -> int:
    p = Parser("kube config", "[OPTIONS]", "Print the kubeconfig of the built-in Kubernetes API server")
    p.add_argument("--data-root", default="", help="The daemon's data root (default: asked from the daemon)")
    o = p.parse_args(argv)
    root = o.data_root
    if not root:
        with ctx.api():
            root = ctx.client.system.info()["DockerRootDir"]
    path = os.path.join(root, "kube", "kubeconfig")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise CLIError(f"no kubeconfig at {path}: is the daemon serving the Kubernetes API (--kube-addr)?") from None
    except PermissionError:
        raise CLIError(f"cannot read {path}: the admin kubeconfig is readable by root only") from None
    sys.stdout.write(text)
    return 0
