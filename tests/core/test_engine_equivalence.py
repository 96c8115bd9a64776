"""The condition language on DuckDB and on ClickHouse (chDB) counts what it counts on SQLite
(issue 17, items 3 and 5).

The small databases of the language's tests, copied to each engine, give every hand-worked
count of test_query_compile, test_query_second and docs/query-language.md; a copy of demo.db
copied to each engine gives the SQLite count of every one of those conditions, from the stored
columns and from the raw events and orders (``materialised=False``). Each way an engine
differs from SQLite that would change a count has a test of its own here."""

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
from core.store.engines import open_database

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ["duckdb", "chdb"]  # beside SQLite
SUFFIX = {"duckdb": "duckdb", "chdb": "chdb"}
ALL_TEXTS = sorted(
    {t for t, _ in test_query_compile.CASES}
    | {t for t, _ in test_query_second.CASES}
    | set(test_query_docs.EXPECTED)
)


def url(engine: str, path: Path) -> str:
    """The engine's URL of ``path`` (absolute: four slashes)."""
    return f"{engine}:///{path.with_suffix('.' + SUFFIX[engine])}"


def on_engine(engine: str, tmp: Path, build):
    conn = open_db(tmp / "s.db", create=True)
    build(conn)
    conn.close()
    copy_database(tmp / "s.db", url(engine, tmp / "s"))
    return open_database(url(engine, tmp / "s"), readonly=True)


@pytest.fixture(scope="module", params=ENGINES)
def small_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    conn = on_engine(request.param, tmp_path_factory.mktemp("small"), build_small_db)
    yield conn
    conn.close()


def _second_and_segment(conn: sqlite3.Connection) -> None:
    build_second_db(conn)
    segments.save(conn, "高价值沉默", "m >= 4 and recency_days > 30", as_of=AS_OF)


@pytest.fixture(scope="module", params=ENGINES)
def second_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    conn = on_engine(request.param, tmp_path_factory.mktemp("second"), _second_and_segment)
    yield conn
    conn.close()


def count(conn, text: str, *, materialised: bool = True) -> int:
    as_of = stored_as_of(conn) or AS_OF
    compiled = compile_condition(conn, text, as_of=as_of, materialised=materialised)
    return segments.count(conn, compiled)


@pytest.mark.parametrize(("text", "expected"), test_query_compile.CASES)
def test_small_cases(small_db, text: str, expected: int) -> None:
    assert count(small_db, text) == expected


@pytest.mark.parametrize(("text", "expected"), test_query_second.CASES)
def test_second_cases(second_db, text: str, expected: int) -> None:
    assert count(second_db, text) == expected


@pytest.mark.parametrize(("text", "expected"), sorted(test_query_docs.EXPECTED.items()))
def test_documented_examples(second_db, text: str, expected: int) -> None:
    assert count(second_db, text) == expected


def test_each_engines_sql_is_its_own_and_values_stay_bound(second_db) -> None:
    compiled = compile_condition(
        second_db, 'city contains "上" and spent(1m) > 0', as_of=AS_OF, materialised=False
    )
    marker = {"duckdb": "$p0", "chdb": "{p0:?}"}[second_db.engine]
    assert marker in compiled.where and ":p0" not in compiled.where
    assert " LIKE translate(" in compiled.where and "上" not in compiled.where
    assert "+created_at" not in compiled.where  # SQLite's index hint has no meaning here
    # ClickHouse's LIKE has no ESCAPE clause: its escape is the backslash the language binds
    assert ("ESCAPE" in compiled.where) == (second_db.engine == "duckdb")


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
@pytest.mark.parametrize("engine", ENGINES)
def test_contains_folds_case_as_sqlite_does(
    engine: str, tmp_path: Path, value: str, condition: str, matches: bool
) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO features(user_id, channel) VALUES ('u1', ?)", (value,))
        conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")

    other = on_engine(engine, tmp_path, build)
    lite = open_db(tmp_path / "s.db")
    try:
        assert count(lite, condition) == count(other, condition) == int(matches)
    finally:
        other.close()
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
@pytest.mark.parametrize("engine", ENGINES)
def test_month_windows_reckon_as_sqlite_does(
    engine: str, tmp_path: Path, first: str, then: str, matches: bool
) -> None:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO users(user_id) VALUES ('u1')")
        conn.execute("INSERT INTO features(user_id) VALUES ('u1')")
        conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")
        conn.executemany(
            "INSERT INTO orders VALUES (?, 'u1', 10, ?)", [("o1", first), ("o2", then)]
        )

    other = on_engine(engine, tmp_path, build)
    lite = open_db(tmp_path / "s.db")
    try:
        text = "did order then order within 1m"
        assert count(lite, text) == count(other, text) == int(matches)
    finally:
        other.close()
        lite.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_text_read_as_a_number_as_sqlite_does(engine: str, tmp_path: Path) -> None:
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

    other = on_engine(engine, tmp_path, build)
    lite = open_db(tmp_path / "s.db")
    try:
        for text, expected in (("size < 5", 2), ("size >= 10", 2), ("size = 0", 1)):
            assert count(lite, text) == count(other, text) == expected, text
    finally:
        other.close()
        lite.close()


def _differences(conn: sqlite3.Connection) -> None:
    """u1 ordered in the last 30 days only, u2 in the 30 before only, u3 never; u2's
    recency is 0 days (a division by zero); cities: text, '' and none; u4 and u5 ordered on
    2020-02-29 and again a year later, at and just after SQLite's 2021-03-01."""
    conn.executemany(
        "INSERT INTO users(user_id, city) VALUES (?, ?)",
        [("u1", "上海"), ("u2", ""), ("u3", None), ("u4", None), ("u5", None)],
    )
    conn.executemany(
        "INSERT INTO features(user_id, city, frequency, recency_days) VALUES (?, ?, ?, ?)",
        [("u1", "上海", 3, 2), ("u2", "", 1, 0), ("u3", None, 0, None), ("u4",) + (None,) * 3]
        + [("u5",) + (None,) * 3],
    )
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [
            ("o1", "u1", 40, "2024-06-20 10:00:00"),
            ("o2", "u2", 30, "2024-05-10 10:00:00"),
            ("o3", "u4", 5, "2020-02-29 12:00:00"),
            ("o4", "u4", 5, "2021-03-01 12:00:00"),
            ("o5", "u5", 5, "2020-02-29 12:00:00"),
            ("o6", "u5", 5, "2021-03-01 12:00:01"),
        ],
    )
    conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")


# each way ClickHouse (and DuckDB) would count otherwise, with SQLite's count
DIFFERENCES = [
    # a window without rows is 0, not NULL (a correlated subquery is a join on ClickHouse)
    ("spent(30d) > 2 * spent(-59d..-30d)", 1),
    ("spent(30d) = 0", 4),
    ("count(login, 30d) = 0", 5),
    ("orders(30d) + orders(-59d..-30d) = 1", 2),
    # a / 0 has no value (ClickHouse's is inf or nan); its complement counts it
    ("frequency / recency_days > 1", 1),
    ("not (frequency / recency_days > 1)", 4),
    # real division on every engine (ClickHouse's / is real; SQLite's integers are not)
    ("frequency / 2 = 1.5", 1),
    # '' and NULL stay apart
    ('city = ""', 1),
    ("city is empty", 4),
    ('city != "上海"', 4),
    # within 1y from 02-29 runs to 03-01 of the next year, as SQLite's date functions do
    # (ClickHouse's addYears stops at 02-28)
    ("did order then order within 1y", 1),
    ("did order then order within 13m", 2),
]


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_differences_count_as_on_sqlite(engine: str, tmp_path: Path) -> None:
    other = on_engine(engine, tmp_path, _differences)
    lite = open_db(tmp_path / "s.db")
    try:
        for text, expected in DIFFERENCES:
            for materialised in (True, False):
                got = (
                    count(lite, text, materialised=materialised),
                    count(other, text, materialised=materialised),
                )
                assert got == (expected, expected), (text, materialised)
    finally:
        other.close()
        lite.close()


@pytest.fixture(scope="module", params=ENGINES)
def demo_pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "demo.db", tmp / "demo.db")  # a copy: opening may upgrade it
    copy_database(tmp / "demo.db", url(request.param, tmp / "demo"))
    lite = open_db(tmp / "demo.db", readonly=True)
    other = open_database(url(request.param, tmp / "demo"), readonly=True)
    yield lite, other
    lite.close()
    other.close()


def outcome(conn, text: str, materialised: bool) -> int | str:
    try:
        return count(conn, text, materialised=materialised)
    except QueryError as exc:  # a name the demo does not have: the same error on both
        return f"QueryError: {exc}"


@pytest.mark.parametrize("materialised", [True, False], ids=["stored", "raw"])
def test_demo_counts_are_identical(demo_pair, materialised: bool) -> None:
    lite, other = demo_pair
    on_sqlite = {t: outcome(lite, t, materialised) for t in ALL_TEXTS}
    on_other = {t: outcome(other, t, materialised) for t in ALL_TEXTS}
    assert on_other == on_sqlite
    counted = [n for n in on_sqlite.values() if isinstance(n, int)]
    assert len(counted) >= 60 and sum(counted) > 100_000  # real counts, not errors or zeros


# a statement that runs long: DuckDB's is stopped; chDB's (which cannot be cancelled) runs on in
# the background to its end, so it is one that ends by itself (2 s asleep, no CPU)
SLOW = {
    "duckdb": "(SELECT count(*) FROM events AS a, events AS b) > 0",
    "chdb": "(SELECT max(sleepEachRow(1)) FROM numbers(2)) = 0",
}


def test_a_count_stops_at_the_time_limit(demo_pair) -> None:
    """--time-limit: DuckDB's statement is interrupted by a watcher (it has no progress
    callback); on chDB the count stops waiting for its statement. The error is SQLite's."""

    lite, other = demo_pair
    slow = Compiled("slow", SLOW[other.engine], {}, "", "")
    started = time.perf_counter()
    with pytest.raises(CoreError, match="ran longer than the time limit of 0.05 s"):
        segments.count(other, slow, limit_s=0.05)
    assert time.perf_counter() - started < 1.5
    assert count(other, "frequency >= 1") == count(lite, "frequency >= 1") > 0  # still counts


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
    """The users list's keyset pages (core.views.users) on each engine, every sort column, with and
    without a condition: the same rows in the same order, NULLs where SQLite puts them."""
    from core.views.users import SORT_COLUMNS, count, overview, search

    lite, other = demo_pair
    for text in (None, 'layer in ("buyer", "churned") or city = "上海"'):
        conds = [
            None if text is None else compile_condition(c, text, as_of=stored_as_of(c))
            for c in (lite, other)
        ]
        assert count(lite, conds[0]) == count(other, conds[1]) > 1000
        for order in SORT_COLUMNS:
            assert walk(other, order, descending, conds[1]) == walk(
                lite, order, descending, conds[0]
            ), (order, text)
    assert overview(other) == overview(lite)
    for text in ("U00004", "王", "138"):
        assert search(other, text) == search(lite, text)


def _ties(conn: sqlite3.Connection) -> None:
    """t1's two orders at the same second, t2's an hour apart, t3's one order."""
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [("t1",), ("t2",), ("t3",)])
    conn.executemany("INSERT INTO features(user_id) VALUES (?)", [("t1",), ("t2",), ("t3",)])
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [
            ("o1", "t1", 5, "2024-06-10 10:00:00"),
            ("o2", "t1", 5, "2024-06-10 10:00:00"),
            ("o3", "t2", 5, "2024-06-10 10:00:00"),
            ("o4", "t2", 5, "2024-06-10 11:00:00"),
            ("o5", "t3", 5, "2024-06-10 10:00:00"),
        ],
    )
    conn.execute("INSERT INTO meta VALUES ('as_of', '2024-06-30')")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_row_at_the_same_second_does_not_follow(engine: str, tmp_path: Path) -> None:
    """B follows A strictly after it: DuckDB's next-row form of a one-kind sequence
    (Dialect.followed_by_next) skips the rows at A's own second, as SQLite's EXISTS does."""
    other = on_engine(engine, tmp_path, _ties)
    lite = open_db(tmp_path / "s.db")
    try:
        for text, expected in (
            ("did order then order within 1d", 1),  # t2
            ("did order then no order within 1d", 3),  # t1 (both), t2's second, t3
            ("did order in 30d then order within 1d", 1),
        ):
            got = (count(lite, text, materialised=False), count(other, text, materialised=False))
            assert got == (expected, expected), text
    finally:
        other.close()
        lite.close()
