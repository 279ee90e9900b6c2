"""One owner per SQLite table: no module outside a table's owner names it in SQL.

The tables are those of every ``CREATE TABLE`` in the package, so a new table is
covered as soon as it exists: its owner is the module declaring it, unless
``OWNERS`` says otherwise (the tables whose schema sits in ``engine/store.py``).
SQL is found in string literals (f-strings included; docstrings are prose, skipped).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "baleine"

#: Tables declared in one module (the shared schema) but owned by another.
OWNERS = {
    "images": "engine/images/records.py",
    "tags": "engine/images/records.py",
    "digests": "engine/images/records.py",
    "layers": "engine/images/snapshots.py",
    "containers": "engine/containers/records.py",
}

_CREATE = re.compile(r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)")
_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b")
_NAMED = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN|TABLE(?:\s+IF\s+NOT\s+EXISTS)?|ON|REFERENCES)\s+(\w+)")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (module, class, function)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def sql_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal that looks like SQL."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in skip or id(node) in inside_fstrings:
                continue
            text = node.value
        else:
            continue
        if _SQL.search(text):
            out.append((node.lineno, text))
    return out


def declared_tables(modules: dict[str, str]) -> dict[str, str]:
    """table → owning module (relative path), from the CREATE TABLE statements."""
    tables: dict[str, str] = {}
    for rel, source in modules.items():
        for _, text in sql_strings(source):
            for name in _CREATE.findall(text):
                tables[name] = OWNERS.get(name, rel)
    return tables


def violations(modules: dict[str, str]) -> list[str]:
    """"file:line: table" for each SQL naming a table outside its owner (and its declaring module)."""
    tables = declared_tables(modules)
    declaring = {name: rel for rel, source in modules.items()
                 for _, text in sql_strings(source) for name in _CREATE.findall(text)}
    out = []
    for rel, source in sorted(modules.items()):
        for line, text in sql_strings(source):
            for name in sorted(set(_NAMED.findall(text)) & set(tables)):
                if rel not in (tables[name], declaring[name]):
                    out.append(f"baleine/{rel}:{line}: names table {name!r} (owner: baleine/{tables[name]})")
    return out


def _package_sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE)): p.read_text() for p in PACKAGE.rglob("*.py")}


def test_every_table_is_named_only_by_its_owner() -> None:
    found = violations(_package_sources())
    assert not found, "SQL outside the table's owner:\n" + "\n".join(found)


def test_the_known_tables_are_found() -> None:
    tables = declared_tables(_package_sources())
    assert {"images", "tags", "digests", "layers", "containers", "build_cache", "distribution_blobs",
            "networks", "volumes"} <= set(tables)
    assert tables["build_cache"] == "build/cache.py"
    assert tables["distribution_blobs"] == "distribution/metadata.py"


def test_a_query_outside_the_owner_is_reported_with_its_line() -> None:
    modules = {
        "owner.py": 'SCHEMA = "CREATE TABLE IF NOT EXISTS widgets (id TEXT)"\n',
        "other.py": '"""SELECT * FROM widgets is prose here."""\nx = 1\nrows = q(f"SELECT id FROM widgets WHERE id={x}")\n',
        "fine.py": 'rows = q("SELECT 1")\n',
    }
    assert violations(modules) == ["baleine/other.py:3: names table 'widgets' (owner: baleine/owner.py)"]
