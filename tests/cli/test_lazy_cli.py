"""The CLI loads only the command being run: a static table lists the commands for ``--help``, and
light commands start without pandas, scipy or pyarrow (issue 10, item 6)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tui.cli import COMMANDS, cli, load_all

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "scipy", "pyarrow", "sqlite_utils", "textual")

# Runs `userops ARGS…` as the entry point does, then writes the top-level modules it loaded.
PROBE = """
import atexit, json, os, sys
def _loaded():
    with open(os.environ["PROBE_OUT"], "w") as f:
        json.dump(sorted({m.split(".")[0] for m in sys.modules}), f)
atexit.register(_loaded)
sys.argv = ["userops", *json.loads(os.environ["PROBE_ARGS"])]
from tui.__main__ import main
main()
"""


def run_probe(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "PROBE_ARGS": json.dumps(args), "PROBE_OUT": str(out)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    return done, set(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """A 200-user demo database with its recompute done and one campaign, built once."""
    path = tmp_path_factory.mktemp("lazy") / "small.db"
    runner = CliRunner()
    for args in (
        ["demo", str(path), "--users", "200"],
        ["campaign", "create", str(path), "spring"],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(small_db: Path, tmp_path: Path) -> str:
    copy = tmp_path / "copy.db"
    shutil.copy(small_db, copy)
    return str(copy)


LIGHT = {
    "version": (["--version"], "userops, version 0.1.0\n"),
    "segment count": (["segment", "count", "{db}", 'city = "武汉"'], " users · "),
    "campaign mark": (["campaign", "mark", "{db}", "spring", "U000001"], "marked 1 (0 already"),
    "users csv": (["users", "{db}", "--format", "csv"], "user_id,"),
    "layers": (["layers", "{db}"], ": 200 users (first match wins)"),
}


@pytest.mark.parametrize("name", LIGHT)
def test_light_commands_load_no_heavy_module(name, db, tmp_path):
    args, expected = LIGHT[name]
    done, loaded = run_probe([a.format(db=db) for a in args], tmp_path)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
    assert sorted(loaded & set(HEAVY)) == []
    assert "click" in loaded and "core" in loaded or name == "version"


def test_the_probe_sees_heavy_modules(db, tmp_path):
    """The check above can fail: `rfm` needs numpy, `model` pandas and scipy."""
    done, loaded = run_probe(["model", db], tmp_path)
    assert done.returncode == 0, done.stderr
    assert {"pandas", "scipy", "numpy"} <= loaded


def test_segment_count_loads_only_its_module(db):
    code = (
        "import sys, json; sys.argv = ['userops', 'segment', 'count', sys.argv[1], 'r_score >= 4']\n"
        "from tui.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('tui.cli.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code, db], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == ["tui.cli.common", "tui.cli.segment_cmd"]


def test_table_matches_the_modules():
    """COMMANDS names every command, in the module that registers it, with its own short help."""
    load_all()
    assert sorted(cli.commands) == sorted(COMMANDS)
    for name, (module, short_help) in COMMANDS.items():
        cmd = cli.commands[name]
        assert cmd.callback.__module__ == f"tui.cli.{module}", name
        assert cmd.get_short_help_str(10_000) == short_help, name
        for limit in (30, 45, 80):
            bare = click.Command(name, help=short_help)
            assert bare.get_short_help_str(limit) == cmd.get_short_help_str(limit), (name, limit)


def test_help_lists_every_command_without_importing_them():
    """`--help` from the table is the help click prints with every module imported."""

    def help_text(first: str) -> str:
        code = f"{first}; from tui.__main__ import main; main()"
        done = subprocess.run(
            [sys.executable, "-c", code, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "80"},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    lazy = help_text("import sys; assert 'tui.cli' not in sys.modules")
    assert lazy == help_text("import tui.cli; tui.cli.load_all()")
    lines = lazy.split("Commands:\n")[1].splitlines()
    assert lines[0].startswith("  open*      Open the app on DB")
    assert sorted(line.split()[0].rstrip("*") for line in lines) == sorted(COMMANDS)


def test_default_command_opens_the_given_database(tmp_path):
    """`userops DB` is `userops open DB`: a missing file is one line and exit 2."""
    missing = tmp_path / "missing.db"
    for args in ([str(missing)], ["open", str(missing)], [str(missing), "--mask"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.count("\n") == 1
        assert str(missing) in result.output


def test_no_argument_opens_demo_db(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no demo.db here: the default command's own one-line error
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 2
    assert "demo.db" in result.output
