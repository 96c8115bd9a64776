"""The per-date histories of RFM groups and tags, written by the recompute beside layer_history
(core/rules/layers.py), so that conditions can say ``entered rfm "重要保持客户" within 30d``;
and who was there on a date, which those histories and the layer transitions share."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from core.rules.conditions import atomic
from core.store.engines import dialect_of
from core.store.sql import table_name


# DuckDB (Dialect.upserts_in_place): a row already stored for the date as it is now is not
# written again (an upsert of an unchanged key is still a delete and an insert in its index:
# recomputing a date, most rows are the same). Appended to the upsert's WHERE over ``table``
# (NULL is a value).
def unchanged(history_table: str, column: str, table: str, day: str) -> str:
    """`` AND NOT EXISTS (the same row of ``history_table`` for the date)``; ``day`` is the
    date's marker (``?`` or ``:day``)."""
    outer = table_name(table).split(".")[-1]
    return (
        f" AND NOT EXISTS (SELECT 1 FROM {history_table} AS h WHERE h.as_of = {day}"
        f" AND h.user_id = {outer}.user_id AND h.{column} IS NOT DISTINCT FROM {outer}.{column})"
    )


def record(conn: sqlite3.Connection, features_table: str, tags_table: str, as_of: date) -> None:
    """Replace the RFM-group and tag history of ``as_of`` with the rows of the given tables
    (the tables exist: the schema, or the recompute for older databases, creates them)."""
    day = as_of.isoformat()
    features, tags = table_name(features_table), table_name(tags_table)
    if dialect_of(conn).upserts_in_place:  # DuckDB: delete only the rows that go
        with atomic(conn):
            conn.execute(
                "DELETE FROM rfm_history WHERE as_of = ? AND user_id NOT IN "
                f"(SELECT user_id FROM {features} WHERE rfm_group IS NOT NULL)",
                (day,),
            )
            conn.execute(
                "INSERT OR REPLACE INTO rfm_history(as_of, user_id, rfm_group) "
                f"SELECT ?, user_id, rfm_group FROM {features} WHERE rfm_group IS NOT NULL"
                + unchanged("rfm_history", "rfm_group", features, "?"),
                (day, day),
            )
            conn.execute(
                "DELETE FROM tag_history WHERE as_of = ? AND (tag, user_id) NOT IN "
                f"(SELECT tag, user_id FROM {tags})",
                (day,),
            )
            conn.execute(
                "INSERT OR IGNORE INTO tag_history(as_of, tag, user_id) "
                f"SELECT ?, tag, user_id FROM {tags}",
                (day,),
            )
        return
    with atomic(conn):
        conn.execute("DELETE FROM rfm_history WHERE as_of = ?", (day,))
        conn.execute(
            "INSERT INTO rfm_history(as_of, user_id, rfm_group) "
            f"SELECT ?, user_id, rfm_group FROM {features} WHERE rfm_group IS NOT NULL",
            (day,),
        )
        conn.execute("DELETE FROM tag_history WHERE as_of = ?", (day,))
        conn.execute(
            f"INSERT INTO tag_history(as_of, tag, user_id) SELECT ?, tag, user_id FROM {tags}",
            (day,),
        )


# A user without a sign-up date (an order-only import such as UCI Online Retail) is there from
# their first order or event on; before it they did not exist, whatever the features table holds
# for them (it keeps every such user, with empty aggregates).
_ABSENT = (
    "SELECT u.user_id FROM users AS u WHERE u.signup_at IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM orders AS o"
    " WHERE o.user_id = u.user_id AND o.created_at < :there_by)"
    " AND NOT EXISTS (SELECT 1 FROM events AS e"
    " WHERE e.user_id = u.user_id AND e.created_at < :there_by)"
)


def absent_users(as_of: date) -> tuple[str, dict[str, str]]:
    """A SELECT of the ids of users who were not there yet on ``as_of`` (no sign-up date and
    no order or event up to that day), with its parameters."""
    return _ABSENT, {"there_by": (as_of + timedelta(days=1)).isoformat()}


def drop_absent(conn: sqlite3.Connection, table: str, as_of: date) -> int:
    """Delete from ``table`` (a scratch table keyed by user_id) the users not there on
    ``as_of``; return how many."""
    sql, params = absent_users(as_of)
    cursor = conn.execute(f"DELETE FROM {table_name(table)} WHERE user_id IN ({sql})", params)
    return cursor.rowcount
