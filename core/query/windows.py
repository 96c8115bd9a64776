"""Behaviour windows the recompute already materialised as columns of ``features``.

``count(login, 30d) >= 3`` over the raw events is a GROUP BY over the window (0.5–1 s on 10M
events); the recompute stored the same number in ``features.logins_30d``, so when the query is
as of the features' own date (meta ``features_as_of``) the condition reads that column instead:
``f.logins_30d >= :p0``, a plain per-row test. The definitions are identical (core/features.py,
docs/analytics.md): a window "Nd" is the N calendar days ending on D (``created_at >= D-(N-1)``,
``created_at < D+1``), and users without rows hold 0 (``coalesce(…, 0)``), never NULL, so the
conditions that hold for zero (``= 0``, ``< 3``) need no special case.

Windows are matched by their length in days, so ``1w`` reads the 7-day column; a calendar-month
window (``1m``) is never exactly 30 days and keeps the subquery. A range that ends before D is
matched by its days back from D: ``-59d..-30d`` (or the same two dates) reads the previous-period
columns (``logins_prev_30d``, ``orders_prev_30d``, ``spent_prev_30d``: D-59 … D-30, the same
definitions). Anything else falls back to the subquery in core/query/behaviour.py.
"""

from __future__ import annotations

import sqlite3

from core.query.ast import Value
from core.query.context import Ctx
from core.store import columns

# (behaviour, event kind or None for orders, window in days or None for "up to D") -> column:
# each column declares the window it holds (Column.window in core.store.columns). No window:
# every order up to D, i.e. the RFM inputs (0 and 0.0 for non-buyers).
MATERIALISED = columns.MATERIALISED

# last(order): the latest order up to D, NULL for users who never bought.
LAST_ORDER = "last_order_at"
# last(kind), for the kinds in core.store.schema.DAYS_SINCE_LAST: whole days from the latest such
# event to D, NULL for users without one. A date test on the latest event is a test on those
# days: last(login) < X  <=>  days_since_login > D - X.
# last(kind) > X with X at most this many days back stays "some such event since X": a range of
# events_kind_time holding about a month of one kind, 4 ms on 10M events where reading the
# stored column of 1M users takes ~130 ms. Further back the range grows and the column wins.
RECENT_RANGE_DAYS = 31
# The date comparison on the latest event -> the comparison on the days since it.
DAYS_OP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "in": "in", "between": "between"}


def window_days(ctx: Ctx, window: Value | None) -> int | tuple[int, int] | None:
    """The window as core.store.columns.Window keys it: its length in calendar days when it ends
    on D (30d -> 30, 1w -> 7, -29d..-0d -> 30), its days back from D when it ends before
    (-59d..-30d -> (59, 30)), None for no window."""
    if window is None:
        return None
    start, end = ctx.window_range(window)
    if start is None:
        return -1  # never stored
    if end != ctx.as_of:
        return ((ctx.as_of - start).days, (ctx.as_of - end).days)
    return (ctx.as_of - start).days + 1


def column_for(
    ctx: Ctx, call: str, kind: str | None, window: Value | None, filtered: bool = False
) -> str | None:
    """The features column holding this behaviour for the query's as-of date, else None
    (always None for a filtered behaviour: the stored windows count every row)."""
    if filtered or not features_are_as_of(ctx):
        return None
    return MATERIALISED.get((call, kind, window_days(ctx, window)))


def features_are_as_of(ctx: Ctx) -> bool:
    """True when ``features`` was computed for the query's as-of date (and the caller allows
    reading materialised windows)."""
    if not ctx.materialised:
        return False
    if ctx.features_as_of is None:
        ctx.features_as_of = _stored_features_as_of(ctx.conn)
    return ctx.features_as_of == ctx.as_of.isoformat()


def _stored_features_as_of(conn: sqlite3.Connection) -> str:
    """The features' as-of date; "" when never computed or stale (an import came after)."""
    try:
        rows = dict(
            conn.execute(
                "SELECT key, value FROM meta WHERE key IN ('features_as_of', 'features_stale')"
            ).fetchall()
        )
    except sqlite3.OperationalError:  # no meta table: not computed
        return ""
    if rows.get("features_stale"):
        return ""
    return str(rows.get("features_as_of") or "")[:10]
