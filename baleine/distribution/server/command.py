"""``baleine registry serve|gc|htpasswd``: Baleine's own registry server run
in-process from the command line.

The CLI's command table names these functions by string (``main.COMMANDS``), so
the CLI package never imports the server; this module borrows the CLI's argument
parser and error type to behave like every other command.
"""

from __future__ import annotations

import getpass
import sys

from ...cli.context import CLIError, Context, Parser


def serve(ctx: Context, argv: list[str]) -> int:
    """``baleine registry serve``: the registry server in the foreground until interrupted."""
    p = Parser("registry serve", "[OPTIONS]", "Run a registry (OCI Distribution) server in the foreground")
    p.add_argument("--addr", default="127.0.0.1:5000", help="Address to listen on (port 0 picks a free one)")
    p.add_argument("--root", required=True, help="Directory holding the registry's content")
    p.add_argument("--htpasswd", help="htpasswd file of users (bcrypt) for Basic authentication")
    p.add_argument("--token", action="store_true", help="Issue Bearer tokens at /token (scoped per repository)")
    p.add_argument("--access", action="append", default=[], metavar="SUBJECT:REPOSITORY:ACTIONS",
                   help="Access rule: SUBJECT is a user, '+' (authenticated) or '*' (anyone); "
                        "ACTIONS among pull,push,delete")
    p.add_argument("--anonymous-pull", action="store_true", help="Let anyone pull (pushes still need a user)")
    p.add_argument("--tls-cert", help="TLS certificate (PEM)")
    p.add_argument("--tls-key", help="TLS private key (PEM)")
    p.add_argument("--no-delete", action="store_true", help="Refuse DELETE requests")
    p.add_argument("--stats", action="store_true", help="Serve request counters at /_baleine/stats")
    o = p.parse_args(argv)
    from .gc import RootInUse
    from .serve import Options, run

    opts = Options(root=o.root, addr=o.addr, htpasswd=o.htpasswd, token=o.token, rules=o.access,
                   anonymous_pull=o.anonymous_pull, tls_cert=o.tls_cert, tls_key=o.tls_key,
                   delete_enabled=not o.no_delete, stats=o.stats)
    try:
        return run(opts)
    except (RootInUse, ValueError, OSError) as exc:
        raise CLIError(f"baleine registry: {exc}", 1) from None


def gc(ctx: Context, argv: list[str]) -> int:
    """``baleine registry gc``: mark and sweep the blobs of a registry root."""
    p = Parser("registry gc", "[OPTIONS]", "Remove blobs no manifest references from a registry's storage")
    p.add_argument("--root", required=True, help="Directory holding the registry's content")
    p.add_argument("-n", "--dry-run", action="store_true", help="Only say what would be removed")
    p.add_argument("-m", "--delete-untagged", action="store_true", help="Also remove manifests no tag reaches")
    o = p.parse_args(argv)
    from ...cli.formatting import human_size
    from .gc import RootInUse, collect

    try:
        report = collect(o.root, dry_run=o.dry_run, delete_untagged=o.delete_untagged)
    except RootInUse as exc:
        raise CLIError(str(exc), 1) from None
    verb = "would be deleted" if o.dry_run else "deleted"
    for m in report.manifests_deleted:
        print(f"manifest {m} {verb}")
    for d in report.deleted:
        print(f"blob {d} {verb}")
    print(f"{report.marked} blobs marked, {len(report.deleted)} blobs {verb}, "
          f"{human_size(report.reclaimed)} reclaimed" + ("" if o.dry_run else f", {report.uploads} uploads cleared"))
    return 0


def htpasswd(ctx: Context, argv: list[str]) -> int:
    """``baleine registry htpasswd``: add or update one user of an htpasswd file."""
    p = Parser("registry htpasswd", "FILE USER", "Add or update a user (bcrypt) in an htpasswd file")
    p.add_argument("--password-stdin", action="store_true", help="Read the password from stdin")
    p.add_argument("file")
    p.add_argument("user")
    o = p.parse_args(argv)
    if ":" in o.user:
        raise CLIError("a user name cannot contain ':'", 1)
    if o.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.read().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
    if not password:
        raise CLIError("Error: Password Required", 1)
    from .access import hash_password

    lines: list[str] = []
    try:
        with open(o.file) as f:
            lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith(f"{o.user}:")]
    except FileNotFoundError:
        pass
    lines.append(f"{o.user}:{hash_password(password)}")
    with open(o.file, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0
