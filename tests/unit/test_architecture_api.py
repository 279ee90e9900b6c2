"""The floor between the API and the engine (issue 12), checked on the source.

- ``baleine/api`` decodes, calls a backend, encodes: it opens no database
  (``sqlite3``), touches no store connection (``.store``, ``.db``, ``.query(``) and
  publishes no event (``events.publish``): backends do.
- ``baleine/engine`` knows nothing of HTTP or of its clients: no ``aiohttp``, nothing
  from ``baleine.api`` or ``baleine.cli``.
- The modules of ``baleine/api`` import each other without cycles.

Every violation is reported as ``file:line: what``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "baleine"


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, tree: ast.AST) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``, relative ones resolved;
    ``from pkg import name`` also yields ``pkg.name`` (it may be a module)."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return out


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def api_violations(path: Path) -> list[str]:
    """The API rules broken by one module, in line order."""
    tree = _parse(path)
    found = [(line, f"imports {name}") for line, name in _imports(path, tree)
             if name == "sqlite3" or name.startswith("sqlite3.")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("store", "db"):
            found.append((node.lineno, f"touches .{node.attr}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr == "query":
                found.append((node.lineno, "calls .query("))
            elif func.attr == "publish" and isinstance(func.value, ast.Attribute) and func.value.attr == "events":
                found.append((node.lineno, "publishes an event (events.publish)"))
    return [f"{_where(path, line)}: {what}" for line, what in sorted(found, key=lambda item: item[0])]


def engine_violations(path: Path) -> list[str]:
    """The engine rules broken by one module."""
    forbidden = ("aiohttp", "baleine.api", "baleine.cli")
    return [f"{_where(path, line)}: imports {name}" for line, name in _imports(path, _parse(path))
            if any(name == f or name.startswith(f + ".") for f in forbidden)]


def import_cycles(paths: list[Path]) -> list[list[str]]:
    """The import cycles among ``paths`` (each as the list of modules around it)."""
    names = {_module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {n: set() for n in names}
    for name, path in names.items():
        for _, imported in _imports(path, _parse(path)):
            if imported in names and imported != name:
                graph[name].add(imported)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_api_uses_backends_only() -> None:
    found = [v for p in _modules("api") for v in api_violations(p)]
    assert not found, "the API reaches past the backends:\n" + "\n".join(found)


def test_engine_knows_no_http_nor_clients() -> None:
    found = [v for p in _modules("engine") for v in engine_violations(p)]
    assert not found, "the engine depends on its clients:\n" + "\n".join(found)


def test_api_has_no_import_cycle() -> None:
    cycles = import_cycles(_modules("api"))
    assert not cycles, "import cycles in baleine/api:\n" + "\n".join(" -> ".join(c) for c in cycles)


# -- the checks themselves catch what they are meant to --------------------------------


def _write(tmp: Path, rel: str, text: str) -> Path:
    path = tmp / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def fake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    return tmp_path


def test_api_check_reports_file_and_line(fake_root: Path) -> None:
    path = _write(fake_root, "baleine/api/bad.py", "import sqlite3\n\n\ndef f(engine):\n"
                  "    engine.store.one('x')\n    engine.events.publish('container', 'x', '')\n"
                  "    return engine.images.query('x')\n")
    found = api_violations(path)
    assert found == ["baleine/api/bad.py:1: imports sqlite3", "baleine/api/bad.py:5: touches .store",
                     "baleine/api/bad.py:6: publishes an event (events.publish)",
                     "baleine/api/bad.py:7: calls .query("]


def test_engine_check_resolves_relative_imports(fake_root: Path) -> None:
    path = _write(fake_root, "baleine/engine/containers/bad.py",
                  "from ...api import requests\nfrom aiohttp import web\nfrom ..events import Events\n")
    assert engine_violations(path) == ["baleine/engine/containers/bad.py:1: imports baleine.api",
                                       "baleine/engine/containers/bad.py:1: imports baleine.api.requests",
                                       "baleine/engine/containers/bad.py:2: imports aiohttp",
                                       "baleine/engine/containers/bad.py:2: imports aiohttp.web"]


def test_cycle_check_finds_a_cycle(fake_root: Path) -> None:
    a = _write(fake_root, "baleine/api/a.py", "from .b import x\n")
    b = _write(fake_root, "baleine/api/b.py", "def f():\n    from . import a\n")
    c = _write(fake_root, "baleine/api/c.py", "from . import a\n")
    assert import_cycles([a, b, c]) == [["baleine.api.a", "baleine.api.b", "baleine.api.a"]]
