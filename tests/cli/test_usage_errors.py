"""Usage errors from the real entry point: one `userops: …` line and exit 2, like every other
error (click's own usage block used to be printed for a bad --as-of or an unknown option)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE: Path = ROOT  # the working directory of the commands: a copy of the demo (fixture below)


@pytest.fixture(autouse=True, scope="module")
def _demo_copy(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The commands name demo.db: a copy, so that a schema upgrade never rewrites the repo's."""
    global HERE
    HERE = tmp_path_factory.mktemp("usage")
    shutil.copy(ROOT / "demo.db", HERE / "demo.db")


def userops(*args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; from tui.__main__ import main; sys.argv = ['userops', *sys.argv[1:]]; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=HERE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_date_is_one_line():
    out = userops("segment", "count", "demo.db", "r >= 4", "--as-of", "2025-13-45")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        "userops: Invalid value for '--as-of': '2025-13-45' is not a date like 2024-06-01 "
        "(see `userops segment count --help`)"
    ]


def test_an_unknown_command_and_option_are_one_line():
    out = userops("segment", "cnt", "demo.db")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "userops: No such command 'cnt'. Did you mean 'count'? (see `userops segment --help`)"
    ]
    out = userops("layers", "demo.db", "--colour")
    assert out.returncode == 2
    assert len(out.stderr.splitlines()) == 1
    assert out.stderr.startswith("userops: No such option '--colour'")


def test_help_version_and_a_good_command_still_work():
    assert userops("--version").stdout.strip() == "userops, version 0.1.0"
    helped = userops("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: userops")
    counted = userops("segment", "count", "demo.db", "r >= 4")
    assert counted.returncode == 0
    assert counted.stdout.strip() == "4,884 users · 24.4% of 20,000"


def test_a_mistyped_command_is_named_not_opened_as_a_database():
    """`userops recompte demo.db` used to be `open recompte demo.db`: "unexpected extra argument"."""
    out = userops("recompte", "demo.db")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "userops: No such command 'recompte'. Did you mean 'recompute'? (see `userops --help`)"
    ]
    missing = userops("missing.db")  # one word that is no command: still a database to open
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == ["userops: missing.db: no such file"]
