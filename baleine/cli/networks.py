"""Network commands: network create/ls/inspect/rm/prune/connect/disconnect, and
``port`` (a container's published ports, read from its inspect document)."""

from __future__ import annotations

import time
from typing import Any

from . import formatting
from .containers import Row, _print_rows, confirm, inspect_objects
from .context import CLIError, Context, Parser


def _filters(values: list[str]) -> str | None:
    if not values:
        return None
    from ..rules.filters import from_cli

    try:
        return from_cli(values).to_json()
    except Exception as exc:  # noqa: BLE001 - shown to the user
        raise CLIError(str(exc), 125) from None


def _kv(values: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not key:
            raise CLIError(f"invalid argument \"{v}\" for \"{flag}\" flag: invalid key/value", 125)
        out[key] = value
    return out


def _matching_subnet(subnets: list[str], value: str, index: int) -> int:
    """The index of the subnet a ``--gateway``/``--ip-range`` value belongs to, as the
    docker CLI pairs them (by containment, so ``--subnet`` of both families may come
    in any order); the value's own position when nothing parses (the daemon says why)."""
    import ipaddress

    try:
        addr = ipaddress.ip_network(value, strict=False)
        for i, subnet in enumerate(subnets):
            net = ipaddress.ip_network(subnet, strict=False)
            if net.version == addr.version and addr.subnet_of(net):  # type: ignore[arg-type]
                return i
    except ValueError:
        pass
    return min(index, len(subnets) - 1)


def create(ctx: Context, argv: list[str]) -> int:
    p = Parser("network create", "[OPTIONS] NETWORK", "Create a network")
    a = p.add_argument
    a("-d", "--driver", default="bridge", help="Driver to manage the Network")
    a("--subnet", action="append", default=[], help="Subnet in CIDR format that represents a network segment")
    a("--gateway", action="append", default=[], help="IPv4 or IPv6 Gateway for the master subnet")
    a("--ip-range", action="append", default=[], help="Allocate container ip from a sub-range")
    a("--aux-address", action="append", default=[], help="Auxiliary IPv4 or IPv6 addresses used by Network driver")
    a("--internal", action="store_true", help="Restrict external access to the network")
    a("--attachable", action="store_true", help="Enable manual container attachment")
    a("--label", action="append", default=[], help="Set metadata on a network")
    a("-o", "--opt", action="append", default=[], help="Set driver specific options")
    a("--ipam-driver", default="default", help="IP Address Management Driver")
    a("--ipam-opt", action="append", default=[], help="Set IPAM driver specific options")
    a("--ipv6", action="store_true", help="Enable or disable IPv6 networking")
    a("--scope", default="", help="Control the network's scope")
    a("name", metavar="NETWORK")
    o = p.parse_args(argv)
    if len(o.gateway) > len(o.subnet) or len(o.ip_range) > len(o.subnet):
        raise CLIError("every ip-range or gateway must have a corresponding subnet", 125)
    configs: list[dict[str, Any]] = [{"Subnet": subnet} for subnet in o.subnet]
    for key, values in (("Gateway", o.gateway), ("IPRange", o.ip_range)):
        for i, value in enumerate(values):
            configs[_matching_subnet(o.subnet, value, i)][key] = value
    if o.aux_address:
        if not configs:
            raise CLIError("no matching subnet for aux-address", 125)
        configs[0]["AuxiliaryAddresses"] = _kv(o.aux_address, "--aux-address")
    body = {"Name": o.name, "Driver": o.driver, "Internal": o.internal, "Attachable": o.attachable,
            "EnableIPv6": o.ipv6, "Labels": _kv(o.label, "--label"), "Options": _kv(o.opt, "--opt"),
            "IPAM": {"Driver": o.ipam_driver, "Config": configs, "Options": _kv(o.ipam_opt, "--ipam-opt")}}
    if o.scope:
        body["Scope"] = o.scope
    with ctx.api():
        result = ctx.client.networks.create(body)
    print(result["Id"])
    return 0


def ls(ctx: Context, argv: list[str]) -> int:
    p = Parser("network ls", "[OPTIONS]", "List networks")
    p.add_argument("-f", "--filter", action="append", default=[], help="Provide filter values (e.g. \"driver=bridge\")")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("--no-trunc", action="store_true", help="Do not truncate the output")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display network IDs")
    o = p.parse_args(argv)
    with ctx.api():
        items = sorted(ctx.client.networks.list(_filters(o.filter)), key=lambda n: n.get("Name", ""))
    if o.quiet and not o.format:
        for n in items:
            print(n["Id"] if o.no_trunc else n["Id"][:12])
        return 0
    rows = []
    for n in items:
        labels = n.get("Labels") or {}
        created = formatting.parse_timestamp(n.get("Created") or 0) if n.get("Created") else 0
        rows.append(Row({
            "ID": n["Id"] if o.no_trunc else n["Id"][:12], "Name": n["Name"], "Driver": n.get("Driver", ""),
            "Scope": n.get("Scope", "local"), "IPv6": str(bool(n.get("EnableIPv6"))).lower(),
            "Internal": str(bool(n.get("Internal"))).lower(),
            "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
        }, labels))
    _print_rows(o.format, rows, formatting.NETWORK_HEADERS, "{{.ID}}" if o.quiet else formatting.DEFAULT_NETWORK_FORMAT)
    return 0


def inspect(ctx: Context, argv: list[str]) -> int:
    p = Parser("network inspect", "[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("-v", "--verbose", action="store_true", help="Verbose output for diagnostics")
    p.add_argument("networks", nargs="+", metavar="NETWORK")
    o = p.parse_args(argv)
    return inspect_objects(ctx, o.networks, o.format, ["network"])


def rm(ctx: Context, argv: list[str]) -> int:
    p = Parser("network rm", "NETWORK [NETWORK...]", "Remove one or more networks")
    p.add_argument("-f", "--force", action="store_true", help="Do not error if the network does not exist")
    p.add_argument("networks", nargs="+", metavar="NETWORK")
    o = p.parse_args(argv)

    def remove(name: str) -> None:
        from ..client import APIError

        try:
            ctx.client.networks.remove(name)
        except APIError as exc:
            if not (o.force and exc.status == 404):
                raise

    return ctx.each(o.networks, remove)


def prune(ctx: Context, argv: list[str]) -> int:
    p = Parser("network prune", "[OPTIONS]", "Remove all unused networks")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (e.g. \"until=<timestamp>\")")
    o = p.parse_args(argv)
    if not o.force and not confirm("WARNING! This will remove all custom networks not used by at least one "
                                   "container.\nAre you sure you want to continue? [y/N] "):
        return 0
    with ctx.api():
        result = ctx.client.networks.prune(_filters(o.filter))
    deleted = result.get("NetworksDeleted") or []
    if deleted:
        print("Deleted Networks:")
        for name in deleted:
            print(name)
    return 0


def connect(ctx: Context, argv: list[str]) -> int:
    p = Parser("network connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network")
    p.add_argument("--alias", action="append", default=[], help="Add network-scoped alias for the container")
    p.add_argument("--ip", help="IPv4 address (e.g., \"172.30.100.104\")")
    p.add_argument("--ip6", help="IPv6 address (e.g., \"2001:db8::33\")")
    p.add_argument("--link", action="append", default=[], help="Add link to another container")
    p.add_argument("--driver-opt", action="append", default=[], help="driver options for the network")
    p.add_argument("network", metavar="NETWORK")
    p.add_argument("container", metavar="CONTAINER")
    o = p.parse_args(argv)
    endpoint: dict[str, Any] = {"Aliases": o.alias or None, "Links": o.link or None,
                                "DriverOpts": _kv(o.driver_opt, "--driver-opt") or None}
    if o.ip or o.ip6:
        endpoint["IPAMConfig"] = {k: v for k, v in (("IPv4Address", o.ip), ("IPv6Address", o.ip6)) if v}
    with ctx.api():
        ctx.client.networks.connect(o.network, o.container, endpoint)
    return 0


def disconnect(ctx: Context, argv: list[str]) -> int:
    p = Parser("network disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network")
    p.add_argument("-f", "--force", action="store_true", help="Force the container to disconnect from a network")
    p.add_argument("network", metavar="NETWORK")
    p.add_argument("container", metavar="CONTAINER")
    o = p.parse_args(argv)
    with ctx.api():
        ctx.client.networks.disconnect(o.network, o.container, o.force)
    return 0
