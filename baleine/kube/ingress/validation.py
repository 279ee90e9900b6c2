"""The API server's validation of an Ingress (``pkg/apis/networking/validation``).

:func:`validate` returns the causes of a 422 for a defaulted Ingress; an empty
list means valid. A TLS Secret that does not exist is *not* an error here (as in
Kubernetes): the controller reports it as an event.
"""
from __future__ import annotations

import re
from typing import Any

from ..status import Cause
from ..validation import invalid, required, unsupported

Obj = dict[str, Any]

PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_SVC_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def host_causes(host: str, path: str) -> list[Cause]:
    """A DNS subdomain, or ``*.`` followed by one (a wildcard of one label); no IPs."""
    if host.startswith("*."):
        if not _SUBDOMAIN.match(host[2:]) or len(host) > 253:
            return [invalid(path, host, "a wildcard DNS-1123 subdomain must start with '*.', followed by a "
                            "valid DNS subdomain, which must consist of lower case alphanumeric characters, "
                            "'-' or '.' and end with an alphanumeric character (e.g. '*.example.com', "
                            "regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]"
                            "([-a-z0-9]*[a-z0-9])?)*')")]
        return []
    if "*" in host or not _SUBDOMAIN.match(host) or len(host) > 253:
        return [invalid(path, host, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                        "characters, '-' or '.', and must start and end with an alphanumeric character "
                        "(e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                        "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]
    if re.match(r"^\d+\.\d+\.\d+\.\d+$", host):
        return [invalid(path, host, "must be a DNS name, not an IP address")]
    return []


def backend(b: Any, path: str) -> list[Cause]:
    """A backend names a Service (name + port number or name) or a resource, not both."""
    if not isinstance(b, dict):
        return [required(path)]
    svc, res = b.get("service"), b.get("resource")
    if svc and res:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if res:
        return [] if res.get("kind") and res.get("name") else [required(f"{path}.resource.name")]
    if not svc:
        return [invalid(path, "", "one backend (service or resource) must be specified")]
    causes: list[Cause] = []
    name = svc.get("name") or ""
    if not name:
        causes.append(required(f"{path}.service.name"))
    elif not _SVC_NAME.match(name) or len(name) > 63:
        causes.append(invalid(f"{path}.service.name", name, "a DNS-1035 label must consist of lower case "
                              "alphanumeric characters or '-', start with an alphabetic character, and end "
                              "with an alphanumeric character"))
    port = svc.get("port") or {}
    number, pname = port.get("number"), port.get("name")
    if number and pname:
        causes.append(invalid(f"{path}.service.port", "", "cannot set both port name & port number"))
    elif number is not None and number != 0:
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(invalid(f"{path}.service.port.number", number, "must be between 1 and 65535, inclusive"))
    elif pname:
        if not _PORT_NAME.match(pname) or len(pname) > 15:
            causes.append(invalid(f"{path}.service.port.name", pname, "must be a valid port name"))
    else:
        causes.append(required(f"{path}.service.port"))
    return causes


def _paths(http: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    paths = http.get("paths")
    if not paths:
        return [required(f"{path}.paths")]
    for i, p in enumerate(paths):
        here = f"{path}.paths[{i}]"
        kind = p.get("pathType")
        value = p.get("path", "")
        if not kind:
            causes.append(required(f"{here}.pathType"))
        elif kind not in PATH_TYPES:
            causes.append(unsupported(f"{here}.pathType", kind, PATH_TYPES))
        if kind in ("Exact", "Prefix") or value:
            if not value.startswith("/"):
                causes.append(invalid(f"{here}.path", value, "must be an absolute path"))
            elif kind in ("Exact", "Prefix") and any(s in value for s in ("//", "/./", "/../", "%2f", "%2F")):
                causes.append(invalid(f"{here}.path", value, "must not contain '//', '/./', '/../' or '%2f'"))
        causes += backend(p.get("backend"), f"{here}.backend")
    return causes


def validate(obj: Obj) -> list[Cause]:
    """Every rule the Ingress ``obj`` breaks, in field order."""
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    if spec.get("defaultBackend") is not None:
        causes += backend(spec["defaultBackend"], "spec.defaultBackend")
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        causes.append(invalid("spec", "", "either `defaultBackend` or `rules` must be specified"))
    for i, rule in enumerate(rules):
        if rule.get("host"):
            causes += host_causes(rule["host"], f"spec.rules[{i}].host")
        if rule.get("http") is not None:
            causes += _paths(rule["http"], f"spec.rules[{i}].http")
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate(tls.get("hosts") or []):
            causes += host_causes(host, f"spec.tls[{i}].hosts[{j}]")
    name = spec.get("ingressClassName")
    if name is not None and not _SUBDOMAIN.match(name):
        causes.append(invalid("spec.ingressClassName", name, "a lowercase RFC 1123 subdomain must consist of "
                              "lower case alphanumeric characters, '-' or '.'"))
    return causes


def validate_class(obj: Obj) -> list[Cause]:
    """An IngressClass names its controller (a domain-prefixed path)."""
    ctrl = (obj.get("spec") or {}).get("controller")
    if not ctrl:
        return [required("spec.controller")]
    if "/" not in ctrl:
        return [invalid("spec.controller", ctrl, "must be a domain-prefixed path (such as \"acme.io/foo\")")]
    return []
