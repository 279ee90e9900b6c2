"""Discovery documents: what the server serves, for clients to map kinds and short names to URLs.

Aggregated (``apidiscovery.k8s.io/v2``: ``/api`` and ``/apis`` in one answer
each, what kubectl 1.32 asks first) when the Accept header asks for it;
otherwise the legacy documents: ``/api`` (APIVersions), ``/apis``
(APIGroupList), ``/api/v1`` and ``/apis/<group>/<version>`` (APIResourceList
with verbs, short names and categories: ``kubectl get cm`` resolves ``cm``
from here); and ``/version``.
"""

from __future__ import annotations

import platform
from typing import Any

from . import kinds

KUBE_VERSION = "v1.32.0"
Obj = dict[str, Any]
#: Kinds with a ``scale`` subresource (served by ``controllers/scale``; kubectl scale finds it here).
SCALABLE = ("Deployment", "ReplicaSet")
_SCALE = {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def version() -> Obj:
    from .. import __version__

    return {"major": "1", "minor": "32", "gitVersion": f"{KUBE_VERSION}+baleine-{__version__}",
            "gitCommit": "", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "python" + platform.python_version(), "compiler": "cpython",
            "platform": "linux/amd64" if platform.machine() in ("x86_64", "amd64") else "linux/arm64"}


def api_versions(server_address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(name: str) -> Obj:
    versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in kinds.GROUPS[name]]
    return {"name": name, "versions": versions, "preferredVersion": versions[0]}


def api_groups() -> Obj:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in kinds.GROUPS if g]}


def api_group(name: str) -> Obj | None:
    if not name or name not in kinds.GROUPS:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def resources(group: str, version: str) -> Obj | None:
    """The APIResourceList of a group-version, None if it is not served."""
    served = kinds.in_group_version(group, version)
    if not served:
        return None
    out = []
    for k in served:
        entry: Obj = {"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced, "kind": k.kind,
                      "verbs": list(k.verbs)}
        if k.short_names:
            entry["shortNames"] = list(k.short_names)
        if k.categories:
            entry["categories"] = list(k.categories)
        out.append(entry)
        if k.status and not k.read_only:
            out.append({"name": f"{k.plural}/status", "singularName": "", "namespaced": k.namespaced,
                        "kind": k.kind, "verbs": ["get", "patch", "update"]})
        if k.kind in SCALABLE:
            out.append({"name": f"{k.plural}/scale", "singularName": "", "namespaced": k.namespaced, **_SCALE,
                        "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
            "resources": out}


AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """Whether an Accept header asks for aggregated discovery (v2), as kubectl 1.32 does first."""
    return any("as=APIGroupDiscoveryList" in part and "v=v2" in part and "v=v2beta1" not in part
               for part in accept.split(","))


def _aggregated_resource(k: kinds.Kind) -> Obj:
    kind = {"group": k.group, "version": k.version, "kind": k.kind}
    entry: Obj = {"resource": k.plural, "responseKind": kind, "scope": "Namespaced" if k.namespaced else "Cluster",
                  "singularResource": k.singular, "verbs": list(k.verbs)}
    if k.short_names:
        entry["shortNames"] = list(k.short_names)
    if k.categories:
        entry["categories"] = list(k.categories)
    if k.status and not k.read_only:
        entry["subresources"] = [{"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]}]
    if k.kind in SCALABLE:
        entry.setdefault("subresources", []).append({"subresource": "scale", "responseKind": _SCALE,
                                                     "verbs": ["get", "patch", "update"]})
    return entry


def aggregated(core: bool) -> Obj:
    """``/api`` (core) or ``/apis`` (named groups) as one APIGroupDiscoveryList (apidiscovery.k8s.io/v2)."""
    items = []
    for group, versions in kinds.GROUPS.items():
        if bool(group) == core:
            continue
        items.append({"metadata": {"name": group}, "versions": [
            {"version": v, "freshness": "Current",
             "resources": [_aggregated_resource(k) for k in kinds.in_group_version(group, v)]} for v in versions]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
