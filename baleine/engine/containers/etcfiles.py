"""The /etc/hostname, /etc/hosts and /etc/resolv.conf a container gets.

They live in the container's directory and are bind-mounted over the image's files,
as Docker does, so that editing them inside the container is possible and the image
is never changed.
"""

from __future__ import annotations

import os
import re

HOST_RESOLV = "/etc/resolv.conf"
_LOCAL_NS = re.compile(r"^\s*nameserver\s+(127\.\d+\.\d+\.\d+|::1)\s*$", re.M)
DEFAULT_NS = ["8.8.8.8", "8.8.4.4"]


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def hosts_text(hostname: str, domainname: str = "", ip: str | None = None,
               extra: list[str] | None = None, host_network: bool = False) -> str:
    """/etc/hosts content: loopback entries, extra ``--add-host`` lines, our own address."""
    if host_network:
        try:
            with open("/etc/hosts") as f:
                text = f.read()
        except OSError:
            text = "127.0.0.1\tlocalhost\n"
        return text + "".join(f"{_host_line(e)}\n" for e in extra or [])
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             "fe00::0\tip6-localnet", "ff00::0\tip6-mcastprefix", "ff02::1\tip6-allnodes",
             "ff02::2\tip6-allrouters"]
    lines += [_host_line(e) for e in extra or []]
    if ip:
        fqdn = f"{hostname}.{domainname}" if domainname else hostname
        names = f"{fqdn}\t{hostname}" if domainname else hostname
        lines.append(f"{ip}\t{names}")
    return "\n".join(lines) + "\n"


def _host_line(entry: str) -> str:
    """``name:ip`` (docker's --add-host form) as a hosts line."""
    name, _, ip = entry.partition(":")
    if not ip:
        name, _, ip = entry.partition("=")
    return f"{ip}\t{name}"


def resolv_text(dns: list[str] | None = None, search: list[str] | None = None,
                options: list[str] | None = None, host_network: bool = False) -> str:
    """/etc/resolv.conf content: the host's, with loopback nameservers dropped unless
    the container shares the host's network, and ``--dns*`` overrides applied."""
    try:
        with open(HOST_RESOLV) as f:
            host = f.read()
    except OSError:
        host = ""
    if host_network and not (dns or search or options):
        return host
    lines = [ln for ln in host.splitlines() if not ln.strip().startswith(("nameserver", "search", "options"))
             and ln.strip() and not ln.strip().startswith("#")]
    servers = dns or [m.group(1) for m in re.finditer(r"^\s*nameserver\s+(\S+)", host, re.M)
                      if host_network or not _LOCAL_NS.match(m.group(0))]
    if not servers:
        servers = DEFAULT_NS
    searches = search if search is not None else [s for m in re.finditer(r"^\s*search\s+(.*)$", host, re.M)
                                                  for s in m.group(1).split()]
    opts = options if options is not None else [o for m in re.finditer(r"^\s*options\s+(.*)$", host, re.M)
                                                for o in m.group(1).split()]
    out = lines + [f"nameserver {s}" for s in servers]
    if searches:
        out.append("search " + " ".join(searches))
    if opts:
        out.append("options " + " ".join(opts))
    return "\n".join(out) + "\n"


def write_all(cdir: str, hostname: str, domainname: str, hosts: str, resolv: str) -> None:
    """Write the three files into the container directory."""
    os.makedirs(cdir, exist_ok=True)
    _write(os.path.join(cdir, "hostname"), hostname + "\n")
    _write(os.path.join(cdir, "hosts"), hosts)
    _write(os.path.join(cdir, "resolv.conf"), resolv)
