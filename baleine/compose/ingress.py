"""``x-baleine-ingress``: a compose service routed by the ingress proxy (issue 10).

The extension is a mapping ``{host, path, port, tls}`` or a list of them (see
:mod:`baleine.kube.ingress.label` for each key's rules); ``port`` defaults to the
target of the service's first ``ports`` entry, else its first ``expose`` entry.
It is checked when the file is loaded (:func:`normalize`: a ComposeError naming the
offending path, before anything is created) and becomes the label
``io.baleine.ingress`` (JSON, ports filled in) on the service's labels, hence on every
container of the service, balanced replicas and plain containers alike; a change
of the extension changes the config hash, so ``up`` recreates the containers.
The Kubernetes Ingress controller of the daemon reads that label from the running
containers (``baleine/kube/ingress/containers.py``); compose knows nothing more.
"""

from __future__ import annotations

from typing import Any

from ..kube.ingress.label import LABEL, LabelError, check, format_label
from .errors import ComposeError

EXTENSION = "x-baleine-ingress"


def default_port(svc: dict[str, Any]) -> int | None:
    """The target of the service's first (normalised) ``ports`` entry, else of its first
    ``expose`` entry (the low end of a range); None when it has neither."""
    for p in svc.get("ports") or []:
        return int(p["target"])
    for e in svc.get("expose") or []:
        text = str(e).partition("/")[0].partition("-")[0]
        if text.isdigit():
            return int(text)
    return None


def normalize(svc: dict[str, Any], where: str) -> str:
    """The label value for the service's extension (``svc`` has its ports and expose
    normalised); ComposeError with the offending path. ``where`` is ``services.<name>``."""
    at = f"{where}.{EXTENSION}"
    try:
        entries = check(svc[EXTENSION], default_port(svc))
    except LabelError as exc:
        field = exc.field
        path = at + (field if field.startswith("[") else f".{field}" if field else "")
        raise ComposeError(f"{EXTENSION}: {exc}", path=path) from None
    return format_label(entries)


def apply(svc: dict[str, Any], where: str) -> None:
    """Validate the extension and put its label on the service (no-op without it)."""
    if svc.get(EXTENSION) is None:
        return
    svc["labels"] = {**(svc.get("labels") or {}), LABEL: normalize(svc, where)}
