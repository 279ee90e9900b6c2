"""Parsed nodes → typed instructions grouped in build stages, validated as Docker does.

Each instruction keeps its source node (keyword, line numbers, original text) and
its flags, parsed with Docker's rules (``--name=value``; booleans ``--link`` or
``--link=true``; repeatable flags such as ``--mount`` and ``--exclude``; "Unknown
flag", "Duplicate flag specified", "Missing a value on flag"). Variables are not
expanded here: which instruction expands what, with which variables, is decided
at build time (``builder.py``), since ARG and ENV values depend on the stage.

Pure. Errors are :class:`~baleine.build.parser.DockerfileError` with the line.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

from ..rules.errors import InvalidParameter
from ..rules.units import parse_duration_ns
from .parser import Dockerfile, DockerfileError, Heredoc, Node, chomp_heredoc, parse, parse_heredoc

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
MIN_HEALTH_DURATION_NS = 1_000_000  # container.MinimumDuration: 1ms


class _FlagError(ValueError):
    pass


class Flags:
    """Docker's BFlags: the declared flags of one instruction and their values."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.kinds: dict[str, str] = {}
        self.values: dict[str, object] = {}
        self.used: set[str] = set()

    def declare(self, name: str, kind: str, default: object = None) -> None:
        """``kind`` is "bool", "string" or "strings"."""
        self.kinds[name] = kind
        self.values[name] = [] if kind == "strings" else (False if kind == "bool" and default is None
                                                           else default)

    def parse(self) -> "Flags":
        for word in self.words:
            if not word.startswith("--"):
                raise _FlagError(f"Arg should start with -- : {word}")
            if word == "--":
                break
            name, sep, value = word[2:].partition("=")
            kind = self.kinds.get(name)
            if kind is None:
                raise _FlagError(f"Unknown flag: {name}")
            if name in self.used and kind != "strings":
                raise _FlagError(f"Duplicate flag specified: {name}")
            self.used.add(name)
            if kind == "bool":
                if sep and value == "":
                    raise _FlagError(f"Missing a value on flag: {name}")
                low = value.lower()
                if low == "":
                    self.values[name] = True
                elif low in ("true", "false"):
                    self.values[name] = low == "true"
                else:
                    raise _FlagError(f"Expecting boolean value for flag {name}, not: {value}")
            elif kind == "string":
                if not sep:
                    raise _FlagError(f"Missing a value on flag: {name}")
                self.values[name] = value
            else:
                if not sep:
                    raise _FlagError(f"Missing a value on flag: {name}")
                self.values[name].append(value)  # type: ignore[union-attr]
        return self

    def str(self, name: str) -> str:
        return str(self.values.get(name) or "")

    def bool(self, name: str) -> bool:
        return bool(self.values.get(name))

    def list(self, name: str) -> list[str]:
        return list(self.values.get(name) or [])  # type: ignore[call-overload]

    def is_used(self, name: str) -> bool:
        return name in self.used


# -- instructions -----------------------------------------------------------------------


@dataclass
class Instruction:
    """Base: the node it came from (keyword, original text, lines)."""

    node: Node

    @property
    def keyword(self) -> str:
        return self.node.keyword

    @property
    def line(self) -> int:
        return self.node.start_line

    @property
    def original(self) -> str:
        return self.node.original.strip()


@dataclass
class KeyValue:
    key: str
    value: str


@dataclass
class EnvInstr(Instruction):
    pairs: list[KeyValue] = field(default_factory=list)


@dataclass
class LabelInstr(Instruction):
    pairs: list[KeyValue] = field(default_factory=list)


@dataclass
class ArgDecl:
    """``ARG name`` or ``ARG name=default`` (the default is expanded when used)."""

    key: str
    default: str | None = None


@dataclass
class ArgInstr(Instruction):
    args: list[ArgDecl] = field(default_factory=list)


@dataclass
class MaintainerInstr(Instruction):
    maintainer: str = ""


@dataclass
class InlineFile:
    """A heredoc used as a COPY/ADD source or a RUN file."""

    name: str
    data: str
    expand: bool = True


@dataclass
class CopyInstr(Instruction):
    """COPY and ADD (``add`` tells which); sources are paths or heredocs."""

    add: bool = False
    sources: list[str] = field(default_factory=list)
    contents: list[InlineFile] = field(default_factory=list)
    dest: str = ""
    chown: str = ""
    chmod: str = ""
    from_: str = ""
    link: bool = False
    parents: bool = False
    excludes: list[str] = field(default_factory=list)
    checksum: str = ""
    keep_git_dir: bool = False
    unpack: bool | None = None


@dataclass
class MountSpec:
    """One ``RUN --mount`` as written; values are expanded at build time."""

    type: str = "bind"
    target: str = ""
    source: str = ""
    from_: str = ""
    readonly: bool = True
    id: str = ""
    sharing: str = "shared"
    required: bool = False
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: str = ""
    env: str = ""
    raw: dict[str, str] = field(default_factory=dict)


@dataclass
class RunInstr(Instruction):
    """RUN: ``cmd`` is the exec-form array or the one shell-form string."""

    cmd: list[str] = field(default_factory=list)
    prepend_shell: bool = True
    files: list[Heredoc] = field(default_factory=list)
    mounts: list[MountSpec] = field(default_factory=list)
    network: str = ""


@dataclass
class CmdInstr(Instruction):
    """CMD or ENTRYPOINT (``keyword`` tells which)."""

    cmd: list[str] | None = None
    prepend_shell: bool = True


@dataclass
class HealthcheckInstr(Instruction):
    """HEALTHCHECK: ``test`` is ["NONE"], ["CMD", ...] or ["CMD-SHELL", cmd]; durations in ns."""

    test: list[str] = field(default_factory=list)
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass
class ExposeInstr(Instruction):
    ports: list[str] = field(default_factory=list)


@dataclass
class ValueInstr(Instruction):
    """USER, WORKDIR, STOPSIGNAL: one value."""

    value: str = ""


@dataclass
class VolumeInstr(Instruction):
    volumes: list[str] = field(default_factory=list)


@dataclass
class ShellInstr(Instruction):
    shell: list[str] = field(default_factory=list)


@dataclass
class OnbuildInstr(Instruction):
    expression: str = ""


@dataclass
class Stage:
    """``FROM base [AS name]`` and the instructions up to the next FROM."""

    index: int
    base: str
    name: str
    platform: str
    node: Node
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.node.start_line


@dataclass
class BuildFile:
    """A whole Dockerfile: global ARGs (before the first FROM), then the stages."""

    meta_args: list[ArgInstr]
    stages: list[Stage]
    dockerfile: Dockerfile

    @property
    def filename(self) -> str:
        return self.dockerfile.filename

    @property
    def escape(self) -> str:
        return self.dockerfile.escape


# -- parsing -----------------------------------------------------------------------------


def load(text: str | bytes, filename: str = "Dockerfile") -> BuildFile:
    """Parse a Dockerfile into global ARGs and stages.

    Raises DockerfileError (file, line, problem) for anything Docker rejects:
    unknown instructions, instructions before the first FROM (other than ARG),
    bad flags, bad arguments, bad heredoc use.
    """
    df = parse(text, filename)
    meta: list[ArgInstr] = []
    stages: list[Stage] = []
    for node in df.nodes:
        try:
            result = parse_node(node, df.escape)
        except (_FlagError, ValueError, InvalidParameter) as exc:
            if isinstance(exc, DockerfileError):
                raise
            raise DockerfileError(str(exc), filename, node.start_line, node.end_line) from None
        if isinstance(result, Stage):
            result.index = len(stages)
            stages.append(result)
        elif not stages:
            if isinstance(result, ArgInstr):
                meta.append(result)
                continue
            raise DockerfileError(f"no build stage in current context: {node.keyword} must come after a FROM "
                                  "instruction (only ARG may precede the first FROM)", filename,
                                  node.start_line, node.end_line)
        else:
            stages[-1].instructions.append(result)
    if not stages:
        raise DockerfileError("no build stage in current context: the Dockerfile has no FROM instruction",
                              filename, df.nodes[-1].start_line)
    names: dict[str, int] = {}
    for st in stages:
        if st.name:
            if st.name in names:
                raise DockerfileError(f"duplicate stage name \"{st.name}\" (first defined on line "
                                      f"{stages[names[st.name]].line})", filename, st.line)
            names[st.name] = st.index
    return BuildFile(meta, stages, df)


def parse_node(node: Node, escape: str = "\\") -> Instruction | Stage:
    """One node → its typed instruction (or a Stage for FROM). Raises ValueError."""
    fn = _PARSERS.get(node.keyword)
    if fn is None:
        raise ValueError(f"unknown instruction: {node.keyword}{_suggest(node.keyword)}")
    return fn(node)


def _suggest(word: str) -> str:
    import difflib

    close = difflib.get_close_matches(word.upper(), _PARSERS.keys(), n=1, cutoff=0.7)
    return f" (did you mean {close[0].lower()}?)" if close else ""


def _flags(node: Node, **decl: tuple[str, object] | str) -> Flags:
    f = Flags(node.flags)
    for name, spec in decl.items():
        kind, default = (spec, None) if isinstance(spec, str) else spec
        f.declare(name.replace("_", "-"), kind, default)
    return f.parse()


def _kvps(args: list[str], name: str) -> list[KeyValue]:
    if not args:
        raise ValueError(f"{name} requires at least one argument")
    if len(args) % 2:
        raise ValueError(f"Bad input to {name}, too many arguments")
    out = []
    for i in range(0, len(args), 2):
        if not args[i]:
            raise ValueError(f"{name} names can not be blank")
        out.append(KeyValue(args[i], args[i + 1]))
    return out


def _json_args(node: Node) -> list[str]:
    """handleJSONArgs: the exec-form array, or the shell form as one string."""
    if not node.args:
        return []
    if node.json:
        return list(node.args)
    return [" ".join(node.args)]


def _p_env(node: Node) -> Instruction:
    _flags(node)
    return EnvInstr(node, _kvps(node.args, "ENV"))


def _p_label(node: Node) -> Instruction:
    _flags(node)
    return LabelInstr(node, _kvps(node.args, "LABEL"))


def _p_maintainer(node: Node) -> Instruction:
    if len(node.args) != 1:
        raise ValueError("MAINTAINER requires exactly one argument")
    _flags(node)
    return MaintainerInstr(node, node.args[0])


def _p_arg(node: Node) -> Instruction:
    if not node.args:
        raise ValueError("ARG requires at least one argument")
    _flags(node)
    out = []
    for word in node.args:
        if "=" in word:
            key, _, value = word.partition("=")
            if not key:
                raise ValueError("ARG names can not be blank")
            out.append(ArgDecl(key, value))
        else:
            out.append(ArgDecl(word))
    return ArgInstr(node, out)


def _sources_and_dest(node: Node, name: str) -> tuple[list[str], list[InlineFile], str]:
    if len(node.args) < 2:
        raise ValueError(f"{name} requires at least two arguments, but only one was provided. "
                         "Destination could not be determined")
    srcs, dest = node.args[:-1], node.args[-1]
    if parse_heredoc(dest) is not None:
        raise ValueError(f"{name} cannot accept a heredoc as a destination")
    docs = {h.name: h for h in node.heredocs}
    paths: list[str] = []
    contents: list[InlineFile] = []
    for src in srcs:
        doc = parse_heredoc(src) if not node.json else None
        if doc is not None:
            found = docs.get(doc.name)
            if found is None:
                raise ValueError(f"{name}: heredoc <<{doc.name} has no content")
            data = found.content
            if doc.chomp:
                data = chomp_heredoc(data)
            contents.append(InlineFile(doc.name, data, doc.expand))
        else:
            paths.append(src)
    return paths, contents, dest


def _p_copy(node: Node) -> Instruction:
    add = node.keyword == "ADD"
    name = node.keyword
    if len(node.args) < 2:
        raise ValueError(f"{name} requires at least two arguments, but only one was provided. "
                         "Destination could not be determined")
    if add:
        f = _flags(node, chown="string", chmod="string", link="bool", checksum="string",
                   keep_git_dir="bool", exclude="strings", unpack="bool")
    else:
        f = _flags(node, chown="string", chmod="string", link="bool", parents="bool", exclude="strings",
                   **{"from": "string"})
    paths, contents, dest = _sources_and_dest(node, name)
    instr = CopyInstr(node, add=add, sources=paths, contents=contents, dest=dest, chown=f.str("chown"),
                      chmod=f.str("chmod"), link=f.bool("link"), excludes=f.list("exclude"))
    if add:
        instr.checksum = f.str("checksum")
        instr.keep_git_dir = f.bool("keep-git-dir")
        instr.unpack = f.bool("unpack") if f.is_used("unpack") else None
        if instr.checksum and (len(paths) != 1 or contents):
            raise ValueError("checksum can't be specified for multiple sources")
    else:
        instr.from_ = f.str("from")
        instr.parents = f.bool("parents")
    return instr


def _p_from(node: Node) -> Stage:
    args = node.args
    name = ""
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise ValueError(f'invalid name for build stage: "{args[2]}", name can\'t start with a number or '
                             "contain symbols")
    elif len(args) != 1:
        raise ValueError("FROM requires either one or three arguments")
    f = _flags(node, platform="string")
    return Stage(0, args[0], name, f.str("platform"), node)


def _p_onbuild(node: Node) -> Instruction:
    if not node.args:
        raise ValueError("ONBUILD requires at least one argument")
    _flags(node)
    trigger = node.args[0].strip().upper()
    if trigger == "ONBUILD":
        raise ValueError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise ValueError(f"{trigger} isn't allowed as an ONBUILD trigger")
    if node.sub is not None and node.sub.keyword not in _PARSERS:
        raise ValueError(f"unknown instruction: {node.sub.keyword}")
    expression = re.sub(r"(?i)^\s*ONBUILD\s*", "", node.original, count=1)
    for doc in node.heredocs:
        expression += "\n" + doc.content + doc.name
    return OnbuildInstr(node, expression)


def _p_workdir(node: Node) -> Instruction:
    if len(node.args) != 1:
        raise ValueError("WORKDIR requires exactly one argument")
    _flags(node)
    return ValueInstr(node, node.args[0])


def _p_run(node: Node) -> Instruction:
    f = _flags(node, mount="strings", network="string")
    network = f.str("network")
    if f.is_used("network") and network not in ("default", "none", "host"):
        raise ValueError(f"unsupported network mode {network!r}: use default, none or host")
    mounts = [parse_mount(m) for m in f.list("mount")]
    cmd = _json_args(node)
    return RunInstr(node, cmd, not node.json, list(node.heredocs), mounts, network)


def _p_cmd(node: Node) -> Instruction:
    _flags(node)
    cmd: list[str] | None = _json_args(node)
    if node.keyword == "ENTRYPOINT" and not cmd:
        cmd = None
    return CmdInstr(node, cmd, not node.json)


def _duration(f: Flags, name: str) -> int:
    value = f.str(name)
    if not value:
        return 0
    ns = parse_duration_ns(value)
    if ns < MIN_HEALTH_DURATION_NS:
        raise ValueError(f'Interval "{name}" cannot be less than 1ms')
    return ns


def _p_healthcheck(node: Node) -> Instruction:
    if not node.args:
        raise ValueError("HEALTHCHECK requires at least one argument")
    typ = node.args[0].upper()
    rest = node.args[1:]
    if typ == "NONE":
        if rest:
            raise ValueError("HEALTHCHECK NONE takes no arguments")
        return HealthcheckInstr(node, ["NONE"])
    f = _flags(node, interval="string", timeout="string", start_period="string", start_interval="string",
               retries="string")
    if typ != "CMD":
        raise ValueError(f'Unknown type "{typ}" in HEALTHCHECK (try CMD)')
    if not rest:
        raise ValueError("Missing command after HEALTHCHECK CMD")
    cmd = list(rest) if node.json else [" ".join(rest)]
    test = (["CMD"] if node.json else ["CMD-SHELL"]) + cmd
    retries = 0
    if f.str("retries"):
        try:
            retries = int(f.str("retries"))
        except ValueError:
            raise ValueError(f'strconv.ParseInt: parsing "{f.str("retries")}": invalid syntax') from None
        if retries < 1:
            raise ValueError(f"--retries must be at least 1 (not {retries})")
    return HealthcheckInstr(node, test, _duration(f, "interval"), _duration(f, "timeout"),
                            _duration(f, "start-period"), _duration(f, "start-interval"), retries)


def _p_expose(node: Node) -> Instruction:
    if not node.args:
        raise ValueError("EXPOSE requires at least one argument")
    _flags(node)
    return ExposeInstr(node, sorted(node.args))


def _p_user(node: Node) -> Instruction:
    if len(node.args) != 1:
        raise ValueError("USER requires exactly one argument")
    _flags(node)
    return ValueInstr(node, node.args[0])


def _p_volume(node: Node) -> Instruction:
    if not node.args:
        raise ValueError("VOLUME requires at least one argument")
    _flags(node)
    vols = []
    for v in node.args:
        v = v.strip()
        if not v:
            raise ValueError("VOLUME specified can not be an empty string")
        vols.append(v)
    return VolumeInstr(node, vols)


def _p_stopsignal(node: Node) -> Instruction:
    if len(node.args) != 1:
        raise ValueError("STOPSIGNAL requires exactly one argument")
    _flags(node)
    return ValueInstr(node, node.args[0])


def _p_shell(node: Node) -> Instruction:
    _flags(node)
    args = _json_args(node)
    if not args:
        raise ValueError("SHELL requires at least one argument")
    if not node.json:
        raise ValueError(f"SHELL requires the arguments to be in JSON form: {node.original.strip()}")
    return ShellInstr(node, args)


_PARSERS = {
    "ADD": _p_copy, "ARG": _p_arg, "CMD": _p_cmd, "COPY": _p_copy, "ENTRYPOINT": _p_cmd, "ENV": _p_env,
    "EXPOSE": _p_expose, "FROM": _p_from, "HEALTHCHECK": _p_healthcheck, "LABEL": _p_label,
    "MAINTAINER": _p_maintainer, "ONBUILD": _p_onbuild, "RUN": _p_run, "SHELL": _p_shell,
    "STOPSIGNAL": _p_stopsignal, "USER": _p_user, "VOLUME": _p_volume, "WORKDIR": _p_workdir,
}

_MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
_MOUNT_KEYS = ("type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro", "readwrite",
               "rw", "id", "sharing", "required", "mode", "uid", "gid", "size", "env")


def _parse_bool(value: str, key: str) -> bool:
    # Go's strconv.ParseBool
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"invalid value for {key}: {value}")


def parse_mount(value: str, expand=None) -> MountSpec:  # noqa: ANN001 - Callable[[str], str] | None
    """One ``--mount`` value (CSV of ``key=value`` fields), as BuildKit reads it.

    With ``expand`` (a one-word expander) values are expanded and interpreted;
    without, only the syntax and ``from`` (which may not use variables) are
    checked, as Docker does at parse time. ``raw`` keeps the unexpanded fields.
    """
    try:
        fields = next(csv.reader([value]))
    except (csv.Error, StopIteration) as exc:
        raise ValueError(f"failed to parse csv mounts: {exc}") from None
    m = MountSpec()
    ro_auto = True
    for fld in fields:
        key, sep, val = fld.partition("=")
        key = key.lower()
        if not sep:
            if key in ("readonly", "ro"):
                m.readonly, ro_auto = True, False
                m.raw[key] = "true"
                continue
            if key in ("readwrite", "rw"):
                m.readonly, ro_auto = False, False
                m.raw[key] = "true"
                continue
            if key == "required":
                if m.type in ("secret", "ssh"):
                    m.required = True
                    m.raw[key] = "true"
                    continue
                raise ValueError(f"unexpected key '{key}' for mount type '{m.type}'")
            raise ValueError(f"invalid field '{fld}' must be a key=value pair")
        m.raw[key] = val
        if expand is not None:
            val = expand(val)
        elif key == "from":
            if re.search(r"\$.", val):
                raise ValueError(f"'{key}' doesn't support variable expansion, define alias stage instead")
        elif "$" in val:
            # Values with variables are checked when expanded, at build time.
            if key not in _MOUNT_KEYS:
                raise ValueError(f"unexpected key '{key}' in '{fld}'")
            continue
        if key == "type":
            if val.lower() not in _MOUNT_TYPES:
                raise ValueError(f'unsupported mount type "{val}"')
            if val.lower() == "ssh":
                raise ValueError("ssh mounts are not supported by this builder (no SSH agent forwarding)")
            m.type = val.lower()
        elif key == "from":
            m.from_ = val
        elif key in ("source", "src"):
            m.source = val
        elif key in ("target", "dst", "destination"):
            m.target = val
        elif key in ("readonly", "ro"):
            m.readonly, ro_auto = _parse_bool(val, key), False
        elif key in ("readwrite", "rw"):
            m.readonly, ro_auto = not _parse_bool(val, key), False
        elif key == "required":
            if m.type not in ("secret", "ssh"):
                raise ValueError(f"unexpected key '{key}' for mount type '{m.type}'")
            m.required = _parse_bool(val, key)
        elif key == "id":
            m.id = val
        elif key == "sharing":
            if val.lower() not in ("shared", "private", "locked"):
                raise ValueError(f'unsupported sharing value "{val}"')
            m.sharing = val.lower()
            m.raw["sharing_set"] = "1"
        elif key == "mode":
            try:
                m.mode = int(val, 8)
            except ValueError:
                raise ValueError(f"invalid value {val} for mode") from None
        elif key in ("uid", "gid"):
            try:
                number = int(val, 10)
                if number < 0:
                    raise ValueError
            except ValueError:
                raise ValueError(f"invalid value {val} for {key}") from None
            setattr(m, key, number)
        elif key == "size":
            m.size = val
        elif key == "env":
            m.env = val
        else:
            raise ValueError(f"unexpected key '{key}' in '{fld}'")
    file_info = m.type in ("secret", "ssh", "cache")
    for attr in ("mode", "uid", "gid"):
        if getattr(m, attr) is not None and not file_info:
            raise ValueError(f'{attr} not allowed for "{m.type}" type mounts')
    if ro_auto:
        m.readonly = m.type not in ("cache", "tmpfs")
    if m.raw.get("sharing_set") and m.type != "cache":
        raise ValueError(f"invalid cache sharing set for {m.type} mount")
    if m.type == "secret":
        if m.from_:
            raise ValueError("secret mount should not have a from")
        if m.raw.get("sharing_set"):
            raise ValueError("secret mount should not define sharing")
        if expand is not None and not m.source and not m.target and not m.id and not m.env:
            raise ValueError("invalid secret mount. one of source, target required")
        if m.source and m.id:
            raise ValueError("both source and id can't be set")
    return m


__all__ = ["ArgDecl", "ArgInstr", "BuildFile", "CmdInstr", "CopyInstr", "EnvInstr", "ExposeInstr", "Flags",
           "HealthcheckInstr", "InlineFile", "Instruction", "KeyValue", "LabelInstr", "MaintainerInstr",
           "MountSpec", "OnbuildInstr", "RunInstr", "ShellInstr", "Stage", "ValueInstr", "VolumeInstr", "load",
           "parse_mount", "parse_node"]
