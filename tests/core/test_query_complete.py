"""Completion candidates at the cursor."""

from __future__ import annotations

import sqlite3

import pytest
from test_query_compile import build_small_db

from core.query import Completion, complete


@pytest.fixture
def small(conn: sqlite3.Connection) -> sqlite3.Connection:
    build_small_db(conn)
    return conn


def texts(conn: sqlite3.Connection, text: str) -> list[str]:
    return [c.text for c in complete(conn, text, len(text))]


def test_fields_at_start_filtered_by_prefix(small: sqlite3.Connection) -> None:
    got = complete(small, "ci", 2)
    assert [c.text for c in got] == ["city", "city_tier"]
    assert got[0] == Completion("city", "field", "城市 · city", None)


def test_operators_for_the_field_type(small: sqlite3.Connection) -> None:
    assert texts(small, "city ") == [
        "=",
        "!=",
        "in",
        "not in",
        "contains",
        "startswith",
        "is empty",
        "is not empty",
    ]
    assert "between" in texts(small, "recency_days ")
    assert "contains" not in texts(small, "recency_days ")


def test_values_with_counts_most_frequent_first(small: sqlite3.Connection) -> None:
    got = complete(small, "city = ", 7)
    assert [(c.text, c.kind, c.count) for c in got] == [
        ('"上海"', "value", 2),
        ('"北京"', "value", 1),
        ('"成都"', "value", 1),
    ]
    assert texts(small, 'city = "上') == ['"上海"']
    assert texts(small, 'city_tier in ("一线", ') == ['"一线"', '"二线"']


def test_tag_values_and_keywords_after_a_term(small: sqlite3.Connection) -> None:
    assert texts(small, "tag ") == ['"夜猫子"', '"优惠券用户"']
    assert texts(small, 'city = "上海" ') == ["and", "or"]
    assert texts(small, 'city = "上海" o') == ["or"]


def test_cursor_in_the_middle_and_after_an_error(small: sqlite3.Connection) -> None:
    text = 'ci = "上海"'
    assert [c.text for c in complete(small, text, 2)] == ["city", "city_tier"]
    assert complete(small, "city = = ", 9) == []
    assert texts(small, "recency_days > ") == []  # numbers are not listed


def test_partial_word_is_what_a_completion_replaces():
    from core.query import partial_word

    assert partial_word("city = '上海' and r_sc", 21) == "r_sc"
    assert partial_word("city = '上海' and r_sc", 17) == "r"  # cursor inside the word
    assert partial_word('rfm = "重要', 9) == '"重要'  # an unclosed quoted value, quote included
    assert partial_word('rfm = "a" and ', 14) == ""
    assert partial_word("city", 99) == "city"  # a cursor past the end counts as the end
