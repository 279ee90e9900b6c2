"""Validation of objects per kind, with kube-apiserver's messages.

Two stages, as in the API server:

- decoding (``decode_check``): fields the schema does not declare are pruned;
  with ``fieldValidation=Strict`` they are an error (400, ``strict decoding
  error: unknown field "spec.foo"``), with ``Warn`` a warning; values of the
  wrong JSON type are a 400 too;
- validation (``validate``): the kind's rules, answered 422 ``Invalid`` with one
  cause per field (``spec.replicas: Invalid value: -1: must be greater than or
  equal to 0``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

from .controllers import schedule  # the cron parser the cronjob controller runs (pure), as kube's validation does
from .patch import resolve
from .status import APIError, Cause

Obj = dict[str, Any]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_DNS_LABEL = re.compile(rf"^{_LABEL}$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")

#: Kinds whose names must be DNS labels (the others: subdomains).
LABEL_NAMED = {"Namespace", "Service"}


def go_value(value: Any) -> str:
    """A value as Go's ``%#v``-ish printing in field errors: strings quoted, numbers bare."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {go_value(value)}: {detail}", path)


def required(path: str) -> Cause:
    return Cause("FieldValueRequired", "Required value", path)


def unsupported(path: str, value: Any, allowed: list[str]) -> Cause:
    quoted = ", ".join(json.dumps(a) for a in allowed)
    return Cause("FieldValueNotSupported", f"Unsupported value: {go_value(value)}: supported values: {quoted}",
                 path)


def error(kind: str, name: str, group: str, causes: list[Cause]) -> APIError:
    """The 422 Invalid error for ``causes`` (kube-apiserver's message layout)."""
    parts = [f"{c.field}: {c.message}" for c in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return APIError(422, f'{kind} "{name}" is invalid: {text}', "Invalid", kind=kind, name=name, group=group,
                    causes=causes)


# --- decoding: unknown fields and types --------------------------------------

_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str), "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool), "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list), "null": lambda v: v is None,
}


def _types(node: Obj) -> list[str]:
    t = node.get("type")
    if t is None:
        return []
    return [t] if isinstance(t, str) else list(t)


def _check_type(value: Any, node: Obj, path: str, bad: list[str]) -> bool:
    types = _types(node)
    if node.get("format") == "int-or-string" or "x-kubernetes-int-or-string" in node or not types:
        return True
    if value is None or any(_TYPES.get(t, lambda v: True)(value) for t in types):
        return True
    want = next(t for t in types if t != "null")
    got = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}
    bad.append(f'json: cannot unmarshal {got.get(type(value), "value")} into Go struct field '
               f'{path or "object"} of type {want}')
    return False


def prune(value: Any, schema: Obj, defs: dict[str, Obj], path: str = "",
          unknown: list[str] | None = None, bad: list[str] | None = None) -> Any:
    """``value`` without the fields ``schema`` does not declare; their paths go to ``unknown``."""
    unknown = [] if unknown is None else unknown
    bad = [] if bad is None else bad
    node = resolve(schema, defs)
    if not _check_type(value, node, path, bad):
        return value
    if isinstance(value, dict):
        props = node.get("properties")
        extra = node.get("additionalProperties")
        if props is None and not isinstance(extra, dict):
            return value  # free-form object (x-kubernetes-preserve-unknown-fields, RawExtension)
        out = {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if props is not None and key in props:
                out[key] = prune(item, props[key], defs, sub, unknown, bad)
            elif isinstance(extra, dict):
                out[key] = prune(item, extra, defs, sub, unknown, bad)
            else:
                unknown.append(sub)
        return out
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [prune(item, node["items"], defs, f"{path}[{i}]", unknown, bad) for i, item in enumerate(value)]
    return value


def decode_check(obj: Obj, schema: Obj | None, defs: dict[str, Obj], kind: str, version: str,
                 directive: str) -> tuple[Obj, list[str]]:
    """Prune unknown fields; raise 400 for bad types or (Strict) unknown fields. Returns the object and warnings."""
    if schema is None:
        return obj, []
    unknown: list[str] = []
    bad: list[str] = []
    pruned = prune(obj, schema, defs, "", unknown, bad)
    unknown.sort()
    prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
    if bad:
        raise APIError(400, prefix + bad[0])
    if unknown and directive == "Strict":
        raise APIError(400, prefix + "strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown))
    warnings = [f'unknown field "{u}"' for u in unknown] if directive != "Ignore" else []
    return pruned, warnings


# --- validation --------------------------------------------------------------

def _name(kind: str, meta: Obj) -> list[Cause]:
    name = meta.get("name")
    if not name:
        return [Cause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name")]
    pattern, msg = (_DNS_LABEL, LABEL_MSG) if kind in LABEL_NAMED else (_SUBDOMAIN, SUBDOMAIN_MSG)
    limit = 63 if kind in LABEL_NAMED else 253
    if len(name) > limit:
        return [invalid("metadata.name", name, f"must be no more than {limit} characters")]
    if not pattern.match(name):
        return [invalid("metadata.name", name, msg)]
    return []


def _qualified_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED.match(name))


def _labels(meta: Obj) -> list[Cause]:
    causes = []
    for key, value in (meta.get("labels") or {}).items():
        if not _qualified_key(key):
            causes.append(invalid("metadata.labels", key, "name part must consist of alphanumeric characters, "
                                  "'-', '_' or '.', and must start and end with an alphanumeric character"))
        value = "" if value is None else str(value)
        if value and (len(value) > 63 or not _QUALIFIED.match(value)):
            causes.append(invalid("metadata.labels", value, "a valid label must be an empty string or consist of "
                                  "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                  "alphanumeric character"))
    for key in meta.get("annotations") or {}:
        if not _qualified_key(key):
            causes.append(invalid("metadata.annotations", key, "name part must consist of alphanumeric characters"
                                  ", '-', '_' or '.', and must start and end with an alphanumeric character"))
    return causes


def _min(obj: Obj, path: str, low: int = 0) -> list[Cause]:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if isinstance(cur, int) and cur < low:
        return [invalid(path, cur, f"must be greater than or equal to {low}")]
    return []


def _config_keys(obj: Obj, field: str) -> list[Cause]:
    return [invalid(field, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                    "'[-._a-zA-Z0-9]+')")
            for key in (obj.get(field) or {}) if not _CONFIG_KEY.match(key)]


def _configmap(obj: Obj) -> list[Cause]:
    causes = _config_keys(obj, "data") + _config_keys(obj, "binaryData")
    for key in set(obj.get("data") or {}) & set(obj.get("binaryData") or {}):
        causes.append(invalid("data", key, "duplicate of key present in binaryData"))
    return causes


def _secret(obj: Obj) -> list[Cause]:
    causes = _config_keys(obj, "data")
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(value or "", validate=True)
        except (binascii.Error, ValueError):
            causes.append(invalid(f"data[{key}]", "<secret contents redacted>", "illegal base64 data"))
    data = obj.get("data") or {}
    kind = obj.get("type")
    if kind == "kubernetes.io/tls":
        causes += [required(f"data[{k}]") for k in ("tls.crt", "tls.key") if k not in data]
    elif kind == "kubernetes.io/dockerconfigjson":
        if ".dockerconfigjson" not in data:
            causes.append(required("data[.dockerconfigjson]"))
        else:
            try:
                json.loads(base64.b64decode(data[".dockerconfigjson"]))
            except ValueError as exc:
                causes.append(invalid("data[.dockerconfigjson]", "<secret contents redacted>", str(exc)))
    return causes


def _containers(spec: Obj, path: str) -> list[Cause]:
    containers = spec.get("containers")
    if not containers:
        return [required(f"{path}.containers")]
    causes: list[Cause] = []
    names: set[str] = set()
    for i, c in enumerate(containers):
        where = f"{path}.containers[{i}]"
        if not c.get("name"):
            causes.append(required(f"{where}.name"))
        elif not _DNS_LABEL.match(c["name"]):
            causes.append(invalid(f"{where}.name", c["name"], LABEL_MSG))
        elif c["name"] in names:
            causes.append(Cause("FieldValueDuplicate", f'Duplicate value: "{c["name"]}"', f"{where}.name"))
        names.add(c.get("name"))
        if not c.get("image"):
            causes.append(required(f"{where}.image"))
        for j, port in enumerate(c.get("ports") or []):
            cp = port.get("containerPort")
            if not isinstance(cp, int) or not 0 < cp < 65536:
                causes.append(invalid(f"{where}.ports[{j}].containerPort", cp,
                                      "must be between 1 and 65535, inclusive"))
    policy = spec.get("restartPolicy")
    if policy not in (None, "Always", "OnFailure", "Never"):
        causes.append(unsupported(f"{path}.restartPolicy", policy, ["Always", "OnFailure", "Never"]))
    return causes


def _pod(obj: Obj) -> list[Cause]:
    return _containers(obj.get("spec") or {}, "spec")


def _selector_matches(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if not selector:
        return [required("spec.selector")]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    wanted = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in wanted.items()):
        return [invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")]
    return []


def _workload(obj: Obj) -> list[Cause]:
    causes = _min(obj, "spec.replicas") + _selector_matches(obj)
    template = (obj.get("spec") or {}).get("template") or {}
    causes += _containers(template.get("spec") or {}, "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy not in (None, "Always"):
        causes.append(unsupported("spec.template.spec.restartPolicy", policy, ["Always"]))
    return causes


def _job_spec(spec: Obj, path: str) -> list[Cause]:
    wrapper = {"spec": spec}
    causes = []
    for f in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"):
        causes += [Cause(c.reason, c.message, f"{path}.{f}") for c in _min(wrapper, f"spec.{f}")]
    template = spec.get("template") or {}
    causes += _containers(template.get("spec") or {}, f"{path}.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        causes.append(unsupported(f"{path}.template.spec.restartPolicy", policy, ["OnFailure", "Never"]))
    return causes


def _job(obj: Obj) -> list[Cause]:
    return _job_spec(obj.get("spec") or {}, "spec")


def _cronjob(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = [] if spec.get("schedule") else [required("spec.schedule")]
    if spec.get("schedule"):
        try:
            schedule.parse(str(spec["schedule"]))
        except schedule.ScheduleError as exc:
            causes.append(invalid("spec.schedule", spec["schedule"], str(exc)))
    try:
        schedule.zone(spec.get("timeZone"))
    except schedule.ScheduleError as exc:
        causes.append(invalid("spec.timeZone", spec.get("timeZone"), str(exc)))
    return causes + _job_spec((spec.get("jobTemplate") or {}).get("spec") or {}, "spec.jobTemplate.spec")


def _service(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    allowed = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    if kind not in allowed:
        return [unsupported("spec.type", kind, allowed)]
    causes: list[Cause] = []
    if kind == "ExternalName":
        if not spec.get("externalName"):
            causes.append(required("spec.externalName"))
        return causes
    ports = spec.get("ports") or []
    if not ports and spec.get("clusterIP") != "None":
        causes.append(required("spec.ports"))
    for i, port in enumerate(ports):
        p = port.get("port")
        if not isinstance(p, int) or not 0 < p < 65536:
            causes.append(invalid(f"spec.ports[{i}].port", p, "must be between 1 and 65535, inclusive"))
        if len(ports) > 1 and not port.get("name"):
            causes.append(required(f"spec.ports[{i}].name"))
    return causes


def _pvc(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = [] if spec.get("accessModes") else [required("spec.accessModes")]
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        causes.append(required("spec.resources[storage]"))
    return causes


def _endpointslice(obj: Obj) -> list[Cause]:
    allowed = ["IPv4", "IPv6", "FQDN"]
    t = obj.get("addressType")
    return [required("addressType")] if not t else ([] if t in allowed else [unsupported("addressType", t, allowed)])


RULES: dict[str, Callable[[Obj], list[Cause]]] = {
    "ConfigMap": _configmap, "Secret": _secret, "Pod": _pod, "Deployment": _workload, "ReplicaSet": _workload,
    "Job": _job, "CronJob": _cronjob, "Service": _service, "PersistentVolumeClaim": _pvc,
    "EndpointSlice": _endpointslice,
}


def _hpa(obj: Obj) -> list[Cause]:
    from .hpaversions import validate as hpa_validate  # hpaversions builds on this module's causes
    return hpa_validate(obj)


RULES["HorizontalPodAutoscaler"] = _hpa


def _ingress(obj: Obj) -> list[Cause]:
    from .ingress.validation import validate as ingress_validate  # builds on this module's causes
    return ingress_validate(obj)


def _ingressclass(obj: Obj) -> list[Cause]:
    from .ingress.validation import validate_class
    return validate_class(obj)


RULES["Ingress"] = _ingress
RULES["IngressClass"] = _ingressclass


def validate(kind: str, obj: Obj) -> list[Cause]:
    """Every rule ``obj`` (defaulted) breaks, in field order; empty when valid."""
    meta = obj.get("metadata") or {}
    causes = _name(kind, meta) + _labels(meta)
    rule = RULES.get(kind)
    if rule is not None:
        causes += rule(obj)
    return causes


def validate_update(kind: str, old: Obj, new: Obj) -> list[Cause]:
    """Rules of an update: the object's own, and fields that cannot change."""
    causes = validate(kind, new)
    if kind == "Secret" or kind == "ConfigMap":
        if old.get("immutable") and (old.get("data") != new.get("data") or old.get("binaryData") != new.get("binaryData")):
            causes.append(Cause("FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set",
                                "data"))
    if kind == "Secret" and old.get("type") != new.get("type"):
        causes.append(invalid("type", new.get("type"), "field is immutable"))
    if kind == "Service" and (old.get("spec") or {}).get("clusterIP") not in (None, "") and \
            (new.get("spec") or {}).get("clusterIP") != old["spec"]["clusterIP"]:
        causes.append(invalid("spec.clusterIP", new["spec"].get("clusterIP"), "field is immutable"))
    return causes
