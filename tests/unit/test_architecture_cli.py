"""The client side's floor: what ``baleine.cli`` and ``baleine.compose`` may import.

Parsed with ``ast`` (nothing is imported), every ``import``/``from`` statement at
any depth, lazy imports included:

- compose imports nothing from ``baleine.cli`` (compose is a client library);
- the CLI imports only ``baleine.client``, ``baleine.rules``, ``baleine.gotemplate``,
  ``baleine.filesystem`` (the local tar codec of ``cp``), ``baleine.compose``, itself, the package root (``__version__``, ``API_VERSION``),
  and standard-library or third-party modules other than aiohttp. The daemon and
  the registry server are reached through the command table's strings.

A violation is reported as ``file:line: module``.

Exceptions would be listed in ``KNOWN_EXCEPTIONS`` with their reason; the test fails
as soon as one is no longer needed, so the list cannot rot.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "baleine"

CLI_ALLOWED = ("baleine.client", "baleine.rules", "baleine.gotemplate", "baleine.filesystem", "baleine.compose",
               "baleine.kubegen", "baleine.cli")
FORBIDDEN_THIRD_PARTY = ("aiohttp",)

# (file, imported module) -> why.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of a (possibly relative) import target."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file; ``from X import a, b``
    yields ``X.a`` and ``X.b`` (a name may be a submodule)."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            found.extend((node.lineno, f"{base}.{alias.name}" if base else alias.name) for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def cli_violation(name: str) -> bool:
    """Whether the CLI may not import ``name``."""
    if _within(name, "baleine"):
        if name.count(".") == 1 and name.split(".")[1] in ("__version__", "API_VERSION"):
            return False  # the package root's constants
        return not any(_within(name, allowed) for allowed in CLI_ALLOWED)
    return any(_within(name, bad) for bad in FORBIDDEN_THIRD_PARTY)


def compose_violation(name: str) -> bool:
    """Whether compose may not import ``name``."""
    return _within(name, "baleine.cli") or any(_within(name, bad) for bad in FORBIDDEN_THIRD_PARTY)


def violations(folder: str, is_violation: Callable[[str], bool], known: dict[tuple[str, str], str] | None = None,
               used: set[tuple[str, str]] | None = None) -> list[str]:
    """``file:line: module`` for each import ``is_violation`` refuses, except the
    ``known`` ones (recorded in ``used`` when met)."""
    out = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, name in imports_of(path):
            if not is_violation(name):
                continue
            if known and (rel, name) in known:
                if used is not None:
                    used.add((rel, name))
                continue
            out.append(f"{rel}:{line}: {name}")
    return out


def test_compose_does_not_import_the_cli() -> None:
    assert violations("compose", compose_violation) == []


def test_cli_imports_only_the_client_side() -> None:
    used: set[tuple[str, str]] = set()
    assert violations("cli", cli_violation, KNOWN_EXCEPTIONS, used) == []
    assert used == set(KNOWN_EXCEPTIONS), "a known exception is gone: remove it from KNOWN_EXCEPTIONS"


def test_the_command_table_reaches_servers_by_name() -> None:
    """The daemon and registry entry points exist where the table says."""
    import importlib

    from baleine.cli.main import COMMANDS

    external = {module: func for module, func in COMMANDS.values() if "." in module}
    assert "baleine.daemon.command" in external and "baleine.distribution.server.command" in external
    for module, func in COMMANDS.values():
        spec = importlib.util.find_spec(module if "." in module else f"baleine.cli.{module}")
        assert spec is not None and spec.origin, module
        assert f"def {func}(" in Path(spec.origin).read_text(encoding="utf-8"), (module, func)


# -- the checker itself: it must be able to fail ---------------------------------------


def test_checker_reports_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "baleine" / "cli"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text("import json\n\n\ndef f():\n    from ..engine.images import layers\n"
                                "    from .. import __version__\n    import aiohttp.web\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "PACKAGE", tmp_path / "baleine")
    assert violations("cli", cli_violation) == ["baleine/cli/bad.py:5: baleine.engine.images.layers",
                                                "baleine/cli/bad.py:7: aiohttp.web"]


def test_relative_imports_resolve() -> None:
    assert _resolve("baleine.cli.containers", False, 1, "context") == "baleine.cli.context"
    assert _resolve("baleine.cli.containers", False, 2, "client") == "baleine.client"
    assert _resolve("baleine.cli", True, 1, "main") == "baleine.cli.main"
    assert _resolve("baleine.compose.runner", False, 2, None) == "baleine"
    assert compose_violation("baleine.cli.distribution.pull_headers")
    assert not compose_violation("baleine.client.auth.pull_headers")
    assert cli_violation("baleine.distribution.server.serve.run")
    assert not cli_violation("baleine.gotemplate.compile")
