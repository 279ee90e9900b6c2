"""The ``baleine`` command install.sh writes (``baleine/cli/launcher.py``): the
interpreter isolated and without site (``-IS``), not pip's console-script wrapper.

The launcher is written into a temporary directory for the package the tests import
(the checkout under ``BALEINE_FROM_SOURCE``, site-packages otherwise) and run for real;
the installed one is checked too when the suite runs after ``install.sh --test``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baleine.cli import launcher

INSTALLED = Path(sys.executable).with_name("baleine")


@pytest.fixture
def command(tmp_path: Path) -> Path:
    """A launcher of the package under test, written the way install.sh writes it."""
    target = tmp_path / "bin" / "baleine-cli"  # not "baleine": a package of that name goes beside it
    target.parent.mkdir()
    assert launcher.main([str(target), sys.executable]) == 0
    return target


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # PYTHONPATH pointing nowhere: -I must ignore it (the launcher finds the package itself).
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": "/nonexistent",
            "BALEINE_HOST": f"unix://{tmp_path}/none.sock", **extra}


def test_the_script_runs_the_interpreter_isolated_without_site(command: Path) -> None:
    lines = command.read_text().splitlines()
    assert lines[0] == f"#!{sys.executable} -IS"
    entries = [line for line in lines if line.startswith("sys.path.append(")]
    # The package first (a checkout shadows an installed baleine), then the interpreter's packages.
    assert entries[0] == f"sys.path.append({launcher.package_parent()!r})", entries
    import sysconfig

    assert f"sys.path.append({sysconfig.get_paths()['purelib']!r})" in entries
    assert os.access(command, os.X_OK)
    assert not list(command.parent.glob("*.tmp*")), "the temporary file is renamed, not left"


def test_the_interpreter_must_fit_a_shebang_line() -> None:
    with pytest.raises(ValueError):
        launcher.script("python3", ["/x"])
    with pytest.raises(ValueError):
        launcher.script("/opt/my env/bin/python3", ["/x"])


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert launcher.main([]) == 2
    assert "usage:" in capsys.readouterr().err


def test_exit_codes_and_environment_pass_through(command: Path, tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = subprocess.run([str(command), "version", "--format", "{{.Client.Version}}"], env=env,
                         capture_output=True, text=True)
    # The client's half is printed, then the daemon's absence is an error (exit 1), as
    # docker does; the message names the socket of BALEINE_HOST: the variable was read.
    from baleine import __version__

    assert out.returncode == 1 and out.stdout == f"{__version__}\n", out
    assert "Cannot connect to the Baleine daemon" in out.stderr and f"{tmp_path}/none.sock" in out.stderr, out
    nosuch = subprocess.run([str(command), "nosuch"], env=env, capture_output=True, text=True)
    assert nosuch.returncode == 1 and "'nosuch' is not a baleine command" in nosuch.stderr
    assert subprocess.run([str(command), "--help"], env=env, capture_output=True).returncode == 0
    # docker's 125 for run's own errors comes through the launcher unchanged.
    bad = subprocess.run([str(command), "run", "--nosuch-flag", "busybox"], env=env, capture_output=True, text=True)
    assert bad.returncode == 125, bad


def test_isolated_from_pythonpath_and_the_script_directory(command: Path, tmp_path: Path) -> None:
    """-I: neither PYTHONPATH nor the launcher's own directory (the interpreter's usual
    ``sys.path[0]``) can put another ``baleine`` package ahead of the launcher's."""
    for where in (tmp_path / "elsewhere", command.parent):
        fake = where / "baleine"
        fake.mkdir(parents=True)
        (fake / "__init__.py").write_text("raise SystemExit(99)\n")
    env = _env(tmp_path, PYTHONPATH=str(tmp_path / "elsewhere"))
    out = subprocess.run([str(command), "--version"], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("Baleine version "), out


@pytest.mark.skipif(bool(os.environ.get("BALEINE_FROM_SOURCE")) or not INSTALLED.exists(),
                    reason="the tests run from a checkout, not from install.sh's layout")
def test_the_installed_command_is_the_lean_launcher(tmp_path: Path) -> None:
    first = INSTALLED.read_text().splitlines()[0]
    assert first == f"#!{Path(sys.executable).with_name('python3')} -IS", first
    env = _env(tmp_path)
    out = subprocess.run([str(INSTALLED), "version", "--format", "{{.Client.Version}}"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 1 and "Cannot connect to the Baleine daemon" in out.stderr, out
    assert subprocess.run([str(INSTALLED), "nosuch"], env=env, capture_output=True).returncode == 1
    assert subprocess.run([str(INSTALLED), "--help"], env=env, capture_output=True).returncode == 0
