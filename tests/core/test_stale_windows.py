"""Stored behaviour windows are read only while the features are current: an import after the
last recompute makes core.query count from the raw rows again, until the next recompute."""

from __future__ import annotations

from datetime import date

from core.features import recompute
from core.importer import import_files
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
