"""DuckDB databases of an older schema are upgraded by the schema's migrations, as SQLite's are
(core.store.schema.ensure_schema through core.store.duck.open_duckdb): a DuckDB copy of the
current schema has migrations' DDL undone and its version set back, then opens and upgrades to
the columns of a new copy, its rows kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest
from test_query_second import build_second_db

from core.errors import DatabaseError
from core.store import schema
from core.store.copy import copy_database
from core.store.db import open_db
from core.store.duck import open_duckdb
from core.store.schema import (
    DAYS_SINCE_LAST,
    MODEL_INTERVAL_COLUMNS,
    PREVIOUS_PERIOD_COLUMNS,
    SCHEMA_VERSION,
)

STRATEGY_TABLES = (
    "strategies",
    "strategy_runs",
    "strategy_targets",
    "strategy_draws",
    "strategy_matches",
    "global_control",
)


def _drop_columns(table: str, names) -> list[str]:
    return [f'ALTER TABLE {table} DROP COLUMN "{name}"' for name in names]


# What migration N -> N+1 added, undone (the DDL of each step of core.store.schema.MIGRATIONS)
UNDO: dict[int, list[str]] = {
    7: _drop_columns("features", PREVIOUS_PERIOD_COLUMNS),
    6: [f"DROP TABLE {t}" for t in STRATEGY_TABLES],
    5: _drop_columns("layer_rules", ["lifecycle"]),
    4: [
        "DROP TABLE refresh_dirty",
        "DROP TABLE model_inputs",
        *_drop_columns("campaign_members", ["added_on"]),
        *_drop_columns("campaign_audit", ["as_of"]),
    ],
    3: [
        *_drop_columns("features", MODEL_INTERVAL_COLUMNS),
        *_drop_columns("model_fits", ["diagnostics"]),
    ],
    2: ["DROP TABLE column_flags"],
    1: _drop_columns("features", DAYS_SINCE_LAST.values()),
}


@pytest.fixture
def duck_copy(tmp_path: Path) -> Path:
    lite = tmp_path / "small.db"
    conn = open_db(lite, create=True)
    build_second_db(conn)
    conn.execute("ALTER TABLE users ADD COLUMN tier TEXT")  # an imported attribute
    conn.execute("UPDATE users SET tier = 'gold' WHERE user_id = 'u1'")
    conn.execute("INSERT INTO campaigns(name, created_at) VALUES ('c1', '2026-01-01 00:00:00')")
    conn.execute(
        "INSERT INTO campaign_members(campaign, user_id, role, added_at, added_on) "
        "VALUES ('c1', 'u1', 'target', '2026-01-02 09:30:00', '2026-01-02')"
    )
    conn.close()
    copy_database(lite, f"duckdb:///{tmp_path / 'small.duckdb'}")
    copy_database(lite, f"duckdb:///{tmp_path / 'fresh.duckdb'}")
    return tmp_path / "small.duckdb"


def columns(path: Path) -> dict[str, dict[str, tuple]]:
    """{table: {column: (type, NOT NULL, default, in the primary key)}} of a DuckDB file."""
    raw = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0] for r in raw.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        return {
            t: {
                r[1]: (r[2], r[3], r[4], r[5])
                for r in raw.execute(f"PRAGMA table_info('{t}')").fetchall()
            }
            for t in tables
        }
    finally:
        raw.close()


def set_back(path: Path, start: int) -> None:
    """Undo migrations ``start`` … 7 and store schema ``start``."""
    raw = duckdb.connect(str(path))
    try:
        for version in range(7, start - 1, -1):
            for statement in UNDO[version]:
                raw.execute(statement)
        raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(start)])
        raw.execute("DELETE FROM meta WHERE key = 'features_stale'")
    finally:
        raw.close()


def read(path: Path, sql: str) -> list[tuple]:
    raw = duckdb.connect(str(path), read_only=True)
    try:
        return raw.execute(sql).fetchall()
    finally:
        raw.close()


@pytest.mark.parametrize("start", [7, 5, 1])
def test_an_older_duckdb_database_is_upgraded(duck_copy: Path, start: int) -> None:
    fresh = columns(duck_copy.parent / "fresh.duckdb")
    users = read(duck_copy, "SELECT * FROM users ORDER BY user_id")
    set_back(duck_copy, start)
    assert columns(duck_copy) != fresh
    conn = open_duckdb(duck_copy)
    conn.close()
    assert columns(duck_copy) == fresh  # every table, every column's type, NOT NULL, key
    assert read(duck_copy, "SELECT * FROM users ORDER BY user_id") == users
    assert read(duck_copy, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
    # migrations 1 -> 2 and 7 -> 8 add feature columns empty until the next recompute
    assert read(duck_copy, "SELECT value FROM meta WHERE key = 'features_stale'") == [("1",)]
    assert read(
        duck_copy, "SELECT campaign, user_id, added_on FROM campaign_members WHERE campaign = 'c1'"
    ) == [
        ("c1", "u1", "2026-01-02")  # from 4 on: before it, the wall-clock day (added_at)
    ]
    if start <= 5:  # 5 -> 6 ranks the shipped lifecycle layers by key
        ranks = read(duck_copy, "SELECT key, lifecycle FROM layer_rules ORDER BY key")
        assert ranks == [("active", 3), ("churned", -2), ("dormant", -1), ("registered", 2)]
    if start <= 2:  # 2 -> 3 flags the user columns by name, the imported one too
        flags = dict(read(duck_copy, "SELECT column_name, personal FROM column_flags"))
        assert flags["phone"] == 1 and flags["email"] == 1 and flags["tier"] == 0


def test_a_read_only_open_upgrades_through_a_writable_one(duck_copy: Path) -> None:
    fresh = columns(duck_copy.parent / "fresh.duckdb")
    set_back(duck_copy, 7)
    conn = open_duckdb(duck_copy, readonly=True)
    try:
        assert conn.readonly
        assert conn.execute("SELECT count(*) FROM features").fetchone() == (5,)
    finally:
        conn.close()
    assert columns(duck_copy) == fresh


def test_a_failed_upgrade_changes_nothing(duck_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_back(duck_copy, 6)
    before = columns(duck_copy)

    def half_way(conn: sqlite3.Connection) -> None:
        schema._add_previous_period(conn)  # its ALTERs done, then a failure
        conn.execute("SELECT no_such_column FROM features")

    monkeypatch.setitem(schema.MIGRATIONS, 7, half_way)
    with pytest.raises(DatabaseError, match=r"schema 6\); upgrading it to schema .* failed"):
        open_duckdb(duck_copy)
    assert columns(duck_copy) == before  # 6 -> 7's tables rolled back with 7 -> 8's columns
    assert read(duck_copy, "SELECT value FROM meta WHERE key = 'schema_version'") == [("6",)]


def test_a_newer_duckdb_database_is_refused(duck_copy: Path) -> None:
    raw = duckdb.connect(str(duck_copy))
    raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    raw.close()
    with pytest.raises(DatabaseError, match=f"schema {SCHEMA_VERSION + 1}; .*up to"):
        open_duckdb(duck_copy)


def test_sqlite_migrations_are_unchanged(tmp_path: Path) -> None:
    """The same undo on a SQLite file (SQLite's DDL text, Dialect.column_type's SQLite
    spelling) upgrades it to a new database's columns."""
    path = tmp_path / "old.db"
    conn = open_db(path, create=True)
    build_second_db(conn)
    new = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(features)")}
    for name in PREVIOUS_PERIOD_COLUMNS:
        conn.execute(f'ALTER TABLE features DROP COLUMN "{name}"')
    conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.close()
    conn = open_db(path)
    try:
        assert {r[1]: r[2] for r in conn.execute("PRAGMA table_info(features)")} == new
    finally:
        conn.close()
