"""Behaviour windows read from the columns the recompute stored give the same users as the
subquery over the raw events and orders (core/query/windows.py)."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from core.audience.segments import count
from core.pipeline import recompute
from core.query import compile_condition
from core.store.db import open_db, set_meta

AS_OF = date(2024, 6, 30)
KINDS = ("login", "post", "checkin", "view", "share", "coupon_use", "cart_add")
# Times on both sides of every window edge: D+1 (never counts), D, D-6 / D-7, D-29 / D-30,
# D-89 / D-90, plus a date-only order (midnight); then D-59 / D-60 (the previous 30 days,
# -59d..-30d, start on D-59; D-30 23:59:59 above is its last second).
EDGES = (
    "2024-07-01 00:00:00",
    "2024-06-30 23:59:59",
    "2024-06-24 00:00:00",
    "2024-06-23 23:59:59",
    "2024-06-01 00:00:00",
    "2024-05-31 23:59:59",
    "2024-04-02 00:00:00",
    "2024-04-01 23:59:59",
    "2024-04-02",
    "2024-05-02 00:00:00",
    "2024-05-01 23:59:59",
)

QUERIES = [
    "count(login, 30d) >= 3",
    "count(login, 30d) = 0",
    "count(login, 30d) >= 1",
    "count(login, 30d) != 0",
    "count(login, 30d) between 1 and 2",
    "count(view, 30d) < 1",
    "count(view, 30d) in (0)",
    "orders(90d) > 0.5",
    "spent(90d) > 0",
    "count(login, 30d) < 2",
    "count(login, 30d) != 1",
    "count(login, 30d) in (0, 2)",
    "count(login, 30d) not in (0, 1)",
    "count(login, 30d) between 0 and 1",
    "count(login, 7d) >= 1",
    "count(login, 1w) = 0",
    "count(post, 7d) >= 1",
    "count(post, 30d) <= 1",
    "count(checkin, 7d) > 0",
    "count(checkin, 30d) = 0",
    "count(view, 30d) >= 2",
    "count(share, 30d) = 1",
    "count(coupon_use, 90d) >= 1",
    "orders(30d) >= 1",
    "orders(90d) >= 2",
    "orders(90d) = 0",
    "orders() >= 3",
    "orders() = 0",
    "spent(30d) > 100",
    "spent(90d) > 500",
    "spent(90d) <= 200",
    "spent() >= 1000",
    "last(order) > -1d",
    "last(order) < -60d",
    "last(order) = 2024-06-30",
    "last(order) != 2024-06-30",
    "last(order) between 2024-04-02 and 2024-06-01",
    "last(order) is empty",
    "last(order) is not empty",
    "last(login) < -20d",
    "last(login) <= 2024-06-01",
    "last(login) > -60d",
    "last(login) >= 2024-03-01",
    "last(login) = 2024-06-30",
    "last(login) != 2024-06-30",
    "last(login) in (2024-06-30, 2024-06-01)",
    "last(login) not in (2024-06-30)",
    "last(login) between 2024-04-02 and 2024-06-01",
    "last(login) is empty",
    "last(login) is not empty",
    "last(view) < -20d",
    "last(view) >= 2024-05-01",
    "last(cart_add) <= -7d",
    "last(cart_add) is empty",
    'city = "上海" and count(login, 30d) = 0',
    "not (orders(90d) >= 2 or count(view, 30d) >= 2)",
    # the previous 30 days (-59d..-30d, or the same two dates): the *_prev_30d columns
    "count(login, -59d..-30d) >= 1",
    "count(login, -59d..-30d) = 0",
    "count(login, 2024-05-02..2024-05-31) between 1 and 3",
    "orders(-59d..-30d) >= 1",
    "orders(-59d..-30d) >= 1 and orders(30d) = 0",
    "spent(-59d..-30d) > 100",
    "spent(-59d..-30d) = 0",
]
# Windows with no stored column keep the subquery.
NOT_STORED = [
    "count(login, 14d) >= 1",
    "count(login, 1m) >= 1",
    "count(cart_add, 30d) >= 1",
    "count(view, 7d) >= 1",
    "count(login) >= 1",
    "orders(7d) >= 1",
    "last(post) > -7d",
    "last(login) > -7d",  # a recent range of the index beats the stored column
    "last(view) >= -31d",
    "count(login, -60d..-30d) >= 1",  # a range that is not the previous 30 days
    "orders(-59d..-31d) >= 1",
    "count(view, -59d..-30d) >= 1",  # no stored previous period of views
    "orders(-59d..-30d, amount >= 200) >= 1",  # filtered: the stored windows count every row
]


def _add_user(conn: sqlite3.Connection, i: int) -> str:
    uid = f"u{i:03d}"
    conn.execute(
        "INSERT INTO users(user_id, city, signup_at) VALUES (?, ?, '2023-01-01')",
        (uid, "上海" if i % 2 else "北京"),
    )
    return uid


def _random_times(rng: random.Random, k: int) -> list[str]:
    start = datetime(2024, 3, 1)
    spread = [start + timedelta(seconds=rng.randrange(125 * 86400)) for _ in range(k)]
    return [t.isoformat(" ") for t in spread] + rng.sample(EDGES, 2)


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """40 users with seeded random events and orders around every window edge, recomputed
    once for the module (the tests only read)."""
    conn = open_db(tmp_path_factory.mktemp("windows") / "w.db", create=True)
    _fill(conn, random.Random(11))
    set_meta(conn, "as_of", AS_OF.isoformat())
    recompute(conn, AS_OF)
    yield conn
    conn.close()


def _fill(conn: sqlite3.Connection, rng: random.Random) -> None:
    with conn:
        for i in range(40):
            uid = _add_user(conn, i)
            if i % 5 == 0:
                continue  # no events, no orders: every stored window is 0, never NULL
            for kind in rng.sample(KINDS, 4):
                for t in set(_random_times(rng, rng.randrange(4))):
                    conn.execute(
                        "INSERT INTO events(user_id, kind, created_at) VALUES (?, ?, ?)",
                        (uid, kind, t),
                    )
            for j, t in enumerate(_random_times(rng, rng.randrange(3))):
                conn.execute(
                    "INSERT INTO orders VALUES (?, ?, ?, ?)",
                    (f"o{i}_{j}", uid, float(rng.randrange(10, 400)), t),
                )


@pytest.mark.parametrize("text", QUERIES)
def test_stored_column_counts_the_same_users_as_the_subquery(computed, text) -> None:
    fast = compile_condition(computed, text, as_of=AS_OF)
    slow = compile_condition(computed, text, as_of=AS_OF, materialised=False)
    assert "SELECT" not in fast.where  # read from features: no subquery at all
    assert "SELECT" in slow.where
    assert fast.human_en == slow.human_en and fast.human_zh == slow.human_zh
    assert _members(computed, fast) == _members(computed, slow)


def test_the_comparisons_are_not_trivial(computed) -> None:
    """Each query above selects some but not all of the 40 users (else it proves little)."""
    sizes = {
        t: len(_members(computed, compile_condition(computed, t, as_of=AS_OF))) for t in QUERIES
    }
    assert [t for t, k in sizes.items() if not 0 < k < 40] == [], sizes


@pytest.mark.parametrize("text", NOT_STORED)
def test_windows_without_a_column_keep_the_subquery(computed, text) -> None:
    assert "SELECT" in compile_condition(computed, text, as_of=AS_OF).where


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("count(login, 14d) >= 1", "f.user_id IN (SELECT user_id FROM events WHERE"),
        ("count(login, 14d) != 0", "f.user_id IN (SELECT user_id FROM events WHERE"),
        ("orders(7d) > 0", "f.user_id IN (SELECT user_id FROM orders WHERE"),
        ("count(login, 14d) = 0", "f.user_id NOT IN (SELECT user_id FROM events WHERE"),
        ("count(login, 14d) < 1", "f.user_id NOT IN (SELECT user_id FROM events WHERE"),
    ],
)
def test_any_row_tests_need_no_group_by(computed, text: str, plain: str) -> None:
    c = compile_condition(computed, text, as_of=AS_OF)
    assert c.where.startswith(plain) and "GROUP BY" not in c.where


@pytest.mark.parametrize("text", ["count(login, 14d) >= 2", "spent(7d) > 0", "count(login) = 1"])
def test_other_count_tests_group_by_user(computed, text: str) -> None:
    assert "GROUP BY user_id HAVING" in compile_condition(computed, text, as_of=AS_OF).where


def test_another_as_of_date_keeps_the_subquery(computed) -> None:
    c = compile_condition(computed, "count(login, 30d) >= 1", as_of=date(2024, 6, 29))
    assert c.where.startswith("f.user_id IN (SELECT user_id FROM events")


def test_the_edges_count_by_hand(conn: sqlite3.Connection) -> None:
    """One user with a login at each window edge: D+1 never counts, D-29 00:00 is in the 30-day
    window and D-30 23:59:59 is not; D-6 is in the 7-day window, D-7 is not."""
    uid = _add_user(conn, 1)
    _add_user(conn, 2)  # no events at all
    for t in EDGES[:6]:
        conn.execute(
            "INSERT INTO events(user_id, kind, created_at) VALUES (?, 'login', ?)", (uid, t)
        )
    recompute(conn, AS_OF)
    row = conn.execute("SELECT logins_7d, logins_30d FROM features WHERE user_id = ?", (uid,))
    assert row.fetchone() == (2, 4)
    for text, expected in (
        ("count(login, 30d) = 4", 1),
        ("count(login, 7d) = 2", 1),
        ("count(login, 30d) = 0", 1),  # the user without events: 0, not NULL
        ("count(login, 30d) < 5", 2),
    ):
        fast = compile_condition(conn, text, as_of=AS_OF)
        assert "SELECT" not in fast.where
        assert count(conn, fast) == expected


def test_the_previous_period_edges_count_by_hand(conn: sqlite3.Connection) -> None:
    """-59d..-30d is D-59 00:00 … D-30 23:59:59: D-60 23:59:59 is before it, D-29 00:00 in the
    last 30 days; orders likewise, summed."""
    uid = _add_user(conn, 1)
    _add_user(conn, 2)  # nothing: 0, not NULL
    times = (
        "2024-05-01 23:59:59",  # D-60: out
        "2024-05-02 00:00:00",  # D-59: in
        "2024-05-31 23:59:59",  # D-30: in
        "2024-06-01 00:00:00",  # D-29: the last 30 days
    )
    for j, t in enumerate(times):
        conn.execute(
            "INSERT INTO events(user_id, kind, created_at) VALUES (?, 'login', ?)", (uid, t)
        )
        conn.execute("INSERT INTO orders VALUES (?, ?, ?, ?)", (f"o{j}", uid, 10.5 * (j + 1), t))
    conn.execute(
        "INSERT INTO events(user_id, kind, created_at) VALUES (?, 'view', ?)", (uid, times[1])
    )
    recompute(conn, AS_OF)
    got = conn.execute(
        "SELECT user_id, logins_prev_30d, orders_prev_30d, spent_prev_30d, logins_30d, orders_30d"
        " FROM features ORDER BY user_id"
    ).fetchall()
    assert got == [("u001", 2, 2, 52.5, 1, 1), ("u002", 0, 0, 0.0, 0, 0)]
    for text, expected in (
        ("count(login, -59d..-30d) = 2", 1),
        ("orders(-59d..-30d) = 2", 1),
        ("spent(-59d..-30d) = 52.5", 1),
        ("spent(-59d..-30d) = 0", 1),
        ("count(login, 30d) < 0.7 * count(login, -59d..-30d)", 1),  # 1 < 1.4
        ("spent(30d) > 2 * spent(-59d..-30d)", 0),  # 42 > 105: no
    ):
        fast = compile_condition(conn, text, as_of=AS_OF)
        slow = compile_condition(conn, text, as_of=AS_OF, materialised=False)
        assert "SELECT" not in fast.where, text
        assert count(conn, fast) == count(conn, slow) == expected, text


def test_stored_windows_are_never_null(computed) -> None:
    cols = "logins_30d, posts_7d, views_30d, coupon_uses_90d, orders_90d, spent_90d, frequency"
    cols += ", logins_prev_30d, orders_prev_30d, spent_prev_30d"
    row = computed.execute(f"SELECT {cols} FROM features WHERE user_id = 'u000'").fetchone()
    assert row == (0, 0, 0, 0, 0, 0.0, 0, 0, 0, 0.0)


def _members(conn: sqlite3.Connection, compiled) -> set[str]:
    sql = f"SELECT f.user_id FROM features AS f WHERE {compiled.where}"
    return {r[0] for r in conn.execute(sql, compiled.params)}


def test_days_since_login_by_hand(conn: sqlite3.Connection) -> None:
    """Whole days from the latest login (as of D) to D; a later login (D+1) does not count,
    other kinds do not count, and a user who never logged in has NULL (not 0)."""
    for i in (1, 2, 3):
        _add_user(conn, i)
    rows = [
        ("u001", "login", "2024-06-23 23:59:59"),
        ("u001", "login", "2024-07-01 00:00:00"),  # after D
        ("u001", "view", "2024-06-30 10:00:00"),
        ("u002", "login", "2024-06-30 00:00:01"),
        ("u003", "view", "2024-06-29 08:00:00"),
    ]
    conn.executemany("INSERT INTO events(user_id, kind, created_at) VALUES (?, ?, ?)", rows)
    recompute(conn, AS_OF)
    got = dict(conn.execute("SELECT user_id, days_since_login FROM features").fetchall())
    assert got == {"u001": 7, "u002": 0, "u003": None}
    got = dict(conn.execute("SELECT user_id, days_since_view FROM features").fetchall())
    assert got == {"u001": 0, "u002": None, "u003": 1}
    c = compile_condition(conn, "last(login) < -3d", as_of=AS_OF)
    assert c.where.startswith('+f."days_since_login" >')
    assert _members(conn, c) == {"u001"}


SECOND_EDITION = [
    "monetary / frequency >= 150",
    "spent(30d) > 2 * spent(-59d..-30d)",
    "count(login, 30d) < 0.7 * count(login, -59d..-30d)",
    "count(login, -29d..-0d) >= 2",  # the same days as 30d: the stored column
    "orders(30d) < orders(-59d..-30d)",
    "spent(-59d..-30d) / spent(30d) > 2",
    "orders(90d) / orders() = 1",
    "first(order) > -30d",
    "first(order) <= 2024-04-15",
    "first(login) is empty",  # the stored days since the last login is empty
    "first(view) is not empty",
]


@pytest.mark.parametrize(
    "text",
    [
        "spent(30d) > 2 * spent(-59d..-30d)",
        "count(login, 30d) < 0.7 * count(login, -59d..-30d)",  # the activity-drop strategy
        "orders(30d) < orders(-59d..-30d)",
    ],
)
def test_the_previous_period_arithmetic_reads_only_stored_columns(computed, text) -> None:
    where = compile_condition(computed, text, as_of=AS_OF).where
    assert "SELECT" not in where and "_prev_30d" in where


@pytest.mark.parametrize("text", SECOND_EDITION)
def test_second_edition_stored_and_raw_agree(computed, text) -> None:
    fast = compile_condition(computed, text, as_of=AS_OF)
    slow = compile_condition(computed, text, as_of=AS_OF, materialised=False)
    assert fast.human_en == slow.human_en
    assert _members(computed, fast) == _members(computed, slow)


def test_recompute_writes_the_rfm_and_tag_histories(computed) -> None:
    day = AS_OF.isoformat()
    rfm = computed.execute("SELECT count(*) FROM rfm_history WHERE as_of = ?", (day,)).fetchone()
    buyers = computed.execute(
        "SELECT count(*) FROM features WHERE rfm_group IS NOT NULL"
    ).fetchone()
    assert rfm == buyers and rfm[0] > 0
    tags = computed.execute("SELECT count(*) FROM tag_history WHERE as_of = ?", (day,)).fetchone()
    assert tags == computed.execute("SELECT count(*) FROM user_tags").fetchone()
