"""Compile + count every construct of the language on a five-user database with known answers."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from core.audience.segments import count, save
from core.errors import QueryError
from core.query import compile_condition

AS_OF = date(2024, 6, 30)

FEATURES = [
    # user_id, name, gender, city, signup_at, recency, frequency, monetary, r, f, m, rfm, layer, p_alive
    (
        "u1",
        "Alice",
        "F",
        "上海",
        "2024-01-10",
        40,
        5,
        800.0,
        2,
        4,
        5,
        "important_retention",
        "churned",
        0.2,
    ),
    (
        "u2",
        "Bob_1",
        "M",
        "北京",
        "2024-06-20",
        5,
        1,
        50.0,
        5,
        1,
        1,
        "general_development",
        "active",
        0.9,
    ),
    (
        "u3",
        "100%",
        "F",
        "上海",
        "2023-03-01",
        10,
        3,
        600.0,
        4,
        3,
        4,
        "important_value",
        "active",
        0.8,
    ),
    (
        "u4",
        "张三",
        None,
        "成都",
        "2024-06-30",
        None,
        0,
        0.0,
        None,
        None,
        None,
        None,
        "registered",
        None,
    ),
    (
        "u5",
        "Eve",
        "M",
        None,
        "2022-12-31",
        100,
        2,
        300.0,
        1,
        2,
        3,
        "general_winback",
        "dormant",
        0.4,
    ),
]
TIERS = {"u1": "一线", "u2": "一线", "u3": "一线", "u4": "二线", "u5": None}
EVENTS = [
    ("u1", "login", "2024-05-20 10:00:00"),
    ("u1", "login", "2024-05-31 23:59:59"),
    ("u2", "login", "2024-06-01 00:00:00"),
    ("u2", "login", "2024-06-10 12:00:00"),
    ("u2", "login", "2024-06-30 23:00:00"),
    ("u2", "login", "2024-07-01 00:00:00"),  # after as-of: never counts
    ("u3", "login", "2024-06-15 09:00:00"),
    ("u3", "login", "2024-06-16 09:00:00"),
    ("u2", "cart_add", "2024-06-30 08:00:00"),
    ("u3", "cart_add", "2024-06-29 08:00:00"),
]
ORDERS = [
    ("o1", "u1", 500.0, "2024-03-01 10:00:00"),
    ("o2", "u1", 300.0, "2024-05-21 10:00:00"),
    ("o3", "u2", 50.0, "2024-06-25 10:00:00"),
    ("o4", "u3", 200.0, "2024-06-20 10:00:00"),
    ("o5", "u3", 250.0, "2024-06-10 10:00:00"),
    ("o6", "u3", 150.0, "2024-04-02 00:00:00"),  # first day of the 90-day window
    ("o7", "u5", 300.0, "2024-03-22 10:00:00"),
]


def build_small_db(conn: sqlite3.Connection) -> None:
    """Five users whose right answers are worked out by hand in the tests."""
    conn.execute("ALTER TABLE users ADD COLUMN city_tier TEXT")
    cols = (
        "user_id, name, gender, city, signup_at, recency_days, frequency, monetary, "
        "r_score, f_score, m_score, rfm_group, layer, p_alive"
    )
    conn.executemany(f"INSERT INTO features({cols}) VALUES ({', '.join('?' * 14)})", FEATURES)
    conn.executemany(
        "INSERT INTO users(user_id, name, gender, city, signup_at, city_tier) VALUES (?,?,?,?,?,?)",
        [(r[0], r[1], r[2], r[3], r[4], TIERS[r[0]]) for r in FEATURES],
    )
    conn.executemany("INSERT INTO events(user_id, kind, created_at) VALUES (?,?,?)", EVENTS)
    conn.executemany("INSERT INTO orders VALUES (?,?,?,?)", ORDERS)
    conn.executemany(
        "INSERT INTO layer_rules(position, key, name_zh, name_en, condition) VALUES (?,?,?,?,?)",
        [
            (1, "churned", "流失用户", "churned", "recency_days > 60"),
            (2, "active", "活跃用户", "active", "logins_30d >= 1"),
            (3, "dormant", "沉睡用户", "dormant", "recency_days > 30"),
            (4, "registered", "注册用户", "registered", "frequency = 0"),
        ],
    )
    conn.executemany(
        "INSERT INTO tag_rules(name, dimension, condition) VALUES (?,?,?)",
        [
            ("夜猫子", "behavioural", "night_order_share > 0.5"),
            ("优惠券用户", "behavioural", "coupon_uses_90d >= 1"),
        ],
    )
    conn.executemany(
        "INSERT INTO user_tags VALUES (?, ?)",
        [("u1", "夜猫子"), ("u3", "夜猫子"), ("u2", "优惠券用户")],
    )
    conn.execute("INSERT INTO campaigns(name, created_at) VALUES ('双11召回', '2024-06-01')")
    conn.executemany(
        "INSERT INTO campaign_members(campaign, user_id, role, added_at, added_on)"
        " VALUES (?,?,?,?,?)",
        [  # added_at is the wall clock (2026), added_on the data date: only that one counts
            ("双11召回", "u1", "target", "2026-12-01 10:00:00", "2024-06-28"),
            ("双11召回", "u3", "control", "2026-12-01 10:00:00", "2024-06-28"),
            ("双11召回", "u5", "target", "2026-12-01 10:00:00", "2024-06-01"),
        ],
    )


@pytest.fixture
def small(conn: sqlite3.Connection) -> sqlite3.Connection:
    build_small_db(conn)
    return conn


def n(conn: sqlite3.Connection, text: str) -> int:
    return count(conn, compile_condition(conn, text, as_of=AS_OF))


CASES = [
    ('city = "上海"', 2),
    ('city != "上海"', 3),  # users with no city are "not 上海"
    ('city in ("上海", "北京")', 3),
    ('city not in ("上海")', 3),
    ("recency_days > 30", 2),
    ("recency_days between 5 and 40", 3),
    ("recency_days is empty", 1),
    ("recency_days is not empty", 4),
    ('city = "上海" and recency_days > 30', 1),
    ('city = "上海" or gender = "M"', 4),
    ('not (city = "上海")', 3),
    ('NOT city = "上海" AND gender = "M"', 2),
    ('city = "杭州"', 0),  # a value never seen and no close match: allowed, counts 0
    ('name contains "%"', 1),  # LIKE wildcards are escaped
    ('name contains "_"', 1),
    ('name startswith "A"', 1),
    ("signup_at >= 2024-06-20", 2),
    ("signup_at = 2024-06-20", 1),
    ("signup_at > -10d", 1),
    ("signup_at < 2023-01-01", 1),
    ("signup_at >= -6m", 3),
    ("signup_at between 2024-01-01 and 2024-06-20", 2),
    ("r >= 4", 2),
    ("m = 5", 1),
    ("f in (1, 2)", 2),
    ("p_alive < 0.3", 1),
    ('rfm = "重要保持客户"', 1),
    ('rfm = "important value"', 1),
    ('rfm = "important_value"', 1),
    ('layer = "churned"', 1),
    ('layer = "活跃用户"', 2),
    ('city_tier = "一线"', 3),
    ('city_tier != "一线"', 2),
    ("city_tier is empty", 1),
    ('tag "夜猫子"', 2),
    ('has tag "优惠券用户"', 1),
    ("count(login, 30d) >= 3", 1),
    ("count(login, 30d) < 3", 4),
    ("count(login, 30d) = 0", 3),
    ("count(login, 30d) != 0", 2),
    ("count(login, 30d) between 0 and 2", 4),
    ("count(login) >= 2", 3),
    ("orders(90d) >= 2", 1),
    ("orders(90d) = 0", 2),
    ("spent(90d) > 500", 1),
    ("spent(90d) >= 300", 2),
    ("spent(90d) < 100", 3),
    ("last(cart_add) > -1d", 1),
    ("last(cart_add) >= -1d", 2),
    ("last(login) < -20d", 1),
    ("last(login) is empty", 2),
    ("last(order) >= 2024-06-20", 2),
    ('in campaign "双11召回"', 3),
    ('target of campaign "双11召回"', 2),
    ('control of campaign "双11召回"', 1),
    ("targeted within 7d", 1),
    ("targeted within 30d", 2),
    ('rfm = "重要保持客户" and city_tier = "一线" and count(login, 30d) = 0', 1),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_count(small: sqlite3.Connection, text: str, expected: int) -> None:
    assert n(small, text) == expected


def test_params_are_named_and_values_never_in_sql(small: sqlite3.Connection) -> None:
    c = compile_condition(small, 'city = "上海" and recency_days > 30', as_of=AS_OF)
    # identifiers quoted (core.store.sql.quote); + : a scan, see predicate()
    assert c.where == '(f."city" = :p0) AND (+f."recency_days" > :p1)'
    assert c.params == {"p0": "上海", "p1": 30}


def test_a_prefix_names_the_parameters_so_conditions_share_a_statement(
    small: sqlite3.Connection,
) -> None:
    c = compile_condition(small, 'city = "上海" and recency_days > 30', as_of=AS_OF, prefix="r0_")
    assert c.where == '(f."city" = :r0_p0) AND (+f."recency_days" > :r0_p1)'
    assert c.params == {"r0_p0": "上海", "r0_p1": 30}
    d = compile_condition(small, 'city = "北京"', as_of=AS_OF, prefix="r1_")
    sql = f"SELECT count(*) FROM features AS f WHERE ({c.where}) OR ({d.where})"
    both = small.execute(sql, {**c.params, **d.params}).fetchone()[0]
    assert both == 2  # one user in 上海 bought over 30 days ago, one lives in 北京
    with pytest.raises(ValueError, match="not a name"):
        compile_condition(small, "r >= 4", as_of=AS_OF, prefix="r-0")


def test_window_that_includes_zero_is_not_in_of_the_complement(small: sqlite3.Connection) -> None:
    c = compile_condition(small, "count(login, 30d) < 3", as_of=AS_OF)
    assert c.where.startswith("f.user_id NOT IN (SELECT user_id FROM events")
    assert c.params["p1"] == "2024-06-01" and c.params["p2"] == "2024-07-01"


def test_saved_segment_inline_and_snapshot(small: sqlite3.Connection) -> None:
    save(small, "上海用户", 'city = "上海"', as_of=AS_OF)
    assert n(small, 'in segment "上海用户" and gender = "F"') == 2
    assert n(small, 'not in segment "上海用户"') == 3


def test_recursive_segment_is_reported(small: sqlite3.Connection) -> None:
    save(small, "a", 'city = "上海"', as_of=AS_OF)
    save(small, "b", 'in segment "a"', as_of=AS_OF)
    with pytest.raises(QueryError, match="refers to itself") as err:
        save(small, "a", 'in segment "b"', as_of=AS_OF)
    assert err.value.pos == len("in segment ")
    assert n(small, 'in segment "b"') == 2  # the bad definition was never stored


def test_human_sentences(small: sqlite3.Connection) -> None:
    c = compile_condition(small, 'city = "上海" and recency_days > 30', as_of=AS_OF)
    assert c.human_zh == "城市 为 上海 且 最近消费天数 大于 30"
    assert c.human_en == "city is 上海 and days since last purchase > 30"
    c = compile_condition(small, 'not (r >= 4 or tag "夜猫子")', as_of=AS_OF)
    assert c.human_zh == "并非 （R分 不小于 4 或 有标签 夜猫子）"
    assert c.human_en == "not (R score ≥ 4 or has tag 夜猫子)"
    c = compile_condition(small, "count(login, 30d) < 3 and last(cart_add) > -1d", as_of=AS_OF)
    assert c.human_zh == "近30天 登录次数 小于 3 且 最近一次加购日期 晚于 1天前"
    assert (
        c.human_en
        == "login events in the last 30 days < 3 and last cart_add date is after 1 day ago"
    )
    c = compile_condition(small, 'city in ("上海", "北京") or targeted within 7d', as_of=AS_OF)
    assert c.human_zh == "城市 为 上海、北京 之一 或 近7天内被活动触达"
    assert c.human_en == "city is one of 上海, 北京 or targeted by a campaign in the last 7 days"


def test_sentences_show_rfm_groups_and_layers_by_their_labels(small: sqlite3.Connection) -> None:
    """A group or layer typed as its key (or in the other language) reads as the operator's
    label in each language, never as the stored key ("RFM分组 为 important_value")."""
    c = compile_condition(small, 'rfm = "important_value"', as_of=AS_OF)
    assert (c.human_zh, c.human_en) == ("RFM分组 为 重要价值客户", "RFM group is important value")
    c = compile_condition(small, 'rfm in ("一般挽留客户", "important win-back")', as_of=AS_OF)
    assert c.human_zh == "RFM分组 为 一般挽留客户、重要挽留客户 之一"
    assert c.human_en == "RFM group is one of general win-back, important win-back"
    c = compile_condition(small, 'layer != "流失用户" and layer = "dormant"', as_of=AS_OF)
    assert c.human_zh == "用户分层 不为 流失用户 且 用户分层 为 沉睡用户"
    assert c.human_en == "layer is not churned and layer is dormant"
    c = compile_condition(small, 'entered rfm "important_value" within 30d', as_of=AS_OF)
    assert c.human_zh == "近30天内进入RFM分组 重要价值客户"
    assert c.human_en == "entered RFM group important value in the last 30 days"


def test_in_global_control(small: sqlite3.Connection) -> None:
    ids = [r[0] for r in small.execute("SELECT user_id FROM features ORDER BY user_id")]
    small.executemany("INSERT INTO global_control(user_id) VALUES (?)", [(u,) for u in ids[:2]])
    assert n(small, "in global control") == 2
    assert n(small, "not in global control") == len(ids) - 2
    assert n(small, 'in global control and user_id = "' + ids[0] + '"') == 1
    c = compile_condition(small, "in global control", as_of=AS_OF)
    assert (c.human_zh, c.human_en) == ("在全局对照组中", "in the global control group")
    with pytest.raises(QueryError) as err:
        compile_condition(small, "in global contrl", as_of=AS_OF)
    assert err.value.pos == len("in global ")
