"""``docker top``: the host's ``ps`` output, restricted to a container's processes.

As moby's ``ContainerTop``: the container's PIDs come from the runtime (``runc
ps``); ``ps`` runs on the host with the caller's arguments (default ``-ef``) plus
``-q<pids>`` (retried without it, as some options such as ``f`` reject ``-q``);
the rows whose PID column is one of the container's are kept, together with the
thread rows (PID ``-``) that follow a kept row (``ps -m``).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from .records import Container
from ...rules.errors import Conflict, EngineError, InvalidParameter
from ..runtime.runc import Runtime

# moby's check: "pid=PID" reorders columns harmlessly, any other "x=PID..." would
# rename the PID column and defeat the filtering.
_PS_ARG_RE = re.compile(r"\s+([^\s]*)=\s*(PID[^\s]*)")


def validate_ps_args(ps_args: str) -> None:
    """Refuse ``ps`` arguments that rename the PID column (EngineError, moby's text)."""
    for key, value in _PS_ARG_RE.findall(ps_args):
        if key != "pid":
            raise EngineError(f'specifying "{key}={value}" is not allowed')


def fields_ascii(s: str) -> list[str]:
    """Split on ASCII whitespace only (Go ``strings.FieldsFunc`` as moby uses it)."""
    return [f for f in re.split(r"[\t\n\f\r ]+", s) if f]


def ps_pids_arg(pids: list[int]) -> str:
    """``-q1,2,3``: ps' option selecting those PIDs."""
    return "-q" + ",".join(str(p) for p in pids)


def parse_ps_output(output: str, pids: list[int]) -> dict[str, Any]:
    """``{"Titles": [...], "Processes": [[...], ...]}`` from ps output.

    Rows are split on whitespace; the fields past the last title are joined into
    the last column (the command line). Raises EngineError when there is no PID
    column or a PID is not a number.
    """
    lines = output.split("\n")
    titles = fields_ascii(lines[0]) if lines else []
    try:
        pid_index = titles.index("PID")
    except ValueError:
        raise EngineError("Couldn't find PID field in ps output") from None
    wanted = set(pids)
    processes: list[list[str]] = []
    last_kept = False

    def append(fields: list[str]) -> None:
        n = len(titles)
        processes.append(fields[:n - 1] + [" ".join(fields[n - 1:])])

    for line in lines[1:]:
        if not line:
            continue
        fields = fields_ascii(line)
        if len(fields) <= pid_index:
            continue
        if fields[pid_index] == "-":
            if last_kept:
                append(fields)
            continue
        try:
            pid = int(fields[pid_index])
        except ValueError:
            raise EngineError(f"Unexpected pid '{fields[pid_index]}': strconv.Atoi: parsing "
                              f"\"{fields[pid_index]}\": invalid syntax") from None
        last_kept = pid in wanted
        if last_kept:
            append(fields)
    return {"Titles": titles, "Processes": processes}


async def _ps(args: list[str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec("ps", *args, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


async def top(runtime: Runtime, c: Container, ps_args: str = "") -> dict[str, Any]:
    """The processes of running container ``c`` as ``ps ps_args`` shows them.

    Raises Conflict when the container is not running or is restarting, and
    EngineError for refused arguments or a failing ``ps``.
    """
    ps_args = ps_args or "-ef"
    validate_ps_args(ps_args)
    if not c.running:
        raise Conflict(f"Container {c.id} is not running")
    if c.state.get("Restarting"):
        raise Conflict(f"Container {c.id} is restarting, wait until the container is running")
    pids = [int(p) for p in await runtime.pids(c.id)]
    # moby splits on single spaces (not a shell): empty arguments are passed as is.
    args = ps_args.split(" ")
    rc, out, err = await _ps(args + [ps_pids_arg(pids)])
    if rc != 0:
        rc, out, err = await _ps(args)
        if rc != 0:
            first = err.split("\n", 1)[0].strip()
            # ps refusing the caller's arguments is their mistake (400), not ours.
            raise (InvalidParameter if ps_args else EngineError)(f"ps: {first or f'exit status {rc}'}")
    try:
        return parse_ps_output(out, pids)
    except EngineError as exc:
        if ps_args and not isinstance(exc, InvalidParameter):
            raise InvalidParameter(str(exc)) from None
        raise
