"""``core.refresh``: which users it touches, what the others get, when it falls back to the full
recompute, the fit it scores with, and that a kill at any moment leaves the previous state."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from core.pipeline import recompute
from core.query import compile_condition
from core.refresh import refresh
from core.store.db import get_meta, open_db, stored_as_of

ROOT = Path(__file__).resolve().parents[2]
D0, D1 = date(2024, 6, 30), date(2024, 7, 1)


@pytest.fixture
def small(conn: sqlite3.Connection) -> sqlite3.Connection:
    conn.executemany(
        "INSERT INTO users(user_id, signup_at) VALUES (?, ?)",
        [("a", "2024-01-01"), ("b", "2024-01-01"), ("c", "2024-01-01"), ("d", "2024-07-01"),
         ("e", "2024-01-01")],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [("o1", "a", 10.0, "2024-06-01 10:00:00"), ("o2", "a", 5.0, "2024-06-20"),
         ("o3", "c", 7.0, "2024-03-01"), ("o4", "e", 3.0, "2024-07-01 23:00:00")],
    )  # fmt: skip
    conn.execute("INSERT INTO events VALUES ('b', 'login', '2024-06-24 09:00:00', '')")
    recompute(conn, D0)
    return conn


def row(conn: sqlite3.Connection, user: str, *cols: str) -> tuple:
    return conn.execute(
        f"SELECT {', '.join(cols)} FROM features WHERE user_id = ?", (user,)
    ).fetchone()


def test_refresh_touches_new_activity_window_leavers_and_signups_only(small) -> None:
    assert row(small, "c", "recency_days", "days_since_active") == (121, 121)
    report = refresh(small, D1)
    assert report.full == "" and report.from_as_of == D0 and report.as_of == D1
    # a: 06-01 leaves the 30-day window; b: 06-24 leaves the 7-day one; d signs up; e orders
    assert report.touched == 4
    assert report.reread == 2  # d (a whole new row) and e (new order): their order histories
    assert row(small, "a", "orders_30d", "orders_90d", "spent_30d") == (1, 2, 5.0)
    assert row(small, "b", "logins_7d", "logins_30d", "days_since_login") == (0, 1, 7)
    assert row(small, "c", "recency_days", "days_since_active") == (122, 122)  # shifted
    assert row(small, "d", "frequency", "recency_days") == (0, None)
    assert row(small, "e", "frequency", "recency_days", "night_order_share") == (1, 0, 1.0)
    assert stored_as_of(small) == D1 and get_meta(small, "features_as_of") == "2024-07-01"
    assert small.execute(
        "SELECT count(*) FROM layer_history WHERE as_of = '2024-07-01'"
    ).fetchone() == (5,)
    assert small.execute(
        "SELECT count(*) FROM rfm_history WHERE as_of = '2024-07-01'"
    ).fetchone() == (3,)
    assert small.execute(
        "SELECT count(*) FROM rfm_history WHERE as_of = '2024-06-30'"
    ).fetchone() == (2,)


def test_a_user_with_only_new_events_keeps_the_columns_older_rows_give(conn) -> None:
    """Only x's last 90 days are re-read: what older rows give (the order history, the latest
    view) is kept, the windows and the latest cart come from the day's event."""
    conn.execute("INSERT INTO users(user_id, signup_at) VALUES ('x', '2024-01-01')")
    conn.execute("INSERT INTO orders VALUES ('p1', 'x', 20.0, '2024-01-10 23:30:00')")
    conn.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?)",
        [("x", "view", "2024-02-01 10:00:00", "books"), ("x", "login", "2024-06-25 08:00:00", "")],
    )
    recompute(conn, D0)
    conn.execute("INSERT INTO events VALUES ('x', 'cart_add', '2024-07-01 12:00:00', 'shoes')")
    report = refresh(conn, D1)
    assert (report.full, report.touched, report.reread) == ("", 1, 0)
    cols = (
        "frequency", "monetary", "recency_days", "night_order_share", "first_order_at",
        "days_since_view", "days_since_login", "days_since_cart_add", "logins_7d", "carts_open",
        "favourite_category", "last_active_at", "days_since_active",
    )  # fmt: skip
    assert row(conn, "x", *cols) == (
        1, 20.0, 173, 1.0, "2024-01-10 23:30:00",
        151, 6, 0, 1, 1,
        "shoes", "2024-07-01 12:00:00", 0,
    )  # fmt: skip
    assert conn.execute("SELECT x, first_order_at FROM model_inputs").fetchall() == [
        (0, "2024-01-10")  # model_inputs keeps the first order's day (all T needs)
    ]


def test_the_users_who_signed_up_after_the_features_date_are_counted_apart(small) -> None:
    """d signed up on 07-01, after the 06-30 features: left out, and counted as such; a refresh
    to 07-01 takes d in; one back to 06-30 leaves d out again."""
    from core.views.users import overview

    assert overview(small).signed_up_later == 1
    refresh(small, D1)
    assert overview(small).signed_up_later == 0
    recompute(small, D0)
    assert overview(small).users == 4 and overview(small).signed_up_later == 1


def test_refresh_recomputes_users_of_late_rows(small) -> None:
    small.execute("INSERT INTO orders VALUES ('late', 'c', 1.0, '2024-06-29')")  # dated before D0
    assert small.execute("SELECT user_id FROM refresh_dirty").fetchall() == [("c",)]
    report = refresh(small, D0)  # the same date: only the late user
    assert (report.full, report.touched) == ("", 1)
    assert row(small, "c", "frequency", "recency_days", "monetary") == (2, 1, 8.0)
    assert small.execute("SELECT count(*) FROM refresh_dirty").fetchone() == (0,)


def test_refresh_falls_back_to_the_full_recompute_and_says_why(small) -> None:
    assert "before the features' date" in refresh(small, date(2024, 6, 1)).full
    small.execute("UPDATE meta SET value = '2' WHERE key = 'features_schema'")
    assert refresh(small, D1).full == "the features were computed by an older userops"
    small.execute("DELETE FROM meta WHERE key = 'features_as_of'")
    assert refresh(small, D1).full == "first computation of the features"


def test_refresh_default_date_is_the_latest_in_the_data(small, tmp_path) -> None:
    (tmp_path / "o.csv").write_text("order_id,user_id,amount,created_at\nx,a,1,2024-07-03\n")
    from core.ingest.importer import import_files

    import_files(small, orders=str(tmp_path / "o.csv"))
    assert stored_as_of(small) == D0  # the import did not move it
    assert refresh(small).as_of == date(2024, 7, 3)


def test_predictions_come_from_the_stored_fit_until_it_is_too_old(small) -> None:
    first = refresh(small, D1)
    assert (first.fit_as_of, first.refitted) == (D0, False)
    assert get_meta(small, "fit_as_of") == "2024-06-30"
    later = refresh(small, date(2024, 7, 8), refit_after_days=7)
    assert (later.fit_as_of, later.refitted) == (date(2024, 7, 8), True)
    asked = refresh(small, date(2024, 7, 9), refit=True)
    assert (asked.fit_as_of, asked.refitted) == (date(2024, 7, 9), True)
    stored = {r[0] for r in small.execute("SELECT as_of FROM model_fits")}
    assert stored == {"2024-06-30", "2024-07-08", "2024-07-09"}


KILLED_CHILD = """
import sys, time
from core import refresh
from core.store.db import open_db

def stalled(*args, **kwargs):
    print("half-way", flush=True)
    time.sleep(60)

setattr(refresh.{module}, "{name}", stalled)
refresh.refresh(open_db(sys.argv[1]), refresh.date(2024, 7, 1))
"""

STATE = [
    "SELECT * FROM features ORDER BY user_id",
    "SELECT * FROM user_tags ORDER BY 1, 2",
    "SELECT * FROM layer_history ORDER BY 1, 2",
    "SELECT * FROM rfm_history ORDER BY 1, 2",
    "SELECT * FROM model_inputs ORDER BY 1",
    "SELECT * FROM meta ORDER BY 1",
]


@pytest.mark.parametrize(
    ("module", "name"),
    [("predict", "score_into_temp"), ("rfm", "apply_rfm"), ("tags", "apply_tags")],
)
def test_a_killed_refresh_leaves_the_previous_state(small, db_path, module, name) -> None:
    small.execute("INSERT INTO orders VALUES ('o9', 'b', 4.0, '2024-07-01 12:00:00')")
    before = [small.execute(q).fetchall() for q in STATE]
    code = KILLED_CHILD.replace("{module}", module).replace("{name}", name)
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(db_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "half-way"  # features already changed in place
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    small.close()
    reopened = open_db(db_path)
    try:
        assert [reopened.execute(q).fetchall() for q in STATE] == before
        assert refresh(reopened, D1).full == ""  # and the next refresh works
    finally:
        reopened.close()


def test_a_refresh_from_a_date_without_history_records_that_dates_first(small) -> None:
    """The demo ships without its per-date histories: the first refresh records D0's from the
    tables (they still hold D0), so a transition as of D1 has the date before its window."""
    kept = {
        t: small.execute(
            f"SELECT * FROM {t} WHERE as_of = '2024-06-30' ORDER BY 1, 2, 3"
        ).fetchall()
        for t in ("layer_history", "rfm_history", "tag_history")
    }
    assert len(kept["layer_history"]) == 4  # d signs up on 07-01: not there yet
    for table in kept:
        small.execute(f"DELETE FROM {table}")
    refresh(small, D1)
    for table, rows in kept.items():
        got = small.execute(
            f"SELECT * FROM {table} WHERE as_of = '2024-06-30' ORDER BY 1, 2, 3"
        ).fetchall()
        assert got == rows, table
    # the transitions as of D1 see who changed layer since D0
    before = {u: layer for _, u, layer in kept["layer_history"]}
    now = dict(small.execute("SELECT user_id, layer FROM features"))
    for layer in set(now.values()):
        compiled = compile_condition(small, f'entered layer "{layer}" within 1d', as_of=D1)
        got = {
            r[0]
            for r in small.execute(
                f"SELECT f.user_id FROM features AS f WHERE {compiled.where}", compiled.params
            )
        }
        assert got == {u for u, x in now.items() if x == layer and before.get(u) != layer}, layer
    assert any(now[u] != before.get(u) for u in now)  # something did change
