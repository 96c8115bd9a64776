"""What the screens that write share: a writable connection per worker, the OS user for the
audit log, and the current campaign that marking from the users table and the profile uses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tui.cli.common import real_user
from tui.widgets.query_runner import writing


@contextmanager
def writer(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A writable connection for one write worker (never shared across threads), on the
    database's engine (SQLite, DuckDB); on an engine the app does not write yet (chDB), or a
    DuckDB file the app holds read-only, a CoreError saying so in one line."""
    with writing(path) as conn:
        yield conn


def who() -> str:
    """The operator for the audit log: the OS user, read here in the UI, never in core."""
    return real_user()


def current_campaign(app) -> str | None:
    return getattr(app, "current_campaign", None)


def quoted(name: str) -> str:
    """A name as a string of the condition language: "…" with inner quotes escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
