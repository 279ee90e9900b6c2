"""docker/cli's command-line usage: the commands' flag parser and docker's usage
errors (missing positional arguments: cobra's ``required.go``, exit 1; unparsable
flag values: pflag, exit 125), Go's spelling of syscall errors, and the daemon's
error prefix.

``Parser`` is the parser every command declares its flags on, with argparse's
``add_argument``/``parse_args``. Importing argparse (with ``re``, ``gettext``)
costs more than the rest of a command's start-up, and the everyday command lines
are simple, so ``Parser`` only records the declarations and parses the common
cases itself: known flags (``-x``, ``--xx``, ``--xx=v``, ``-xv``, clusters of
single-letter switches like ``-it``), then one contiguous run of positional
arguments. The contract: whenever it returns, it returns what argparse would have
returned for that command line; anything else (``--help``, ``-h``, an unknown or
abbreviated flag, a missing or surplus argument, a value argparse would reject or
treat specially, an unsupported declaration) is handed to the argparse parser built
from the same declarations (``Parser.argparser()``, of the class ``_argparser_class``
defines on first use: docker's help layout and messages), so
help, errors and exit codes are argparse's, byte for byte. Any other attribute of
a ``Parser`` (``error``, ``format_help``, groups...) also goes to that parser.
"""

from __future__ import annotations

# Annotations only (the CLI's start-up time matters: typing is not imported at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any, NoReturn

    from ..client import APIError
    from .context import CLIError

# argparse's values for these constants (argparse.SUPPRESS, argparse.REMAINDER),
# so that declarations need not import it.
SUPPRESS = "==SUPPRESS=="
REMAINDER = "..."

# The actions the fast path knows, as argparse spells them in add_argument(action=...).
_SWITCHES = ("store_true", "store_false", "store_const", "count")
_KNOWN_ACTIONS = (None, "store", "append", *_SWITCHES)
_KNOWN_KEYWORDS = frozenset(("action", "default", "help", "metavar", "dest", "type", "nargs", "const",
                             "choices", "required"))


class _Fallback(Exception):
    """The fast path does not decide this command line: argparse does."""


class Namespace:
    """argparse.Namespace's behaviour (attributes, ``vars()``, equality, ``in``, repr)."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"Namespace({args})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Namespace):
            return NotImplemented
        return vars(self) == vars(other)

    def __contains__(self, key: str) -> bool:
        return key in self.__dict__


class _Spec:
    """One ``add_argument`` declaration, as the fast path needs it."""

    __slots__ = ("flags", "action", "dest", "default", "type", "nargs", "const", "choices", "required")

    def __init__(self, flags: tuple[str, ...], kw: dict[str, Any]) -> None:
        self.flags = flags
        self.action = kw.get("action")
        self.nargs = kw.get("nargs")
        self.type = kw.get("type")
        self.choices = kw.get("choices")
        self.required = kw.get("required", False)
        if self.action == "store_true":
            self.const, self.default = True, kw.get("default", False)
        elif self.action == "store_false":
            self.const, self.default = False, kw.get("default", True)
        else:
            self.const, self.default = kw.get("const"), kw.get("default")
        self.dest = kw.get("dest") or _dest(flags)

    @property
    def is_option(self) -> bool:
        return self.flags[0].startswith("-")

    @property
    def takes_value(self) -> bool:
        return self.action not in _SWITCHES


def _dest(flags: tuple[str, ...]) -> str:
    """argparse's default ``dest``: the first long flag, else the first one, dashes as underscores."""
    if not flags[0].startswith("-"):
        return flags[0]
    longs = [f for f in flags if f.startswith("--")]
    return (longs[0] if longs else flags[0]).lstrip("-").replace("-", "_")


def _supported(flags: tuple[str, ...], kw: dict[str, Any]) -> bool:
    """Whether the fast path can parse for this declaration exactly as argparse would."""
    if not flags or not set(kw) <= _KNOWN_KEYWORDS or kw.get("action") not in _KNOWN_ACTIONS:
        return False
    is_option = flags[0].startswith("-")
    if is_option:
        # Flags like -1 change how argparse reads negative numbers; options with nargs are rare
        # (docker's optional-value booleans, build's --rm[=false], are long flags storing a string).
        # Single-dash flags of several letters change how argparse splits -abc.
        if kw.get("nargs") == "?":
            return all(f.startswith("--") for f in flags) and kw.get("action") in (None, "store") and \
                kw.get("type") is None and kw.get("choices") is None
        return kw.get("nargs") is None and all(
            f.startswith("--") or (len(f) == 2 and f[0] == "-" and f[1] not in "-0123456789") for f in flags)
    return len(flags) == 1 and kw.get("action") in (None, "store") and not kw.get("required") and \
        kw.get("nargs") in (None, "?", "*", "+", REMAINDER) and not kw.get("choices") and "dest" not in kw


class Parser:
    """argparse's ``ArgumentParser`` as the commands use it, with docker's messages and
    exit codes; parses the common command lines without importing argparse (see the
    module's docstring for the contract)."""

    def __init__(self, command: str, usage: str, description: str = "", **kw: Any) -> None:
        self.command = command
        self._init = (command, usage, description, kw)
        self._declared: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self._specs: list[_Spec] = []
        self._fast = not kw
        self._real: argparse.ArgumentParser | None = None

    def add_argument(self, *flags: str, **kw: Any) -> Any:  # noqa: ANN401 - argparse.Action when delegated
        """Declare a flag or positional argument, as argparse's ``add_argument``."""
        if self._real is not None:
            return self._real.add_argument(*flags, **kw)
        self._declared.append((flags, kw))
        if self._fast and _supported(flags, kw):
            self._specs.append(_Spec(flags, kw))
        else:
            self._fast = False
        return None

    def parse_args(self, args: list[str] | None = None, namespace: Any = None) -> Any:  # noqa: ANN401
        """argparse's ``parse_args`` (a Namespace; ``CLIError`` for help and errors)."""
        if self._fast and args is not None and namespace is None and self._real is None:
            try:
                return self._parse(list(args))
            except _Fallback:
                pass
        return self.argparser().parse_args(args, namespace)

    def argparser(self) -> argparse.ArgumentParser:
        """The argparse parser of the same declarations (built once; later declarations go to it)."""
        if self._real is None:
            command, usage, description, kw = self._init
            real = _argparser_class()(command, usage, description, **kw)
            for flags, kwargs in self._declared:
                real.add_argument(*flags, **kwargs)
            self._real = real
        return self._real

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        # Only reached for what this class does not define: argparse's own API.
        if name.startswith("__") or name in ("_init", "_declared", "_specs", "_fast", "_real"):
            raise AttributeError(name)
        return getattr(self.argparser(), name)

    def _parse(self, argv: list[str]) -> Namespace:
        """The fast path: argparse's result, or ``_Fallback``."""
        options: dict[str, _Spec] = {}
        positionals: list[_Spec] = []
        for spec in self._specs:
            if spec.is_option:
                for flag in spec.flags:
                    options[flag] = spec
            else:
                positionals.append(spec)
        if "--help" in options:
            raise _Fallback  # argparse refuses the declaration: let it say so
        ns = Namespace()
        for spec in self._specs:
            if spec.dest not in ns and spec.default != SUPPRESS:
                setattr(ns, spec.dest, spec.default)
        seen: set[str] = set()
        run: list[str] = []  # the positional arguments
        run_ended = False
        i = 0
        while i < len(argv):
            arg = argv[i]
            if _is_positional(arg):
                if run_ended:
                    raise _Fallback  # positionals around options: argparse's rules are subtle there
                run.append(arg)
                if positionals and positionals[-1].nargs == REMAINDER and len(run) >= _before_remainder(positionals):
                    if "--" in argv[i + 1:] or any(_ambiguous(a, options) for a in argv[i + 1:]):
                        raise _Fallback  # argparse drops some "--" there, and reads every flag-like word
                    run.extend(argv[i + 1:])  # the remainder takes everything after, flags included
                    break
                i += 1
                continue
            if run:
                run_ended = True
            i = self._option(arg, argv, i, options, ns, seen)
        self._assign(positionals, run, ns)
        for spec in self._specs:
            if spec.is_option and spec.required and spec.dest not in seen:
                raise _Fallback
            if spec.dest not in seen and isinstance(spec.default, str) and spec.type is not None:
                raise _Fallback  # argparse converts string defaults through type
        return ns

    def _option(self, arg: str, argv: list[str], i: int, options: dict[str, _Spec], ns: Namespace,
                seen: set[str]) -> int:
        """Apply the flag at ``argv[i]``; the index of the next argument."""
        if arg == "--" or arg.startswith("---"):
            raise _Fallback
        spec = options.get(arg)
        if spec is not None:
            if spec.nargs == "?":  # --rm alone: the const, when no value can follow
                if i + 1 < len(argv) and not _is_flag(argv[i + 1], options):
                    raise _Fallback  # argparse would take the next word as the value
                if spec.dest == SUPPRESS:
                    raise _Fallback
                seen.add(spec.dest)
                setattr(ns, spec.dest, spec.const)
                return i + 1
            if not spec.takes_value:
                _store(spec, None, ns, seen)
                return i + 1
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                raise _Fallback  # missing value, or one argparse reads as a flag or a negative number
            _store(spec, argv[i + 1], ns, seen)
            return i + 2
        if arg.startswith("--"):
            flag, eq, value = arg.partition("=")
            spec = options.get(flag)
            if not eq or spec is None or not spec.takes_value:
                raise _Fallback  # unknown, abbreviated, or a switch given a value
            _store(spec, value, ns, seen)
            return i + 1
        if "=" in arg:
            raise _Fallback
        # -xVALUE, or a cluster of one-letter switches ending maybe with one that takes a value.
        for k in range(1, len(arg)):
            spec = options.get("-" + arg[k])
            if spec is None:
                raise _Fallback
            if spec.takes_value:
                rest = arg[k + 1:]
                if not rest:
                    if k > 1 or i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                        raise _Fallback
                    _store(spec, argv[i + 1], ns, seen)
                    return i + 2
                _store(spec, rest, ns, seen)
                return i + 1
            _store(spec, None, ns, seen)
        return i + 1

    @staticmethod
    def _assign(positionals: list[_Spec], run: list[str], ns: Namespace) -> None:
        """Give the run of positional arguments to the positional declarations, as
        argparse's greedy match does; ``_Fallback`` when it would not match exactly."""
        rest = list(run)
        for n, spec in enumerate(positionals):
            last = n == len(positionals) - 1
            if spec.nargs is None:
                if not rest:
                    raise _Fallback  # argparse's "requires" error
                value: Any = _convert(spec, rest.pop(0))
            elif spec.nargs == "?":
                if not last:
                    raise _Fallback
                if not rest and isinstance(spec.default, str) and spec.type is not None:
                    raise _Fallback  # argparse converts a string default through type
                value = _convert(spec, rest.pop(0)) if rest else spec.default
            elif not last:
                raise _Fallback
            elif spec.nargs == REMAINDER:
                value, rest = [_convert(spec, v) for v in rest], []
            elif spec.nargs == "+" and not rest:
                raise _Fallback
            elif spec.nargs == "*" and not rest:
                value = spec.default if spec.default is not None else []
            else:
                value, rest = [_convert(spec, v) for v in rest], []
            if spec.dest != SUPPRESS:
                setattr(ns, spec.dest, value)
        if rest:
            raise _Fallback  # argparse's "unrecognized arguments" error


def _is_positional(arg: str) -> bool:
    """Whether argparse reads ``arg`` as a positional argument for sure (not a flag,
    not a negative number, which depends on the declared flags)."""
    return not arg.startswith("-") or arg == "-"


def _is_flag(arg: str, options: dict[str, _Spec]) -> bool:
    """Whether argparse surely reads ``arg`` as one of the declared flags (so an
    optional value before it stays empty): the flag itself, or ``--flag=value``."""
    if arg in options:
        return True
    flag, eq, _ = arg.partition("=")
    return bool(eq) and flag.startswith("--") and flag in options


def _ambiguous(arg: str, options: dict[str, _Spec]) -> bool:
    """Whether argparse could find ``arg`` an ambiguous abbreviation, an error even in
    a remainder (it reads every word before matching positionals); errs on the safe side."""
    if not arg.startswith("-") or arg == "-" or arg in options:
        return False
    flags = [*options, "--help", "-h"]
    prefix = arg.split("=", 1)[0] if arg.startswith("--") else arg
    return sum(1 for f in flags if f.startswith(prefix) or (not arg.startswith("--") and f == arg[:2])) > 1


def _before_remainder(positionals: list[_Spec]) -> int:
    """How many positional arguments come before a trailing REMAINDER one (all are
    plain single ones, as ``_assign`` checks) — the point where the remainder starts."""
    return len(positionals) - 1


def _convert(spec: _Spec, value: str) -> Any:  # noqa: ANN401
    """argparse's type conversion and choices check; ``_Fallback`` for its errors."""
    if spec.type is not None:
        try:
            value = spec.type(value)
        except Exception:  # noqa: BLE001 - argparse reports it (or the type's own error)
            raise _Fallback from None
    if spec.choices is not None and value not in spec.choices:
        raise _Fallback
    return value


def _store(spec: _Spec, value: str | None, ns: Namespace, seen: set[str]) -> None:
    """What argparse's action does with one occurrence of a flag."""
    seen.add(spec.dest)
    if spec.dest == SUPPRESS:
        raise _Fallback
    action = spec.action
    if action in ("store_true", "store_false", "store_const"):
        setattr(ns, spec.dest, spec.const)
    elif action == "count":
        setattr(ns, spec.dest, (getattr(ns, spec.dest, None) or 0) + 1)
    elif action == "append":
        items = getattr(ns, spec.dest, None)
        items = [] if items is None else list(items)  # argparse copies the default
        items.append(_convert(spec, value))
        setattr(ns, spec.dest, items)
    else:
        setattr(ns, spec.dest, _convert(spec, value))


_ARGPARSER: type | None = None


def _argparser_class() -> type:
    """The argparse parser class with docker's messages, exit codes (125 for bad flags)
    and help layout; defined on first use so that argparse is imported only then."""
    global _ARGPARSER
    if _ARGPARSER is not None:
        return _ARGPARSER
    import argparse
    import sys

    from .context import CLIError

    class DockerArgParser(argparse.ArgumentParser):
        """argparse with docker's messages and exit code (125) for bad flags."""

        def __init__(self, command: str, usage: str, description: str = "", **kw: Any) -> None:
            super().__init__(prog=f"baleine {command}", usage=f"baleine {command} {usage}".rstrip(),
                             description=description, add_help=False, **kw)
            self.command = command
            self.add_argument("--help", action="help", help="Print usage")

        def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
            # Like docker, -h means --help unless the command gives it a meaning (run -h HOSTNAME).
            if "-h" not in self._option_string_actions:
                self.add_argument("-h", action="help", help=argparse.SUPPRESS)
            return super().parse_args(args, namespace)

        def error(self, message: str) -> NoReturn:
            """docker 28's messages: a missing argument exits 1, a bad flag 125."""
            usage = f"\n\nUsage:  {self.usage}\n\n"
            if "the following arguments are required" in message:
                required = sum(1 for a in self._actions if not a.option_strings and a.nargs in (None, "+"))
                noun = "argument" if required == 1 else "arguments"
                raise CLIError(f"baleine: 'baleine {self.command}' requires at least {required} {noun}{usage}"
                               f"See 'baleine {self.command} --help' for more information", 1)
            if "unrecognized arguments" in message:
                words = message.split(":", 1)[1].split()
                flag = words[0] if words else ""  # an empty argument ("") is not a flag either
                if not flag.startswith("-"):
                    raise CLIError(f"baleine: 'baleine {self.command}' accepts no arguments{usage}"
                                   f"See 'baleine {self.command} --help' for more information", 1)
                message = f"unknown flag: {flag}"
            elif "expected one argument" in message:
                flag = message.split(":", 1)[0].replace("argument ", "").split("/")[-1]
                message = f"flag needs an argument: {flag}"
            elif "invalid choice" in message or "invalid int value" in message:
                message = message.replace("argument ", "invalid argument for ")
            raise CLIError(f"{message}{usage}Run 'baleine {self.command} --help' for more information", 125)

        def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
            raise CLIError((message or "").rstrip(), status)

        def print_help(self, file: Any = None) -> None:  # noqa: ANN401
            sys.stdout.write(self.format_help())

        def format_help(self) -> str:
            """Help laid out as docker's (Usage, description, Options with value types)."""
            rows = []
            for action in self._actions:
                if not action.option_strings or action.help == argparse.SUPPRESS:
                    continue
                shorts = [o for o in action.option_strings if not o.startswith("--")]
                longs = [o for o in action.option_strings if o.startswith("--")]
                flag = (f"{shorts[0]}, " if shorts else "    ") + (longs[0] if longs else "")
                if action.nargs == 0:
                    kind = ""
                elif isinstance(action, argparse._AppendAction):
                    kind = "list"
                elif action.type is int:
                    kind = "int"
                else:
                    kind = "string"
                rows.append((f"  {flag} {kind}".rstrip(), action.help or ""))
            width = max((len(left) for left, _ in rows), default=0) + 3
            out = [f"\nUsage:  {self.usage}\n"]
            if self.description:
                out.append(f"\n{self.description}\n")
            if rows:
                out.append("\nOptions:\n")
                out.extend(f"{left.ljust(width)}{text}\n" for left, text in rows)
            return "".join(out)

    _ARGPARSER = DockerArgParser
    return _ARGPARSER


def args_error(command: str, usage: str, what: str, run_or_see: str = "Run") -> CLIError:
    """docker/cli's positional-argument errors (cli/required.go), exit status 1."""
    from .context import CLIError

    return CLIError(f"baleine: 'baleine {command}' requires {what}\n\nUsage:  baleine {command} {usage}\n\n"
                    f"{run_or_see} 'baleine {command} --help' for more information", 1)


def flag_error(command: str, flag: str, value: str, err: object) -> CLIError:
    """pflag's error for a flag value it cannot parse (exit status 125)."""
    from .context import CLIError

    return CLIError(f'invalid argument "{value}" for "{flag}" flag: {err}\nSee \'baleine {command} --help\'.', 125)


def go_errno(err: OSError) -> str:
    """An OSError's text as Go prints syscall errors ("no such file or directory")."""
    text = err.strerror or str(err)
    return text[:1].lower() + text[1:]


def api_message(exc: APIError) -> str:
    return f"Error response from daemon: {exc.message}"
