"""A routing table → nginx.conf (pure).

:func:`render` returns the configuration text and the files it names (TLS
certificates and keys, by file name relative to the configuration directory);
the controller writes them and reloads nginx when they change. Semantics are
:mod:`.model`'s: ``location = /p`` for Exact; for Prefix ``/foo``,
``location = /foo`` and ``location ^~ /foo/`` (so ``/foobar`` does not match,
and nginx's longest-prefix choice gives the longest match; an exact location
wins over a prefix one on a tie). A backend without ready endpoints answers 503.
Headers as ingress-nginx sets them (Host, X-Real-IP, X-Forwarded-*).
"""
from __future__ import annotations

import hashlib
import re

from .model import Backend, Route, Server, Table

#: The certificate files of the default server (written by the controller).
DEFAULT_CERT = "default.crt"
DEFAULT_KEY = "default.key"

_SAFE = re.compile(r"[^A-Za-z0-9._~/%-]")


def _quote(path: str) -> str:
    """A path as an nginx location literal (no spaces, braces or semicolons)."""
    return _SAFE.sub(lambda m: "%%%02X" % ord(m.group()), path)


def _upstream_block(b: Backend) -> str:
    servers = "".join(f"        server {ep} max_fails=0;\n" for ep in b.endpoints)
    return f"    upstream {b.upstream} {{\n{servers}        keepalive 32;\n    }}\n"


def _proxy(b: Backend | None, indent: str) -> str:
    if b is None:
        return f"{indent}return 404;\n"
    if not b.endpoints:
        return f"{indent}return 503;\n"
    return f"{indent}proxy_pass http://{b.upstream};\n"


def _locations(routes: list[Route], default: Backend | None) -> str:
    out: list[str] = []
    exact_paths = {r.path for r in routes if r.exact}
    for r in sorted(routes, key=lambda r: (r.path, not r.exact)):
        p = _quote(r.path)
        if r.exact:
            out.append(f"        location = {p} {{\n{_proxy(r.backend, '            ')}        }}\n")
        elif r.path == "/":
            out.append(f"        location / {{\n{_proxy(r.backend, '            ')}        }}\n")
        else:
            if r.path not in exact_paths:  # Exact wins the tie on the bare path
                out.append(f"        location = {p} {{\n{_proxy(r.backend, '            ')}        }}\n")
            out.append(f"        location ^~ {p}/ {{\n{_proxy(r.backend, '            ')}        }}\n")
    if not any(not r.exact and r.path == "/" for r in routes):
        out.append(f"        location / {{\n{_proxy(default, '            ')}        }}\n")
    return "".join(out)


def _cert_files(server: Server) -> tuple[str, str]:
    if server.tls is None:
        return DEFAULT_CERT, DEFAULT_KEY
    digest = hashlib.sha256((server.tls[0] + server.tls[1]).encode()).hexdigest()[:16]
    return f"tls-{digest}.crt", f"tls-{digest}.key"


def _server_name(host: str) -> str:
    """nginx's ``*.x`` matches any depth; Kubernetes' wildcard covers one label only."""
    if host.startswith("*."):
        return "~^[^.]+" + re.escape(host[1:]).replace("\\-", "-") + "$"
    return host


def _server_block(server: Server, default: Backend | None, http_port: int, https_port: int,
                  conf_dir: str) -> str:
    if server.host:
        name = _server_name(server.host)
        listen = f"        listen {http_port};\n"
        if server.tls_secret:
            listen += f"        listen {https_port} ssl;\n"
    else:
        name = "_"
        listen = f"        listen {http_port} default_server;\n        listen {https_port} ssl default_server;\n"
    crt, key = _cert_files(server)
    tls = f"        ssl_certificate {conf_dir}/{crt};\n        ssl_certificate_key {conf_dir}/{key};\n" \
        if (server.tls_secret or not server.host) else ""
    return (f"    server {{\n        server_name {name};\n{listen}{tls}"
            f"{_locations(server.routes, default)}    }}\n")


HEAD = """# Rendered by Baleine's ingress controller; do not edit.
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr notice;
events { worker_connections 4096; }
http {
    access_log off;
    server_names_hash_bucket_size 128;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Host $host;
    proxy_set_header X-Forwarded-Port $server_port;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Scheme $scheme;
    proxy_connect_timeout 5s;
    proxy_next_upstream error timeout;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
"""


def render(table: Table, http_port: int, https_port: int,
           conf_dir: str = "/etc/nginx/baleine") -> tuple[str, dict[str, str]]:
    """nginx.conf for ``table`` and the TLS files it names (name → PEM text, to be
    written in the directory nginx sees as ``conf_dir``)."""
    files: dict[str, str] = {}
    parts = [HEAD]
    for b in table.upstreams():
        if b.endpoints:
            parts.append(_upstream_block(b))
    for host in sorted(table.servers):
        server = table.servers[host]
        if server.tls is not None:
            crt, key = _cert_files(server)
            files[crt], files[key] = server.tls
        parts.append(_server_block(server, table.default_backend, http_port, https_port, conf_dir))
    parts.append("}\n")
    return "".join(parts), files
