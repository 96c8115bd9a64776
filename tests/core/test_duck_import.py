"""`userops import` on DuckDB (issue 17; docs/engines.md): the same files imported into a SQLite
and a DuckDB database hold the same rows and, recomputed, give identical features; an import that
fails at its last step leaves the DuckDB database as it was; once features are computed, the
users an import makes stale are noted as SQLite's triggers note them.

Every test of tests/core/test_import.py runs on both engines too (its ``conn`` fixture)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from test_duck_recompute import assert_same_results
from test_import import LINE_MAP, LINES

from core.errors import InputError
from core.ingest import importer
from core.ingest.demo import DEMO_AS_OF, build_demo
from core.ingest.importer import import_files
from core.pipeline import recompute
from core.store.db import open_db
from core.store.duck import open_duckdb


def export_demo(folder: Path, n_users: int = 300) -> dict[str, Path]:
    """A generated demo's users, orders and events as CSV files (what an operator imports)."""
    lite = open_db(folder / "source.db", create=True)
    build_demo(lite, n_users=n_users, seed=5, as_of=DEMO_AS_OF)
    files = {}
    for table, columns in (
        ("users", "user_id, name, gender, city, channel, device, signup_at, phone, email"),
        ("orders", "order_id, user_id, amount, created_at"),
        ("events", "user_id, kind, created_at, value"),
    ):
        frame = pd.read_sql_query(f"SELECT {columns} FROM {table} ORDER BY 1, 2", lite)
        files[table] = folder / f"{table}.csv"
        frame.to_csv(files[table], index=False)
    lite.close()
    return files


def both(folder: Path):
    return open_db(folder / "t.db", create=True), open_duckdb(folder / "t.duckdb", create=True)


def dump(conn) -> dict[str, list[tuple]]:
    out = {}
    for table in ("users", "orders", "events", "refresh_dirty", "column_flags"):
        out[table] = sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    out["meta"] = sorted(conn.execute("SELECT key, value FROM meta").fetchall())
    out["columns"] = [r[1] for r in conn.execute("PRAGMA table_info(users)")]
    return out


def test_the_same_files_give_the_same_database_and_features(tmp_path: Path) -> None:
    files = export_demo(tmp_path)
    lite, duck = both(tmp_path)
    try:
        reports = [import_files(c, **files) for c in (lite, duck)]
        assert reports[0] == reports[1]
        n_users = reports[1].users_created
        assert n_users >= 300 and reports[1].orders_inserted > 300
        # a second file: changed attributes (a new one too), a changed order, new events
        more = tmp_path / "more_users.csv"
        more.write_text("user_id,city,会员等级\nU000001,Hangzhou,gold\nnew1,,silver\n")
        orders = pd.read_csv(files["orders"], dtype=str).head(3)
        orders.loc[0, "amount"] = "999.5"
        orders.to_csv(tmp_path / "more_orders.csv", index=False)
        events = tmp_path / "more_events.csv"
        events.write_text("user_id,kind,created_at,value\nnew1,login,2026-11-30 08:00:00,\n")
        again = [
            import_files(
                c, users=more, orders=tmp_path / "more_orders.csv", events=events, returns="net"
            )
            for c in (lite, duck)
        ]
        assert again[0] == again[1]
        assert (again[1].users_created, again[1].users_updated) == (1, 1)
        assert (again[1].orders_updated, again[1].orders_inserted) == (1, 0)
        assert again[1].columns_added == ["会员等级"]
        assert dump(lite) == dump(duck)
        a, b = recompute(lite, DEMO_AS_OF), recompute(duck, DEMO_AS_OF)
        assert (a.users, a.buyers, a.models) == (b.users, b.buyers, b.models)
        assert duck.execute("SELECT count(*) FROM users").fetchone() == (n_users + 1,)
        assert b.users > 300  # the users signed up by the date
        assert_same_results(lite, duck)
    finally:
        lite.close()
        duck.close()


def test_order_lines_the_same_on_both(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    path.write_text(LINES)
    lite, duck = both(tmp_path)
    try:
        got = [
            import_files(c, orders=path, mapping=LINE_MAP, cancelled_prefix="C", returns="net")
            for c in (lite, duck)
        ]
        assert got[0] == got[1]
        assert dump(lite) == dump(duck)
        # 536366's line has no user (skipped); C… are cancellations, netted as negative
        assert duck.execute(
            "SELECT order_id, user_id, amount FROM orders ORDER BY 1"
        ).fetchall() == [
            ("536365", "17850", 21.3),
            ("536368", "12345", 7.0),
            ("C536367", "17850", -5.1),
            ("C536369", "99999", -5.0),
        ]
    finally:
        lite.close()
        duck.close()


def test_a_failure_in_the_final_write_leaves_duckdb_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = export_demo(tmp_path, n_users=40)
    duck = open_duckdb(tmp_path / "t.duckdb", create=True)
    try:
        import_files(duck, users=files["users"])
        before = dump(duck)
        real = importer._write_events

        def then_fail(*args, **kwargs):  # users, orders and events written, then a failure
            real(*args, **kwargs)
            raise InputError("injected")

        monkeypatch.setattr(importer, "_write_events", then_fail)
        extra = tmp_path / "u2.csv"
        extra.write_text("user_id,tier\nU000001,gold\nfresh,silver\n")
        with pytest.raises(InputError, match="injected"):
            import_files(duck, users=extra, orders=files["orders"], events=files["events"])
        assert dump(duck) == before  # no row, no new column, no meta
        assert duck.execute("SELECT count(*) FROM orders").fetchone() == (0,)
        monkeypatch.setattr(importer, "_write_events", real)
        report = import_files(duck, users=extra, orders=files["orders"], events=files["events"])
        assert report.columns_added == ["tier"] and report.users_created == 1
        # the stage is detached after each import, failed or not
        assert ("import_stage",) not in duck.execute(
            "SELECT database_name FROM duckdb_databases()"
        ).fetchall()
    finally:
        duck.close()


def test_a_bad_row_leaves_duckdb_as_it_was(tmp_path: Path) -> None:
    duck = open_duckdb(tmp_path / "t.duckdb", create=True)
    try:
        good = tmp_path / "o.csv"
        good.write_text("order_id,user_id,amount,created_at\no1,u1,5,2024-06-01\n")
        import_files(duck, orders=good)
        before = dump(duck)
        bad = tmp_path / "bad.csv"
        bad.write_text(
            "order_id,user_id,amount,created_at\no2,u2,7,2024-06-02\no3,u3,x,2024-06-03\n"
        )
        with pytest.raises(InputError) as err:
            import_files(duck, orders=bad)
        assert (err.value.line, err.value.column) == (3, "amount")
        clash = tmp_path / "clash.csv"
        clash.write_text("user_id,City\nu1,Shanghai\n")  # differs from `city` only in case
        with pytest.raises(InputError, match="clashes with the existing attribute 'city'"):
            import_files(duck, users=clash)
        assert dump(duck) == before
    finally:
        duck.close()


def test_rows_before_the_features_date_are_noted_as_sqlites_triggers_do(tmp_path: Path) -> None:
    """After a recompute as of 2024-06-30: an order dated on it and an event before it make
    their users dirty, a later event does not; a new user and a changed one are dirty; an
    order moved from u1 to u2 makes both dirty. The same users as SQLite's triggers note."""
    lite, duck = both(tmp_path)
    first = tmp_path / "o1.csv"
    first.write_text(
        "order_id,user_id,amount,created_at\n"
        "o1,u1,5,2024-06-01\no2,u2,6,2024-06-02\no3,u3,7,2024-06-03\no4,u4,8,2024-06-04\n"
    )
    users = tmp_path / "u.csv"
    users.write_text("user_id,city\nu5,Shanghai\nu6,Chengdu\n")
    try:
        for c in (lite, duck):
            import_files(c, orders=first, users=users)
            recompute(c, date(2024, 6, 30))
        later_orders = tmp_path / "o2.csv"
        later_orders.write_text(
            "order_id,user_id,amount,created_at\n"
            "o1,u2,5,2024-06-01\n"  # moved to another user
            "o9,u3,1,2024-06-30 23:59:59\n"  # on the features' date
            "o10,u4,1,2024-07-01\n"  # after it
        )
        events = tmp_path / "e.csv"
        events.write_text(
            "user_id,kind,created_at,value\nu5,login,2024-06-15,\nu6,login,2024-07-02,\n"
        )
        more_users = tmp_path / "u2.csv"
        more_users.write_text("user_id,city\nu6,Chengdu\nu7,Wuhan\nu4,Beijing\n")
        for c in (lite, duck):
            import_files(c, orders=later_orders, events=events, users=more_users)
        dirty = [
            sorted(c.execute("SELECT user_id FROM refresh_dirty").fetchall()) for c in (lite, duck)
        ]
        assert dirty[0] == dirty[1] == [("u1",), ("u2",), ("u3",), ("u4",), ("u5",), ("u7",)]
        stale = "SELECT value FROM meta WHERE key = 'features_stale'"
        assert lite.execute(stale).fetchall() == duck.execute(stale).fetchall() == [("1",)]
    finally:
        lite.close()
        duck.close()
