"""The built wheel holds what the app reads at run time, and core/tui come from it (issue 10,
item 8). Built with hatchling's PEP 517 hook directly: no network, no isolated build env (~1 s)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    code = "import sys; from hatchling.build import build_wheel; print(build_wheel(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip().splitlines()[-1]


def test_wheel_holds_the_data_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [
        "core/query/grammar.lark",
        "tui/help.md",
        *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "tui").rglob("*.tcss"))),
    ]
    assert len(data) >= 3 + 7  # app.tcss and one per screen at least
    assert [d for d in data if d not in names] == []
    sources = {str(p.relative_to(ROOT)) for d in ("core", "tui") for p in (ROOT / d).rglob("*.py")}
    assert sources - names == set()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"core", "tui", "userops-0.1.0.dist-info"}  # no tests, bench or caches


def test_core_and_tui_resolve_to_this_distribution(wheel, tmp_path):
    """Unpacked (a pure wheel installs by unzipping), `core` and `tui` import from it and the
    installed files list (RECORD) names them as userops'."""
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = (
        "import sys, json, importlib.metadata as md\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import core, tui\n"
        "dist = md.distribution('userops')\n"
        "print(json.dumps({'core': core.__file__, 'tui': tui.__file__,\n"
        "    'owners': {m: md.packages_distributions().get(m) for m in ('core', 'tui')},\n"
        "    'files': sorted(str(f) for f in dist.files), 'at': str(dist.locate_file(''))}))\n"
    )
    # -S: without site-packages, so the developer's editable install cannot answer instead
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["core"] == str(tmp_path / "core" / "__init__.py")
    assert got["tui"] == str(tmp_path / "tui" / "__init__.py")
    assert got["owners"] == {"core": ["userops"], "tui": ["userops"]}
    assert Path(got["at"]) == tmp_path
    for f in ("core/query/grammar.lark", "tui/help.md", "tui/app.tcss", "core/__init__.py"):
        assert f in got["files"], f
