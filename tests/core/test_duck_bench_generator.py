"""The 10M bench's SQL generator (bench/bench_duck_10m.py) at a tiny size: deterministic by its
seed, exactly the rows asked for, shaped as documented, and a database the app's commands take
(``userops check`` finds it sound)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from core.store.duck import schema_statements
from tui.cli import cli

USERS, ORDERS, EVENTS = 300, 3_000, 1_000


def _bench():
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_duck_10m.py"
    spec = importlib.util.spec_from_file_location("bench_duck_10m", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


bench = _bench()
bench.QUIET = True
CONFIG = {"threads": 2, "memory_limit": "1GB"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bench's database, seed 7."""
    path = tmp_path_factory.mktemp("gen") / "a.duckdb"
    bench.build(path, USERS, ORDERS, EVENTS, 7, CONFIG)
    return path


def generated(seed: int) -> duckdb.DuckDBPyConnection:
    """The rows of ``seed`` in an in-memory database of core's DuckDB tables."""
    con = duckdb.connect()
    for statement in schema_statements():
        con.execute(statement)
    bench.generate(con, USERS, ORDERS, EVENTS, seed)
    return con


@pytest.fixture
def con(built: Path):
    """A read-only connection to the built file, for one test."""
    con = duckdb.connect(str(built), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchone()


def test_deterministic_by_seed(con) -> None:
    same, other = generated(7), generated(8)
    for table in ("users", "orders", "events"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert same.execute(query).fetchall() == rows(con, table), table
        if table != "users":  # users draw only the city
            assert other.execute(query).fetchall() != rows(con, table), table


def test_counts_exact_and_shape(con) -> None:
    a = con
    assert one(a, "SELECT count(*) FROM users") == (USERS,)
    assert one(a, "SELECT count(*), count(DISTINCT order_id) FROM orders") == (ORDERS, ORDERS)
    assert one(a, "SELECT count(*) FROM events") == (EVENTS,)
    by_kind = dict(rows(a, "(SELECT kind, count(*) FROM events GROUP BY kind)"))
    assert by_kind == {
        "login": 350,
        "view": 300,
        "post": 80,
        "checkin": 100,
        "cart_add": 100,
        "share": 50,
        "coupon_use": 20,
    }
    assert bench.kind_counts(1_003)["login"] == 353  # the rounding remainder goes to login
    # buyers are the users with i mod 10 < 7 (a buyer whose share rounds to 0 has no orders)
    assert one(
        a,
        "SELECT count(*) FROM (SELECT DISTINCT user_id FROM orders) "
        "WHERE CAST(substr(user_id, 2) AS BIGINT) % 10 >= 7",
    ) == (0,)
    assert one(a, "SELECT count(DISTINCT user_id) FROM orders")[0] <= 210
    # order ids o0000000000 … contiguous; amounts in cents, at least 0.01
    assert one(a, "SELECT min(order_id), max(order_id) FROM orders") == (
        "o0000000000",
        "o0000002999",
    )
    assert one(
        a, "SELECT count(*) FROM orders WHERE amount < 0.01 OR round(amount, 2) <> amount"
    ) == (0,)
    # sign-ups spread over 2023 in id order; no order before its user's sign-up day, every row
    # within 2023-01-01 … 2024-12-30, every order's and event's user exists
    assert one(a, "SELECT min(signup_at), max(signup_at) FROM users") == (
        "2023-01-01 00:00:00",
        "2023-12-30 00:00:00",  # user 299 signs up on day 299 * 365 // 300 = 363
    )
    assert one(
        a,
        "SELECT count(*) FROM orders o LEFT JOIN users u USING (user_id) "
        "WHERE u.user_id IS NULL OR o.created_at < u.signup_at",
    ) == (0,)
    assert one(
        a,
        "SELECT count(*) FROM events e LEFT JOIN users u USING (user_id) "
        "WHERE u.user_id IS NULL OR substr(e.created_at, 1, 10) < substr(u.signup_at, 1, 10)",
    ) == (0,)
    for table in ("orders", "events"):
        low, high = one(a, f"SELECT min(created_at), max(created_at) FROM {table}")
        assert low >= "2023-01-01 00:00:00" and high <= "2024-12-30 23:59:59"
    # values only on view and cart_add, one of the 8 categories
    values = dict(
        rows(
            a, "(SELECT kind IN ('view', 'cart_add'), list(DISTINCT value) FROM events GROUP BY 1)"
        )
    )
    assert values[False] == [""]
    assert set(values[True]) <= set(bench.CATEGORIES)


def test_meta_as_an_import_leaves_it(con) -> None:
    a = con
    meta = dict(rows(a, "meta"))
    latest = one(
        a,
        "SELECT max(created_at) FROM (SELECT created_at FROM orders UNION ALL SELECT created_at FROM events)",
    )[0][:10]
    assert {k: meta[k] for k in ("data_latest", "as_of", "features_stale")} == {
        "data_latest": latest,
        "as_of": latest,
        "features_stale": "1",
    }
    assert "features_as_of" not in meta
    assert '"mbgnbd"' in meta["model_choice"]
    assert dict(rows(a, "column_flags")) == {
        "user_id": 0,
        "name": 0,
        "gender": 0,
        "city": 0,
        "channel": 0,
        "device": 0,
        "signup_at": 0,
        "phone": 1,
        "email": 1,
    }
    # core.store.duck.INDEXES, as a DuckDB database created by userops has them
    indexes = sorted(rows(a, "(SELECT index_name FROM duckdb_indexes())"))
    assert indexes == [("events_user",), ("orders_user",)]


def test_userops_check_finds_it_sound(built) -> None:
    a = built
    got = CliRunner().invoke(cli, ["check", f"duckdb:///{a}"])
    assert got.exit_code == 0, got.output
    assert got.output.startswith(f"{a}: ok (DuckDB check, ")


def test_bad_sizes_refused() -> None:
    con = duckdb.connect()
    with pytest.raises(ValueError, match="users >= 1"):
        bench.generate(con, 0, 10, 10, 7)
    with pytest.raises(ValueError, match="one per second"):
        bench.generate(con, 10, 10, 200_000_000, 7)
