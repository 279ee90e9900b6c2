"""Variable interpolation in compose files, as compose-go's ``template`` package does it.

Forms: ``$VAR``, ``${VAR}``, ``${VAR:-default}`` (unset or empty), ``${VAR-default}``
(unset), ``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alternative}`` (set and not
empty), ``${VAR+alternative}`` (set), ``$$`` (a literal ``$``). Defaults, errors and
alternatives are themselves interpolated, only when used, so ``${A:-${B:-x}}`` nests.
A ``$`` followed by anything else is kept as is; ``${`` followed by something that is
not a name and an operator is an error ("invalid interpolation format").

Unset variables without a default become empty strings and are reported through
``warn`` (docker compose prints "The "X" variable is not set. Defaulting to a blank
string.").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ComposeError, format_path
from .yamlfile import Override, Reset

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")

Lookup = Callable[[str], "str | None"]


class InterpolationError(ValueError):
    """A template that cannot be expanded; the message says why."""


def _invalid(template: str) -> str:
    return f"invalid interpolation format: {template!r} (you may need to escape any $ with another $)"


def _closing_brace(s: str, start: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``start``, or -1 (nested braces counted)."""
    depth = 0
    i = start
    while i < len(s):
        c = s[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def substitute(template: str, lookup: Lookup, warn: Callable[[str], None] | None = None) -> str:
    """Expand ``template``; ``lookup(name)`` returns the value or None when unset.

    Raises InterpolationError for malformed templates and for ``:?``/``?`` on a
    missing variable (message: ``required variable X is missing a value: error``).
    """
    if "$" not in template:
        return template
    out: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        c = template[i]
        if c != "$":
            j = template.find("$", i)
            if j < 0:
                out.append(template[i:])
                break
            out.append(template[i:j])
            i = j
            continue
        if i + 1 >= n:
            out.append("$")
            break
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = _closing_brace(template, i + 1)
            if end < 0:
                raise InterpolationError(_invalid(template))
            out.append(_braced(template[i + 2:end], template, lookup, warn))
            i = end + 1
            continue
        m = _NAME.match(template, i + 1)
        if m:
            value = lookup(m.group())
            if value is None:
                if warn:
                    warn(m.group())
                value = ""
            out.append(value)
            i = m.end()
            continue
        out.append("$")
        i += 1
    return "".join(out)


def _braced(body: str, template: str, lookup: Lookup, warn: Callable[[str], None] | None) -> str:
    m = _NAME.match(body)
    if not m:
        raise InterpolationError(_invalid(template))
    name = m.group()
    rest = body[m.end():]
    value = lookup(name)
    if not rest:
        if value is None:
            if warn:
                warn(name)
            return ""
        return value
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if op is None:
        raise InterpolationError(_invalid(template))
    arg = rest[len(op):]

    def expand() -> str:
        return substitute(arg, lookup, warn)

    if op == ":-":
        return expand() if not value else value
    if op == "-":
        return expand() if value is None else value
    if op in (":?", "?"):
        missing = value is None or (op == ":?" and value == "")
        if missing:
            message = expand()
            raise InterpolationError(f"required variable {name} is missing a value"
                                     + (f": {message}" if message else ""))
        return value or ""
    if op == ":+":
        return expand() if value else ""
    # "+"
    return expand() if value is not None else ""


def interpolate(data: Any, env: Mapping[str, str], file: str | None = None,
                warn: Callable[[str], None] | None = None) -> Any:
    """Every string value of ``data`` expanded with ``env`` (mapping keys are not).

    Returns a new tree; ``!override`` wrappers are kept around their expanded value.
    Raises ComposeError naming ``file`` and the path of the value that failed.
    Values at paths that expect numbers or booleans (``services.*.deploy.replicas``,
    ``services.*.read_only``…) are converted when they were strings made by a
    substitution, as compose-go does.
    """
    def lookup(name: str) -> str | None:
        return env.get(name)

    def walk(value: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(value, Override):
            return Override(walk(value.value, path))
        if isinstance(value, Reset):
            return value
        if isinstance(value, dict):
            return {k: walk(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, str):
            try:
                result = substitute(value, lookup, warn)
            except InterpolationError as exc:
                raise ComposeError(str(exc), file, format_path(path)) from None
            if result is not value and "$" in value:
                return _cast(result, path)
            return result
        return value

    return walk(data, ())


# Paths (with * for any key and [] for any index) whose values are not strings.
_BOOL_PATHS = {
    "services.*.attach", "services.*.build.no_cache", "services.*.build.privileged", "services.*.build.pull",
    "services.*.deploy.rollback_config.max_failure_ratio", "services.*.depends_on.*.required",
    "services.*.depends_on.*.restart", "services.*.init", "services.*.oom_kill_disable",
    "services.*.privileged", "services.*.read_only", "services.*.stdin_open", "services.*.tty",
    "services.*.healthcheck.disable", "services.*.volumes[].read_only", "services.*.volumes[].volume.nocopy",
    "services.*.volumes[].bind.create_host_path", "networks.*.external", "networks.*.internal",
    "networks.*.attachable", "networks.*.enable_ipv6", "networks.*.enable_ipv4", "volumes.*.external",
    "secrets.*.external", "configs.*.external", "include[].required", "services.*.env_file[].required",
}
_INT_PATHS = {
    "services.*.cpu_count", "services.*.cpu_percent", "services.*.cpu_period", "services.*.cpu_quota",
    "services.*.cpu_rt_period", "services.*.cpu_rt_runtime", "services.*.cpu_shares",
    "services.*.deploy.replicas", "services.*.scale", "services.*.healthcheck.retries",
    "services.*.mem_swappiness", "services.*.oom_score_adj", "services.*.pids_limit",
    "services.*.ports[].target", "services.*.ulimits.*", "services.*.ulimits.*.hard",
    "services.*.ulimits.*.soft", "services.*.deploy.resources.limits.pids",
    "services.*.networks.*.priority", "services.*.networks.*.gw_priority", "services.*.blkio_config.weight",
}
_FLOAT_PATHS = {"services.*.cpus", "services.*.deploy.resources.limits.cpus",
                "services.*.deploy.resources.reservations.cpus"}


def _pattern(path: tuple[Any, ...]) -> list[str]:
    """The patterns a concrete path matches: each key may stand as itself or ``*``."""
    patterns = [""]
    for p in path:
        if isinstance(p, int):
            patterns = [x + "[]" for x in patterns]
        else:
            patterns = [x + ("." if x else "") + s for x in patterns for s in (str(p), "*")]
    return patterns


def _cast(value: str, path: tuple[Any, ...]) -> Any:
    patterns = _pattern(path)
    if any(p in _BOOL_PATHS for p in patterns):
        low = value.lower()
        if low in ("true", "yes", "y", "on", "1"):
            return True
        if low in ("false", "no", "n", "off", "0", ""):
            return False
        return value
    if any(p in _INT_PATHS for p in patterns):
        try:
            return int(value)
        except ValueError:
            return value
    if any(p in _FLOAT_PATHS for p in patterns):
        try:
            return float(value)
        except ValueError:
            return value
    return value
