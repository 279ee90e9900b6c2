"""docker/cli's usage errors, shared by the container commands: missing positional
arguments (cobra's ``required.go``, exit 1), unparsable flag values (pflag, exit
125), Go's spelling of syscall errors, and the daemon's error prefix."""

from __future__ import annotations

from ..client import APIError
from .context import CLIError


def args_error(command: str, usage: str, what: str, run_or_see: str = "Run") -> CLIError:
    """docker/cli's positional-argument errors (cli/required.go), exit status 1."""
    return CLIError(f"baleine: 'baleine {command}' requires {what}\n\nUsage:  baleine {command} {usage}\n\n"
                    f"{run_or_see} 'baleine {command} --help' for more information", 1)


def flag_error(command: str, flag: str, value: str, err: object) -> CLIError:
    """pflag's error for a flag value it cannot parse (exit status 125)."""
    return CLIError(f'invalid argument "{value}" for "{flag}" flag: {err}\nSee \'baleine {command} --help\'.', 125)


def go_errno(err: OSError) -> str:
    """An OSError's text as Go prints syscall errors ("no such file or directory")."""
    text = err.strerror or str(err)
    return text[:1].lower() + text[1:]


def api_message(exc: APIError) -> str:
    return f"Error response from daemon: {exc.message}"
