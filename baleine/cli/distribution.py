"""Registry commands: pull, push, login, logout, search.

Credentials come from docker's config.json (``baleine.client.credentials``)
and travel to the daemon in the ``X-Registry-Auth`` header, as the docker CLI
sends them. (``registry serve|gc|htpasswd``, which run Baleine's own registry
server in-process, live with the server: ``baleine.distribution.server.command``.)
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from ..client import credentials
from ..client.auth import registry_header
from ..rules.registryauth import INDEX_SERVER, AuthConfig, config_key
from .context import CLIError, Context, Parser
from .progress import Display, StreamError


def _reference(name: str) -> Any:
    from ..rules import references
    from ..rules.errors import InvalidParameter

    try:
        return references.parse(name)
    except InvalidParameter as exc:
        raise CLIError(str(exc), 1) from None


def _auth_header(domain: str) -> dict[str, str]:
    try:
        return registry_header(domain)
    except credentials.CredentialsError as exc:
        raise CLIError(str(exc), 1) from None


def pull_headers(image: str) -> dict[str, str]:
    """The ``X-Registry-Auth`` header for pulling ``image`` (run/create's implicit pull);
    no credentials when the name does not parse (the daemon will say why)."""
    from ..client import auth

    try:
        return auth.pull_headers(image)
    except credentials.CredentialsError as exc:
        raise CLIError(str(exc), 1) from None


def pull(ctx: Context, argv: list[str]) -> int:
    p = Parser("pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry")
    p.add_argument("-a", "--all-tags", action="store_true", help="Download all tagged images in the repository")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--platform", help="Set platform if server is multi-platform capable")
    p.add_argument("--disable-content-trust", action="store_true", help="Skip image verification (ignored)")
    p.add_argument("name")
    o = p.parse_args(argv)
    ref = _reference(o.name)
    if o.all_tags and not ref.is_name_only:
        raise CLIError("tag can't be used with --all-tags/-a", 1)
    tag = None if o.all_tags else (ref.digest or ref.tag or "latest")
    display = Display(quiet=o.quiet)
    try:
        with ctx.api():
            display.run(ctx.client.images.pull(ref.familiar_name, tag, platform=o.platform or None,
                                               headers=_auth_header(ref.domain)))
    except StreamError as exc:
        raise CLIError(str(exc), 1) from None
    if not o.all_tags:
        final = ref if (ref.tag or ref.digest) else ref.with_default_tag()
        print(str(final))
    else:
        print(ref.name)
    return 0


def push(ctx: Context, argv: list[str]) -> int:
    p = Parser("push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry")
    p.add_argument("-a", "--all-tags", action="store_true", help="Push all tags of an image to the repository")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--disable-content-trust", action="store_true", help="Skip image signing (ignored)")
    p.add_argument("name")
    o = p.parse_args(argv)
    ref = _reference(o.name)
    if ref.digest:
        raise CLIError("cannot push a digest reference", 1)
    if o.all_tags and ref.tag:
        raise CLIError("tag can't be used with --all-tags/-a", 1)
    tag = "" if o.all_tags else (ref.tag or "latest")
    display = Display(quiet=o.quiet)
    try:
        with ctx.api():
            display.run(ctx.client.images.push(ref.familiar_name, tag, headers=_auth_header(ref.domain)))
    except StreamError as exc:
        raise CLIError(str(exc), 1) from None
    if o.quiet:
        print(f"{ref.name}:{tag}" if tag else ref.name)
    return 0


def login(ctx: Context, argv: list[str]) -> int:
    p = Parser("login", "[OPTIONS] [SERVER]", "Log in to a registry.\nIf no server is specified, the default is "
               "defined by the daemon.")
    p.add_argument("-u", "--username", help="Username")
    p.add_argument("-p", "--password", help="Password or Personal Access Token (PAT)")
    p.add_argument("--password-stdin", action="store_true", help="Take the Password or PAT from stdin")
    p.add_argument("server", nargs="?")
    o = p.parse_args(argv)
    server = o.server or INDEX_SERVER
    if o.password and o.password_stdin:
        raise CLIError("--password and --password-stdin are mutually exclusive", 1)
    password = o.password
    if o.password_stdin:
        if not o.username:
            raise CLIError("Must provide --username with --password-stdin", 1)
        password = sys.stdin.read().rstrip("\r\n")
    elif o.password:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", file=sys.stderr)
    username = o.username
    if not username or password is None:
        if not sys.stdin.isatty():
            raise CLIError("Error: Cannot perform an interactive login from a non TTY device", 1)
        if not username:
            username = input("Username: ").strip()
        if password is None:
            password = getpass.getpass("Password: ")
    if not username:
        raise CLIError("Error: Non-null Username Required", 1)
    if not password:
        raise CLIError("Error: Password Required", 1)
    key = config_key(server)
    body = {"username": username, "password": password, "serveraddress": key}
    with ctx.api():
        result = ctx.client.system.auth(body)
    token = (result or {}).get("IdentityToken") or ""
    auth = AuthConfig(username, "" if token else password, key, identity_token=token)
    try:
        where = credentials.store(auth)
    except credentials.CredentialsError as exc:
        raise CLIError(f"Error saving credentials: {exc}", 1) from None
    if where == "file":
        print(f"WARNING! Your password will be stored unencrypted in {credentials.config_path()}.\n"
              "Configure a credential helper to remove this warning. See\n"
              "https://docs.docker.com/go/credential-store/\n", file=sys.stderr)
    print((result or {}).get("Status") or "Login Succeeded")
    return 0


def logout(ctx: Context, argv: list[str]) -> int:
    p = Parser("logout", "[SERVER]", "Log out from a registry.\nIf no server is specified, the default is "
               "defined by the daemon.")
    p.add_argument("server", nargs="?")
    o = p.parse_args(argv)
    server = o.server or INDEX_SERVER
    key = config_key(server)
    try:
        found = credentials.erase(server)
    except credentials.CredentialsError as exc:
        raise CLIError(str(exc), 1) from None
    if not found:
        print(f"Not logged in to {key}")
        return 0
    print(f"Removing login credentials for {key}")
    return 0


def search(ctx: Context, argv: list[str]) -> int:
    """``baleine search TERM``: docker's table, from registries that support searching
    (Baleine's daemon answers that none does, clearly)."""
    p = Parser("search", "[OPTIONS] TERM", "Search Docker Hub for images")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    p.add_argument("--limit", type=int, default=0, help="Max number of search results")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("--format", help="Pretty-print search using a Go template")
    p.add_argument("term")
    o = p.parse_args(argv)
    from ..rules.filters import from_cli
    from . import formatting

    filters = from_cli(o.filter).to_json() if o.filter else None
    with ctx.api():
        results = ctx.client.images.search(o.term, limit=o.limit or None, filters=filters)
    rows = [{"Name": r.get("name", ""), "Description": r.get("description", "") if o.no_trunc
             else formatting.ellipsis(r.get("description", ""), 45),
             "StarCount": str(r.get("star_count", 0)), "IsOfficial": "[OK]" if r.get("is_official") else ""}
            for r in results]
    sys.stdout.write(formatting.format_list(
        o.format, rows, {"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS", "IsOfficial": "OFFICIAL"},
        "{{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"))
    return 0
