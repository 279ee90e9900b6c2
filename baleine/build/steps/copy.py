"""COPY and ADD: sources from the context (or ``--from`` a stage or image, or URLs
for ADD, or heredocs) written into a work area over the state's layers, then
committed as a layer. The cache key holds the sources' checksums, not their origin.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import fsops
from ...engine.images.snapshots import Layer
from ...engine.runtime import users
from ...rules.errors import InvalidParameter
from ..context import Context, Source, file_digest, tree_digest
from ..instructions import CopyInstr
from ..planner import Step
from ..shell import Lex
from ..state import State
from .sources import source_root

if TYPE_CHECKING:
    from ..builder import BuildRun


Download = tuple[str, str, float | None]  # (path, file name, mtime) of an ADD URL


@dataclass
class _Copy:
    """A COPY/ADD with its words expanded and checked."""

    keyword: str
    srcs: list[str]
    dest_raw: str
    dest: str  # absolute in the container
    dest_is_dir: bool
    chown: str
    chmod: int | None
    excludes: list[str]
    from_: str
    contents: list[tuple[str, str]]  # heredocs: (name, data)
    urls: list[str]
    local: list[str]
    unpack: bool


async def copy(b: BuildRun, state: State, instr: CopyInstr, step: Step) -> tuple[State, bool]:
    """COPY/ADD ``instr`` from ``state``: (new state, whether it came from the cache).

    Raises InvalidParameter/NotFound with Docker's wording for bad sources or flags.
    """
    c = _expand(b, state, instr)
    async with source_root(b, c.from_, state) as (root, what, with_owner):
        ctx = Context(root, what)
        # The checksum of context sources is remembered with the context (the same
        # unpacked context is never changed: see kept_contexts); the sources
        # themselves are only needed again when the step is not cached.
        memo = repr(("COPY", c.local, c.excludes, with_owner)) if not c.from_ and not c.urls else ""
        remembered = b.context_digests.get(memo) if memo else None
        sources: list[Source] | None = None
        downloads: list[Download] = []
        if remembered is not None:
            found, _, sums = remembered.partition(" ")
            found_count = int(found)
        else:
            sources, downloads, sums = await asyncio.to_thread(_gather, b, c, instr, ctx, with_owner)
            found_count = len(sources)
            if memo:
                b.context_digests[memo] = f"{found_count} {sums}"
        count = found_count + len(downloads) + len(c.contents)
        if count == 0:
            raise InvalidParameter("no source files were specified")
        if count > 1 and not c.dest_is_dir:
            c.dest_is_dir = await asyncio.to_thread(is_dir_in, b, state, c.dest)
            if not c.dest_is_dir:
                raise InvalidParameter(f"When using {c.keyword} with more than one source file, the destination "
                                       "must be a directory and end with a /")
        shown_src = " ".join(([f"<<{n}" for n, _ in c.contents]) + c.srcs)
        desc = f"{c.keyword} {shown_src} {c.dest_raw}".replace("  ", " ")
        # The sources' content and metadata decide, not where they come from: a
        # rebuilt stage with the same files keeps this step cached.
        key = b.key(state, c.keyword, c.dest, c.dest_is_dir, c.chown, c.chmod, instr.link, instr.parents,
                    c.excludes, c.unpack, sums, [(n, d) for n, d in c.contents],
                    [os.path.basename(u) for u in c.urls], bool(c.from_))
        hit = b.lookup(key)
        if hit is not None:
            hit.args, hit.cmd_set = state.args, state.cmd_set
            return hit, True
        if sources is None:
            sources, downloads, _ = await asyncio.to_thread(_gather, b, c, instr, ctx, with_owner)
        new = state.clone()
        layer = await asyncio.to_thread(_write, b, c, instr, state.top, sources, downloads, with_owner)
    b.add_layer(new, layer, desc)
    await asyncio.to_thread(b.record, key, new, desc, layer.size if layer else 0)
    return new, False


def _expand(b: BuildRun, state: State, instr: CopyInstr) -> _Copy:
    """The instruction's words expanded with the state's variables, and checked."""
    env = state.expand_env()
    srcs = [b.expand(s, env) for s in instr.sources]
    dest_raw = b.expand(instr.dest, env)
    chown = b.expand(instr.chown, env) if instr.chown else ""
    chmod_s = b.expand(instr.chmod, env) if instr.chmod else ""
    chmod = _parse_chmod(chmod_s) if chmod_s else None
    excludes = [b.expand(e, env) for e in instr.excludes]
    from_ = b.expand(instr.from_, env) if instr.from_ else ""
    workdir = state.cfg.get("WorkingDir") or "/"
    dest = dest_raw if dest_raw.startswith("/") else posixpath.join(workdir, dest_raw)
    dest_is_dir = dest_raw.endswith("/") or dest_raw in (".", "..") or dest_raw.endswith("/.")
    contents = []
    for f in instr.contents:
        data = _expand_heredoc(b.lex, f.data, env) if f.expand else f.data
        contents.append((f.name, data))
    urls = [s for s in srcs if _is_url(s)] if instr.add else []
    if instr.add and instr.checksum and not urls:
        raise InvalidParameter("checksum can't be specified for local sources")
    for s in srcs:
        if instr.add and _is_git(s):
            raise InvalidParameter(f"ADD of a git repository ({s}) is not supported by this builder")
    local = [s for s in srcs if s not in urls]
    unpack = instr.add if instr.unpack is None else bool(instr.unpack)
    return _Copy(instr.keyword, srcs, dest_raw, dest, dest_is_dir, chown, chmod, excludes, from_, contents, urls,
                 local, unpack)


def _gather(b: BuildRun, c: _Copy, instr: CopyInstr, ctx: Context,
            with_owner: bool) -> tuple[list[Source], list[Download], str]:
    """The local sources, the downloaded URLs and their checksum for the cache key
    (blocking)."""
    sources: list[Source] = []
    for s in c.local:
        sources.extend(ctx.sources(s, c.excludes))
    downloads = []
    for u in c.urls:
        ddir = os.path.join(b.scratch, "dl-" + secrets.token_hex(6))
        os.makedirs(ddir)
        path, name, mtime = fsops.download(u, ddir)
        if instr.checksum:
            got = "sha256:" + file_digest(path)
            if got != instr.checksum:
                raise InvalidParameter(f"digest mismatch for {u}: expected {instr.checksum}, got {got}")
        downloads.append((path, name, mtime))
    sums = tree_digest(sources, with_owner=with_owner, excludes=c.excludes) if sources else ""
    if downloads:
        sums += "".join(":" + file_digest(p) for p, _, _ in downloads)
    return sources, downloads, sums


def _write(b: BuildRun, c: _Copy, instr: CopyInstr, top: str, sources: list[Source], downloads: list[Download],
           with_owner: bool) -> Layer | None:
    """Write everything into a work area over ``top`` and commit it (blocking)."""
    layers = b.builder.layers
    area = layers.open(top)
    try:
        rootfs = fsops.RootFS(area.merged)
        own = fsops.Ownership(0, 0, c.chmod)
        if c.chown:
            own.uid, own.gid = _parse_chown(c.chown, area.merged)
        elif with_owner:
            own.uid = own.gid = None
        fsops.copy_sources(sources, c.dest, rootfs, own, dest_is_dir=c.dest_is_dir, parents=instr.parents,
                           excludes=c.excludes, unpack=c.unpack and not c.from_)
        file_owner = fsops.Ownership(own.uid or 0, own.gid or 0, c.chmod)
        for name, data in c.contents:
            target = posixpath.join(c.dest, name) if c.dest_is_dir else c.dest
            fsops.write_file(rootfs, target, data.encode(), file_owner)
        for path, name, mtime in downloads:
            target = posixpath.join(c.dest, name) if c.dest_is_dir else c.dest
            with open(path, "rb") as f:
                payload = f.read()
            fsops.write_file(rootfs, target, payload, file_owner, mode=0o600, mtime=mtime)
    except BaseException:
        layers.discard(area)
        raise
    return layers.commit(area)


def is_dir_in(b: BuildRun, state: State, path: str) -> bool:
    """Whether ``path`` is a directory in ``state``'s root filesystem (blocking)."""
    area = b.builder.layers.open(state.top)
    try:
        return fsops.RootFS(area.merged).is_dir(path)
    finally:
        b.builder.layers.discard(area)


def _is_url(s: str) -> bool:
    return s.startswith("http://") or s.startswith("https://")


def _is_git(s: str) -> bool:
    return s.startswith("git@") or s.startswith("git://") or (_is_url(s) and (s.endswith(".git") or ".git#" in s))


def _parse_chmod(value: str) -> int:
    try:
        mode = int(value, 8)
    except ValueError:
        raise InvalidParameter(f"invalid chmod parameter: {value!r} is not an octal mode") from None
    if mode < 0 or mode > 0o7777:
        raise InvalidParameter(f"invalid chmod parameter: {value!r} is out of range")
    return mode


def _parse_chown(spec: str, rootfs: str) -> tuple[int, int]:
    """Docker's --chown: ``user[:group]``, names looked up in the destination's files;
    a lone user is also used as the group."""
    parts = spec.split(":")
    if len(parts) > 2:
        raise InvalidParameter(f"invalid chown string format: {spec}")
    user, group = (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    prefix = "unable to convert uid/gid chown string to host mapping: "
    if user.isdigit():
        uid = int(user)
    else:
        passwd = users.read_in_root(rootfs, "/etc/passwd") or ""
        found = [e for e in users.parse_passwd(passwd) if e.name == user]
        if not found:
            raise InvalidParameter(f"{prefix}can't find uid for user {user}: no such user: {user}")
        uid = found[0].uid
    if group.isdigit():
        gid = int(group)
    else:
        text = users.read_in_root(rootfs, "/etc/group") or ""
        groups = [g for g in users.parse_group(text) if g.name == group]
        if not groups:
            raise InvalidParameter(f"{prefix}can't find gid for group {group}: no such group: {group}")
        gid = groups[0].gid
    return uid, gid


def _expand_heredoc(lex: Lex, data: str, env: dict[str, str]) -> str:
    """Expand variables in a heredoc as a shell does: quotes are literal, a
    backslash escapes only ``$``, backquote and itself."""
    out = []
    i = 0
    esc = lex.escape
    while i < len(data):
        ch = data[i]
        if ch == esc:
            nxt = data[i + 1] if i + 1 < len(data) else ""
            if nxt in ("$", "`", esc):
                out.append(ch + nxt)
                i += 2
                continue
            out.append(ch + ch)  # a literal escape character for the lexer
            i += 1
            continue
        out.append(ch)
        i += 1
    return Lex(esc, skip_quotes=True).process_word("".join(out), env)
