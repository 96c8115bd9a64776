"""Features as of a date, on 7 hand-made users whose answers are worked out in the comments."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from core import pipeline
from core.analytics import features, rfm
from core.analytics.features import compute_features
from core.errors import CoreError
from core.pipeline import recompute
from core.store.db import open_db, set_meta

AS_OF = date(2024, 6, 30)  # end = 07-01, 7d from 06-24, 30d from 06-01, 90d from 04-02
ROOT = Path(__file__).resolve().parents[2]

USERS = [
    ("u1", None),
    ("u2", "2023-01-01"),
    ("u3", None),
    ("u4", None),
    ("u5", None),
    ("u6", None),
    ("u7", "2024-07-05"),
]  # u7 signs up after the as-of date
ORDERS = [
    ("o1", "u1", 100.0, "2024-06-30 23:30:00"),  # on the as-of day: counts; night
    ("o2", "u1", 50.0, "2024-06-20 10:00:00"),
    ("o3", "u1", 30.0, "2024-05-01 02:00:00"),  # night
    ("o4", "u1", 999.0, "2024-07-01 09:00:00"),  # the day after: never counts
    ("o5", "u2", 20.0, "2024-01-10 12:00:00"),
    ("o6", "u2", 20.0, "2024-03-15 12:00:00"),
    ("o7", "u3", 200.0, "2024-06-01 08:00:00"),  # first day of the 30-day window
    ("o8", "u4", 10.0, "2024-04-02"),  # date only; first day of the 90-day window
    ("o9", "u4", 10.0, "2024-04-01 23:00:00"),  # night, one day before the 90-day window
]
EVENTS = [
    ("u1", "login", "2024-06-30 08:00:00", None),
    ("u1", "login", "2024-06-24 00:00:00", None),  # first day of the 7-day window
    ("u1", "login", "2024-06-23 23:59:59", None),  # 30-day window only
    ("u1", "cart_add", "2024-06-25 10:00:00", "shoes"),  # ordered later (06-30): closed
    ("u1", "view", "2024-06-10 09:00:00", "shoes"),
    ("u1", "view", "2024-06-11 09:00:00", "bags"),
    ("u1", "view", "2024-06-12 09:00:00", "bags"),  # bags 2 = shoes 2: 'bags' first
    ("u1", "coupon_use", "2024-04-01 10:00:00", None),  # outside 90 days
    ("u1", "coupon_use", "2024-04-02 10:00:00", None),
    ("u1", "post", "2024-07-01 08:00:00", None),  # after the as-of date
    ("u2", "login", "2024-06-20 07:00:00", None),
    ("u3", "cart_add", "2024-06-05 10:00:00", "phones"),  # after the last order: open
    ("u3", "cart_add", "2024-06-01 08:00:00", "phones"),  # same time as an order: closed
    ("u5", "cart_add", "2024-06-29 12:00:00", "toys"),  # never ordered: open
    ("u5", "cart_add", "2024-05-20 12:00:00", "toys"),  # older than 30 days
    ("u5", "checkin", "2024-06-28 12:00:00", None),
    ("u5", "checkin", "2024-06-01 12:00:00", None),
    ("u5", "post", "2024-06-30 21:00:00", None),
    ("u5", "share", "2024-06-15 12:00:00", None),
    ("u5", "view", "2024-03-01 12:00:00", "books"),  # older than 90 days
]


def fill(conn: sqlite3.Connection) -> None:
    conn.executemany("INSERT INTO users(user_id, signup_at) VALUES (?, ?)", USERS)
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
    conn.executemany(
        "INSERT INTO events(user_id, kind, created_at, value) VALUES (?,?,?,?)", EVENTS
    )
    set_meta(conn, "as_of", AS_OF.isoformat())


@pytest.fixture
def shop(conn: sqlite3.Connection) -> sqlite3.Connection:
    fill(conn)
    return conn


def rows(conn: sqlite3.Connection, table: str = "features") -> dict[str, dict]:
    cur = conn.execute(f"SELECT * FROM {table} ORDER BY user_id")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur}


def test_order_features(shop):
    compute_features(shop, "scratch", AS_OF)
    f = rows(shop, "scratch")
    assert sorted(f) == ["u1", "u2", "u3", "u4", "u5", "u6"]  # u7 did not exist yet
    u1 = f["u1"]
    assert (u1["recency_days"], u1["frequency"], u1["monetary"]) == (0, 3, 180.0)
    assert (u1["first_order_at"], u1["last_order_at"]) == (
        "2024-05-01 02:00:00",
        "2024-06-30 23:30:00",
    )
    assert (u1["orders_30d"], u1["orders_90d"], u1["spent_30d"], u1["spent_90d"]) == (
        2,
        3,
        150.0,
        180.0,
    )
    assert u1["night_order_share"] == pytest.approx(2 / 3)
    # 2024-03-15 -> 2024-06-30: 16 + 30 + 31 + 30 days
    assert (f["u2"]["recency_days"], f["u2"]["orders_90d"], f["u2"]["night_order_share"]) == (
        107,
        0,
        0.0,
    )
    assert (f["u3"]["recency_days"], f["u3"]["orders_30d"], f["u3"]["spent_30d"]) == (29, 1, 200.0)
    u4 = f["u4"]
    assert (u4["recency_days"], u4["orders_90d"], u4["spent_90d"]) == (89, 1, 10.0)
    assert u4["night_order_share"] == 1.0  # only the timed order counts, and it was at 23:00


def test_non_buyers(shop):
    compute_features(shop, "scratch", AS_OF)
    for uid in ("u5", "u6"):
        u = rows(shop, "scratch")[uid]
        assert u["recency_days"] is None and u["first_order_at"] is None
        assert (u["frequency"], u["monetary"], u["orders_90d"]) == (0, 0.0, 0)
        assert u["night_order_share"] is None
    u6 = rows(shop, "scratch")["u6"]
    assert u6["last_active_at"] is None and u6["days_since_active"] is None
    assert u6["favourite_category"] is None and u6["carts_open"] == 0


def test_event_features(shop):
    compute_features(shop, "scratch", AS_OF)
    f = rows(shop, "scratch")
    u1, u5 = f["u1"], f["u5"]
    assert (u1["logins_7d"], u1["logins_30d"], u1["posts_7d"], u1["coupon_uses_90d"]) == (
        2,
        3,
        0,
        1,
    )
    assert (u1["views_30d"], u1["carts_open"], u1["favourite_category"]) == (3, 0, "bags")
    assert (u5["checkins_7d"], u5["checkins_30d"], u5["posts_7d"], u5["posts_30d"]) == (1, 2, 1, 1)
    assert (u5["shares_30d"], u5["views_30d"], u5["carts_open"]) == (1, 0, 1)
    assert u5["favourite_category"] == "toys"
    assert (f["u3"]["carts_open"], f["u3"]["favourite_category"]) == (1, "phones")
    assert f["u2"]["logins_30d"] == 1


def test_last_activity(shop):
    compute_features(shop, "scratch", AS_OF)
    f = rows(shop, "scratch")
    assert (f["u1"]["last_active_at"], f["u1"]["days_since_active"]) == ("2024-06-30 23:30:00", 0)
    assert (f["u2"]["last_active_at"], f["u2"]["days_since_active"]) == ("2024-06-20 07:00:00", 10)
    assert (f["u4"]["last_active_at"], f["u4"]["days_since_active"]) == ("2024-04-02", 89)
    assert (f["u5"]["last_active_at"], f["u5"]["days_since_active"]) == ("2024-06-30 21:00:00", 0)


def test_as_of_cut_includes_the_day_and_not_the_next(shop):
    compute_features(shop, "scratch", date(2024, 7, 1))
    u1 = rows(shop, "scratch")["u1"]
    assert (u1["frequency"], u1["monetary"], u1["posts_7d"]) == (4, 1179.0, 1)
    compute_features(shop, "scratch", date(2024, 6, 29))  # o1 (06-30 23:30) no longer counts
    u1 = rows(shop, "scratch")["u1"]
    assert (u1["frequency"], u1["monetary"], u1["recency_days"]) == (2, 80.0, 9)
    assert u1["carts_open"] == 1  # the 06-25 cart is now later than the last order (06-20)


def test_past_date_reproduces_earlier_state(shop):
    compute_features(shop, "scratch", date(2024, 1, 31))
    f = rows(shop, "scratch")
    assert [u for u, r in f.items() if r["frequency"]] == ["u2"]
    assert (f["u2"]["recency_days"], f["u2"]["monetary"]) == (21, 20.0)
    assert f["u1"]["last_active_at"] is None


def test_recompute_swaps_in_features_and_meta(shop):
    report = recompute(shop)  # as-of from meta
    assert (report.as_of, report.users, report.buyers) == (AS_OF, 6, 4)
    meta = dict(shop.execute("SELECT key, value FROM meta").fetchall())
    assert meta["features_as_of"] == "2024-06-30" and meta["features_computed_at"]
    names = {r[0] for r in shop.execute("SELECT name FROM sqlite_master")}
    # feature and tag indexes only for large user bases (the tag index was always built before;
    # below INDEX_MIN_USERS it cost 0.5 MB of demo.db and saved nothing measurable)
    assert "user_tags_user" not in names
    assert "features_layer" not in names
    assert not {"features_new", "user_tags_new"} & names
    assert rows(shop)["u1"]["rfm_group"] == "important_value"


def test_recompute_needs_an_as_of_date(conn):
    with pytest.raises(CoreError, match="as-of"):
        recompute(conn)


def test_recompute_with_no_orders_at_all(conn):
    conn.executemany("INSERT INTO users(user_id) VALUES (?)", [("a",), ("b",)])
    report = recompute(conn, AS_OF)
    assert (report.users, report.buyers) == (2, 0)
    assert {r["rfm_group"] for r in rows(conn).values()} == {None}


def test_scratch_table_name_is_checked(shop):
    with pytest.raises(CoreError):
        compute_features(shop, "features", AS_OF)
    with pytest.raises(CoreError):
        compute_features(shop, "x; DROP TABLE users", AS_OF)


def _snapshot(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute("SELECT * FROM features ORDER BY user_id").fetchall()


def test_interrupted_recompute_keeps_previous_features(shop, monkeypatch):
    recompute(shop)
    before = _snapshot(shop)
    shop.execute("INSERT INTO orders VALUES ('o10', 'u6', 5.0, '2024-06-30 10:00:00')")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.layers, "apply_layers", interrupted)
    with pytest.raises(KeyboardInterrupt):
        recompute(shop)
    assert _snapshot(shop) == before
    names = {r[0] for r in shop.execute("SELECT name FROM sqlite_master")}
    assert "features_new" not in names and "user_tags_new" not in names


KILLED_CHILD = """
import sys, time
from core import pipeline
from core.store.db import open_db

def stalled(*args):  # half-way: features_new is filled, scored and predicted
    print("half-way", flush=True)
    time.sleep(60)

pipeline.layers.apply_layers = stalled
pipeline.recompute(open_db(sys.argv[1]))
"""


def test_killed_recompute_keeps_previous_features(shop, db_path):
    recompute(shop)
    before = _snapshot(shop)
    shop.execute("INSERT INTO orders VALUES ('o10', 'u6', 5.0, '2024-06-30 10:00:00')")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(db_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "half-way"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    shop.close()
    reopened = open_db(db_path)
    try:
        assert _snapshot(reopened) == before
        names = {r[0] for r in reopened.execute("SELECT name FROM sqlite_master")}
        assert "features_new" not in names
        assert recompute(reopened).buyers == 5  # and the next recompute works
    finally:
        reopened.close()


# ---- the set-based recompute against a plain-Python reference, on a random shop -------------

KINDS = ("login", "post", "checkin", "view", "cart_add", "share", "coupon_use")


def random_shop(conn: sqlite3.Connection, seed: int) -> tuple[list, list, list]:
    """~300 users; amounts in halves (exact sums, many ties); some date-only and night orders,
    some rows after the as-of dates tested below."""
    rng = np.random.default_rng(seed)
    users = [(f"u{i:03d}", None if i % 5 else "2024-08-01") for i in range(300)]
    day = np.datetime64("2024-01-01")

    def stamp() -> str:
        d = str(day + int(rng.integers(0, 200)))
        return (
            d
            if rng.random() < 0.05
            else f"{d} {int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:00"
        )

    orders = [
        (f"o{i}", f"u{int(rng.integers(0, 200)):03d}", float(rng.integers(1, 40)) / 2, stamp())
        for i in range(1500)
    ]
    events = {
        (f"u{int(rng.integers(0, 300)):03d}", KINDS[int(rng.integers(0, 7))], stamp(), None)
        for _ in range(3000)
    }
    # view/cart_add carry a category: few of them, so favourites often tie
    liked = ("bags", "shoes", "toys")
    events = [
        (u, k, t, liked[int(rng.integers(0, 3))] if k in ("view", "cart_add") else v)
        for u, k, t, v in sorted(events)
    ]
    conn.executemany("INSERT INTO users(user_id, signup_at) VALUES (?, ?)", users)
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", orders)
    conn.executemany(
        "INSERT INTO events(user_id, kind, created_at, value) VALUES (?,?,?,?)", events
    )
    return users, orders, events


def reference(users: list, orders: list, events: list, as_of: date) -> dict[str, dict]:
    """The documented definitions, computed row by row in Python."""
    end, start = (
        (as_of + timedelta(days=1)).isoformat(),
        {n: (as_of - timedelta(days=n - 1)).isoformat() for n in (7, 30, 90)},
    )
    mine = {u: [o for o in orders if o[1] == u and o[3] < end] for u, _ in users}
    acts = {u: [e for e in events if e[0] == u and e[2] < end] for u, _ in users}
    out = {}
    for u, signup in users:
        if signup and signup >= end and not mine[u] and not acts[u]:
            continue
        times = [o[3] for o in mine[u]]
        # a bare date, or the 00:00:00 the importer stores for one, carries no time of day
        timed = [t for t in times if len(t) >= 13 and t[11:19] != "00:00:00"]
        last = max([*times, *(e[2] for e in acts[u])], default=None)

        def n(kind: str, days: int, u: str = u) -> int:
            return sum(e[1] == kind and e[2] >= start[days] for e in acts[u])

        liked = Counter(
            e[3] for e in acts[u] if e[1] in ("view", "cart_add") and e[2] >= start[90] and e[3]
        )
        carts = [e[2] for e in acts[u] if e[1] == "cart_add" and e[2] >= start[30]]

        out[u] = {
            "frequency": len(times),
            "monetary": sum(o[2] for o in mine[u]),
            "recency_days": (as_of - date.fromisoformat(max(times)[:10])).days if times else None,
            "first_order_at": min(times, default=None),
            "orders_30d": sum(t >= start[30] for t in times),
            "spent_90d": sum(o[2] for o in mine[u] if o[3] >= start[90]),
            "night_order_share": (
                sum(not "06" <= t[11:13] <= "21" for t in timed) / len(timed) if timed else None
            ),
            **{f"{k}s_{d}d": n(k, d) for k in ("login", "post", "checkin") for d in (7, 30)},
            "views_30d": n("view", 30),
            "shares_30d": n("share", 30),
            "coupon_uses_90d": n("coupon_use", 90),
            "carts_open": sum(not times or c > max(times) for c in carts),
            "favourite_category": min(liked, key=lambda c: (-liked[c], c)) if liked else None,
            "last_active_at": last,
            "days_since_active": (as_of - date.fromisoformat(last[:10])).days if last else None,
        }
    return out


def reference_scores(ref: dict[str, dict]) -> dict[str, tuple]:
    """ceil(5k/n), k = buyers no better (ties included); groups split at the buyers' means."""
    buyers = {u: r for u, r in ref.items() if r["frequency"]}
    values = {
        "r": {u: -r["recency_days"] for u, r in buyers.items()},  # larger is better
        "f": {u: r["frequency"] for u, r in buyers.items()},
        "m": {u: r["monetary"] for u, r in buyers.items()},
    }
    n, out = len(buyers), {}
    for u in buyers:
        scores = [(5 * sum(w <= v[u] for w in v.values()) + n - 1) // n for v in values.values()]
        high = [v[u] >= sum(v.values()) / n - 1e-9 for v in values.values()]
        out[u] = (*scores, 4 * high[0] + 2 * high[1] + high[2])
    return out


@pytest.mark.parametrize("as_of", [date(2024, 5, 15), date(2024, 12, 31)])  # cut, nothing after
def test_features_and_scores_match_a_python_reference(conn, as_of):
    users, orders, events = random_shop(conn, seed=3)
    compute_features(conn, "scratch", as_of)
    got = rows(conn, "scratch")
    ref = reference(users, orders, events, as_of)
    assert sorted(got) == sorted(ref)
    for u, expected in ref.items():
        assert {k: got[u][k] for k in expected} == pytest.approx(expected), u
    codes = {g.key: g.code for g in rfm.GROUPS}
    scored = {
        u: (r["r_score"], r["f_score"], r["m_score"], codes[r["rfm_group"]])
        for u, r in got.items()
        if r["frequency"]
    }
    assert scored == reference_scores(ref)
    assert all(got[u]["rfm_group"] is None for u in got if not got[u]["frequency"])


def test_the_history_read_beside_gives_the_same_features_as_inline(shop, monkeypatch):
    """On a WAL file the purchase history (first orders, model inputs) is read by a second
    connection on another thread; where that is impossible it runs on the caller's own
    connection. Both give the same table, first orders included."""
    import core.store.db

    assert core.store.db.reader_path(shop) is not None  # the fixture's file is WAL: read beside
    monkeypatch.setattr(features, "BESIDE_MIN_ORDERS", 0)
    compute_features(shop, "beside", AS_OF, with_predictions=True)
    monkeypatch.setattr(core.store.db, "reader_path", lambda conn: None)
    compute_features(shop, "inline", AS_OF, with_predictions=True)
    beside, inline = rows(shop, "beside"), rows(shop, "inline")
    assert beside == inline
    assert beside["u2"]["first_order_at"] == "2024-01-10 12:00:00"


def test_an_error_beside_rolls_the_recompute_back(shop, monkeypatch):
    recompute(shop)
    before = _snapshot(shop)

    def broken(conn, as_of, fit):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(features.predict, "purchase_history", broken)  # run inline: small data
    with pytest.raises(CoreError, match="previous features kept"):
        recompute(shop)
    assert _snapshot(shop) == before
    assert shop.execute("SELECT count(*) FROM temp.sqlite_master").fetchone() == (0,)


def test_an_in_memory_database_has_no_reader_beside():
    from core.store.db import reader_path

    assert reader_path(sqlite3.connect(":memory:")) is None


def test_feature_indexes_only_for_large_user_bases():
    from core.store.schema import (
        FEATURE_INDEXES,
        FEATURE_SORT_INDEXES,
        INDEX_MIN_USERS,
        feature_index_ddl,
    )

    assert feature_index_ddl(n_users=INDEX_MIN_USERS - 1) == []
    built = feature_index_ddl(n_users=INDEX_MIN_USERS)
    assert len(built) == len(FEATURE_INDEXES) + len(FEATURE_SORT_INDEXES)
    assert built[0] == "CREATE INDEX IF NOT EXISTS features_layer ON features(layer, user_id)"


def test_the_columns_conditions_test_most_are_stored_first(shop):
    """Readers name their columns; only the stored order changes (cheaper row decoding)."""
    from core.store.schema import FEATURE_COLUMNS, HOT_FEATURE_COLUMNS

    recompute(shop)
    stored = [row[1] for row in shop.execute("PRAGMA table_info(features)")]
    assert stored[: len(HOT_FEATURE_COLUMNS)] == list(HOT_FEATURE_COLUMNS)
    assert stored[:4] == ["user_id", "city", "gender", "channel"]
    assert sorted(stored) == sorted(FEATURE_COLUMNS)


def test_date_only_orders_are_not_night_orders(conn, tmp_path):
    """CDNOW-like data (dates only, stored as midnight by the importer): nobody is a night
    buyer, and the 夜猫子 tag (night share >= 0.5, two orders) goes to nobody (issue 13, 15).
    A user with one timed night order beside date-only ones has share 1/1 from that one."""
    from core.ingest.importer import import_files
    from core.rules.tags import install_default_tags

    path = tmp_path / "cdnow.csv"
    path.write_text(
        "ID,date,amount\n"
        "1,1997-01-01,29.33\n1,1997-01-18,29.73\n1,1997-08-02,14.96\n"
        "2,1997-01-01,63.34\n2,1997-01-13,11.77\n"
        "3,1997-01-02,6.79\n3,1997-03-30 23:15:00,12.00\n"
    )
    import_files(conn, orders=path, mapping={"ID": "user_id", "date": "created_at"})
    assert conn.execute("SELECT min(created_at) FROM orders").fetchone()[0] == (
        "1997-01-01 00:00:00"
    )
    install_default_tags(conn)
    recompute(conn, date(1997, 12, 31))
    share = dict(conn.execute("SELECT user_id, night_order_share FROM features"))
    assert share == {"1": None, "2": None, "3": 1.0}
    night = conn.execute("SELECT user_id FROM user_tags WHERE tag = '夜猫子'").fetchall()
    assert night == [("3",)]
