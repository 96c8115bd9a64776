"""Engine URLs (core.store.engines), the DuckDB tables derived from the one schema
(core.store.duck) and ``copy_database`` (core.store.copy) on small data with known answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_query_second import build_second_db

from core.errors import DatabaseError
from core.store import engines
from core.store.copy import copy_database
from core.store.db import open_db
from core.store.duck import logical_tables, open_duckdb
from core.store.engines import DUCKDB, SQLITE, Target, dialect_of, parse_database
from core.store.schema import SCHEMA_VERSION


@pytest.mark.parametrize(
    ("arg", "engine", "location"),
    [
        ("demo.db", "sqlite", "demo.db"),
        ("/data/demo.db", "sqlite", "/data/demo.db"),
        ("sqlite:///demo.db", "sqlite", "demo.db"),
        ("sqlite:////data/demo.db", "sqlite", "/data/demo.db"),
        ("duckdb:///demo.duckdb", "duckdb", "demo.duckdb"),
        ("duckdb:///sub/demo.duckdb", "duckdb", "sub/demo.duckdb"),
        ("duckdb:////data/big.duckdb", "duckdb", "/data/big.duckdb"),
        ("DuckDB:///x.duckdb", "duckdb", "x.duckdb"),
        ("a:b.db", "sqlite", "a:b.db"),  # no :// — a file name
    ],
)
def test_database_arguments(arg: str, engine: str, location: str) -> None:
    assert parse_database(arg) == Target(engine, location, arg)


@pytest.mark.parametrize(
    ("arg", "says"),
    [
        ("duckdb://x.duckdb", "three slashes"),
        ("sqlite://", "three slashes"),
        ("duckdb:///", "three slashes"),
        ("postgres://u@h/db", "unknown engine 'postgres'"),
        ("clickhouse://ops@db1:9000/shop", "ClickHouse is not supported yet"),
        ("clickhouse://a@b@c", "clickhouse://user@host:port/database"),
    ],
)
def test_bad_or_unsupported_urls_are_one_line(arg: str, says: str) -> None:
    with pytest.raises(DatabaseError) as err:
        parse_database(arg)
    assert says in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(arg)


def test_each_connection_knows_its_dialect(tmp_path: Path) -> None:
    lite = open_db(tmp_path / "a.db", create=True)
    duck = open_duckdb(tmp_path / "a.duckdb", create=True)
    try:
        assert dialect_of(lite) is SQLITE and dialect_of(duck) is DUCKDB
        assert SQLITE.param("p0") == ":p0" and DUCKDB.param("p0") == "$p0"
        assert engines.engine_of(duck) == "duckdb"
    finally:
        lite.close()
        duck.close()


def test_duckdb_tables_are_the_sqlite_schema(tmp_path: Path) -> None:
    """Every table and column of a new SQLite database, in order, on DuckDB, with the start
    rows (schema version, built-in personal columns)."""
    lite = open_db(tmp_path / "a.db", create=True)
    duck = open_duckdb(tmp_path / "a.duckdb", create=True)
    try:
        names = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert sorted(t.name for t in logical_tables()) == sorted(names)
        types = {"TEXT": "VARCHAR", "REAL": "DOUBLE", "INTEGER": "BIGINT"}
        for name in names:
            want = [(r[1], types[r[2]]) for r in lite.execute(f'PRAGMA table_info("{name}")')]
            got = duck.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                (name,),
            ).fetchall()
            assert got == want, name
        assert duck.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert sorted(duck.execute("SELECT * FROM column_flags").fetchall()) == sorted(
            lite.execute("SELECT * FROM column_flags").fetchall()
        )
        # the keys came along: a second user with the same id is refused
        duck.execute("INSERT INTO users(user_id) VALUES ('u1')")
        with pytest.raises(sqlite3.OperationalError, match="(?i)duplicate key"):
            duck.execute("INSERT INTO users(user_id) VALUES ('u1')")
    finally:
        lite.close()
        duck.close()


def test_opening_duckdb_faults_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no such file"):
        open_duckdb(tmp_path / "none.duckdb")
    lite = tmp_path / "a.db"
    open_db(lite, create=True).close()
    with pytest.raises(DatabaseError, match="not a DuckDB database"):
        open_duckdb(lite)
    import duckdb

    duckdb.connect(str(tmp_path / "other.duckdb")).close()
    with pytest.raises(DatabaseError, match="a DuckDB file, but not a userops database"):
        open_duckdb(tmp_path / "other.duckdb")


def snapshot(conn: sqlite3.Connection) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table of a SQLite database: its columns (sorted) and its rows (sorted)."""
    out = {}
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        cols = sorted(r[1] for r in conn.execute(f'PRAGMA table_info("{name}")'))
        listed = ", ".join(f'"{c}"' for c in cols)
        rows = sorted(conn.execute(f'SELECT {listed} FROM "{name}"').fetchall(), key=repr)
        out[name] = (cols, rows)
    return out


def files(folder: Path) -> list[str]:
    """The files in ``folder`` (SQLite's -wal/-shm of a connection still open left out)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    path = tmp_path / "small.db"
    conn = open_db(path, create=True)
    build_second_db(conn)
    conn.execute('ALTER TABLE users ADD COLUMN "会员 等级" TEXT')  # an imported attribute
    conn.execute("UPDATE users SET \"会员 等级\" = 'gold' WHERE user_id = 'u1'")
    conn.close()
    return path


def test_copy_to_duckdb_and_back_is_identical(small_db: Path, tmp_path: Path) -> None:
    duck_url = f"duckdb:///{tmp_path / 'small.duckdb'}"
    there = copy_database(small_db, duck_url)
    back = copy_database(duck_url, tmp_path / "back.db")
    original = snapshot(sqlite3.connect(small_db))
    assert snapshot(sqlite3.connect(tmp_path / "back.db")) == original
    assert len(original) == 29 and len(original["features"][0]) > 40
    assert there.rows == back.rows == {name: len(rows) for name, (_, rows) in original.items()}
    assert there.rows["users"] == 5 and there.rows["orders"] == 7
    duck = open_duckdb(tmp_path / "small.duckdb", readonly=True)
    try:
        assert duck.execute("SELECT \"会员 等级\" FROM users WHERE user_id = 'u1'").fetchone() == (
            "gold",
        )
    finally:
        duck.close()
    assert files(tmp_path) == ["back.db", "small.db", "small.duckdb"]


def test_copy_keeps_an_existing_destination_unless_forced(small_db: Path, tmp_path: Path) -> None:
    dst = tmp_path / "x.duckdb"
    dst.write_bytes(b"keep me")
    with pytest.raises(DatabaseError, match="exists; pass --force"):
        copy_database(small_db, f"duckdb:///{dst}")
    assert dst.read_bytes() == b"keep me"
    copy_database(small_db, f"duckdb:///{dst}", force=True)
    duck = open_duckdb(dst)
    try:
        assert duck.execute("SELECT count(*) FROM users").fetchone() == (5,)
    finally:
        duck.close()
    with pytest.raises(DatabaseError, match="the destination is the source"):
        copy_database(small_db, small_db, force=True)


def test_a_failed_copy_leaves_nothing(small_db: Path, tmp_path: Path) -> None:
    """SQLite keeps text in an INTEGER column; DuckDB refuses it: the copy stops with the
    table and column, and neither DST nor a temporary file is left."""
    conn = sqlite3.connect(small_db)
    conn.execute("INSERT INTO model_fits(model, n_customers, as_of) VALUES ('x', 'two', '')")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="model_fits .*n_customers is INTEGER but holds 'two'"):
        copy_database(small_db, f"duckdb:///{tmp_path / 'x.duckdb'}")
    assert files(tmp_path) == ["small.db"]
