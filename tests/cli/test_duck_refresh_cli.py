"""``userops refresh duckdb:///…`` prints what it prints on SQLite (docs/engines.md): the first
run is the full recompute and says why, the next one is incremental, a date before the
features' date falls back to the full recompute with its one-line reason."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from core.store.db import open_db
from core.store.duck import open_duckdb
from tui.cli import cli

USERS = [("a",), ("b",), ("c",)]
ORDERS = [
    ("o1", "a", 10.0, "2024-06-01 10:00:00"),
    ("o2", "b", 5.0, "2024-06-30 21:30:00"),
    ("o3", "b", 7.5, "2024-07-01 09:00:00"),
]


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def without_time(output: str) -> str:
    return "\n".join(line for line in output.splitlines() if not line.startswith("time "))


def test_refresh_on_duckdb_prints_what_sqlite_prints(tmp_path: Path) -> None:
    lite, duck = (
        open_db(tmp_path / "r.db", create=True),
        open_duckdb(tmp_path / "r.duckdb", create=True),
    )
    for conn in (lite, duck):
        conn.executemany("INSERT INTO users(user_id) VALUES (?)", USERS)
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
        conn.execute("INSERT INTO meta VALUES ('data_latest', '2024-07-01')")
    lite.commit()  # DuckDB's adapter runs each statement in its own transaction here
    for conn in (lite, duck):
        conn.close()
    dbs = (str(tmp_path / "r.db"), f"duckdb:///{tmp_path / 'r.duckdb'}")
    outputs = []
    for db in dbs:
        first = run("refresh", db, "--as-of", "2024-06-30")
        then = run("refresh", db)  # to the latest date in the data: 2024-07-01
        back = run("refresh", db, "--as-of", "2024-06-20", "--json")
        assert (first.exit_code, then.exit_code, back.exit_code) == (0, 0, 0), db
        outputs.append((first.output, then.output, back.output))
    (lite_first, lite_then, lite_back), (first, then, back) = outputs
    assert without_time(first) == without_time(lite_first)
    assert without_time(then) == without_time(lite_then)
    assert first.splitlines()[:2] == [
        "installed the default layer rules and tags (see `userops layer rules`)",
        "as of    nothing computed → 2024-06-30  (full recompute (first computation of the"
        " features))",
    ]
    assert without_time(then).splitlines() == [
        "as of    2024-06-30 → 2024-07-01  (incremental)",
        "touched  2 of 3 users recomputed",  # a: 06-01 leaves the 30 days; b: an order
        "buyers   2",
        "models   predictions from the fit of 2024-06-30",
    ]
    got, want = json.loads(back), json.loads(lite_back)
    assert got.pop("seconds") >= 0 and want.pop("seconds") >= 0
    assert got == want
    assert got["full_recompute"] == "2024-06-20 is before the features' date 2024-07-01"
    assert (got["from"], got["as_of"], got["users"], got["buyers"]) == (
        "2024-07-01",
        "2024-06-20",
        3,
        1,
    )
