"""The per-date histories of RFM groups and tags, written by the recompute beside layer_history
(core/rules/layers.py), so that conditions can say ``entered rfm "重要保持客户" within 30d``."""

from __future__ import annotations

import sqlite3
from datetime import date

from core.rules.conditions import atomic
from core.store.sql import table_name


def record(conn: sqlite3.Connection, features_table: str, tags_table: str, as_of: date) -> None:
    """Replace the RFM-group and tag history of ``as_of`` with the rows of the given tables
    (the tables exist: the schema, or the recompute for older databases, creates them)."""
    day = as_of.isoformat()
    features, tags = table_name(features_table), table_name(tags_table)
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
