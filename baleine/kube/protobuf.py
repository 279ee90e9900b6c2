"""Decoding of the protobuf bodies kubectl's typed clients send (``kubectl create ns|configmap|secret|sa``).

kubectl 1.32 posts built-in objects as ``application/vnd.kubernetes.protobuf``
and does not fall back to JSON on 415. Bodies are the ``k8s\\0`` magic and a
``runtime.Unknown`` envelope around the object's message. Only the kinds the
``kubectl create <kind>`` subcommands of this floor's kinds make are mapped,
with the fields those subcommands set (field numbers from k8s.io/api's
generated.proto); other kinds are a 415 naming the kind.
"""

from __future__ import annotations

import base64
from typing import Any

MAGIC = b"k8s\x00"

# A message layout: field number -> (name, type); types: "string", "bytes", "int", "bool",
# a layout dict (sub-message), ("map", value_type), ("list", type).
_OWNER_REF = {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"), 5: ("apiVersion", "string"),
              6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool")}
_META = {1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
         5: ("uid", "string"), 6: ("resourceVersion", "string"), 7: ("generation", "int"),
         11: ("labels", ("map", "string")), 12: ("annotations", ("map", "string")),
         13: ("ownerReferences", ("list", _OWNER_REF)), 14: ("finalizers", ("list", "string"))}
_LOCAL_REF = {1: ("name", "string")}
_OBJECT_REF = {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string")}
_PORT = {1: ("name", "string"), 2: ("hostPort", "int"), 3: ("containerPort", "int"), 4: ("protocol", "string"),
         5: ("hostIP", "string")}
_CONTAINER = {1: ("name", "string"), 2: ("image", "string"), 3: ("command", ("list", "string")),
              4: ("args", ("list", "string")), 5: ("workingDir", "string"), 6: ("ports", ("list", _PORT)),
              7: ("env", ("list", {1: ("name", "string"), 2: ("value", "string")})), 8: ("resources", {}),
              14: ("imagePullPolicy", "string"), 16: ("stdin", "bool"), 18: ("tty", "bool")}
_POD_SPEC = {2: ("containers", ("list", _CONTAINER)), 3: ("restartPolicy", "string"),
             8: ("serviceAccountName", "string"), 10: ("nodeName", "string")}
_TEMPLATE = {1: ("metadata", _META), 2: ("spec", _POD_SPEC)}
_SELECTOR = {1: ("matchLabels", ("map", "string"))}
_SERVICE_PORT = {1: ("name", "string"), 2: ("protocol", "string"), 3: ("port", "int"), 4: ("targetPort", "intstr"),
                 5: ("nodePort", "int"), 6: ("appProtocol", "string")}
_SERVICE_SPEC = {1: ("ports", ("list", _SERVICE_PORT)), 2: ("selector", ("map", "string")),
                 3: ("clusterIP", "string"), 4: ("type", "string"), 5: ("externalIPs", ("list", "string")),
                 7: ("sessionAffinity", "string"), 10: ("externalName", "string")}
_JOB_SPEC = {1: ("parallelism", "int!"), 2: ("completions", "int!"), 3: ("activeDeadlineSeconds", "int!"),
             4: ("selector", _SELECTOR), 6: ("template", _TEMPLATE), 7: ("backoffLimit", "int!"),
             8: ("ttlSecondsAfterFinished", "int!"), 9: ("completionMode", "string"), 10: ("suspend", "bool")}
_SCALE_REF = {1: ("kind", "string"), 2: ("name", "string"), 3: ("apiVersion", "string")}
LAYOUTS: dict[str, dict[int, Any]] = {
    # kubectl create deployment NAME --image=... [--replicas=N] [--port=P]
    "Deployment": {1: ("metadata", _META), 2: ("spec", {1: ("replicas", "int!"), 2: ("selector", _SELECTOR),
                                                         3: ("template", _TEMPLATE), 4: ("strategy", {})})},
    # kubectl create service clusterip|nodeport|loadbalancer|externalname NAME --tcp=PORT:TARGET
    "Service": {1: ("metadata", _META), 2: ("spec", _SERVICE_SPEC)},
    # kubectl create job NAME --image=... [-- COMMAND]; kubectl create cronjob NAME --image=... --schedule=...
    "Job": {1: ("metadata", _META), 2: ("spec", _JOB_SPEC)},
    "CronJob": {1: ("metadata", _META), 2: ("spec", {
        1: ("schedule", "string"), 2: ("startingDeadlineSeconds", "int!"), 3: ("concurrencyPolicy", "string"),
        4: ("suspend", "bool"), 5: ("jobTemplate", {1: ("metadata", _META), 2: ("spec", _JOB_SPEC)}),
        6: ("successfulJobsHistoryLimit", "int!"), 7: ("failedJobsHistoryLimit", "int!"), 8: ("timeZone", "string")})},
    "Namespace": {1: ("metadata", _META), 2: ("spec", {1: ("finalizers", ("list", "string"))})},
    "ConfigMap": {1: ("metadata", _META), 2: ("data", ("map", "string")), 3: ("binaryData", ("map", "bytes")),
                  4: ("immutable", "bool")},
    "Secret": {1: ("metadata", _META), 2: ("data", ("map", "bytes")), 3: ("type", "string"),
               4: ("stringData", ("map", "string")), 5: ("immutable", "bool")},
    "ServiceAccount": {1: ("metadata", _META), 2: ("secrets", ("list", _OBJECT_REF)),
                       3: ("imagePullSecrets", ("list", _LOCAL_REF)), 4: ("automountServiceAccountToken", "bool")},
    # kubectl autoscale (autoscaling/v1; v2 keyed by version: field 4 differs)
    "HorizontalPodAutoscaler": {1: ("metadata", _META), 2: ("spec", {
        1: ("scaleTargetRef", _SCALE_REF), 2: ("minReplicas", "int!"), 3: ("maxReplicas", "int"),
        4: ("targetCPUUtilizationPercentage", "int!")})},
    "autoscaling/v2/HorizontalPodAutoscaler": {1: ("metadata", _META), 2: ("spec", {
        1: ("scaleTargetRef", _SCALE_REF), 2: ("minReplicas", "int!"), 3: ("maxReplicas", "int"),
        4: ("metrics", ("list", {1: ("type", "string"), 4: ("resource", {1: ("name", "string"), 2: ("target", {
            1: ("type", "string"), 4: ("averageUtilization", "int!")})})}))})},
}


class Unsupported(ValueError):
    """A body this module cannot decode."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise Unsupported("truncated varint")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """The (number, value) pairs of a message: varints as ints, length-delimited as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(data, pos)
            out.append((number, data[pos:pos + size]))
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise Unsupported(f"wire type {wire}")
    return out


def _value(kind: Any, raw: int | bytes) -> Any:
    if isinstance(kind, dict):
        return message(raw, kind) if isinstance(raw, bytes) else {}
    if kind == "string":
        return raw.decode() if isinstance(raw, bytes) else str(raw)
    if kind == "bytes":
        return base64.b64encode(raw).decode() if isinstance(raw, bytes) else ""
    if kind == "bool":
        return bool(raw)
    if kind == "intstr":  # IntOrString: type (0 int, 1 string), intVal, strVal
        parts = dict(fields(raw)) if isinstance(raw, bytes) else {}
        return _value("string", parts.get(3, b"")) if parts.get(1) == 1 else int(parts.get(2, 0))
    if kind == "int!":
        kind = "int"
    return int(raw) if isinstance(raw, int) else 0


def message(data: bytes, layout: dict[int, Any]) -> dict[str, Any]:
    """Decode ``data`` with ``layout``; unmapped fields are dropped."""
    out: dict[str, Any] = {}
    for number, raw in fields(data):
        if number not in layout:
            continue
        name, kind = layout[number]
        if isinstance(kind, tuple) and kind[0] == "map":
            entry = dict(fields(raw)) if isinstance(raw, bytes) else {}
            key = _value("string", entry.get(1, b""))
            out.setdefault(name, {})[key] = _value(kind[1], entry.get(2, b""))
        elif isinstance(kind, tuple) and kind[0] == "list":
            out.setdefault(name, []).append(_value(kind[1], raw))
        else:
            value = _value(kind, raw)
            # Go's non-pointer fields are always encoded: their zero value means unset.
            # (Pointers, like replicas, are marked "int!": an explicit 0 is kept.)
            if value not in ("", 0, False) or kind == "int!":
                out[name] = value
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object as its JSON form; Unsupported for kinds not mapped."""
    if not body.startswith(MAGIC):
        raise Unsupported("missing the k8s protobuf magic")
    envelope = dict(fields(body[len(MAGIC):]))
    type_meta = dict(fields(envelope.get(1, b""))) if isinstance(envelope.get(1), bytes) else {}
    api_version = _value("string", type_meta.get(1, b""))
    kind = _value("string", type_meta.get(2, b""))
    layout = LAYOUTS.get(f"{api_version}/{kind}") or LAYOUTS.get(kind)
    if layout is None or not isinstance(envelope.get(2, b""), bytes):
        raise Unsupported(f"protobuf bodies of kind {kind!r} are not supported; send JSON")
    obj = message(envelope.get(2, b""), layout)
    obj.setdefault("metadata", {})
    return {"apiVersion": api_version, "kind": kind, **obj}
