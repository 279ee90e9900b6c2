"""A pod's sandbox: the ``baleine-kube`` network and the pause container holding the
pod's network and IPC namespaces.

Contracts: :func:`ensure_network` makes the bridge network ``baleine-kube`` (label
``io.baleine.kube=pods``, subnet from Baleine's pools) unless it exists;
:func:`dns_settings` is the ``Dns``/``DnsSearch``/``DnsOptions`` of a pod's
containers from ``baleine.kube.dns.pod_dns_config`` when that exists (empty
otherwise); :func:`create` creates and starts the sandbox (hostname = the pod's
``spec.hostname`` or name) and returns its id; :func:`pod_ip` reads its address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...rules.errors import NotFound
from . import names, pause

if TYPE_CHECKING:
    from ..manager import Context

NETWORK = "baleine-kube"
NETWORK_LABELS = {"io.baleine.kube": "pods"}


async def ensure_network(ctx: Context) -> None:
    networks = ctx.backends.networks
    try:
        await networks.inspect(NETWORK)
    except NotFound:
        await networks.create({"Name": NETWORK, "Driver": "bridge", "CheckDuplicate": True,
                               "Labels": dict(NETWORK_LABELS)})


def hostname(pod: dict[str, Any]) -> str:
    return (pod.get("spec") or {}).get("hostname") or pod["metadata"]["name"]


def dns_settings(ctx: Context, pod: dict[str, Any]) -> dict[str, Any]:
    """HostConfig's DNS fields for ``pod`` (nothing when the cluster DNS module does not say)."""
    from .. import dns

    config_of = getattr(dns, "pod_dns_config", None)
    if config_of is None:
        return {}
    config = config_of(ctx, pod) or {}
    out: dict[str, Any] = {}
    if config.get("nameservers"):
        out["Dns"] = list(config["nameservers"])
    if config.get("searches"):
        out["DnsSearch"] = list(config["searches"])
    if config.get("options"):
        out["DnsOptions"] = list(config["options"])
    return out


def host_network(pod: dict[str, Any]) -> bool:
    return bool((pod.get("spec") or {}).get("hostNetwork"))


async def create(ctx: Context, pod: dict[str, Any], attempt: int) -> str:
    """Create and start the sandbox of ``pod`` (``attempt``: its restart count); its id."""
    backends = ctx.backends
    await pause.ensure(backends.images)
    if not host_network(pod):
        await ensure_network(ctx)
    body = {"Image": pause.IMAGE, "Labels": names.labels(pod, names.SANDBOX, attempt),
            "HostConfig": {"NetworkMode": "host" if host_network(pod) else NETWORK, "IpcMode": "shareable",
                           "RestartPolicy": {"Name": "no"}, **dns_settings(ctx, pod)}}
    if not host_network(pod):
        body["Hostname"] = hostname(pod)
    name = names.container_name(pod, names.SANDBOX, attempt)
    try:
        await backends.containers.remove(name, force=True, volumes=False)  # a half-made one of a crash
    except NotFound:
        pass
    cid, _ = await backends.containers.create(body, name)
    await backends.containers.start(cid)
    return cid


async def pod_ip(ctx: Context, sandbox_id: str, host_ip: str) -> str:
    """The sandbox's address on ``baleine-kube`` (the host's for hostNetwork pods; "" if none)."""
    view = await ctx.backends.containers.inspect(sandbox_id)
    doc = view.container.doc
    if (doc.get("HostConfig") or {}).get("NetworkMode") == "host":
        return host_ip
    nets = (doc.get("NetworkSettings") or {}).get("Networks") or {}
    return (nets.get(NETWORK) or {}).get("IPAddress") or ""
