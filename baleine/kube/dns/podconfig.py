"""A pod's resolv.conf, as the kubelet makes it (pkg/kubelet/network/dns, Kubernetes 1.32).

:func:`pod_dns_config` is what the node agent asks for every pod's sandbox:

- ``ClusterFirst`` (the default): the cluster DNS as the only nameserver, the
  search path ``<ns>.svc.<domain> svc.<domain> <domain>`` followed by the host's
  own search domains, ``options ndots:5``; a ``hostNetwork`` pod falls back to
  ``Default``, unless its policy is ``ClusterFirstWithHostNet``;
- ``Default``: the host's resolv.conf (nameservers, search, options);
- ``None``: nothing but the pod's ``dnsConfig``.

``spec.dnsConfig`` is then appended as the kubelet does: nameservers and search
domains after the policy's, duplicates dropped; options by name, the pod's
overriding the policy's (``ndots:2`` replaces ``ndots:5``). The result is cut
to the resolver's limits (3 nameservers, 32 search domains of 2048 characters
in all), as the kubelet cuts it.

The host's resolv.conf is read once (:func:`load_host`, blocking: the component
calls it in a thread at start), so :func:`pod_dns_config` does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import servicecidr

#: What the kubelet gives ClusterFirst pods (defaultDNSOptions).
DEFAULT_OPTIONS = ("ndots:5",)
MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_SEARCH_CHARS = 2048
HOST_RESOLV_CONF = "/etc/resolv.conf"


@dataclass
class ResolvConf:
    """The parts of a resolv.conf the kubelet reads."""

    nameservers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def parse_resolv_conf(text: str) -> ResolvConf:
    """``nameserver`` lines accumulate; the last ``search`` (or ``domain``) line wins, as
    in resolv.conf(5); ``options`` accumulate. Comments (``#``, ``;``) are skipped."""
    conf = ResolvConf()
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0][0] in "#;":
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver" and values:
            conf.nameservers.append(values[0])
        elif key in ("search", "domain"):
            # The kubelet drops the root domain and trailing dots.
            conf.searches = [s.rstrip(".") for s in values if s.rstrip(".")]
        elif key == "options":
            conf.options.extend(values)
    return conf


_host: ResolvConf | None = None


def load_host(path: str = HOST_RESOLV_CONF) -> ResolvConf:
    """Read (again) the host's resolv.conf and keep it for :func:`pod_dns_config`
    (blocking; a missing file is an empty configuration)."""
    global _host
    try:
        with open(path) as f:
            _host = parse_resolv_conf(f.read())
    except OSError:
        _host = ResolvConf()
    return _host


def host_conf() -> ResolvConf:
    """The host's resolv.conf as last loaded (read now if it never was: a small file)."""
    return _host if _host is not None else load_host()


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(base: list[str], extra: list[dict[str, Any]]) -> list[str]:
    """Options by name, ``extra``'s (PodDNSConfigOption) replacing ``base``'s; the
    order is the first appearance of each name."""
    merged: dict[str, str] = {}
    for opt in base:
        name, _, value = opt.partition(":")
        merged[name] = value
    for opt in extra:
        if opt.get("name"):
            merged[opt["name"]] = "" if opt.get("value") is None else str(opt["value"])
    return [f"{name}:{value}" if value else name for name, value in merged.items()]


def _fit(searches: list[str]) -> list[str]:
    """The first search domains that fit the resolver's limits."""
    out: list[str] = []
    chars = 0
    for s in searches[:MAX_SEARCHES]:
        chars += len(s) + (1 if out else 0)
        if chars > MAX_SEARCH_CHARS:
            break
        out.append(s)
    return out


def policy_of(spec: dict[str, Any]) -> str:
    """``Cluster``, ``Host`` or ``None``: which base configuration a pod gets."""
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return "None"
    if policy == "ClusterFirstWithHostNet":
        return "Cluster"
    if policy == "ClusterFirst" and not spec.get("hostNetwork"):
        return "Cluster"
    return "Host"  # Default, and ClusterFirst on the host's network


def dns_config(spec: dict[str, Any], namespace: str, cluster_dns: str, domain: str,
               host: ResolvConf) -> dict[str, list[str]]:
    """The pure rule: a pod's ``spec`` in ``namespace`` → its resolv.conf parts."""
    base = policy_of(spec)
    if base == "None":
        conf = ResolvConf()
    elif base == "Cluster":
        cluster = [f"{namespace}.svc.{domain}", f"svc.{domain}", domain] if domain else []
        conf = ResolvConf([cluster_dns], _unique(cluster + host.searches), list(DEFAULT_OPTIONS))
    else:
        conf = ResolvConf(list(host.nameservers), list(host.searches), list(host.options))
    extra = spec.get("dnsConfig") or {}
    if extra:
        conf.nameservers = _unique(conf.nameservers + list(extra.get("nameservers") or []))
        conf.searches = _unique(conf.searches + list(extra.get("searches") or []))
        conf.options = _merge_options(conf.options, list(extra.get("options") or []))
    return {"nameservers": conf.nameservers[:MAX_NAMESERVERS], "searches": _fit(conf.searches),
            "options": conf.options}


def pod_dns_config(ctx: Any, pod: dict[str, Any]) -> dict[str, list[str]]:
    """``{"nameservers", "searches", "options"}`` of ``pod``'s resolv.conf (see the module);
    ``ctx`` is the cluster's ``Context``. Synchronous, no I/O once the component started."""
    ns = pod.get("metadata", {}).get("namespace") or "default"
    return dns_config(pod.get("spec") or {}, ns, servicecidr.dns_address(ctx.registry.service_cidr),
                      ctx.options.cluster_domain, host_conf())


def render(conf: dict[str, list[str]]) -> str:
    """The resolv.conf text of a :func:`pod_dns_config` result."""
    lines = [f"nameserver {s}" for s in conf.get("nameservers") or []]
    if conf.get("searches"):
        lines.append("search " + " ".join(conf["searches"]))
    if conf.get("options"):
        lines.append("options " + " ".join(conf["options"]))
    return "\n".join(lines) + "\n"
