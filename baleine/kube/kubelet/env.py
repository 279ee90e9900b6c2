"""A pod container's environment and command line, as the kubelet computes them.

Contracts (Kubernetes 1.32, ``pkg/kubelet/kubelet_pods.go`` ``makeEnvironmentVariables``):

- :func:`container_env` returns ``NAME=value`` strings: ``envFrom`` sources first
  (ConfigMap ``data`` / Secret ``data`` decoded, each key with the source's
  ``prefix``; keys that are not valid variable names are skipped), then ``env`` in
  order (a later definition of a name replaces its value), then the service
  variables of the pod's namespace (``enableServiceLinks``, default true) and of
  ``default/kubernetes`` (always), which never override the pod's own variables.
- ``env[].value`` is expanded: ``$(NAME)`` becomes the value of a variable defined
  earlier (or a service variable), an unknown ``$(NAME)`` stays as written, ``$$``
  is a literal ``$`` (``third_party/forked/golang/expansion``).
- A missing ConfigMap/Secret or key raises :class:`EnvError` with kubelet's
  message (the pod shows ``CreateContainerConfigError``), unless ``optional``.
- ``fieldRef`` reads the pod as given: the node agent fills ``status.podIP(s)``
  and ``status.hostIP(s)`` into the dict it passes before calling.
- :func:`command_line` gives Docker's (Entrypoint, Cmd) for the container.

Pure except for reads of ConfigMaps, Secrets, Services and the Node through
:class:`baleine.kube.client.Client`.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import math
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..client import Client

if TYPE_CHECKING:
    from ..manager import Context

Obj = dict[str, Any]

#: Kubernetes' C_IDENTIFIER-ish rule for env names from envFrom (``IsEnvVarName``).
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_FIELD_LABEL = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")
_SUFFIXES = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
             "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


class EnvError(Exception):
    """The container cannot be configured (kubelet's ``CreateContainerConfigError``)."""


# --- $(VAR) expansion ---------------------------------------------------------------
def expand(text: str, lookup: dict[str, str] | list[dict[str, str]]) -> str:
    """``text`` with ``$(NAME)`` replaced from ``lookup`` (the first mapping that has
    it), unknown references kept verbatim, ``$$`` made ``$`` (Kubernetes' rules)."""
    maps = lookup if isinstance(lookup, list) else [lookup]
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:  # no closing paren: "$(" stays, scanning resumes after it
                out.append("$(")
                i += 2
                continue
            name = text[i + 2:end]
            out.append(next((m[name] for m in maps if name in m), f"$({name})"))
            i = end + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


# --- quantities ---------------------------------------------------------------------
def parse_quantity(value: Any) -> Decimal:
    """A Kubernetes resource quantity (``500m``, ``128Mi``, ``1e3``, 2) as a number."""
    m = _QUANTITY.match(str(value).strip())
    if not m:
        raise EnvError(f"invalid quantity {value!r}")
    return Decimal(m.group(1)) * Decimal(_SUFFIXES[m.group(2) or ""])


def _resource_value(resource: str, amount: Decimal, divisor: Any) -> str:
    """``ExtractContainerResourceValue``: CPU rounds up in units of the divisor (1
    core by default), the others round up in units of theirs (1 by default)."""
    div = parse_quantity(divisor if divisor not in (None, "", 0, "0") else "1")
    if div == 0:
        div = Decimal(1)
    if resource.endswith("cpu"):
        milli, div_milli = math.ceil(amount * 1000), math.ceil(div * 1000)
        return str(math.ceil(Decimal(milli) / Decimal(div_milli)))
    return str(math.ceil(amount / div))


# --- sources ------------------------------------------------------------------------
def _configmap(client: Client, ns: str, name: str, optional: bool) -> Obj | None:
    obj = client.get("configmaps", ns, name)
    if obj is None and not optional:
        raise EnvError(f'configmap "{name}" not found')
    return obj


def _secret(client: Client, ns: str, name: str, optional: bool) -> Obj | None:
    obj = client.get("secrets", ns, name)
    if obj is None and not optional:
        raise EnvError(f'secret "{name}" not found')
    return obj


def secret_data(secret: Obj) -> dict[str, bytes]:
    """A Secret's ``data`` decoded (``stringData`` is folded in by the API server)."""
    out = {k: base64.b64decode(v or "") for k, v in (secret.get("data") or {}).items()}
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = str(v).encode()
    return out


def _env_from(client: Client, pod: Obj, container: Obj) -> dict[str, str]:
    ns = pod["metadata"].get("namespace") or "default"
    out: dict[str, str] = {}
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        if "configMapRef" in src:
            ref, what = src["configMapRef"] or {}, "configMap"
            cm = _configmap(client, ns, ref.get("name", ""), bool(ref.get("optional")))
            values = dict((cm or {}).get("data") or {})
        elif "secretRef" in src:
            ref, what = src["secretRef"] or {}, "secret"
            sec = _secret(client, ns, ref.get("name", ""), bool(ref.get("optional")))
            values = {k: v.decode("utf-8", "replace") for k, v in secret_data(sec or {}).items()}
        else:
            continue
        invalid = []
        for key, value in values.items():
            name = prefix + key
            if _ENV_NAME.match(name):
                out[name] = value
            else:
                invalid.append(name)
        if invalid:  # kubelet skips them and says so
            _warn(client, pod, "InvalidEnvironmentVariableNames",
                  f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {what} {ns}/{ref.get('name', '')} were "
                  "skipped since they are considered invalid environment variable names.")
    return out


#: Events in flight (a task nobody holds may be collected before it runs).
_pending: set[asyncio.Task[None]] = set()


def _warn(client: Client, pod: Obj, reason: str, message: str) -> None:
    """Record a Warning event from synchronous code, when a loop runs (best effort)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(client.event(pod, "Warning", reason, message))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def flush_events() -> None:
    """Wait for the events :func:`container_env` is still recording (before the
    registry's storage closes: a test's end, the daemon's stop)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)


def _field_ref(pod: Obj, path: str) -> str:
    """A ``fieldRef``'s value (the env flavour: labels/annotations by key only)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    m = _FIELD_LABEL.match(path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {
        "metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": status.get("podIP"), "status.hostIP": status.get("hostIP"),
        "status.podIPs": ",".join(p.get("ip", "") for p in status.get("podIPs") or []) or status.get("podIP"),
        "status.hostIPs": ",".join(p.get("ip", "") for p in status.get("hostIPs") or []) or status.get("hostIP"),
    }
    if path not in simple:
        raise EnvError(f"unsupported fieldRef fieldPath {path!r}")
    return str(simple[path] or "")


def _node_allocatable(client: Client, pod: Obj, resource: str) -> Decimal | None:
    nodes = client.list("nodes")
    name = (pod.get("spec") or {}).get("nodeName")
    node = next((n for n in nodes if n["metadata"]["name"] == name), nodes[0] if nodes else None)
    value = ((node or {}).get("status") or {}).get("allocatable", {}).get(resource)
    return None if value is None else parse_quantity(value)


def _resource_field_ref(client: Client, pod: Obj, container: Obj, ref: Obj) -> str:
    """``resourceFieldRef``: the container's (or ``containerName``'s) request or
    limit; an unset limit is the node's allocatable, an unset request is 0 (as
    kubelet does after ``MergeContainerResourceLimits``)."""
    target = container
    if ref.get("containerName"):
        spec = pod.get("spec") or {}
        target = next((c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                       if c.get("name") == ref["containerName"]), container)
    field = ref.get("resource", "")
    kind, _, resource = field.partition(".")
    if kind not in ("limits", "requests") or not resource:
        raise EnvError(f"unsupported resourceFieldRef resource {field!r}")
    resources = target.get("resources") or {}
    value = (resources.get(kind) or {}).get(resource)
    if value is None and kind == "requests":
        value = (resources.get("limits") or {}).get(resource)  # requests default to limits
    amount = parse_quantity(value) if value is not None else None
    if amount is None and kind == "limits":
        amount = _node_allocatable(client, pod, resource)
    return _resource_value(resource, amount if amount is not None else Decimal(0), ref.get("divisor"))


def downward_value(ctx: Context, pod: Obj, container: Obj, source: Obj) -> str:
    """A ``fieldRef`` or ``resourceFieldRef`` value for ``container`` of ``pod``
    (shared with downwardAPI volumes); EnvError when unsupported."""
    if "fieldRef" in source:
        return _field_ref(pod, (source["fieldRef"] or {}).get("fieldPath", ""))
    if "resourceFieldRef" in source:
        return _resource_field_ref(Client(ctx.registry, "kubelet"), pod, container, source["resourceFieldRef"] or {})
    raise EnvError("the downward API source names no field")


def _value_from(client: Client, pod: Obj, container: Obj, source: Obj) -> str | None:
    """The value of a ``valueFrom``; None when an optional source is missing (the
    variable is then not set at all)."""
    ns = pod["metadata"].get("namespace") or "default"
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"] or {}
        optional, name, key = bool(ref.get("optional")), ref.get("name", ""), ref.get("key", "")
        cm = _configmap(client, ns, name, optional)
        if cm is None:
            return None
        if key not in (cm.get("data") or {}):
            if optional:
                return None
            raise EnvError(f"couldn't find key {key} in ConfigMap {ns}/{name}")
        return str(cm["data"][key])
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"] or {}
        optional, name, key = bool(ref.get("optional")), ref.get("name", ""), ref.get("key", "")
        sec = _secret(client, ns, name, optional)
        if sec is None:
            return None
        data = secret_data(sec)
        if key not in data:
            if optional:
                return None
            raise EnvError(f"couldn't find key {key} in Secret {ns}/{name}")
        return data[key].decode("utf-8", "replace")
    if "fieldRef" in source:
        return _field_ref(pod, (source["fieldRef"] or {}).get("fieldPath", ""))
    if "resourceFieldRef" in source:
        return _resource_field_ref(client, pod, container, source["resourceFieldRef"] or {})
    raise EnvError("env valueFrom names no source")


# --- service links ------------------------------------------------------------------
def _env_key(name: str) -> str:
    return name.upper().replace("-", "_")


def _service_vars(service: Obj) -> dict[str, str]:
    """Docker-links style variables of one Service (``pkg/kubelet/envvars``)."""
    spec = service.get("spec") or {}
    ip, ports = spec.get("clusterIP", ""), spec.get("ports") or []
    base = _env_key(service["metadata"]["name"])
    out = {f"{base}_SERVICE_HOST": ip}
    if ports:
        out[f"{base}_SERVICE_PORT"] = str(ports[0].get("port"))
    for p in ports:
        if p.get("name"):
            out[f"{base}_SERVICE_PORT_{_env_key(p['name'])}"] = str(p.get("port"))
    if ports:
        first = ports[0]
        out[f"{base}_PORT"] = f"{(first.get('protocol') or 'TCP').lower()}://{ip}:{first.get('port')}"
    for p in ports:
        proto = (p.get("protocol") or "TCP")
        prefix = f"{base}_PORT_{p.get('port')}_{proto.upper()}"
        out[prefix] = f"{proto.lower()}://{ip}:{p.get('port')}"
        out[prefix + "_PROTO"] = proto.lower()
        out[prefix + "_PORT"] = str(p.get("port"))
        out[prefix + "_ADDR"] = ip
    return out


def _has_ip(service: Obj) -> bool:
    ip = (service.get("spec") or {}).get("clusterIP")
    return bool(ip) and ip != "None"


def _kubernetes_service(ctx: Context, client: Client) -> Obj:
    """``default/kubernetes``, or the object it would be (the service range's first
    address, port 443 named https) while nothing stores it."""
    svc = client.get("services", "default", "kubernetes")
    if svc is not None and _has_ip(svc):
        return svc
    cidr = getattr(ctx.registry, "service_cidr", None) or ipaddress.ip_network("10.96.0.0/12")
    return {"metadata": {"name": "kubernetes", "namespace": "default"},
            "spec": {"clusterIP": str(cidr[1]), "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}}


def service_env(ctx: Context, pod: Obj) -> dict[str, str]:
    """The service variables for ``pod``: its namespace's Services with a ClusterIP
    when ``enableServiceLinks`` (default true), and ``default/kubernetes`` always."""
    client = Client(ctx.registry, "kubelet")
    ns = pod["metadata"].get("namespace") or "default"
    services: dict[str, Obj] = {}
    if (pod.get("spec") or {}).get("enableServiceLinks", True) is not False:
        for svc in client.list("services", ns):
            if _has_ip(svc):
                services[svc["metadata"]["name"]] = svc
    if ns != "default" or "kubernetes" not in services:
        services["kubernetes"] = _kubernetes_service(ctx, client)
    out: dict[str, str] = {}
    for name in sorted(services):
        out.update(_service_vars(services[name]))
    return out


# --- the entry points -----------------------------------------------------------------
def container_env(ctx: Context, pod: Obj, container: Obj) -> list[str]:
    """``NAME=value`` for ``container`` of ``pod`` (see the module's contracts);
    raises :class:`EnvError` with kubelet's message."""
    client = Client(ctx.registry, "kubelet")
    services = service_env(ctx, pod)
    env = _env_from(client, pod, container)
    for var in container.get("env") or []:
        name = var.get("name", "")
        if "valueFrom" in var and var["valueFrom"]:
            value = _value_from(client, pod, container, var["valueFrom"])
            if value is None:
                continue
        else:
            value = expand(str(var.get("value") or ""), [env, services])
        env[name] = value
    for name, value in services.items():
        env.setdefault(name, value)
    return [f"{k}={v}" for k, v in env.items()]


def _image_field(image_config: dict[str, Any] | None, key: str) -> list[str] | None:
    value = (image_config or {}).get(key)
    if value is None:
        value = (image_config or {}).get(key.lower())
    return list(value) if value else None


def command_line(container: dict[str, Any], image_config: dict[str, Any] | None,
                 env: list[str] | None = None) -> tuple[list[str] | None, list[str] | None]:
    """(Entrypoint, Cmd) for a Docker create body, as Kubernetes defines them:
    ``command`` replaces the image's ENTRYPOINT and drops its CMD; ``args``
    replaces CMD; neither keeps both of the image's. ``$(VAR)`` in command and
    args expands from ``env`` (``NAME=value`` strings: pass :func:`container_env`'s
    result; by default the container's literal ``env[].value`` entries).
    ``image_config`` is the image's ``Config`` (``Entrypoint``, ``Cmd``)."""
    if env is None:
        values: dict[str, str] = {}
        for var in container.get("env") or []:
            if "valueFrom" not in var:
                values[var.get("name", "")] = expand(str(var.get("value") or ""), values)
    else:
        values = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    command = [expand(str(a), values) for a in container.get("command") or []]
    args = [expand(str(a), values) for a in container.get("args") or []]
    if command:
        return command, args
    entrypoint = _image_field(image_config, "Entrypoint")
    if args:
        return entrypoint, args
    return entrypoint, _image_field(image_config, "Cmd")
