"""Legacy links (``--link name:alias``, ``HostConfig.Links``) on the default bridge.

What dockerd gives a linking container (moby ``daemon/links/links.go`` and
``buildSandboxOptions``): a line ``<ip>\\t<alias> <hostname> <name>`` in its
/etc/hosts and the variables ``ALIAS_NAME``, ``ALIAS_PORT``, ``ALIAS_PORT_<p>_<PROTO>``
(with ``_ADDR``, ``_PORT``, ``_PROTO``) and ``ALIAS_ENV_<var>``. Pure functions: the
lifecycle looks the linked containers up and passes what they are.
"""

from __future__ import annotations

from typing import Any


def parse(entry: str) -> tuple[str, str]:
    """``name:alias`` (or ``name``, or the stored ``/name:/linker/alias``) as
    (linked container's name, alias)."""
    name, _, alias = entry.partition(":")
    name = name.lstrip("/")
    alias = alias.rsplit("/", 1)[-1] if alias else name
    return name, alias


def stored_form(entry: str, linker: str) -> str:
    """The form inspect shows, ``/linked:/linker/alias``."""
    name, alias = parse(entry)
    return f"/{name}:/{linker.lstrip('/')}/{alias}"


def _ports(exposed: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(port, proto) sorted as moby's ``nat.Sort``: lower port first, tcp before udp."""
    out = []
    for key in exposed or {}:
        port, _, proto = key.partition("/")
        out.append((port, proto or "tcp"))
    return sorted(out, key=lambda p: (int(p[0].split("-")[0]) if p[0].split("-")[0].isdigit() else 0,
                                      p[1] != "tcp"))


def env(alias: str, linker: str, ip: str, exposed: dict[str, Any] | None, child_env: list[str]) -> list[str]:
    """The variables moby's ``Link.ToEnv`` gives for one link."""
    prefix = alias.upper().replace("-", "_")
    out = []
    ports = _ports(exposed)
    if ports:
        port, proto = ports[0]
        out.append(f"{prefix}_PORT={proto}://{ip}:{port}")
    for port, proto in ports:
        key = f"{prefix}_PORT_{port}_{proto.upper()}"
        out += [f"{key}={proto}://{ip}:{port}", f"{key}_ADDR={ip}", f"{key}_PORT={port}", f"{key}_PROTO={proto}"]
    out.append(f"{prefix}_NAME=/{linker.lstrip('/')}/{alias}")
    for item in child_env:
        name, sep, value = item.partition("=")
        if sep and name not in ("HOME", "PATH"):
            out.append(f"{prefix}_ENV_{name}={value}")
    return out


def hosts_entry(alias: str, hostname: str, name: str, ip: str) -> str:
    """The ``--add-host`` form (``names:ip``) of the hosts line for one link."""
    names = f"{alias} {hostname}"
    if alias != name:
        names += f" {name}"
    return f"{names}:{ip}"
