"""Tag additions for the tags screen: the model value behind a predictive tag, and its histogram."""

from __future__ import annotations

import sqlite3

import pytest

from core.errors import CoreError
from core.rules import tags as T


@pytest.fixture
def scored(conn: sqlite3.Connection) -> sqlite3.Connection:
    rows = [("u1", 0.9, 3000.0), ("u2", 0.5, 150.0), ("u3", 0.1, 10.0), ("u4", None, None)]
    conn.executemany("INSERT INTO features(user_id, p_alive, clv) VALUES (?, ?, ?)", rows)
    return conn


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ("p_alive < 0.3", "p_alive"),
        ("frequency >= 2 and CLV >= 2000", "clv"),
        ("expected_purchases_30d >= 1", "expected_purchases_30d"),
        ("frequency >= 5", None),
    ],
)
def test_model_field_of_a_tag(condition, field):
    assert T.model_field(T.TagRule("t", "predictive", condition)) == field


def test_value_distribution_in_equal_bins(scored):
    got = T.value_distribution(scored, "p_alive", bins=4)
    # 0.1 .. 0.9 in bins of 0.2: 0.1 -> bin 0, 0.5 -> bin 2, 0.9 (the top edge) -> last bin
    assert got.counts == [1, 0, 1, 1]
    assert got.edges == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9])
    assert got.missing == 1


def test_value_distribution_of_one_value_and_of_none(conn):
    conn.execute("INSERT INTO features(user_id, clv) VALUES ('u1', 5.0), ('u2', 5.0)")
    assert T.value_distribution(conn, "clv", bins=3).counts == [2, 0, 0]
    empty = T.value_distribution(conn, "p_alive")
    assert empty.counts == [] and empty.missing == 2


def test_value_distribution_refuses_other_columns(scored):
    with pytest.raises(CoreError, match="not a model output"):
        T.value_distribution(scored, "monetary")
