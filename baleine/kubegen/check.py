"""Checks of generated objects before they are printed: the Kubernetes JSON schemas of
the target version (``kubernetes_validate``, strict) and the API server's semantic rules
that schemas cannot express (DNS-1123 names, selectors matching template labels, port
ranges). ``check_all`` returns the problems, one line each; empty means valid."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from .names import is_dns_label

Obj = dict[str, Any]


def check_all(objects: list[Obj], version: str) -> list[str]:
    """Every problem of every object, prefixed with ``Kind/name``."""
    problems: list[str] = []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        problems += [f"{where}: {p}" for p in _schema(obj, version) + _semantic(obj)]
    return problems


def _schema(obj: Obj, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = ".".join(str(p) for p in e.path)
        return [f"{path}: {e.message}" if path else e.message]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"no schema: {e}"]
    except kubernetes_validate.InvalidSchemaError as e:
        return [str(e)]
    return []


def _semantic(obj: Obj) -> list[str]:
    bad: list[str] = []
    name = obj.get("metadata", {}).get("name", "")
    if not is_dns_label(name):
        bad.append(f"metadata.name {name!r} is not a DNS-1123 label")
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Deployment":
        want = (spec.get("selector") or {}).get("matchLabels") or {}
        have = (((spec.get("template") or {}).get("metadata")) or {}).get("labels") or {}
        if any(have.get(k) != v for k, v in want.items()):
            bad.append("spec.selector does not match spec.template.metadata.labels")
        pod = (spec.get("template") or {}).get("spec") or {}
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            if not is_dns_label(c.get("name", "")):
                bad.append(f"container name {c.get('name')!r} is not a DNS-1123 label")
            for p in c.get("ports", []):
                if not 1 <= p.get("containerPort", 0) <= 65535:
                    bad.append(f"containerPort {p.get('containerPort')} out of 1-65535")
    if obj.get("kind") == "Service":
        for p in spec.get("ports", []):
            if not 1 <= p.get("port", 0) <= 65535:
                bad.append(f"port {p.get('port')} out of 1-65535")
            if "nodePort" in p and not 30000 <= p["nodePort"] <= 32767:
                bad.append(f"nodePort {p['nodePort']} out of 30000-32767")
    return bad
