"""Engines from the command line: ``userops copy``, ``segment count`` on DuckDB, and one line for
a bad URL or a command that does not run on an engine yet (docs/engines.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from core.store.db import open_db, set_meta
from tui.cli import cli


@pytest.fixture
def db(db_path: Path) -> str:
    conn = open_db(db_path)
    conn.executemany(
        "INSERT INTO users(user_id, city) VALUES (?, ?)", [("u1", "上海"), ("u2", "x")]
    )
    conn.executemany(
        "INSERT INTO features(user_id, city, recency_days) VALUES (?, ?, ?)",
        [("u1", "上海", 40), ("u2", "北京", 5), ("u3", "上海", 10), ("u4", "成都", None)],
    )
    set_meta(conn, "as_of", "2024-06-30")
    conn.close()
    return str(db_path)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_copy_prints_rows_per_table_and_counts_match(db: str, tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'c.duckdb'}"
    got = run("copy", db, url)
    assert got.exit_code == 0, got.output
    lines = got.output.splitlines()
    assert lines[0].startswith(f"copied {db} (SQLite) to {url} (DuckDB): 29 tables, ")
    rows = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert rows["features"] == "4" and rows["users"] == "2" and rows["orders"] == "0"
    assert len(rows) == 29
    counted = run("segment", "count", url, 'city = "上海"')
    assert counted.exit_code == 0, counted.output
    assert counted.output.strip() == "2 users · 50.0% of 4"
    again = run("copy", db, url)
    assert again.exit_code == 2
    assert again.output.strip() == f"userops: {url}: exists; pass --force to replace it"
    assert run("copy", db, url, "--force").exit_code == 0
    back = run("copy", url, f"sqlite:///{tmp_path / 'back.db'}")
    assert back.exit_code == 0, back.output
    assert run("segment", "count", str(tmp_path / "back.db"), 'city = "上海"').output == (
        counted.output
    )


def test_a_command_not_on_duckdb_yet_says_so_in_one_line(db: str, tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'c.duckdb'}"
    assert run("copy", db, url).exit_code == 0
    for args, command in (
        (["recompute", url], "userops recompute"),
        (["segment", "save", url, "x", "frequency > 1"], "userops segment save"),
        (["demo", url], "userops demo"),
        (["check", url], "userops check"),
        (["open", url], "userops open"),
    ):
        got = run(*args)
        assert got.exit_code == 2, args
        assert got.output == (
            f"userops: `{command}` does not run on DuckDB yet: run it on the SQLite database "
            "and `userops copy` it to DuckDB again (docs/engines.md says what runs where)\n"
        )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://u@h/db", "unknown engine 'postgres'"),
        ("duckdb://rel.duckdb", "takes three slashes"),
        ("clickhouse://ops@db1:9000/shop", "ClickHouse is not supported yet"),
    ],
)
def test_bad_urls_are_one_line(url: str, says: str) -> None:
    for args in (["segment", "count", url, "frequency > 1"], ["recompute", url], ["demo", url]):
        got = run(*args)
        assert got.exit_code == 2
        assert got.output.startswith(f"userops: {url}: ") and says in got.output
        assert got.output.count("\n") == 1


def test_a_missing_duckdb_file(tmp_path: Path) -> None:
    got = run("segment", "count", f"duckdb:///{tmp_path / 'no.duckdb'}", "frequency > 1")
    assert got.exit_code == 2
    assert got.output == f"userops: {tmp_path / 'no.duckdb'}: no such file\n"
