"""SQL helpers every module uses: identifiers quoted one way, scratch-table names checked, and
read failures turned into a CoreError that says what was being read."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from core.errors import CoreError

# A table name our own code passes around: a plain identifier, optionally in the temp schema.
_TABLE_NAME = re.compile(r"(temp\.)?[A-Za-z_][A-Za-z0-9_]*")


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier: works for ``group``, ``用户等级``, ``a b``.

    (sqlite-utils' ``quote_identifier`` is the same two lines, but importing it loads pandas.)
    """
    return '"' + identifier.replace('"', '""') + '"'


def table_name(table: str) -> str:
    """Table names come from our own code; refuse anything that is not a plain identifier."""
    if not _TABLE_NAME.fullmatch(table):
        raise CoreError(f"not a table name: {table!r}")
    return table


def run(
    conn: sqlite3.Connection,
    sql: str,
    args: dict[str, Any] | tuple[Any, ...],
    *,
    doing: str = "reading users",
) -> sqlite3.Cursor:
    """Execute one statement; a database failure says what was being done (``doing``)."""
    try:
        return conn.execute(sql, args)
    except sqlite3.OperationalError as exc:
        raise CoreError(f"{doing} failed: {exc}", title="Database problem") from exc
