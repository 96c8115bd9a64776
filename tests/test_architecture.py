"""Hygiene checks that keep the layering honest (Harlequin's idea): core never loads the UI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_importing_core_loads_no_ui():
    code = (
        "import sys, pkgutil, importlib, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_cli_starts_without_textual():
    """Scripted commands must not pay for importing the UI."""
    code = "import sys, tui.cli; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_import_contract():
    out = subprocess.run([str(BIN / "lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_clean():
    out = subprocess.run(
        [str(BIN / "ruff"), "check", "core", "tui", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_clean():
    out = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", "core", "tui", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def _core_graph():
    import grimp

    return grimp.build_graph("core")


def test_no_import_cycle_in_core():
    """Module by module, deferred imports included: nothing in core reaches itself again."""
    graph = _core_graph()
    modules = sorted(graph.modules)
    edges = {m: graph.find_modules_directly_imported_by(m) & graph.modules for m in modules}
    # Tarjan's strongly connected components; any component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for m in modules:
        if m not in index:
            visit(m)
    assert cycles == []


def test_no_private_name_imported_across_modules():
    """`from core.x import _helper` elsewhere means the helper belongs in a shared module."""
    import ast

    offenders = []
    for path in sorted((ROOT / "core").rglob("*.py")) + sorted((ROOT / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core"):
                for alias in node.names:
                    if alias.name.startswith("_"):
                        offenders.append(f"{path.relative_to(ROOT)}: {node.module}.{alias.name}")
    assert offenders == []


def test_core_packages_are_concepts():
    """The map of docs/architecture.md: one sub-package per concept, plus the pipeline and the
    refresh above it."""
    top = sorted(
        p.name if p.is_dir() else p.stem
        for p in (ROOT / "core").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.stem != "__init__")
    )
    assert top == [
        "analytics",
        "audience",
        "errors",
        "ingest",
        "pipeline",
        "query",
        "refresh",
        "rules",
        "store",
        "views",
    ]
