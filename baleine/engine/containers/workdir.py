"""The working directory a container starts in, made inside its root before start.

dockerd's ``SetupWorkingDirectory``: ``Config.WorkingDir`` is resolved inside the
container's root filesystem as the container would see it (symlinks followed,
never above the root: ``filesystem.rootpath``) and the missing directories are
created there, mode 0755. So ``-w /dangling/sub`` under a symlink whose target
does not exist creates the target's directories inside the root, where runc's
own creation of ``cwd`` would fail ("file exists") or, followed naively, could
leave the root.
"""

from __future__ import annotations

import os

from ...filesystem import rootpath
from ...rules.errors import InvalidParameter


def make_working_dir(rootfs: str, workdir: str) -> None:
    """Create ``workdir`` (root-absolute) inside ``rootfs``; InvalidParameter when a
    non-directory is in the way. Blocking: call from a worker thread."""
    if not workdir.startswith("/") or workdir == "/":  # relative ones are refused by the spec
        return
    path = rootpath.host_path(rootfs, os.path.normpath(workdir))
    try:
        os.makedirs(path, mode=0o755, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidParameter(f"Cannot mkdir: {workdir} is not a directory") from None
