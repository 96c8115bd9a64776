"""core.store.db: the second reader beside a writer (core.store.db.beside), page size, schema upgrades on open."""

from __future__ import annotations

import sqlite3

import pytest

from core.errors import DatabaseError
from core.store.db import beside, get_meta, open_db, set_meta


def test_the_work_runs_in_another_process_and_sees_committed_data(conn) -> None:
    set_meta(conn, "as_of", "2024-06-30")
    with beside(conn, get_meta, "as_of") as answer:
        set_meta(conn, "as_of", "2024-07-01")  # the caller goes on meanwhile
        got = answer()
    assert got in ("2024-06-30", "2024-07-01")  # a committed state, whichever it read


def test_an_error_in_the_other_process_is_raised_in_the_callers(conn) -> None:
    work = sqlite3.Connection.execute
    with (
        pytest.raises(DatabaseError, match="no such table: nope"),
        beside(conn, work, "SELECT * FROM nope") as answer,
    ):
        answer()


def test_inline_when_not_worth_it_or_not_possible(conn, tmp_path) -> None:
    set_meta(conn, "as_of", "2024-06-30")
    with beside(conn, get_meta, "as_of", worth_it=False) as answer:
        assert answer() == "2024-06-30"
    memory = sqlite3.connect(":memory:")
    memory.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    with beside(memory, get_meta, "as_of") as answer:  # nothing to open a second reader on
        assert answer() is None


def test_leaving_early_stops_the_process(conn) -> None:
    with pytest.raises(RuntimeError), beside(conn, get_meta, "as_of"):
        raise RuntimeError("the caller failed first")


def test_new_databases_use_8k_pages(tmp_path) -> None:
    conn = open_db(tmp_path / "new.db", create=True)
    assert conn.execute("PRAGMA page_size").fetchone() == (8192,)


def _as_schema_1(path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def test_an_older_database_opened_for_reading_is_upgraded_first(db_path) -> None:
    _as_schema_1(db_path)
    conn = open_db(db_path, readonly=True)
    assert (
        get_meta(conn, "schema_version") == "8"
    )  # 1 -> 2 -> 3 (column_flags) -> 4 (intervals) -> 5 (fits per date) -> 6 (layer lifecycle) -> 7 (strategies) -> 8 (previous periods)
    assert get_meta(conn, "features_stale") == "1"  # the new columns wait for a recompute


def test_an_older_database_that_cannot_be_written_says_so(db_path, monkeypatch) -> None:
    import core.store.db

    _as_schema_1(db_path)

    def read_only(conn):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(core.store.db, "ensure_schema", read_only)
    with pytest.raises(DatabaseError, match=r"older userops \(schema 1\).*needs write access"):
        open_db(db_path, readonly=True)
