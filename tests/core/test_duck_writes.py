"""The writes on DuckDB, at the store level: ids of SQLite's ``id INTEGER PRIMARY KEY`` tables
given as SQLite gives them (max(id) + 1), and a write that fails half-way rolled back whole."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_query_second import build_second_db

from core.audience import segments
from core.store.copy import copy_database
from core.store.db import open_db, transaction
from core.store.duck import DuckDBConnection, DuckDBError, open_duckdb
from core.store.engines import insert_with_id

AS_OF = date(2024, 6, 30)


@pytest.fixture
def pair(tmp_path: Path):
    lite = open_db(tmp_path / "s.db", create=True)
    build_second_db(lite)
    lite.close()
    copy_database(tmp_path / "s.db", f"duckdb:///{tmp_path / 's.duckdb'}")
    lite, duck = open_db(tmp_path / "s.db"), open_duckdb(tmp_path / "s.duckdb")
    yield lite, duck
    lite.close()
    duck.close()


def test_ids_are_sqlites_rowids(pair) -> None:
    """1, 2, 3; the last deleted, the next is 3 again (max + 1, as SQLite's rowid alias)."""
    sql = "INSERT INTO campaign_audit(campaign, \"at\", who, action) VALUES (?, ?, 'me', 'create')"
    got = {}
    for conn in pair:
        conn.execute("DELETE FROM campaign_audit")
        with transaction(conn):
            ids = [insert_with_id(conn, "campaign_audit", sql, ("c", f"t{i}")) for i in range(3)]
            conn.execute("DELETE FROM campaign_audit WHERE id = 3")
            ids.append(insert_with_id(conn, "campaign_audit", sql, ("c", "t3")))
        got[conn.__class__.__name__] = (
            ids,
            conn.execute('SELECT id, "at" FROM campaign_audit ORDER BY id').fetchall(),
        )
    assert list(got.values()) == [
        ([1, 2, 3, 3], [(1, "t0"), (2, "t1"), (3, "t3")]),
        ([1, 2, 3, 3], [(1, "t0"), (2, "t1"), (3, "t3")]),
    ]
    with pytest.raises(ValueError, match="not an INSERT INTO"):
        insert_with_id(pair[1], "campaign_audit", "DELETE FROM campaign_audit", ())


def test_snapshots_on_duckdb_and_a_failure_half_way(pair, monkeypatch: pytest.MonkeyPatch) -> None:
    lite, duck = pair
    for conn in (lite, duck):
        segments.save(conn, "buyers", "frequency >= 1", as_of=AS_OF)
        first = segments.snapshot(conn, "buyers", as_of=AS_OF, snapshot_name="one")
        second = segments.snapshot(conn, "buyers", as_of=AS_OF, snapshot_name="two")
        assert (first.id, second.id) == (1, 2)
        assert first.members == second.members
    members = "SELECT snapshot_id, user_id FROM snapshot_members ORDER BY 1, 2"
    assert duck.execute(members).fetchall() == lite.execute(members).fetchall() != []
    before = duck.execute("SELECT id, name FROM segment_snapshots ORDER BY id").fetchall()
    real = DuckDBConnection.execute

    def fail_members(self, sql, params=()):
        if sql.startswith("INSERT INTO snapshot_members"):  # after the snapshot's own row
            raise DuckDBError("injected")
        return real(self, sql, params)

    monkeypatch.setattr(DuckDBConnection, "execute", fail_members)
    with pytest.raises(DuckDBError, match="injected"):
        segments.snapshot(duck, "buyers", as_of=AS_OF, snapshot_name="three")
    monkeypatch.setattr(DuckDBConnection, "execute", real)
    assert duck.execute("SELECT id, name FROM segment_snapshots ORDER BY id").fetchall() == before
    assert not duck.in_transaction
    third = segments.snapshot(duck, "buyers", as_of=AS_OF, snapshot_name="three")
    assert third.id == 3 and third.members == first.members
