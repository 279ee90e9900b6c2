"""Image commands: images, rmi, tag, history, save, load, import, image inspect, prune."""

from __future__ import annotations

import os
import sys
import time

from .. import gotemplate
from . import formatting
from .containers import Row, _print_rows, confirm, inspect_objects
from .context import CLIError, Context, Parser


def _split_ref(ref: str) -> tuple[str, str]:
    """(repository, tag) of a familiar reference as docker images prints them."""
    if "@" in ref:
        return ref.split("@", 1)[0], "<none>"
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, "latest"


def images(ctx: Context, argv: list[str]) -> int:
    p = Parser("images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images")
    p.add_argument("-a", "--all", action="store_true", help="Show all images (default hides intermediate images)")
    p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    p.add_argument("--digests", action="store_true", help="Show digests")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("repository", nargs="?")
    o = p.parse_args(argv)
    from ..rules.filters import from_cli

    try:
        f = from_cli(o.filter)
    except Exception as exc:  # noqa: BLE001
        raise CLIError(str(exc), 125) from None
    if o.repository:
        f.add("reference", o.repository)
    with ctx.api():
        items = ctx.client.images.list(all=o.all, filters=f.to_json() if len(f) else None)
    now = time.time()
    rows: list[Row] = []
    for img in items:
        iid = img["Id"] if o.no_trunc else img["Id"].split(":", 1)[-1][:12]
        tags = img.get("RepoTags") or []
        digests = img.get("RepoDigests") or []
        base = {
            "ID": iid,
            "CreatedSince": formatting.human_duration(max(0.0, now - img.get("Created", 0))) + " ago",
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(img.get("Created", 0))),
            "Size": formatting.human_size(img.get("Size", 0)),
            "VirtualSize": formatting.human_size(img.get("Size", 0)),
            "SharedSize": "N/A",
            "UniqueSize": "N/A",
            "Containers": "N/A",
        }
        pairs = [_split_ref(t) for t in tags] or [("<none>", "<none>")]
        for repo, tag in pairs:
            digest = "<none>"
            for d in digests:
                if d.split("@", 1)[0] == repo:
                    digest = d.split("@", 1)[1]
            row = Row(dict(base, Repository=repo, Tag=tag, Digest=digest), img.get("Labels") or {})
            rows.append(row)
    if o.quiet:
        seen = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        if not o.format:
            for i in seen:
                print(i)
            return 0
    default = formatting.DEFAULT_IMAGE_DIGEST_FORMAT if o.digests else formatting.DEFAULT_IMAGE_FORMAT
    _print_rows(o.format if not o.quiet else o.format or "{{.ID}}", rows, formatting.IMAGE_HEADERS, default)
    return 0


def rmi(ctx: Context, argv: list[str]) -> int:
    p = Parser("rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images")
    p.add_argument("-f", "--force", action="store_true", help="Force removal of the image")
    p.add_argument("--no-prune", action="store_true", help="Do not delete untagged parents")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    o = p.parse_args(argv)
    status = 0
    for name in o.images:
        try:
            with ctx.api():
                report = ctx.client.images.remove(name, force=o.force, noprune=o.no_prune)
            for item in report or []:
                if "Untagged" in item:
                    print(f"Untagged: {item['Untagged']}")
                if "Deleted" in item:
                    print(f"Deleted: {item['Deleted']}")
        except CLIError as exc:
            print(exc.message, file=sys.stderr)
            status = 1
    return status


def tag(ctx: Context, argv: list[str]) -> int:
    p = Parser("tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
    p.add_argument("source")
    p.add_argument("target")
    o = p.parse_args(argv)
    from ..rules import references

    try:
        ref = references.parse(o.target)
    except Exception as exc:  # noqa: BLE001 - docker's message
        raise CLIError(f"Error parsing reference: \"{o.target}\" is not a valid repository/tag: {exc}", 1) from None
    if ref.digest:
        raise CLIError("refusing to create a tag with a digest reference", 1)
    repo = ref.name
    with ctx.api():
        ctx.client.images.tag(o.source, repo, ref.tag or "latest")
    return 0


def history(ctx: Context, argv: list[str]) -> int:
    p = Parser("history", "[OPTIONS] IMAGE", "Show the history of an image")
    p.add_argument("-H", "--human", default="true", nargs="?", const="true",
                   help="Print sizes and dates in human readable format")
    p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("--format", help="Format output using a custom template")
    p.add_argument("image")
    o = p.parse_args(argv)
    human = o.human.lower() not in ("false", "0")
    with ctx.api():
        entries = ctx.client.images.history(o.image)
    now = time.time()
    rows = []
    for e in entries:
        iid = e["Id"]
        if iid != "<missing>" and not o.no_trunc:
            iid = iid.split(":", 1)[-1][:12]
        created_by = e.get("CreatedBy", "").replace("\t", " ")
        if not o.no_trunc:
            created_by = formatting.ellipsis(created_by, 45)
        created = e.get("Created", 0)
        rows.append(Row({
            "ID": iid,
            "CreatedSince": formatting.human_duration(max(0.0, now - created)) + " ago" if human
            else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
            "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
            "CreatedBy": created_by,
            "Size": formatting.human_size(e.get("Size", 0)) if human else str(e.get("Size", 0)),
            "Comment": e.get("Comment", ""),
        }))
    if o.quiet and not o.format:
        for r in rows:
            print(r["ID"])
        return 0
    default = formatting.DEFAULT_HISTORY_FORMAT if human else formatting.DEFAULT_HISTORY_FORMAT_NON_HUMAN
    _print_rows(o.format, rows, formatting.HISTORY_HEADERS, default)
    return 0


def save(ctx: Context, argv: list[str]) -> int:
    p = Parser("save", "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)")
    p.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")
    p.add_argument("--platform", help="Save only the given platform variant")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    o = p.parse_args(argv)
    if not o.output and sys.stdout.isatty():
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1)
    with ctx.api():
        resp = ctx.client.images.save(o.images)
    tmp = None
    if o.output:
        tmp = o.output + ".tmp"
        out = open(tmp, "wb")
    else:
        out = sys.stdout.buffer
    try:
        while chunk := resp.read(1 << 20):
            out.write(chunk)
    finally:
        if tmp:
            out.close()
    if tmp:
        os.replace(tmp, o.output)
    return 0


def load(ctx: Context, argv: list[str]) -> int:
    p = Parser("load", "[OPTIONS]", "Load an image from a tar archive or STDIN")
    p.add_argument("-i", "--input", help="Read from tar archive file, instead of STDIN")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the load output")
    p.add_argument("--platform", help="Load only the given platform variant")
    o = p.parse_args(argv)
    if o.input:
        try:
            src = open(o.input, "rb")
        except OSError as exc:
            raise CLIError(f"open {o.input}: {exc.strerror.lower() if exc.strerror else exc}", 1) from None
    else:
        if sys.stdin.isatty():
            raise CLIError("requested load from stdin, but stdin is empty", 1)
        src = sys.stdin.buffer
    with src:
        with ctx.api():
            for msg in ctx.client.images.load(src, quiet=o.quiet):
                if msg.get("error") or msg.get("errorDetail"):
                    raise CLIError(msg.get("error") or msg["errorDetail"].get("message", ""), 1)
                if msg.get("stream") and not o.quiet:
                    sys.stdout.write(msg["stream"])
                elif msg.get("stream") and o.quiet and msg["stream"].startswith("Loaded"):
                    sys.stdout.write(msg["stream"])
    return 0


def import_(ctx: Context, argv: list[str]) -> int:
    p = Parser("import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
               "Import the contents from a tarball to create a filesystem image")
    p.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    p.add_argument("-m", "--message", default="", help="Set commit message for imported image")
    p.add_argument("--platform", help="Set platform if server is multi-platform capable")
    p.add_argument("source")
    p.add_argument("reference", nargs="?")
    o = p.parse_args(argv)
    repo = tag = None
    if o.reference:
        repo, tag = o.reference, ""
        if "@" not in o.reference and ":" in o.reference.rsplit("/", 1)[-1]:
            repo, tag = o.reference.rsplit(":", 1)
    if o.source == "-":
        src = sys.stdin.buffer
    elif "://" in o.source:
        raise CLIError("importing from a URL is not supported", 1)
    else:
        try:
            src = open(o.source, "rb")
        except OSError as exc:
            raise CLIError(f"open {o.source}: {exc.strerror.lower() if exc.strerror else exc}", 1) from None
    with ctx.api():
        for msg in ctx.client.images.import_(src, repo, tag, message=o.message, changes=o.change):
            if msg.get("error"):
                raise CLIError(msg["error"], 1)
            if msg.get("status"):
                print(msg["status"])
    return 0


def inspect_images(ctx: Context, argv: list[str]) -> int:
    p = Parser("image inspect", "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images")
    p.add_argument("-f", "--format", help="Format output using a custom template")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    o = p.parse_args(argv)
    return inspect_objects(ctx, o.images, o.format, ["image"])


def prune(ctx: Context, argv: list[str]) -> int:
    p = Parser("image prune", "[OPTIONS]", "Remove unused images")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused images, not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="Provide filter values (e.g. \"until=<timestamp>\")")
    o = p.parse_args(argv)
    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if o.all else "WARNING! This will remove all dangling images.")
    if not o.force and not confirm(warning + "\nAre you sure you want to continue? [y/N] "):
        return 0
    from ..rules.filters import from_cli

    f = from_cli(o.filter)
    f.add("dangling", "false" if o.all else "true")
    with ctx.api():
        result = ctx.client.images.prune(f.to_json())
    deleted = result.get("ImagesDeleted") or []
    if deleted:
        print("Deleted Images:")
        for item in deleted:
            for k, v in item.items():
                print(f"{k.lower()}: {v}")
        print()
    print(f"Total reclaimed space: {formatting.human_size(result.get('SpaceReclaimed') or 0)}")
    return 0


del gotemplate
