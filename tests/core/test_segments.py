"""Saved segments: save/history, list with counts, delete, snapshot, compare, condition_for."""

from __future__ import annotations

import sqlite3

import pytest
from test_query_compile import AS_OF, build_small_db

from core.audience import segments
from core.errors import CoreError, NotFound, QueryError


@pytest.fixture
def small(conn: sqlite3.Connection) -> sqlite3.Connection:
    build_small_db(conn)
    return conn


def test_save_get_and_history(small: sqlite3.Connection) -> None:
    segments.save(small, "上海", 'city = "上海"', "沪上用户", as_of=AS_OF)
    segments.save(small, "上海", 'city = "上海" and r >= 4', as_of=AS_OF)
    seg = segments.get(small, "上海")
    assert (seg.query, seg.description) == ('city = "上海" and r >= 4', "")
    old = segments.history(small, "上海")
    assert [(h.query, h.description) for h in old] == [('city = "上海"', "沪上用户")]


def test_a_query_that_does_not_compile_is_never_stored(small: sqlite3.Connection) -> None:
    with pytest.raises(QueryError) as err:
        segments.save(small, "bad", 'cty = "上海"', as_of=AS_OF)
    assert err.value.pos == 0
    assert small.execute("SELECT count(*) FROM segments").fetchone()[0] == 0


def test_list_with_counts_and_delete(small: sqlite3.Connection) -> None:
    segments.save(small, "b", "count(login, 30d) = 0", as_of=AS_OF)
    segments.save(small, "a", 'city = "上海"', as_of=AS_OF)
    assert [(s.name, n) for s, n in segments.list_segments(small, AS_OF)] == [("a", 2), ("b", 3)]
    segments.delete(small, "a")
    assert [s.name for s, _ in segments.list_segments(small, AS_OF)] == ["b"]
    with pytest.raises(NotFound, match='did you mean "b"'):
        segments.delete(small, "bb")


def test_snapshot_freezes_members(small: sqlite3.Connection) -> None:
    segments.save(small, "沪", 'city = "上海"', as_of=AS_OF)
    snap = segments.snapshot(small, "沪", as_of=AS_OF, snapshot_name="沪 6月")
    assert (snap.members, snap.segment, snap.as_of) == (2, "沪", "2024-06-30")
    small.execute("UPDATE features SET city = '北京' WHERE user_id = 'u1'")
    frozen = segments.condition_for(small, "沪 6月", as_of=AS_OF)
    assert segments.count(small, frozen) == 2
    assert segments.count(small, segments.condition_for(small, "沪", as_of=AS_OF)) == 1
    with pytest.raises(CoreError, match="already exists"):
        segments.snapshot(small, "沪", as_of=AS_OF, snapshot_name="沪 6月")
    default = segments.snapshot(small, "沪", as_of=AS_OF)
    assert default.name == "沪 @ 2024-06-30"


def test_compare_only_a_both_only_b(small: sqlite3.Connection) -> None:
    segments.save(small, "沪", 'city = "上海"', as_of=AS_OF)
    # 沪 = {u1, u3}; r >= 4 = {u2, u3}
    assert segments.compare(small, "沪", "r >= 4", as_of=AS_OF) == (1, 1, 1)
    assert segments.compare(small, "沪", 'city = "杭州"', as_of=AS_OF) == (2, 0, 0)


def test_condition_for_a_query(small: sqlite3.Connection) -> None:
    c = segments.condition_for(small, "recency_days > 30", as_of=AS_OF)
    assert segments.count(small, c) == 2
    assert segments.total_users(small) == 5
