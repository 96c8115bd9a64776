"""mypy over core and tui, with the [tool.mypy] config in pyproject.toml (issue 10, item 8)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_mypy_passes():
    out = subprocess.run(
        [str(BIN / "mypy"), "--no-error-summary"],  # files and options: from pyproject.toml
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_config_ignores_nothing_wholesale():
    """No ignore_errors anywhere; missing imports ignored only for named third-party modules."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert "ignore_errors" not in config and "ignore_missing_imports" not in config
    assert sorted(config["files"]) == ["core", "tui"]
    for override in config.get("overrides", []):
        assert "ignore_errors" not in override and "disable_error_code" not in override
        modules = override["module"]
        assert all(m.split(".")[0] not in ("core", "tui") for m in modules), modules
