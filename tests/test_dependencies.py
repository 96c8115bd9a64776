"""The declared dependencies are the imported ones (issue 10, item 7): every third-party package
that core/ or tui/ imports is in ``[project].dependencies`` (or in an optional extra of
OPTIONAL_EXTRAS, which core imports only when that engine is used and names the extra when it
is missing), and nothing declared goes unused."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"core", "tui"}

# Declared but never imported by name: each is loaded by a declared package on our behalf, and
# the file named here is where we rely on it (the test checks the file still does).
RUNTIME_ONLY = {
    "pyarrow": ("core/ingest/readers.py", "pd.read_parquet("),  # pandas' Parquet engine
}


# extras core imports from, lazily: ClickHouse (chdb, clickhouse-connect; core/store/clickhouse.py
# says `pip install 'userops[clickhouse]'` when they are missing)
OPTIONAL_EXTRAS = ("clickhouse",)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_levels(*packages: str) -> dict[str, str]:
    """Top-level module -> the first file importing it, over every .py file of ``packages``
    (imports inside functions and ``if TYPE_CHECKING:`` count: they are imports all the same)."""
    found: dict[str, str] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def third_party_modules() -> dict[str, tuple[str, set[str]]]:
    """Top-level module -> (a file that imports it, the distributions (normalised) providing
    it: chdb's package is laid out by two, chdb and chdb-core, its engine)."""
    owners = importlib.metadata.packages_distributions()
    out: dict[str, tuple[str, set[str]]] = {}
    for module, where in imported_top_levels("core", "tui").items():
        if module in FIRST_PARTY or module in sys.stdlib_module_names:
            continue
        assert module in owners, f"{where} imports {module!r}, which no installed package provides"
        out[module] = (where, {normalise(dist) for dist in owners[module]})
    return out


def third_party_distributions() -> dict[str, str]:
    """Distribution (normalised) -> a file that imports it."""
    out: dict[str, str] = {}
    for where, dists in third_party_modules().values():
        for dist in sorted(dists):
            out.setdefault(dist, where)
    return out


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    specs = list(project["dependencies"])
    for extra in OPTIONAL_EXTRAS:
        specs += project["optional-dependencies"][extra]
    for spec in specs:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
        assert match, spec
        names.add(normalise(match.group()))
    return names


def test_every_imported_package_is_declared():
    names = declared()
    undeclared = {m: f for m, (f, dists) in third_party_modules().items() if not dists & names}
    assert undeclared == {}


def test_nothing_declared_goes_unused():
    used = set(third_party_distributions()) | set(RUNTIME_ONLY)
    assert sorted(declared() - used) == []


def test_runtime_only_dependencies_are_still_relied_on():
    for dist, (path, needle) in RUNTIME_ONLY.items():
        assert dist in declared(), dist
        assert needle in (ROOT / path).read_text(encoding="utf-8"), (dist, path)


def test_the_import_scan_sees_imports():
    """The scan can fail: it finds the imports this project is known to make, deferred ones too."""
    found = imported_top_levels("core", "tui")
    assert {"click", "textual", "lark", "numpy", "pandas", "scipy"} <= set(found)
    assert third_party_distributions()["textual-plotext"].startswith("tui/")
    assert "sqlite-utils" not in declared()  # removed: never imported (see core.store.sql.quote)
