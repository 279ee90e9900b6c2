"""Resolve Docker's ``--user`` and ``--group-add`` against a container's root filesystem.

The rules are runc's ``user.GetExecUser`` and ``user.GetAdditionalGroups`` (which
moby uses): ``name``, ``uid``, ``name:group``, ``uid:gid``, ``name:gid`` and
``uid:group`` are accepted; a numeric uid or gid needs no entry in the files; a
name does. ``/etc/passwd`` and ``/etc/group`` are read *inside* the root
filesystem: every symlink on the way is resolved as if the root filesystem were
``/``, so an image cannot make the daemon read a host file.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import NamedTuple

from baleine.filesystem import rootpath
from baleine.rules.errors import InvalidParameter

MIN_ID = 0
MAX_ID = (1 << 31) - 1
_ERR_RANGE = f"uids and gids must be in range {MIN_ID}-{MAX_ID}"
# passwd/group files larger than this are refused rather than read into memory.
_MAX_FILE_SIZE = 32 << 20


@dataclass(frozen=True)
class PasswdEntry:
    """One line of /etc/passwd (``name:pass:uid:gid:gecos:home:shell``)."""

    name: str = ""
    password: str = ""
    uid: int = 0
    gid: int = 0
    gecos: str = ""
    home: str = ""
    shell: str = ""


@dataclass(frozen=True)
class GroupEntry:
    """One line of /etc/group (``name:pass:gid:member,member``)."""

    name: str = ""
    password: str = ""
    gid: int = 0
    members: tuple[str, ...] = ()


class ExecUser(NamedTuple):
    """The identity a container process runs as.

    ``additional_gids`` are the supplementary groups from /etc/group membership
    (only when no group was given explicitly) followed by the ``--group-add``
    groups, without duplicates; the primary ``gid`` is not repeated in it.
    ``home`` is the passwd entry's home, or "/" when the user has none.
    """

    uid: int
    gid: int
    additional_gids: list[int]
    home: str


def _atoi(s: str) -> int | None:
    """Go's strconv.Atoi: optional sign, decimal digits, nothing else."""
    body = s[1:] if s[:1] in ("+", "-") else s
    if not body or not body.isdigit() or not body.isascii():
        return None
    return int(s)


def _split_fields(line: str, count: int) -> list[str]:
    parts = line.split(":")[:count]
    return parts + [""] * (count - len(parts))


def parse_passwd(text: str) -> list[PasswdEntry]:
    """Entries of a passwd file; malformed numbers read as 0, like runc."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, pw, uid, gid, gecos, home, shell = _split_fields(line, 7)
        out.append(PasswdEntry(name, pw, _atoi(uid) or 0, _atoi(gid) or 0, gecos, home, shell))
    return out


def parse_group(text: str) -> list[GroupEntry]:
    """Entries of a group file; malformed numbers read as 0, like runc."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        name, pw, gid, members = _split_fields(line, 4)
        out.append(GroupEntry(name, pw, _atoi(gid) or 0,
                              tuple(members.split(",")) if members else ()))
    return out


def open_in_root(root: str, path: str) -> int:
    """Open ``path`` read-only as seen from inside ``root`` and return the fd.

    The path is resolved inside ``root`` (:mod:`~baleine.filesystem.rootpath`:
    absolute targets restart at ``root``, ``..`` stops there), then opened from a
    directory fd with O_NOFOLLOW, so the walk cannot leave ``root`` even if the
    tree changes meanwhile. Only regular files are opened.
    Raises OSError (ENOENT, ELOOP, ENOTDIR, EISDIR, EINVAL…) on failure.
    """
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            resolved = rootpath.resolve_fd(root_fd, path)
        except rootpath.TooManyLinks:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path) from None
        parent, _, name = resolved.rpartition("/")
        if not name:
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        dir_fd = rootpath.open_dir(root_fd, parent)
        if dir_fd is None:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        try:
            # O_NONBLOCK so a FIFO planted there cannot hang us.
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file", path)
        return fd
    finally:
        os.close(root_fd)


def read_in_root(root: str, path: str) -> str | None:
    """Text of the file at ``path`` inside ``root``, or None when it cannot be read
    (missing, not a regular file, too large, …) — runc ignores such files too."""
    try:
        fd = open_in_root(root, path)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(_MAX_FILE_SIZE + 1)
    if len(data) > _MAX_FILE_SIZE:
        return None
    return data.decode("utf-8", errors="replace")


def get_exec_user(user_spec: str, passwd: str | None, group: str | None) -> ExecUser:
    """runc's ``GetExecUser`` with defaults uid 0, gid 0, home "/".

    ``passwd``/``group`` are the files' text, or None when absent. The returned
    ``additional_gids`` hold only the membership groups (no ``--group-add``).
    Raises InvalidParameter with runc's wording when a name is unknown or an id
    is out of range.
    """
    uid, gid, sgids, home = 0, 0, [], "/"
    user_arg, group_arg = (_split_fields(user_spec, 2) if user_spec else ["", ""])
    uid_arg = _atoi(user_arg)
    gid_arg = _atoi(group_arg)

    users = []
    if passwd is not None:
        for u in parse_passwd(passwd):
            if user_arg == "":
                match = u.uid == uid
            elif uid_arg is not None:
                match = u.uid == uid_arg  # a numeric user is always a uid
            else:
                match = u.name == user_arg
            if match:
                users.append(u)

    matched_name = ""
    if users:
        # First match wins, even if there's more than one matching entry.
        matched_name = users[0].name
        uid, gid, home = users[0].uid, users[0].gid, users[0].home
    elif user_arg != "":
        if uid_arg is None:
            raise InvalidParameter(
                f"unable to find user {user_arg}: no matching entries in passwd file")
        uid = uid_arg
        if not MIN_ID <= uid <= MAX_ID:
            raise InvalidParameter(_ERR_RANGE)

    if group_arg != "" or matched_name != "":
        groups = []
        if group is not None:
            for g in parse_group(group):
                if group_arg == "":
                    match = matched_name in g.members
                elif gid_arg is not None:
                    match = g.gid == gid_arg
                else:
                    match = g.name == group_arg
                if match:
                    groups.append(g)
        if group_arg != "":
            if groups:
                gid = groups[0].gid
            else:
                if gid_arg is None:
                    raise InvalidParameter(
                        f"unable to find group {group_arg}: no matching entries in group file")
                gid = gid_arg
                if not MIN_ID <= gid <= MAX_ID:
                    raise InvalidParameter(_ERR_RANGE)
        elif groups:
            # Supplementary groups only make sense in the implicit form.
            sgids = [g.gid for g in groups]
    return ExecUser(uid, gid, sgids, home or "/")


def get_additional_groups(additional: list[str], group: str | None) -> list[int]:
    """runc's ``GetAdditionalGroups``: ``--group-add`` names or ids → gids.

    A name must exist in ``group``; a number need not. Order of first appearance
    is kept and duplicates dropped. Raises InvalidParameter otherwise.
    """
    entries = [g for g in parse_group(group)
               if any(g.name == a or str(g.gid) == a for a in additional)] if group else []
    gids: dict[int, None] = {}
    for ag in additional:
        found = False
        for g in entries:
            # The first matching entry not already taken wins.
            if (g.name == ag or str(g.gid) == ag) and g.gid not in gids:
                gids[g.gid] = None
                found = True
                break
        if not found:
            n = _atoi(ag)
            if n is None:
                if any(g.name == ag or str(g.gid) == ag for g in entries):
                    continue  # already added through an earlier entry
                raise InvalidParameter(
                    f"Unable to find group {ag}: no matching entries in group file")
            if not MIN_ID <= n <= MAX_ID:
                raise InvalidParameter(_ERR_RANGE)
            gids[n] = None
    return list(gids)


def resolve_user(rootfs: str, user_spec: str = "", group_add: list[str] | None = None) -> ExecUser:
    """Resolve ``--user`` and ``--group-add`` against ``rootfs``'s /etc/passwd and
    /etc/group (read safely inside ``rootfs``).

    Returns ``(uid, gid, additional_gids, home)``: ``additional_gids`` are the
    membership groups then the ``--group-add`` ones, deduplicated. Raises
    InvalidParameter for unknown names or out-of-range ids.
    """
    passwd = read_in_root(rootfs, "/etc/passwd")
    group = read_in_root(rootfs, "/etc/group")
    eu = get_exec_user(user_spec, passwd, group)
    extra = get_additional_groups(list(group_add), group) if group_add else []
    return ExecUser(eu.uid, eu.gid, list(dict.fromkeys(eu.additional_gids + extra)), eu.home)
