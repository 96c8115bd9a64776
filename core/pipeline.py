"""The recompute: the one module that runs analytics and rules together (docs/architecture.md).

Features (core.analytics), then layers and tags (core.rules), built beside the live tables and
swapped in inside one write transaction, so a kill half-way leaves the previous state intact.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.analytics.features import compute_features
from core.errors import CoreError, DatabaseError
from core.rules import layers, tags
from core.store.db import set_meta, stored_as_of, transaction
from core.store.schema import SCHEMA_VERSION, feature_index_ddl

# Mirrors user_tags in core.store.schema.DDL, for the table built beside the live one.
USER_TAGS_NEW_DDL = (
    "CREATE TABLE user_tags_new (user_id TEXT NOT NULL, tag TEXT NOT NULL, "
    "PRIMARY KEY (tag, user_id)) WITHOUT ROWID"
)
USER_TAGS_INDEX_DDL = "CREATE INDEX IF NOT EXISTS user_tags_user ON user_tags(user_id)"


@dataclass(frozen=True)
class RecomputeReport:
    as_of: date
    users: int
    buyers: int
    seconds: float
    models: dict[str, str]  # model -> 'fitted' or why it could not be fitted


def resolve_as_of(conn: sqlite3.Connection, as_of: date | None) -> date:
    """The given date, else the database's stored as-of date; an error when neither exists."""
    if as_of is not None:
        return as_of
    stored = stored_as_of(conn)
    if stored is None:
        raise CoreError(
            "No as-of date: the database has none stored (import data first) and none was given.",
            title="No as-of date",
        )
    return stored


def _model_status(conn: sqlite3.Connection, as_of: date) -> dict[str, str]:
    rows = conn.execute(
        "SELECT model, error FROM model_fits WHERE as_of = ? ORDER BY model", (as_of.isoformat(),)
    ).fetchall()
    return {model: ("fitted" if error is None else error) for model, error in rows}


def _swap(conn: sqlite3.Connection, as_of: date) -> None:
    """Replace the live tables by the new ones (inside the caller's transaction)."""
    conn.execute("DROP TABLE IF EXISTS features")
    conn.execute("DROP TABLE IF EXISTS user_tags")
    conn.execute("ALTER TABLE features_new RENAME TO features")
    conn.execute("ALTER TABLE user_tags_new RENAME TO user_tags")
    n_users = conn.execute("SELECT count(*) FROM features").fetchone()[0]
    for ddl in [*feature_index_ddl("features", n_users=n_users), USER_TAGS_INDEX_DDL]:
        conn.execute(ddl)
    mark_computed(conn, as_of)
    set_meta(conn, "fit_as_of", as_of.isoformat())  # the predictions come from this date's fit
    set_meta(conn, "features_schema", str(SCHEMA_VERSION))
    record_rfm_history(conn, as_of)
    # Wall-clock time is metadata only (when the numbers were made), never a result input.
    set_meta(conn, "features_computed_at", datetime.now().isoformat(timespec="seconds"))


# Rows dated before the end of the features' date change what those features should be: these
# triggers note their users in refresh_dirty (a string test per row: imports of later days
# pay next to nothing). The date is our own ISO text (date.isoformat), not user input.
_DIRTY_TRIGGERS = {
    "orders": ("INSERT", "UPDATE", "DELETE"),
    "events": ("INSERT", "UPDATE", "DELETE"),
}


def install_dirty_triggers(conn: sqlite3.Connection, as_of: date) -> None:
    """(Re)create the triggers that keep refresh_dirty for features as of ``as_of``."""
    end = (as_of + timedelta(days=1)).isoformat()
    for table, actions in _DIRTY_TRIGGERS.items():
        for action in actions:
            name = f"uo_dirty_{table}_{action.lower()}"
            rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[action]
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            when = " OR ".join(f"{r}.created_at < '{end}'" for r in rows)
            body = " ".join(
                f"INSERT OR IGNORE INTO refresh_dirty VALUES ({r}.user_id);" for r in rows
            )
            conn.execute(
                f"CREATE TRIGGER {name} AFTER {action} ON {table} WHEN {when} BEGIN {body} END"
            )
    for action, row in (("INSERT", "NEW"), ("UPDATE", "NEW")):  # attributes are copied in
        name = f"uo_dirty_users_{action.lower()}"
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(
            f"CREATE TRIGGER {name} AFTER {action} ON users BEGIN "
            f"INSERT OR IGNORE INTO refresh_dirty VALUES ({row}.user_id); END"
        )


def record_rfm_history(conn: sqlite3.Connection, as_of: date) -> None:
    """Every buyer's RFM group as of ``as_of`` (in the caller's transaction), so that moves
    between groups from one computed date to another need no recompute."""
    day = as_of.isoformat()
    conn.execute("DELETE FROM rfm_history WHERE as_of = ?", (day,))
    conn.execute(
        "INSERT INTO rfm_history(as_of, user_id, rfm_group) "
        "SELECT ?, user_id, rfm_group FROM features WHERE rfm_group IS NOT NULL",
        (day,),
    )


def mark_computed(conn: sqlite3.Connection, as_of: date) -> None:
    """The features now describe ``as_of``: it becomes the database's as-of date (inside the
    caller's transaction); nothing is dirty any more."""
    set_meta(conn, "features_as_of", as_of.isoformat())
    set_meta(conn, "as_of", as_of.isoformat())
    conn.execute("DELETE FROM meta WHERE key = 'features_stale'")
    conn.execute("DELETE FROM refresh_dirty")
    install_dirty_triggers(conn, as_of)


def _build_new(conn: sqlite3.Connection, as_of: date) -> None:
    """Steps 1–5 of the pipeline (docs/architecture.md) into features_new / user_tags_new."""
    conn.execute("DROP TABLE IF EXISTS user_tags_new")
    compute_features(conn, "features_new", as_of, with_predictions=True)  # RFM + models
    layers.apply_layers(conn, "features_new", as_of)
    conn.execute(USER_TAGS_NEW_DDL)
    tags.apply_tags(conn, "features_new", "user_tags_new", as_of)


def recompute(conn: sqlite3.Connection, as_of: date | None = None) -> RecomputeReport:
    """Rebuild ``features`` and ``user_tags`` as of a date, all or nothing.

    The whole pipeline runs in one write transaction: a kill or Ctrl-C half-way leaves the
    previous features untouched and no ``features_new`` behind.
    """
    as_of = resolve_as_of(conn, as_of)
    started = time.perf_counter()
    try:
        with transaction(conn):
            _build_new(conn, as_of)
            _swap(conn, as_of)
    except sqlite3.OperationalError as exc:
        raise DatabaseError(f"Recompute failed, previous features kept: {exc}") from exc
    users, buyers = conn.execute(
        "SELECT count(*), coalesce(sum(frequency > 0), 0) FROM features"
    ).fetchone()
    return RecomputeReport(
        as_of=as_of,
        users=users,
        buyers=buyers,
        seconds=time.perf_counter() - started,
        models=_model_status(conn, as_of),
    )
