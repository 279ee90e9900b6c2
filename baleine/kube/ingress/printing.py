"""Cells of ``kubectl get ingress`` / ``ingressclass`` as kubectl 1.32 prints them
(``pkg/printers/internalversion``: printIngress, printIngressClass)."""
from __future__ import annotations

import datetime
from typing import Any

Obj = dict[str, Any]


def ingress_class(obj: Obj, now: datetime.datetime) -> str:
    return (obj.get("spec") or {}).get("ingressClassName") or "<none>"


def hosts(obj: Obj, now: datetime.datetime) -> str:
    """Rule hosts, three at most then ``+ N more...``; ``*`` when no rule names one."""
    names = [r["host"] for r in (obj.get("spec") or {}).get("rules") or [] if r.get("host")]
    if not names:
        return "*"
    shown = ",".join(names[:3])
    return shown + (f" + {len(names) - 3} more..." if len(names) > 3 else "")


def address(obj: Obj, now: datetime.datetime) -> str:
    lbs = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ",".join(lb.get("ip") or lb.get("hostname") or "" for lb in lbs if lb.get("ip") or lb.get("hostname"))


def ports(obj: Obj, now: datetime.datetime) -> str:
    return "80, 443" if (obj.get("spec") or {}).get("tls") else "80"


def class_parameters(obj: Obj, now: datetime.datetime) -> str:
    p = (obj.get("spec") or {}).get("parameters")
    if not p:
        return "<none>"
    group = p.get("apiGroup") or ""
    return f"{p.get('kind', '')}.{group}/{p.get('name', '')}" if group else f"{p.get('kind', '')}/{p.get('name', '')}"
