"""OpenAPI documents of the served kinds, built from the schemas ``kubernetes-validate`` ships (1.32).

- ``definitions()``: the JSON-schema definitions (``$ref: #/$defs/X``) that
  validation and strategic merge patch walk;
- ``v2()``: ``/openapi/v2`` (JSON; kubectl asks protobuf first and is answered
  406, see ``server``);
- ``v3_index()`` / ``v3(group, version)``: ``/openapi/v3`` and its per
  group-version documents. kubectl reads them to learn that the server does
  field validation itself (the ``fieldValidation`` parameter of each PATCH
  operation tagged with the kind's ``x-kubernetes-group-version-kind``).

Loading reads a 1.3 MB file: call ``load()`` in a worker thread once; documents
are built (in a worker thread too) on first request and cached.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from functools import lru_cache
from typing import Any

from . import kinds

SCHEMA_VERSION = "v1.32.0"
Obj = dict[str, Any]


def _schema_file() -> str:
    import kubernetes_validate

    base = os.path.dirname(kubernetes_validate.__file__)
    return os.path.join(base, "kubernetes-json-schema", f"{SCHEMA_VERSION}-local", "_definitions.json")


@lru_cache(maxsize=1)
def definitions() -> dict[str, Obj]:
    """Every definition of Kubernetes 1.32, by name (``io.k8s.api.core.v1.Pod``). Blocking, cached."""
    with open(_schema_file()) as f:
        return json.load(f)["$defs"]


def load() -> None:
    """Read the definitions (blocking); the documents are built on first request."""
    definitions()


def kind_schema(kind: kinds.Kind) -> Obj | None:
    return definitions().get(kind.definition)


def _convert(node: Any, prefix: str) -> Any:
    """JSON schema -> OpenAPI: refs under ``prefix``, ``type: [t, null]`` -> ``type: t``."""
    if isinstance(node, list):
        return [_convert(v, prefix) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = prefix + value.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if len(types) == 1:
                out[key] = types[0]
        elif key in ("enum", "$schema", "$id"):
            continue  # the apiVersion/kind enums are not in kube-apiserver's documents
        else:
            out[key] = _convert(value, prefix)
    return out


def _reachable(roots: list[str]) -> list[str]:
    defs = definitions()
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        todo.extend(_refs(defs[name]))
    return sorted(seen)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else []
        for value in node.values():
            out += _refs(value)
        return out
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


_META = ["io.k8s.apimachinery.pkg.apis.meta.v1.Status", "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
         "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent", "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"]


def _list_name(kind: kinds.Kind) -> str:
    return kind.definition + "List"


def _gvk(kind: kinds.Kind) -> Obj:
    return {"group": kind.group, "version": kind.version, "kind": kind.kind}


def _param(name: str, where: str = "query", kind: str = "string", desc: str = "") -> Obj:
    return {"name": name, "in": where, "description": desc or name, "schema": {"type": kind, "uniqueItems": True}}


def _operations(kind: kinds.Kind) -> dict[str, Obj]:
    """The paths of ``kind`` with their operations (v3 form)."""
    base = "/api/v1" if not kind.group else f"/apis/{kind.group}/{kind.version}"
    collection = f"{base}/namespaces/{{namespace}}/{kind.plural}" if kind.namespaced else f"{base}/{kind.plural}"
    ref = {"$ref": f"#/components/schemas/{kind.definition}"}
    list_ref = {"$ref": f"#/components/schemas/{_list_name(kind)}"}

    def op(action: str, verb: str, schema: Obj, body: bool = False, params: list[Obj] | None = None) -> Obj:
        o: Obj = {"operationId": f"{verb}{kind.kind}", "tags": [kind.group or "core_v1"],
                  "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}},
                  "x-kubernetes-action": action, "x-kubernetes-group-version-kind": _gvk(kind),
                  "parameters": params or []}
        if body:
            o["requestBody"] = {"content": {"*/*": {"schema": schema}}, "required": True}
        return o

    write = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]
    item_ops = {"get": op("get", "read", ref)}
    coll_ops = {"get": op("list", "list", list_ref, params=[_param("labelSelector"), _param("fieldSelector"),
                                                              _param("limit", kind="integer"), _param("continue"),
                                                              _param("watch", kind="boolean")])}
    if not kind.read_only:
        item_ops.update(put=op("put", "replace", ref, True, write), delete=op("delete", "delete", ref),
                        patch=op("patch", "patch", ref, True, write + [_param("force", kind="boolean")]))
        coll_ops.update(post=op("post", "create", ref, True, write))
    paths = {collection: coll_ops, f"{collection}/{{name}}": item_ops}
    if kind.status and not kind.read_only:
        paths[f"{collection}/{{name}}/status"] = {
            "get": op("get", "read", ref), "put": op("put", "replace", ref, True, write),
            "patch": op("patch", "patch", ref, True, write)}
    return paths


def _schemas(served: list[kinds.Kind], prefix: str) -> dict[str, Obj]:
    defs = definitions()
    names = _reachable([k.definition for k in served] + _META + ["io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"])
    out = {name: _convert(defs[name], prefix) for name in names}
    for k in served:
        out[_list_name(k)] = {
            "type": "object", "required": ["items"], "description": f"{k.kind}List is a list of {k.kind}.",
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "items": {"type": "array", "items": {"$ref": f"{prefix}{k.definition}"}},
                           "metadata": {"$ref": f"{prefix}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}},
            "x-kubernetes-group-version-kind": [{"group": k.group, "version": k.version, "kind": k.kind + "List"}]}
    return out


def _served(group: str, version: str) -> list[kinds.Kind]:
    return [k for k in kinds.in_group_version(group, version) if k.definition in definitions()]


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@lru_cache(maxsize=None)
def v3(group: str, version: str) -> bytes:
    """The OpenAPI v3 document of one group-version (JSON bytes). Blocking, cached."""
    served = _served(group, version)
    paths: dict[str, Obj] = {}
    for k in served:
        paths.update(_operations(k))
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": f"{SCHEMA_VERSION}"},
           "paths": paths, "components": {"schemas": _schemas(served, "#/components/schemas/")}}
    return json.dumps(doc, separators=(",", ":")).encode()


@lru_cache(maxsize=1)
def v3_index() -> bytes:
    """``/openapi/v3``: each group-version's document with a content hash (clients cache by it)."""
    paths = {}
    for group, versions in kinds.GROUPS.items():
        for version in versions:
            digest = hashlib.sha512(v3(group, version)).hexdigest().upper()[:128]
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return json.dumps({"paths": paths}, separators=(",", ":")).encode()


def v3_for(path: str) -> bytes | None:
    """The document at ``/openapi/v3/<path>`` (``api/v1``, ``apis/apps/v1``), None if not served."""
    parts = path.strip("/").split("/")
    if parts[:1] == ["api"] and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[:1] == ["apis"] and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return None
    if version not in kinds.GROUPS.get(group, []):
        return None
    return v3(group, version)


@lru_cache(maxsize=1)
def v2_protobuf() -> bytes:
    """``/openapi/v2`` as gnostic protobuf (kubectl validating a ``List`` asks for nothing else)."""
    from . import openapiproto

    return openapiproto.document(json.loads(v2()))


@lru_cache(maxsize=1)
def v2() -> bytes:
    """``/openapi/v2`` as JSON (Swagger 2.0): definitions and paths of every served kind."""
    served = [k for k in kinds.KINDS if k.definition in definitions()]
    paths: dict[str, Obj] = {}
    for k in served:
        for path, ops in _operations(k).items():
            v2ops = {}
            for method, o in ops.items():
                o = copy.deepcopy(o)
                o["parameters"] = [{"name": p["name"], "in": p["in"], "type": p["schema"]["type"],
                                    "uniqueItems": True} for p in o["parameters"]]
                schema = o["responses"]["200"]["content"]["application/json"]["schema"]
                ref = schema["$ref"].replace("#/components/schemas/", "#/definitions/")
                o["responses"] = {"200": {"description": "OK", "schema": {"$ref": ref}}}
                if o.pop("requestBody", None):
                    o["parameters"].append({"name": "body", "in": "body", "required": True, "schema": {"$ref": ref}})
                v2ops[method] = o
            paths[path] = v2ops
    doc = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": SCHEMA_VERSION}, "paths": paths,
           "definitions": _schemas(served, "#/definitions/")}
    return json.dumps(doc, separators=(",", ":")).encode()
