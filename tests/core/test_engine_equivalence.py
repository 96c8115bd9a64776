"""The condition language on DuckDB counts what it counts on SQLite (issue 17, items 3 and 5).

The small databases of the language's tests, copied to DuckDB, give every hand-worked count of
test_query_compile, test_query_second and docs/query-language.md; a copy of demo.db copied to
DuckDB gives the SQLite count of every one of those conditions, from the stored columns and
from the raw events and orders (``materialised=False``)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
import test_query_compile
import test_query_docs
import test_query_second
from test_query_compile import AS_OF, build_small_db
from test_query_second import build_second_db

from core.audience import segments
from core.errors import CoreError, QueryError
from core.query import Compiled, compile_condition
from core.store.copy import copy_database
from core.store.db import open_db, stored_as_of
from core.store.duck import DuckDBConnection, open_duckdb

ROOT = Path(__file__).resolve().parents[2]
ALL_TEXTS = sorted(
    {t for t, _ in test_query_compile.CASES}
    | {t for t, _ in test_query_second.CASES}
    | set(test_query_docs.EXPECTED)
)


def on_duckdb(tmp: Path, build) -> DuckDBConnection:
    conn = open_db(tmp / "s.db", create=True)
    build(conn)
    conn.close()
    copy_database(tmp / "s.db", f"duckdb:///{tmp / 's.duckdb'}")
    return open_duckdb(tmp / "s.duckdb", readonly=True)


@pytest.fixture(scope="module")
def small_duck(tmp_path_factory: pytest.TempPathFactory) -> DuckDBConnection:
    conn = on_duckdb(tmp_path_factory.mktemp("small"), build_small_db)
    yield conn
    conn.close()


def _second_and_segment(conn: sqlite3.Connection) -> None:
    build_second_db(conn)
    segments.save(conn, "高价值沉默", "m >= 4 and recency_days > 30", as_of=AS_OF)


@pytest.fixture(scope="module")
def second_duck(tmp_path_factory: pytest.TempPathFactory) -> DuckDBConnection:
    conn = on_duckdb(tmp_path_factory.mktemp("second"), _second_and_segment)
    yield conn
    conn.close()


def count(conn, text: str, *, materialised: bool = True) -> int:
    as_of = stored_as_of(conn) or AS_OF
    compiled = compile_condition(conn, text, as_of=as_of, materialised=materialised)
    return segments.count(conn, compiled)


@pytest.mark.parametrize(("text", "expected"), test_query_compile.CASES)
def test_small_cases_on_duckdb(small_duck: DuckDBConnection, text: str, expected: int) -> None:
    assert count(small_duck, text) == expected


@pytest.mark.parametrize(("text", "expected"), test_query_second.CASES)
def test_second_cases_on_duckdb(second_duck: DuckDBConnection, text: str, expected: int) -> None:
    assert count(second_duck, text) == expected


@pytest.mark.parametrize(("text", "expected"), sorted(test_query_docs.EXPECTED.items()))
def test_documented_examples_on_duckdb(
    second_duck: DuckDBConnection, text: str, expected: int
) -> None:
    assert count(second_duck, text) == expected


def test_duckdb_sql_is_duckdbs_and_values_stay_bound(second_duck: DuckDBConnection) -> None:
    compiled = compile_condition(
        second_duck, 'city contains "上" and spent(1m) > 0', as_of=AS_OF, materialised=False
    )
    assert "$p0" in compiled.where and ":p0" not in compiled.where
    assert " LIKE translate(" in compiled.where and "上" not in compiled.where
    assert "+created_at" not in compiled.where  # SQLite's index hint has no meaning here


@pytest.mark.parametrize(
    ("value", "condition", "matches"),
    [
        ("ABC Shop", 'channel contains "abc"', True),  # ASCII letters fold, as in SQLite
        ("École", 'channel startswith "é"', False),  # other letters do not (SQLite's LIKE)
        ("école", 'channel startswith "é"', True),
        ("50%_off", 'channel contains "%_"', True),  # % and _ are literal
        ("50 off", 'channel contains "%_"', False),
    ],
)
def test_contains_folds_case_as_sqlite_does(
    tmp_path: Path, value: str, condition: str, matches: bool
) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO features(user_id, channel) VALUES ('u1', ?)", (value,))
        conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")

    duck = on_duckdb(tmp_path, build)
    lite = open_db(tmp_path / "s.db")
    try:
        assert count(lite, condition) == count(duck, condition) == int(matches)
    finally:
        duck.close()
        lite.close()


@pytest.mark.parametrize(
    ("first", "then", "matches"),
    [  # `within 1m` from 01-31 runs to 03-02 (SQLite's month arithmetic, 2024 is a leap year)
        ("2024-01-31 10:00:00", "2024-03-02 10:00:00", True),
        ("2024-01-31 10:00:00", "2024-03-02 10:00:01", False),
        ("2024-03-31", "2024-05-01 00:00:00", True),  # a date alone is midnight
        ("2024-03-31", "2024-05-01 00:00:01", False),
    ],
)
def test_month_windows_reckon_as_sqlite_does(
    tmp_path: Path, first: str, then: str, matches: bool
) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO users(user_id) VALUES ('u1')")
        conn.execute("INSERT INTO features(user_id) VALUES ('u1')")
        conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")
        conn.executemany(
            "INSERT INTO orders VALUES (?, 'u1', 10, ?)", [("o1", first), ("o2", then)]
        )

    duck = on_duckdb(tmp_path, build)
    lite = open_db(tmp_path / "s.db")
    try:
        text = "did order then order within 1m"
        assert count(lite, text) == count(duck, text) == int(matches)
    finally:
        duck.close()
        lite.close()


def test_text_read_as_a_number_as_sqlite_does(tmp_path: Path) -> None:
    """An imported text attribute compared with a number: SQLite's CAST takes the leading number
    ('12 kg' is 12, 'abc' is 0); DuckDB's TRY_CAST alone would make them NULL."""
    values = ["12 kg", "abc", " 3.5e1x", "-2", None, "7"]

    def build(conn: sqlite3.Connection) -> None:
        conn.execute('ALTER TABLE users ADD COLUMN "size" TEXT')
        conn.executemany(
            'INSERT INTO users(user_id, "size") VALUES (?, ?)',
            [(f"u{i}", v) for i, v in enumerate(values)],
        )
        conn.executemany(
            "INSERT INTO features(user_id) VALUES (?)", [(f"u{i}",) for i in range(len(values))]
        )
        conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")

    duck = on_duckdb(tmp_path, build)
    lite = open_db(tmp_path / "s.db")
    try:
        for text, expected in (("size < 5", 2), ("size >= 10", 2), ("size = 0", 1)):
            assert count(lite, text) == count(duck, text) == expected, text
    finally:
        duck.close()
        lite.close()


@pytest.fixture(scope="module")
def demo_pair(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "demo.db", tmp / "demo.db")  # a copy: opening may upgrade it
    copy_database(tmp / "demo.db", f"duckdb:///{tmp / 'demo.duckdb'}")
    lite = open_db(tmp / "demo.db", readonly=True)
    duck = open_duckdb(tmp / "demo.duckdb", readonly=True)
    yield lite, duck
    lite.close()
    duck.close()


def outcome(conn, text: str, materialised: bool) -> int | str:
    try:
        return count(conn, text, materialised=materialised)
    except QueryError as exc:  # a name the demo does not have: the same error on both
        return f"QueryError: {exc}"


@pytest.mark.parametrize("materialised", [True, False], ids=["stored", "raw"])
def test_demo_counts_are_identical(demo_pair, materialised: bool) -> None:
    lite, duck = demo_pair
    on_sqlite = {t: outcome(lite, t, materialised) for t in ALL_TEXTS}
    on_duckdb = {t: outcome(duck, t, materialised) for t in ALL_TEXTS}
    assert on_duckdb == on_sqlite
    counted = [n for n in on_sqlite.values() if isinstance(n, int)]
    assert len(counted) >= 60 and sum(counted) > 100_000  # real counts, not errors or zeros


def test_a_duckdb_count_stops_at_the_time_limit(demo_pair) -> None:
    """--time-limit on DuckDB: a watcher interrupts the statement (DuckDB has no progress
    callback); the error is the one SQLite gives."""

    lite, duck = demo_pair
    slow = Compiled("slow", "(SELECT count(*) FROM events AS a, events AS b) > 0", {}, "", "")
    started = time.perf_counter()
    with pytest.raises(CoreError, match="ran longer than the time limit of 0.05 s"):
        segments.count(duck, slow, limit_s=0.05)
    assert time.perf_counter() - started < 5
    assert count(duck, "frequency >= 1") == count(lite, "frequency >= 1") > 0  # still counts


def walk(conn, order: str, descending: bool, condition: Compiled | None) -> list:
    """Three pages forward, one back from the third, and the last page: what a screen reads."""
    from core.views import users

    seen, after = [], None
    for _ in range(3):
        got = users.page(
            conn, condition=condition, order=order, descending=descending, after=after, limit=40
        )
        seen.append(got)
        after = got.next_key
    back = users.page_before(
        conn,
        before=seen[2].rows[0].key(order),
        condition=condition,
        order=order,
        descending=descending,
        limit=40,
    )
    last = users.last_page(conn, condition=condition, order=order, descending=descending, limit=40)
    return [*seen, back, last]


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_users_pages_are_identical(demo_pair, descending: bool) -> None:
    """The users list's keyset pages (core.views.users) on DuckDB, every sort column, with and
    without a condition: the same rows in the same order, NULLs where SQLite puts them."""
    from core.views.users import SORT_COLUMNS, count, overview, search

    lite, duck = demo_pair
    for text in (None, 'layer in ("buyer", "churned") or city = "上海"'):
        conds = [
            None if text is None else compile_condition(c, text, as_of=stored_as_of(c))
            for c in (lite, duck)
        ]
        assert count(lite, conds[0]) == count(duck, conds[1]) > 1000
        for order in SORT_COLUMNS:
            assert walk(duck, order, descending, conds[1]) == walk(
                lite, order, descending, conds[0]
            ), (order, text)
    assert overview(duck) == overview(lite)
    for text in ("U00004", "王", "138"):
        assert search(duck, text) == search(lite, text)
