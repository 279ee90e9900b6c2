"""``baleine port``: a container's published ports from inspect's
``NetworkSettings.Ports``, sorted as docker/cli does (natural order)."""

from __future__ import annotations

import functools

from .context import CLIError, Context, Parser
from .usage import SUPPRESS, args_error


PORT_USAGE = "CONTAINER [PRIVATE_PORT[/PROTO]]"


def natural_less(a: str, b: str) -> bool:
    """fvbommel/sortorder ``NaturalLess``: digit runs compare as numbers."""
    i = j = 0
    while i < len(a) and j < len(b):
        ca, cb = a[i], b[j]
        da, db = ca.isdigit() and ca.isascii(), cb.isdigit() and cb.isascii()
        if da != db:
            return da
        if not da:
            if ca != cb:
                return ca.encode() < cb.encode()
            i += 1
            j += 1
            continue
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        nz_a, nz_b = i, j
        while i < len(a) and a[i].isdigit() and a[i].isascii():
            i += 1
        while j < len(b) and b[j].isdigit() and b[j].isascii():
            j += 1
        if i - nz_a != j - nz_b:
            return i - nz_a < j - nz_b
        if a[nz_a:i] != b[nz_b:j]:
            return a[nz_a:i] < b[nz_b:j]
        if nz_a != nz_b:
            return nz_a < nz_b
    return len(a) < len(b)


def _natural_sorted(items: list[str]) -> list[str]:
    return sorted(items, key=functools.cmp_to_key(lambda x, y: -1 if natural_less(x, y) else
                                                  (1 if natural_less(y, x) else 0)))


def _join_host_port(host: str, port: str) -> str:
    """Go's ``net.JoinHostPort``: IPv6 addresses in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parse_uint16(text: str) -> str | None:
    """Go's ``strconv.ParseUint(s, 10, 16)`` error text, or None when valid."""
    if not text or not text.isascii() or not text.isdigit():
        return f'strconv.ParseUint: parsing "{text}": invalid syntax'
    if int(text) > 65535:
        return f'strconv.ParseUint: parsing "{text}": value out of range'
    return None


def port(ctx: Context, argv: list[str]) -> int:
    p = Parser("port", PORT_USAGE, "List port mappings or a specific mapping for the container")
    p.add_argument("args", nargs="*", help=SUPPRESS)
    o = p.parse_args(argv)
    if not 1 <= len(o.args) <= 2:
        raise args_error("port", PORT_USAGE, "at least 1 and at most 2 arguments")
    name = o.args[0]
    with ctx.api():
        info = ctx.client.containers.inspect(name)
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    out: list[str] = []
    if len(o.args) == 2:
        spec = o.args[1]
        number, _, proto = spec.partition("/")
        err = _parse_uint16(number)
        if err:
            raise CLIError(f"Error: invalid port ({number}): {err}", 1)
        frontends = ports.get(f"{number}/{proto or 'tcp'}")
        if not frontends:
            raise CLIError(f"Error: No public port '{spec}' published for {name}", 1)
        out = [_join_host_port(f.get("HostIp", ""), f.get("HostPort", "")) for f in frontends]
    else:
        for private, frontends in ports.items():
            for f in frontends or []:
                out.append(f"{private} -> {_join_host_port(f.get('HostIp', ''), f.get('HostPort', ''))}")
    if out:
        print("\n".join(_natural_sorted(out)))
    return 0
