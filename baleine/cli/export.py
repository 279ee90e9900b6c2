"""``baleine export``: a container's filesystem as a tar, to a file (written
atomically) or to a non-terminal stdout; and docker/cli's checks on local output
paths, which ``cp`` shares."""

from __future__ import annotations

import os
import stat
import sys
from typing import Any

from .context import CLIError, Context, Parser
from .usage import SUPPRESS, args_error, go_errno


def validate_output_path(path: str) -> None:
    """docker/cli ``ValidateOutputPath``: the directory must exist, and the path,
    if it exists, must be a directory or a regular file. Raises CLIError."""
    from ..rules.copypaths import go_clean, go_dir

    directory = go_dir(go_clean(path))
    if directory not in ("", ".") and not os.path.exists(directory):
        raise CLIError(f'invalid output path: directory "{directory}" does not exist', 1)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as err:
        raise CLIError(f"stat {path}: {go_errno(err)}", 1) from None
    # Only devices are refused: Go never marks a Linux file "irregular", so FIFOs
    # and sockets pass docker's check.
    if stat.S_ISBLK(st.st_mode) or stat.S_ISCHR(st.st_mode):
        raise CLIError(f'invalid output path: "{path}" must be a directory or a regular file: got a device', 1)


def validate_destination(path: str) -> None:
    """moby/sys atomicwriter's checks of an output file (``export -o``): its
    directory must exist, and the path be a regular file or nothing. CLIError."""
    if not path:
        raise CLIError("file name is empty", 1)
    directory = os.path.dirname(path)
    if directory not in ("", ".", ".."):
        try:
            st = os.stat(directory)
        except OSError as err:
            raise CLIError(f"invalid output path: stat {directory}: {go_errno(err)}", 1) from None
        if not stat.S_ISDIR(st.st_mode):
            raise CLIError(f"invalid output path: stat {directory}: not a directory", 1)
    try:
        mode = os.lstat(path).st_mode  # as os.Rename sees it: links are not followed
    except FileNotFoundError:
        return
    except OSError as err:
        raise CLIError(f"failed to stat output path: lstat {path}: {go_errno(err)}", 1) from None
    if stat.S_ISREG(mode) and not mode & 0o7000:
        return
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link directly"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device file"), (stat.S_ISBLK, "a block device file")):
        if test(mode):
            raise CLIError(f"cannot write to {what}", 1)
    what = "a setuid file" if mode & stat.S_ISUID else "a setgid file" if mode & stat.S_ISGID else "a sticky bit file"
    raise CLIError(f"cannot write to {what}", 1)


def write_atomically(path: str, resp: Any) -> None:
    """atomicwriter: write to ``.tmp-<name>`` beside ``path``, make it 0600, and
    rename it over ``path`` once something was written; remove it otherwise."""
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path), dir=directory)
    written = False
    try:
        with os.fdopen(fd, "wb") as f:
            while chunk := resp.read1(1 << 20):
                f.write(chunk)
                written = True
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        if written:
            os.rename(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def export(ctx: Context, argv: list[str]) -> int:
    p = Parser("export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive")
    p.add_argument("-o", "--output", default="", help="Write to a file, instead of STDOUT")
    p.add_argument("args", nargs="*", help=SUPPRESS)
    o = p.parse_args(argv)
    if len(o.args) != 1:
        raise args_error("export", "[OPTIONS] CONTAINER", "1 argument")
    if not o.output and sys.stdout.isatty():
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1)
    if o.output:
        try:
            validate_destination(o.output)
        except CLIError as exc:
            raise CLIError(f"failed to export container: {exc.message}", 1) from None
    with ctx.api():
        resp = ctx.client.containers.export(o.args[0])
    if o.output:
        write_atomically(o.output, resp)
        return 0
    out = sys.stdout.buffer
    while chunk := resp.read1(1 << 20):
        out.write(chunk)
    out.flush()
    return 0
