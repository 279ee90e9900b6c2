"""``baleine cp``: the client half of ``docker cp`` (moby ``pkg/archive`` copy rules:
trailing ``/.``, renaming, creating the destination) on top of the archive endpoints.
The local tar work (reading a directory, extracting into one) uses the engine's tar
codec, the one piece of the engine the CLI still imports (see
``tests/unit/test_architecture_cli.py``)."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import threading
from typing import Any, BinaryIO

from . import formatting
from .context import CLIError, Context, Parser
from .export import validate_output_path
from .usage import SUPPRESS, args_error, go_errno


CP_USAGE = "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tbaleine cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"
_MODE_DIR = 1 << 31
_MODE_SYMLINK = 1 << 27
_MODE_DEVICE = 1 << 26
_MODE_IRREGULAR = 1 << 19


def split_cp_arg(arg: str) -> tuple[str, str]:
    """docker/cli ``splitCpArg``: ``CONTAINER:PATH``, unless the argument is an
    absolute path or starts with ``.`` (``./file:name``)."""
    if arg.startswith("/"):
        return "", arg
    ctr, sep, path = arg.partition(":")
    if not sep or ctr.startswith("."):
        return "", arg
    return ctr, path


def resolve_local_path(path: str) -> str:
    """Absolute, cleaned, with the trailing ``/`` or ``/.`` of ``path`` kept."""
    from ..rules.copypaths import go_clean, preserve_trailing_dot_or_separator

    return preserve_trailing_dot_or_separator(go_clean(os.path.join(os.getcwd(), path)), path)


def eval_symlinks(path: str) -> str:
    """Go's ``filepath.EvalSymlinks``: every link resolved; CLIError like Go's
    ``lstat <path>: no such file or directory`` for a missing component."""
    from ..rules.copypaths import go_clean

    parts = [p for p in go_clean(path).split("/") if p]
    current = "/"
    for comp in parts:
        candidate = os.path.join(current, comp)
        try:
            os.lstat(candidate)
        except OSError as err:
            raise CLIError(f"lstat {candidate}: {go_errno(err)}", 1) from None
        current = os.path.realpath(candidate)
    return go_clean(current)


def copy_info_source_path(path: str, follow_link: bool) -> Any:
    """moby ``CopyInfoSourcePath`` (with ``ResolveHostSourcePath``)."""
    from ..rules.copypaths import CopyInfo, go_base, go_split, get_rebase_name, has_trailing_separator

    if follow_link:
        resolved, rebase = get_rebase_name(path, eval_symlinks(path))
    else:
        dir_part, base = go_split(path)
        resolved_dir = eval_symlinks(dir_part or ".")
        resolved = resolved_dir.rstrip("/") + "/" + base
        rebase = go_base(path) if has_trailing_separator(path) and go_base(path) != go_base(resolved) else ""
    try:
        st = os.lstat(resolved)
    except OSError as err:
        raise CLIError(f"lstat {resolved}: {go_errno(err)}", 1) from None
    return CopyInfo(resolved, True, stat.S_ISDIR(st.st_mode), rebase)


def copy_info_destination_path(path: str) -> Any:
    """moby ``CopyInfoDestinationPath``: the destination with symlinks followed
    (its parent must exist)."""
    from ..rules.copypaths import CopyInfo, go_join, split_path_dir_entry

    original = path
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise CLIError(f"lstat {path}: {go_errno(err)}", 1) from None
    n = 0
    while st is not None and stat.S_ISLNK(st.st_mode):
        if n > 10:
            raise CLIError(f"too many symlinks in {original}", 1)
        n += 1
        target = os.readlink(path)
        if not target.startswith("/"):
            target = go_join(split_path_dir_entry(path)[0], target)
        path = target
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
    if st is None:
        parent = split_path_dir_entry(path)[0]
        try:
            pst = os.stat(parent)
        except OSError as err:
            raise CLIError(f"stat {parent}: {go_errno(err)}", 1) from None
        if not stat.S_ISDIR(pst.st_mode):
            raise CLIError("not a directory", 1)
        return CopyInfo(path)
    return CopyInfo(path, True, stat.S_ISDIR(st.st_mode))


class _Counter:
    """A reader counting the bytes that go through it (for the summary line)."""

    def __init__(self, src: Any) -> None:
        self.src = src
        self.total = 0

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n) if n is None or n >= 0 else self.src.read()
        self.total += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


def _pipe_from(produce: Any) -> tuple[BinaryIO, list[BaseException]]:
    """A reader of what ``produce(writer)`` writes in a thread (errors land in the list)."""
    r, w = os.pipe()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with os.fdopen(w, "wb") as out:
                produce(out)
        except BrokenPipeError:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported by the reader's side
            errors.append(exc)

    threading.Thread(target=run, daemon=True).start()
    return os.fdopen(r, "rb"), errors


def rebase_archive(src: Any, renames: list[tuple[str, str]]) -> BinaryIO:
    """moby ``RebaseArchiveEntries`` (applied for each (old, new) in turn): entry
    names, and hard link targets, get their first ``old`` replaced by ``new``."""
    import tarfile

    from ..rules.copypaths import rebase_name

    def produce(out: BinaryIO) -> None:
        with tarfile.open(fileobj=src, mode="r|") as tin, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tout:
            for member in tin:
                for old, new in renames:
                    member.name = rebase_name(member.name, old, new)
                    if member.islnk():
                        member.linkname = rebase_name(member.linkname, old, new)
                tout.addfile(member, tin.extractfile(member) if member.isreg() else None)

    reader, _ = _pipe_from(produce)
    return reader


def _local_error(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename}: {go_errno(exc)}" if exc.filename else go_errno(exc)
    return str(exc)


def _container_stat(ctx: Context, container: str, path: str) -> dict[str, Any]:
    """``HEAD /containers/{id}/archive``: the decoded X-Docker-Container-Path-Stat."""
    resp = ctx.client.containers.stat_path(container, path)
    try:
        return _decode_stat(resp.headers.get("x-docker-container-path-stat"))
    finally:
        resp.close()


def _decode_stat(header: str | None) -> dict[str, Any]:
    if not header:
        return {}
    try:
        return json.loads(base64.b64decode(header))
    except ValueError:
        return {}


def _untar_local(content: Any, dest_dir: str) -> None:
    """Extract into a local directory as docker's client does: no chown to the
    archive's owners (files belong to the caller), no directory/non-directory
    replacement."""
    from ..filesystem import layers
    from ..rules.errors import EngineError

    try:
        layers.untar_into(content, dest_dir, owner=(os.getuid(), os.getgid()), no_overwrite_dir_non_dir=True)
    except EngineError as exc:
        raise CLIError(str(exc), 1) from None


def _copy_from_container(ctx: Context, container: str, src_path: str, dst_path: str, follow: bool,
                         quiet: bool) -> int:
    from ..rules.copypaths import (CopyError, CopyInfo, go_join, get_rebase_name, prepare_archive_copy,
                                    split_path_dir_entry)

    if dst_path != "-":
        dst_path = resolve_local_path(dst_path)
    validate_output_path(dst_path)
    rebase = ""
    if follow:
        try:
            with ctx.api():
                st = _container_stat(ctx, container, src_path)
        except CLIError:
            st = {}
        if st and int(st.get("mode", 0)) & _MODE_SYMLINK:
            target = st.get("linkTarget", "")
            if not target.startswith("/"):
                target = go_join(split_path_dir_entry(src_path)[0], target)
            src_path, rebase = get_rebase_name(src_path, target)
    with ctx.api():
        resp = ctx.client.containers.get_archive(container, src_path)
    st = _decode_stat(resp.headers.get("x-docker-container-path-stat"))
    if dst_path == "-":
        out = sys.stdout.buffer
        while chunk := resp.read1(1 << 20):
            out.write(chunk)
        out.flush()
        return 0
    src_info = CopyInfo(src_path, True, bool(int(st.get("mode", 0)) & _MODE_DIR), rebase)
    counter = _Counter(resp)
    content: Any = counter
    renames: list[tuple[str, str]] = []
    if rebase:
        renames.append((split_path_dir_entry(src_path)[1], rebase))
    dst_info = copy_info_destination_path(dst_path)
    try:
        dst_dir, prepared = prepare_archive_copy(src_info, dst_info)
    except CopyError as exc:
        raise CLIError(str(exc), 1) from None
    if prepared:
        renames.append(prepared)
    if renames:
        content = rebase_archive(content, renames)
    _untar_local(content, dst_dir)
    if not quiet:
        # docker 28 means to draw a progress line on stderr, but its terminal test
        # never succeeds there: only this summary shows.
        print(f"Successfully copied {formatting.human_size(counter.total, 3)} to {dst_path}", file=sys.stderr)
    return 0


def _copy_to_container(ctx: Context, container: str, src_path: str, dst_path: str, follow: bool,
                       copy_uid_gid: bool, quiet: bool) -> int:
    from ..filesystem import layers
    from ..rules.copypaths import CopyError, CopyInfo, go_join, prepare_archive_copy, split_path_dir_entry

    if src_path != "-":
        src_path = resolve_local_path(src_path)
    dst_info = CopyInfo(dst_path)
    st: dict[str, Any] = {}
    try:
        with ctx.api():
            st = _container_stat(ctx, container, dst_path)
            if int(st.get("mode", 0)) & _MODE_SYMLINK:
                target = st.get("linkTarget", "")
                if not target.startswith("/"):
                    target = go_join(split_path_dir_entry(dst_path)[0], target)
                dst_info.path = target
                st = {}
                st = _container_stat(ctx, container, target)
    except CLIError as exc:
        # Docker goes on (the parent may exist); a missing container fails the same way below.
        if "No such container" in exc.message:
            raise CLIError(exc.message, 1) from None
    mode = int(st.get("mode", 0))
    if mode & _MODE_DEVICE or mode & _MODE_IRREGULAR:
        kind = "got a device" if mode & _MODE_DEVICE else "got an irregular file"
        raise CLIError(f'destination "{container}:{dst_path}" must be a directory or a regular file: {kind}', 1)
    if st:
        dst_info.exists, dst_info.is_dir = True, bool(mode & _MODE_DIR)
    counter: _Counter
    tar_errors: list[BaseException] = []
    if src_path == "-":
        if not dst_info.is_dir:
            raise CLIError(f'destination "{container}:{dst_path}" must be a directory', 1)
        resolved_dst = dst_info.path
        counter = _Counter(sys.stdin.buffer)
    else:
        src_info = copy_info_source_path(src_path, follow)
        try:
            resolved_dst, rename = prepare_archive_copy(src_info, dst_info)
        except CopyError as exc:
            raise CLIError(str(exc), 1) from None
        src_dir, src_base = split_path_dir_entry(src_info.path)
        # The archive's top entry gets its final name directly (moby rebases it
        # after the fact; the result is the same).
        top = rename[1] if rename else (src_info.rebase_name or src_base)
        include = src_base

        def produce(out: BinaryIO) -> None:
            layers.tar_directory(src_dir, out, include, arcname="." if top == "/" else top)

        reader, tar_errors = _pipe_from(produce)
        counter = _Counter(reader)
    with ctx.api():
        try:
            ctx.client.containers.put_archive(container, resolved_dst, counter, no_overwrite_dir_non_dir=True,
                                              copy_uid_gid=copy_uid_gid)
        finally:
            if tar_errors:  # what broke the archive explains the failure best
                raise CLIError(_local_error(tar_errors[0]), 1)
    if not quiet:
        print(f"Successfully copied {formatting.human_size(counter.total, 3)} to {container}:{dst_info.path}",
              file=sys.stderr)
    return 0


def cp(ctx: Context, argv: list[str]) -> int:
    p = Parser("cp", CP_USAGE, "Copy files/folders between a container and the local filesystem")
    p.add_argument("-a", "--archive", action="store_true", help="Archive mode (copy all uid/gid information)")
    p.add_argument("-L", "--follow-link", action="store_true", help="Always follow symbol link in SRC_PATH")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="Suppress progress output during copy. Progress output is automatically suppressed if no "
                        "terminal is attached")
    p.add_argument("args", nargs="*", help=SUPPRESS)
    o = p.parse_args(argv)
    if len(o.args) != 2:
        raise args_error("cp", CP_USAGE, "2 arguments")
    src, dst = o.args
    if src == "":
        raise CLIError("source can not be empty", 1)
    if dst == "":
        raise CLIError("destination can not be empty", 1)
    quiet = o.quiet or not sys.stdout.isatty()
    src_ctr, src_path = split_cp_arg(src)
    dst_ctr, dst_path = split_cp_arg(dst)
    if src_ctr and dst_ctr:
        raise CLIError("copying between containers is not supported", 1)
    if src_ctr:
        return _copy_from_container(ctx, src_ctr, src_path, dst_path, o.follow_link, quiet)
    if dst_ctr:
        return _copy_to_container(ctx, dst_ctr, src_path, dst_path, o.follow_link, o.archive, quiet)
    raise CLIError("must specify at least one container source", 1)
