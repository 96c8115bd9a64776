"""Stored behaviour windows are read only while the features are current: an import after the
last recompute makes core.query count from the raw rows again, until the next recompute."""

from __future__ import annotations

from datetime import date

from core.ingest.importer import import_files
from core.pipeline import recompute
from core.query import compile_condition

AS_OF = date(2024, 6, 30)
CONDITION = "count(login, 30d) >= 2"


def count(conn, text: str) -> int:
    compiled = compile_condition(conn, text, as_of=AS_OF)
    sql = f"SELECT count(*) FROM features AS f WHERE {compiled.where}"
    return conn.execute(sql, compiled.params).fetchone()[0]


def test_an_import_after_the_recompute_switches_to_the_raw_rows(conn, tmp_path):
    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,kind,created_at\na,login,2024-06-20\na,login,2024-06-21\nb,login,2024-06-21\n"
    )
    import_files(conn, events=str(events))
    recompute(conn, AS_OF)
    compiled = compile_condition(conn, CONDITION, as_of=AS_OF)
    assert "logins_30d" in compiled.where  # current features: the stored column
    assert count(conn, CONDITION) == 1

    more = tmp_path / "more.csv"
    more.write_text("user_id,kind,created_at\nb,login,2024-06-25\n")
    import_files(conn, events=str(more))
    compiled = compile_condition(conn, CONDITION, as_of=AS_OF)
    assert "logins_30d" not in compiled.where  # stale: counted from events
    assert count(conn, CONDITION) == 2

    recompute(conn, AS_OF)
    assert "logins_30d" in compile_condition(conn, CONDITION, as_of=AS_OF).where
    assert count(conn, CONDITION) == 2


def test_a_version_1_database_migrates_and_counts_from_raw_rows_until_recomputed(tmp_path):
    """Schema 1 had no features.days_since_*: opening the file adds the columns, marks the
    features stale (so last(login) is counted from the events), and a recompute fills it."""
    from core.store.db import open_db

    path = tmp_path / "old.db"
    conn = open_db(path, create=True)
    conn.execute("INSERT INTO users(user_id) VALUES ('a'), ('b')")
    conn.execute(
        "INSERT INTO events(user_id, kind, created_at) VALUES ('a', 'login', '2024-06-01')"
    )
    recompute(conn, AS_OF)
    for column in ("days_since_login", "days_since_view", "days_since_cart_add"):
        conn.execute(f"ALTER TABLE features DROP COLUMN {column}")  # as schema 1 made it
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()

    conn = open_db(path)
    # 1 -> 2 -> 3 (column_flags) -> 4 (intervals) -> 5 (fits per date) -> 6 (layer lifecycle)
    # -> 7 (strategies) -> 8 (previous-period windows)
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == ("8",)
    compiled = compile_condition(conn, "last(login) < -20d", as_of=AS_OF)
    assert "days_since_login" not in compiled.where  # stale: from the events
    assert count(conn, "last(login) < -20d") == 1
    recompute(conn, AS_OF)
    assert "days_since_login" in compile_condition(conn, "last(login) < -20d", as_of=AS_OF).where
    assert count(conn, "last(login) < -20d") == 1
    assert conn.execute("SELECT days_since_login FROM features WHERE user_id = 'a'").fetchone() == (
        29,
    )


def test_a_version_7_database_gets_the_previous_period_columns(tmp_path):
    """Schema 7 had no features.*_prev_30d: opening the file adds them empty and marks the
    features stale, so -59d..-30d is counted from the raw rows (not read as NULL) until a
    recompute fills the columns."""
    from core.store.db import open_db

    path = tmp_path / "v7.db"
    conn = open_db(path, create=True)
    conn.execute("INSERT INTO users(user_id) VALUES ('a'), ('b')")
    conn.executemany(
        "INSERT INTO events(user_id, kind, created_at) VALUES (?, 'login', ?)",
        [("a", "2024-05-10"), ("a", "2024-05-20"), ("b", "2024-06-20")],
    )
    conn.execute("INSERT INTO orders VALUES ('o1', 'a', 80.0, '2024-05-15 10:00:00')")
    recompute(conn, AS_OF)
    for column in ("logins_prev_30d", "orders_prev_30d", "spent_prev_30d"):
        conn.execute(f"ALTER TABLE features DROP COLUMN {column}")  # as schema 7 made it
    conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.close()

    conn = open_db(path)
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == ("8",)
    assert conn.execute("SELECT logins_prev_30d FROM features WHERE user_id = 'a'").fetchone() == (
        None,
    )
    drop = "count(login, 30d) < 0.7 * count(login, -59d..-30d)"
    assert "logins_prev_30d" not in compile_condition(conn, drop, as_of=AS_OF).where
    assert count(conn, drop) == 1  # a: 0 < 0.7 * 2
    assert count(conn, "spent(-59d..-30d) = 80") == 1
    recompute(conn, AS_OF)
    assert "logins_prev_30d" in compile_condition(conn, drop, as_of=AS_OF).where
    assert count(conn, drop) == 1
    assert count(conn, "spent(-59d..-30d) = 80") == 1
    row = "SELECT logins_prev_30d, orders_prev_30d, spent_prev_30d FROM features WHERE user_id = ?"
    assert conn.execute(row, ("a",)).fetchone() == (2, 1, 80.0)
    assert conn.execute(row, ("b",)).fetchone() == (0, 0, 0.0)
