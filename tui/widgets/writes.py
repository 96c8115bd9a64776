"""What the screens that write share: a writable connection per worker, the OS user for the
audit log, and the current campaign that marking from the users table and the profile uses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.store.db import open_db
from tui.cli.common import real_user
from tui.widgets.query_runner import refuse_writes


@contextmanager
def writer(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A writable connection for one write worker (never shared across threads); on an engine
    the app does not write yet (DuckDB), a CoreError saying so."""
    refuse_writes(path)
    conn = open_db(path)
    try:
        yield conn
    finally:
        conn.close()


def who() -> str:
    """The operator for the audit log: the OS user, read here in the UI, never in core."""
    return real_user()


def current_campaign(app) -> str | None:
    return getattr(app, "current_campaign", None)


def quoted(name: str) -> str:
    """A name as a string of the condition language: "…" with inner quotes escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
