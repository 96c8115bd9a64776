"""The second edition of the language: arithmetic, ranges, row filters, first(), sequences and
transitions, counted on the five-user database plus a few events and history rows (worked out by
hand below), their sentences, errors, completion and the bounds on hostile input."""

from __future__ import annotations

import sqlite3

import pytest
from test_query_compile import AS_OF, build_small_db

from core.audience.segments import count
from core.errors import QueryError
from core.query import compile_condition, complete, parse

# Besides test_query_compile's events: views with a value, one more cart add.
EXTRA_EVENTS = [
    ("u1", "view", "2024-06-25 10:00:00", "美妆"),
    ("u1", "view", "2024-06-26 10:00:00", "美妆"),
    ("u1", "view", "2024-06-27 10:00:00", "美妆"),
    ("u2", "view", "2024-06-28 10:00:00", "母婴"),
    ("u3", "view", "2024-05-10 10:00:00", "美妆"),  # outside 30d
    ("u1", "cart_add", "2024-06-27 12:00:00", "美妆"),  # no order after it
    ("u4", "login", "2024-06-30 09:00:00", ""),  # the new user logs in, never bought
]
# Two history dates: 2024-06-20 and the as-of date 2024-06-30 (= the features above).
LAYER_HISTORY = {
    "2024-06-20": {"u1": "dormant", "u2": "registered", "u3": "active", "u5": "dormant"},
    "2024-06-30": {
        "u1": "churned",
        "u2": "active",
        "u3": "active",
        "u4": "registered",
        "u5": "dormant",
    },
}
RFM_HISTORY = {
    "2024-06-20": {"u1": "important_value", "u3": "important_value", "u5": "general_winback"},
    "2024-06-30": {
        "u1": "important_retention",
        "u2": "general_development",
        "u3": "important_value",
        "u5": "general_winback",
    },
}
TAG_HISTORY = {
    "2024-06-20": [("夜猫子", "u3")],
    "2024-06-30": [("夜猫子", "u1"), ("夜猫子", "u3"), ("优惠券用户", "u2")],
}


def build_second_db(conn: sqlite3.Connection) -> None:
    build_small_db(conn)
    conn.executemany("INSERT INTO events VALUES (?,?,?,?)", EXTRA_EVENTS)
    for table in ("users", "features"):
        conn.execute(
            f"UPDATE {table} SET device = 'android', channel = 'miniapp' WHERE user_id = 'u5'"
        )
    conn.execute("UPDATE features SET clv = 1500 WHERE user_id = 'u3'")
    conn.execute("INSERT INTO user_tags VALUES ('u3', '优惠券用户')")
    for day, rows in LAYER_HISTORY.items():
        conn.executemany(
            "INSERT INTO layer_history VALUES (?,?,?)", [(day, u, x) for u, x in rows.items()]
        )
    for day, rows in RFM_HISTORY.items():
        conn.executemany(
            "INSERT INTO rfm_history VALUES (?,?,?)", [(day, u, x) for u, x in rows.items()]
        )
    for day, pairs in TAG_HISTORY.items():
        conn.executemany("INSERT INTO tag_history VALUES (?,?,?)", [(day, t, u) for t, u in pairs])


@pytest.fixture
def small(conn: sqlite3.Connection) -> sqlite3.Connection:
    build_second_db(conn)
    return conn


def n(conn: sqlite3.Connection, text: str) -> int:
    return count(conn, compile_condition(conn, text, as_of=AS_OF))


# monetary / frequency: u1 160, u2 50, u3 200, u4 0/0 (no value), u5 150
CASES = [
    # arithmetic
    ("monetary / frequency >= 160", 2),  # u1, u3
    ("monetary / frequency < 160", 2),  # u2, u5: u4 has no value
    ("monetary / frequency is empty", 1),  # u4
    ("not (monetary / frequency >= 160)", 3),  # the complement holds u4
    ("monetary / frequency != 50", 4),  # != is a complement too
    ("monetary / frequency in (50, 150)", 2),
    ("monetary / frequency between 100 and 180", 2),  # u1, u5
    ("monetary - 100 * frequency > 0", 3),  # u1 300, u3 300, u5 100; u2 -50, u4 0
    ("(monetary - 100) * 2 > 1000", 1),  # u1 1400; u3 1000 is not > 1000
    ("monetary - (frequency - 1) * 100 > 300", 2),  # u1 400, u3 400; u5 200, u4 100, u2 50
    ("frequency * 2 + 1 = 7", 1),  # u3
    ("monetary / 0 >= 0", 0),  # division by zero: no value
    ("monetary > frequency", 4),  # u4 0 > 0 fails
    ("spent(30d) > 2 * spent(-59d..-30d)", 2),  # u2 50 > 0, u3 450 > 0; u1 0 > 600
    ("count(login, 30d) < 0.7 * count(login, -59d..-30d)", 1),  # u1: 0 < 1.4
    ("count(view, 30d) + count(login, 30d) >= 3", 2),  # u1 3 + 0, u2 1 + 3; u3 0 + 2 no
    ("orders(90d) / orders() = 1", 2),  # u2 1/1, u3 3/3; u1 1/2, u5 0/1
    # ranges
    ("orders(-59d..-30d) >= 1", 1),  # u1's 2024-05-21
    ("spent(2024-06-01..2024-06-30) > 100", 1),  # u3 450
    ("count(login, -13d..-7d) >= 1", 0),  # 06-17..06-23: none
    ("count(login, -15d..-14d) >= 1", 1),  # u3 06-15, 06-16
    ("count(login, -30d..-0d) >= 3", 1),  # 05-31..06-30: u2 3 (u1 has 1)
    ("orders(2024-01-01..2030-01-01) >= 2", 2),  # end cut at D: u1 2, u3 3
    # row filters
    ('count(view, 30d, value = "美妆") >= 3', 1),  # u1
    ('count(view, value = "美妆") >= 1', 2),  # u1, u3 (no window: up to D)
    ('count(view, 30d, value in ("美妆", "母婴")) >= 1', 2),
    ('count(view, 30d, value != "美妆") >= 1', 1),  # u2
    ('count(cart_add, 7d, value in ("美妆", "母婴")) >= 1', 1),  # u1's 06-27 cart add
    ("orders(90d, amount >= 200) >= 2", 1),  # u3 200, 250
    ("orders(amount >= 300) >= 1", 2),  # u1 500, u5 300
    ("spent(90d, amount < 100) > 0", 1),  # u2
    # first
    ("first(order) > -7d", 1),  # u2 06-25
    ("first(order) < 2024-04-01", 2),  # u1, u5
    ("first(order) is empty", 1),  # u4
    ("first(order) between 2024-03-01 and 2024-03-31", 2),
    ("first(login) is empty", 1),  # u5
    ("first(login) >= 2024-06-01", 3),  # u2, u3, u4
    ("first(login) = 2024-06-15", 1),  # u3
    ("first(view) > -7d", 2),  # u1 06-25, u2 06-28 (u3's first view is 05-10)
    ("first(view) != 2024-06-25", 4),
    # sequences
    ("did login then order within 1d", 1),  # u1 05-20 10:00 -> 05-21 10:00
    ("did order then order within 90d", 2),  # u1, u3
    ("did cart_add then order within 1d", 0),
    ("did cart_add in 7d then no order within 1d", 2),  # u1 06-27, u3 06-29; u2 pending
    ("did cart_add in 3d then no order within 1d", 1),  # u3; u2 still pending
    ("did cart_add then no order within 2d", 1),  # u1 (u3's 06-29 + 2d is after D)
    ("did login then login within 1d", 1),  # u3; u2's 07-01 is after D
    ("did view in -10d..-2d then cart_add within 1d", 1),  # u1 06-26 view -> 06-27 cart
    ("not did cart_add in 7d then no order within 1d", 3),
    # transitions (before: 2024-06-20)
    ('entered layer "流失用户" within 7d', 1),  # u1
    ('entered layer "active" within 7d', 1),  # u2
    ('entered layer "注册用户" within 7d', 1),  # u4, new
    ('left layer "沉睡用户" within 7d', 1),  # u1
    ('left layer "沉睡用户" within 30d', 0),  # no history date before 06-01
    ('entered rfm "重要保持客户" within 7d', 1),
    ('left rfm "重要价值客户" within 7d', 1),
    ('entered tag "夜猫子" within 7d', 1),  # u1
    ('entered tag "优惠券用户" within 7d', 1),  # u2
    ('left tag "夜猫子" within 7d', 0),
    ('entered layer "流失用户" within 7d and rfm = "重要保持客户"', 1),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_count(small: sqlite3.Connection, text: str, expected: int) -> None:
    assert n(small, text) == expected


SENTENCES = [
    (
        "monetary / frequency >= 400",
        "消费金额 ÷ 消费频次 不小于 400",
        "amount spent / purchase count ≥ 400",
    ),
    (
        "(monetary - 100) * 2 > 1000",
        "（消费金额 - 100） × 2 大于 1000",
        "(amount spent - 100) * 2 > 1000",
    ),
    (
        "count(login, 30d) < 0.7 * count(login, -59d..-30d)",
        "近30天 登录次数 小于 0.7 × 59天前至30天前 登录次数",
        "login events in the last 30 days < 0.7 * login events from 59 days ago to 30 days ago",
    ),
    (
        'count(view, 30d, value = "美妆") >= 3',
        "近30天 值为 美妆 的 浏览次数 不小于 3",
        "view events with value 美妆 in the last 30 days ≥ 3",
    ),
    (
        "orders(90d, amount >= 200) >= 2",
        "近90天 金额不小于 200 的 订单数 不小于 2",
        "orders with amount ≥ 200 in the last 90 days ≥ 2",
    ),
    ("first(order) > -7d", "首次下单日期 晚于 7天前", "first order date is after 7 days ago"),
    (
        "did cart_add in 7d then no order within 1d",
        "近7天有加购 且其后 1天内没有下单",
        "did cart_add in the last 7 days then no order within 1 day",
    ),
    (
        "did login then order within 1d",
        "曾有登录 且其后 1天内有下单",
        "did login then order within 1 day",
    ),
    (
        'entered layer "沉睡用户" within 7d',
        "近7天内进入分层 沉睡用户",
        "entered layer dormant in the last 7 days",
    ),
    (
        'left rfm "重要价值客户" within 30d',
        "近30天内离开RFM分组 重要价值客户",
        "left RFM group important value in the last 30 days",
    ),
]


@pytest.mark.parametrize(("text", "zh", "en"), SENTENCES)
def test_sentences(small: sqlite3.Connection, text: str, zh: str, en: str) -> None:
    c = compile_condition(small, text, as_of=AS_OF)
    assert (c.human_zh, c.human_en) == (zh, en)


def test_values_are_parameters(small: sqlite3.Connection) -> None:
    c = compile_condition(small, 'count(view, 30d, value = "美妆") >= 3', as_of=AS_OF)
    assert "美妆" not in c.where and "美妆" in c.params.values()
    c = compile_condition(small, "did cart_add in 7d then no order within 1d", as_of=AS_OF)
    assert "cart_add" not in c.where
    assert {"cart_add", "+1 days", "2024-06-30 00:00:00"} <= set(c.params.values())


ERRORS = [
    # (text, position, a word of the message, suggestion)
    ("monetary / city > 1", 11, "not a number", None),
    ("monetary / frequncy > 1", 11, "did you mean", "frequency"),
    ('monetary + "a" > 1', 11, "Only numbers", None),
    ("first(order) + 1 > 2", 0, "is a date", None),
    ("orders(-10d..-20d) > 0", 7, "ends before it starts", None),
    ("count(login, 30d, amount > 3) > 0", 18, "events have value", None),
    ("orders(90d, value = 3) > 0", 12, "orders have amount", "amount"),
    ("count(view, 30d, value > 3) > 0", 25, "quoted", None),
    ('count(view, 30d, value > "a") > 0', 17, "= != in", None),
    ("did cart_ad then order within 1d", 4, "did you mean", "cart_add"),
    ("did cart_add then ordr within 1d", 18, "Unknown event kind", "order"),
    ("first(ordr) > -7d", 6, "did you mean 'order'", "order"),
    ("count(ordr, 30d) > 0", 6, "Unknown event kind", None),  # count() takes no orders
    ('entered layer "沉睡" within 7d', 14, "Unknown layer", None),
    ('entered rfm "重要保持" within 7d', 12, "did you mean", "重要保持客户"),
    ('entered tag "夜猫" within 7d', 12, "did you mean", "夜猫子"),
    ("first(login, 30d) > -7d", 13, "one event kind", None),
    ("first(order, amount > 3) > -7d", 13, "no filter", None),
    ('count(view, value = "a", 30d) > 0', 12, "one filter, last", None),
    ("did cart_add then order", 23, "expected within", None),
    ("spent(30d) > 2 * ", 16, "expected (, a date", None),
]


@pytest.mark.parametrize(("text", "pos", "word", "suggestion"), ERRORS)
def test_errors_are_positioned(
    small: sqlite3.Connection, text: str, pos: int, word: str, suggestion: str | None
) -> None:
    with pytest.raises(QueryError) as err:
        compile_condition(small, text, as_of=AS_OF)
    assert err.value.pos == pos, str(err.value)
    assert word in str(err.value)
    if suggestion is not None:
        assert err.value.suggestion == suggestion


def texts(conn: sqlite3.Connection, text: str) -> list[str]:
    return [c.text for c in complete(conn, text, len(text))]


KINDS = ["login", "view", "post", "checkin", "cart_add", "share", "coupon_use"]


def test_completion_of_the_new_constructs(small: sqlite3.Connection) -> None:
    assert texts(small, "count(") == KINDS
    assert texts(small, "first(") == [*KINDS, "order"]
    assert texts(small, "did ") == [*KINDS, "order"]
    assert texts(small, "did cart_add in 7d then no o") == ["order"]
    got = complete(small, "count(view, 30d, value = ", 25)
    assert [(c.text, c.count) for c in got] == [('"美妆"', 4), ('"母婴"', 1)]
    assert texts(small, 'count(view, 30d, value in ("美妆", ') == ['"美妆"', '"母婴"']
    assert texts(small, "count(view, ") == ["7d", "30d", "90d", "-59d..-30d", "value ="]
    assert texts(small, "orders(90d, a") == ["amount >="]
    assert texts(small, "entered layer ") == [
        '"流失用户"',
        '"活跃用户"',
        '"沉睡用户"',
        '"注册用户"',
    ]
    got = complete(small, 'left rfm "重要保', 13)
    assert [(c.text, c.count) for c in got] == [('"重要保持客户"', 1)]
    assert texts(small, "entered tag ") == ['"优惠券用户"', '"夜猫子"']  # 2 each: by name
    assert texts(small, "monetary / fr") == ["frequency"]
    assert texts(small, "first(order) ")[:3] == ["=", "<", "<="]
    assert "between" in texts(small, "count(login, 30d) ")
    assert texts(small, "ent") == ["entered layer", "entered rfm", "entered tag"]


# --- hostile input (issue 12, item 5): a positioned error or a bounded working answer ---

HOSTILE = [
    ("recency_days > " + "9" * 4300, 15, "more than 30 digits"),
    ("count(login, 99999999999d) > 1", 13, "100 years"),
    ("signup_at > -3000000d", 12, "100 years"),
    ("signup_at > 0000-01-01", 12, "not a valid date"),
    ("signup_at > 9999-12-31", 12, "not a valid date"),
    ("not " * 1000 + "r >= 4", 4 * 24, "nests more than 24"),
    ("(" * 1000 + "r >= 4" + ")" * 1000, None, None),  # parentheses alone add no depth
    (" or ".join(["r >= 4"] * 1000), 500 * len("r >= 4 or "), "more than 500 terms"),
    ("user_id in (" + ", ".join(f'"u{i}"' for i in range(50_000)) + ")", None, "longer than"),
    ("r in (" + ", ".join(str(i) for i in range(1500)) + ")", None, "more than 1,000 values"),
    ('city = "\udcff"', 8, "not valid UTF-8"),
    ("monetary " + "+ 1 " * 100 + "> 0", None, "nests more than 24"),
    ("(r >= 4 and (r >= 4 or " * 13 + "r >= 4" + "))" * 13, None, "nests more than 24"),
]


@pytest.mark.parametrize(("text", "pos", "word"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_is_a_positioned_error(
    small: sqlite3.Connection, text: str, pos: int | None, word: str | None
) -> None:
    if word is None:
        assert n(small, text) == 2  # r >= 4: u2, u3
        return
    with pytest.raises(QueryError) as err:
        compile_condition(small, text, as_of=AS_OF)
    assert word in str(err.value)
    if pos is not None:
        assert err.value.pos == pos
    else:
        assert 0 <= err.value.pos <= len(text)


def test_limits_that_still_run(small: sqlite3.Connection) -> None:
    """500 or-terms and 22 nested nots run (within SQLite's expression depth and parser stack)."""
    assert n(small, " or ".join(["r >= 4"] * 500)) == 2
    assert n(small, "not " * 22 + "r >= 4") == 2
    assert n(small, "not " * 21 + "r >= 4") == 3
    assert n(small, "(r >= 4 and (r >= 4 or " * 5 + "r >= 4" + "))" * 5) == 2
    assert n(small, " and ".join(f"monetary + {i} > {i}" for i in range(400))) == 4
    values = ", ".join(str(i) for i in range(1000))
    assert n(small, f"frequency in ({values})") == 5
    assert n(small, "recency_days < 1e3".replace("1e3", "9223372036854775808")) == 4


def test_no_traceback_from_the_parser_on_any_small_text() -> None:
    for text in ["did", "did x", "entered", "entered layer", "a..b", "count(..)", "1 + ", "* 2"]:
        with pytest.raises(QueryError):
            parse(text)


def test_a_count_stops_at_the_time_limit(small: sqlite3.Connection) -> None:
    from core.audience.segments import Compiled, time_limit
    from core.errors import CoreError

    slow = Compiled(
        "slow",
        "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
        "SELECT count(*) FROM c) > 0",
        {},
        "",
        "",
    )
    with pytest.raises(CoreError, match="longer than the time limit of 0.05 s"):
        count(small, slow, limit_s=0.05)
    assert count(small, compile_condition(small, "r >= 4", as_of=AS_OF), limit_s=5) == 2
    assert time_limit(small) == 60.0
    small.execute("INSERT INTO meta VALUES ('query_time_limit_s', '2.5')")
    assert time_limit(small) == 2.5


def test_cli_invalid_utf8_and_hostile_arguments(tmp_path) -> None:
    from click.testing import CliRunner

    from core.store.db import open_db
    from tui.cli import cli

    db = tmp_path / "c.db"
    conn = open_db(db, create=True)
    build_second_db(conn)
    conn.close()
    runner = CliRunner()
    for query in ['city = "\udcff"', "not " * 300 + "r >= 4", "r > " + "9" * 5000]:
        got = runner.invoke(cli, ["segment", "count", str(db), query, "--as-of", "2024-06-30"])
        assert got.exit_code == 2, got.output
        assert "Invalid condition" in got.output and "Traceback" not in got.output
    got = runner.invoke(
        cli, ["segment", "count", str(db), "monetary / frequency >= 160", "--as-of", "2024-06-30"]
    )
    assert got.exit_code == 0 and got.output.startswith("2 users")


# u4's cart adds for the sequences' edges: two at one time (neither follows the other), the
# next exactly 1 day later (within 1d), one 1 day and 1 second after that (not within 1d)
EDGE_EVENTS = [
    ("u4", "cart_add", "2024-06-10 08:00:00", ""),
    ("u4", "cart_add", "2024-06-10 08:00:00", "x"),
    ("u4", "cart_add", "2024-06-11 08:00:00", ""),
    ("u4", "cart_add", "2024-06-12 08:00:01", ""),
]
# with EDGE_EVENTS: u4 too has a cart add and no order after it
EDGE_COUNTS = {"did cart_add then no order within 2d": 2}
SEQUENCES = [
    (text, EDGE_COUNTS.get(text, expected))
    for text, expected in CASES
    if text.startswith(("did ", "not did "))
] + [
    ('did cart_add then cart_add within 1d and user_id = "u4"', 1),  # 06-10 -> 06-11, exactly
    ('did cart_add in 25d then no cart_add within 1d and user_id = "u4"', 1),  # 06-11's
    ('did cart_add in 19d then no cart_add within 1d and user_id = "u4"', 1),  # 06-12's
    ('did cart_add in 20d then cart_add within 1d and user_id = "u4"', 0),  # 06-11: + 1d 1s
    ('did cart_add then no cart_add within 2w and user_id = "u4"', 1),  # 06-12's: none after
    ('did cart_add then no cart_add within 1m and user_id = "u4"', 0),  # 06-12's month: pending
    ('did cart_add then cart_add within 1m and user_id = "u4"', 1),
    ('did cart_add then cart_add within 1w and user_id = "u4"', 1),
]


@pytest.fixture(scope="module")
def small_pair(tmp_path_factory: pytest.TempPathFactory):
    """The database above with EDGE_EVENTS, on SQLite and copied to DuckDB (whose sequences
    are one ASOF join, Dialect.followed, instead of SQLite's correlated EXISTS)."""
    from core.store.copy import copy_database
    from core.store.db import open_db
    from core.store.engines import open_database

    path = tmp_path_factory.mktemp("sequences") / "small.db"
    lite = open_db(path, create=True)
    build_second_db(lite)
    lite.executemany("INSERT INTO events VALUES (?,?,?,?)", EDGE_EVENTS)
    copy_database(path, f"duckdb:///{path.with_suffix('.duckdb')}")
    duck = open_database(f"duckdb:///{path.with_suffix('.duckdb')}", readonly=True)
    yield lite, duck
    lite.close()
    duck.close()


def test_sequences_on_duckdb_count_what_sqlite_counts(small_pair) -> None:
    lite, duck = small_pair
    assert "ASOF LEFT JOIN" in compile_condition(duck, SEQUENCES[0][0], as_of=AS_OF).where
    found = [(text, n(lite, text), n(duck, text)) for text, _ in SEQUENCES]
    assert found == [(text, expected, expected) for text, expected in SEQUENCES]
