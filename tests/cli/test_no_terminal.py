"""`userops DB` without a terminal: one line and exit 2 at once, never a spinning app."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_without_a_terminal_exits_at_once_with_a_hint(tmp_path):
    db = tmp_path / "demo.db"
    shutil.copy(ROOT / "demo.db", db)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "tui", str(db)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.perf_counter() - started
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("userops: the app needs a terminal")
    assert lines[0].endswith(f"userops users {db} --format csv")
    assert took < 30  # it used to spin until killed (generous: a loaded CI machine)


def test_a_missing_database_is_still_reported_first(tmp_path):
    missing = tmp_path / "missing.db"
    out = subprocess.run(
        [sys.executable, "-m", "tui", str(missing)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "terminal" not in out.stderr
    assert str(missing) in out.stderr
