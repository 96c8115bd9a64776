"""Engine URLs (core.store.engines), the DuckDB and ClickHouse tables derived from the one schema
(core.store.duck, core.store.clickhouse) and ``copy_database`` (core.store.copy) on small data
with known answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_query_compile import AS_OF
from test_query_second import build_second_db

from core.errors import DatabaseError
from core.store import engines
from core.store.copy import copy_database
from core.store.db import open_db
from core.store.duck import logical_tables, open_duckdb
from core.store.engines import CLICKHOUSE, DUCKDB, SQLITE, Target, dialect_of, parse_database
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
        ("chdb:///demo.chdb", "chdb", "demo.chdb"),
        ("chdb:////data/big.chdb", "chdb", "/data/big.chdb"),
        ("clickhouse://ops@db1:8123/shop", "clickhouse", "ops@db1:8123/shop"),
        ("clickhouse://ops:s3cret@db1/shop", "clickhouse", "ops:s3cret@db1/shop"),
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
        ("chdb://rel.chdb", "a chDB URL takes three slashes"),
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
    house = engines.open_database(f"chdb:///{tmp_path / 'a.chdb'}", create=True)
    try:
        assert dialect_of(lite) is SQLITE and dialect_of(duck) is DUCKDB
        assert dialect_of(house) is CLICKHOUSE
        assert SQLITE.param("p0") == ":p0" and DUCKDB.param("p0") == "$p0"
        assert CLICKHOUSE.param("p0") == "{p0:?}"
        assert engines.engine_of(duck) == "duckdb" and engines.engine_of(house) == "chdb"
    finally:
        lite.close()
        duck.close()
        house.close()


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


def test_duckdb_keeps_an_index_of_each_users_events(small_db: Path, tmp_path: Path) -> None:
    """events_user and orders_user (core.store.duck.INDEXES): on a new DuckDB database and on
    a copy (built after the load); an import's rows land in them, and a user's events and
    orders read through them are the user's rows (the copy writes both by time)."""
    new = open_duckdb(tmp_path / "new.duckdb", create=True)
    copy_database(small_db, f"duckdb:///{tmp_path / 'small.duckdb'}")
    copied = open_duckdb(tmp_path / "small.duckdb")
    try:
        for duck in (new, copied):
            found = duck.execute("SELECT index_name, table_name FROM duckdb_indexes()").fetchall()
            assert sorted(found) == [("events_user", "events"), ("orders_user", "orders")]
        new.execute("INSERT INTO users(user_id) VALUES ('u1')")
        new.execute("INSERT INTO events VALUES ('u1', 'login', '2024-01-02 03:04:05', '')")
        assert new.execute("SELECT kind FROM events WHERE user_id = ?", ("u1",)).fetchall() == [
            ("login",)
        ]
        lite = sqlite3.connect(small_db)
        want = sorted(lite.execute("SELECT * FROM events WHERE user_id = 'u1'").fetchall())
        lite.close()
        got = copied.execute("SELECT * FROM events WHERE user_id = ?", ("u1",)).fetchall()
        assert want and sorted(got) == want
        lite = sqlite3.connect(small_db)
        want = sorted(lite.execute("SELECT * FROM orders WHERE user_id = 'u1'").fetchall())
        lite.close()
        got = copied.execute("SELECT * FROM orders WHERE user_id = ?", ("u1",)).fetchall()
        assert want and sorted(got) == want
    finally:
        new.close()
        copied.close()


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


# -- ClickHouse (chDB) --------------------------------------------------------------------


def test_clickhouse_tables_are_the_sqlite_schema(tmp_path: Path) -> None:
    """Every table and column of a new SQLite database, in order, on chDB: String / Float64 /
    Int64, Nullable where SQLite allows NULL and the column is not in the sorting key, which
    is the primary key with user_id first; ReplacingMergeTree; the start rows."""
    from core.store.clickhouse import sorting_key

    lite = open_db(tmp_path / "a.db", create=True)
    house = engines.open_database(f"chdb:///{tmp_path / 'a.chdb'}", create=True)
    try:
        names = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        tables = {t.name: t for t in logical_tables()}
        types = {"TEXT": "String", "REAL": "Float64", "INTEGER": "Int64"}
        for name in names:
            key = sorting_key(tables[name])
            want = [
                (r[1], types[r[2]] if r[3] or r[1] in key else f"Nullable({types[r[2]]})")
                for r in lite.execute(f'PRAGMA table_info("{name}")')
            ]
            got = house.execute(
                "SELECT name, type FROM system.columns WHERE database = currentDatabase() "
                "AND table = ? ORDER BY position",
                (name,),
            ).fetchall()
            assert got == want, name
            engine, order = house.execute(
                "SELECT engine, sorting_key FROM system.tables "
                "WHERE database = currentDatabase() AND name = ?",
                (name,),
            ).fetchone()
            assert engine == "ReplacingMergeTree", name
            assert order.strip("()") == ", ".join(key), name
        assert sorting_key(tables["orders"]) == ("user_id", "order_id")
        assert sorting_key(tables["user_tags"]) == ("user_id", "tag")
        assert sorting_key(tables["meta"]) == ("key",)
        assert house.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert sorted(house.execute("SELECT * FROM column_flags").fetchall()) == sorted(
            lite.execute("SELECT * FROM column_flags").fetchall()
        )
        # the catalogue core reads, as SQLite answers it
        for name in ("users", "features"):  # (a key column is NOT NULL there: orders.order_id)
            pragma = f"PRAGMA table_info({name})"
            assert [r[:4] for r in house.execute(pragma)] == [r[:4] for r in lite.execute(pragma)]
        assert house.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", ("layer_rules",)
        ).fetchall() == [("layer_rules",)]
    finally:
        lite.close()
        house.close()


NASTY = ["x\\y", "tab\there", "two\nlines", "cr\r", "nul\0z", "\\N", 'it\'s "q"', "{p0:?}", "?"]


def test_clickhouse_values_are_bound_exactly(tmp_path: Path) -> None:
    """Every value reaches ClickHouse as a typed parameter and comes back as it went: text
    with backslashes, tabs, newlines, NUL, quotes, markers; numbers; None."""
    from core.store.clickhouse import prepare

    house = engines.open_database(f"chdb:///{tmp_path / 'a.chdb'}", create=True)
    try:
        for value in [*NASTY, 7, -(2**63), 2.5, None, True]:
            assert house.execute("SELECT ?", (value,)).fetchone() == (value,), value
            assert house.execute("SELECT {v:?}", {"v": value}).fetchone() == (value,), value
        text, values = prepare("SELECT {x:?} AS \"a?\", '{x:?} ?', {x:?}", {"x": 1})
        assert text == "SELECT {x:Int64} AS \"a?\", '{x:?} ?', {x:Int64}" and values == {"x": 1}
        text, values = prepare("SELECT ?, ? FROM t WHERE 'a?' = ?", (1, "b", None))
        assert text == (
            "SELECT {_q0:Int64}, {_q1:String} FROM t WHERE 'a?' = {_q2:Nullable(String)}"
        )
        house.execute("INSERT INTO users(user_id, name) VALUES (?, ?)", ("u1", NASTY[2]))
        assert house.execute("SELECT name FROM users WHERE user_id = ?", ("u1",)).fetchone() == (
            NASTY[2],
        )
    finally:
        house.close()


def test_clickhouse_answers_as_sqlite_does(tmp_path: Path) -> None:
    """The settings that make ClickHouse's answers SQLite's: an outer join's missing side is
    NULL (join_use_nulls), a sum or average of no rows is NULL, UNION is DISTINCT, NaN is no
    value, '' and NULL stay apart; each statement as core writes it, on both engines."""
    lite = open_db(tmp_path / "a.db", create=True)
    rows = [("u1", "上海"), ("u2", ""), ("u3", None)]
    lite.executemany("INSERT INTO users(user_id, city) VALUES (?, ?)", rows)
    lite.execute("INSERT INTO orders VALUES ('o1', 'u1', 10, '2024-06-01')")
    lite.commit()
    lite.close()
    copy_database(tmp_path / "a.db", f"chdb:///{tmp_path / 'a.chdb'}")
    lite = open_db(tmp_path / "a.db", readonly=True)
    house = engines.open_database(f"chdb:///{tmp_path / 'a.chdb'}", readonly=True)
    statements = [
        "SELECT u.user_id, o.amount, o.order_id FROM users AS u LEFT JOIN orders AS o "
        "ON o.user_id = u.user_id ORDER BY u.user_id",
        "SELECT sum(amount), avg(amount), max(created_at), count(*) FROM orders WHERE amount < 0",
        "SELECT user_id FROM users UNION SELECT user_id FROM orders ORDER BY 1",
        "SELECT count(*) FROM users WHERE city = ''",
        "SELECT count(*) FROM users WHERE city IS NULL",
    ]
    scalar = "(SELECT count(*) FROM orders WHERE user_id = u.user_id)"
    per_user = "SELECT user_id, {} FROM users AS u ORDER BY user_id"
    try:
        for sql in statements:
            assert house.execute(sql).fetchall() == lite.execute(sql).fetchall(), sql
        # a correlated subquery is a join on ClickHouse: a user without rows gets NULL; the
        # dialect's empty_is_zero makes it SQLite's 0 (the language's count/spent of a window)
        assert house.execute(per_user.format(scalar)).fetchall() == [
            ("u1", 1),
            ("u2", None),
            ("u3", None),
        ]
        wrapped = per_user.format(CLICKHOUSE.empty_is_zero(scalar))
        assert house.execute(wrapped).fetchall() == lite.execute(per_user.format(scalar)).fetchall()
    finally:
        lite.close()
        house.close()


def test_opening_chdb_faults_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no such directory"):
        engines.open_database(f"chdb:///{tmp_path / 'none.chdb'}")
    lite = tmp_path / "a.db"
    open_db(lite, create=True).close()
    with pytest.raises(DatabaseError, match="is a file; a chDB database is a directory"):
        engines.open_database(f"chdb:///{lite}")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("mine")
    with pytest.raises(DatabaseError, match="not a chDB directory"):
        engines.open_database(f"chdb:///{tmp_path / 'docs'}")
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["notes.txt"]  # untouched
    # a directory another process has open: said before chDB would fail saying less
    import subprocess
    import sys

    url = f"chdb:///{tmp_path / 'held.chdb'}"
    held = engines.open_database(url, create=True)
    try:
        held.execute("SELECT 1")
        other = subprocess.run(
            [sys.executable, "-m", "tui", "segment", "count", url, "frequency > 1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        held.close()
    assert other.returncode == 2
    assert other.stderr == (
        f"userops: {tmp_path / 'held.chdb'}: held by another process (chDB lets one process "
        "open a directory); try again when it is done\n"
    )


def test_copy_to_chdb_and_back_is_identical(small_db: Path, tmp_path: Path) -> None:
    url = f"chdb:///{tmp_path / 'small.chdb'}"
    there = copy_database(small_db, url)
    back = copy_database(url, tmp_path / "back.db")
    original = snapshot(sqlite3.connect(small_db))
    assert snapshot(sqlite3.connect(tmp_path / "back.db")) == original
    assert there.rows == back.rows == {name: len(rows) for name, (_, rows) in original.items()}
    house = engines.open_database(url, readonly=True)
    try:
        assert house.execute("SELECT \"会员 等级\" FROM users WHERE user_id = 'u1'").fetchone() == (
            "gold",
        )
    finally:
        house.close()
    assert files(tmp_path) == ["back.db", "small.chdb", "small.db"]


def test_copy_between_duckdb_and_chdb(small_db: Path, tmp_path: Path) -> None:
    duck, house = f"duckdb:///{tmp_path / 's.duckdb'}", f"chdb:///{tmp_path / 's.chdb'}"
    copy_database(small_db, duck)
    copy_database(duck, house)
    copy_database(house, tmp_path / "back.db")
    assert snapshot(sqlite3.connect(tmp_path / "back.db")) == snapshot(sqlite3.connect(small_db))


def test_copy_to_chdb_keeps_an_existing_one_unless_forced(small_db: Path, tmp_path: Path) -> None:
    url = f"chdb:///{tmp_path / 'x.chdb'}"
    copy_database(small_db, url)
    conn = sqlite3.connect(small_db)
    conn.execute("DELETE FROM orders")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="exists; pass --force"):
        copy_database(small_db, url)
    house = engines.open_database(url, readonly=True)
    assert house.execute("SELECT count(*) FROM orders").fetchone() == (7,)
    house.close()
    copy_database(small_db, url, force=True)
    house = engines.open_database(url, readonly=True)
    assert house.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    house.close()
    assert files(tmp_path) == ["small.db", "x.chdb"]
    with pytest.raises(DatabaseError, match="one directory per process"):
        copy_database(url, f"chdb:///{tmp_path / 'y.chdb'}")
    with pytest.raises(DatabaseError, match="copying to a ClickHouse server is not supported"):
        copy_database(small_db, "clickhouse://ops@db1:8123/shop")


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (
            "INSERT INTO model_fits(model, n_customers, as_of) VALUES ('x', 'two', '')",
            "model_fits .*n_customers is INTEGER but holds 'two'",
        ),
        (  # SQLite lets a TEXT primary key be NULL; ClickHouse's sorting key cannot hold one
            "INSERT INTO meta(key, value) VALUES (NULL, 'x')",
            "table meta .*column key cannot be empty there but holds NULL",
        ),
    ],
)
def test_a_failed_copy_to_chdb_leaves_nothing(
    small_db: Path, tmp_path: Path, bad: str, says: str
) -> None:
    conn = sqlite3.connect(small_db)
    conn.execute(bad)
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match=says):
        copy_database(small_db, f"chdb:///{tmp_path / 'x.chdb'}")
    assert files(tmp_path) == ["small.db"]


class ChdbAsServer:
    """clickhouse-connect's client as the server backend calls it, answered by chDB: what a
    server would be sent (SQL with {name:Type}, the values as Python values, the settings)."""

    def __init__(self, path: str, **kwargs: object) -> None:
        from chdb.state import connect

        self.kwargs = kwargs
        settings = kwargs["settings"]
        assert isinstance(settings, dict)
        self.raw = connect(f"{path}?" + "&".join(f"{k}={v}" for k, v in settings.items()))
        self.sent: list[tuple[str, dict]] = []

    def query_arrow(self, sql: str, parameters: dict, use_strings: bool):
        from core.store.clickhouse import chdb_text

        assert use_strings is True
        self.sent.append((sql, dict(parameters)))
        params = {k: chdb_text(v) for k, v in parameters.items()}
        return self.raw.query(sql, "ArrowTable", params=params)

    def close(self) -> None:
        self.raw.close()


def test_a_clickhouse_server_through_clickhouse_connect(
    small_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """clickhouse://user:password@host:port/database opens through clickhouse-connect with the
    URL's parts and the settings; every statement reaches it with typed parameters and the
    values unformatted; the language counts what it counts on SQLite. (No ClickHouse server
    can be installed here: Debian's is 18.16, without query parameters; chDB answers.)"""
    import clickhouse_connect

    from core.query import compile_condition
    from core.store.clickhouse import SETTINGS
    from core.store.db import stored_as_of

    copy_database(small_db, f"chdb:///{tmp_path / 's.chdb'}")
    made: list[ChdbAsServer] = []

    def get_client(**kwargs: object) -> ChdbAsServer:
        made.append(ChdbAsServer(str(tmp_path / "s.chdb"), **kwargs))
        return made[0]

    monkeypatch.setattr(clickhouse_connect, "get_client", get_client)
    server = engines.open_database("clickhouse://ops:s3cret@db1:8124/shop", readonly=True)
    lite = open_db(small_db, readonly=True)
    try:
        assert made[0].kwargs == {
            "host": "db1",
            "port": 8124,
            "username": "ops",
            "password": "s3cret",
            "database": "shop",
            "settings": {**SETTINGS, "readonly": "2"},
        }
        assert engines.engine_of(server) == "clickhouse" and dialect_of(server) is CLICKHOUSE
        for text in ('city = "上海"', "orders(30d) >= 1", "did order then order within 1m"):
            counts = []
            for conn in (lite, server):
                compiled = compile_condition(conn, text, as_of=stored_as_of(conn) or AS_OF)
                sql = f"SELECT count(*) FROM features AS f WHERE {compiled.where}"
                counts.append(conn.execute(sql, compiled.params).fetchone()[0])
            assert counts[0] == counts[1], text
        sql, values = made[0].sent[-1]  # the sequence: dates as text, the month as a number
        assert "{p0:String}" in sql and ":Int64}" in sql and "{p0:?}" not in sql
        assert {type(v) for v in values.values()} == {str, int} and 1 in values.values()
    finally:
        server.close()
        lite.close()


def test_copy_leaves_out_an_imports_hidden_build(small_db: Path, tmp_path: Path) -> None:
    # a large first import's table under construction (or one a killed import left) is not
    # part of the database: a copy made meanwhile does not carry it
    conn = open_db(small_db)
    conn.execute("CREATE TABLE uo_import_4242_00ff_orders AS SELECT * FROM orders")
    conn.execute("CREATE TABLE uo_importer_notes (x TEXT)")  # not a build: kept
    conn.close()
    there = copy_database(small_db, f"duckdb:///{tmp_path / 'small.duckdb'}")
    assert "uo_import_4242_00ff_orders" not in there.rows
    assert there.rows["uo_importer_notes"] == 0 and there.rows["orders"] == 7
    copy_database(f"duckdb:///{tmp_path / 'small.duckdb'}", tmp_path / "back.db")
    back = snapshot(sqlite3.connect(tmp_path / "back.db"))
    original = snapshot(sqlite3.connect(small_db))
    del original["uo_import_4242_00ff_orders"]
    assert back == original
