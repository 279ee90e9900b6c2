"""The extra attributes of a container's log messages (moby's
``logger.Info.ExtraAttributes``), which ``docker logs --details`` prints before each
line: the container labels named by the ``labels`` log option or matched by
``labels-regex``, the environment variables named by ``env`` or matched by
``env-regex``, and ``tag`` when the option is given.

They depend only on the container's configuration, so they are computed when the
logs are read rather than stored in every line of the json-file log.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_plus


def extra_attributes(log_options: dict[str, Any], labels: dict[str, str], env: list[str]) -> dict[str, str]:
    """The attributes, as moby computes them (a bad regex matches nothing here: it
    was refused when the container was created)."""
    extra: dict[str, str] = {}
    names = log_options.get("labels") or ""
    for name in names.split(",") if names else []:
        if name in labels:
            extra[name] = labels[name]
    # moby tests "labels" here, not "labels-regex": the regex counts only beside it.
    if names and log_options.get("labels-regex"):
        for k, v in labels.items():
            if _search(log_options["labels-regex"], k):
                extra[k] = v
    environment = dict(e.split("=", 1) for e in env if "=" in e)
    wanted = log_options.get("env") or ""
    for name in wanted.split(",") if wanted else []:
        if name in environment:
            extra[name] = environment[name]
    if log_options.get("env-regex"):
        for k, v in environment.items():
            if _search(log_options["env-regex"], k):
                extra[k] = v
    if log_options.get("tag") and "{{" not in log_options["tag"]:
        extra["tag"] = log_options["tag"]
    return extra


def details_prefix(attrs: dict[str, str]) -> bytes:
    """What ``details=true`` puts before a line: ``k=v,k2=v2`` query-escaped (Go's
    url.QueryEscape), in key order, then a space (a lone space without attributes)."""
    pairs = ",".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in sorted(attrs.items()))
    return pairs.encode() + b" "


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False
