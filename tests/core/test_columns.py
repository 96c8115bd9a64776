"""The column registry (core.store.columns): its invariants (once import-time asserts in schema.py,
features.py and windows.py) and the lists derived from it, pinned to their values."""

from __future__ import annotations

import re
import sqlite3
from datetime import date

from core.analytics import features, predict, rfm
from core.query import fields, windows
from core.store import columns, schema
from core.store.columns import COLUMNS, FEATURE_COLUMNS
from core.store.db import open_db

# The stored order of a features row, exactly as before the registry: the hot columns first
# (in their own order), then the rest in FEATURE_COLUMNS order.
STORED_ORDER = [
    ("user_id", "TEXT", 1),
    ("city", "TEXT", 0),
    ("gender", "TEXT", 0),
    ("channel", "TEXT", 0),
    ("signup_at", "TEXT", 0),
    ("rfm_group", "TEXT", 0),
    ("layer", "TEXT", 0),
    ("r_score", "INTEGER", 0),
    ("f_score", "INTEGER", 0),
    ("m_score", "INTEGER", 0),
    ("recency_days", "INTEGER", 0),
    ("frequency", "INTEGER", 0),
    ("monetary", "REAL", 0),
    ("p_alive", "REAL", 0),
    ("clv", "REAL", 0),
    ("days_since_active", "INTEGER", 0),
    ("days_since_login", "INTEGER", 0),
    ("logins_30d", "INTEGER", 0),
    ("orders_30d", "INTEGER", 0),
    ("orders_90d", "INTEGER", 0),
    ("spent_90d", "REAL", 0),
    ("days_since_view", "INTEGER", 0),
    ("days_since_post", "INTEGER", 0),
    ("days_since_checkin", "INTEGER", 0),
    ("days_since_cart_add", "INTEGER", 0),
    ("days_since_share", "INTEGER", 0),
    ("days_since_coupon_use", "INTEGER", 0),
    # the previous 30 days (schema 8): hot, read beside the 30-day windows
    ("logins_prev_30d", "INTEGER", 0),
    ("orders_prev_30d", "INTEGER", 0),
    ("spent_prev_30d", "REAL", 0),
    ("name", "TEXT", 0),
    ("device", "TEXT", 0),
    ("first_order_at", "TEXT", 0),
    ("last_order_at", "TEXT", 0),
    ("spent_30d", "REAL", 0),
    ("logins_7d", "INTEGER", 0),
    ("posts_7d", "INTEGER", 0),
    ("posts_30d", "INTEGER", 0),
    ("checkins_7d", "INTEGER", 0),
    ("checkins_30d", "INTEGER", 0),
    ("views_30d", "INTEGER", 0),
    ("shares_30d", "INTEGER", 0),
    ("carts_open", "INTEGER", 0),
    ("coupon_uses_90d", "INTEGER", 0),
    ("night_order_share", "REAL", 0),
    ("favourite_category", "TEXT", 0),
    ("last_active_at", "TEXT", 0),
    ("rfm_cell27", "TEXT", 0),
    ("expected_purchases_30d", "REAL", 0),
    ("expected_purchases_90d", "REAL", 0),
    ("expected_order_value", "REAL", 0),
    # the model intervals (issue 15) come after every column of before, not among the hot ones
    ("expected_purchases_90d_low", "REAL", 0),
    ("expected_purchases_90d_high", "REAL", 0),
    ("clv_low", "REAL", 0),
    ("clv_high", "REAL", 0),
]


def _table_info(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, int]]:
    return [(r[1], r[2], r[5]) for r in conn.execute(f"PRAGMA table_info({table})")]


def test_the_feature_table_stores_its_columns_in_the_same_order_as_before() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(schema.feature_table_ddl("scratch_features"))
    assert _table_info(conn, "scratch_features") == STORED_ORDER
    assert len(STORED_ORDER) == len(FEATURE_COLUMNS) == 55  # 48 + 4 model intervals + 3 previous


def test_names_are_unique_plain_identifiers() -> None:
    names = [c.name for c in COLUMNS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", n) for n in names)
    assert list(columns.BY_NAME) == names


def test_declared_values_are_from_the_known_sets() -> None:
    for c in COLUMNS:
        assert c.kind in columns.KINDS, c.name
        assert c.filled_by in columns.FILLED_BY, c.name
        assert c.type in columns.LANGUAGE_TYPES, c.name
        assert c.sql_type in ("INTEGER", "REAL", "TEXT"), c.name
        # numbers are stored as numbers; text and dates (ISO text) as TEXT
        assert (c.type == "number") == (c.sql_type in ("INTEGER", "REAL")), c.name
        assert all(c.label) and all(c.short), c.name


def test_hot_columns_have_one_place_each_and_are_feature_columns() -> None:
    hot = sorted(c.hot for c in COLUMNS if c.hot is not None)
    assert hot == list(range(len(hot))) == list(range(30))
    assert set(schema.HOT_FEATURE_COLUMNS) <= set(FEATURE_COLUMNS)
    assert schema.HOT_FEATURE_COLUMNS[:4] == ("user_id", "city", "gender", "channel")


def test_where_each_features_column_comes_from() -> None:
    for c in COLUMNS:
        assert c.in_features or c.in_users, c.name
        assert (c.filled_by == "import") == (not c.in_features), c.name
        has_sql = c.filled_by in ("recompute", "predict")
        assert bool(c.sql) == has_sql, c.name
    # features.py's expressions are schema columns, and with the scores, the model outputs and
    # the layer they are every column
    assert set(features._SELECT_EXPR) <= set(FEATURE_COLUMNS)
    rfm_filled = {c.name for c in COLUMNS if c.filled_by == "rfm"}
    assert rfm_filled == {"r_score", "f_score", "m_score", "rfm_group", "rfm_cell27"}
    every = set(features._SELECT_EXPR) | rfm_filled | set(features._PREDICTION_EXPR) | {"layer"}
    assert every == set(FEATURE_COLUMNS)
    assert [c.name for c in COLUMNS if c.filled_by == "layers"] == ["layer"]


def test_score_plan_fills_exactly_the_columns_marked_rfm(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO users(user_id) VALUES ('u1'), ('u2')")
    conn.execute(
        "INSERT INTO orders VALUES ('o1', 'u1', 10, '2024-06-01'), ('o2', 'u2', 5, '2024-05-01')"
    )
    features.compute_rfm_inputs(conn, date(2024, 6, 30))
    plan = rfm.score_plan(conn, "temp.uo_rfm", rfm.get_thresholds(conn), alias="o")
    assert plan is not None
    assert set(plan.exprs) == {c.name for c in COLUMNS if c.filled_by == "rfm"}


def test_model_outputs_are_the_predicted_columns() -> None:
    assert schema.MODEL_OUTPUT_COLUMNS == (
        "p_alive",
        "expected_purchases_30d",
        "expected_purchases_90d",
        "expected_order_value",
        "clv",
        # their 90 % intervals (issue 15)
        "expected_purchases_90d_low",
        "expected_purchases_90d_high",
        "clv_low",
        "clv_high",
    )
    assert predict.OUTPUT_COLUMNS == schema.MODEL_OUTPUT_COLUMNS
    assert dict(features._PREDICTION_EXPR) == {c: f"p.{c}" for c in schema.MODEL_OUTPUT_COLUMNS}
    assert all(columns.BY_NAME[c].kind == "model" for c in schema.MODEL_OUTPUT_COLUMNS)


def test_materialised_windows_are_feature_columns() -> None:
    assert set(windows.MATERIALISED.values()) <= set(FEATURE_COLUMNS)
    assert windows.MATERIALISED == {
        ("count", "login", 7): "logins_7d",
        ("count", "login", 30): "logins_30d",
        ("count", "post", 7): "posts_7d",
        ("count", "post", 30): "posts_30d",
        ("count", "checkin", 7): "checkins_7d",
        ("count", "checkin", 30): "checkins_30d",
        ("count", "view", 30): "views_30d",
        ("count", "share", 30): "shares_30d",
        ("count", "coupon_use", 90): "coupon_uses_90d",
        ("orders", None, 30): "orders_30d",
        ("orders", None, 90): "orders_90d",
        ("spent", None, 30): "spent_30d",
        ("spent", None, 90): "spent_90d",
        ("count", "login", (59, 30)): "logins_prev_30d",
        ("orders", None, (59, 30)): "orders_prev_30d",
        ("spent", None, (59, 30)): "spent_prev_30d",
        ("orders", None, None): "frequency",
        ("spent", None, None): "monetary",
    }
    declared = [c.window for c in COLUMNS if c.window is not None]
    assert len(declared) == len(set(declared))
    assert all(w[1] is None or w[1] in schema.EVENT_KINDS for w in declared)


def test_the_refresh_touches_users_at_every_window_edge() -> None:
    # rows leave 7d/30d/90d at their length; the previous 30 days (-59d..-30d) gain rows where
    # the last 30 lose them (30) and lose them at 60
    from core import refresh

    assert columns.WINDOW_EDGES == (7, 30, 60, 90)
    assert set(columns.WINDOW_EDGES) <= set(refresh.WINDOWS)
    assert max(refresh.WINDOWS) == 90  # the re-read bound covers every window's rows


def test_days_since_last_covers_every_event_kind_in_order() -> None:
    assert tuple(schema.DAYS_SINCE_LAST) == schema.EVENT_KINDS
    assert dict(schema.DAYS_SINCE_LAST) == {k: f"days_since_{k}" for k in schema.EVENT_KINDS}
    assert set(schema.DAYS_SINCE_LAST.values()) <= set(FEATURE_COLUMNS)


def test_user_columns_are_the_users_table(conn: sqlite3.Connection) -> None:
    assert list(schema.USER_COLUMNS) == [
        "user_id",
        "name",
        "gender",
        "city",
        "channel",
        "device",
        "signup_at",
        "phone",
        "email",
    ]
    built = [(n, t) for n, t, _ in _table_info(conn, "users")]
    assert built == list(schema.USER_COLUMNS.items())


def test_a_new_database_gets_the_registry_table(tmp_path) -> None:
    conn = open_db(tmp_path / "new.db", create=True)
    assert _table_info(conn, "features") == STORED_ORDER


def test_the_language_flags_are_as_before() -> None:
    assert set(fields.DATE_COLUMNS) == {
        "signup_at",
        "first_order_at",
        "last_order_at",
        "last_active_at",
    }
    assert set(fields.CATEGORICAL) == {
        "gender",
        "city",
        "channel",
        "device",
        "layer",
        "rfm_group",
        "rfm_cell27",
        "favourite_category",
    }
    assert set(fields.PERSONAL) == {"user_id", "name", "phone", "email"}
    assert set(fields.LABELS) == set(columns.LABELS) | {"rfm", "city_tier", "member"}
    assert fields.LABELS["recency_days"] == ("最近消费天数", "days since last purchase")
    assert fields.LABELS["rfm"] == fields.LABELS["rfm_group"] == ("RFM分组", "RFM group")


def test_profile_sections_have_one_place_per_row() -> None:
    for section in columns.PROFILE_SECTIONS:
        places = sorted(c.profile[1] for c in COLUMNS if c.profile and c.profile[0] == section)
        assert places == list(range(len(places))), section
    # the intervals are shown inside the rows of their figures, not as rows of their own
    assert [c.name for c in columns.profile_rows("predictions")] == [
        c for c in schema.MODEL_OUTPUT_COLUMNS if c not in schema.MODEL_INTERVAL_COLUMNS
    ]
