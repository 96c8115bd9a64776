"""Errors point at the column, say what was expected, and suggest the nearest name."""

from __future__ import annotations

import sqlite3

import pytest
from test_query_compile import AS_OF, build_small_db

from core.errors import QueryError
from core.query import compile_condition, parse


@pytest.fixture
def small(conn: sqlite3.Connection) -> sqlite3.Connection:
    build_small_db(conn)
    return conn


def error(conn: sqlite3.Connection, text: str) -> QueryError:
    with pytest.raises(QueryError) as err:
        compile_condition(conn, text, as_of=AS_OF)
    return err.value


def test_unknown_field_suggests_nearest(small: sqlite3.Connection) -> None:
    e = error(small, 'cty = "上海"')
    assert (e.pos, e.suggestion) == (0, "city")
    assert "Unknown field 'cty' at column 1; did you mean 'city'?" in str(e)


def test_value_typo_suggests_value_in_data(small: sqlite3.Connection) -> None:
    e = error(small, 'city = "上每"')
    assert (e.pos, e.suggestion) == (7, "上海")
    assert 'No user has city "上每"' in str(e)


@pytest.mark.parametrize(
    ("text", "pos", "suggestion"),
    [
        ('device = "ios"', 9, "iOS"),  # another case only: SQL's = would count 0 silently
        ('device in ("Web", "android")', 18, "Android"),
        ('device != "IOS"', 10, "iOS"),
        ('device = "andriod"', 9, "Android"),  # a typo in another case
    ],
)
def test_value_in_another_case_suggests_the_stored_one(small, text, pos, suggestion) -> None:
    """issue 13, 11: the value check is case-insensitive for its did-you-mean."""
    small.executemany(
        "UPDATE features SET device = ? WHERE user_id = ?", [("iOS", "u1"), ("Android", "u2")]
    )
    small.execute("UPDATE features SET device = 'Web' WHERE user_id = 'u3'")
    e = error(small, text)
    assert (e.pos, e.suggestion) == (pos, suggestion)
    assert f'; did you mean "{suggestion}"?' in str(e)
    assert compile_condition(small, f'device = "{suggestion}"', as_of=AS_OF).where


@pytest.mark.parametrize(
    ("text", "pos", "suggestion"),
    [
        ('layer = "chrned"', 8, "churned"),
        ('rfm = "重要保持"', 6, "重要保持客户"),
        ('tag "夜猫"', 4, "夜猫子"),
        ('in segment "高价值"', 11, None),
        ('in campaign "双11"', 12, "双11召回"),
        ("count(logn, 30d) > 1", 6, "login"),
        ("cnt(login, 30d) > 1", 0, "count"),
        ('city_tir = "一线"', 0, "city_tier"),
    ],
)
def test_unknown_names(
    small: sqlite3.Connection, text: str, pos: int, suggestion: str | None
) -> None:
    e = error(small, text)
    assert (e.pos, e.suggestion) == (pos, suggestion)


@pytest.mark.parametrize(
    ("text", "pos", "expected"),
    [
        ("city > 5", 7, 'a quoted text value ("…")'),
        ('monetary contains "x"', 18, "a number"),
        ('recency_days = "x"', 15, "a number"),
        ('signup_at > "soon"', 12, "a date (2024-06-01) or a relative date (-30d)"),
        ("count(login, 30d) >= -7d", 21, "a number"),
    ],
)
def test_type_errors_at_the_value(
    small: sqlite3.Connection, text: str, pos: int, expected: str
) -> None:
    e = error(small, text)
    assert e.pos == pos
    assert expected in e.expected or "=" in e.expected


def test_syntax_errors_point_at_column_and_say_what_was_expected() -> None:
    with pytest.raises(QueryError) as err:
        parse('city = "上海" and')
    assert err.value.pos == 15  # the end of the text
    assert "a field" in err.value.expected
    with pytest.raises(QueryError) as err:
        parse("city 上海")
    assert err.value.pos == 5
    assert "a comparison (= != < <= > >=)" in err.value.expected
    with pytest.raises(QueryError) as err:
        parse("city = 上海")
    assert (err.value.pos, err.value.suggestion) == (7, '"上海"')
    with pytest.raises(QueryError) as err:
        parse('(city = "a"')
    assert err.value.expected == [")"]
    with pytest.raises(QueryError) as err:
        parse('city = "open')
    assert err.value.pos == 7 and "Unterminated" in str(err.value)
    with pytest.raises(QueryError) as err:
        parse("   ")
    assert err.value.pos == 0


def test_bad_date_literal() -> None:
    with pytest.raises(QueryError) as err:
        parse("signup_at > 2024-13-01")
    assert err.value.pos == 12
