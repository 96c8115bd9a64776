"""The recompute on DuckDB gives what it gives on SQLite (issue 17, item 3; docs/engines.md).

The same database is recomputed on SQLite and on its DuckDB copy (``userops copy``), as of the
same date, and every stored result is compared: every column of every user's features (RFM
scores, group and 27-cell, layer, windows, last activity, predictions), the tags, the layer, RFM
and tag histories, the model inputs, the fits and the meta keys the recompute writes. Everything
must be identical — numbers to the last bit, except the model's outputs and fits, which are
compared to a relative 1e-9 (numerical optimisation; on these data they came out identical too).
On the language's two small test databases (hand-worked answers: test_query_compile,
test_query_second) and on a generated demo of 600 users. A failure injected at the very end of
the build (after the old tables were dropped and the new ones renamed) leaves the previous state.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from test_query_compile import AS_OF, build_small_db
from test_query_second import build_second_db

from core import pipeline
from core.analytics import rfm
from core.errors import DatabaseError
from core.ingest.demo import DEMO_AS_OF, build_demo
from core.pipeline import recompute
from core.rules import tags
from core.rules.tags import install_defaults_once
from core.store.copy import copy_database
from core.store.db import open_db, transaction
from core.store.duck import DuckDBConnection, DuckDBError, open_duckdb
from core.store.schema import FEATURE_COLUMNS, MODEL_OUTPUT_COLUMNS
from core.store.sql import quote

REL = 1e-9  # the model outputs and fits (numerical optimisation); everything else: exact
# what the recompute writes besides features and user_tags, compared row for row
TABLES = ("user_tags", "layer_history", "rfm_history", "tag_history", "model_inputs")
WALL_CLOCK_META = {"features_computed_at"}  # when it ran: metadata, not a result


def _extra_rules(conn: sqlite3.Connection, as_of: date) -> None:
    """Rules the defaults lack: raw-event windows and sequences (the language's SQL over
    events and orders, not the stored columns), a tag reading the layer, stored RFM splits."""
    tags.set_tag(
        conn, "看后加购", "behavioural", "did view in 30d then cart_add within 1d", as_of=as_of
    )
    tags.set_tag(conn, "近7天登录", "behavioural", "count(login, 7d) >= 1", as_of=as_of)
    tags.set_tag(conn, "流失买家", "result", 'layer = "churned" and frequency >= 1', as_of=as_of)
    tags.set_tag(conn, "复购断档", "result", "did order then no order within 60d", as_of=as_of)
    rfm.set_threshold(conn, "r", "median")
    rfm.set_threshold(conn, "m", "score", 4)


def _sum_in_order(conn: sqlite3.Connection) -> None:
    """u6: three orders whose sum depends on the order they are added in (0.1 + 0.2 + 0.3 is
    0.6000000000000001, 0.3 + 0.2 + 0.1 is 0.6), stored latest first: SQLite adds them in its
    index's order (by time), a compensated or scan-order sum would not give its bits."""
    conn.execute("INSERT INTO users(user_id, name, signup_at) VALUES ('u6', 'Sum', '2024-01-01')")
    conn.executemany(
        "INSERT INTO orders VALUES (?, 'u6', ?, ?)",
        [("o93", 0.3, "2024-06-03 10:00:00"), ("o92", 0.2, "2024-06-02 10:00:00")]
        + [("o91", 0.1, "2024-06-01 10:00:00")],
    )


def _build_small(conn: sqlite3.Connection) -> None:
    build_small_db(conn)
    _sum_in_order(conn)
    _extra_rules(conn, AS_OF)


def _build_second(conn: sqlite3.Connection) -> None:
    build_second_db(conn)
    _sum_in_order(conn)
    _extra_rules(conn, AS_OF)


def _build_demo(conn: sqlite3.Connection) -> None:
    build_demo(conn, n_users=600, seed=11, as_of=DEMO_AS_OF)
    install_defaults_once(conn, as_of=DEMO_AS_OF)
    _extra_rules(conn, DEMO_AS_OF)


def both(tmp: Path, build) -> tuple[sqlite3.Connection, DuckDBConnection]:
    lite = open_db(tmp / "s.db", create=True)
    build(lite)
    lite.close()
    copy_database(tmp / "s.db", f"duckdb:///{tmp / 's.duckdb'}")
    return open_db(tmp / "s.db"), open_duckdb(tmp / "s.duckdb")


def _same(column: str, a: object, b: object) -> bool:
    if a == b:
        return True
    model = column in MODEL_OUTPUT_COLUMNS or column in ("params", "log_lik", "diagnostics")
    if model and isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL)
    return False


def _rows(conn, sql: str) -> list[tuple]:
    return sorted(conn.execute(sql).fetchall(), key=repr)


def assert_same_results(lite: sqlite3.Connection, duck: DuckDBConnection) -> None:
    cols = ", ".join(quote(c) for c in FEATURE_COLUMNS)
    a = lite.execute(f"SELECT {cols} FROM features ORDER BY user_id").fetchall()
    b = duck.execute(f"SELECT {cols} FROM features ORDER BY user_id").fetchall()
    assert [r[0] for r in a] == [r[0] for r in b]
    differ = [
        (ra[0], column, x, y)
        for ra, rb in zip(a, b, strict=True)
        for column, x, y in zip(FEATURE_COLUMNS, ra, rb, strict=True)
        if not _same(column, x, y)
    ]
    assert differ == []
    for table in TABLES:
        assert _rows(lite, f"SELECT * FROM {table}") == _rows(duck, f"SELECT * FROM {table}"), table
    fits = "SELECT model, as_of, params, time_unit, log_lik, n_customers, error FROM model_fits"
    fa, fb = _rows(lite, fits), _rows(duck, fits)
    assert [r[:2] + r[3:4] + r[5:] for r in fa] == [r[:2] + r[3:4] + r[5:] for r in fb]
    for ra, rb in zip(fa, fb, strict=True):
        assert _same("log_lik", ra[4], rb[4])
        assert (ra[2] is None) == (rb[2] is None)
        if ra[2] is not None:
            pa, pb = json.loads(ra[2]), json.loads(rb[2])
            assert pa.keys() == pb.keys() and all(_same("params", pa[k], pb[k]) for k in pa)
    meta = "SELECT key, value FROM meta"
    ma, mb = dict(lite.execute(meta).fetchall()), dict(duck.execute(meta).fetchall())
    assert {k: v for k, v in ma.items() if k not in WALL_CLOCK_META} == {
        k: v for k, v in mb.items() if k not in WALL_CLOCK_META
    }


@pytest.mark.parametrize(
    ("build", "as_of"),
    [(_build_small, AS_OF), (_build_second, AS_OF), (_build_demo, DEMO_AS_OF)],
    ids=["small", "second", "demo600"],
)
def test_recompute_on_duckdb_is_the_recompute_on_sqlite(tmp_path: Path, build, as_of) -> None:
    lite, duck = both(tmp_path, build)
    try:
        a, b = recompute(lite, as_of), recompute(duck, as_of)
        assert (a.as_of, a.users, a.buyers, a.models, a.not_applicable) == (
            b.as_of,
            b.users,
            b.buyers,
            b.models,
            b.not_applicable,
        )
        assert_same_results(lite, duck)
        # the stored RFM splits were applied (median R, M by score >= 4): not the defaults
        assert (
            duck.execute("SELECT count(*) FROM features WHERE rfm_group IS NOT NULL").fetchone()[0]
            == b.buyers
        )
        # and again after another as-of date's recompute, then RFM re-scored in place
        earlier = date.fromordinal(as_of.toordinal() - 20)
        recompute(lite, earlier), recompute(duck, earlier)
        assert_same_results(lite, duck)
        for conn in (lite, duck):
            with transaction(conn):
                rfm.set_threshold(conn, "f", "fixed", 2)
                rfm.apply_rfm(conn, "features")
        assert_same_results(lite, duck)
        # the first date again after a new order and a rule change: on DuckDB the histories'
        # rows that stayed the same are not rewritten (core.rules.history.unchanged)
        who = lite.execute("SELECT min(user_id) FROM users").fetchone()[0]
        for conn in (lite, duck):
            with transaction(conn):
                conn.execute(
                    "INSERT INTO orders VALUES ('o-new', ?, 5000.0, ?)",
                    (who, f"{as_of.isoformat()} 10:00:00"),
                )
                rfm.set_threshold(conn, "f", "fixed", 3)
            recompute(conn, as_of)
        assert_same_results(lite, duck)
        assert (
            lite.execute(
                "SELECT layer, rfm_group FROM features WHERE user_id = ?", (who,)
            ).fetchone()
            == duck.execute(
                "SELECT layer, rfm_group FROM features WHERE user_id = ?", (who,)
            ).fetchone()
        )
    finally:
        lite.close()
        duck.close()


def test_the_small_database_gets_its_hand_worked_answers_on_duckdb(tmp_path: Path) -> None:
    """test_query_compile's five users as of 2024-06-30 (rules: churned recency > 60, active
    logins_30d >= 1, dormant recency > 30, registered frequency = 0), worked out by hand from
    their orders and events: u1's last order 05-21 is 40 days back and its logins fall before
    the 30-day window (06-01..): dormant; u2 and u3 log in inside it: active; u4 never
    ordered: registered; u5's last order 03-22 is 100 days back: churned. u3's 04-02 order is
    the first day of the 90-day window; u2's and u3's carts come after their last orders. u6
    (three orders in June, no rule matches) spent 0.1 + 0.2 + 0.3, added in time order."""
    lite, duck = both(tmp_path, _build_small)
    lite.close()
    try:
        recompute(duck, AS_OF)
        got = duck.execute(
            "SELECT user_id, layer, recency_days, frequency, monetary, orders_90d, carts_open, "
            "logins_30d FROM features ORDER BY user_id"
        ).fetchall()
        assert got == [
            ("u1", "dormant", 40, 2, 800.0, 1, 0, 0),
            ("u2", "active", 5, 1, 50.0, 1, 1, 3),
            ("u3", "active", 10, 3, 600.0, 3, 1, 2),
            ("u4", "registered", None, 0, 0.0, 0, 0, 0),
            ("u5", "churned", 100, 1, 300.0, 0, 0, 0),
            ("u6", "unclassified", 27, 3, 0.1 + 0.2 + 0.3, 3, 0, 0),
        ]
        assert got[-1][4] != 0.6  # the bits of the sum in time order
    finally:
        duck.close()


def _first_day_buyer(conn: sqlite3.Connection) -> None:
    """u7: two orders on the first day (0.1, then 0.2), then 0.3 and 0.6 on two later days,
    stored latest first; a view, two logins and a post, also stored out of time order."""
    _build_small(conn)
    conn.execute("INSERT INTO users(user_id, name, signup_at) VALUES ('u7', 'Days', '2024-04-01')")
    conn.executemany(
        "INSERT INTO orders VALUES (?, 'u7', ?, ?)",
        [("o74", 0.6, "2024-06-20 10:00:00"), ("o73", 0.3, "2024-05-10 10:00:00")]
        + [("o72", 0.2, "2024-05-01 18:00:00"), ("o71", 0.1, "2024-05-01 09:00:00")],
    )
    conn.executemany(
        "INSERT INTO events(user_id, kind, created_at, value) VALUES ('u7', ?, ?, '')",
        [("login", "2024-06-25 08:00:00"), ("view", "2024-06-28 23:59:59")]
        + [("login", "2024-06-02 08:00:00"), ("post", "2024-05-30 12:00:00")],
    )


def test_the_purchase_history_and_latest_events_on_duckdb_by_hand(tmp_path: Path) -> None:
    """The summary the fits read comes from the RFM pass on DuckDB (core.analytics.features,
    _ENGINE_SUMMARY), the latest event of each kind from max(CASE …): u7's model inputs and
    days since its latest events as of 2024-06-30, worked out by hand, on both engines. Its
    orders fall on 3 days (x = 2 repeat days), 05-01 to 06-20 (t_x = 50 days); its total is
    added in time order, ((0.1 + 0.2) + 0.3) + 0.6 (1.2000000000000002; in the stored order,
    latest first, 1.2), its first day's 0.1 + 0.2, and the repeat spend per repeat day is their
    difference / 2 (0.45000000000000007; (0.3 + 0.6) / 2 is 0.44999999999999996)."""
    lite, duck = both(tmp_path, _first_day_buyer)
    total, first_day = ((0.1 + 0.2) + 0.3) + 0.6, 0.1 + 0.2
    try:
        for conn in (lite, duck):
            recompute(conn, AS_OF)
            inputs = conn.execute(
                "SELECT first_order_at, x, t_x_days, repeat_mean FROM model_inputs "
                "WHERE user_id = 'u7'"
            ).fetchall()
            assert inputs == [("2024-05-01", 2, 50.0, 0.45000000000000007)]
            assert (total - first_day) / 2 == 0.45000000000000007
            got = conn.execute(
                "SELECT monetary, frequency, days_since_login, days_since_view, "
                "days_since_post, days_since_cart_add, last_active_at FROM features "
                "WHERE user_id = 'u7'"
            ).fetchall()
            assert got == [(total, 4, 5, 2, 31, None, "2024-06-28 23:59:59")]
    finally:
        lite.close()
        duck.close()


def _state(duck: DuckDBConnection) -> dict[str, list[tuple]]:
    tables = ("features", *TABLES, "model_fits", "meta")
    out = {t: _rows(duck, f"SELECT * FROM {t}") for t in tables}
    out["tables"] = _rows(duck, "SELECT table_name FROM information_schema.tables")
    return out


@pytest.mark.parametrize("where", ["mark_computed", "apply_tags"])
def test_a_failure_leaves_the_previous_state_on_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """One transaction: a failure after the old features were dropped and the new ones renamed
    (mark_computed, the swap's last step), or half-way (the tags), rolls all of it back."""
    lite, duck = both(tmp_path, _build_second)
    lite.close()
    try:
        recompute(duck, AS_OF)
        before = _state(duck)

        def fail(*args, **kwargs):
            raise DuckDBError("injected failure")

        target = pipeline if where == "mark_computed" else tags
        monkeypatch.setattr(target, where, fail)
        with pytest.raises(DatabaseError, match="Recompute failed, previous features kept: "):
            recompute(duck, date(2024, 6, 10))
        assert not duck.in_transaction
        assert _state(duck) == before
        assert "features_new" not in str(before["tables"])
    finally:
        duck.close()
    # and the file, opened again, holds the previous state
    again = open_duckdb(tmp_path / "s.duckdb", readonly=True)
    try:
        assert _state(again) == before
    finally:
        again.close()


def test_every_tag_in_one_statement_on_duckdb(tmp_path: Path, monkeypatch) -> None:
    """DuckDB writes the tags in one scan of features (Dialect.labelled_rows), every rule's
    parameters under names of its own; SQLite keeps one INSERT per tag. The same tags."""
    lite, duck = both(tmp_path, _build_small)
    writes: list[str] = []
    execute = DuckDBConnection.execute

    def traced(self, sql, params=()):
        if sql.lstrip().startswith("INSERT") and "INTO user_tags_new" in sql:
            writes.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(DuckDBConnection, "execute", traced)
    try:
        recompute(lite, AS_OF)
        recompute(duck, AS_OF)
        n_rules = len(tags.list_tags(duck))
        assert n_rules >= 5 and len(writes) == 1
        sql = "SELECT tag, user_id FROM user_tags ORDER BY 1, 2"
        got = duck.execute(sql).fetchall()
        assert got == lite.execute(sql).fetchall()
        assert ("近7天登录", "u2") in got  # its login on 06-28 (a raw-event window, bound)
    finally:
        lite.close()
        duck.close()
