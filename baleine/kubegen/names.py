"""DNS-1123 names for Kubernetes objects made from compose names."""

from __future__ import annotations

import re

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def is_dns_label(name: str) -> bool:
    """True when ``name`` is a DNS-1123 label (63 chars, lowercase alnum and '-')."""
    return len(name) <= 63 and bool(_LABEL.match(name))


def dns_label(name: str) -> str:
    """``name`` made a DNS-1123 label: lowercased, '_' and '.' and other invalid
    characters to '-', trimmed of leading/trailing '-', cut to 63 characters."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return out or "x"
