"""Every example in docs/query-language.md compiles and counts exactly what is worked out by hand
on the small database (test_query_compile's five users plus test_query_second's extras)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from test_query_compile import AS_OF
from test_query_second import build_second_db

from core.audience import segments
from core.query import compile_condition

DOC = Path(__file__).resolve().parents[2] / "docs" / "query-language.md"
EXAMPLES = re.findall(r"```segment\n(.*?)\n```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_has_at_least_fifteen_examples() -> None:
    assert len(EXAMPLES) >= 15 + 12


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    from core.store.db import open_db

    conn = open_db(tmp_path_factory.mktemp("docs") / "d.db", create=True)
    build_second_db(conn)
    segments.save(conn, "高价值沉默", "m >= 4 and recency_days > 30", as_of=AS_OF)
    return conn


# As of 2024-06-30. u1 Alice 上海 churned rfm important_retention m5 recency 40, 5 orders 800;
# u2 Bob 北京 active, 1 order 50 (06-25); u3 上海 active important_value, 3 orders 600 (the
# last 06-20), clv 1500; u4 成都 registered, signed up on D, no orders; u5 no city, dormant,
# android / miniapp, 2 orders 300 (the last 03-22). Order rows: u1 03-01 500, 05-21 300;
# u2 06-25 50; u3 04-02 150, 06-10 250, 06-20 200; u5 03-22 300.
EXPECTED = {
    'rfm = "重要保持客户" and city_tier = "一线" and count(login, 30d) = 0': 1,  # u1
    "m >= 4 and recency_days > 30": 1,  # u1 (u3's recency is 10)
    "last(cart_add) > -1d and orders(1d) = 0": 1,  # u2's cart on D; no order on D
    "signup_at > -7d and frequency = 0": 1,  # u4
    "p_alive < 0.3 and monetary >= 500": 1,  # u1 (0.2, 800)
    'tag "夜猫子" and has tag "优惠券用户"': 1,  # u3
    "count(login, 30d) >= 3 or count(post, 30d) >= 1": 1,  # u2: 3 logins in June
    'city in ("上海", "北京") and spent(90d) > 500': 1,  # u3 600 from 04-02 on; u1 300
    "orders(90d) >= 2 and not targeted within 7d": 1,  # u3 only 'control' on 06-28
    'in segment "高价值沉默" and in campaign "双11召回"': 1,  # u1
    'control of campaign "双11召回" and last(order) >= 2024-06-01': 1,  # u3
    'layer != "流失用户" and phone is empty': 4,  # everyone but u1 (no one has a phone)
    "r >= 4 and f >= 4 and m <= 2": 0,  # u2 has f 1, u3 m 4
    'signup_at between 2024-01-01 and 2024-06-30 and layer in ("registered", "unclassified")': 1,
    "frequency >= 3 and last(order) < -60d and last(order) >= -180d": 0,  # u1, u3 bought lately
    'device = "android" and channel startswith "mini" and city is empty': 1,  # u5
    "expected_purchases_90d >= 1 or clv > 1000": 1,  # u3's clv
    "last(login) is empty and frequency >= 1": 1,  # u5
    # second edition; monetary / frequency: u1 160, u2 50, u3 200, u4 none, u5 150
    "monetary / frequency >= 400": 0,
    "spent(30d) > 2 * spent(-59d..-30d)": 2,  # u2 50 > 0, u3 450 > 0; u1 0 > 600 no
    "orders(-59d..-30d) >= 1 and orders(30d) = 0": 1,  # u1's 05-21
    "spent(2024-06-01..2024-06-18) > 0": 1,  # u3's 06-10
    'count(view, 30d, value = "美妆") >= 3': 1,  # u1 06-25/26/27
    'count(view, 30d, value in ("美妆", "母婴")) >= 1 and orders(30d) = 0': 1,  # u1 (u2 bought)
    "orders(90d, amount >= 200) >= 2": 1,  # u3 250, 200 (u1's 500 is 03-01, outside 90d)
    "first(order) > -7d": 1,  # u2 06-25
    "first(order) is empty and count(login, 30d) >= 1": 1,  # u4 logged in on D
    "did view in 30d then cart_add within 1d": 1,  # u1 06-27 10:00 view, 12:00 cart
    "did order then no order within 60d": 3,  # u1 03-01, u3 04-02, u5 03-22
    'entered layer "流失用户" within 7d': 1,  # u1 dormant on 06-20, churned now
    'left layer "沉睡用户" within 7d': 1,  # u1
    'entered rfm "重要保持客户" within 7d': 1,  # u1 (important value on 06-20)
    'entered tag "夜猫子" within 7d': 1,  # u1 (only u3 had it on 06-20)
    "monetary / frequency between 100 and 180": 2,  # u1 160, u5 150
    "count(login, 30d) < 0.7 * count(login, -59d..-30d)": 1,  # u1: 0 < 0.7 × 2
    "did cart_add in 7d then no order within 1d": 2,  # u1 06-27, u3 06-29; u2's D is pending
}


def test_every_example_has_its_count() -> None:
    assert sorted(EXPECTED) == sorted(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_counts_exactly(small: sqlite3.Connection, example: str) -> None:
    compiled = compile_condition(small, example, as_of=AS_OF)
    assert segments.count(small, compiled) == EXPECTED[example]
    assert compiled.human_zh and compiled.human_en
