"""The ``scale`` subresource of Deployments and ReplicaSets: ``autoscaling/v1`` ``Scale`` objects.

Contracts (as kube-apiserver's ``ScaleREST``):

- GET: ``{spec: {replicas}, status: {replicas, selector}}`` with the parent's
  name, namespace, uid, resourceVersion and creationTimestamp;
- PUT: a Scale whose ``spec.replicas`` becomes the parent's; a
  ``metadata.resourceVersion`` that is not the parent's is a 409 Conflict;
- PATCH (JSON merge, strategic merge, JSON patch): applied to the Scale as read,
  then stored as a PUT would;
- a negative or missing ``spec.replicas`` is a 422 naming ``spec.replicas``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import patch as patches
from ..kinds import by_resource
from ..status import APIError, conflict, not_found
from .podtemplate import selector_string

if TYPE_CHECKING:
    from ..manager import Context
    from ..server import Target

Obj = dict[str, Any]


def to_scale(obj: Obj) -> Obj:
    """The ``autoscaling/v1`` Scale of a Deployment or ReplicaSet."""
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {key: meta[key] for key in ("name", "namespace", "uid", "resourceVersion",
                                                     "creationTimestamp") if key in meta},
            "spec": {"replicas": int((obj.get("spec") or {}).get("replicas", 0))},
            "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)),
                       "selector": selector_string((obj.get("spec") or {}).get("selector"))}}


def _replicas(scale: Any) -> int:
    replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise APIError(422, f'Scale.autoscaling "" is invalid: spec.replicas: Invalid value: {json.dumps(replicas)}: '
                            f"must be greater than or equal to 0", "Invalid")
    return replicas


async def handle(request: web.Request, target: Target, ctx: Context) -> web.StreamResponse:
    kind = target.kind
    registry = ctx.registry
    ns = target.namespace or ""
    raw = b"" if request.method == "GET" else await request.read()
    # read after the body: nothing awaits between this read and the write below, so a PATCH
    # never loses a race it did not ask for (a PUT's own resourceVersion is still checked)
    obj = registry.storage.get(kind.resource, ns, target.name)
    if obj is None:
        raise not_found(kind.plural, kind.group, target.name)
    current = to_scale(registry.present(kind, obj))
    if request.method == "GET":
        return _respond(current)
    if request.method == "PUT":
        try:
            wanted = json.loads(raw or b"{}")
        except ValueError as exc:
            raise APIError(400, f"couldn't get version/kind; json parse error: {exc}") from None
        rv = (wanted.get("metadata") or {}).get("resourceVersion") if isinstance(wanted, dict) else None
        if rv and rv != obj["metadata"]["resourceVersion"]:
            raise conflict(kind.plural, kind.group, target.name)
    elif request.method == "PATCH":
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise APIError(400, f"error decoding patch: {exc}") from None
        if "json-patch" in request.content_type:
            wanted = patches.json_patch(current, body)
        else:
            wanted = patches.merge_patch(current, body)
    else:
        raise APIError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")
    replicas = _replicas(wanted)
    updated = obj
    if replicas != int((obj.get("spec") or {}).get("replicas", 0)):
        body = registry.present(kind, obj)
        body["spec"]["replicas"] = replicas
        updated, _ = await registry.update(kind, ns, target.name, body, "Ignore")
    return _respond(to_scale(registry.present(kind, updated)))


def _respond(body: Obj) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


def register(ctx: Context, resource: str) -> None:
    """Serve ``<resource>/<name>/scale`` (``deployments.apps``, ``replicasets.apps``)."""
    by_resource(resource)  # a typo fails at start, not at the first request
    ctx.register_subresource(resource, "scale", handle)
