"""The ``baleine`` command's launcher: a four-line script in place of pip's console-script wrapper.

pip's wrapper starts the interpreter with ``site`` (which imports ``os`` and walks the
site directories, .pth files included) and imports ``re`` to clean ``argv[0]``: about a
third of ``baleine version``'s time. The launcher starts the interpreter isolated and
without ``site`` (``-IS``: no PYTHON* variables, no user site, no current directory on
``sys.path``) and appends to ``sys.path`` the directory holding the ``baleine`` package
(the venv's site-packages when installed, a checkout for benchmarks and tests), then the
interpreter's own site-packages when that is another directory (the daemon, compose and
the Kubernetes commands need aiohttp, yaml, ...). ``.pth`` files are not read: nothing
the CLI or the daemon imports needs one (site-packages has setuptools' distutils shim only).

Contract of the written script: it runs :func:`baleine.cli.main.main` with the command
line (through ``run_and_exit``, which skips the interpreter's teardown after the everyday
commands), exits with its status, and leaves the environment to the CLI (``-I`` ignores only
the interpreter's own PYTHON* variables: ``BALEINE_*``, ``DOCKER_*`` and ``HOME`` are
read as with any launcher).

``install.sh`` writes it over the wrapper pip installed (``python -m baleine.cli.launcher
PATH``); ``pip install`` users keep pip's wrapper (``[project.scripts]``), which works
the same, only slower.
"""

from __future__ import annotations

import os
import sys


def package_parent() -> str:
    """The directory holding this ``baleine`` package (site-packages, or a checkout)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def path_entries(package_dir: str | None = None) -> list[str]:
    """What the launcher appends to ``sys.path``: ``package_dir`` (default: this
    package's), then this interpreter's site-packages (pure and platform) if not the same."""
    import sysconfig

    entries = [package_dir or package_parent()]
    paths = sysconfig.get_paths()
    for key in ("purelib", "platlib"):
        if paths[key] not in entries:
            entries.append(paths[key])
    return entries


def script(python: str, entries: list[str]) -> str:
    """The launcher's text: ``python`` (an absolute path, not resolved: a venv's python
    is a symlink whose name matters) run with ``-IS``, ``entries`` appended to ``sys.path``."""
    if not os.path.isabs(python) or any(c.isspace() for c in python):
        # A shebang line is split on whitespace by the kernel: only one argument fits.
        raise ValueError(f"the interpreter must be an absolute path without spaces: {python!r}")
    return (f"#!{python} -IS\n"
            "# Baleine's command, written by install.sh (python -m baleine.cli.launcher; see there).\n"
            "import sys\n"
            + "".join(f"sys.path.append({entry!r})\n" for entry in entries)
            + "from baleine.cli.main import run_and_exit\n"
            "run_and_exit()\n")


def write(target: str, python: str, entries: list[str]) -> None:
    """Write the launcher to ``target`` (mode 0755) atomically: a command running it
    meanwhile sees the old file or the new one, never half of one."""
    tmp = f"{target}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(script(python, entries))
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)


def main(argv: list[str] | None = None) -> int:
    """``python -m baleine.cli.launcher TARGET [PYTHON]``: write the launcher of this
    package at TARGET, run by PYTHON (default: this interpreter, as invoked)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        print("usage: python -m baleine.cli.launcher TARGET [PYTHON]", file=sys.stderr)
        return 2
    python = args[1] if len(args) == 2 else sys.executable
    write(args[0], python, path_entries())
    return 0


if __name__ == "__main__":
    sys.exit(main())
