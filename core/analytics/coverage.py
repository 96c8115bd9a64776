"""What the data measures: which features can mean something on this database.

Order-only data (the UCI import) has no events, so ``logins_30d`` is 0 for everyone not because
nobody logged in but because logins are not recorded; an import without a ``device`` column
leaves ``device`` empty for everyone; dates without a time of day leave the night share
undefined. :func:`measure` finds out, from the data, which features columns are *not measured*
and why, so the profile can say "not measured" instead of 0, the users list can leave out
columns nobody has, and the recompute can name the rules and tags that cannot apply.

The answer is stored at each recompute (``meta.coverage``, :func:`record`) and read back by the
screens (:func:`stored`), so opening a profile costs no scan.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from core.store import columns
from core.store.db import get_meta, set_meta
from core.store.engines import dialect_of
from core.store.sql import quote

META_KEY = "coverage"
# the built-in attributes of users: empty for every user means "not in this data"
ATTRIBUTES = tuple(c.name for c in columns.COLUMNS if c.in_users and c.name != "user_id")
# features columns computed from events of these kinds (any of them), besides the windows and
# "days since" columns the registry declares with their kind
_FROM_EVENTS = {"carts_open": ("cart_add",), "favourite_category": ("view", "cart_add")}


def _event_columns() -> dict[str, tuple[str, ...]]:
    out = dict(_FROM_EVENTS)
    for c in columns.COLUMNS:
        if c.window is not None and c.window[1] is not None:
            out[c.name] = (c.window[1],)
    return out


EVENT_COLUMNS: dict[str, tuple[str, ...]] = _event_columns()

# The distinct event kinds by seeks on events(kind, created_at): one per kind, not a scan.
_KINDS_SQL = """
WITH RECURSIVE k(kind) AS (
    SELECT min(kind) FROM events
    UNION ALL SELECT (SELECT min(kind) FROM events WHERE kind > k.kind) FROM k
    WHERE k.kind IS NOT NULL
)
SELECT kind FROM k WHERE kind IS NOT NULL"""
_KINDS_SCAN_SQL = "SELECT DISTINCT kind FROM events"  # an engine without that index
# an order with a time of day (a date alone is stored as 00:00:00: core.analytics.features)
_TIMED_SQL = (
    "SELECT 1 FROM orders WHERE length(created_at) >= 13 "
    "AND substr(created_at, 12, 8) <> '00:00:00' LIMIT 1"
)


@dataclass(frozen=True)
class Coverage:
    event_kinds: frozenset[str]  # kinds with at least one event
    empty_attributes: frozenset[str]  # built-in attributes no user has a value for
    timed_orders: bool  # some order carries a time of day
    has_orders: bool = True

    def unmeasured(self) -> dict[str, tuple[str, str]]:
        """features column -> (why, what): ('events', 'login'), ('attribute', 'device'),
        ('time', '') for the columns this data does not measure."""
        out: dict[str, tuple[str, str]] = {}
        for column in ATTRIBUTES:
            if column in self.empty_attributes:
                out[column] = ("attribute", column)
        for column, kinds in EVENT_COLUMNS.items():
            if not any(k in self.event_kinds for k in kinds):
                out[column] = ("events", "/".join(kinds))
        if self.has_orders and not self.timed_orders:
            out["night_order_share"] = ("time", "")
        return out

    def event_kind_missing(self, kind: str) -> bool:
        """An event kind the data has none of (orders are not events: never missing here)."""
        return kind != "order" and kind not in self.event_kinds


def measure(conn: sqlite3.Connection) -> Coverage:
    """Ask the data: the event kinds present, the empty built-in attributes, timed orders."""
    kinds_sql = _KINDS_SQL if dialect_of(conn).seeks else _KINDS_SCAN_SQL
    kinds = frozenset(r[0] for r in conn.execute(kinds_sql))
    empty = set()
    for column in ATTRIBUTES:
        col = quote(column)  # from the registry
        found = conn.execute(
            f"SELECT 1 FROM users WHERE {col} IS NOT NULL AND {col} <> '' LIMIT 1"
        ).fetchone()
        if found is None:
            empty.add(column)
    has_orders = conn.execute("SELECT 1 FROM orders LIMIT 1").fetchone() is not None
    timed = has_orders and conn.execute(_TIMED_SQL).fetchone() is not None
    return Coverage(kinds, frozenset(empty), timed, has_orders)


def record(conn: sqlite3.Connection) -> Coverage:
    """Measure and store in meta (the recompute calls it inside its build)."""
    found = measure(conn)
    value = {
        "event_kinds": sorted(found.event_kinds),
        "empty_attributes": sorted(found.empty_attributes),
        "timed_orders": found.timed_orders,
        "has_orders": found.has_orders,
    }
    set_meta(conn, META_KEY, json.dumps(value))
    return found


def stored(conn: sqlite3.Connection) -> Coverage | None:
    """What the last recompute measured; None before one (or when unreadable)."""
    raw = get_meta(conn, META_KEY)
    if not raw:
        return None
    try:
        value = json.loads(raw)
        return Coverage(
            frozenset(value["event_kinds"]),
            frozenset(value["empty_attributes"]),
            bool(value["timed_orders"]),
            bool(value.get("has_orders", True)),
        )
    except (ValueError, KeyError, TypeError):
        return None


def why(reason: tuple[str, str]) -> str:
    """A reason of :meth:`Coverage.unmeasured` in English (the CLI, the recompute's JSON)."""
    kind, what = reason
    if kind == "events":
        return f"no {what.replace('/', ' or ')} events in the data"
    if kind == "attribute":
        column = columns.BY_NAME.get(what)
        return f"no user has a {column.label_en if column else what}"
    return "no order carries a time of day"
