"""Per-user features as of a date, and the recompute pipeline that swaps them in atomically.

Everything is set-based SQL: ``GROUP BY user_id`` passes over the covering index of ``orders``,
one bare pass over ``events`` in key order (last activity), index-only range reads of the recent
window of ``events_kind_time`` (windowed counts, open carts, favourite category), the model
outputs (core.analytics.predict), then a single ``INSERT … SELECT`` joining them to ``users``. Definitions (see docs/analytics.md):

* as of D, a row counts when ``created_at < D + 1 day``; a window "Nd" is ``created_at >= D-(N-1)``;
* ``logins_prev_30d``, ``orders_prev_30d``, ``spent_prev_30d``: the same counts and sum over the
  30 days before the last 30, D-59 … D-30 (the language's ``-59d..-30d``);
* ``recency_days`` = D − date(last order), NULL for users who never bought; non-buyers have
  ``frequency`` 0 and ``monetary`` 0;
* ``carts_open`` = cart_add events in the 30-day window with no order of the same user at or
  after the cart time (as of D), i.e. carts later than the user's last order;
* ``night_order_share`` = orders placed 22:00–05:59 / orders that carry a time of day (a date
  alone, stored as 00:00:00, carries none);
* ``favourite_category`` = most frequent non-empty ``value`` of view/cart_add events in the
  90-day window, ties broken alphabetically;
* ``last_active_at`` = latest order or event; ``days_since_active`` = D − its date.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING

from core.analytics import predict, rfm
from core.errors import CoreError
from core.store import columns
from core.store.columns import days_before_as_of
from core.store.db import beside
from core.store.engines import SQLITE, Dialect, dialect_of
from core.store.schema import DAYS_SINCE_LAST, feature_table_ddl
from core.store.sql import quote, table_name

if TYPE_CHECKING:  # pandas (~0.2 s) loads where the recompute needs it
    import pandas as pd


def _bounds(as_of: date) -> dict[str, str]:
    """The bound parameters every feature query uses: the cut and the window starts."""
    return {
        **{f"kind_{kind}": kind for kind in DAYS_SINCE_LAST},
        "as_of": as_of.isoformat(),
        "end": (as_of + timedelta(days=1)).isoformat(),
        "d7": (as_of - timedelta(days=6)).isoformat(),
        "d30": (as_of - timedelta(days=29)).isoformat(),
        "d60": (as_of - timedelta(days=59)).isoformat(),  # the previous 30 days: d60 .. d30
        "d90": (as_of - timedelta(days=89)).isoformat(),
    }


# The RFM inputs: one GROUP BY pass over the covering index orders(user_id, created_at, amount),
# the same shape as the bare aggregate (per-row work kept to the as-of cut). The first order
# comes with the model inputs (core.analytics.predict.purchase_history): a min() here costs +20 %.
_RFM_AGG = (
    """
CREATE TEMP TABLE uo_rfm (
    user_id TEXT PRIMARY KEY, last_at TEXT, recency_days INTEGER,
    frequency INTEGER, monetary REAL
) WITHOUT ROWID
""",
    """
INSERT INTO uo_rfm
SELECT user_id, max(created_at), {recency}, count(*), {total_amount}
FROM orders{orders_by_user}
{cut}
GROUP BY user_id
""",
)

# On an engine without SQLite's second reader (DuckDB): the same pass also gives what the
# purchase history reads (first order, days with orders), so the model inputs come from it and
# the amounts are added in order once, not twice (_ENGINE_SUMMARY).
_RFM_AGG_WITH_HISTORY = (
    """
CREATE TEMP TABLE uo_rfm (
    user_id TEXT PRIMARY KEY, last_at TEXT, recency_days INTEGER,
    frequency INTEGER, monetary REAL, first_at TEXT, days INTEGER
) WITHOUT ROWID
""",
    """
INSERT INTO uo_rfm
SELECT user_id, max(created_at), {recency}, count(*), {total_amount},
       min(created_at), count(DISTINCT substr(created_at, 1, 10))
FROM orders{orders_by_user}
{cut}
GROUP BY user_id
""",
)

# core.analytics.predict's _SUMMARY_SQL read from that pass: the same orders (created_at < D +
# 1 day), the same sum of amounts (monetary is its total, added in the same order), the first
# day's total added in that order too; the columns predict.summary_frame reads.
_ENGINE_SUMMARY = """
SELECT g.user_id, g.first_at, g.days - 1 AS x,
       {t_x_days} AS t_x_days,
       {t_days} AS t_days,
       CASE WHEN g.days > 1 THEN g.monetary - f.first_day END AS repeat_amount
FROM uo_rfm AS g
LEFT JOIN (
    SELECT o.user_id AS user_id, {sum_o_amount} AS first_day
    FROM uo_rfm AS r JOIN orders AS o ON o.user_id = r.user_id
    WHERE r.days > 1 AND o.created_at >= substr(r.first_at, 1, 10)
      AND o.created_at < {next_day}
    GROUP BY o.user_id
) AS f ON f.user_id = g.user_id
"""


def _engine_summary_sql(d: Dialect) -> str:
    return _ENGINE_SUMMARY.format(
        t_x_days=d.day_span("substr(g.first_at, 1, 10)", "substr(g.last_at, 1, 10)"),
        t_days=d.day_span("substr(g.first_at, 1, 10)", ":as_of"),
        sum_o_amount=d.sum("o.amount", "o.created_at, o.amount"),
        next_day=d.next_day("r.first_at"),
    )


# The 30/90-day order columns and the previous 30 days (D-59 .. D-30): only the last 90 days
# reach the aggregate. (Walking the same covering index beats the orders_time range: that one
# needs a table lookup per order.)
_ORDER_WINDOW = (
    """
CREATE TEMP TABLE uo_ord_win (
    user_id TEXT PRIMARY KEY, o30 INTEGER, o90 INTEGER, s30 REAL, s90 REAL,
    o_prev30 INTEGER, s_prev30 REAL
) WITHOUT ROWID
""",
    """
INSERT INTO uo_ord_win
SELECT user_id, count(*) FILTER (WHERE created_at >= :d30), count(*),
       {total_d30}, {total_amount},
       count(*) FILTER (WHERE created_at >= :d60 AND created_at < :d30),
       {total_prev30}
FROM orders{orders_by_user}
WHERE created_at >= :d90 AND created_at < :end
GROUP BY user_id
""",
)

# Night share: the hour test is the costly per-order work, so it has its own pass and does not
# slow the RFM one. Orders without a time of day count in neither sum: a bare date (length < 13)
# and, row by row, a time of exactly 00:00:00, which is how the importer stores a date given
# without a time (a real order at midnight to the second is rare enough to leave out).
_NIGHT = (
    """
CREATE TEMP TABLE uo_night (user_id TEXT PRIMARY KEY, night INTEGER, timed INTEGER) WITHOUT ROWID
""",
    """
INSERT INTO uo_night
SELECT user_id,
       count(*) FILTER (WHERE substr(created_at, 12, 2) NOT BETWEEN '06' AND '21'),
       count(*)
FROM orders{orders_by_user}
WHERE length(created_at) >= 13 AND substr(created_at, 12, 8) <> '00:00:00' {and_cut}
GROUP BY user_id
""",
)

# Last activity needs every event: one pass over events in key order (user_id first), with the
# latest event of each DAYS_SINCE_LAST kind riding along. Those kind tests are most of the pass
# (2.5 s -> 8.9 s on 20M events for 7 kinds; a GROUP BY user_id, kind first was slower): the
# price of last(kind) < X answering in ~150 ms instead of 1-2 s. Kinds are bound like values.
_EVENT_LAST = (
    f"""
CREATE TEMP TABLE uo_ev_last (
    user_id TEXT PRIMARY KEY, last_at TEXT,
    {", ".join(f"last_{kind} TEXT" for kind in DAYS_SINCE_LAST)}
) WITHOUT ROWID
""",
    """
INSERT INTO uo_ev_last
SELECT user_id, max(created_at),
       {last_of_kinds}
FROM events {cut} GROUP BY user_id
""",
)


def _last_of_kinds(d: Dialect) -> str:
    """_EVENT_LAST's latest event of each DAYS_SINCE_LAST kind (its time, or at least its
    date: Dialect.latest_where), as the engine spells it."""
    kinds = DAYS_SINCE_LAST
    return ", ".join(d.latest_where("created_at", f"kind = :kind_{kind}") for kind in kinds)


# The windowed counts read only the recent ranges of events_kind_time (covering: the key columns
# ride along), a few percent of the events; then one sort by user. UNION ALL, not OR: an OR of
# two ranges on a WITHOUT ROWID table dedups through a temporary key set (4x slower). Logins
# also over the previous 30 days (D-59 .. D-30: logins_prev_30d), in a range of their own.
_EVENT_WINDOWS = (
    """
CREATE TEMP TABLE uo_ev_win (
    user_id TEXT PRIMARY KEY, logins_7d INTEGER, logins_30d INTEGER,
    posts_7d INTEGER, posts_30d INTEGER, checkins_7d INTEGER, checkins_30d INTEGER,
    views_30d INTEGER, shares_30d INTEGER, coupon_uses_90d INTEGER, logins_prev_30d INTEGER
) WITHOUT ROWID
""",
    """
INSERT INTO uo_ev_win
SELECT user_id,
       count(*) FILTER (WHERE created_at >= :d7 AND kind = 'login'),
       count(*) FILTER (WHERE kind = 'login' AND created_at >= :d30),
       count(*) FILTER (WHERE created_at >= :d7 AND kind = 'post'),
       count(*) FILTER (WHERE kind = 'post'),
       count(*) FILTER (WHERE created_at >= :d7 AND kind = 'checkin'),
       count(*) FILTER (WHERE kind = 'checkin'),
       count(*) FILTER (WHERE kind = 'view'),
       count(*) FILTER (WHERE kind = 'share'),
       count(*) FILTER (WHERE kind = 'coupon_use'),
       count(*) FILTER (WHERE kind = 'login' AND created_at < :d30)
FROM (
    SELECT user_id, kind, created_at FROM events{events_by_kind}
    WHERE kind IN ('login', 'post', 'checkin', 'view', 'share')
      AND created_at >= :d30 AND created_at < :end
    UNION ALL
    SELECT user_id, kind, created_at FROM events{events_by_kind}
    WHERE kind = 'coupon_use' AND created_at >= :d90 AND created_at < :end
    UNION ALL
    SELECT user_id, kind, created_at FROM events{events_by_kind}
    WHERE kind = 'login' AND created_at >= :d60 AND created_at < :d30
)
GROUP BY user_id
""",
)

# Only the recent window, through events(kind, created_at).
_CART_AGG = (
    """
CREATE TEMP TABLE uo_cart_agg (user_id TEXT PRIMARY KEY, open INTEGER) WITHOUT ROWID
""",
    """
INSERT INTO uo_cart_agg
SELECT e.user_id, count(*)
FROM events AS e LEFT JOIN uo_rfm AS o ON o.user_id = e.user_id
WHERE e.kind = 'cart_add' AND e.created_at >= :d30 AND e.created_at < :end
  AND (o.last_at IS NULL OR e.created_at > o.last_at)
GROUP BY e.user_id
""",
)

# Count per (user, category), then per user the smallest key "(999999999 - count) || category":
# the most frequent category, ties alphabetically first. The inner GROUP BY already yields rows in
# user order, so the outer one streams (a row_number() window needs two more sorts: 30% slower).
_FAVOURITE = (
    """
CREATE TEMP TABLE uo_fav (user_id TEXT PRIMARY KEY, category TEXT) WITHOUT ROWID
""",
    """
INSERT INTO uo_fav
SELECT user_id, substr(min(printf('%09d', 999999999 - n) || value), 10)
FROM (
    SELECT user_id, value, count(*) AS n
    FROM events{events_by_kind}
    WHERE kind IN ('view', 'cart_add') AND created_at >= :d90 AND created_at < :end
      AND value <> ''
    GROUP BY user_id, value
)
GROUP BY user_id
""",
)

# From this many orders the purchase history is read by a second process beside the other
# passes (core.store.db.beside): below, its ~1 s start costs more than the overlap saves.
BESIDE_MIN_ORDERS = 2_000_000

_SCRATCH = (
    "uo_rfm",
    "uo_ord_win",
    "uo_night",
    "uo_ev_last",
    "uo_ev_win",
    "uo_cart_agg",
    "uo_fav",
    predict.PREDICTIONS_TABLE,
)

# The latest time in a table, by seeks on its time index (events: one per kind, skip-scan).
_LATEST = {
    "orders": "SELECT max(created_at) FROM orders",
    "events": """
WITH RECURSIVE k(kind) AS (
    SELECT min(kind) FROM events
    UNION ALL SELECT (SELECT min(kind) FROM events WHERE kind > k.kind) FROM k
    WHERE k.kind IS NOT NULL
)
SELECT max((SELECT max(created_at) FROM events WHERE kind = k.kind)) FROM k""",
}
# ... and on an engine without those indexes (Dialect.seeks), whether any row is dated on or
# after the cut (its time, else NULL): the column's zone maps skip every block dated before it,
# where a max() reads them all (DuckDB, 1M users: 0.3 + 0.5 s of CPU for orders and events, 0)
_LATEST_SCAN = {
    table: f"SELECT max(created_at) FROM (SELECT created_at FROM {table} "
    "WHERE created_at >= :end LIMIT 1) AS later"
    for table in _LATEST
}


# Column -> SQL expression over users u, uo_rfm o, uo_ord_win w, uo_night n, uo_ev_last e,
# uo_ev_win k, uo_cart_agg c, uo_fav v: declared with each column in core.store.columns. The RFM
# score columns come from core.analytics.rfm.score_plan.
_SELECT_EXPR = columns.select_expr(SQLITE)

# The model outputs (NULL when not fitted), from temp.uo_predict, alias p.
_PREDICTION_EXPR = columns.MODEL_OUTPUT_EXPR


def _insert_sql(table: str, scores: dict[str, str], dialect: Dialect | None = None) -> str:
    chosen = _SELECT_EXPR if dialect is None else columns.select_expr(dialect)
    exprs = {**chosen, **scores, **_PREDICTION_EXPR}
    select = ",\n       ".join(exprs.values())
    # Users who signed up after the as-of date did not exist yet (unless they already acted).
    return f"""
INSERT INTO {table} ({", ".join(quote(c) for c in exprs)})
SELECT {select}
FROM users AS u
LEFT JOIN uo_rfm AS o ON o.user_id = u.user_id
LEFT JOIN uo_ord_win AS w ON w.user_id = u.user_id
LEFT JOIN uo_night AS n ON n.user_id = u.user_id
LEFT JOIN uo_ev_last AS e ON e.user_id = u.user_id
LEFT JOIN uo_ev_win AS k ON k.user_id = u.user_id
LEFT JOIN uo_cart_agg AS c ON c.user_id = u.user_id
LEFT JOIN uo_fav AS v ON v.user_id = u.user_id
LEFT JOIN temp.{predict.PREDICTIONS_TABLE} AS p ON p.user_id = u.user_id
WHERE u.signup_at IS NULL OR u.signup_at < :end
   OR o.user_id IS NOT NULL OR e.user_id IS NOT NULL
ORDER BY u.user_id
"""


def _cut_clauses(conn: sqlite3.Connection, table: str, params: dict[str, str]) -> dict[str, str]:
    """The as-of cut as SQL for a full pass over ``table``: empty when no row is dated on or
    after the cut (the usual as-of date, the latest day), which spares a test per row."""
    sql = (_LATEST if dialect_of(conn).seeks else _LATEST_SCAN)[table]
    latest = conn.execute(sql, {"end": params["end"]}).fetchone()[0]
    if latest is None or latest < params["end"]:
        return {"cut": "", "and_cut": ""}
    return {"cut": "WHERE created_at < :end", "and_cut": "AND created_at < :end"}


def _run_script(
    conn: sqlite3.Connection,
    script: tuple[str, ...],
    params: dict[str, str],
    cut: dict[str, str] | None = None,
) -> None:
    """Run the statements in order with the named parameters each one uses (``cut`` fills the
    ``{cut}`` / ``{and_cut}`` placeholders; the engine's spelling the others, the CREATE TABLE
    its types: SQLite's text is the scripts' own)."""
    d = dialect_of(conn)
    for statement in script:
        if statement.lstrip().startswith("CREATE"):
            conn.execute(d.scratch_table(statement), params)
        else:
            conn.execute(statement.format(**_spelling(d), **(cut or {})), params)


def _spelling(d: Dialect) -> dict[str, str]:
    """The placeholders of the scripts that engines spell differently."""
    return {
        "recency": days_before_as_of("max(created_at)", d),
        # in the order of orders_user_time_amount, SQLite's (Dialect.total)
        "total_amount": d.total("amount", "created_at, amount"),
        "total_d30": d.total_where("amount", "created_at, amount", "created_at >= :d30"),
        "total_prev30": d.total_where(
            "amount", "created_at, amount", "created_at >= :d60 AND created_at < :d30"
        ),
        "orders_by_user": d.indexed_by("orders_user_time_amount"),
        "events_by_kind": d.indexed_by("events_kind_time"),
        "last_of_kinds": _last_of_kinds(d),
    }


def _drop_scratch(conn: sqlite3.Connection) -> None:
    for name in _SCRATCH:
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _orders_at_least(conn: sqlite3.Connection, n: int) -> bool:
    """About ``n`` orders or more (the rowid high-water mark: one seek, not a count)."""
    return (conn.execute("SELECT max(rowid) FROM orders").fetchone()[0] or 0) >= n


def check_table_name(table: str) -> str:
    if table_name(table) == "features":
        raise CoreError(f"{table!r} cannot hold computed features (use a scratch table name).")
    return table


def compute_rfm_inputs(
    conn: sqlite3.Connection,
    as_of: date,
    *,
    with_history: bool = False,
    cut: dict[str, str] | None = None,
) -> rfm.ScorePlan | None:
    """R, F, M, first and last order per buyer into temp.uo_rfm, and the scoring plan built
    from them (None without buyers): all the recompute's RFM work but the final INSERT. With
    ``with_history`` uo_rfm also holds what _ENGINE_SUMMARY reads (first order, days).
    ``cut``: the orders' as-of cut (_cut_clauses), when the caller has it already."""
    _drop_scratch(conn)
    params = _bounds(as_of)
    script = _RFM_AGG_WITH_HISTORY if with_history else _RFM_AGG
    _run_script(conn, script, params, cut or _cut_clauses(conn, "orders", params))
    return rfm.score_plan(conn, "temp.uo_rfm", rfm.get_thresholds(conn), alias="o")


def compute_features(
    conn: sqlite3.Connection,
    table: str,
    as_of: date,
    *,
    with_predictions: bool = False,
    history_into: list[pd.DataFrame] | None = None,
) -> int:
    """(Re)create ``table`` and fill it with one row of features per user as of ``as_of``:
    aggregates, attribute copies and RFM scores/group/cell (thresholds as stored), in one
    INSERT. With ``with_predictions`` the models are fitted (fits stored) and their outputs go
    into the same INSERT; otherwise the model columns stay NULL. Layers and tags are later
    pipeline steps.

    The purchase history (first orders, model inputs and fits) reads only orders, so it runs on
    a second connection while this one makes the other passes (core.store.db.beside); the caller must
    not have uncommitted changes to orders. Runs in the caller's transaction, if any. Returns
    the number of users written; the purchase history's per-buyer frame (first order, model
    inputs: predict.purchase_history) is appended to ``history_into`` when given.
    """
    check_table_name(table)
    params = _bounds(as_of)
    d = dialect_of(conn)
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(d.create_table(feature_table_ddl(table)))
    try:
        on_sqlite = d.name == "sqlite"
        order_cut = _cut_clauses(conn, "orders", params)  # the RFM and night passes'
        if on_sqlite:  # the purchase history in a second process, beside the passes
            big = _orders_at_least(conn, BESIDE_MIN_ORDERS)
            besides = beside(conn, predict.purchase_history, as_of, with_predictions, worth_it=big)
        else:  # DuckDB: its summary from the RFM pass, the fits on a thread beside the SQL
            plan = compute_rfm_inputs(conn, as_of, with_history=True, cut=order_cut)
            besides = _fits_beside(conn, as_of, with_predictions)
        with besides as history:
            if on_sqlite:
                plan = compute_rfm_inputs(conn, as_of, cut=order_cut)
            _run_script(conn, _ORDER_WINDOW, params)
            _run_script(conn, _NIGHT, params, order_cut)
            _run_script(conn, _EVENT_LAST, params, _cut_clauses(conn, "events", params))
            for script in (_EVENT_WINDOWS, _CART_AGG, _FAVOURITE):
                _run_script(conn, script, params)
            report, out = history()
            predict.write_history(conn, report, out, inputs=with_predictions)
            if history_into is not None:
                history_into.append(out)
        scores = plan.exprs if plan else {}
        cursor = conn.execute(
            _insert_sql(table, scores, None if d.name == "sqlite" else d),
            {**params, **(plan.params if plan else {})},
        )
        return cursor.rowcount
    finally:
        _drop_scratch(conn)


@contextmanager
def _fits_beside(
    conn: sqlite3.Connection, as_of: date, fit: bool
) -> Iterator[Callable[[], tuple[predict.PredictionReport | None, pd.DataFrame]]]:
    """The purchase history from temp.uo_rfm (_ENGINE_SUMMARY, one row per buyer), then its
    fits and outputs (predict.history_of: Python, no SQL) on a thread while the caller runs
    its next statements: the engine lets go of Python's lock while a statement runs, so the two
    overlap. Yields a function that waits for and returns the result (or raises its error)."""
    summary = predict.summary_frame(
        predict.read_frame(conn, _engine_summary_sql(dialect_of(conn)), _bounds(as_of))
    )
    choice = predict.recorded_choice(conn) if fit else None
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = predict.history_of(summary, as_of, choice, fit=fit)
        except BaseException as exc:  # handed to the caller by result()
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="userops-fits", daemon=True)
    thread.start()

    def result() -> tuple[predict.PredictionReport | None, pd.DataFrame]:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome["value"]  # type: ignore[return-value]

    yield result  # leaving early (an error, Ctrl-C): the daemon thread's result is dropped


# The rows a user's features are made of, copied for a subset of users into TEMP tables of the
# same names: SQLite resolves an unqualified name to the temp schema first, so the very SQL
# above computes those users only (the refresh: core.refresh), with no second copy of any
# definition to drift. The indexes it names by INDEXED BY exist on the copies too.
_SHADOW_DDL = (
    "CREATE TEMP TABLE users AS SELECT * FROM main.users WHERE 0",
    "CREATE TEMP TABLE orders (order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
    " amount REAL NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TEMP TABLE events (user_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " created_at TEXT NOT NULL, value TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (user_id, kind, created_at, value)) WITHOUT ROWID",
)
# CROSS JOIN keeps the (small) list of users outside: without statistics on it the planner
# would scan every order or event and probe the list (0.7 s instead of a few ms at 20k users).
# Each user's rows are copied from its own lower bounds orders_from / events_from ('' = the
# whole history; a window start = only the rows the windowed columns read: core.refresh).
_SHADOW_ROWS = (
    ("users", "SELECT u.* FROM {users} AS t {join} main.users AS u ON u.user_id = t.user_id"),
    (
        "orders",
        "SELECT o.order_id, o.user_id, o.amount, o.created_at"
        " FROM {users} AS t {join} main.orders AS o{orders_by_user}"
        " ON o.user_id = t.user_id AND o.created_at >= t.orders_from",
    ),
    (
        "events",
        "SELECT e.user_id, e.kind, e.created_at, e.value"
        " FROM {users} AS t {join} main.events AS e"
        " ON e.user_id = t.user_id AND e.created_at >= t.events_from",
    ),
)
_SHADOW_INDEXES = (
    "CREATE INDEX temp.orders_user_time_amount ON orders(user_id, created_at, amount)",
    "CREATE INDEX temp.events_kind_time ON events(kind, created_at, user_id)",
)


def _make_shadows(conn: sqlite3.Connection, users_table: str) -> None:
    """The TEMP copies of users, orders and events for the users of ``users_table``. SQLite:
    the tables with their keys, filled, then the indexes the scripts name. DuckDB resolves an
    unqualified name to its temp catalog first too, but ``main.x`` as well (its temp catalog
    has a schema main): so each copy is made by one CREATE TABLE … AS, whose SELECT is bound
    before the copy exists and so reads the real table; no keys or indexes (it hashes)."""
    d = dialect_of(conn)
    if d.name == "sqlite":
        for ddl in _SHADOW_DDL:
            conn.execute(ddl)
    for name, rows in _SHADOW_ROWS:
        select = rows.format(
            users=users_table,
            join="CROSS JOIN" if d.name == "sqlite" else "JOIN",
            orders_by_user=d.indexed_by("orders_user_time_amount"),
        )
        if d.name == "sqlite":
            conn.execute(f"INSERT INTO temp.{name} {select}")
        elif d.name == "clickhouse":  # no TEMP schema: in the build database, its view of
            # the live table replaced by a copy of the rows (drop_shadows puts it back); the
            # columns are the live table's, in order (a SELECT of a join names them o.x)
            conn.execute(f"DROP VIEW IF EXISTS {name}")
            conn.execute(f"CREATE TABLE {name} AS main.{name} ENGINE = Memory")
            conn.execute(f"INSERT INTO {name} {select}")
        else:
            conn.execute(f"CREATE TEMP TABLE {name} AS {select}")
    if d.indexes:
        for ddl in _SHADOW_INDEXES:
            conn.execute(ddl)


SHADOWED = ("users", "orders", "events")


def compute_features_of(
    conn: sqlite3.Connection, table: str, as_of: date, users_table: str
) -> tuple[int, pd.DataFrame]:
    """Like :func:`compute_features` (no model outputs), for the users listed in
    ``users_table`` (a temp table with columns ``user_id``, ``orders_from`` and
    ``events_from``) only: their rows, their orders and events dated from those bounds ('' for
    all) are copied beside the real tables under the same names while the same SQL runs. A
    column that reads rows older than a user's bound is not valid for that user (the caller
    keeps those: core.refresh). RFM scores in ``table`` are relative to those users only: re-score afterwards on
    the whole table (core.analytics.rfm.apply_rfm). Returns the number of users written and
    their per-buyer purchase history (core.analytics.predict.purchase_history's frame: first
    order and model inputs, read in the same pass)."""
    drop_shadows(conn)
    try:
        _make_shadows(conn, users_table)
        history: list[pd.DataFrame] = []
        n = compute_features(conn, table, as_of, history_into=history)
        return n, history[0]
    finally:
        drop_shadows(conn)


def drop_shadows(conn: sqlite3.Connection) -> None:
    """Drop the copies; on ClickHouse, which has no TEMP schema, they are tables of the build
    database (core.store.clickhouse.exchanged, the only place they are made), which are views
    of the live tables again afterwards; outside a build there is nothing to drop."""
    if dialect_of(conn).name == "clickhouse":
        live = getattr(conn, "live", None)
        if not getattr(conn, "building", False) or not live:
            return
        for name in SHADOWED:
            conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute(f"CREATE VIEW {name} AS SELECT * FROM {quote(live)}.{name}")
        return
    for name in SHADOWED:
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
