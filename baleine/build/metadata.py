"""What the metadata instructions do to an image's container config — shared by the
builder and by ``commit``/``import`` ``--change``.

:func:`apply` changes the ``config`` section of an image config (Env, Labels, Cmd,
Entrypoint, ExposedPorts, Volumes, User, WorkingDir, StopSignal, Healthcheck,
Shell, OnBuild) for one parsed instruction, expanding variables where Docker
does, and returns the text recorded in the image history. :func:`apply_changes`
is ``docker commit --change`` / ``docker import --change``: each change is a
Dockerfile line parsed by the one Dockerfile parser (``parser.py``).

Pure (no I/O). Errors are InvalidParameter with Docker's wording.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ..rules import signals
from ..rules.errors import InvalidParameter
from .instructions import (CmdInstr, EnvInstr, ExposeInstr, HealthcheckInstr, Instruction, LabelInstr,
                           OnbuildInstr, ShellInstr, ValueInstr, VolumeInstr, parse_node)
from .parser import DockerfileError, parse
from .shell import Lex, ShellError

DEFAULT_SHELL = ["/bin/sh", "-c"]

#: The instructions ``--change`` accepts (moby's validCommitCommands, plus SHELL).
CHANGE_COMMANDS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "SHELL",
                   "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


class Flags:
    """Per-stage facts a metadata step needs besides the config: whether CMD was set
    in this stage (ENTRYPOINT then keeps it)."""

    def __init__(self, cmd_set: bool = False) -> None:
        self.cmd_set = cmd_set


def env_map(cfg: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in cfg.get("Env") or []:
        k, _, v = e.partition("=")
        out[k] = v
    return out


def set_env(cfg: dict[str, Any], key: str, value: str) -> None:
    """Replace or append ``key=value`` in Env, keeping the order."""
    current = list(cfg.get("Env") or [])
    for i, e in enumerate(current):
        if e.partition("=")[0] == key:
            current[i] = f"{key}={value}"
            break
    else:
        current.append(f"{key}={value}")
    cfg["Env"] = current


def port_specs(word: str) -> list[str]:
    """EXPOSE values: ``80``, ``80/tcp``, ``8000-8002/udp`` → ``["80/tcp", ...]``."""
    port, _, proto = word.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise InvalidParameter(f"invalid proto: {proto}")
    if ":" in port:
        raise InvalidParameter(f"invalid containerPort: {word} (EXPOSE takes container ports only)")
    start, sep, end = port.partition("-")
    try:
        lo = int(start)
        hi = int(end) if sep else lo
    except ValueError:
        raise InvalidParameter(f"invalid containerPort: {port}") from None
    if not 0 <= lo <= 65535 or not 0 <= hi <= 65535 or hi < lo:
        raise InvalidParameter(f"invalid port range: {port}")
    return [f"{p}/{proto}" for p in range(lo, hi + 1)]


def workdir(current: str, value: str) -> str:
    """WORKDIR ``value`` relative to the current working directory, cleaned."""
    wd = posixpath.normpath(posixpath.join(current or "/", value))
    return "/" + wd.lstrip("/")


def apply(cfg: dict[str, Any], instr: Instruction, env: dict[str, str], lex: Lex, flags: Flags) -> str:
    """Apply one metadata instruction to ``cfg`` (the container config section).

    ``env`` holds the variables for expansion (ARGs overridden by ENV). Returns the
    history text. Raises InvalidParameter for bad values, ShellError for bad
    substitutions, and InvalidParameter for an instruction that is not metadata.
    """
    kw = instr.keyword

    def expand(word: str) -> str:
        return lex.process_word(word, env)

    if isinstance(instr, EnvInstr):
        # Every value is expanded with the environment from before the instruction.
        pairs = [(expand(kv.key), expand(kv.value)) for kv in instr.pairs]
        for k, v in pairs:
            set_env(cfg, k, v)
        return "ENV " + " ".join(f"{k}={v}" for k, v in pairs)
    if isinstance(instr, LabelInstr):
        pairs = [(expand(kv.key), expand(kv.value)) for kv in instr.pairs]
        labels = dict(cfg.get("Labels") or {})
        labels.update(pairs)
        cfg["Labels"] = labels
        return "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)
    if isinstance(instr, CmdInstr):
        value = instr.cmd
        if value is not None and instr.prepend_shell:
            value = list(cfg.get("Shell") or DEFAULT_SHELL) + value
        if kw == "CMD":
            cfg["Cmd"] = value
            flags.cmd_set = True
        else:
            cfg["Entrypoint"] = value
            if not flags.cmd_set:
                # A new ENTRYPOINT drops the CMD inherited from the base image.
                cfg["Cmd"] = None
        return f"{kw} {json.dumps(value)}"
    if isinstance(instr, ExposeInstr):
        ports = dict(cfg.get("ExposedPorts") or {})
        added = []
        for p in instr.ports:
            for word in lex.process_words(p, env):
                for port in port_specs(word):
                    ports[port] = {}
                    added.append(port)
        cfg["ExposedPorts"] = ports
        return "EXPOSE " + " ".join(added)
    if isinstance(instr, VolumeInstr):
        vols = dict(cfg.get("Volumes") or {})
        added = []
        for v in instr.volumes:
            v = expand(v)
            if not v:
                raise InvalidParameter("VOLUME specified can not be an empty string")
            vols[v] = {}
            added.append(v)
        cfg["Volumes"] = vols
        return f"VOLUME {json.dumps(added)}"
    if isinstance(instr, ValueInstr) and kw == "USER":
        cfg["User"] = expand(instr.value)
        return f"USER {cfg['User']}"
    if isinstance(instr, ValueInstr) and kw == "WORKDIR":
        cfg["WorkingDir"] = workdir(cfg.get("WorkingDir") or "/", expand(instr.value))
        return f"WORKDIR {cfg['WorkingDir']}"
    if isinstance(instr, ValueInstr) and kw == "STOPSIGNAL":
        sig = expand(instr.value)
        signals.validate_signal(sig)
        cfg["StopSignal"] = sig
        return f"STOPSIGNAL {sig}"
    if isinstance(instr, HealthcheckInstr):
        hc: dict[str, Any] = {"Test": instr.test}
        for name, value in (("Interval", instr.interval), ("Timeout", instr.timeout),
                            ("StartPeriod", instr.start_period), ("StartInterval", instr.start_interval),
                            ("Retries", instr.retries)):
            if value:
                hc[name] = value
        cfg["Healthcheck"] = hc
        return f"HEALTHCHECK {json.dumps(hc)}"
    if isinstance(instr, ShellInstr):
        cfg["Shell"] = instr.shell
        return f"SHELL {json.dumps(instr.shell)}"
    if isinstance(instr, OnbuildInstr):
        cfg["OnBuild"] = list(cfg.get("OnBuild") or []) + [instr.expression]
        return f"ONBUILD {instr.expression}"
    raise InvalidParameter(f"{kw} is not a metadata instruction")


def apply_changes(cfg: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """``--change`` lines applied to a container config (in place; returned).

    Raises InvalidParameter ("X is not a valid change command", parse errors)."""
    flags = Flags()
    for line in changes or []:
        if not line.strip():
            continue
        word = line.strip().split(None, 1)[0]
        if word.upper() not in CHANGE_COMMANDS:
            raise InvalidParameter(f"{word} is not a valid change command")
        try:
            df = parse(line, "change")
            for node in df.nodes:
                if node.keyword not in CHANGE_COMMANDS:
                    raise InvalidParameter(f"{node.keyword} is not a valid change command")
                instr = parse_node(node, df.escape)
                assert isinstance(instr, Instruction)
                apply(cfg, instr, env_map(cfg), Lex(df.escape), flags)
        except DockerfileError as exc:
            raise InvalidParameter(f"dockerfile parse error in change {line!r}: {exc.message}") from None
        except ShellError as exc:
            raise InvalidParameter(str(exc)) from None
        except ValueError as exc:
            if isinstance(exc, InvalidParameter):
                raise
            raise InvalidParameter(str(exc)) from None
    return cfg


__all__ = ["CHANGE_COMMANDS", "DEFAULT_SHELL", "Flags", "apply", "apply_changes", "env_map", "port_specs",
           "set_env", "workdir"]
