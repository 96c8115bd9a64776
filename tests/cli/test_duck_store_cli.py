"""``demo``, ``layers --transitions``, ``model --validate``, ``check`` and ``backup`` on DuckDB
(docs/engines.md): each prints what it prints on SQLite, on a small demo built by ``userops
demo`` on each engine (its month of strategies cut to the last days, to stay quick), and says
the same one line for bad input."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

import tui.cli.demo_cmd as demo_cmd
from core.ingest.demo import DEMO_AS_OF
from tui.cli import cli

# wall-clock stamps (metadata: when it ran), the only values two builds may differ in
STAMPS = {
    "model_fits": {"fitted_at"},
    "campaigns": {"created_at"},
    "campaign_members": {"added_at"},
    "campaign_audit": {"at"},
    "strategies": {"created_at", "updated_at"},
    "strategy_runs": {"ran_at"},
}


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, tuple[str, str]]:
    """(SQLite file, DuckDB file, the demo command's output on each)."""
    tmp = tmp_path_factory.mktemp("duckstore")
    lite, duck = tmp / "s.db", tmp / "s.duckdb"
    with pytest.MonkeyPatch.context() as mp:  # the strategies' month: its last two days
        mp.setattr(demo_cmd, "HISTORY_START", DEMO_AS_OF - timedelta(days=2))
        built = [
            run("demo", str(lite), "--users", "400"),
            run("demo", f"duckdb:///{duck}", "--users", "400"),
        ]
    for got in built:
        assert got.exit_code == 0, got.output
    return lite, duck, (built[0].output, built[1].output)


def rows_of(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows (sorted; the wall-clock stamps left out) of a SQLite or DuckDB file."""
    is_duck = path.suffix == ".duckdb"
    conn = duckdb.connect(str(path), read_only=True) if is_duck else sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
                if is_duck
                else "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
        ]
        out = {}
        for name in names:
            columns = [d[0] for d in conn.execute(f'SELECT * FROM "{name}" LIMIT 0').description]
            kept = ", ".join(f'"{c}"' for c in columns if c not in STAMPS.get(name, ()))
            where = " WHERE key <> 'features_computed_at'" if name == "meta" else ""
            found = conn.execute(f'SELECT {kept} FROM "{name}"{where}').fetchall()
            out[name] = sorted(found, key=repr)
        return out
    finally:
        conn.close()


def test_the_demo_on_duckdb_is_the_sqlite_demo(pair) -> None:
    lite, duck, (on_sqlite, on_duckdb) = pair
    assert on_duckdb.splitlines()[0].startswith(f"Built {duck} in ")
    # the same report but the time and the size (DuckDB's file is its own)
    same = [line for line in on_sqlite.splitlines()[1:] if "size" not in line]
    assert [line for line in on_duckdb.splitlines()[1:] if "size" not in line] == same
    assert "  users           400" in same
    lite_rows, duck_rows = rows_of(lite), rows_of(duck)
    assert sorted(duck_rows) == sorted(lite_rows) and len(lite_rows) == 29
    for name, found in lite_rows.items():
        assert duck_rows[name] == found, name
    assert len(lite_rows["orders"]) > 800 and len(lite_rows["strategy_runs"]) > 0
    again = run("demo", f"duckdb:///{duck}", "--users", "5")  # kept without --force
    assert again.exit_code == 2
    assert again.output == f"userops: {duck} already exists; add --force to overwrite it\n"


@pytest.mark.parametrize(
    "args",
    [
        ["layers", "DB", "--transitions", "2025-11-20"],
        ["layer", "transitions", "DB", "2025-11-10", "--json"],
        ["model", "DB", "--validate", "--calibration-end", "2025-10-15", "--json"],  # every figure
    ],
)
def test_transitions_and_the_validation_print_the_same_on_duckdb(pair, args) -> None:
    lite, duck, _ = pair
    on_sqlite = run(*[str(lite) if a == "DB" else a for a in args])
    on_duckdb = run(*[f"duckdb:///{duck}" if a == "DB" else a for a in args])
    assert on_sqlite.exit_code == 0, on_sqlite.output
    assert on_duckdb.output == on_sqlite.output
    assert len(on_sqlite.output) > 200


def blocks(path: Path) -> int:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute("SELECT total_blocks FROM pragma_database_size()").fetchone()[0]
    finally:
        conn.close()


def test_check_on_duckdb(pair, tmp_path: Path) -> None:
    _, duck, _ = pair
    n = blocks(duck)
    got = run("check", f"duckdb:///{duck}")
    assert (got.exit_code, got.output) == (0, f"{duck}: ok (DuckDB check, {n:,} blocks)\n")
    got = run("check", f"duckdb:///{duck}", "--quick")
    assert (got.exit_code, got.output) == (0, f"{duck}: ok (DuckDB quick check, {n:,} blocks)\n")
    # what SQLite's check finds in the data, and a table the schema has, gone
    bad = tmp_path / "bad.duckdb"
    shutil.copyfile(duck, bad)
    conn = duckdb.connect(str(bad))
    conn.execute("UPDATE strategies SET status = 'gone' WHERE rowid < 2")
    conn.execute("DROP TABLE tag_history")
    conn.close()
    got = run("check", f"duckdb:///{bad}")
    assert got.exit_code == 2
    assert got.output == (
        f"{bad}: damaged (DuckDB check found 2 problem(s)):\n"
        "  table tag_history is missing\n"
        "  CHECK constraint failed in strategies: status IN ('active', 'paused') (2 rows)\n"
    )
    # a block overwritten: DuckDB's checksum finds it when the check reads every block
    shutil.copyfile(duck, bad)
    with bad.open("r+b") as f:  # past the headers (12 KiB), into every 256 KiB block
        for at in range(12288 + 64, bad.stat().st_size, 262144):
            f.seek(at)
            f.write(b"\xff" * 64)
    got = run("check", f"duckdb:///{bad}")
    assert got.exit_code == 2
    assert "Corrupt database file: computed checksum" in got.output.splitlines()[1]


def test_backup_on_duckdb_is_the_file_and_opens(pair, tmp_path: Path) -> None:
    _, duck, _ = pair
    copy = tmp_path / "b.duckdb"
    got = run("backup", f"duckdb:///{duck}", str(copy))
    assert (got.exit_code, got.output) == (
        0,
        f"backed up {duck} to {copy} ({blocks(duck):,} blocks)\n",
    )
    assert copy.read_bytes() == duck.read_bytes()  # checkpointed: byte for byte
    assert run("users", f"duckdb:///{copy}", "--format", "json").output == (
        run("users", f"duckdb:///{duck}", "--format", "json").output
    )
    again = run("backup", f"duckdb:///{duck}", str(copy))
    assert (again.exit_code, again.output) == (
        2,
        f"userops: {copy}: exists already; pass --force to replace it\n",
    )
    assert run("backup", f"duckdb:///{duck}", str(copy), "--force").exit_code == 0


def test_bad_input_is_the_same_line_on_both(tmp_path: Path) -> None:
    missing, text = tmp_path / "none.x", tmp_path / "text.x"
    text.write_text("not a database\n" * 300)
    for args in (["check", "DB"], ["backup", "DB", str(tmp_path / "out")]):
        for url in (str(missing), f"duckdb:///{missing}"):
            got = run(*[url if a == "DB" else a for a in args])
            assert (got.exit_code, got.output) == (2, f"userops: {missing}: no such file\n")
        for url, engine in ((str(text), "SQLite"), (f"duckdb:///{text}", "DuckDB")):
            got = run(*[url if a == "DB" else a for a in args])
            assert got.exit_code == 2
            assert got.output.startswith(f"userops: {text}: not a {engine} database (")
    assert not (tmp_path / "out").exists()


def test_backup_folds_in_a_log_a_writer_left(pair, tmp_path: Path) -> None:
    """A writer killed after a commit leaves a .wal: the backup has that commit."""
    _, duck, _ = pair
    left = tmp_path / "left.duckdb"
    shutil.copyfile(duck, left)
    killed = (
        "import duckdb, os, sys; c = duckdb.connect(sys.argv[1]); "
        "c.execute(\"SET checkpoint_threshold = '1GB'\"); "
        "c.execute(\"INSERT INTO meta VALUES ('left', 'by a killed writer')\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", killed, str(left)], check=True)
    assert Path(f"{left}.wal").exists()
    copy = tmp_path / "b.duckdb"
    assert run("backup", f"duckdb:///{left}", str(copy)).exit_code == 0
    conn = duckdb.connect(str(copy), read_only=True)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'left'").fetchall() == [
            ("by a killed writer",)
        ]
    finally:
        conn.close()
